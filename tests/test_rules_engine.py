"""Rule engine: budgets, suppressions, config selection and options, lexical YAML rules, packaging."""

import json
import os
import subprocess
import sys
import textwrap
import zipfile

import pytest
import yaml

from promptlint import tokens
from promptlint.rules import registry

BIG = "You are a meticulous assistant for a bookshop. " * 20


def codes(res):
    return [d.code for d in res.diagnostics]


# ---------------------------------------------------------------------------------------------- budgets


def test_budget_comment_on_line_before_and_on_first_line(lint):
    res = lint(
        f'''
        # promptlint: budget=50
        SYSTEM_PROMPT = "{BIG}"
        OTHER_PROMPT = "{BIG}"  # promptlint: budget=60
        THIRD_PROMPT = "{BIG}"
        ''',
        select=["over-budget"],
    )
    n = tokens.count(BIG, "gpt-4o")
    msgs = sorted(d.message for d in res.diagnostics)
    assert len(res.diagnostics) == 2
    assert f"has {n:,} tokens, over its budget of 50 by {n - 50:,}" in msgs[1] or f"over its budget of 50 by {n - 50:,}" in " ".join(msgs)
    assert any(f"over its budget of 60 by {n - 60:,}" in m for m in msgs)
    assert all(d.severity == "error" and d.tokens_wasted in (n - 50, n - 60) for d in res.diagnostics)


def test_budget_comment_before_multiline_statement(lint):
    res = lint(
        f'''
        # promptlint: budget=10
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{{"role": "user", "content": "{BIG}"}}],
        )
        ''',
        select=["over-budget"],
    )
    assert codes(res) == ["PL101"]


def test_config_budgets_glob_and_default_budget(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\ndefault-budget = 100000\n[tool.promptlint.budgets]\n"src/*.py::SYSTEM*" = 20\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(f'SYSTEM_PROMPT = "{BIG}"\nUSER_PROMPT = "{BIG}"\n')
    r = run_cli("check", "src", "--format", "json", "--select", "over-budget", cwd=tmp_path)
    diags = r.json()["diagnostics"]
    assert [(d["line"], d["rule"]) for d in diags] == [(1, "over-budget")]
    assert "budgets['src/*.py::SYSTEM*']" in diags[0]["message"]
    assert r.exit_code == 1
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint]\ndefault-budget = 30\n")
    r = run_cli("check", "src", "--format", "json", "--select", "over-budget", cwd=tmp_path)
    assert len(r.json()["diagnostics"]) == 2 and "default-budget" in r.json()["diagnostics"][0]["message"]


def test_budget_comment_in_template_file(tmp_path, run_cli):
    (tmp_path / "sys.prompt.txt").write_text("# promptlint: budget=5\n" + BIG)
    r = run_cli("check", "sys.prompt.txt", "--format", "json", "--select", "over-budget", cwd=tmp_path)
    assert [d["rule"] for d in r.json()["diagnostics"]] == ["over-budget"]


def test_under_budget_is_silent(lint):
    assert lint('# promptlint: budget=500\nSYSTEM_PROMPT = "You are a helpful assistant for billing."\n', select=["over-budget"]).diagnostics == []


