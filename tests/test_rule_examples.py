"""Every rule's examples, in every host, through the real pipeline.

Prompt rules run in five hosts: a template file, a Python literal, a triple-quoted literal, an f-string with
a placeholder and an implicitly concatenated literal. Invalid examples must be reported in every host, valid
ones never, and every diagnostic must land on the file text that holds the reported prompt text.
"""

import re

import pytest

from promptlint import config as cfgmod
from promptlint.extract.units import decode_body, units_text
from promptlint.pipeline import run
from promptlint.rules import registry
from promptlint.rules._text import apply_edits

HOSTS = ["template", "literal", "triple", "fstring", "concat"]


def _rules(host_kind):
    out = []
    for r in registry():
        h = getattr(r, "example_host", "prompt")
        if r.scope == "prompt" and h == "prompt" and host_kind == "prompt":
            out.append(r)
        elif h == host_kind:
            out.append(r)
    return out


def py_quote(text, quote='"', fstring=False):
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + quote)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif fstring and ch in "{}":
            out.append(ch * 2)
        else:
            out.append(ch)
    return "".join(out)


def triple(text, fstring=False):
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').replace("\r", "\\r")
    if fstring:
        body = body.replace("{", "{{").replace("}", "}}")
    if body.endswith('"'):
        body = body[:-1] + '\\"'
    return body


def host_source(text, host, split=None):
    """(file name, file content, expected prompt text)."""
    wrap = 'client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": %s}])\n'
    if host == "template":
        return "example.prompt.txt", text, text
    if host == "literal":
        return "example.py", wrap % ('"' + py_quote(text) + '"'), text
    if host == "triple":
        return "example.py", wrap % ('"""' + triple(text) + '"""'), text
    if host == "fstring":
        body = text.rstrip()
        tail = text[len(body) :]
        return "example.py", wrap % ('f"""' + triple(body, fstring=True) + "{name}" + triple(tail) + '"""'), body + "{name}" + tail
    if host == "concat":
        a, b = text[:split], text[split:]
        return "example.py", wrap % ('("' + py_quote(a) + '"\n    "' + py_quote(b) + '")'), text


def lint_one(tmp_path, name, content, rule):
    p = tmp_path / name
    p.write_text(content, encoding="utf-8", newline="")
    cfg = cfgmod.load([str(p)], None, {"select": (rule.code,)})
    return run([str(p)], cfg)


def decode(slice_, host):
    if host == "template":
        return slice_
    return units_text(decode_body(slice_, 0, raw=False, fstring_text=(host == "fstring")))


