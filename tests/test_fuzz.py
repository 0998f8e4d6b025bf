"""Property tests: arbitrary programs and arbitrary prompt texts, in every host, through extraction and fix.

1. hypothesmith-generated Python programs (with a fixable prompt appended) go through ``check`` and
   ``fix --unsafe-fixes``: no exception, the fixed file still parses, placeholders are unchanged, a second fix
   changes nothing, and the code outside the prompt literal is byte-identical.
2. hypothesis-generated prompt texts (any Unicode outside surrogates, astral characters, braces, quotes,
   backslashes, Jinja-looking text, whitespace runs, invisible characters, verbose phrases) inside every
   host: Python literals of every kind, template files (.prompt.txt, .j2) and a YAML block scalar.
   Extraction must give exactly the string the program (or file) delivers, computed independently
   (``eval`` of the literal expression, ``yaml.safe_load``, the text itself); ``fix --unsafe-fixes`` keeps the
   file parsing, the evaluated string's placeholders unchanged, agrees with re-extraction, and is
   idempotent.

Everything runs in-process on in-memory sources (``pipeline.decode_source`` -> ``lint_source`` /
``fix.fix_source``), derandomized and without an example database, so CI sees the same examples every run.
"""

from __future__ import annotations

import ast
import string
import textwrap
import warnings
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from promptlint import config as cfgmod
from promptlint import fix as fixmod
from promptlint import pipeline
from promptlint.rules import enabled_rules
from promptlint.types import PLACEHOLDER

CFG = cfgmod.from_table({}, None)
RULES = enabled_rules(CFG)
SENT = "\ue000"  # stands for a placeholder's value when the host program is evaluated

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

# ============================================================================================ prompt texts

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u2063", "\u202e"]
FRAGMENTS = [
    "{{ x }}", "{{x}}", "{% if x %}", "{% endif %}", "{# note #}", "{x}", "{0}", "{", "}", "{{", "}}", "%s", "%(a)s", "%",
    "\\", "\\n", "\\\\", '"', "'", '"""', "'''", "\\'",
    " ", "  ", "    ", "\t", "\n", "\n\n\n\n\n", "   \n", " \t\n", "\n    ", "\r\n",
    "Please note that", "In order to", "It is important to note that", "due to the fact that", "You must always",
    '{\n    "answer": 1,\n    "items": [\n        2\n    ]\n}',
    "\U0001F600", "\U0001D518", "\U0010FFFD", "é", "中文", "עברית", "\u0301", "\u2028", "\u0085", "\x0c", "\x1b",
]
_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00" + SENT)


WASTE = ["Please note that ", "In order to", "   \n", "\n\n\n\n\n", "  ", "\u200b", "\ufeff", '{\n    "a": 1,\n    "b": [\n        2\n    ]\n}']


def texts(exclude: str = "", categories=("Cs",)) -> st.SearchStrategy:
    """Prompt texts assembled from risky fragments and arbitrary characters, most with some waste in them (so
    that fixes have work to do)."""
    frags = [f for f in FRAGMENTS + INVISIBLE if not any(c in f for c in exclude)]
    waste = [w for w in WASTE if not any(c in w for c in exclude)]
    chars = st.characters(exclude_categories=categories, exclude_characters="\x00\ufffe\uffff" + SENT + exclude)
    word = st.text(alphabet=chars, max_size=10)
    part = st.lists(st.one_of(st.sampled_from(frags), word), min_size=0, max_size=7).map("".join)
    return st.tuples(part, st.one_of(st.just(""), st.sampled_from(waste)), part).map("".join)


# ============================================================================================ Python hosts

WRAP = (
    "import textwrap\n"
    "from openai import OpenAI\n"
    "client = OpenAI()\n"
    'resp = client.chat.completions.create(model="gpt-4o", max_tokens=100, messages=[{"role": "system", "content": %s}])\n'
)
PREFIX, SUFFIX = WRAP.split("%s")


def esc(text: str, quote: str, triple: bool = False, braces: bool = False) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + ch)  # every quote escaped: no run of three can close a triple-quoted literal
        elif ch == "\n":
            out.append("\n" if triple else "\\n")
        elif ch == "\r":
            out.append("\\r")
        elif (ord(ch) < 32 and ch != "\t") or ord(ch) == 0x7F:
            out.append("\\x%02x" % ord(ch))
        elif braces and ch in "{}":
            out.append(ch * 2)
        else:
            out.append(ch)
    return "".join(out)


