"""duplicate-context (PL205) and repeated-block (PL206): positives, the structural negatives (few-shot examples,
templated list items, labels and headings), cross-message duplicates, the unsafe deletion fix, project-wide
copies through the CLI, and options."""

import json
import textwrap

import pytest

from promptlint import passages as ps
from promptlint.extract import python as pyx
from promptlint.measure import Counter
from promptlint.pipeline import read_source
from promptlint.rules.duplicate_context import DuplicateContext
from promptlint.rules.repeated_block import RepeatedBlock
from promptlint.types import LITERAL, LineIndex, Prompt, Segment

COUNT = Counter("gpt-4o").count

RULES = (
    "Refund rules:\n"
    "- Unused items can be returned within 30 days of delivery for a full refund.\n"
    "- Sale and clearance items are final sale and cannot be returned or refunded.\n"
    "- Shipping costs are not refundable unless the item arrived damaged."
)
RULE_LINES = RULES.split("\n", 1)[1]


class Ctx:
    def count(self, text):
        return COUNT(text)


def prompt_of(text, **kw):
    return Prompt(
        path="x.prompt.txt",
        text=text,
        segments=(Segment(LITERAL, 0, len(text), 0, len(text)),),
        start=0,
        end=len(text),
        line=1,
        column=1,
        end_line=1,
        end_column=1,
        source="template",
        model="gpt-4o",
        **kw,
    )


def check(text, **opts):
    return DuplicateContext(opts or None).check(prompt_of(text), Ctx())


def apply(text, edits):
    out, pos = [], 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        assert e.start >= pos, "edits overlap"
        out.append(text[pos : e.start])
        out.append(e.content)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def fix_all(text, findings):
    return apply(text, [e for f in findings for e in f.edits])


# ------------------------------------------------------------------------------------ within one prompt


def test_exact_paragraph_twice_reports_second_copy_with_its_tokens_and_unsafe_fix():
    para = "Never make up tracking numbers, delivery dates or prices; say you do not know instead."
    text = f"You are a support agent.\n\n{para}\n\nAnswer the customer's question.\n\n{para}\n"
    (f,) = check(text)
    second = text.rindex(para)
    assert (f.start, f.end) == (second, second + len(para))
    assert f.tokens_wasted == COUNT(para)
    assert f.fix_applicability == "unsafe"
    assert "line 3" in f.message and "word for word" in f.message
    assert fix_all(text, [f]) == f"You are a support agent.\n\n{para}\n\nAnswer the customer's question.\n"


def test_sentence_repeated_inside_prose_is_deleted_with_its_space():
    s = "Always reply in the same language that the customer used."
    text = f"You help customers of Acme. {s} Be brief and polite. {s} Use their first name."
    (f,) = check(text)
    assert text[f.start : f.end] == s and f.start == text.rindex(s)
    assert f.tokens_wasted == COUNT(s)
    assert fix_all(text, [f]) == f"You help customers of Acme. {s} Be brief and polite. Use their first name."


def test_sentence_ending_a_line_keeps_the_line_break():
    s = "Always reply in the same language that the customer used."
    text = f"{s}\nBe brief and polite. {s}\nUse their first name."
    (f,) = check(text)
    assert fix_all(text, [f]) == f"{s}\nBe brief and polite.\nUse their first name."


def test_rules_list_repeated_under_another_intro_goes_with_its_intro():
    text = f"You are a support agent.\n\n{RULES}\n\nAnswer the question below.\n\nRemember the refund rules:\n{RULE_LINES}\n"
    (f,) = check(text)
    assert text[f.start : f.end] == RULE_LINES and f.start == text.rindex(RULE_LINES)
    assert f.tokens_wasted == COUNT(RULE_LINES)
    assert fix_all(text, [f]) == f"You are a support agent.\n\n{RULES}\n\nAnswer the question below.\n"


def test_rule_repeated_inside_one_list_deletes_the_line():
    a = "- Unused items can be returned within 30 days of delivery for a full refund."
    text = f"Rules:\n{a}\n- Never promise a refund the rules do not allow.\n{a}\n- Escalate anything else to a human agent."
    (f,) = check(text)
    assert text[f.start : f.end] == a
    assert fix_all(text, [f]) == f"Rules:\n{a}\n- Never promise a refund the rules do not allow.\n- Escalate anything else to a human agent."


