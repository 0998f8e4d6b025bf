"""whitespace-waste: whitespace the model pays for and does not need."""

from __future__ import annotations

import re

from ._text import fenced_ranges, inside, overlaps_opaque, saved_tokens, translatable
from .base import SAFE, Docs, Examples, Finding, Rule, TextEdit

_TRAILING = re.compile(r"[ \t\u3000]+(?=\r?\n)")
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\r?\n){3,}")
_SPACE_RUN = re.compile(r"(?<=\S) {2,}(?=\S)")
_TAB_RUN = re.compile(r"(?<=\S)(?:\t[ \t]*\t|\t +| +\t)[ \t]*(?=\S)")
_LEADING_BLANK = re.compile(r"\A(?:[ \t]*\r?\n)+(?=[ \t]*\S)")
_TRAILING_END = re.compile(r"(?<=\S)\s+\Z")


class WhitespaceWaste(Rule):
    code = "PL201"
    name = "whitespace-waste"
    severity = "warning"
    summary = "Whitespace that costs tokens"
    fix = SAFE
    options = {"min-tokens": 1}
    docs = Docs(
        what=(
            "Finds whitespace in a prompt that costs tokens without changing what the model reads: trailing "
            "spaces and tabs at line ends, runs of three or more blank lines, runs of spaces inside a line, tabs "
            "used for layout inside a line, and blank lines or whitespace at the very start or end of a multi-line "
            "prompt. Reported only where the tokenizer says it costs tokens (option `min-tokens`, default 1), "
            "with the number. Fenced code blocks keep their inner spacing; lines laid out in columns (two or more "
            "space runs) are left alone."
        ),
        why="Every whitespace token is paid on every call and carries no meaning for the model.",
        example='PROMPT = "You are   a helpful assistant.   \\n\\n\\n\\n\\nAnswer briefly."',
        fix_safety="Safe: only whitespace changes; wording and placeholders are untouched.",
    )
    examples = Examples(
        valid=[
            "You are a helpful assistant.\n\nAnswer briefly.",
            "Name      Age\nAlice     30\nBob       41",
            "Use this code:\n```\nif x:\n    y  =  1\n```\nThen answer.",
        ],
        invalid=[
            "You are a helpful assistant.   \nAnswer briefly.",
            "You are a helpful assistant.\n\n\n\n\n\n\n\n\n\n\n\n\nAnswer briefly.",
            "You are a    helpful assistant.",
        ],
        fixed=[
            ("You are a helpful assistant.   \nAnswer briefly.", "You are a helpful assistant.\nAnswer briefly."),
            ("You are a helpful assistant.\n\n\n\n\n\n\n\n\n\n\n\n\nAnswer briefly.", "You are a helpful assistant.\n\nAnswer briefly."),
            ("You are a    helpful assistant.", "You are a helpful assistant."),
        ],
    )

    def check(self, prompt, ctx):
        text = prompt.text
        fences = fenced_ranges(text)
        kinds = {}

        def add(kind, start, end, content):
            if end <= start or overlaps_opaque(prompt, start, end):
                return
            kinds.setdefault(kind, []).append(TextEdit(start, end, content))

        for m in _TRAILING.finditer(text):
            add("trailing whitespace", m.start(), m.end(), "")
        for m in _BLANK_RUN.finditer(text):
            add("blank-line run", m.start(), m.end(), "\n\n")
        # Column layout (tables aligned with spaces): a line with two or more runs, or runs on adjacent lines.
        runs = []
        pos = 0
        for line in text.split("\n"):
            runs.append((pos, len(_SPACE_RUN.findall(line)) + len(_TAB_RUN.findall(line))))
            pos += len(line) + 1
        lines_with_columns = set()
        for k, (start, n) in enumerate(runs):
            if n >= 2 or n and ((k and runs[k - 1][1]) or (k + 1 < len(runs) and runs[k + 1][1])):
                lines_with_columns.add(start)
        for rx, kind in ((_SPACE_RUN, "space run"), (_TAB_RUN, "tab layout")):
            for m in rx.finditer(text):
                line_start = text.rfind("\n", 0, m.start()) + 1
                if line_start in lines_with_columns or inside(fences, m.start(), m.end()):
                    continue
                add(kind, m.start(), m.end(), " ")
        if "\n" in text.strip():
            # a single newline after an opening or before a closing triple quote is conventional; more is waste
            m = _LEADING_BLANK.search(text)
            if m and m.group(0) not in ("\n", "\r\n"):
                add("leading blank line", m.start(), m.end(), "")
            m = _TRAILING_END.search(text)
            if m and "\n" in m.group(0) and m.group(0) not in ("\n", "\r\n"):
                add("trailing blank space", m.start(), m.end(), "")
        if not kinds:
            return []
        all_edits = sorted((e for es in kinds.values() for e in es), key=lambda e: e.start)
        # drop overlapping edits (e.g. trailing spaces inside a blank-line run)
        edits = []
        for e in all_edits:
            if edits and e.start < edits[-1].end:
                continue
            edits.append(e)
        saved = saved_tokens(prompt, ctx, edits)
        if saved < int(self.opts.get("min-tokens", 1)):
            return []
        parts = ", ".join(f"{len(v)} {k}{'s' if len(v) != 1 else ''}" for k, v in kinds.items())
        fixable = translatable(prompt, edits)
        return [
            Finding(
                edits[0].start,
                edits[0].end,
                f"Whitespace costs {saved} token{'s' if saved != 1 else ''} per call ({parts})",
                tokens_wasted=saved,
                fix_applicability=SAFE if fixable else None,
                fix_message="Remove the extra whitespace",
                edits=tuple(fixable),
            )
        ]


RULE = WhitespaceWaste
