"""pre-commit hooks (.pre-commit-hooks.yaml) and the README's pre-commit and GitHub Actions snippets.

The hook tests run the real `pre-commit` against temporary git repositories. pre-commit installs a hook
repository at a commit, so this checkout's files (tracked + untracked, not ignored) are copied into a
temporary git repository and committed there: the tests work on a clean checkout, a dirty working tree or
an export without .git. pre-commit then pip-installs that copy into its own virtualenv (PyPI or the
configured index must be reachable).

`pre-commit try-repo` always builds the hook environment in a throw-away store (about 20 s), so one test uses
it as a user would; the others name the copy in a `.pre-commit-config.yaml` and use `pre-commit run` with a
PRE_COMMIT_HOME and a copy shared by all tests of the session, across xdist workers (a file lock; pre-commit
locks its store itself), so that environment is built once.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
TIMEOUT = 1200  # first run builds the hook's virtualenv and installs promptlint's dependencies

GIT = ["git", "-c", "user.name=promptlint-tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def git(cwd, *args):
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT")) and k not in ("SKIP",)}
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------- the hooks file


def hooks():
    return {h["id"]: h for h in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}


def test_hooks_file_declares_check_and_fix():
    hs = hooks()
    assert set(hs) == {"promptlint", "promptlint-fix"}
    assert hs["promptlint"]["entry"] == "promptlint check"
    assert hs["promptlint-fix"]["entry"] == "promptlint fix"
    for h in hs.values():
        assert h["language"] == "python"
        assert h["pass_filenames"] is True and h["require_serial"] is False
        assert h["name"] and h["description"]


SHOULD_REACH = [
    "app/agent.py",
    "notebooks/explore.ipynb",
    "prompts/answer.j2",
    "templates/answer.jinja",
    "templates/answer.jinja2",
    "prompts/classify.prompt",
    "agents/support.prompty",
    "config/agents.yaml",
    "config/agents.yml",
    "config/prompts.json",
    "docs/summarize.prompt.md",
    "summarize.prompt.txt",
    "prompts/system.md",
    "prompts/deep/system.txt",
    "app/prompts/system.txt",
]
SHOULD_NOT_REACH = ["README.md", "notes.txt", "docs/guide.md", "app/stubs.pyi", "logo.png", "setup.cfg", "app/prompts.py.bak"]


@pytest.mark.parametrize("hook_id", ["promptlint", "promptlint-fix"])
def test_hook_file_filter_matches_promptlint_discovery(tmp_path, hook_id):
    """`files` and `types_or` together (as pre-commit applies them) pass exactly the files promptlint checks
    by default, using identify's real tags of real files."""
    from identify import identify

    from promptlint.discover import kind_of

    h = hooks()[hook_id]
    files_re = re.compile(h["files"])
    types_or = set(h["types_or"])
    for rel in SHOULD_REACH + SHOULD_NOT_REACH:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" if rel.endswith(".png") else b'{"a": "text"}\n')
    for rel in SHOULD_REACH:
        tags = identify.tags_from_path(str(tmp_path / rel))
        assert files_re.search(rel), rel
        assert tags & types_or, (rel, tags)
        assert kind_of(rel) is not None, rel  # promptlint reads it as something
    for rel in SHOULD_NOT_REACH:
        tags = identify.tags_from_path(str(tmp_path / rel))
        assert not (files_re.search(rel) and tags & types_or), rel


# ----------------------------------------------------------------------------------- real pre-commit


