"""Costs, call rates, `promptlint report` and the cost budgets (PL103 over-cost-budget, PL104 total-budget).

Expected dollars are computed here from the shipped price table (read as YAML, not through promptlint's
lookup) and token counts from the real encodings, never typed in.
"""

import json
import re
import textwrap
from importlib import resources

import pytest
import yaml

from promptlint import tokens
from promptlint.costs import money

DAYS = 30  # the documented 30-day month

SYS = "You are a support assistant for a bookshop. Answer questions about orders, delivery and returns politely."
USR = "Summarize the customer's message in one short sentence for the support team."
# verbose phrase + trailing space: two waste findings with known token counts
WORDY = "In order to help the customer, read the order first.   \nBe brief. "


def price_table():
    text = resources.files("promptlint").joinpath("data", "models.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def input_price(model):
    return float(price_table()["models"][model]["input"])


def cost(text, model):
    return tokens.count(text, model) * input_price(model) / 1e6


def app(*prompts):
    """A Python module sending each (name, text, model) prompt through an OpenAI call."""
    lines = ["from openai import OpenAI", "client = OpenAI()"]
    for name, text, model, *comment in prompts:
        if comment:
            lines.append(f"# promptlint: calls-per-day={comment[0]}")
        lines.append(f"{name} = {text!r}")
        lines.append(f'client.chat.completions.create(model="{model}", max_tokens=50, messages=[{{"role": "system", "content": {name}}}])')
    return "\n".join(lines) + "\n"


def by_name(doc):
    return {p["name"]: p for p in doc["prompts"]}


def write_project(tmp_path, files, toml=""):
    for name, content in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint]\n" + textwrap.dedent(toml))


# ------------------------------------------------------------------------------------------ cost model


def test_cost_per_call_and_monthly_projection_from_price_table(tmp_path, run_cli):
    write_project(tmp_path, {"app.py": app(("SYSTEM_PROMPT", SYS, "gpt-4o"), ("USER_PROMPT", USR, "gpt-4.1-mini"))}, "calls-per-day = 1200\n")
    doc = run_cli("check", "app.py", "--format", "json", "--exit-zero", cwd=tmp_path).json()
    got = by_name(doc)
    for name, text, model in (("SYSTEM_PROMPT", SYS, "gpt-4o"), ("USER_PROMPT", USR, "gpt-4.1-mini")):
        p = got[name]
        assert p["tokens"] == tokens.count(text, model)
        assert p["cost_per_call"] == pytest.approx(cost(text, model), rel=1e-9)
        assert p["calls_per_day"] == 1200
        assert p["monthly_cost"] == pytest.approx(cost(text, model) * 1200 * DAYS, rel=1e-9)


def test_no_call_rate_means_no_monthly_cost_and_unknown_model_no_price(tmp_path, run_cli):
    write_project(tmp_path, {"app.py": app(("SYSTEM_PROMPT", SYS, "gpt-4o"), ("LOCAL_PROMPT", USR, "acme-inhouse-llm"))})
    doc = run_cli("check", "app.py", "--format", "json", "--exit-zero", cwd=tmp_path).json()
    got = by_name(doc)
    assert got["SYSTEM_PROMPT"]["cost_per_call"] == pytest.approx(cost(SYS, "gpt-4o"))
    assert "monthly_cost" not in got["SYSTEM_PROMPT"]
    assert got["LOCAL_PROMPT"]["cost_per_call"] is None  # no price: null, never a guess


def test_calls_per_day_precedence_comment_over_glob_over_global(tmp_path, run_cli):
    files = {
        "src/hot.py": app(("HOT_PROMPT", SYS, "gpt-4o"), ("NOTED_PROMPT", USR, "gpt-4o", 7)),
        "src/agents.py": app(("PLANNER_PROMPT", SYS, "gpt-4o"), ("OTHER_PROMPT", USR, "gpt-4o")),
        "cold.py": app(("COLD_PROMPT", USR, "gpt-4o")),
    }
    toml = """
    [tool.promptlint.calls-per-day]
    "*" = 10
    "src/hot.py" = 500
    "src/agents.py::PLANNER*" = 40
    """
    write_project(tmp_path, files, toml)
    doc = run_cli("check", ".", "--format", "json", "--exit-zero", cwd=tmp_path).json()
    rates = {n: p["calls_per_day"] for n, p in by_name(doc).items()}
    assert rates == {"HOT_PROMPT": 500, "NOTED_PROMPT": 7, "PLANNER_PROMPT": 40, "OTHER_PROMPT": 10, "COLD_PROMPT": 10}
    p = by_name(doc)["NOTED_PROMPT"]
    assert p["monthly_cost"] == pytest.approx(cost(USR, "gpt-4o") * 7 * DAYS)


