"""`promptlint diff --base REF`: prompts of a git ref vs the working tree (added/removed/changed/moved)."""

import json
import os
import subprocess
import textwrap

import pytest

from promptlint import models, tokens


def count(text, model="gpt-4o"):
    return tokens.count(text, tokens.tokenizer_for(model))


def price(model="gpt-4o"):
    return models.lookup(model).input / 1e6


def git(cwd, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def write(root, rel, content):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(content), encoding="utf-8")
    return p


def init_repo(root, files):
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    git(root, "symbolic-ref", "HEAD", "refs/heads/main")
    for rel, content in files.items():
        write(root, rel, content)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


SYSTEM = "You are a support agent for an online shop. Answer politely."
LONGER = SYSTEM + " Always cite the help-center article you used and offer a follow-up."
PERSONA = "You are a pirate. Answer every question the way a pirate would."
SUMMARY = "Summarize the ticket below for a support engineer in three bullet points.\n"

BASE_FILES = {
    "app/agent.py": f'''\
        from openai import OpenAI

        client = OpenAI()

        SYSTEM_PROMPT = "{SYSTEM}"


        def ask(question):
            return client.chat.completions.create(
                model="gpt-4o",
                max_tokens=200,
                messages=[
                    {{"role": "system", "content": SYSTEM_PROMPT}},
                    {{"role": "user", "content": f"Question: {{question}}"}},
                ],
            )
        ''',
    "app/persona.py": f'PERSONA_PROMPT = "{PERSONA}"\n',
    "prompts/summarize.txt": SUMMARY,
    "app/old.py": 'LEGACY_PROMPT = "You are a legacy assistant. Reply in one short sentence."\n',
}


@pytest.fixture
def repo(tmp_path):
    return init_repo(tmp_path / "repo", BASE_FILES)


def diff_json(run_cli, cwd, *args):
    r = run_cli("diff", "--base", "main", "--format", "json", *args, cwd=cwd)
    assert r.exit_code == 0, (r.output, r.stderr)
    return json.loads(r.output)


def by_status(doc):
    out = {}
    for c in doc["changes"]:
        e = c["new"] or c["old"]
        out.setdefault(c["status"], []).append((e["path"], e["name"], c))
    return out


def test_no_change_is_all_unchanged(repo, run_cli):
    doc = diff_json(run_cli, repo)
    assert doc["changes"] == []
    s = doc["summary"]
    assert s["unchanged"] == 5 and s["tokens_delta"] == 0 and s["percent"] == 0
    assert s["base_tokens"] == s["head_tokens"] == count(SYSTEM) + count("Question: ") + count(PERSONA) + count(SUMMARY) + count("You are a legacy assistant. Reply in one short sentence.")
    assert len(doc["base_commit"]) == 40


def test_changed_added_removed_moved_with_token_and_cost_deltas(repo, run_cli):
    # changed (a named Python prompt, after an edit that shifts its line), moved (file renamed), removed,
    # added, and a changed template prompt
    src = (repo / "app/agent.py").read_text().replace(SYSTEM, LONGER)
    (repo / "app/agent.py").write_text("import logging\n\n" + src)
    git(repo, "mv", "app/persona.py", "app/characters.py")
    (repo / "app/old.py").unlink()
    write(repo, "app/new.py", 'CRITIC_PROMPT = "You are a strict code reviewer. List bugs first."\n')
    write(repo, "prompts/summarize.txt", SUMMARY + "Mention the customer's plan.\n")
    doc = diff_json(run_cli, repo)
    st = by_status(doc)
    (changed_sys,) = [c for p, n, c in st["changed"] if n == "SYSTEM_PROMPT"]
    assert changed_sys["old"]["tokens"] == count(SYSTEM) and changed_sys["new"]["tokens"] == count(LONGER)
    assert (changed_sys["old"]["line"], changed_sys["new"]["line"]) == (5, 7)
    assert changed_sys["tokens_delta"] == count(LONGER) - count(SYSTEM)
    assert changed_sys["cost_delta"] == pytest.approx((count(LONGER) - count(SYSTEM)) * price())
    (tmpl,) = [c for p, n, c in st["changed"] if p == "prompts/summarize.txt"]
    assert tmpl["tokens_delta"] == count(SUMMARY + "Mention the customer's plan.\n") - count(SUMMARY)
    assert [(p, n) for p, n, _ in st["moved"]] == [("app/characters.py", "PERSONA_PROMPT")]
    assert st["moved"][0][2]["old"]["path"] == "app/persona.py" and st["moved"][0][2]["tokens_delta"] == 0
    assert [(p, n) for p, n, _ in st["removed"]] == [("app/old.py", "LEGACY_PROMPT")]
    assert [(p, n) for p, n, _ in st["added"]] == [("app/new.py", "CRITIC_PROMPT")]
    assert doc["summary"]["unchanged"] == 1  # the inline user message
    total = sum(c["tokens_delta"] for c in doc["changes"])
    assert doc["summary"]["tokens_delta"] == total == doc["summary"]["head_tokens"] - doc["summary"]["base_tokens"]