def split_point(rule, text):
    """A point to split a concatenated literal that no finding or edit crosses."""
    from promptlint.pipeline import RuleContext  # noqa: F401

    spans = [(f.start, f.end) for f in plain_findings(rule, text)]
    for f in plain_findings(rule, text):
        spans += [(e.start, e.end) for e in f.edits]
    for cand in list(range(len(text) // 2, len(text))) + list(range(len(text) // 2, 0, -1)):
        if all(not (a < cand < b) and not (a == b == cand) for a, b in spans):
            return cand
    return None


def plain_findings(rule, text):
    from promptlint.measure import Counter
    from promptlint.types import LITERAL, Prompt, Segment

    p = Prompt(path="x", text=text, segments=(Segment(LITERAL, 0, len(text), 0, len(text)),), start=0, end=len(text), line=1, column=1, end_line=1, end_column=1, source="template", model="gpt-4o")

    class Ctx:
        cfg = cfgmod.Config()

        def count(self, t):
            return Counter("gpt-4o").count(t)

    inst = rule()
    return inst.check(p, Ctx())


PROMPT_CASES = [
    (r, kind, i, text, host)
    for r in _rules("prompt")
    for kind in ("valid", "invalid")
    for i, text in enumerate(getattr(r.examples, kind))
    for host in HOSTS
]


@pytest.mark.parametrize("rule,kind,i,text,host", PROMPT_CASES, ids=[f"{c[0].name}-{c[1]}{c[2]}-{c[4]}" for c in PROMPT_CASES])
def test_prompt_rule_example(tmp_path, rule, kind, i, text, host):
    split = None
    if host == "concat":
        split = split_point(rule, text)
        if split is None or split == 0:
            pytest.skip("no split point outside the findings")
    name, content, expected_text = host_source(text, host, split)
    res = lint_one(tmp_path, name, content, rule)
    assert [p.text for p in res.prompts] == [expected_text], "the example must be extracted as one prompt"
    diags = [d for d in res.diagnostics if d.code == rule.code]
    if kind == "valid":
        assert diags == [], f"valid example reported: {[d.message for d in diags]}"
        return
    assert diags, f"invalid example not reported in host {host}"
    file_text = (tmp_path / name).read_text(encoding="utf-8")
    prompt = res.prompts[0]
    # the spans: every diagnostic's file text decodes to the prompt text a finding names
    findings = plain_findings(rule, prompt.text)
    expected_slices = {prompt.text[f.start : f.end] for f in findings if not f.whole_prompt}
    for d in diags:
        got = decode(file_text[d.start : d.end], host if host != "concat" else "literal")
        if expected_slices:
            assert got in expected_slices, (got, expected_slices)


FIXED_CASES = [(r, i, a, b) for r in _rules("prompt") for i, (a, b) in enumerate(r.examples.fixed)]


@pytest.mark.parametrize("rule,i,before,after", FIXED_CASES, ids=[f"{c[0].name}-{c[1]}" for c in FIXED_CASES])
def test_fixed_examples_at_text_level(rule, i, before, after):
    findings = plain_findings(rule, before)
    edits = [e for f in findings for e in f.edits]
    assert edits, "a fixed example needs a fix"
    assert apply_edits(before, edits) == after


PY_CASES = [(r, kind, i, code) for r in _rules("python") for kind in ("valid", "invalid") for i, code in enumerate(getattr(r.examples, kind))]


@pytest.mark.parametrize("rule,kind,i,code", PY_CASES, ids=[f"{c[0].name}-{c[1]}{c[2]}" for c in PY_CASES])
def test_python_rule_example(tmp_path, rule, kind, i, code):
    res = lint_one(tmp_path, "example.py", code, rule)
    diags = [d for d in res.diagnostics if d.code == rule.code]
    if kind == "valid":
        assert diags == [], [d.message for d in diags]
    else:
        assert diags


PROJECT_CASES = [(r, kind, i, texts) for r in _rules("project") for kind in ("valid", "invalid") for i, texts in enumerate(getattr(r.examples, kind))]


@pytest.mark.parametrize("rule,kind,i,texts", PROJECT_CASES, ids=[f"{c[0].name}-{c[1]}{c[2]}" for c in PROJECT_CASES])
def test_project_rule_example(tmp_path, rule, kind, i, texts):
    for k, t in enumerate(texts):
        (tmp_path / f"p{k}.prompt.txt").write_text(t, encoding="utf-8")
    cfg = cfgmod.load([str(tmp_path)], None, {"select": (rule.code,)})
    res = run([str(tmp_path)], cfg)
    diags = [d for d in res.diagnostics if d.code == rule.code]
    assert (diags == []) if kind == "valid" else bool(diags)


# ------------------------------------------------------------------------------------------- meta


def test_codes_and_names_unique_and_well_formed():
    rules = list(registry())
    codes = [r.code for r in rules]
    names = [r.name for r in rules]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
    for r in rules:
        assert re.fullmatch(r"PL\d{3}", r.code), r.code
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.name), r.name
        assert r.severity in ("info", "warning", "error")
        assert r.summary


def test_every_rule_has_docs_sections():
    for r in registry():
        d = r.docs
        assert d is not None, r.name
        for section in ("what", "why", "example", "fix_safety"):
            assert getattr(d, section).strip(), f"{r.name}: empty {section}"
        text = r().doc_text()
        for head in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
            assert head in text


def test_every_checking_rule_has_examples():
    special = {"syntax-error", "unreadable-file", "over-budget", "context-window"}
    for r in registry():
        if r.name in special:
            continue
        assert r.examples.valid and r.examples.invalid, f"{r.name} needs valid and invalid examples"
        if r.fix and getattr(r, "example_host", "prompt") == "prompt":
            assert r.examples.fixed, f"{r.name} is fixable and needs invalid->fixed examples"