def test_config_model_price_override_and_new_model(tmp_path, run_cli):
    files = {"app.py": app(("SYSTEM_PROMPT", SYS, "gpt-4o-2024-08-06"), ("LOCAL_PROMPT", USR, "acme-llm"))}
    toml = """
    [tool.promptlint.models.gpt-4o]
    input = 100.0
    [tool.promptlint.models.acme-llm]
    input = 0.5
    encoding = "o200k_base"
    """
    write_project(tmp_path, files, toml)
    doc = run_cli("check", "app.py", "--format", "json", "--exit-zero", cwd=tmp_path).json()
    got = by_name(doc)
    # the override of gpt-4o also prices its dated snapshot
    assert got["SYSTEM_PROMPT"]["cost_per_call"] == pytest.approx(tokens.count(SYS, "gpt-4o") * 100.0 / 1e6)
    assert got["LOCAL_PROMPT"]["cost_per_call"] == pytest.approx(got["LOCAL_PROMPT"]["tokens"] * 0.5 / 1e6)
    r = run_cli("report", "app.py", "--format", "json", cwd=tmp_path)
    models = {m["model"]: m for m in r.json()["models"]}
    assert models["gpt-4o"]["input_price"] == 100.0
    # fields the override did not set come from the table
    assert models["gpt-4o"]["output_price"] == float(price_table()["models"]["gpt-4o"]["output"])


@pytest.mark.parametrize(
    "toml,fragment",
    [
        ("[tool.promptlint.models.gpt-4o]\ninptu = 1.0\n", "unknown field 'inptu'"),
        ("[tool.promptlint.models.gpt-4o]\ninput = 'cheap'\n", "models.gpt-4o.input"),
        ("[tool.promptlint.models.gpt-4o]\ncontext_window = -5\n", "models.gpt-4o.context_window"),
        ("[tool.promptlint]\nmax-cost-per-call = 'a lot'\n", "max-cost-per-call"),
    ],
)
def test_bad_model_and_budget_config_is_usage_error(tmp_path, run_cli, toml, fragment):
    (tmp_path / "app.py").write_text(app(("SYSTEM_PROMPT", SYS, "gpt-4o")))
    if not toml.startswith("[tool.promptlint]"):
        toml = "[tool.promptlint]\n" + toml
    (tmp_path / "pyproject.toml").write_text(toml)
    for cmd in ("check", "report"):
        r = run_cli(cmd, "app.py", cwd=tmp_path)
        assert r.exit_code == 2, (cmd, r.output)
        assert fragment in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------------------------------------- report


def _waste_project(tmp_path, toml="calls-per-day = 1000\n"):
    files = {
        "app.py": app(("SYSTEM_PROMPT", WORDY + SYS, "gpt-4o"), ("MINI_PROMPT", WORDY + USR, "gpt-4o-mini")),
        "prompts/notes.prompt.txt": USR + "\n",
    }
    write_project(tmp_path, files, toml)