def test_multi_paragraph_block_is_one_finding():
    block = "Be polite and brief in every answer you give.\n\nNever invent order numbers, prices or delivery dates."
    text = f"{block}\n\nNow the question.\n\n{block}"
    (f,) = check(text)
    assert text[f.start : f.end] == block
    assert f.tokens_wasted == COUNT(block)
    assert fix_all(text, [f]) == f"{block}\n\nNow the question."


def test_three_copies_two_findings_whose_fixes_compose():
    s = "Always answer in English, even when the question is in another language."
    text = f"{s}\nHi there.\n\n{s}\n\n{s}"
    fs = check(text)
    assert [text[f.start : f.end] for f in fs] == [s, s]
    assert fix_all(text, fs) == f"{s}\nHi there."


def test_indented_copy_in_undedented_literal_leaves_no_stray_whitespace():
    s = "Never make up tracking numbers, delivery dates or prices."
    text = f"\n    You are a support agent.\n    {s}\n\n    Answer the question.\n\n    {s}\n    "
    (f,) = check(text)
    assert fix_all(text, [f]) == f"\n    You are a support agent.\n    {s}\n\n    Answer the question.\n    "


def test_near_duplicate_is_reported_without_fix():
    a = "Always reply in the same language as the customer's message."
    b = "always reply in the same language as the customers' messages!"
    text = f"{a}\nKeep answers short.\n{b}"
    (f,) = check(text)
    assert text[f.start : f.end] == b
    assert f.tokens_wasted == COUNT(b)
    assert not f.edits and f.fix_applicability is None
    assert "similar" in f.message


def test_extra_sentence_is_not_part_of_the_copy():
    block = "Be polite. Use the customer's first name. Never invent order numbers or prices."
    extra = "Always answer in Spanish when the customer writes in Spanish."
    text = f"{block}\n\nQuestion follows.\n\n{block} {extra}"
    (f,) = check(text)
    assert text[f.start : f.end] == block
    assert fix_all(text, [f]) == f"{block}\n\nQuestion follows.\n\n{extra}"


NEGATIVES = {
    "few-shot examples": (
        "Classify the sentiment of each review.\n\n"
        "Input: The food was great and the staff were friendly to us.\nOutput: positive\n\n"
        "Input: The service was slow and the soup arrived cold at our table.\nOutput: negative\n\n"
        "Input: It was an ordinary lunch, nothing special either way for us.\nOutput: neutral"
    ),
    "few-shot with a repeated instruction line": (
        "Review: The food was great and the staff were friendly.\n"
        "Classify the sentiment of this review as positive, negative or neutral.\nSentiment: positive\n\n"
        "Review: The soup was cold and the waiter ignored us.\n"
        "Classify the sentiment of this review as positive, negative or neutral.\nSentiment: negative"
    ),
    "numbered items on one template": (
        "Review the document:\n"
        "1. Check the spelling of every sentence in the document.\n"
        "2. Check the grammar of every sentence in the document.\n"
        "3. Check the tone of every sentence in the document.\n"
        "4. Check the length of every sentence in the document."
    ),
    "bulleted items differing in one word": (
        "- Reply in English and keep the answer under one hundred words.\n"
        "- Reply in French and keep the answer under one hundred words."
    ),
    "labels and markdown headers": (
        "## Question\nWhat is the capital of France?\nAnswer:\n\n## Question\nWhat is the capital of Spain?\nAnswer:"
    ),
    "long repeated headers": (
        "## Instructions for the assistant on answering questions\nBe brief.\n\n"
        "## Instructions for the assistant on answering questions\nBe kind."
    ),
    "a different number": (
        "Unused items can be returned within 30 days of delivery for a full refund.\n"
        "Unused items can be returned within 14 days of delivery for a full refund."
    ),
    "a negation": (
        "Reply to the customer in a formal tone and use their full name.\n"
        "Do not reply to the customer in a formal tone and use their full name."
    ),
    "short sentence under min-tokens": "Be brief.\nAnswer the question about the order.\nBe brief.",
    "few-shot blocks between separator lines": (
        "Jane is in the kitchen of Jane's house that has a kitchen, bedroom and bathroom.\n"
        "Stay in the current area if the activity can be done there. Never go into other people's rooms.\n"
        "For cooking, Jane should go to:\nAnswer: kitchen\n---\n"
        "Tom is in the common room of Tom's apartment that has a common room and a bedroom.\n"
        "Stay in the current area if the activity can be done there. Never go into other people's rooms.\n"
        "For reading, Tom should go to:\nAnswer: common room"
    ),
    "a word and its opposite": (
        "The following are examples of CORRECT predicted answers to the question.\n\nQuestion: x\n\n"
        "The following are examples of INCORRECT predicted answers to the question."
    ),
    "numbered names": (
        '"Player1": "the true role you infer about this player, and why you think this role is right",\n'
        '"Player7": "the true role you infer about this player, and why you think this role is right"'
    ),
    "template fields": "Requirements:\n{legacy_user_requirements_document_text}\n\nTRD:\n{legacy_user_requirements_document_text_trd}",
    "table rows": "| name | age | city |\n|---|---|---|\n| Alice | 30 | Paris |\n| Bob | 30 | Paris |",
}


