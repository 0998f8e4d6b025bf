"""promptlint fix: encoded edits in every host, invariants with rollback, fixpoint, atomic faithful writes.

The first part is a harness over every rule that offers a fix and has ``examples.fixed`` pairs: each pair runs
through ``promptlint fix`` in several hosts (template file, Python literal, triple-quoted literal, f-string
with a placeholder, implicitly concatenated literal, JSON and YAML strings) and the fixed prompt text must be
the expected fixed text; a second run must change nothing. The rest pins the fixer's own behaviour with
small test-only rules.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap

import click
import pytest

from promptlint import config as cfgmod
from promptlint import fix as fixmod
from promptlint.pipeline import RuleContext, read_source, run
from promptlint.rules import registry
from promptlint.rules.base import Finding, Rule, TextEdit
from promptlint.types import LITERAL, Diagnostic, Edit, Fix, LineIndex, Prompt, Segment, SourceFile

WRAP = 'client.chat.completions.create(model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": %s}])\n'


# ============================================================================================== host builders


def py_quote(text: str, quote: str = '"') -> str:
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
        else:
            out.append(ch)
    return "".join(out)


def py_triple(text: str, fstring: bool = False) -> str:
    body = text.replace("\\", "\\\\").replace("\r", "\\r").replace('"', '\\"')
    if fstring:
        body = body.replace("{", "{{").replace("}", "}}")
    return body


def host_file(text: str, host: str, split=None):
    """(file name, content, the prompt text it holds)."""
    if host == "template":
        return "example.prompt.txt", text, text
    if host == "literal":
        return "example.py", WRAP % ('"' + py_quote(text) + '"'), text
    if host == "triple":
        return "example.py", WRAP % ('"""' + py_triple(text) + '"""'), text
    if host == "fstring":
        body = with_placeholder(text).replace("{name}", "\0")
        return "example.py", WRAP % ('f"""' + py_triple(body, True).replace("\0", "{name}") + '"""'), with_placeholder(text)
    if host == "concat":
        return "example.py", WRAP % ('("' + py_quote(text[:split]) + '"\n    "' + py_quote(text[split:]) + '")'), text
    if host == "json":
        return "example.json", json.dumps({"role": "user", "content": text}, ensure_ascii=False) + "\n", text
    if host == "yaml":
        return "example.yaml", "role: user\ncontent: " + json.dumps(text, ensure_ascii=False) + "\n", text
    raise AssertionError(host)


def with_placeholder(text: str) -> str:
    """The text with a placeholder appended on a line of its own (indented like the last line, before the
    trailing whitespace), so that it does not merge into the last sentence and no margin changes."""
    k = len(text.rstrip())
    last = text[: k].rsplit("\n", 1)[-1]
    return text[:k] + "\n" + last[: len(last) - len(last.lstrip())] + "{name}" + text[k:]


def findings_on(rule_cls, text: str):
    p = Prompt(path="x", text=text, segments=(Segment(LITERAL, 0, len(text), 0, len(text)),), start=0, end=len(text), line=1, column=1, end_line=1, end_column=1, source="template", model="gpt-4o")
    cfg = cfgmod.Config()
    src = SourceFile("x", "text", text)
    rule = rule_cls()
    return rule.check(p, RuleContext(p, cfg, src, rule))


def split_point(rule_cls, text: str):
    """Where to split a concatenated literal: not inside any finding's edit, and not at an insertion."""
    spans = [(e.start, e.end) for f in findings_on(rule_cls, text) for e in f.edits]
    for cand in list(range(len(text) // 2, len(text))) + list(range(len(text) // 2 - 1, 0, -1)):
        if all(not (a < cand < b) and not (a == b == cand) for a, b in spans):
            return cand
    return None


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def _main(ctx):
    from promptlint.cli import main

    main(ctx.args)


def cli(*args, cwd=None):
    """Run `promptlint ARGS` in-process; (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    old = os.getcwd()
    if cwd:
        os.chdir(cwd)
    try:
        r = CliRunner().invoke(_main, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)
    return r.exit_code, r.stdout, r.stderr if hasattr(r, "stderr") else ""


def fix_file(path, *args):
    return cli("fix", path, *args)


def prompts_of(path):
    cfg = cfgmod.load([str(path)], None, {"select": ("PL001",)})
    return [p.text for p in run([str(path)], cfg).prompts]


# ================================================================================== every rule's fixed pairs

HOSTS = ["template", "literal", "triple", "fstring", "concat", "json", "yaml"]
# rules whose fix of a passage depends on what follows it (duplicate-context also drops the separator before
# a duplicate that ends the prompt, and keeps it otherwise)
CONTEXT_DEPENDENT = {"duplicate-context"}


def _fixable_rules():
    return [r for r in registry() if r.fix and r.scope == "prompt" and r.examples.fixed]


FIX_CASES = [(r, i, pair, host) for r in _fixable_rules() for i, pair in enumerate(r.examples.fixed) for host in HOSTS]


def test_harness_has_cases():
    names = {r.name for r, *_ in FIX_CASES}
    assert "verbose-phrase" in names  # the lexical rule with fixed pairs is picked up


@pytest.mark.parametrize("rule,i,pair,host", FIX_CASES, ids=[f"{c[0].name}-{c[1]}-{c[3]}" for c in FIX_CASES])
def test_rule_fixed_example(tmp_path, rule, i, pair, host):
    invalid, fixed = pair
    split = None
    if host == "concat":
        split = split_point(rule, invalid)
        assert split, "no split point outside the edits"
    name, content, expected_before = host_file(invalid, host, split)
    path = tmp_path / name
    path.write_text(content, encoding="utf-8", newline="")
    assert prompts_of(path) == [expected_before], "the example must be extracted as exactly one prompt"
    args = ["--select", rule.code] + (["--unsafe-fixes"] if rule.fix == "unsafe" else [])
    code, out, err = fix_file(path, *args)
    assert "Traceback" not in out + err
    want = fixed
    if host == "fstring":
        # the placeholder is part of the text the rule sees: a rule may fix a passage differently when something
        # follows it. The same text in a plain text file (no encoding, no placeholder) says what it means.
        ref = tmp_path / "reference.prompt.txt"
        ref.write_text(with_placeholder(invalid), encoding="utf-8", newline="")
        fix_file(ref, *args)
        want = ref.read_text(encoding="utf-8")
        if want != with_placeholder(fixed):
            assert rule.name in CONTEXT_DEPENDENT, f"{rule.name}: the fix changes when a placeholder follows the text"
    assert prompts_of(path) == [want], f"{host}: {out}{err}\n{path.read_text(encoding='utf-8')}"
    assert "Fixed" in out
    # idempotent: a second run changes nothing
    data = path.read_bytes()
    fix_file(path, *args)
    assert path.read_bytes() == data
    if rule.fix == "unsafe":
        # unsafe fixes need --unsafe-fixes
        path.write_text(content, encoding="utf-8", newline="")
        fix_file(path, "--select", rule.code)
        assert path.read_text(encoding="utf-8") == content


# ====================================================================================== test-only rules


class SwapRule(Rule):
    """Replace every occurrence of ``old`` in a prompt's text with ``new`` (a prompt rule)."""

    code = "PL991"
    name = "test-swap"
    severity = "warning"
    summary = "test"
    fix = "safe"
    old = ""
    new = ""

    def check(self, prompt, ctx):
        out = []
        i = prompt.text.find(self.old)
        while i != -1:
            j = i + len(self.old)
            out.append(Finding(i, j, f"swap {self.old!r}", tokens_wasted=1, fix_applicability=self.fix, fix_message="swap", edits=(TextEdit(i, j, self.new),)))
            i = prompt.text.find(self.old, j)
        return out


def swap(old, new, fix="safe", code="PL991", name="test-swap"):
    return type("Swap", (SwapRule,), {"old": old, "new": new, "fix": fix, "code": code, "name": name})()


class CodeEditRule(Rule):
    """A file rule whose fix is a code edit: replace the first ``old`` in the file with ``new``."""

    code = "PL992"
    name = "test-code-edit"
    severity = "warning"
    summary = "test"
    fix = "unsafe"
    scope = "file"
    old = ""
    new = ""

    def check_file(self, ctx):
        i = ctx.source.text.find(self.old)
        if i == -1:
            return []
        j = i + len(self.old)
        return [ctx.diagnostic(i, j, "code edit", 1, Fix("unsafe", "edit", (Edit(i, j, self.new),), 1))]


def code_edit(old, new):
    return type("CodeEdit", (CodeEditRule,), {"old": old, "new": new})()


def write(tmp_path, name, content, newline=None):
    p = tmp_path / name
    p.write_text(textwrap.dedent(content) if newline is None else content, encoding="utf-8", newline="" if newline is None else newline)
    return p


def run_rules(path, rules, unsafe=True, write=True):
    cfg = cfgmod.load([str(path)], None, {})
    return fixmod.run_fix([str(path)], cfg, rules=rules, unsafe=unsafe, write=write)


def prompt_texts(path):
    return prompts_of(path)


def literal_value(path, index=0):
    """The evaluated value of the index-th string constant assigned or passed in the file (via ast)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    vals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value not in ("gpt-4o", "user", "role", "content", "system")]
    return vals[index]


# ============================================================================================ Python encoding

PY_CASES = [
    # (literal as written, old, new, expected prompt text after the fix)
    ('"Answer OLD now."', "OLD", 'with "quotes"', 'Answer with "quotes" now.'),
    ("'Answer OLD now.'", "OLD", "it's", "Answer it's now."),
    ('"""Answer the user. END"""', " END", ' "quoted"', 'Answer the user. "quoted"'),
    ("'''Answer the user. END'''", " END", " '''x'''", "Answer the user. '''x'''"),
    ('"Save to OLD."', "OLD", "C:\\new\\temp", "Save to C:\\new\\temp."),
    ('"Line one. OLD"', "OLD", "\nLine two.", "Line one. \nLine two."),
    ('"Answer.\\tOLD"', "OLD", "tab\there", "Answer.\ttab\there"),
    ('f"Hi {user}. OLD"', "OLD", "Use {json} braces.", "Hi {user}. Use {json} braces."),
    ('"Hi {user}. OLD".format(user=u)', "OLD", "Use {json}.", "Hi {user}. Use {json}."),
    ('"Hi %s. OLD" % u', "OLD", "100% sure.", "Hi %s. 100% sure."),
    ('("Answer the "\n    "user OLD.")', "OLD", "kindly", "Answer the user kindly."),
    ('u"Answer OLD."', "OLD", "\u00e9t\u00e9", "Answer \u00e9t\u00e9."),
]


@pytest.mark.parametrize("literal,old,new,expected", PY_CASES, ids=[c[0][:14] for c in PY_CASES])
def test_python_literals_are_encoded(tmp_path, literal, old, new, expected):
    before = WRAP % literal
    p = write(tmp_path, "app.py", before, newline="")
    rep = run_rules(p, [swap(old, new)])
    assert rep.applied()[("PL991", "test-swap")] == 1, fixmod.warnings_for(rep)
    assert prompt_texts(p) == [expected]
    after = p.read_text(encoding="utf-8")
    # only the literal's contents changed: the code around it and its quoting style are intact
    head, tail = before.split(literal)
    assert after.startswith(head) and after.endswith(tail)
    quote = literal.lstrip("(fu")[:3] if literal.lstrip("(fu").startswith(('"""', "'''")) else literal.lstrip("(fu")[0]
    assert after[len(head) :].lstrip("(fu").startswith(quote)
    import ast

    ast.parse(after)  # and it parses on this interpreter


def test_python_escape_value_is_exact(tmp_path):
    p = write(tmp_path, "app.py", WRAP % '"Path: OLD."', newline="")
    run_rules(p, [swap("OLD", 'C:\\temp\\"x"\n\x00end')])
    assert literal_value(p) == 'Path: C:\\temp\\"x"\n\x00end.'


def test_raw_string_that_cannot_hold_the_content_is_not_fixed(tmp_path):
    before = WRAP % 'r"Match \\d+ OLD."'
    p = write(tmp_path, "app.py", before, newline="")
    rep = run_rules(p, [swap("OLD", "C:\\dir")])
    assert p.read_text(encoding="utf-8") == before
    assert not rep.changed
    (d,) = [d for d in rep.result.diagnostics if d.code == "PL991"]
    assert d.fix is None  # the finding stays, shown as not fixable
    # content a raw string can hold is written as is
    rep = run_rules(p, [swap("OLD", "now")])
    assert prompt_texts(p) == ["Match \\d+ now."]
    assert 'r"Match \\d+ now."' in p.read_text(encoding="utf-8")


def test_unknown_escape_next_to_edit_is_refused_not_corrupted(tmp_path):
    # "\d" is kept verbatim by Python: inserting "n" after the backslash would turn it into a newline
    before = WRAP % '"A \\dOLD b"'
    p = write(tmp_path, "app.py", before, newline="")
    rep = run_rules(p, [swap("dOLD", "n")])
    assert p.read_text(encoding="utf-8") == before and not rep.changed
    (d,) = [d for d in rep.result.diagnostics if d.code == "PL991"]
    assert d.fix is None


def test_unencodable_character_is_escaped_in_a_latin1_file(tmp_path):
    src = "# -*- coding: latin-1 -*-\n" + WRAP % '"Caf\u00e9 prices OLD."'
    p = tmp_path / "app.py"
    p.write_bytes(src.encode("latin-1"))
    run_rules(p, [swap("OLD", "in \u20ac")])
    data = p.read_bytes()
    assert b"Caf\xe9" in data and b"\\u20ac" in data  # still latin-1; the euro sign spelled as an escape
    assert prompt_texts(p) == ["Caf\u00e9 prices in \u20ac."]


def test_code_edit_in_fstring_field_is_requoted_for_older_pythons(tmp_path):
    before = 'import json\nprompt = f"Data: {json.dumps(d, indent=2)}. Answer briefly."\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])\n'
    p = write(tmp_path, "app.py", before, newline="")
    rep = run_rules(p, [code_edit("indent=2", 'separators=(",", ":")')])
    assert rep.applied()[("PL992", "test-code-edit")] == 1, fixmod.warnings_for(rep)
    after = p.read_text(encoding="utf-8")
    assert "json.dumps(d, separators=(',', ':'))" in after
    compile(after, "app.py", "exec")  # parses before Python 3.12 too
    assert prompt_texts(p) == ["Data: {json.dumps(d, separators=(',', ':'))}. Answer briefly."]


# ================================================================================================ dedent


def test_dedented_literal_gets_its_margin_on_new_lines(tmp_path):
    before = 'import textwrap\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": textwrap.dedent("""\n    Answer briefly. OLD\n    Be polite.\n""")}])\n'
    p = write(tmp_path, "app.py", before, newline="")
    rep = run_rules(p, [swap(" OLD", "\nCite sources.")])
    assert rep.applied()
    assert prompt_texts(p) == ["\nAnswer briefly.\nCite sources.\nBe polite.\n"]
    assert "    Cite sources.\n" in p.read_text(encoding="utf-8")


def test_dedented_fstring_refuses_line_start_and_newline_edits(tmp_path):
    # textwrap.dedent(f"...") dedents after interpolation: with a multi-line value the margin moves, so an edit
    # that changes where lines start (or adds/removes lines) could change what the API receives.
    before = 'import textwrap\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": textwrap.dedent(f"""\n    Hello {name}. OLD\n      Be polite.   \n""")}])\n'
    p = write(tmp_path, "app.py", before, newline="")
    for rule in (swap("  Be", "Be"), swap(" OLD", "\nNew line."), swap("Hello", "  Hello")):
        rep = run_rules(p, [rule])
        assert not rep.changed, rule.old
        assert p.read_text(encoding="utf-8") == before
    # an edit inside a line that keeps every line's start is fine
    rep = run_rules(p, [swap("OLD", "Thanks.")])
    assert rep.changed
    assert prompt_texts(p) == ["\nHello {name}. Thanks.\n  Be polite.   \n"]


def test_indentation_waste_never_touches_runtime_dedented_fstring(tmp_path):
    before = 'import textwrap\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": textwrap.dedent(f"""\n        Hello {name}.\n        Be polite.\n""")}])\n'
    p = write(tmp_path, "app.py", before, newline="")
    cfg = cfgmod.load([str(p)], None, {})
    fixmod.run_fix([str(p)], cfg, unsafe=True)
    assert p.read_text(encoding="utf-8") == before


# ============================================================================== invariants and rollback


def _raw_encoder(monkeypatch):
    """Simulate an encoding bug: prompt text written into Python literals as is."""
    monkeypatch.setattr(fixmod.FileState, "_encode_python", lambda self, p, a, b, content, bac: Edit(a, b, content))


def test_rollback_when_evaluated_string_would_change(tmp_path, monkeypatch):
    _raw_encoder(monkeypatch)
    before = WRAP % '"Save to OLD."'
    p = write(tmp_path, "app.py", before, newline="")
    rep = run_rules(p, [swap("OLD", "C:\\new")])  # unescaped, "\n" would become a line break
    assert p.read_text(encoding="utf-8") == before
    ((d, reason),) = [x for f in rep.files for x in f.rolled_back]
    assert d.code == "PL991" and "would not read as the fix intends" in reason
    assert [d.code for d in rep.result.diagnostics] == ["PL991"]  # the finding stays


def test_rollback_when_file_would_not_parse(tmp_path, monkeypatch):
    _raw_encoder(monkeypatch)
    before = WRAP % '"Say OLD."'
    p = write(tmp_path, "app.py", before, newline="")
    rep = run_rules(p, [swap("OLD", 'it "loud"')])
    assert p.read_text(encoding="utf-8") == before
    ((_d, reason),) = [x for f in rep.files for x in f.rolled_back]
    assert "parse" in reason


def test_rollback_when_placeholders_would_change(tmp_path, monkeypatch):
    _raw_encoder(monkeypatch)
    before = WRAP % 'f"Hi {user}. OLD"'
    p = write(tmp_path, "app.py", before, newline="")
    rep = run_rules(p, [swap("OLD", "Use {user}.")])  # not doubled: a new replacement field
    assert p.read_text(encoding="utf-8") == before
    ((_d, reason),) = [x for f in rep.files for x in f.rolled_back]
    assert "placeholders would change" in reason


def test_rollback_when_code_outside_prompts_would_change(tmp_path, monkeypatch):
    before = "x = 1  # keep me\n" + WRAP % '"Say OLD."'
    p = write(tmp_path, "app.py", before, newline="")
    real = fixmod.FileState.plan

    def sneaky(self, d, blocked=()):
        f = real(self, d, blocked)
        k = self.text.index("keep")
        return fixmod.Planned(f.diag, tuple(sorted(f.edits + (Edit(k, k + 4, "drop"),), key=lambda e: e.start)), f.text_edits, f.ph_edits, f.key, f.code_edits)

    monkeypatch.setattr(fixmod.FileState, "plan", sneaky)
    rep = run_rules(p, [swap("OLD", "hi")])
    assert p.read_text(encoding="utf-8") == before
    ((_d, reason),) = [x for f in rep.files for x in f.rolled_back]
    assert "code outside the prompt text" in reason


def test_bad_code_edit_is_rolled_back_and_good_fix_kept(tmp_path):
    before = WRAP % '"Say OLD now."'
    p = write(tmp_path, "app.py", before, newline="")
    # a file rule whose code edit deletes the literal's closing quote, plus a good prompt fix
    rep = run_rules(p, [code_edit('"}])', "}])"), swap("OLD", "hello")])
    assert prompt_texts(p) == ["Say hello now."]
    rolled = [d.code for f in rep.files for d, _r in f.rolled_back]
    assert rolled == ["PL992"]
    assert [d.code for d in rep.result.diagnostics] == ["PL992"]


def test_rolled_back_fix_is_reported_by_the_cli(tmp_path, monkeypatch):
    _raw_encoder(monkeypatch)
    p = write(tmp_path, "app.py", WRAP % '"Please note that you should answer. C:"', newline="")
    monkeypatch.setattr("promptlint.rules.enabled_rules", lambda cfg: [swap("C:", "C:\\new")])
    code, out, err = cli("fix", p)
    assert "fix rolled back" in err and "PL991" in err
    assert "1 fix rolled back" in out
    assert code == 1  # the finding remains


# ========================================================================================= fixpoint


def test_fixpoint_and_idempotence_with_real_rules(tmp_path):
    src = (
        'SYSTEM = """\n'
        "        You are a support agent.   In order to help, read the order.   \n"
        "        It is very important that you never make up prices.\n"
        "\n\n\n\n\n"
        '        Due to the fact that users are busy, be brief.\n    """\n'
        'client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}])\n'
    )
    p = write(tmp_path, "app.py", src, newline="")
    code, out, err = fix_file(p, "--unsafe-fixes", "--select", "PL2,PL3")
    first = p.read_bytes()
    assert "Fixed" in out and first != src.encode()
    (text,) = prompt_texts(p)
    assert text == "\nYou are a support agent. To help, read the order.\nYou must never make up prices.\n\nBecause users are busy, be brief."
    code2, out2, _ = fix_file(p, "--unsafe-fixes", "--select", "PL2,PL3")
    assert p.read_bytes() == first  # a second run changes nothing
    assert "No fixes applied." in out2


def test_pass_limit_and_cycle_stop_cleanly(tmp_path):
    p = write(tmp_path, "app.py", WRAP % '"Answer X now."', newline="")
    # X -> Y and Y -> X: a cycle; the seen-state set stops it
    rep = run_rules(p, [swap("X", "Y", code="PL993", name="a"), swap("Y", "X", code="PL994", name="b")])
    assert any(not f.converged for f in rep.files)
    # growing text: the pass limit stops it
    p2 = write(tmp_path, "app2.py", WRAP % '"Answer X now."', newline="")
    rep = run_rules(p2, [swap("X", "XX")])
    (out,) = rep.files
    assert out.passes == fixmod.MAX_PASSES and not out.converged
    assert "did not reach a fixpoint" in " ".join(fixmod.warnings_for(rep))
    assert "XX" in prompt_texts(p2)[0]


# ============================================================================================ writing


def test_crlf_bom_and_mode_are_kept(tmp_path):
    src = 'SYSTEM = """Answer briefly.   \nIn order to help, read.\nOLD"""\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}])\n'
    p = tmp_path / "app.py"
    p.write_bytes(b"\xef\xbb\xbf" + src.replace("\n", "\r\n").encode("utf-8"))
    os.chmod(p, 0o754)
    rep = run_rules(p, [swap("OLD", "First.\nSecond."), *[r() for r in registry() if r.name in ("whitespace-waste", "verbose-phrase")]])
    data = p.read_bytes()
    assert rep.changed and data.startswith(b"\xef\xbb\xbf") and not data.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    body = data[3:]
    assert body.count(b"\n") == body.count(b"\r\n") and b"\r\r" not in body  # every line break is CRLF
    assert b"First.\r\nSecond." in body and b"To help" in body and b"briefly.   " not in body
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o754


def test_crlf_text_prompt_file(tmp_path):
    p = tmp_path / "a.prompt.txt"
    p.write_bytes(b"Answer briefly.\r\n\r\n\r\n\r\n\r\n\r\nIn order to help, read.   \r\n")
    code, out, err = fix_file(p, "--unsafe-fixes", "--select", "PL201,PL301")
    assert p.read_bytes() == b"Answer briefly.\r\n\r\nTo help, read.\r\n"


def test_read_only_file_is_reported_not_crashed_on(tmp_path):
    before = 'SYSTEM = "You are a helpful assistant.    Answer briefly."\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}])\n'
    p = write(tmp_path, "app.py", before, newline="")
    os.chmod(p, 0o444)
    try:
        code, out, err = fix_file(p)
    finally:
        os.chmod(p, 0o644)
    assert "read-only" in err and "Traceback" not in out + err
    assert p.read_text(encoding="utf-8") == before
    assert code == 1 and "No fixes applied." in out  # the finding remains


def test_diff_writes_nothing(tmp_path):
    before = 'SYSTEM = "You are a helpful assistant.    Answer briefly."\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}])\n'
    p = write(tmp_path, "app.py", before, newline="")
    mtime = os.stat(p).st_mtime_ns
    code, out, err = fix_file(p, "--diff")
    assert code == 1
    assert out.startswith(f"--- {p}\n+++ {p}\n@@")
    assert '-SYSTEM = "You are a helpful assistant.    Answer briefly."' in out
    assert '+SYSTEM = "You are a helpful assistant. Answer briefly."' in out
    assert "Would fix 1 finding in 1 file" in err
    assert p.read_text(encoding="utf-8") == before and os.stat(p).st_mtime_ns == mtime
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".promptlint-")]
    code, out, err = cli("check", p, "--diff")
    assert code == 1 and "+SYSTEM" in out and p.read_text(encoding="utf-8") == before
    # nothing to change: exit 0
    fix_file(p)
    code, out, err = fix_file(p, "--diff")
    assert code == 0 and out == ""


def test_interrupted_run_leaves_each_file_old_or_new(tmp_path, monkeypatch):
    before = 'SYSTEM = "You are a helpful assistant.    Answer briefly."\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}])\n'
    a = write(tmp_path, "a.py", before, newline="")
    b = write(tmp_path, "b.py", before, newline="")
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    cfg = cfgmod.load([str(tmp_path)], None, {})
    with pytest.raises(KeyboardInterrupt):
        fixmod.run_fix([str(a), str(b)], cfg)
    assert a.read_text(encoding="utf-8") != before  # new
    assert b.read_text(encoding="utf-8") == before  # old
    assert prompt_texts(a) == ["You are a helpful assistant. Answer briefly."]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".promptlint-")]