def test_report_totals_rows_and_waste_by_rule(tmp_path, run_cli):
    _waste_project(tmp_path)
    check = run_cli("check", ".", "--format", "json", "--exit-zero", cwd=tmp_path).json()
    r = run_cli("report", ".", "--format", "json", cwd=tmp_path)
    assert r.exit_code == 0  # informational, even with findings
    rep = r.json()
    t = rep["totals"]
    prompts = check["prompts"]
    assert t["prompts"] == len(prompts) == 3
    assert t["tokens"] == sum(p["tokens"] for p in prompts)
    assert t["cost_per_call"] == pytest.approx(sum(p["cost_per_call"] for p in prompts))
    assert t["monthly_cost"] == pytest.approx(sum(p["monthly_cost"] for p in prompts))
    assert t["monthly_cost"] == pytest.approx(t["cost_per_call"] * 1000 * DAYS)
    # rows: most expensive per month first
    monthly = [row["monthly_cost"] for row in rep["prompts"]]
    assert monthly == sorted(monthly, reverse=True)
    assert rep["sorted_by"] == "monthly_cost" and rep["days_per_month"] == DAYS

    # waste by rule from the check diagnostics, priced at the prompt each finding sits in
    spans = [(p["path"], p["line"], p["end_line"], p) for p in prompts]
    expected = {}
    for d in check["diagnostics"]:
        if not d["tokens_wasted"]:
            continue
        (p,) = [p for path, l0, l1, p in spans if path == d["path"] and l0 <= d["line"] <= l1]
        e = expected.setdefault(d["code"], [0, 0, 0.0])
        e[0] += 1
        e[1] += d["tokens_wasted"]
        e[2] += d["tokens_wasted"] * input_price(p["model"]) / 1e6 * p["calls_per_day"] * DAYS
    assert {"PL301", "PL201"} <= set(expected)
    got = {w["code"]: w for w in rep["waste_by_rule"]}
    assert set(got) == set(expected)
    for code, (n, tok, monthly_cost) in expected.items():
        assert got[code]["findings"] == n and got[code]["tokens"] == tok
        assert got[code]["monthly_cost"] == pytest.approx(monthly_cost)
    assert t["waste_tokens"] == sum(e[1] for e in expected.values())
    assert t["waste_monthly"] == pytest.approx(sum(e[2] for e in expected.values()))
    # per-prompt waste adds up to the same total
    assert sum(row["waste_tokens"] for row in rep["prompts"]) == t["waste_tokens"]
    # top findings carry the lean rewrite of a fix
    fixed = [f for f in rep["top_findings"] if f["fix"]]
    assert fixed and all(e["before"] != e["after"] for f in fixed for e in f["fix"]["edits"])
    assert rep["as_of"] == str(price_table()["as-of"])


def _row_for(text, location):
    (line,) = [ln for ln in text.splitlines() if location in ln]
    return line


def test_report_text_markdown_and_json_show_the_same_numbers(tmp_path, run_cli):
    _waste_project(tmp_path)
    rep = run_cli("report", ".", "--format", "json", cwd=tmp_path).json()
    text = run_cli("report", ".", cwd=tmp_path).output
    md = run_cli("report", ".", "--format", "markdown", cwd=tmp_path).output
    assert md.count("\n| ") > 6 and "| --- |" in md.replace(" ---: |", " --- |")
    t = rep["totals"]
    for out, esc in ((text, ""), (md, "\\")):
        assert f"{esc}{money(t['cost_per_call'])}" in out
        assert f"{esc}{money(t['monthly_cost'])}" in out
        assert f"{t['tokens']:,} tokens" in out
        for row in rep["prompts"]:
            loc = f"{row['path']}:{row['line']}:{row['column']}"
            line = _row_for(out, loc)
            assert f"{esc}{money(row['cost_per_call'])}" in line
            assert f"{esc}{money(row['monthly_cost'])}" in line
            assert f"{row['tokens']:,}" in line
        for w in rep["waste_by_rule"]:
            line = _row_for(out, w["rule"])
            assert f"{w['tokens']:,}" in line and f"{esc}{money(w['monthly_cost'])}" in line
    assert rep["as_of"] in text and rep["as_of"] in md


def test_report_without_call_rates_sorts_by_cost_per_call_and_says_so(tmp_path, run_cli):
    _waste_project(tmp_path, toml="")
    rep = run_cli("report", ".", "--format", "json", cwd=tmp_path).json()
    assert rep["has_rates"] is False and rep["sorted_by"] == "cost_per_call"
    assert rep["totals"]["monthly_cost"] is None
    per_call = [row["cost_per_call"] for row in rep["prompts"]]
    assert per_call == sorted(per_call, reverse=True)
    text = run_cli("report", ".", cwd=tmp_path).output
    assert "No calls-per-day configured" in text and "$/MONTH" not in text
    # --calls-per-day sets the global rate for the run
    rep2 = run_cli("report", ".", "--format", "json", "--calls-per-day", "250", cwd=tmp_path).json()
    assert rep2["totals"]["monthly_cost"] == pytest.approx(rep["totals"]["cost_per_call"] * 250 * DAYS)