def _copy_checkout(dest: Path):
    """This checkout's files (tracked and untracked, not ignored) into ``dest``."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True, env=clean_env()).stdout
        files = [f for f in out.decode("utf-8", "surrogateescape").split("\0") if f]
    except (subprocess.CalledProcessError, FileNotFoundError):
        files = None
    if files is None:  # an export without .git: everything but caches and virtualenvs
        skip = {".git", ".venv", "venv", ".ci-venv", "__pycache__", ".pytest_cache", ".promptlint_cache", ".hypothesis", "build", "dist"}
        files = []
        for d, dirs, names in os.walk(ROOT):
            dirs[:] = [x for x in dirs if x not in skip and not x.endswith(".egg-info")]
            files += [os.path.relpath(os.path.join(d, n), ROOT) for n in names]
    for rel in files:
        src = ROOT / rel
        if not src.is_file():
            continue  # deleted in the working tree
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


@pytest.fixture(scope="session")
def hook_env(tmp_path_factory):
    """(hook repository path, its commit, PRE_COMMIT_HOME), created once per session across xdist workers."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this session
    shared = base / "precommit-shared"
    shared.mkdir(exist_ok=True)
    with FileLock(str(shared / "lock")):
        repo = shared / "promptlint-src"
        home = shared / "pre-commit-home"
        if not (repo / ".done").exists():
            if repo.exists():
                shutil.rmtree(repo)
            repo.mkdir()
            _copy_checkout(repo)
            git(repo, "init", "-q")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "promptlint under test")
            (repo / ".git" / "info" / "exclude").write_text(".done\n")
            (repo / ".done").write_text("")
        sha = git(repo, "rev-parse", "HEAD").strip()
    return repo, sha, home


def pre_commit(home, cwd, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", *args, "--color", "never"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=clean_env(PRE_COMMIT_HOME=str(home)),
    )
    out = proc.stdout + proc.stderr
    if "An unexpected error has occurred" in out or "CalledProcessError" in out:
        log = Path(home) / "pre-commit.log"
        out += "\n--- pre-commit.log ---\n" + (log.read_text() if log.exists() else "(none)")
        pytest.fail(f"pre-commit could not run the hook:\n{out}")
    return proc.returncode, out


def project(tmp_path, files):
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(content), encoding="utf-8")
    git(root, "add", "-A")
    return root


OVER_BUDGET = '''\
    from openai import OpenAI

    client = OpenAI()

    # promptlint: budget=20
    SYSTEM_PROMPT = "You are a support agent for an online shop. Answer politely, cite the help-center article you used, offer a follow-up and never promise refunds."


    def ask(question):
        return client.chat.completions.create(
            model="gpt-4o",
            max_tokens=200,
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}],
        )
    '''
NOT_PROMPTS = {
    # wordy text that must not reach the hook: it would be read as a prompt file and flagged
    "README.md": "In order to run the app, it is important to note that you need Python.\n",
    "notes.txt": "In order to deploy, due to the fact that we use Docker, run make.\n",
}