def test_symlink_stays_a_link(tmp_path):
    target = write(tmp_path, "real.py", 'SYSTEM = "You are a helpful assistant.    Answer briefly."\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}])\n', newline="")
    link = tmp_path / "link.py"
    link.symlink_to(target)
    fix_file(link)
    assert link.is_symlink()
    assert prompt_texts(target) == ["You are a helpful assistant. Answer briefly."]


NON_PROMPTS = '''"""Module docstring: in order to use this module, please note that it is very important that you read it."""
import logging
logger = logging.getLogger(__name__)
QUERY = "SELECT * FROM orders   WHERE id = %s  -- in order to find it"
PAGE = "<html><body>  In order to log in,   please make sure to   enable cookies.</body></html>"


def handler(order_id):
    """In order to handle it, it is very important that you call this."""
    logger.info("In order to retry,   please note that we wait.")
    if not order_id:
        raise ValueError("It is very important that you pass an id.   In order to continue.")
    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "In order to help,   answer briefly."}])
'''


def test_non_prompt_strings_are_byte_identical(tmp_path):
    p = write(tmp_path, "app.py", NON_PROMPTS, newline="")
    code, out, err = fix_file(p, "--unsafe-fixes")
    after = p.read_text(encoding="utf-8")
    assert prompt_texts(p) == ["To help, answer briefly."]
    old_lines, new_lines = NON_PROMPTS.splitlines(), after.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [i for i, (x, y) in enumerate(zip(old_lines, new_lines)) if x != y]
    assert changed == [len(old_lines) - 1]  # only the line of the prompt


