"""The code-flow rules (PL401-PL405) on the ast analysis: no libcst on the check path, no findings for files only
libcst can parse, and the places where ast and libcst trees differ (parentheses, decorators, `;`, elif, f-string
fields, async, match) answer as the libcst version did."""

import ast
import os
import subprocess
import sys
import textwrap

import pytest

from promptlint import tokens

LOOP = "PL401"
CAP = "PL403"
CACHE = "PL404"
PER_ITEM = "PL405"
FLOW_CODES = ("PL401", "PL402", "PL403", "PL404", "PL405")


def diags(lint, code, rule, **kw):
    res = lint(code, select=[rule], **kw)
    return [d for d in res.diagnostics if d.code == rule]


def test_flow_rules_walk_the_ast_analysis():
    from promptlint.rules import registry

    reg = registry()
    kinds = {r.code: getattr(r, "analysis_kind", "libcst") for r in reg if r.code in FLOW_CODES + ("PL001", "PL002")}
    assert kinds == {c: "ast" for c in FLOW_CODES + ("PL001", "PL002")}


def test_check_path_never_imports_libcst(tmp_path):
    """Start-up imports and a full flow analysis of an LLM file: libcst stays unloaded (~350 ms saved)."""
    src = tmp_path / "agent.py"
    src.write_text(
        textwrap.dedent(
            """
            from openai import OpenAI
            client = OpenAI()
            SYSTEM = "You are a research agent. Cite every source you use and never invent URLs."

            def run(question):
                history = [{"role": "system", "content": SYSTEM}]
                while True:
                    history.append({"role": "user", "content": question})
                    reply = client.chat.completions.create(model="gpt-4o", messages=history)
                    history.append({"role": "assistant", "content": reply.choices[0].message.content})
                    if "DONE" in reply.choices[0].message.content:
                        break
            """
        ),
        encoding="utf-8",
    )
    probe = (
        "import sys\n"
        "from promptlint.cli import main\n"
        "try:\n"
        f"    main(['check', {str(src)!r}, '--no-cache', '--select', 'PL0,PL4'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LIBCST' if 'libcst' in sys.modules else 'NO-LIBCST')\n"
    )
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert "PL401" in r.stdout and "PL402" in r.stdout and "PL403" in r.stdout  # the flow rules did run
    assert r.stdout.strip().splitlines()[-1] == "NO-LIBCST", r.stdout + r.stderr


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="needs syntax this interpreter's ast cannot parse")
def test_file_only_libcst_parses_gets_no_flow_findings(lint):
    code = """
        type Alias = list[int]

        def run(messages):
            while True:
                reply = client.chat.completions.create(model="gpt-4o", messages=messages)
                if reply.choices[0].message.content == "DONE":
                    break
        """
    with pytest.raises(SyntaxError):
        ast.parse(textwrap.dedent(code))
    res = lint(code)
    assert not [d for d in res.diagnostics if d.code in FLOW_CODES or d.code == "PL001"]


# ---------------------------------------------------------------------------------------- loop headers


def test_loop_headers_keep_their_parentheses(lint):
    ds = diags(
        lint,
        """
        import itertools

        def a(messages):
            done = False
            while (not done):
                r = client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages)
                done = "DONE" in r.choices[0].message.content

        def b(messages):
            while (True):
                r = client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages)
                if r.x:
                    break

        def c(messages):
            for (i) in (itertools.count()):
                r = client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages)
                if r.x:
                    break

        def d(messages):
            while ( # until the model says so
                not done
            ):
                r = client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages)
                done = r.x
        """,
        LOOP,
    )
    heads = [d.message.split("`")[1] for d in ds]
    assert heads == ["while (not done)", "while True", "for i in (itertools.count())", "while ( # until the model says so not done )"]
    assert [(d.line, d.column, d.end_line, d.end_column) for d in ds] == [(6, 5, 6, 20), (11, 5, 11, 16), (17, 5, 17, 34), (23, 5, 24, 17)]


def test_decorator_findings_span_from_the_at_sign(lint):
    ds = diags(
        lint,
        """
        from tenacity import retry

        @ retry( wait=1 )
        def a(m):
            return client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=m)

        @(retry)
        def b(m):
            return client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=m)

        class K:
            @retry
            async def c(self, m):
                return await client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=m)
        """,
        LOOP,
    )
    assert [(d.line, d.column, d.end_line, d.end_column) for d in ds] == [(4, 1, 4, 18), (8, 1, 8, 9), (13, 5, 13, 11)]
    assert [d.message.split(" on ")[1].split("(")[0] for d in ds] == ["a", "b", "c"]