@pytest.mark.parametrize("name", list(NEGATIVES))
def test_structure_is_not_duplication(name):
    assert check(NEGATIVES[name]) == []


def test_few_shot_example_pasted_twice_is_a_duplicate():
    ex = "Input: The food was great and the staff were friendly to us.\nOutput: positive"
    other = "Input: The service was slow and the soup arrived cold.\nOutput: negative"
    text = f"Classify each review.\n\n{ex}\n\n{other}\n\n{ex}"
    (f,) = check(text)
    assert text[f.start : f.end] == ex


def test_min_tokens_and_similarity_options():
    s = "Never make up tracking numbers or prices."
    text = f"{s}\nAnswer the question.\n{s}"
    n = COUNT(s)
    assert n >= 8
    assert len(check(text)) == 1
    assert len(check(text, **{"min-tokens": n})) == 1
    assert check(text, **{"min-tokens": n + 1}) == []
    near = "Always reply in the same language as the customer's message.\nKeep it short.\nalways reply in the same language as the customers' messages!"
    assert len(check(near)) == 1
    assert check(near, similarity=100) == []


@pytest.mark.parametrize("opts", [{"min-tokens": "many"}, {"min-tokens": 0}, {"similarity": 150}, {"similarity": True}, {"min-tokens": 2.5}])
def test_bad_option_values_are_clear_errors(opts):
    with pytest.raises(ValueError, match="option '.*' of rule 'duplicate-context' must be"):
        DuplicateContext(opts)


def test_placeholder_in_copy_compares_as_slot_and_blocks_the_fix():
    # an f-string copy whose second occurrence holds a placeholder: reported, never edited
    text = "Answer politely and never invent order numbers or prices.\n\nAnswer politely and never invent order numbers or prices {tone}."
    seg_at = text.index("{tone}")
    from promptlint.types import PLACEHOLDER

    p = Prompt(
        path="x.py",
        text=text,
        segments=(
            Segment(LITERAL, 0, seg_at, 0, seg_at),
            Segment(PLACEHOLDER, seg_at, seg_at + 6, seg_at, seg_at + 6),
            Segment(LITERAL, seg_at + 6, len(text), seg_at + 6, len(text)),
        ),
        start=0,
        end=len(text),
        line=1,
        column=1,
        end_line=1,
        end_column=1,
        model="gpt-4o",
    )
    (f,) = DuplicateContext().check(p, Ctx())
    assert f.start == text.index("\n\n") + 2 and not f.edits
    assert f.tokens_wasted == COUNT(text[f.start : f.end].replace("{tone}", ""))


# --------------------------------------------------------------------------------- through the pipeline


def _pl205(res):
    return [d for d in res.diagnostics if d.code == "PL205"]


CROSS = '''\
    from openai import OpenAI

    client = OpenAI()

    SYSTEM_PROMPT = """You are the Acme support assistant. Answer questions about orders.

    Refund rules:
    - Unused items can be returned within 30 days of delivery for a full refund.
    - Sale and clearance items are final sale and cannot be returned or refunded.
    - Shipping costs are not refundable unless the item arrived damaged.
    """


    def answer(question: str) -> str:
        user = f"""Customer question: {question}

    Remember the refund rules:
    - Unused items can be returned within 30 days of delivery for a full refund.
    - Sale and clearance items are final sale and cannot be returned or refunded.
    - Shipping costs are not refundable unless the item arrived damaged.
    """
        r = client.chat.completions.create(
            model="gpt-4o",
            max_tokens=300,
            messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}],
        )
        return r.choices[0].message.content
    '''