def test_context_window(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\nmodel = "tiny-model"\n[tool.promptlint.models.tiny-model]\ncontext_window = 100\n')
    (tmp_path / "a.py").write_text(f'SYSTEM_PROMPT = "{BIG}"\nSMALL_PROMPT = "You are a helpful assistant for billing."\n')
    r = run_cli("check", "a.py", "--format", "json", "--select", "context-window", cwd=tmp_path)
    d = r.json()["diagnostics"]
    assert len(d) == 1 and d[0]["line"] == 1 and "context window" in d[0]["message"]
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\nmodel = "tiny-model"\n[tool.promptlint.models.tiny-model]\ncontext_window = 100000\n[tool.promptlint.rules.context-window]\nmax-fraction = 0.001\n')
    r = run_cli("check", "a.py", "--format", "json", "--select", "context-window", cwd=tmp_path)
    assert len(r.json()["diagnostics"]) == 1 and "0% of the context window" in r.json()["diagnostics"][0]["message"]


# -------------------------------------------------------------------------------------------- suppression

WORDY = "You are an agent. In order to help, read the question."


def test_disable_on_line_and_on_statement_first_line(lint):
    res = lint(
        f'''
        A_PROMPT = "{WORDY}"  # promptlint: disable=verbose-phrase
        B_PROMPT = "{WORDY}"  # promptlint: disable=PL301
        C_PROMPT = "{WORDY}"  # promptlint: disable=whitespace-waste
        client.chat.completions.create(  # promptlint: disable=verbose-phrase
            model="gpt-4o",
            messages=[{{"role": "user", "content": "{WORDY}"}}],
        )
        ''',
        select=["verbose-phrase"],
    )
    assert [d.line for d in res.diagnostics] == [4]


def test_disable_file(lint):
    res = lint(f'# promptlint: disable-file\nA_PROMPT = "{WORDY}"\n', select=["verbose-phrase"])
    assert res.diagnostics == []
    res = lint(f'# promptlint: disable-file=whitespace-waste\nA_PROMPT = "{WORDY}"\n', select=["verbose-phrase"])
    assert len(res.diagnostics) == 1


def test_jinja_and_yaml_comment_suppression(tmp_path, run_cli):
    (tmp_path / "p.prompt.txt").write_text(WORDY + "\n")
    (tmp_path / "q.prompt.txt").write_text("# promptlint: disable=verbose-phrase\n" + WORDY + "\n")
    (tmp_path / "r.prompt.txt").write_text("{# promptlint: disable-file #}\n" + WORDY + "\n")
    r = run_cli("check", "p.prompt.txt", "q.prompt.txt", "r.prompt.txt", "--format", "json", "--select", "verbose-phrase", cwd=tmp_path)
    assert [d["path"] for d in r.json()["diagnostics"]] == ["p.prompt.txt"]


# ------------------------------------------------------------------------------------------------ config


def _cfg_run(tmp_path, run_cli, toml, code, *args):
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint]\n" + toml)
    (tmp_path / "a.py").write_text(code)
    return run_cli("check", "a.py", "--format", "json", *args, cwd=tmp_path)


def test_select_ignore_extend_select(tmp_path, run_cli):
    code = f'A_PROMPT = "{WORDY}   \\nsecond line   \\nthird"\n'
    r = _cfg_run(tmp_path, run_cli, 'select = ["PL2"]\n', code)
    assert {d["rule"] for d in r.json()["diagnostics"]} == {"whitespace-waste"}
    r = _cfg_run(tmp_path, run_cli, 'ignore = ["whitespace-waste"]\n', code)
    assert "whitespace-waste" not in {d["rule"] for d in r.json()["diagnostics"]}
    assert "verbose-phrase" in {d["rule"] for d in r.json()["diagnostics"]}
    r = _cfg_run(tmp_path, run_cli, 'select = ["PL2"]\nextend-select = ["verbose-phrase"]\n', code)
    assert {d["rule"] for d in r.json()["diagnostics"]} == {"whitespace-waste", "verbose-phrase"}


def test_per_file_ignores_and_severity_and_fail_on(tmp_path, run_cli):
    code = f'A_PROMPT = "{WORDY}"\n'
    r = _cfg_run(tmp_path, run_cli, '[tool.promptlint.per-file-ignores]\n"a.py" = ["verbose-phrase"]\n', code)
    assert r.json()["diagnostics"] == [] and r.exit_code == 0
    r = _cfg_run(tmp_path, run_cli, '[tool.promptlint.severity]\nverbose-phrase = "info"\n', code)
    assert r.json()["diagnostics"][0]["severity"] == "info" and r.exit_code == 0  # fail-on defaults to warning
    r = _cfg_run(tmp_path, run_cli, 'fail-on = "info"\n[tool.promptlint.severity]\nverbose-phrase = "info"\n', code)
    assert r.exit_code == 1
    r = _cfg_run(tmp_path, run_cli, 'fail-on = "error"\n', code)
    assert r.exit_code == 0 and len(r.json()["diagnostics"]) == 1