# ---------------------------------------------------------------------------------------- path analysis


@pytest.mark.parametrize(
    "code",
    [
        # simple statements joined by `;` are one line, as in the libcst tree
        """
        def d(messages):
            i = 0
            while True:
                i += 1; client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages)
                if i >= 10: return
        """,
        """
        def c(messages):
            i = 0
            while True:
                if i > 3: break
                client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages); i += 1
        """,
        # `else:` leaves the loop whenever the bound check fails
        """
        def e(messages):
            i = 0
            while True:
                i += 1
                client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages)
                if i < 10:
                    continue
                else:
                    break
        """,
        # a match statement whose wildcard leaves
        """
        def f(messages, commands):
            for cmd in commands:
                match cmd:
                    case "ask":
                        client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages)
                    case _:
                        break
        """,
    ],
)
def test_bounded_shapes_stay_silent(lint, code):
    assert diags(lint, code, LOOP) == []


def test_elif_is_not_an_else(lint):
    """`elif z: break` does not leave on every path where the bound check fails (an `else: break` would)."""
    ds = diags(
        lint,
        """
        def g(messages):
            i = 0
            while True:
                i += 1
                client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=messages)
                if i < 10:
                    continue
                elif z:
                    break
        """,
        LOOP,
    )
    assert [d.line for d in ds] == [4]


def test_async_for_and_async_with_in_the_loop(lint):
    ds = diags(
        lint,
        """
        INSTRUCTIONS = "Summarize the support article below in three bullet points for a busy agent. Keep product names, prices, deadlines and numbers exactly as written, and do not add advice that is not in the article."

        async def run(stream, lock):
            async for doc in stream:
                async with lock:
                    await client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=[
                        {"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": doc}])
        """,
        PER_ITEM,
    )
    assert [(d.line, d.column) for d in ds] == [(7, 19)]
    n = tokens.count(
        "Summarize the support article below in three bullet points for a busy agent. Keep product names, prices, "
        "deadlines and numbers exactly as written, and do not add advice that is not in the article.",
        "gpt-4o",
    )
    assert ds[0].tokens_wasted == n and "(loop at line 5)" in ds[0].message


# ---------------------------------------------------------------------------------------- prompts


def test_fstring_fields_filled_with_constants_count_as_static(lint):
    """Constant fields (`{TONE}`, `{N}`, `{GUIDE}`) are static text, the first dynamic field (with a
    conversion and a format spec) is the one reported, and the non-ASCII text before it keeps columns exact."""
    big = " ".join(f"{i}. Quote policy section {i} exactly and give every deadline as written." for i in range(1, 120))
    ds = diags(
        lint,
        f'''
        import datetime
        TONE = "friendly"
        N = 1_000
        GUIDE = "{big}"

        def a(question):
            prompt = f"""Tone {{TONE}} — n={{N}}. Today is {{datetime.datetime.now()!s:>10}}.
        Rules: {{GUIDE}}
        Question: {{question}}"""
            return client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=[{{"role": "user", "content": prompt}}])
        ''',
        CACHE,
    )
    assert len(ds) == 1
    d = ds[0]
    assert d.message.startswith("The dynamic {datetime.datetime.now()!s:>10} comes before")
    assert (d.line, d.column, d.end_line, d.end_column) == (8, 48, 8, 79)


def test_format_template_fields_filled_with_the_same_constant_everywhere(lint):
    big = " ".join(f"Rule {i}: answer from policy section {i} and quote its figures exactly." for i in range(1, 90))
    code = f"""
        TONE = "friendly"
        TEMPLATE = "Tone: {{tone}}. Hello {{name}}. {big} Then answer {{question}}"

        def b(question):
            p = TEMPLATE.format(tone=TONE, name=question, question=question)
            return client.chat.completions.create(model="gpt-4o", max_tokens=9, messages=[{{"role": "system", "content": p}}])

        helper = lambda q: TEMPLATE.format(tone=TONE, name="x", question=q)
        """
    ds = diags(lint, code, CACHE)
    assert len(ds) == 1 and ds[0].message.startswith("The dynamic {name} comes before")