def test_cross_message_duplicate_via_system_constant(tmp_path, lint):
    res = lint(CROSS, select=["PL205"])
    system, user = sorted(res.prompts, key=lambda p: p.start)
    assert system.get_meta("call_site") == user.get_meta("call_site") is not None
    (d,) = _pl205(res)
    src = (tmp_path / "mod.py").read_text()
    assert src[d.start : d.end] == RULE_LINES
    assert (d.line, d.column) == LineIndex(src).position(src.rindex(RULE_LINES))
    assert d.tokens_wasted == COUNT(RULE_LINES)
    assert d.fix is None
    assert "system message SYSTEM_PROMPT (line 8)" in d.message


def test_call_site_meta_is_the_sink_call_offset(tmp_path):
    src = textwrap.dedent(CROSS)
    path = tmp_path / "m.py"
    path.write_text(src)
    prompts, _ = pyx.extract(read_source(str(path), "python"))
    call = src.index("client.chat.completions.create(")
    assert [p.get_meta("call_site") for p in prompts] == [call, call]


def test_system_message_comes_first_even_when_defined_later(tmp_path, lint):
    code = f'''\
from openai import OpenAI

client = OpenAI()

USER_TEMPLATE = """Customer question: {{question}}

{RULES}
"""

SYSTEM_PROMPT = """You are the Acme support assistant. Answer questions about orders.

{RULES}
"""


def answer(question):
    return client.chat.completions.create(
        model="gpt-4o",
        max_tokens=300,
        messages=[{{"role": "system", "content": SYSTEM_PROMPT}}, {{"role": "user", "content": USER_TEMPLATE.format(question=question)}}],
    )
'''
    res = lint(code, select=["PL205"])
    (d,) = _pl205(res)
    src = (tmp_path / "mod.py").read_text()
    assert src[d.start : d.end] == RULES and d.start < src.index("SYSTEM_PROMPT =")  # the user template, above
    assert "system message SYSTEM_PROMPT (line 15)" in d.message and "word for word" in d.message


def test_message_appended_to_history_pairs_with_the_system_prompt(tmp_path, lint):
    code = '''\
    from openai import OpenAI


    class Bot:
        SYSTEM_PROMPT = """You are the Acme support assistant.

        Refund rules:
        - Unused items can be returned within 30 days of delivery for a full refund.
        - Sale and clearance items are final sale and cannot be returned or refunded.
        """

        def __init__(self):
            self.client = OpenAI()

        def user_message(self, question):
            return f"""{question}

    Refund rules:
    - Unused items can be returned within 30 days of delivery for a full refund.
    - Sale and clearance items are final sale and cannot be returned or refunded.
    """

        def chat(self, question):
            history = [{"role": "system", "content": self.SYSTEM_PROMPT}]
            history.append({"role": "user", "content": self.user_message(question)})
            return self.client.chat.completions.create(model="gpt-4o", messages=history, max_tokens=100)
    '''
    res = lint(code, select=["PL205"])
    (d,) = _pl205(res)
    src = (tmp_path / "mod.py").read_text()
    copy = src[d.start : d.end]
    assert copy.startswith("Refund rules:\n- Unused items") and copy.endswith("refunded.") and d.start > src.index("def user_message")
    assert d.tokens_wasted == COUNT(copy)


def test_separate_requests_are_not_one_request(tmp_path, lint):
    code = '''\
    from openai import OpenAI

    client = OpenAI()

    SYSTEM_PROMPT = """You are the Acme support assistant.

    Refund rules:
    - Unused items can be returned within 30 days of delivery for a full refund.
    - Sale and clearance items are final sale and cannot be returned or refunded.
    """

    def ask(question):
        return client.chat.completions.create(model="gpt-4o", max_tokens=50, messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}])

    def summarize(text):
        prompt = f"""Summarize this ticket. Check it against the refund rules:
    - Unused items can be returned within 30 days of delivery for a full refund.
    - Sale and clearance items are final sale and cannot be returned or refunded.

    {text}"""
        return client.chat.completions.create(model="gpt-4o", max_tokens=50, messages=[{"role": "user", "content": prompt}])
    '''
    assert _pl205(lint(code, select=["PL205"])) == []