def test_report_marks_approximate_counts(tmp_path, run_cli):
    write_project(tmp_path, {"app.py": app(("SYSTEM_PROMPT", SYS, "claude-sonnet-4-5"))}, "calls-per-day = 100\n")
    rep = run_cli("report", "app.py", "--format", "json", cwd=tmp_path).json()
    row = rep["prompts"][0]
    assert row["approximate"] is True and row["model_key"] == "claude-sonnet-4-5"
    assert row["cost_per_call"] == pytest.approx(row["tokens"] * input_price("claude-sonnet-4-5") / 1e6)
    text = run_cli("report", "app.py", cwd=tmp_path).output
    line = _row_for(text, "app.py:")
    assert f"~{row['tokens']:,}" in line and f"~{money(row['monthly_cost'])}" in line
    assert "approximate" in text


def test_report_output_file_and_usage_errors(tmp_path, run_cli):
    _waste_project(tmp_path)
    r = run_cli("report", ".", "--format", "markdown", "-o", "spend.md", cwd=tmp_path)
    assert r.exit_code == 0 and r.output == ""
    assert (tmp_path / "spend.md").read_text().startswith("## promptlint spend report")
    r = run_cli("report", ".", "--format", "pdf", cwd=tmp_path)  # not a report format (html is: test_report_html.py)
    assert r.exit_code == 2
    r = run_cli("report", ".", "-o", "missing/dir/out.txt", cwd=tmp_path)
    assert r.exit_code == 2 and "cannot write" in r.stderr


# --------------------------------------------------------------------------------------------- budgets


def test_over_cost_budget_is_an_error_that_fails_ci(tmp_path, run_cli):
    big, small = cost(WORDY + SYS, "gpt-4o"), cost(USR, "gpt-4o")
    limit = (big + small) / 2  # between the two prompts' costs, from the table
    write_project(tmp_path, {"app.py": app(("BIG_PROMPT", WORDY + SYS, "gpt-4o"), ("SMALL_PROMPT", USR, "gpt-4o"))}, f"max-cost-per-call = {limit!r}\n")
    r = run_cli("check", "app.py", "--select", "over-cost-budget", "--format", "json", cwd=tmp_path)
    assert r.exit_code == 1
    (d,) = r.json()["diagnostics"]
    assert d["code"] == "PL103" and d["rule"] == "over-cost-budget" and d["severity"] == "error"
    assert "BIG_PROMPT" in d["message"] and money(big) in d["message"]
    n = tokens.count(WORDY + SYS, "gpt-4o")
    assert d["tokens_wasted"] == n - int(limit * 1e6 / input_price("gpt-4o"))
    assert run_cli("check", "app.py", "--select", "PL103", "--exit-zero", cwd=tmp_path).exit_code == 0
    # a ceiling above both: clean
    (tmp_path / "pyproject.toml").write_text(f"[tool.promptlint]\nmax-cost-per-call = {big * 1.01!r}\n")
    assert run_cli("check", "app.py", "--select", "PL103", cwd=tmp_path).exit_code == 0
    rep = run_cli("report", "app.py", "--format", "json", cwd=tmp_path).json()
    assert rep["budget"]["max_cost_per_call"] == pytest.approx(big * 1.01) and rep["budget"]["over_cost_prompts"] == 0


def test_over_cost_budget_ignores_models_without_price(tmp_path, run_cli):
    write_project(tmp_path, {"app.py": app(("LOCAL_PROMPT", WORDY + SYS, "acme-inhouse-llm"))}, "max-cost-per-call = 0.0\n")
    r = run_cli("check", "app.py", "--select", "PL103", cwd=tmp_path)
    assert r.exit_code == 0, r.output