def run_hooks(hook_env, root, hook_ids, *args):
    """`pre-commit run` in ``root`` with a config naming the copy of this checkout and ``hook_ids``."""
    repo, sha, home = hook_env
    cfg = {"repos": [{"repo": str(repo), "rev": sha, "hooks": [{"id": h} for h in hook_ids]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(cfg))
    git(root, "add", "-A")
    return pre_commit(home, root, "run", *args)


def hook_status(out, name):
    m = re.search(rf"^{re.escape(name)}\.+(Passed|Failed|\(no files to check\)Skipped)$", out, re.M)
    assert m, out
    return m.group(1)


def test_try_repo_check_hook_fails_on_over_budget_prompt(tmp_path, hook_env):
    """What the README suggests for trying the hooks: `pre-commit try-repo <checkout> promptlint`."""
    repo, sha, home = hook_env
    root = project(tmp_path, {"app/agent.py": OVER_BUDGET, **NOT_PROMPTS})
    code, out = pre_commit(home, root, "try-repo", str(repo), "promptlint", "--ref", sha, "--all-files")
    assert code == 1, out
    assert hook_status(out, "promptlint") == "Failed"
    assert re.search(r"app/agent\.py:6:\d+: PL101 Prompt SYSTEM_PROMPT has \d+ tokens, over its budget of 20", out), out


def test_check_hook_fails_over_budget_then_passes_after_shrinking(tmp_path, hook_env):
    root = project(
        tmp_path,
        {
            "app/agent.py": OVER_BUDGET,
            "pyproject.toml": "[tool.promptlint]\ndefault-budget = 15\n",
            # a .prompt file: identify has no tag for it; the hook's files/types_or must still pass it on
            "prompts/classify.prompt": "Classify the ticket as billing, shipping or other. Reply with the label only.\n",
            **NOT_PROMPTS,
        },
    )
    code, out = run_hooks(hook_env, root, ["promptlint"], "--all-files")
    assert code == 1, out
    assert hook_status(out, "promptlint") == "Failed"
    assert re.search(r"app/agent\.py:6:\d+: PL101 Prompt SYSTEM_PROMPT has \d+ tokens, over its budget of 20", out), out
    assert re.search(r"prompts/classify\.prompt:1:1: PL101 .*over its budget of 15 .*default-budget", out), out
    assert "README.md" not in out and "notes.txt" not in out  # not passed to the hook
    # the fix: shorten the prompt; raise the template's budget on purpose
    text = (root / "app/agent.py").read_text().replace(
        "You are a support agent for an online shop. Answer politely, cite the help-center article you used, offer a follow-up and never promise refunds.",
        "You are a polite support agent for an online shop.",
    )
    (root / "app/agent.py").write_text(text)
    (root / "pyproject.toml").write_text("[tool.promptlint]\ndefault-budget = 30\n")
    code, out = run_hooks(hook_env, root, ["promptlint"], "--all-files")
    assert code == 0, out
    assert hook_status(out, "promptlint") == "Passed"
    # only the staged files are checked in a normal commit: an untouched over-budget file elsewhere is not
    (root / "legacy.py").write_text(textwrap.dedent(OVER_BUDGET))
    git(root, "add", "legacy.py")
    git(root, "commit", "-q", "-m", "legacy", "--no-verify")
    (root / "app/agent.py").write_text(text + "\n# touched\n")
    code, out = run_hooks(hook_env, root, ["promptlint"])
    assert code == 0 and hook_status(out, "promptlint") == "Passed", out


WASTEFUL = "Summarize the ticket below for a support engineer.   \n\n\n\n\nUse three bullet points.  \n\n\n"


def test_fix_hook_rewrites_whitespace_then_passes(tmp_path, hook_env):
    root = project(tmp_path, {"prompts/summarize.prompt.txt": WASTEFUL, **NOT_PROMPTS})
    code, out = run_hooks(hook_env, root, ["promptlint-fix"], "--files", "prompts/summarize.prompt.txt", "README.md", "notes.txt")
    assert code == 1, out
    assert hook_status(out, "promptlint (fix)") == "Failed"
    assert "files were modified by this hook" in out
    fixed = (root / "prompts/summarize.prompt.txt").read_text()
    assert fixed != WASTEFUL and len(fixed) < len(WASTEFUL)
    assert fixed.split() == WASTEFUL.split()  # only whitespace changed (a safe fix)
    for name, content in NOT_PROMPTS.items():  # not passed to the hook, not touched
        assert (root / name).read_text() == content
    code, out = run_hooks(hook_env, root, ["promptlint-fix", "promptlint"], "--all-files")
    assert code == 0, out
    assert hook_status(out, "promptlint (fix)") == "Passed" and hook_status(out, "promptlint") == "Passed"


# ------------------------------------------------------------------------------------- README snippets


def readme_yaml_blocks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_readme_pre_commit_snippet_runs(tmp_path, hook_env):
    """The README's .pre-commit-config.yaml, pointed at the copy of this checkout, through `pre-commit run`."""
    repo, sha, home = hook_env
    (cfg,) = [b for b in readme_yaml_blocks() if isinstance(b, dict) and "repos" in b]
    (entry,) = cfg["repos"]
    assert {h["id"] for h in entry["hooks"]} <= set(hooks())
    entry["repo"], entry["rev"] = str(repo), sha
    root = project(
        tmp_path,
        {
            "app/agent.py": OVER_BUDGET,
            "prompts/summarize.prompt.txt": WASTEFUL,
            **NOT_PROMPTS,
        },
    )
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(cfg))
    git(root, "add", "-A")
    code, out = pre_commit(home, root, "run", "--all-files")
    assert code == 1, out
    assert hook_status(out, "promptlint (fix)") == "Failed" and hook_status(out, "promptlint") == "Failed"
    assert "PL101" in out
    (root / "app/agent.py").write_text((root / "app/agent.py").read_text().replace("# promptlint: budget=20", "# promptlint: budget=60"))
    git(root, "add", "-A")
    code, out = pre_commit(home, root, "run", "--all-files")
    assert code == 0, out
    assert hook_status(out, "promptlint (fix)") == "Passed" and hook_status(out, "promptlint") == "Passed"


def _actions_workflow():
    (wf,) = [b for b in readme_yaml_blocks() if isinstance(b, dict) and "jobs" in b]
    return wf


def test_readme_github_actions_workflow_commands_run(tmp_path, run_cli):
    """Every promptlint command of the README's workflow, run on a repository shaped like a PR checkout."""
    wf = _actions_workflow()
    on = wf.get("on", wf.get(True))
    assert on == "pull_request" or "pull_request" in on
    assert wf["permissions"]["pull-requests"] == "write"
    (job,) = wf["jobs"].values()
    steps = job["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the diff needs origin/main
    commands = []
    for s in steps:
        for line in str(s.get("run", "")).splitlines():
            if line.strip().startswith("promptlint "):
                commands.append(shlex.split(line))
    assert [c[:2] for c in commands] == [["promptlint", "check"], ["promptlint", "diff"]]
    comment = next(s for s in steps if "gh pr comment" in str(s.get("run", "")))
    diff_out = commands[1][commands[1].index("-o") + 1]
    assert diff_out in comment["run"] and diff_out in comment["if"]

    # a repository like the PR's checkout: main with a committed baseline, origin/main, then the PR's changes
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "app").mkdir()
    (root / "app/agent.py").write_text(textwrap.dedent(OVER_BUDGET).replace("# promptlint: budget=20\n", ""))
    (root / "prompts").mkdir()
    (root / "prompts/summarize.txt").write_text("Summarize the ticket for an engineer.\n")
    check = commands[0]
    baseline = check[check.index("--baseline") + 1]
    r = run_cli("check", "--write-baseline", baseline, cwd=root)
    assert r.exit_code == 0, r.stderr
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "main")
    git(root, "update-ref", "refs/remotes/origin/main", "HEAD")
    # the PR: the system prompt grows a lot, a wordy template is added
    agent = (root / "app/agent.py").read_text()
    (root / "app/agent.py").write_text(agent.replace("never promise refunds.", "never promise refunds. " * 6))
    (root / "prompts/escalate.txt").write_text("In order to escalate, write a short note for the on-call engineer.\n")

    r = run_cli(*check[1:], cwd=root)
    assert r.exit_code == 1, (r.output, r.stderr)
    lines = r.output.splitlines()
    assert any(ln.startswith("::error file=app/agent.py,") and "PL105" in ln for ln in lines), r.output
    assert any(ln.startswith("::warning file=prompts/escalate.txt,") and "PL301" in ln for ln in lines), r.output
    assert not any("PL403" in ln for ln in lines)  # in the baseline
    r = run_cli(*commands[1][1:], cwd=root)
    assert r.exit_code == 1, (r.output, r.stderr)  # over --fail-on-increase
    md = (root / diff_out).read_text()
    assert md.startswith("### promptlint: prompt tokens vs `origin/main`")
    assert "| changed | `app/agent.py::SYSTEM_PROMPT` |" in md and "| added | `prompts/escalate.txt" in md
    # and a PR that does not grow prompts passes both steps
    git(root, "checkout", "-q", "--", "app/agent.py")
    (root / "prompts/escalate.txt").unlink()
    assert run_cli(*check[1:], cwd=root).exit_code == 0
    assert run_cli(*commands[1][1:], cwd=root).exit_code == 0