def raw_ok(text: str) -> bool:
    if any(c in text for c in "\"\n\r") or any((ord(c) < 32 and c != "\t") or ord(c) == 0x7F for c in text):
        return False
    trailing = len(text) - len(text.rstrip("\\"))
    return trailing % 2 == 0


def python_host(kind: str, text: str, cut: int) -> tuple:
    """(content expression source, the placeholder spellings it has)."""
    a, b = text[:cut], text[cut:]
    if kind == "double":
        return '"' + esc(text, '"') + '"', ()
    if kind == "single":
        return "'" + esc(text, "'") + "'", ()
    if kind == "triple":
        return '"""' + esc(text, '"', triple=True) + '"""', ()
    if kind == "triple_single":
        return "'''" + esc(text, "'", triple=True) + "'''", ()
    if kind == "raw":
        return ('r"' + text + '"', ()) if raw_ok(text) else ('"' + esc(text, '"') + '"', ())
    if kind == "fstring":
        return 'f"' + esc(a, '"', braces=True) + "{name}" + esc(b, '"', braces=True) + '"', ("{name}",)
    if kind == "fstring_triple":
        return 'f"""' + esc(a, '"', triple=True, braces=True) + "{name!s}" + esc(b, '"', triple=True, braces=True) + '"""', ("{name!s}",)
    if kind == "concat":
        return "(" + '"' + esc(a, '"') + '"\n    ' + "'" + esc(b, "'") + "')", ()
    if kind == "format":
        return '"' + esc(a, '"', braces=True) + "{x}" + esc(b, '"', braces=True) + '".format(x=value)', ("{x}",)
    if kind == "dedent":
        lines = text.split("\n")
        body = "\n".join(("    " + esc(ln, '"', triple=True)) if ln else "" for ln in lines)
        return 'textwrap.dedent("""\\\n' + body + '""")', ()
    raise AssertionError(kind)


PY_HOSTS = ["double", "single", "triple", "triple_single", "raw", "fstring", "fstring_triple", "concat", "format", "dedent"]