def test_text_and_markdown_output(repo, run_cli):
    src = (repo / "app/agent.py").read_text().replace(SYSTEM, LONGER)
    (repo / "app/agent.py").write_text(src)
    grew = count(LONGER) - count(SYSTEM)
    r = run_cli("diff", "--base", "main", cwd=repo)
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].startswith("Prompts vs main (") and "1 changed, 0 added, 0 removed, 0 moved, 4 unchanged" in lines[0]
    (row,) = [ln for ln in lines if ln.startswith("changed")]
    assert "app/agent.py::SYSTEM_PROMPT" in row and f"{count(SYSTEM)} -> {count(LONGER)}" in row and f"+{grew}" in row
    assert lines[-1].startswith("Total: ") and f"(+{grew}, +" in lines[-1]
    r = run_cli("diff", "--base", "main", "--format", "markdown", cwd=repo)
    md = r.output
    assert md.startswith("### promptlint: prompt tokens vs `main`")
    assert "| changed | `app/agent.py::SYSTEM_PROMPT` |" in md and f"{count(SYSTEM)} → {count(LONGER)}" in md
    table = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert len({ln.count("|") for ln in table}) == 1  # every row has the header's columns
    r = run_cli("diff", "--base", "main", "--format", "markdown", "-o", "comment.md", cwd=repo)
    assert r.output == "" and (repo / "comment.md").read_text() == md


def test_fail_on_increase_is_about_total_static_tokens(repo, run_cli):
    src = (repo / "app/agent.py").read_text().replace(SYSTEM, LONGER)
    (repo / "app/agent.py").write_text(src)
    doc = diff_json(run_cli, repo)
    pct = doc["summary"]["percent"]
    assert pct > 0
    assert run_cli("diff", "--base", "main", "--fail-on-increase", str(pct + 0.5), cwd=repo).exit_code == 0
    assert run_cli("diff", "--base", "main", "--fail-on-increase", str(max(0.0, pct - 0.5)), cwd=repo).exit_code == 1
    # a shrink never fails, even with 0
    (repo / "app/agent.py").write_text(src.replace(LONGER, "Be polite."))
    assert run_cli("diff", "--base", "main", "--fail-on-increase", "0", cwd=repo).exit_code == 0


def test_growth_from_nothing_fails_any_threshold(tmp_path, run_cli):
    repo = init_repo(tmp_path / "r", {"README.md": "# project\n", "app.py": "x = 1\n"})
    write(repo, "app.py", f'SYSTEM_PROMPT = "{SYSTEM}"\n')
    r = run_cli("diff", "--base", "main", "--fail-on-increase", "1000", cwd=repo)
    assert r.exit_code == 1
    assert "(+" in r.output and "new)" in r.output


def test_unnamed_prompts_matched_by_role_call_and_nearest_line(tmp_path, run_cli):
    def call(text):
        return f'client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{{"role": "user", "content": "{text}"}}])\n'

    repo = init_repo(tmp_path / "r", {"bot.py": call("Say hello.") + "\n" * 8 + call("Say bye.")})
    write(repo, "bot.py", "import os\n\n" + call("Say hello to the user by first name.") + "\n" * 8 + call("Say bye and thank the user."))
    doc = diff_json(run_cli, repo)
    pairs = sorted((c["old"]["line"], c["new"]["line"], c["tokens_delta"]) for c in doc["changes"])
    assert [c["status"] for c in doc["changes"]] == ["changed", "changed"]
    assert pairs == [
        (1, 3, count("Say hello to the user by first name.") - count("Say hello.")),
        (10, 12, count("Say bye and thank the user.") - count("Say bye.")),
    ]