# ==================================================================================== templates and data


def test_yaml_block_scalar_new_lines_keep_the_indentation(tmp_path):
    p = write(tmp_path, "agents.yaml", "researcher:\n  role: Researcher\n  backstory: |\n    You read sources. OLD\n    You cite them.\n  llm: gpt-4o\n", newline="")
    rep = run_rules(p, [swap(" OLD", "\nYou check dates.")])
    assert rep.applied(), fixmod.warnings_for(rep)
    assert "    You read sources.\n    You check dates.\n    You cite them.\n" in p.read_text(encoding="utf-8")
    assert prompt_texts(p) == ["You read sources.\nYou check dates.\nYou cite them.\n"]


def test_yaml_line_join_removes_the_next_lines_indentation(tmp_path):
    p = write(tmp_path, "agents.yaml", "researcher:\n  role: Researcher\n  backstory: |\n    You read sources\n    and cite them.\n", newline="")
    run_rules(p, [swap("sources\nand", "sources and")])
    assert prompt_texts(p) == ["You read sources and cite them.\n"]
    assert "    You read sources and cite them.\n" in p.read_text(encoding="utf-8")


def test_yaml_quoted_and_plain_scalars(tmp_path):
    p = write(tmp_path, "chat.yaml", 'role: user\ncontent: "Answer OLD now."\n', newline="")
    run_rules(p, [swap("OLD", 'with "care"\nand')])
    assert prompt_texts(p) == ['Answer with "care"\nand now.']
    p2 = write(tmp_path, "chat2.yaml", "role: user\ncontent: Answer the user OLD now.\n", newline="")
    rep = run_rules(p2, [swap("OLD", "key: value")])  # would turn the scalar into a mapping
    assert not rep.changed and prompt_texts(p2) == ["Answer the user OLD now."]
    rep = run_rules(p2, [swap("OLD", "very")])
    assert prompt_texts(p2) == ["Answer the user very now."]