def test_alternative_prompts_of_one_slot_are_not_one_request(tmp_path, lint):
    # SYSTEM_LOCAL / SYSTEM_CLOUD both reach the system slot of one call: only one of them is ever sent
    code = f'''\
from openai import OpenAI

client = OpenAI()

SYSTEM_CLOUD = """You are a fast terminal assistant.

{RULES}
"""

SYSTEM_LOCAL = """You are a small local terminal assistant.

{RULES}
"""


def answer(question, local):
    system = SYSTEM_LOCAL if local else SYSTEM_CLOUD
    return client.chat.completions.create(
        model="gpt-4o",
        max_tokens=300,
        messages=[{{"role": "system", "content": system}}, {{"role": "user", "content": question}}],
    )
'''
    res = lint(code, select=["PL205", "PL206"])
    assert len(res.prompts) == 2 and len({p.get_meta("call_site") for p in res.prompts}) == 1
    assert _pl205(res) == []


def _apply_file(src, fix):
    out, pos = [], 0
    for e in sorted(fix.edits, key=lambda e: e.start):
        out += [src[pos : e.start], e.content]
        pos = e.end
    return "".join(out) + src[pos:]


@pytest.mark.parametrize(
    "literal",
    [
        # plain literal with escapes
        '"Never invent order numbers or prices in any answer.\\n\\nAnswer the question.\\n\\nNever invent order numbers or prices in any answer."',
        # implicit concatenation: the deletion crosses the seam between the two literals
        '("Never invent order numbers or prices in any answer.\\n\\nAnswer the question.\\n\\n"\n    "Never invent order numbers or prices in any answer.")',
        # triple-quoted
        '"""Never invent order numbers or prices in any answer.\n\nAnswer the question.\n\nNever invent order numbers or prices in any answer."""',
    ],
)
def test_exact_duplicate_fix_through_the_file(tmp_path, lint, literal):
    code = f'client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{{"role": "user", "content": {literal}}}])\n'
    res = lint(code, select=["PL205"])
    (d,) = _pl205(res)
    assert d.fix is not None and d.fix.applicability == "unsafe"
    fixed = _apply_file((tmp_path / "mod.py").read_text(), d.fix)
    (tmp_path / "fixed.py").write_text(fixed)
    prompts, _ = pyx.extract(read_source(str(tmp_path / "fixed.py"), "python"))
    assert [p.text for p in prompts] == ["Never invent order numbers or prices in any answer.\n\nAnswer the question."]


def test_support_bot_shape_through_cli(tmp_path, run_cli):
    (tmp_path / "app.py").write_text(textwrap.dedent(CROSS))
    r = run_cli("check", "app.py", "--select", "duplicate-context", "--format", "json", cwd=tmp_path)
    assert r.exit_code == 1
    (d,) = r.json()["diagnostics"]
    assert d["rule"] == "duplicate-context" and d["severity"] == "warning" and d["tokens_wasted"] == COUNT(RULE_LINES)


# ------------------------------------------------------------------------------------------- options


def test_min_tokens_from_pyproject_is_honoured(tmp_path, run_cli):
    s = "Never make up tracking numbers, delivery dates or prices."
    code = f'client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{{"role": "user", "content": "{s}\\nAnswer the question.\\n{s}"}}])\n'
    (tmp_path / "app.py").write_text(code)
    assert 8 <= COUNT(s) < 20
    r = run_cli("check", "app.py", "--select", "PL205", "--format", "json", cwd=tmp_path)
    assert [d["code"] for d in r.json()["diagnostics"]] == ["PL205"]
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\nselect = ["PL205"]\n\n[tool.promptlint.rules.duplicate-context]\nmin-tokens = 20\n')
    r = run_cli("check", "app.py", "--format", "json", cwd=tmp_path)
    assert r.exit_code == 0 and r.json()["diagnostics"] == []


def test_unknown_option_is_exit_2_naming_it(tmp_path, run_cli):
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint.rules.duplicate-context]\nmin-token = 20\n")
    r = run_cli("check", "app.py", cwd=tmp_path)
    assert r.exit_code == 2
    assert "min-token" in (r.stderr or r.output) and "duplicate-context" in (r.stderr or r.output)
    (tmp_path / "pyproject.toml").write_text("[tool.promptlint.rules.repeated-block]\nthreshold = 20\n")
    r = run_cli("check", "app.py", cwd=tmp_path)
    assert r.exit_code == 2 and "threshold" in (r.stderr or r.output)


