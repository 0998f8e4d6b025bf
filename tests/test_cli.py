"""CLI contract: JSON shape, text output, exit codes, config, discovery, syntax errors."""

import json
import os
import subprocess
import sys

import pytest

PROMPT_FILE = '''from openai import OpenAI
client = OpenAI()
SYSTEM = "You are a helpful assistant. Answer in order to help."
client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}])
'''

PROMPT_KEYS = {"path", "line", "column", "end_line", "end_column", "name", "source", "role", "call", "model", "encoding", "approximate", "tokens", "dynamic", "placeholders"}
DIAG_KEYS = {"path", "line", "column", "end_line", "end_column", "code", "rule", "severity", "message", "tokens_wasted", "fix"}


def test_json_contract(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(PROMPT_FILE)
    r = run_cli("check", "app.py", "--format", "json", cwd=tmp_path)
    doc = json.loads(r.output)  # exactly one JSON object on stdout
    assert set(doc) == {"version", "files_scanned", "prompts", "diagnostics", "summary"}
    assert doc["version"] == 1 and doc["files_scanned"] == 1
    (p,) = doc["prompts"]
    assert PROMPT_KEYS <= set(p)
    assert p["path"] == "app.py"  # relative stays relative
    assert (p["line"], p["column"], p["end_line"], p["end_column"]) == (3, 10, 3, 65)
    assert p["source"] == "python" and p["role"] == "system" and p["encoding"] == "o200k_base"
    assert isinstance(p["tokens"], int) and p["approximate"] is False and p["dynamic"] is False
    for d in doc["diagnostics"]:
        assert DIAG_KEYS <= set(d)
        assert d["severity"] in ("error", "warning", "info")
        assert d["fix"] is None or {"applicability", "message", "tokens_saved"} <= set(d["fix"])
    assert doc["summary"] == {"prompts": 1, "tokens": p["tokens"], "diagnostics": len(doc["diagnostics"])}


def test_text_output_and_exit_one_on_findings(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(PROMPT_FILE)
    r = run_cli("check", "app.py", cwd=tmp_path)
    assert r.exit_code == 1
    assert "app.py:3:" in r.output and "PL301" in r.output
    assert "1 prompt (" in r.output


def test_exit_zero_when_clean(tmp_path, run_cli):
    (tmp_path / "app.py").write_text('client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "Say hello."}])\n')
    r = run_cli("check", "app.py", cwd=tmp_path)
    assert r.exit_code == 0, r.output
    assert "1 prompt" in r.output


def test_exit_zero_flag(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(PROMPT_FILE)
    assert run_cli("check", "app.py", "--exit-zero", cwd=tmp_path).exit_code == 0


def test_syntax_error_is_one_diagnostic_and_run_goes_on(tmp_path, run_cli):
    (tmp_path / "bad.py").write_text("SYSTEM_PROMPT = 'You are terse.'\ndef broken(:\n    pass\n")
    (tmp_path / "good.py").write_text(PROMPT_FILE)
    r = run_cli("check", ".", "--format", "json", cwd=tmp_path)
    doc = r.json()
    errs = [d for d in doc["diagnostics"] if d["rule"] == "syntax-error"]
    assert len(errs) == 1 and errs[0]["path"] == "bad.py" and errs[0]["line"] == 2
    assert len(doc["prompts"]) == 1 and r.exit_code == 1


def test_syntax_error_without_any_trace_of_llm_code_is_not_reported(tmp_path, run_cli, monkeypatch):
    """A file with no trace of a prompt or an LLM call is not analysed, so not parsed: its syntax is the
    Python linter's business (Python 2 scripts, cookiecutter templates)."""
    (tmp_path / "py2.py").write_text('print "hello"\n')
    (tmp_path / "{{cookiecutter.name}}.py").write_text("def {{ cookiecutter.func }}():\n    pass\n")
    (tmp_path / "good.py").write_text(PROMPT_FILE)
    r = run_cli("check", ".", "--format", "json", cwd=tmp_path)
    doc = r.json()
    assert [d for d in doc["diagnostics"] if d["rule"] == "syntax-error"] == []
    assert len(doc["prompts"]) == 1
    # and not parsed at all
    import ast

    from promptlint import config as cfgmod
    from promptlint.pipeline import extract
    from promptlint.types import SourceFile

    def no_parse(*a, **k):
        raise AssertionError("parsed a file without any trace of LLM code")

    monkeypatch.setattr(ast, "parse", no_parse)
    cfg = cfgmod.load([str(tmp_path)])
    assert extract(SourceFile("py2.py", "python", 'print "hello"\n'), cfg) == ([], None)


def test_unknown_config_key_is_exit_2_naming_key(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint]\nmodle = 'gpt-4o'\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    r = run_cli("check", "a.py", cwd=tmp_path)
    assert r.exit_code == 2
    assert "modle" in r.stderr and "model" in r.stderr
    assert "Traceback" not in r.stderr + r.output


def test_invalid_toml_is_exit_2_with_line(tmp_path, run_cli):
    (tmp_path / "promptlint.toml").write_text("model = \n")
    (tmp_path / "a.py").write_text("x = 1\n")
    r = run_cli("check", "a.py", cwd=tmp_path)
    assert r.exit_code == 2 and "promptlint.toml:1:" in r.stderr and "model" in r.stderr  # file, line and key


def test_config_found_walking_up_and_model_used(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint]\nmodel = 'gpt-4'\n")
    sub = tmp_path / "src" / "pkg"
    sub.mkdir(parents=True)
    (sub / "a.py").write_text('msgs = [{"role": "user", "content": "Write a short poem."}]\n')
    r = run_cli("check", str(sub), "--format", "json", cwd=tmp_path)
    (p,) = r.json()["prompts"]
    assert p["model"] == "gpt-4" and p["encoding"] == "cl100k_base"


def test_unknown_rule_in_select_is_usage_error(tmp_path, run_cli):
    (tmp_path / "a.py").write_text("x = 1\n")
    r = run_cli("check", "a.py", "--select", "no-such-rule", cwd=tmp_path)
    assert r.exit_code == 2 and "no-such-rule" in r.stderr


def test_missing_path_is_exit_2(tmp_path, run_cli):
    r = run_cli("check", "nope.py", cwd=tmp_path)
    assert r.exit_code == 2 and "nope.py" in r.stderr


def test_discovery_respects_gitignore_and_skips_venv(tmp_path, run_cli):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\nsecret_*.py\n")
    for rel in ["app.py", "generated/gen.py", "secret_x.py", ".venv/lib/site.py", "node_modules/m.py", "build/b.py", "pkg/ok.py"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text('msgs = [{"role": "user", "content": "Describe the picture."}]\n')
    r = run_cli("check", ".", "--format", "json", cwd=tmp_path)
    paths = sorted(p["path"] for p in r.json()["prompts"])
    assert paths == ["app.py", "pkg/ok.py"]
    # a file named explicitly is always checked
    r = run_cli("check", "generated/gen.py", "--format", "json", cwd=tmp_path)
    assert [p["path"] for p in r.json()["prompts"]] == ["generated/gen.py"]


def test_config_exclude(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint]\nexclude = ['legacy/**']\n")
    for rel in ["legacy/a.py", "new/b.py"]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True)
        p.write_text('msgs = [{"role": "user", "content": "Describe the picture."}]\n')
    r = run_cli("check", ".", "--format", "json", cwd=tmp_path)
    assert [p["path"] for p in r.json()["prompts"]] == ["new/b.py"]


def test_tokens_table(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(PROMPT_FILE + 'client.messages.create(model="claude-3-5-haiku", max_tokens=9, messages=[{"role": "user", "content": f"Summarize {doc} briefly please."}])\n')
    r = run_cli("tokens", ".", cwd=tmp_path)
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].split()[:6] == ["LOCATION", "NAME", "CALL", "MODEL", "TOKENS", "DYNAMIC"]
    assert "SYSTEM" in lines[1]  # sorted by tokens, largest first
    assert "~" in r.output and "doc" in r.output


def test_python_m_entry_point(tmp_path):
    (tmp_path / "app.py").write_text(PROMPT_FILE)
    r = subprocess.run([sys.executable, "-m", "promptlint", "check", "app.py", "--format", "json"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1 and json.loads(r.stdout)["summary"]["prompts"] == 1


def test_rules_and_rule_docs(run_cli):
    r = run_cli("rules")
    assert r.exit_code == 0 and "PL001" in r.output and "syntax-error" in r.output
    r = run_cli("rule", "syntax-error")
    assert r.exit_code == 0 and "## What it does" in r.output and "## Fix safety" in r.output
    assert run_cli("rule", "PL001").output == r.output
    assert run_cli("rule", "nope").exit_code == 2