def test_json_string_escaping(tmp_path):
    p = write(tmp_path, "chat.json", '{"role": "user", "content": "Answer OLD now.\\nBe \\"brief\\"."}\n', newline="")
    run_rules(p, [swap("OLD", 'with "care"\tand\\')])
    assert prompt_texts(p) == ['Answer with "care"\tand\\ now.\nBe "brief".']
    assert json.loads(p.read_text(encoding="utf-8"))["content"] == 'Answer with "care"\tand\\ now.\nBe "brief".'


@pytest.mark.parametrize("name", ["triage.j2", "note.prompt.txt"])
def test_templates_never_get_new_jinja_delimiters(tmp_path, name):
    before = "Reply as JSON: {OLD\"queue\": 1}. Customer: {{ name }}.\n" if name.endswith(".j2") else "Reply as JSON: {OLD\"queue\": 1}.\n"
    p = write(tmp_path, name, before, newline="")
    rep = run_rules(p, [swap("OLD", "{")])  # would create "{{"
    assert p.read_text(encoding="utf-8") == before and not rep.changed
    rep = run_rules(p, [swap("OLD", "")])  # "{" next to '"': fine
    assert p.read_text(encoding="utf-8") == before.replace("OLD", "")


def test_jinja_template_fix_keeps_tags(tmp_path):
    before = "{# header #}\nIn order to route it, read:\n{% if vip %}Please make sure to be fast.{% endif %}\n{{ ticket.body }}\n"
    p = write(tmp_path, "triage.j2", before, newline="")
    fix_file(p, "--unsafe-fixes", "--select", "PL201,PL301")
    assert p.read_text(encoding="utf-8") == "{# header #}\nTo route it, read:\n{% if vip %}Be fast.{% endif %}\n{{ ticket.body }}\n"