def content_node(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value == "content":
                    return v
    raise AssertionError("no content")


def evaluate(src: str) -> str:
    """The string the program sends, placeholders' values being SENT."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(src)
    node = content_node(tree)
    return eval(compile(ast.Expression(node), "<content>", "eval"), {"textwrap": textwrap, "name": SENT, "value": SENT})


def template_fields(src: str) -> list:
    """Field names of a ``.format`` template (the literal before ``.format``)."""
    node = content_node(ast.parse(src))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        tmpl = ast.literal_eval(node.func.value)
        return [f for _lit, f, _spec, _conv in string.Formatter().parse(tmpl) if f is not None]
    return []


def spelled(value: str, placeholders) -> str:
    """An evaluated string with SENT replaced by the placeholders' source spellings (as Prompt.text holds them)."""
    parts = value.split(SENT)
    assert len(parts) == len(placeholders) + 1, (value, placeholders)
    out = [parts[0]]
    for ph, part in zip(placeholders, parts[1:]):
        out.append(ph)
        out.append(part)
    return "".join(out)


def source_of(name: str, text: str):
    kind = {"py": "python", "txt": "text", "j2": "jinja", "yaml": "yaml"}[name.rsplit(".", 1)[-1]]
    src = pipeline.decode_source(name, kind, text.encode("utf-8"))
    assert not isinstance(src, str), src
    return src


def prompts_of(src) -> list:
    fr = pipeline.lint_source(src, CFG, RULES)
    assert not [d for d in fr.diagnostics if d.code == "PL001"], [d.message for d in fr.diagnostics if d.code == "PL001"]
    return list(fr.prompts)


def placeholders(prompts) -> Counter:
    return Counter(p.text[s.start : s.end] for p in prompts for s in p.segments if s.kind == PLACEHOLDER)


def fix_twice(src):
    """fix --unsafe-fixes, then fix again: the second run must change nothing."""
    out = fixmod.fix_source(src, CFG, RULES, unsafe=True)
    assert not out.rolled_back or all(reason for _d, reason in out.rolled_back)
    if not out.changed:
        return out, src.text
    again = fixmod.fix_source(pipeline.decode_source(src.path, src.kind, out.text.encode("utf-8")), CFG, RULES, unsafe=True)
    assert not again.changed, f"second fix changed the file:\n{out.text!r}\n->\n{again.text!r}"
    return out, out.text


@settings(FUZZ, max_examples=100)
@given(kind=st.sampled_from(PY_HOSTS), text=texts(), cut=st.integers(0, 40))
@example(kind="triple", text='Please note that   \n\n\n\n\nanswer "x"\\', cut=0)
@example(kind="fstring", text="{{ x }} Please note that you {y} answer.\u200b  ", cut=5)
@example(kind="format", text="In order to help, {0} %s\n\n\n\n\nend", cut=3)
@example(kind="dedent", text="Please note that\n\tindented\n\n\n\n\n  more   \nend", cut=0)
@example(kind="raw", text="a\\d+\\s  Please note that \\\\", cut=1)
@example(kind="concat", text="Please note that x\u2028y\x85z   \n", cut=7)
def test_python_literal_hosts(kind, text, cut):
    cut = min(cut, len(text))
    lit, phs = python_host(kind, text, cut)
    src_text = PREFIX + lit + SUFFIX
    value = evaluate(src_text)
    src = source_of("app.py", src_text)
    # 1. extraction gives exactly the string the program sends
    prompts = prompts_of(src)
    if not value.replace(SENT, "").strip():
        return  # nothing to measure: whether it is reported as a prompt does not matter
    assert len(prompts) == 1, (lit, [p.text for p in prompts])
    (p,) = prompts
    assert p.text == spelled(value, phs), (lit, p.text)
    assert p.static_text == value.replace(SENT, "")
    # 2. fix --unsafe-fixes: parses, same placeholders, re-extraction agrees with evaluation, idempotent
    out, fixed = fix_twice(src)
    if fixed == src_text:
        return
    assert fixed.startswith(PREFIX) and fixed.endswith(SUFFIX), "code outside the prompt changed"
    new_value = evaluate(fixed)  # also: the fixed file parses
    assert new_value.count(SENT) == value.count(SENT)
    assert template_fields(fixed) == template_fields(src_text)
    (q,) = prompts_of(source_of("app.py", fixed))
    assert q.text == spelled(new_value, phs)
    assert placeholders([q]) == placeholders([p])


# ========================================================================================= template hosts


@FUZZ
@given(text=texts())
@example(text="Please note that   \r\n\n\n\n\n{{ x }}\u200b")
def test_prompt_txt_file(text):
    src = source_of("sys.prompt.txt", text)
    text = text[1:] if text.startswith("\ufeff") else text  # written as UTF-8, a leading U+FEFF is a BOM
    prompts = prompts_of(src)
    if not text.strip():
        assert prompts == []
        return
    (p,) = prompts
    assert p.text == text
    out, fixed = fix_twice(src)
    if fixed != text:
        (q,) = prompts_of(source_of("sys.prompt.txt", fixed))
        assert q.text == fixed
        for d in ("{{", "{%", "{#"):
            assert fixed.count(d) <= text.count(d), "the fix created a template delimiter"


_JINJA_TAGS = ["{{ x }}", "{{ user.name | upper }}", "{% if x %}", "{% else %}", "{% endif %}", "{# a comment #}", "{% for i in items %}", "{% endfor %}"]


@st.composite
def jinja_texts(draw):
    """Well-formed Jinja: plain text (no braces) between balanced tags."""
    plain = texts(exclude="{}\r#%")
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        parts.append(draw(plain))
        block = draw(st.sampled_from(["var", "if", "for", "comment", "none"]))
        if block == "var":
            parts.append(draw(st.sampled_from(_JINJA_TAGS[:2])))
        elif block == "comment":
            parts.append(_JINJA_TAGS[5])
        elif block == "if":
            parts += ["{% if x %}", draw(plain), "{% else %}", draw(plain), "{% endif %}"]
        elif block == "for":
            parts += ["{% for i in items %}", draw(plain), "{{ i }}", "{% endfor %}"]
    parts.append(draw(plain))
    return "".join(parts)


@FUZZ
@given(text=jinja_texts())
@example(text="Please note that   \n\n\n\n\n{% if x %}In order to  {% else %}\u200b{% endif %}{{ x }}\n")
def test_jinja_file(text):
    import jinja2

    src = source_of("sys.j2", text)
    text = text[1:] if text.startswith("\ufeff") else text  # written as UTF-8, a leading U+FEFF is a BOM
    prompts = prompts_of(src)
    if not prompts:
        import re

        assert not re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", text).strip(), "a template with text was not found"
        return
    (p,) = prompts
    assert p.text == (text[:-1] if text.endswith("\n") else text)
    out, fixed = fix_twice(src)
    if fixed != text:
        jinja2.Environment().parse(fixed)
        (q,) = prompts_of(source_of("sys.j2", fixed))
        assert placeholders([q]) == placeholders([p])
        tags = lambda p: [p.text[s.start : s.end] for s in p.segments if s.kind == "tag"]  # noqa: E731
        assert tags(q) == tags(p)


@FUZZ
@given(lines=st.lists(texts(exclude="\r\n\x85\u2028\u2029\x0c\x1b\x7f\ufeff\t", categories=("Cs", "Cc")), min_size=1, max_size=6))
@example(lines=["You are a helpful assistant.   ", "", "", "", "", "Please note that {{ x }} \u200b", "{name} In order to"])
@example(lines=["Reply as JSON {{\"a\": 1}}   ", "unbalanced {{ here", "   Please note that"])
def test_yaml_block_scalar(lines):
    import yaml

    lines = ["You are a helpful assistant."] + [ln.rstrip() if not ln.strip() else ln for ln in lines]
    # a {role, content} message: its content is a prompt whatever it reads like
    doc = "messages:\n  - role: system\n    content: |\n" + "".join(("      " + ln if ln else "") + "\n" for ln in lines)
    try:
        expected = yaml.safe_load(doc)["messages"][0]["content"]
    except yaml.YAMLError:
        assume(False)
    src = source_of("agent.prompt.yaml", doc)
    prompts = prompts_of(src)
    (p,) = prompts
    assert p.text == expected
    out, fixed = fix_twice(src)
    if fixed != doc:
        value = yaml.safe_load(fixed)["messages"][0]["content"]
        (q,) = prompts_of(source_of("agent.prompt.yaml", fixed))
        assert q.text == value
        assert placeholders([q]) == placeholders([p])


# ========================================================================================= whole programs

FIXABLE = (
    '\n\nSYSTEM_PROMPT = """You are a helpful assistant.   \n\n\n\n\nPlease note that you should answer {fmt} briefly.\u200b"""\n'
    "client.chat.completions.create(model=\"gpt-4o\", max_tokens=5, messages=[{\"role\": \"system\", \"content\": SYSTEM_PROMPT.format(fmt=q)},"
    ' {"role": "user", "content": f"In order to help: {q}   now"}])\n'
)


def _parses(text: str):
    import libcst as cst

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
        a = True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        a = False
    try:
        cst.parse_module(text)
        c = True
    except Exception:
        c = False
    return a, c


def _program_invariants(program: str):
    for text in (program, program.rstrip("\n") + "\n" + FIXABLE):
        a0, c0 = _parses(text)
        src = pipeline.decode_source("prog.py", "python", text.encode("utf-8"))
        if isinstance(src, str):
            return  # e.g. a NUL byte: reported as unreadable, nothing to fix
        first = pipeline.lint_source(src, CFG, RULES)
        out, fixed = fix_twice(src)
        if fixed == text:
            continue
        a1, c1 = _parses(fixed)
        assert (a1 or not a0) and (c1 or not c0), "the fixed program no longer parses"
        final = pipeline.lint_source(pipeline.decode_source("prog.py", "python", fixed.encode("utf-8")), CFG, RULES)
        assert placeholders(final.prompts) == placeholders(first.prompts)
        assert len(final.prompts) == len(first.prompts)
        if text.endswith(FIXABLE):
            head = program.rstrip("\n") + "\n"
            assert fixed.startswith(head), "code outside the prompts changed"


@settings(FUZZ, max_examples=60)
@given(program=__import__("hypothesmith").from_grammar())
def test_hypothesmith_grammar_programs(program):
    _program_invariants(program)


@settings(FUZZ, max_examples=25)
@given(program=__import__("hypothesmith").from_node())
def test_hypothesmith_node_programs(program):
    _program_invariants(program)


def test_fixable_snippet_is_fixed():
    """The appended snippet really exercises fixes (else the program tests would prove little)."""
    text = "import os\n" + FIXABLE
    out, fixed = fix_twice(pipeline.decode_source("prog.py", "python", text.encode("utf-8")))
    assert fixed != text and "Please note that" not in fixed and "\u200b" not in fixed
    assert "{fmt}" in fixed and "{q}" in fixed