def test_moved_between_files_by_text_and_renamed_file_with_edit(repo, run_cli):
    # the persona text moves into agent.py (same text: moved); old.py is renamed and its prompt edited
    # (same name, old file gone, new file new: changed, not added + removed)
    (repo / "app/persona.py").unlink()
    with open(repo / "app/agent.py", "a") as fh:
        fh.write(f'\nPIRATE_PROMPT = "{PERSONA}"\n')
    git(repo, "mv", "app/old.py", "app/legacy.py")
    write(repo, "app/legacy.py", 'LEGACY_PROMPT = "You are a legacy assistant. Reply in one short sentence, in French."\n')
    st = by_status(diff_json(run_cli, repo))
    ((path, name, moved),) = st["moved"]
    assert (path, name, moved["old"]["path"], moved["old"]["name"]) == ("app/agent.py", "PIRATE_PROMPT", "app/persona.py", "PERSONA_PROMPT")
    ((path, name, ch),) = st["changed"]
    assert (path, ch["old"]["path"]) == ("app/legacy.py", "app/old.py")
    assert "added" not in st and "removed" not in st
    r = run_cli("diff", "--base", "main", cwd=repo)
    assert "(from app/persona.py::PERSONA_PROMPT)" in r.output and "(from app/old.py)" in r.output


def test_template_prompts_jinja(tmp_path, run_cli):
    repo = init_repo(tmp_path / "r", {"prompts/answer.j2": "Answer the question {{ question }} briefly.\n"})
    write(repo, "prompts/answer.j2", "Answer the question {{ question }} briefly and cite your sources.\n")
    doc = diff_json(run_cli, repo)
    ((c),) = doc["changes"]
    assert c["status"] == "changed" and c["new"]["path"] == "prompts/answer.j2"
    assert c["tokens_delta"] == c["new"]["tokens"] - c["old"]["tokens"] > 0


def test_each_side_uses_its_own_config_and_gitignore(tmp_path, run_cli):
    repo = init_repo(
        tmp_path / "r",
        {
            "pyproject.toml": '[tool.promptlint]\nmodel = "gpt-4"\n',
            ".gitignore": "scratch/\n",
            "app.py": f'SYSTEM_PROMPT = "{SYSTEM}"\n',
        },
    )
    write(repo, "pyproject.toml", '[tool.promptlint]\nmodel = "gpt-4o"\n')
    write(repo, "scratch/tmp.py", 'DRAFT_PROMPT = "You are a draft. Ignore this file entirely please."\n')  # ignored: not added
    doc = diff_json(run_cli, repo)
    ((c),) = doc["changes"]
    assert c["status"] == "changed" and c["old"]["model"] == "gpt-4" and c["new"]["model"] == "gpt-4o"
    assert (c["old"]["tokens"], c["new"]["tokens"]) == (count(SYSTEM, "gpt-4"), count(SYSTEM, "gpt-4o"))
    assert c["cost_delta"] == pytest.approx(count(SYSTEM, "gpt-4o") * price("gpt-4o") - count(SYSTEM, "gpt-4") * price("gpt-4"))
    assert "model gpt-4 -> gpt-4o" in run_cli("diff", "--base", "main", cwd=repo).output
    # --model applies to both sides
    doc = diff_json(run_cli, repo, "--model", "gpt-4o")
    assert doc["changes"] == []
    # a base config this version rejects: warn and use the working tree's
    git(repo, "checkout", "-q", "-b", "old")
    write(repo, "pyproject.toml", '[tool.promptlint]\nno-such-key = 1\n')
    git(repo, "commit", "-qam", "broken config")
    write(repo, "pyproject.toml", '[tool.promptlint]\nmodel = "gpt-4o"\n')
    r = run_cli("diff", "--base", "old", "--format", "json", cwd=repo)
    assert r.exit_code == 0 and json.loads(r.output)["changes"] == []
    assert "configuration at the base ref is not usable" in r.stderr