def test_bad_option_value_is_exit_2_with_one_line(tmp_path, run_cli):
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint.rules.duplicate-context]\nmin-tokens = "many"\n')
    r = run_cli("check", "app.py", cwd=tmp_path)
    assert r.exit_code == 2
    assert "min-tokens" in (r.stderr or r.output)


# -------------------------------------------------------------------------------------- repeated-block

BLOCK = (
    "Never make up order numbers, tracking numbers, delivery dates or prices; if something is not in the "
    "context, say that you do not know and offer to hand the ticket to a human agent.\n"
    "Keep every answer short and polite, and reply in the language of the customer's message.\n"
    "Sale and clearance items are final sale and cannot be returned or refunded."
)


def _py(prompt_expr, var="PROMPT"):
    return f'from openai import OpenAI\nclient = OpenAI()\n{var} = {prompt_expr}\nclient.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{{"role": "user", "content": {var}}}])\n'


def test_repeated_block_across_two_files_through_cli(tmp_path, run_cli):
    assert COUNT(BLOCK) >= 50
    (tmp_path / "a_support.py").write_text(_py('"""You are the Acme support assistant.\n\n' + BLOCK + '\n"""'))
    # the copy starts mid-line after escapes in the second file
    b_src = _py('"Handle returns for Acme.\\n" "' + BLOCK.replace("\n", "\\n").replace('"', '\\"') + '"')
    (tmp_path / "b_returns.py").write_text(b_src)
    r = run_cli("check", ".", "--select", "repeated-block", "--format", "json", cwd=tmp_path)
    assert r.exit_code == 0, r.output  # info: reported, does not fail the run under the default fail-on
    (d,) = r.json()["diagnostics"]
    assert d["path"] == "b_returns.py" and d["rule"] == "repeated-block" and d["code"] == "PL206"
    assert d["severity"] == "info" and d["tokens_wasted"] is None and d["fix"] is None
    first = BLOCK.split("\n")[0]
    last = BLOCK.split("\n")[-1]
    idx = LineIndex(b_src)
    assert (d["line"], d["column"]) == idx.position(b_src.index(first))
    assert (d["end_line"], d["end_column"]) == idx.position(b_src.index(last) + len(last))
    a_line = (tmp_path / "a_support.py").read_text()[: (tmp_path / "a_support.py").read_text().index(first)].count("\n") + 1
    assert f"PROMPT at a_support.py:{a_line}" in d["message"]
    assert f"Block of {COUNT(BLOCK)} tokens" in d["message"]
    assert run_cli("check", ".", "--select", "repeated-block", "--fail-on", "info", cwd=tmp_path).exit_code == 1
    again = run_cli("check", ".", "--select", "repeated-block", "--format", "json", cwd=tmp_path)
    assert again.json()["diagnostics"] == r.json()["diagnostics"]  # deterministic


def test_repeated_block_template_files_and_bom(tmp_path, run_cli):
    (tmp_path / "one.prompt.txt").write_text("Summarize the ticket.\n\n" + BLOCK + "\n", encoding="utf-8")
    (tmp_path / "two.prompt.txt").write_bytes(("\ufeffClassify the ticket.\n\n" + BLOCK + "\n").encode("utf-8"))
    (tmp_path / "three.prompt.txt").write_text("Route the ticket.\n\n" + BLOCK.upper() + "\n", encoding="utf-8")
    r = run_cli("check", ".", "--select", "repeated-block", "--format", "json", cwd=tmp_path)
    diags = r.json()["diagnostics"]
    assert sorted((d["path"], d["line"], d["column"]) for d in diags) == [("three.prompt.txt", 3, 1), ("two.prompt.txt", 3, 1)]
    assert all("one.prompt.txt:3" in d["message"] for d in diags)