def test_rule_options_validated_and_used(tmp_path, run_cli):
    code = 'A_PROMPT = "You are an agent.   \\nRead the question carefully.   \\nAnswer."\n'
    r = _cfg_run(tmp_path, run_cli, "[tool.promptlint.rules.whitespace-waste]\nmin-tokens = 50\n", code, "--select", "whitespace-waste")
    assert r.json()["diagnostics"] == []
    r = _cfg_run(tmp_path, run_cli, "[tool.promptlint.rules.whitespace-waste]\nmin-tokns = 50\n", code)
    assert r.exit_code == 2 and "min-tokns" in r.stderr and "whitespace-waste" in r.stderr
    r = _cfg_run(tmp_path, run_cli, "[tool.promptlint.rules.no-such-rule]\nx = 1\n", code)
    assert r.exit_code == 2 and "no-such-rule" in r.stderr


# ---------------------------------------------------------------------------------------- lexical rules


def test_verbose_phrase_list_is_large_and_every_entry_saves_tokens():
    path = os.path.join(os.path.dirname(__file__), "..", "rules", "verbose-phrase.yaml")
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    swap = data["swap"]
    assert len(swap) >= 80
    for phrase, repl in swap.items():
        before = f"You are an assistant. {phrase.capitalize()} the user asks questions about billing."
        after_phrase = repl.capitalize() if repl else ""
        after = f"You are an assistant. {after_phrase} the user asks questions about billing.".replace("  ", " ")
        saved = tokens.count(before, "gpt-4o") - tokens.count(after, "gpt-4o")
        assert saved >= 1, (phrase, repl, saved)


def test_verbose_phrase_finds_and_measures(lint):
    res = lint('A_PROMPT = "You are a tutor. Due to the fact that students are new, explain in order to teach."\n', select=["verbose-phrase"])
    msgs = [d.message for d in res.diagnostics]
    assert len(msgs) == 2 and "'Due to the fact that' can be 'Because'" in msgs[0] and "'in order to' can be 'to'" in msgs[1]
    assert all(d.tokens_wasted >= 1 and d.fix.applicability == "unsafe" for d in res.diagnostics)


def test_user_rule_dirs_all_kinds(tmp_path, run_cli):
    rd = tmp_path / "myrules"
    rd.mkdir()
    (rd / "banned.yaml").write_text(
        "code: PL901\nname: banned-words\nkind: existence\nseverity: warning\nsummary: Banned words\n"
        "message: \"'{match}' is banned here\"\ntokens: ['\\bsynergy\\b']\n"
        "examples: {valid: ['Work together.'], invalid: ['Use synergy.']}\n"
    )
    (rd / "rep.yaml").write_text("code: PL902\nname: repeated-words\nkind: repetition\nsummary: Repeated words\nfix: safe\n")
    (rd / "len.yaml").write_text("code: PL903\nname: long-sentence\nkind: metric\nmeasure: sentence-words\nmax: 8\nsummary: Long sentences\n")
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\nrule-dirs = ["myrules"]\nselect = ["PL9"]\n')
    (tmp_path / "a.py").write_text('A_PROMPT = "You are a coach. Use synergy in the the team. This sentence has far too many words in it to read."\n')
    r = run_cli("check", "a.py", "--format", "json", cwd=tmp_path)
    got = sorted(d["rule"] for d in r.json()["diagnostics"])
    assert got == ["banned-words", "long-sentence", "repeated-words"]
    r = run_cli("rule", "banned-words", cwd=tmp_path)
    assert "banned-words (PL901)" in r.output


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("code: PL904\nname: x\nkind: nope\n", "'kind' must be one of"),
        ("code: 12\nname: x\nkind: existence\ntokens: [a]\n", "'code' must look like PL123"),
        ("code: PL905\nname: x\nkind: existence\ntokens: ['(']\n", "bad regular expression"),
        ("code: PL906\nname: x\nkind: existence\ntokens: [a]\nbogus: 1\n", "unknown key 'bogus'"),
        ("code: [PL907\n", "invalid YAML"),
    ],
)
def test_broken_rule_files_are_usage_errors(tmp_path, run_cli, content, fragment):
    rd = tmp_path / "r"
    rd.mkdir()
    (rd / "bad.yaml").write_text(content)
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\nrule-dirs = ["r"]\n')
    (tmp_path / "a.py").write_text("x = 1\n")
    r = run_cli("check", "a.py", cwd=tmp_path)
    assert r.exit_code == 2 and fragment in r.stderr and "bad.yaml" in r.stderr