def test_notebooks_are_reported_not_rewritten(tmp_path):
    nb = {
        "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": ['client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "In order to help,    answer."}])\n']}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    p = tmp_path / "demo.ipynb"
    p.write_text(json.dumps(nb), encoding="utf-8")
    before = p.read_bytes()
    code, out, err = fix_file(p, "--unsafe-fixes")
    assert "Traceback" not in out + err
    assert p.read_bytes() == before


# ================================================================================ reports and the CLI

CLAIMS = (
    'SYSTEM = "You are a helpful assistant.    Answer briefly."\n'
    'USER = "In order to help, read the text. Due to the fact that it is long, skim."\n'
    'RAW = r"In order to match \\d+, read it."\n'
    'client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}, {"role": "user", "content": RAW}])\n'
)
# deleting the phrase would create "{{" in a template: reported, but not fixable
UNFIXABLE = "Reply as JSON {please note that {x: 1}} and be brief.\n"


def test_check_claims_match_what_fix_does(tmp_path):
    write(tmp_path, "app.py", CLAIMS, newline="")
    write(tmp_path, "note.prompt.txt", UNFIXABLE, newline="")
    sel = ("--select", "PL201,PL301")
    code, out, err = cli("check", tmp_path, *sel)
    assert "[*] 1 fixable with `promptlint fix`; 3 more with `promptlint fix --unsafe-fixes`." in out
    assert sum(1 for ln in out.splitlines() if " [*] " in ln) == 1
    assert "note.prompt.txt:1:16: PL301 'please note that' can be removed" in out
    code, out, err = cli("check", tmp_path, "--unsafe-fixes", *sel)
    assert "[*] 4 fixable with `promptlint fix --unsafe-fixes`." in out
    assert "note.prompt.txt:1:16: PL301 'please" in out  # no [*]: it cannot be written safely
    code, out, err = cli("fix", tmp_path, *sel)
    assert "Fixed 1 finding in 1 file (PL201 whitespace-waste 1)." in out
    assert "4 findings remain (3 with `promptlint fix --unsafe-fixes`)." in out
    code, out, err = cli("fix", tmp_path, "--unsafe-fixes", *sel)
    assert "Fixed 3 findings in 1 file (PL301 verbose-phrase 3)." in out
    assert "1 finding remains." in out and code == 1
    assert (tmp_path / "note.prompt.txt").read_text(encoding="utf-8") == UNFIXABLE


