"""Baseline and token ratchet: `check --write-baseline FILE` / `check --baseline FILE` (prompt-growth, PL105)."""

import json
import os

import pytest

from promptlint import tokens
from promptlint.rules import registry


def count(text, model="gpt-4o"):
    return tokens.count(text, tokens.tokenizer_for(model))


SYSTEM = "You are a support agent. Answer in order to help the customer."
APP = '''from openai import OpenAI

client = OpenAI()

SYSTEM_PROMPT = "{system}"


def ask(question):
    return client.chat.completions.create(
        model="gpt-4o",
        max_tokens=200,
        messages=[
            {{"role": "system", "content": SYSTEM_PROMPT}},
            {{"role": "user", "content": f"Please answer this question: {{question}}"}},
        ],
    )
'''


def app(system=SYSTEM):
    return APP.format(system=system)


def codes(r):
    return [line.split(": ", 1)[1].split()[0] for line in r.output.splitlines() if ": PL" in line]


def write_baseline(run_cli, cwd, *paths, name="baseline.json"):
    r = run_cli("check", *(paths or (".",)), "--write-baseline", name, cwd=cwd)
    assert r.exit_code == 0, (r.output, r.stderr)
    assert r.output == ""  # nothing on stdout: the summary line goes to stderr
    assert "wrote baseline" in r.stderr
    return json.loads((cwd / name).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- writing


def test_write_baseline_records_findings_by_content_and_prompt_tokens(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    doc = write_baseline(run_cli, tmp_path, "app.py")
    assert doc["version"] == 1
    (f,) = doc["findings"]
    assert (f["rule"], f["code"], f["path"], f["count"]) == ("verbose-phrase", "PL301", "app.py", 1)
    assert f["fingerprint"].startswith("p:")  # keyed by the prompt's text, not by a line number
    assert "line" not in f
    by_name = {p["name"]: p for p in doc["tokens"]}
    assert by_name["SYSTEM_PROMPT"]["tokens"] == count(SYSTEM)
    assert by_name["SYSTEM_PROMPT"]["role"] == "system"
    user = [p for p in doc["tokens"] if p["role"] == "user"]
    assert len(user) == 1 and user[0]["tokens"] == count("Please answer this question: ")
    # written atomically: no temp file left next to it
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


def test_unchanged_tree_passes_and_says_how_many_are_hidden(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    assert codes(r) == []
    assert "1 finding already in baseline" in r.stderr
    # the baseline file itself is scanned (JSON) and yields no prompts
    assert "2 prompts" in r.output


def test_survives_line_shifts_and_edits_elsewhere(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    shifted = "import os\nimport sys\n\n\nTIMEOUT = 30  # seconds\n\n" + app().replace("def ask(question):", "def helper():\n    return os.getcwd()\n\n\ndef ask(question):")
    (tmp_path / "app.py").write_text(shifted)
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    assert codes(r) == []
    # without the baseline the finding is still there, on another line
    r = run_cli("check", cwd=tmp_path)
    assert codes(r) == ["PL301"]


def test_new_findings_are_reported_old_ones_not(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    (tmp_path / "more.py").write_text('RESEARCH_PROMPT = "Summarize the paper in order to extract the key claims for the reader."\n')
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 1
    assert codes(r) == ["PL301"]
    assert "more.py:1:" in r.output and "app.py" not in r.output


def test_editing_a_prompt_makes_its_findings_new(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    (tmp_path / "app.py").write_text(app("You are a support agent. Answer in order to help."))  # shorter, same phrase
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert codes(r) == ["PL301"]  # keyed by the prompt's content: an edited prompt is looked at again
    assert "PL105" not in r.output  # it shrank


def test_identical_findings_are_counted(tmp_path, run_cli):
    line = 'client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "Explain this in order to teach."}])\n'
    (tmp_path / "app.py").write_text(line * 2)
    doc = write_baseline(run_cli, tmp_path)
    (f,) = doc["findings"]
    assert f["count"] == 2
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 0 and codes(r) == []
    (tmp_path / "app.py").write_text(line * 3)
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 1
    assert codes(r) == ["PL301"]  # the third copy is new


def test_code_flow_findings_keyed_by_line_text(tmp_path, run_cli):
    call = 'reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Say hello."}])\n'
    (tmp_path / "app.py").write_text("from openai import OpenAI\nclient = OpenAI()\n" + call)
    doc = write_baseline(run_cli, tmp_path)
    (f,) = doc["findings"]
    assert f["rule"] == "missing-output-limit" and f["fingerprint"].startswith("l:")
    # moved down and re-indented: same normalized line text, same key
    (tmp_path / "app.py").write_text("from openai import OpenAI\n\n\nclient = OpenAI()\nif True:\n    " + call)
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 0 and codes(r) == [], r.output
    # a second such call is new
    other = call.replace("reply", "other")
    (tmp_path / "app.py").write_text("from openai import OpenAI\nclient = OpenAI()\n" + call + other)
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert codes(r) == ["PL403"] and ":4:" in r.output


def test_paths_spelled_differently_and_other_cwd(tmp_path, run_cli):
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path, "src")
    for args, cwd in (((str(src / "app.py"),), tmp_path), (("app.py",), src), (("./src/",), tmp_path)):
        bl = str(tmp_path / "baseline.json") if cwd == src else "baseline.json"
        r = run_cli("check", *args, "--baseline", bl, cwd=cwd)
        assert r.exit_code == 0 and codes(r) == [], (args, r.output)


# ---------------------------------------------------------------------------------------------- growth


def test_prompt_growth_fails_with_measured_tokens(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    longer = SYSTEM + " Always cite the knowledge-base article you used and offer a follow-up."
    (tmp_path / "app.py").write_text("# edited\n" + app(longer))
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 1
    old, new = count(SYSTEM), count(longer)
    assert f"app.py:6:17: PL105 Prompt SYSTEM_PROMPT grew from {old} to {new} tokens (+{new - old}, +{(new - old) / old * 100:.1f}%) since the baseline" in r.output
    assert sorted(codes(r)) == ["PL105", "PL301"]  # the phrase counts as new: the prompt's text changed
    # json carries it like any finding, with severity error
    r = run_cli("check", "--baseline", "baseline.json", "--format", "json", cwd=tmp_path)
    (g,) = [d for d in json.loads(r.output)["diagnostics"] if d["code"] == "PL105"]
    assert g["rule"] == "prompt-growth" and g["severity"] == "error" and g["line"] == 6


def test_shrinking_or_equal_prompts_pass(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    (tmp_path / "app.py").write_text(app("You are a support agent. Help the customer."))
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 0 and codes(r) == [], r.output


def test_tolerance_fraction_and_absolute(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    longer = SYSTEM + " Be kind."
    grew = count(longer) - count(SYSTEM)
    assert 0 < grew < count(SYSTEM) // 2
    (tmp_path / "app.py").write_text(app(longer))
    assert "PL105" in run_cli("check", "--baseline", "baseline.json", cwd=tmp_path).output
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint]\nbaseline-tolerance = 0.5\n")
    assert "PL105" not in run_cli("check", "--baseline", "baseline.json", cwd=tmp_path).output
    (tmp_path / "pyproject.toml").write_text(f"[tool.promptlint.rules.prompt-growth]\ntolerance-tokens = {grew}\n")
    assert "PL105" not in run_cli("check", "--baseline", "baseline.json", cwd=tmp_path).output
    (tmp_path / "pyproject.toml").write_text(f"[tool.promptlint.rules.prompt-growth]\ntolerance-tokens = {grew - 1}\n")
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert "PL105" in r.output and f"tolerance {grew - 1} tokens" in r.output


def test_growth_selection_and_suppression_apply(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    longer = SYSTEM + " Always cite the knowledge-base article you used."
    (tmp_path / "app.py").write_text(app(longer))
    assert "PL105" not in run_cli("check", "--baseline", "baseline.json", "--ignore", "prompt-growth", cwd=tmp_path).output
    assert "PL105" not in run_cli("check", "--baseline", "baseline.json", "--select", "PL3", cwd=tmp_path).output
    r = run_cli("check", "--baseline", "baseline.json", "--select", "PL105", cwd=tmp_path)
    assert codes(r) == ["PL105"] and r.exit_code == 1
    (tmp_path / "app.py").write_text(app(longer).replace(longer + '"', longer + '"  # promptlint: disable=prompt-growth'))
    r = run_cli("check", "--baseline", "baseline.json", "--select", "PL105", cwd=tmp_path)
    assert r.exit_code == 0 and codes(r) == [], r.output
    (tmp_path / "app.py").write_text(app(longer))
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\nper-file-ignores = {"app.py" = ["PL105"]}\n')
    assert "PL105" not in run_cli("check", "--baseline", "baseline.json", cwd=tmp_path).output
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint.severity]\nprompt-growth = "info"\n')
    r = run_cli("check", "--baseline", "baseline.json", "--select", "PL105", cwd=tmp_path)
    assert codes(r) == ["PL105"] and r.exit_code == 0  # info is below fail-on


def test_growth_of_template_prompt_file(tmp_path, run_cli):
    (tmp_path / "prompts").mkdir()
    f = tmp_path / "prompts" / "summarize.txt"
    f.write_text("Summarize the text for the reader.\n")
    write_baseline(run_cli, tmp_path)
    f.write_text("Summarize the text for the reader. List every claim with its page number and a quote.\n")
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert codes(r) == ["PL105"] and "prompts/summarize.txt:1:1" in r.output.replace(os.sep, "/")


def test_unnamed_prompts_matched_only_when_unambiguous(tmp_path, run_cli):
    def call(text, cap="max_tokens=5, "):
        return f'client.chat.completions.create(model="gpt-4o", {cap}messages=[{{"role": "user", "content": "{text}"}}])\n'

    (tmp_path / "one.py").write_text(call("Say hello."))
    (tmp_path / "two.py").write_text(call("Say hello.") + call("Say bye."))
    write_baseline(run_cli, tmp_path)
    grown = "Say hello to the user by name and ask how their day went."
    (tmp_path / "one.py").write_text("\n\n" + call(grown))  # the only user prompt of one.py: compared
    (tmp_path / "two.py").write_text(call(grown) + call("Say bye and thank the user for the conversation."))  # two edited: ambiguous
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    lines = [ln for ln in r.output.splitlines() if "PL105" in ln]
    assert len(lines) == 1 and lines[0].startswith("one.py:3:"), r.output
    # one of two edited while the other kept its text: the edited one is the unique candidate
    (tmp_path / "two.py").write_text(call("Say bye.") + call(grown))
    r = run_cli("check", "--baseline", "baseline.json", "two.py", cwd=tmp_path)
    assert [ln.split(":")[1] for ln in r.output.splitlines() if "PL105" in ln] == ["2"]


@pytest.mark.parametrize("kind", ["valid", "invalid"])
def test_prompt_growth_examples(tmp_path, run_cli, kind):
    rule = registry().get("prompt-growth")
    for i, (recorded, current) in enumerate(getattr(rule.examples, kind)):
        d = tmp_path / f"{kind}{i}"
        d.mkdir()
        (d / "agent.py").write_text(f"SYSTEM_PROMPT = {recorded!r}\n")
        write_baseline(run_cli, d)
        (d / "agent.py").write_text(f"SYSTEM_PROMPT = {current!r}\n")
        r = run_cli("check", "--baseline", "baseline.json", "--select", "prompt-growth", cwd=d)
        assert (codes(r) == ["PL105"]) == (kind == "invalid"), (recorded, current, r.output)


def test_rule_documented_and_listed(run_cli):
    r = run_cli("rule", "prompt-growth")
    assert r.exit_code == 0
    assert r.output.startswith("prompt-growth (PL105)") and "## Fix safety" in r.output and "tolerance-tokens" in r.output
    assert "PL105" in run_cli("rule", "PL105").output
    assert any(ln.startswith("PL105") and "prompt-growth" in ln for ln in run_cli("rules").output.splitlines())


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "content,fragment",
    [
        (None, "baseline file not found"),
        ("{not json", "invalid JSON at line 1"),
        ("[]", "top level is not an object"),
        ('{"findings": []}', "no 'version'"),
        ('{"version": 99}', "unsupported version 99"),
        ('{"version": 1, "findings": [{"rule": "x"}]}', "findings[0] needs string"),
        ('{"version": 1, "tokens": [{"path": "a.py", "hash": "x", "tokens": -1}]}', "tokens[0].tokens must be"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_broken_or_missing_baseline_is_exit_2_one_line(tmp_path, run_cli, content, fragment):
    (tmp_path / "app.py").write_text(app())
    if isinstance(content, bytes):
        (tmp_path / "baseline.json").write_bytes(content)
    elif content is not None:
        (tmp_path / "baseline.json").write_text(content)
    r = run_cli("check", "app.py", "--baseline", "baseline.json", cwd=tmp_path)
    assert r.exit_code == 2
    assert r.output == ""
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith("promptlint: error: baseline.json:") and fragment in err, err


def test_both_flags_or_unwritable_target_are_usage_errors(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    r = run_cli("check", "app.py", "--baseline", "a.json", "--write-baseline", "b.json", cwd=tmp_path)
    assert r.exit_code == 2 and "not both" in r.stderr
    r = run_cli("check", "app.py", "--write-baseline", "missing-dir/b.json", cwd=tmp_path)
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1 and "cannot write baseline" in r.stderr


def test_rewriting_the_baseline_ratchets_down(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(app())
    write_baseline(run_cli, tmp_path)
    short = "You are a support agent."
    (tmp_path / "app.py").write_text(app(short))
    doc = write_baseline(run_cli, tmp_path)
    assert {p["name"]: p["tokens"] for p in doc["tokens"]}["SYSTEM_PROMPT"] == count(short)
    assert doc["findings"] == []
    (tmp_path / "app.py").write_text(app())  # back to the old, longer text: now growth
    r = run_cli("check", "--baseline", "baseline.json", cwd=tmp_path)
    assert "PL105" in r.output and r.exit_code == 1