def test_paths_and_subdirectory(repo, run_cli):
    src = (repo / "app/agent.py").read_text().replace(SYSTEM, LONGER)
    (repo / "app/agent.py").write_text(src)
    write(repo, "prompts/summarize.txt", SUMMARY + "More.\n")
    doc = diff_json(run_cli, repo, "app")
    assert [c["new"]["path"] for c in doc["changes"]] == ["app/agent.py"]
    assert doc["summary"]["unchanged"] == 3
    # from a subdirectory: paths stay relative to the repository root
    doc = diff_json(run_cli, repo / "app")
    assert [c["new"]["path"] for c in doc["changes"]] == ["app/agent.py"]
    doc = diff_json(run_cli, repo / "app", "../prompts")
    assert [c["new"]["path"] for c in doc["changes"]] == ["prompts/summarize.txt"]
    # a folder that exists only at the base: its prompts are removed
    git(repo, "rm", "-rqf", "prompts")
    doc = diff_json(run_cli, repo, "prompts")
    assert [c["status"] for c in doc["changes"]] == ["removed"]


def test_syntax_error_side_is_a_warning(repo, run_cli):
    (repo / "app/persona.py").write_text("PERSONA_PROMPT = 'You are a pirate.'\ndef broken(:\n")
    r = run_cli("diff", "--base", "main", cwd=repo)
    assert r.exit_code == 0
    assert "working tree: app/persona.py:2:" in r.stderr and "not compared" in r.stderr
    assert "removed  app/persona.py::PERSONA_PROMPT" in r.output


@pytest.mark.parametrize(
    "setup,args,fragment",
    [
        ("norepo", ("--base", "main"), "is not inside a git repository"),
        ("repo", ("--base", "no-such-branch"), "unknown git ref 'no-such-branch'"),
        ("repo", ("--base", "origin/main"), "fetch-depth: 0"),
        ("repo", ("--base", "--help-me"), "invalid git ref"),
        ("repo", ("--base", "main", "../outside"), "outside the git repository"),
        ("repo", ("--base", "main", "nowhere"), "nowhere: no such file or directory"),
    ],
)
def test_errors_exit_2_with_one_line(tmp_path, run_cli, setup, args, fragment):
    if setup == "repo":
        cwd = init_repo(tmp_path / "r", {"app.py": f'SYSTEM_PROMPT = "{SYSTEM}"\n'})
        (tmp_path / "outside").mkdir()
    else:
        cwd = tmp_path / "plain"
        cwd.mkdir()
        # make sure no enclosing repository is found (tmp folders are not inside one)
        if subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True).returncode == 0:
            pytest.skip("the temporary folder is inside a git repository")
    r = run_cli("diff", *args, cwd=cwd)
    assert r.exit_code == 2, (r.output, r.stderr)
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("promptlint: error: ") and fragment in err, err
    assert r.output == ""


def test_base_is_required(run_cli, tmp_path):
    r = run_cli("diff", cwd=tmp_path)
    assert r.exit_code == 2 and "--base" in (r.stderr + r.output)


def test_matching_unit():
    from promptlint.gitdiff import Entry, compare

    def e(path, name, line, h, tokens, role=None, call=None):
        return Entry(path, name, role, call, line, h, tokens, False, "gpt-4o", None)

    old = [e("a.py", "P", 1, "h1", 10), e("a.py", "P", 20, "h2", 10), e("b.py", None, 5, "h3", 7, "user", "create"), e("c.py", "Q", 1, "h4", 3)]
    # duplicate name in one file: equal text pairs first, the other by line order; b.py edited; c.py::Q renamed
    # to R in the same file with a new text: added + removed (different names are different prompts)
    new = [e("a.py", "P", 30, "h2", 10), e("a.py", "P", 2, "h9", 12), e("b.py", None, 9, "h8", 9, "user", "create"), e("c.py", "R", 1, "h5", 4)]
    res = compare(old, new, "main", "0" * 40)
    got = sorted((c.status, (c.old.line if c.old else None), (c.new.line if c.new else None)) for c in res.changes)
    assert got == [("added", None, 1), ("changed", 1, 2), ("changed", 5, 9), ("removed", 1, None)]
    assert res.unchanged == 1 and res.delta == (12 + 9 + 4 + 10) - (10 + 10 + 7 + 3)