def test_fix_summary_reports_tokens_and_remaining(tmp_path):
    from promptlint.tokens import count, tokenizer_for

    p = write(tmp_path, "app.py", CLAIMS, newline="")
    before = {t for t in prompt_texts(p)}
    code, out, err = fix_file(p, "--unsafe-fixes")
    after = {t for t in prompt_texts(p)}
    tok = tokenizer_for("gpt-4o")
    b = sum(count(t, tok) for t in before - after)
    a = sum(count(t, tok) for t in after - before)
    assert f"Tokens per call: {b:,} -> {a:,} ({a - b:+,}" in out
    assert "in 3 changed prompts." in out


def test_check_fix_writes_and_reports_what_remains(tmp_path):
    p = write(tmp_path, "app.py", CLAIMS, newline="")
    code, out, err = cli("check", p, "--fix", "--select", "PL201,PL301")
    assert "Fixed 1 finding in 1 file" in out
    assert "PL201" not in out.split("Fixed")[0]  # the fixed finding is not listed
    assert "PL301" in out and code == 1
    assert prompt_texts(p)[0] == "You are a helpful assistant. Answer briefly."


def test_fix_json_output(tmp_path):
    p = write(tmp_path, "app.py", CLAIMS, newline="")
    code, out, err = fix_file(p, "--unsafe-fixes", "--format", "json", "--select", "PL201,PL301")
    doc = json.loads(out)
    assert {"version", "files_scanned", "prompts", "diagnostics", "summary", "fix"} <= set(doc)
    f = doc["fix"]
    assert f["applied"] == 4 and f["applied_by_rule"] == {"PL201": 1, "PL301": 3}
    assert f["files_changed"] == [str(p)] and f["tokens_saved"] == f["tokens_before"] - f["tokens_after"] > 0
    assert f["rolled_back"] == [] and f["diff"] is False


