"""The fast ast extractor and the libcst extractor (fallback for newer syntax) must agree exactly."""

import glob
import os

import pytest

from promptlint.extract import pyast
from promptlint.extract import python as pyx
from promptlint.types import SourceFile

HERE = os.path.dirname(__file__)
EXAMPLES = sorted(glob.glob(os.path.join(HERE, "..", "examples", "**", "*.py"), recursive=True))

SNIPPETS = [
    # f-strings: format specs, conversions, nested fields, self-documenting, nested quotes of the other kind
    'msgs = [{"role": "user", "content": f"Hi {user.name!r:>{width}} and {x=} and {d[\'k\']} {{lit}} {a:{b}.{c}f}"}]',
    # implicit concatenation across lines with comments, mixed f and plain, escapes, unicode
    'msgs = [{"role": "system", "content": ("Line one\\n"  # comment "with quotes"\n    f"é {name}\\t"\n    r"raw \\d" \'single\')}]',
    # triple quotes, dedent and cleandoc, CRLF
    'import textwrap\nP = textwrap.dedent("""\r\n    You are a bot.\r\n      Indented.\r\n    Done.\r\n""")\nmsgs = [{"role": "user", "content": P}]\n',
    'import inspect\nclass A:\n    SYSTEM_PROMPT = inspect.cleandoc("""\n        You are an expert reviewer of pull requests.\n            Point out bugs.\n    """)\n',
    # + concatenation with names, .format and % templates, wrappers and decorators
    'S = "You are terse."\ndef ask(q):\n    return client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": S + "\\n" + q}])\nask("Tell me about {x}".format(x=1))\nask("Rate %(item)s from 1 to %d" % v)\n',
    '@decorate("You are a decorated helpful assistant.")\ndef f(): pass\nmsgs = [{"role": "user", "content": "Plain."}]\n',
    # LangChain, LLM objects, Gemini config, dict(), message classes
    'from langchain_core.prompts import ChatPromptTemplate\nt = ChatPromptTemplate.from_messages([("system", "You are a {role}."), ("human", "{q}")])\nllm.invoke("Write a poem.")\n',
    'from google.genai import types\nclient.models.generate_content(model="gemini-2.5-flash", contents=[types.Part(text="Summarize it.")], config=types.GenerateContentConfig(system_instruction="Be short."))\n',
    'x = dict(role="user", content=f"Question: {q}")\nm = SystemMessage(content="Never lie to the user.")\n',
    # tabs, form feeds and non-ASCII before strings on the same line
    'é = 1; msgs = [{"role": "user", "content": "naïve café prompt"}]\n\tpass\n' if False else 'é = 1; msgs = [{"role": "user", "content": "naïve café prompt"}]\n',
]


def _key(p):
    return (p.text, p.segments, p.start, p.end, p.line, p.column, p.end_line, p.end_column, p.name, p.role, p.call, p.model, p.placeholders, p.origin, p.host, p.fixable, p.dedent, p.meta)


def _both(text, path="x.py"):
    s = SourceFile(path, "python", text)
    a, _ = pyast.extract(s)
    b, _ = pyx.extract(s)
    return [_key(p) for p in a], [_key(p) for p in b]


@pytest.mark.parametrize("text", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_snippets_agree(text):
    a, b = _both(text)
    assert a, "the snippet should hold prompts"
    assert a == b


@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.relpath(p, HERE) for p in EXAMPLES])
def test_examples_agree(path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    a, b = _both(text, path)
    assert a == b


def test_newer_syntax_falls_back_to_libcst(tmp_path, run_cli):
    """A file ast cannot parse on this interpreter still parses with libcst and its prompts are found."""
    import ast
    import sys

    code = 'type Alias = list[int]\nmsgs = [{"role": "user", "content": f"Say {"hi"} to {name}."}]\n'
    try:
        ast.parse(code)
        newer = False
    except SyntaxError:
        newer = True
    (tmp_path / "a.py").write_text(code)
    r = run_cli("check", "a.py", "--format", "json", "--no-cache", cwd=tmp_path)
    doc = r.json()
    assert [p["line"] for p in doc["prompts"]] == [2]
    assert not [d for d in doc["diagnostics"] if d["rule"] == "syntax-error"]
    assert newer or sys.version_info >= (3, 12)
