"""Helpers shared by the prompt-text rules."""

from __future__ import annotations

import re

from ..sourcemap import editable
from ..types import OPAQUE_KINDS

_FENCE = re.compile(r"^[ \t]*(```|~~~)", re.M)


def fenced_ranges(text: str) -> list:
    """[start, end) ranges of fenced code blocks (``` or ~~~)."""
    out = []
    marks = [m.start() for m in _FENCE.finditer(text)]
    for a, b in zip(marks[0::2], marks[1::2]):
        out.append((a, b))
    if len(marks) % 2:
        out.append((marks[-1], len(text)))
    return out


def inside(ranges, start: int, end: int) -> bool:
    return any(a <= start and end <= b for a, b in ranges)


def opaque_ranges(prompt) -> list:
    return [(s.start, s.end) for s in prompt.segments if s.kind in OPAQUE_KINDS]


def overlaps_opaque(prompt, start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in opaque_ranges(prompt))


def apply_edits(text: str, edits) -> str:
    out = []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < pos:
            continue
        out.append(text[pos : e.start])
        out.append(e.content)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def static_of(prompt, text: str) -> str:
    """Static text of an edited prompt text: edits never touch placeholders, so drop the same spellings."""
    if not any(s.kind in OPAQUE_KINDS for s in prompt.segments):
        return text
    for s in prompt.segments:
        if s.kind in OPAQUE_KINDS:
            text = text.replace(prompt.text[s.start : s.end], "", 1)
    return text


def saved_tokens(prompt, ctx, edits) -> int:
    before = prompt.static_text
    after = static_of(prompt, apply_edits(prompt.text, edits))
    return max(0, ctx.count(before) - ctx.count(after))


def translatable(prompt, edits) -> list:
    return [e for e in edits if editable(prompt.segments, e.start, e.end)] if prompt.fixable else []