def _apply_json_edits(text, edits):
    idx = LineIndex(text)
    spans = [(idx.offset(e["line"], e["column"]), idx.offset(e["end_line"], e["end_column"]), e["content"]) for e in edits]
    out, pos = [], 0
    for a, b, c in sorted(spans):
        out.append(text[pos:a])
        out.append(c)
        pos = b
    out.append(text[pos:])
    return "".join(out)


@pytest.mark.parametrize("bom,newline", [(False, "\n"), (True, "\r\n")])
def test_json_edits_have_file_positions_and_encoded_content(tmp_path, bom, newline):
    src = '# caf\u00e9 \u00e9t\u00e9 \U0001F600\nSYSTEM = "You are a helpful assistant.    In order to help, say \\"hi\\"."\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}])\n'
    src = src.replace("\n", newline)
    p = tmp_path / "app.py"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + src.encode("utf-8"))
    code, out, err = cli("check", p, "--format", "json", "--select", "PL201,PL301")
    doc = json.loads(out)
    fixes = [d["fix"] for d in doc["diagnostics"] if d["fix"]]
    assert len(fixes) == 2
    for f in fixes:
        assert {"applicability", "message", "tokens_saved", "edits"} <= set(f)
        for e in f["edits"]:
            assert {"line", "column", "end_line", "end_column", "content"} == set(e)
            assert e["line"] == 2
    text = read_source(str(p), "python").text
    expected = _apply_json_edits(text, [e for f in fixes for e in f["edits"]])
    fix_file(p, "--unsafe-fixes", "--select", "PL201,PL301")
    assert read_source(str(p), "python").text == expected


def test_fix_and_check_help_mention_the_options(tmp_path):
    code, out, err = cli("fix", "-h")
    assert "--unsafe-fixes" in out and "--diff" in out
    code, out, err = cli("check", "-h")
    assert "--fix" in out and "--unsafe-fixes" in out and "--diff" in out


# ======================================================================================== property test

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ALPHABET = st.sampled_from(list("ab  .,:;'\"\\{}%#\n\t\r\x00") + ["\u00e9", "\u20ac", "\u200b", "\U0001F600", "OL", "D"])
_HOSTS = {
    "double": ('"Start OLD end."', "Start {} end."),
    "single": ("'Start OLD end.'", "Start {} end."),
    "triple": ('"""Start\nOLD"""', "Start\n{}"),
    "triple1": ("'''Start OLD'''", "Start {}"),
    "fstring": ('f"Start {x} OLD end."', "Start {{x}} {} end."),
    "format": ('"Start {x} OLD end.".format(x=1)', "Start {{x}} {} end."),
    "percent": ('"Start %s OLD end." % x', "Start %s {} end."),
    "concat": ('("Start OLD "\n    "end.")', "Start {} end."),
}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(new=st.lists(_ALPHABET, max_size=8).map("".join), host=st.sampled_from(sorted(_HOSTS)))
def test_any_text_is_written_exactly_or_not_at_all(tmp_path, new, host):
    """Whatever the new text, the literal either reads exactly that afterwards, or the file is unchanged."""
    if "OLD" in new:
        return
    literal, shape = _HOSTS[host]
    before = WRAP % literal
    p = tmp_path / f"{host}.py"
    p.write_text(before, encoding="utf-8", newline="")
    rep = run_rules(p, [swap("OLD", new)])
    expected = shape.replace("{{x}}", "\ue000").format(new).replace("\ue000", "{x}")
    if rep.changed:
        assert prompt_texts(p) == [expected]
        import ast

        ast.parse(p.read_text(encoding="utf-8"))
    else:
        assert p.read_text(encoding="utf-8") == before
        old_text = shape.replace("{{x}}", "\ue000").format("OLD").replace("\ue000", "{x}")
        created = fixmod._creates(old_text, expected, fixmod._JINJA_OPEN)
        assert created, f"refused without a reason: {new!r} in {host}"