def test_repeated_block_leaves_one_request_to_duplicate_context(tmp_path, lint):
    code = f'''\
from openai import OpenAI
client = OpenAI()
SYSTEM = """You are the Acme assistant.

{BLOCK}
"""
def ask(q):
    user = f"""{{q}}

{BLOCK}
"""
    return client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{{"role": "system", "content": SYSTEM}}, {{"role": "user", "content": user}}])

def other(q):
    prompt = f"""Classify: {{q}}

{BLOCK}
"""
    return client.chat.completions.create(model="gpt-4o", max_tokens=5, messages=[{{"role": "user", "content": prompt}}])
'''
    res = lint(code, select=["PL205", "PL206"])
    by = sorted((d.code, d.line) for d in res.diagnostics)
    src = (tmp_path / "mod.py").read_text()
    user_line = src[: src.index(BLOCK, src.index("user = "))].count("\n") + 1
    other_line = src[: src.index(BLOCK, src.index("prompt = "))].count("\n") + 1
    assert by == [("PL205", user_line), ("PL206", other_line)]


def _file_prompt(path, text):
    path.write_text(text, encoding="utf-8")
    return Prompt(
        path=str(path), text=text, segments=(Segment(LITERAL, 0, len(text), 0, len(text)),), start=0, end=len(text),
        line=1, column=1, end_line=1, end_column=1, source="template", model="gpt-4o",
    )


def test_repeated_block_min_tokens_option(tmp_path):
    small = "Keep every answer short and polite, and reply in the language of the customer's message."
    prompts = [_file_prompt(tmp_path / f"{k}.prompt.txt", f"Task {k}: do something useful.\n\n{small}") for k in range(2)]
    assert RepeatedBlock().check_project(prompts, None) == []
    (d,) = RepeatedBlock({"min-tokens": 10}).check_project(prompts, None)
    assert (d.path, d.line, d.column, d.end_column) == (prompts[1].path, 3, 1, len(small) + 1)


def test_repeated_block_without_the_file_reports_nothing_rather_than_crash(tmp_path):
    prompts = [_file_prompt(tmp_path / f"{k}.prompt.txt", f"Task {k}.\n\n{BLOCK}") for k in range(2)]
    (tmp_path / "1.prompt.txt").unlink()
    assert RepeatedBlock().check_project(prompts, None) == []


def test_repeated_block_scales_with_buckets(tmp_path):
    prompts = []
    for k in range(1500):
        text = f"Task number {k}: handle ticket {k * 7}.\n\n" + (BLOCK if k % 3 == 0 else f"Ticket body {k}.")
        prompts.append(_file_prompt(tmp_path / f"p{k:04d}.prompt.txt", text))
    diags = RepeatedBlock().check_project(list(reversed(prompts)), None)
    assert len(diags) == 499
    assert all(str(tmp_path / "p0000.prompt.txt") + ":3" in d.message for d in diags)
    assert [d.path for d in diags] == sorted(d.path for d in diags)
    small = RepeatedBlock({"min-tokens": 10_000}).check_project(prompts, None)
    assert small == []


# ----------------------------------------------------------------------------------------------- passages


def test_units_of_a_prompt():
    text = "You are Acme's assistant. Be brief.\n\nRefund rules:\n- Unused items: 30 days.\n  Full refund.\n- Sale items: final.\n\n## Notes\n```\ncode\n\nmore\n```"
    p = ps.split(text)
    assert [(u.kind, text[u.start : u.end]) for u in p.units] == [
        ("sentence", "You are Acme's assistant."),
        ("sentence", "Be brief."),
        ("label", "Refund rules:"),
        ("item", "- Unused items: 30 days.\n  Full refund."),
        ("item", "- Sale items: final."),
        ("heading", "## Notes"),
        ("code", "```\ncode\n\nmore\n```"),
    ]


@pytest.mark.parametrize(
    "a,b,dup",
    [
        ("never make up prices or delivery dates for any order.", "never make up prices or delivery dates for any orders!", True),
        ("remember: never make up prices, tracking numbers or delivery dates for any order.", "never make up prices, tracking numbers or delivery dates for any order.", True),
        ("check the spelling of every sentence in the document.", "check the grammar of every sentence in the document.", False),
        ("refunds are issued within 5 to 7 business days of the return.", "refunds are issued within 5 to 8 business days of the return.", False),
        ("answer in english and keep the reply under one hundred words.", "answer only in english and keep the reply under one hundred words.", False),
    ],
)
def test_similarity_is_cosmetic_only(a, b, dup):
    assert (ps.similarity(a, b, 90) is not None) is dup