def test_total_budget_over_under_and_unchecked(tmp_path, run_cli):
    files = {"app.py": app(("BIG_PROMPT", WORDY + SYS, "gpt-4o"), ("SMALL_PROMPT", USR, "gpt-4o-mini", 50))}
    monthly = cost(WORDY + SYS, "gpt-4o") * 2000 * DAYS + cost(USR, "gpt-4o-mini") * 50 * DAYS
    write_project(tmp_path, files, f"calls-per-day = 2000\n# monthly input budget in dollars\ntotal-budget = {monthly * 0.9!r}\n")
    r = run_cli("check", "app.py", "--select", "total-budget", "--format", "json", cwd=tmp_path)
    assert r.exit_code == 1
    (d,) = r.json()["diagnostics"]
    assert d["code"] == "PL104" and d["severity"] == "error"
    assert d["path"] == "pyproject.toml" and d["line"] == 4  # the total-budget line
    assert money(monthly) in d["message"] and "BIG_PROMPT" in d["message"]
    rep = run_cli("report", "app.py", "--format", "json", cwd=tmp_path).json()
    assert rep["budget"]["status"] == "over" and rep["budget"]["monthly_cost"] == pytest.approx(monthly)
    assert [f["code"] for f in rep["budget"]["findings"]] == ["PL104"]
    # under budget
    write_project(tmp_path, files, f"calls-per-day = 2000\ntotal-budget = {monthly * 1.1!r}\n")
    r = run_cli("check", "app.py", "--select", "total-budget", cwd=tmp_path)
    assert r.exit_code == 0 and "PL104" not in r.output
    # no call rates at all: nothing to check, a note rather than a finding
    files["app.py"] = app(("BIG_PROMPT", WORDY + SYS, "gpt-4o"))
    write_project(tmp_path, files, "total-budget = 0.0\n")
    r = run_cli("check", "app.py", "--select", "total-budget", cwd=tmp_path)
    assert r.exit_code == 0 and "cannot be checked" in r.stderr
    rep = run_cli("report", "app.py", "--format", "json", cwd=tmp_path).json()
    assert rep["budget"]["status"] == "unchecked"
    assert any("cannot be checked" in n for n in rep["notes"])


# ------------------------------------------------------------------------------- examples of the rules


def _config_rule_cases():
    from promptlint.rules import registry

    out = []
    for r in registry():
        if getattr(r, "example_host", None) != "config":
            continue
        for kind in ("valid", "invalid"):
            for i, ex in enumerate(getattr(r.examples, kind)):
                out.append((r, kind, i, ex))
    return out


def _toml_value(v):
    return json.dumps(v)


@pytest.mark.parametrize("rule,kind,i,example", _config_rule_cases(), ids=lambda x: getattr(x, "name", str(x))[:30])
def test_config_rule_examples(tmp_path, rule, kind, i, example):
    """Rules that need config (cost ceilings) run their examples with their `example_config`, as a prompt
    file and as a Python literal."""
    from promptlint import config as cfgmod
    from promptlint.pipeline import run

    toml = "[tool.promptlint]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in rule.example_config.items())
    (tmp_path / "pyproject.toml").write_text(toml)
    texts = example if isinstance(example, list) else [example]
    for host in ("template", "python"):
        for old in tmp_path.glob("p[0-9]*"):
            old.unlink()
        for k, t in enumerate(texts):
            if host == "template":
                (tmp_path / f"p{k}.prompt.txt").write_text(t, encoding="utf-8")
            else:
                (tmp_path / f"p{k}.py").write_text(app((f"P{k}_PROMPT", t, "gpt-4o")), encoding="utf-8")
        cfg = cfgmod.load([str(tmp_path)], None, {"select": (rule.code,)})
        res = run([str(tmp_path)], cfg)
        assert len(res.prompts) == len(texts)
        diags = [d for d in res.diagnostics if d.code == rule.code]
        assert (diags == []) if kind == "valid" else bool(diags), (host, [d.message for d in diags])


def test_examples_figures_are_consistent(run_cli):
    """The demo project: report totals equal the per-prompt sums of `check --format json`."""
    import os

    root = os.path.join(os.path.dirname(__file__), "..")
    check = run_cli("check", "examples", "--format", "json", "--exit-zero", cwd=root).json()
    rep = run_cli("report", "examples", "--format", "json", "--calls-per-day", "1000", cwd=root).json()
    assert rep["totals"]["prompts"] == len(check["prompts"])
    assert rep["totals"]["cost_per_call"] == pytest.approx(sum(p["cost_per_call"] or 0 for p in check["prompts"]))
    assert rep["totals"]["monthly_cost"] == pytest.approx(rep["totals"]["cost_per_call"] * 1000 * DAYS)
    assert sum(m["prompts"] for m in rep["models"]) == len(check["prompts"])
    assert re.match(r"\d{4}-\d{2}-\d{2}", rep["as_of"])