def test_string_table_fast_scan_matches_libcst():
    """The tokenize scan (with f-strings parsed alone) finds the same literals as a full libcst parse, and falls
    back to libcst for syntax this Python's tokenizer reads differently (nested same quotes, 3.12)."""
    srcs = [
        NON_PROMPTS,
        'x = f"a {b!r:>{w}} c" "d" f\'\'\'{g}\n\'\'\'\nb = rb"e"\ny = u"h" R"\\d"\n',
        'x = f"{d["a"]} and {y}"\nz = "plain"\n',
    ]
    key = lambda r: (r.start, r.end, r.tok_start, r.fstring, r.raw, r.quote)  # noqa: E731
    for src in srcs:
        fast = fixmod._PyTable(src)
        full = fixmod._PyTable.__new__(fixmod._PyTable)
        full.regions, full.exprs = [], []
        full._from_cst(src, 0)
        assert sorted(set(map(key, fast.regions))) == sorted(set(map(key, full.regions)))
        assert sorted((x.start, x.end) for x in set(fast.exprs)) == sorted((x.start, x.end) for x in set(full.exprs))


@pytest.mark.parametrize(
    "name,src,old,expected",
    [
        (
            "app.py",
            'import textwrap\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": textwrap.dedent("""\n    Answer briefly.\n    Drop this line.\n    Be polite.\n""")}])\n',
            "Drop this line.\n",
            "\nAnswer briefly.\nBe polite.\n",
        ),
        (
            "app.py",
            'import textwrap\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": textwrap.dedent("""    Drop this line.\n    Answer briefly.\n      Be polite.\n""")}])\n',
            "Drop this line.\n",
            "Answer briefly.\n  Be polite.\n",
        ),
        ("agents.yaml", "researcher:\n  role: Researcher\n  backstory: |\n    You read sources.\n    Drop this line.\n    You cite them.\n", "Drop this line.\n", "You read sources.\nYou cite them.\n"),
    ],
)
def test_deleting_whole_lines_takes_their_margin(tmp_path, name, src, old, expected):
    p = write(tmp_path, name, src, newline="")
    rep = run_rules(p, [swap(old, "")])
    assert rep.changed, fixmod.warnings_for(rep)
    assert prompt_texts(p) == [expected]


def test_blank_line_run_in_a_dedented_prompt(tmp_path):
    src = 'import textwrap\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": textwrap.dedent("""\n    Answer briefly.\n      \n\n        \n\n    Be polite.\n""")}])\n'
    p = write(tmp_path, "app.py", src, newline="")
    rep = run_rules(p, [swap("\n\n\n\n\n", "\n\n")])  # whitespace-only lines are blank once dedented
    assert rep.changed, fixmod.warnings_for(rep)
    assert prompt_texts(p) == ["\nAnswer briefly.\n\nBe polite.\n"]
    assert not [x for f in rep.files for x in f.rolled_back]


class _EditRule(Rule):
    """Apply one text edit to a prompt that still reads ``orig``."""

    code = "PL995"
    name = "test-edit"
    severity = "warning"
    summary = "test"
    fix = "safe"
    ta = tb = 0
    new = orig = ""

    def check(self, prompt, ctx):
        if prompt.text != self.orig:
            return []
        return [Finding(self.ta, self.tb, "edit", 1, "safe", "edit", (TextEdit(self.ta, self.tb, self.new),))]


_MARGIN_HOSTS = {
    "dedent": ("app.py", 'import textwrap\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": textwrap.dedent("""\n    Alpha beta.\n      Gamma.\n\n    Delta eps.\n""")}])\n'),
    "dedent-first-line": ("app.py", 'import textwrap\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": textwrap.dedent("""    Alpha beta.\n      Gamma.\n    \n    Delta eps.""")}])\n'),
    "yaml-block": ("a.yaml", "agent:\n  role: Researcher\n  backstory: |\n    Alpha beta.\n      Gamma.\n\n    Delta eps.\n  llm: gpt-4o\n"),
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=st.sampled_from(sorted(_MARGIN_HOSTS)), a=st.integers(0, 40), n=st.integers(0, 12), new=st.lists(st.sampled_from(["x", " ", "\n", "yz"]), max_size=4).map("".join))
def test_margin_hosts_any_edit_is_exact_or_not_at_all(tmp_path, host, a, n, new):
    """Prompts whose margin is not text (dedented literals, YAML block scalars): any edit of the text is
    either written so that the text reads exactly the edited text, or not written (refused / rolled back)."""
    name, src = _MARGIN_HOSTS[host]
    p = tmp_path / name
    p.write_text(src, encoding="utf-8", newline="")
    (text,) = prompt_texts(p)
    if a + n > len(text):
        return
    rule = type("E", (_EditRule,), {"ta": a, "tb": a + n, "new": new, "orig": text})()
    rep = run_rules(p, [rule])
    if rep.changed:
        assert prompt_texts(p) == [text[:a] + new + text[a + n :]]
    else:
        assert p.read_text(encoding="utf-8") == src
