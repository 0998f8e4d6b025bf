"""indentation-waste: a multi-line prompt sent with its source indentation."""

from __future__ import annotations

from ._text import saved_tokens, translatable
from .base import SAFE, Docs, Examples, Finding, Rule, TextEdit


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def common_margin(lines) -> str:
    margin = None
    for ln in lines:
        if not ln.strip():
            continue
        ind = _indent(ln)
        if margin is None:
            margin = ind
        else:
            k = 0
            while k < min(len(ind), len(margin)) and ind[k] == margin[k]:
                k += 1
            margin = margin[:k]
        if not margin:
            return ""
    return margin or ""


class IndentationWaste(Rule):
    code = "PL202"
    name = "indentation-waste"
    severity = "warning"
    summary = "Prompt sent with its source indentation"
    fix = SAFE
    options = {"min-tokens": 1}
    docs = Docs(
        what=(
            "Finds a multi-line prompt whose lines all carry a common indentation - typically a triple-quoted "
            "literal indented with the code around it and sent without `textwrap.dedent` / `inspect.cleandoc`. "
            "The finding states the tokens that dedenting saves (counted with the tokenizer). In a Python literal, a "
            "first line that starts right after the opening quote is ignored when computing the margin (as "
            "`inspect.cleandoc` does) when the other lines carry code-level indentation (4+ spaces or tabs)."
        ),
        why="Indentation is repeated on every line and paid on every call; the model reads the text the same without it.",
        example='class Bot:\n    SYSTEM = """You are a support agent.\n        Answer in English.\n        Be brief."""',
        fix_safety=(
            "Safe: the fix removes the common indentation inside the literal (a dedented literal); words, relative "
            "indentation and placeholders are unchanged. Prompts that the code already dedents at run time are not "
            "reported."
        ),
    )
    examples = Examples(
        valid=[
            "You are a support agent.\nAnswer in English.",
            "Steps:\n  1. Read.\n  2. Answer.",
        ],
        invalid=[
            "\n        You are a support agent.\n        Answer in English.\n        Be brief.\n",
            "  You are a support agent.\n  Answer in English.\n  Be brief.",
        ],
        fixed=[
            ("\n        You are a support agent.\n        Answer in English.\n        Be brief.\n", "\nYou are a support agent.\nAnswer in English.\nBe brief.\n"),
            ("  You are a support agent.\n  Answer in English.\n  Be brief.", "You are a support agent.\nAnswer in English.\nBe brief."),
        ],
    )

    def check(self, prompt, ctx):
        if prompt.dedent and prompt.dynamic:
            return []  # dedent(f"...") dedents after interpolation: the real margin depends on the values
        text = prompt.text
        lines = text.split("\n")
        if len([ln for ln in lines if ln.strip()]) < 2:
            return []
        first_counts = bool(lines[0].strip()) and not _indent(lines[0])
        body = lines[1:] if first_counts else lines
        margin = common_margin(body)
        if not margin:
            return []
        if first_counts and (prompt.source != "python" or (len(margin) < 4 and "\t" not in margin)):
            # "Steps:\n  1. Read" is a list under a heading, not code indentation: only a Python literal whose
            # first line follows the opening quote and whose other lines carry code-level indentation counts
            return []
        edits = []
        pos = 0
        for i, ln in enumerate(lines):
            if not (i == 0 and first_counts) and ln.strip() and ln.startswith(margin):
                edits.append(TextEdit(pos, pos + len(margin), ""))
            pos += len(ln) + 1
        if not edits:
            return []
        saved = saved_tokens(prompt, ctx, edits)
        if saved < int(self.opts.get("min-tokens", 1)):
            return []
        fixable = translatable(prompt, edits)
        if len(fixable) != len(edits):
            fixable = []
        width = margin.replace("\t", "\\t")
        return [
            Finding(
                edits[0].start,
                edits[0].end,
                f"Prompt is sent with {len(margin)}-character indentation ('{width}') on {len(edits)} lines: {saved} token{'s' if saved != 1 else ''} per call",
                tokens_wasted=saved,
                fix_applicability=SAFE if fixable else None,
                fix_message="Dedent the prompt text",
                edits=tuple(fixable),
            )
        ]


RULE = IndentationWaste