def test_rules_load_from_installed_wheel(tmp_path):
    root = os.path.join(os.path.dirname(__file__), "..")
    out = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), root], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = list(out.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "promptlint/rules_data/verbose-phrase.yaml" in names
    assert "promptlint/data/models.yaml" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import promptlint, promptlint.lexical as lx, sys\n"
        "assert promptlint.__file__.startswith(sys.argv[1]), promptlint.__file__\n"
        "print(sorted(r.name for r in lx.load_builtin()))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    r = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "verbose-phrase" in r.stdout


# ------------------------------------------------------------------------------------------- precision


@pytest.mark.parametrize(
    "code",
    [
        'def f():\n    """In order to do this, note that   spacing   is   odd.\n\n\n\n\n\n\n\n\n\n\n\n    Ok."""\n',
        'QUERY_TEMPLATE = """\n    SELECT   id,   name\n    FROM users\n    WHERE id = %s\n"""\n',
        'EMAIL_TEMPLATE = """\n    <html>\n      <body>In order to   continue, click.</body>\n    </html>\n"""\n',
        'USAGE = """usage: tool [-h]\n\n    In order to run it, pass   --input.\n"""\n',
        'logger.info("In order to retry we wait   %s seconds", n)\n',
        'import json\nwith open("x.json", "w") as f:\n    json.dump(data, f, indent=2)\n    f.write(json.dumps(data, indent=2))\n',
    ],
)
def test_non_prompts_stay_silent(lint, code):
    res = lint(code)
    assert res.prompts == [] and res.diagnostics == []


def test_few_shot_examples_not_flagged_as_whitespace_or_indent(lint):
    res = lint(
        '''
        FEW_SHOT_PROMPT = """Classify the sentiment.
        Input: I love it
        Output: positive
        Input: I hate it
        Output: negative
        """
        ''',
        select=["whitespace-waste", "indentation-waste"],
    )
    # module-level literal whose continuation lines start at column 0: nothing to report
    assert res.diagnostics == []


def test_indentation_waste_on_class_literal_and_not_on_dedented(lint):
    res = lint(
        '''
        import textwrap
        class Bot:
            SYSTEM_PROMPT = """You are a support agent for ACME.
                Answer in English.
                Keep answers short and polite."""
            OTHER_PROMPT = textwrap.dedent("""
                You are a support agent for ACME.
                Answer in English.
            """)
        ''',
        select=["indentation-waste"],
    )
    assert [d.line for d in res.diagnostics] == [5]  # the first indented line
    d = res.diagnostics[0]
    raw = "You are a support agent for ACME.\n        Answer in English.\n        Keep answers short and polite."
    lean = "You are a support agent for ACME.\nAnswer in English.\nKeep answers short and polite."
    assert d.tokens_wasted == tokens.count(raw, "gpt-4o") - tokens.count(lean, "gpt-4o")
    assert d.fix.applicability == "safe"


def test_invisible_characters_in_escape_form(lint):
    res = lint('A_PROMPT = "You are an agent.\\u200b Answer\\u00a0briefly."\n', select=["invisible-characters"])
    (d,) = res.diagnostics
    assert "U+200B" in d.message and "U+00A0" in d.message
    assert d.fix is not None and len(d.fix.edits) == 2


def test_json_indent_waste_flows_and_exact_on_literal(lint):
    res = lint(
        '''
        import json
        data = {"a": [1, 2, 3], "b": {"c": "d"}}
        prompt = f"Data:\\n{json.dumps({'a': [1, 2, 3], 'b': {'c': 'd'}}, indent=2)}"
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
        ''',
        select=["json-indent-waste"],
    )
    (d,) = res.diagnostics
    obj = {"a": [1, 2, 3], "b": {"c": "d"}}
    exact = tokens.count(json.dumps(obj, indent=2), "gpt-4o") - tokens.count(json.dumps(obj, separators=(",", ":")), "gpt-4o")
    assert d.tokens_wasted == exact and "estimate" not in d.message
    assert d.fix.applicability == "unsafe" and d.fix.edits[0].content == 'separators=(",", ":")'
