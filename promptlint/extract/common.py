"""Shared pieces of the prompt-file extractors: units with normalised newlines, prompt building, the
static-token range of template blocks (``{% if %}``/``{% for %}``, ``{{#if}}``/``{{#each}}``).

Template tokenisers (jinja.py, handlebars.py) turn character units into units where each tag is one opaque
unit (``TAG`` for static template syntax, ``PLACEHOLDER`` for dynamic fields) and report the block structure
as *events* keyed by the tag unit's file offset: ``{src_start: (op, keyword)}`` with op ``open`` / ``alt`` /
``close`` / ``role``. :func:`branch_meta` turns units + events into the ``outside_text`` / ``branches`` meta
that measure.py converts into ``tokens_min`` / ``tokens_max``.
"""

from __future__ import annotations

import os
import re
from typing import Optional

from ..types import ESCAPE, JOIN, LITERAL, OPAQUE_KINDS, PLACEHOLDER, TAG, LineIndex, Prompt, SourceFile
from .units import to_segments, units_text

# Blocks whose body is rendered at most once (one alternative is chosen) vs. repeated (0..n times).
CHOICE_BLOCKS = frozenset({"if", "unless", "with", "^"})
LOOP_BLOCKS = frozenset({"for", "each"})


def file_stem(path: str) -> str:
    """``prompts/triage.j2`` -> ``triage``; ``system.prompt.md`` -> ``system``."""
    base = os.path.basename(path)
    root, _ext = os.path.splitext(base)
    if root.lower().endswith(".prompt"):
        root = root[: -len(".prompt")]
    return root or base


def newline_units(text: str, base: int = 0, start: int = 0, end: Optional[int] = None) -> list:
    """One unit per character of ``text[start:end]``; a CRLF pair or a lone CR becomes one ``\\n`` unit (the
    newline a template engine or YAML reader delivers)."""
    end = len(text) if end is None else end
    out = []
    i = start
    while i < end:
        ch = text[i]
        if ch == "\r":
            if i + 1 < end and text[i + 1] == "\n":
                out.append(("\n", base + i, base + i + 2, ESCAPE))
                i += 2
                continue
            out.append(("\n", base + i, base + i + 1, ESCAPE))
            i += 1
            continue
        out.append((ch, base + i, base + i + 1, LITERAL))
        i += 1
    return out


def merge_coarse(units) -> list:
    """Merge runs of ESCAPE units that share one source span (a coarse map) into one unit."""
    out = []
    for u in units:
        if out and u[3] == ESCAPE and out[-1][3] == ESCAPE and out[-1][1] == u[1] and out[-1][2] == u[2]:
            prev = out[-1]
            out[-1] = (prev[0] + u[0], prev[1], prev[2], ESCAPE)
        else:
            out.append(u)
    return out


def coarse_units(value: str, src_start: int, src_end: int) -> list:
    """A value whose exact mapping is unknown: every character maps to the whole source span."""
    return [(ch, src_start, src_end, ESCAPE) for ch in value]


def static_of_units(units) -> str:
    return "".join(u[0] for u in units if u[3] not in OPAQUE_KINDS)


def strip_ws(units) -> list:
    """Strip whitespace units (one character each) from both ends; opaque units stop the strip."""
    lo, hi = 0, len(units)
    while lo < hi and units[lo][3] not in OPAQUE_KINDS and units[lo][0].isspace():
        lo += 1
    while hi > lo and units[hi - 1][3] not in OPAQUE_KINDS and units[hi - 1][0].isspace():
        hi -= 1
    return units[lo:hi]


# -------------------------------------------------------------------------------------------- branches


class _Block:
    __slots__ = ("kw", "alts", "has_else")

    def __init__(self, kw):
        self.kw = kw
        self.alts = [[]]
        self.has_else = False


def _variants(items) -> tuple:
    """(lean, fat) static texts of an item list; nested blocks pick their shortest / longest alternative
    (by characters: the extractor does not know the tokenizer; the top level is exact in tokens)."""
    lean, fat = [], []
    for it in items:
        if isinstance(it, str):
            lean.append(it)
            fat.append(it)
        else:
            alts = _alternatives(it)
            lean.append(min(alts, key=len))
            fat.append(max(alts, key=len))
    return "".join(lean), "".join(fat)


def _alternatives(b: _Block) -> tuple:
    """Alternative static texts of one block (deduplicated, order kept)."""
    alts = []
    if b.kw in LOOP_BLOCKS:
        if b.has_else and len(b.alts) > 1:
            for a in b.alts:
                alts.extend(_variants(a))
        else:
            alts.append("")
            alts.extend(_variants(b.alts[0]))
    else:
        for a in b.alts:
            alts.extend(_variants(a))
        if not b.has_else:
            alts.append("")
    return tuple(dict.fromkeys(alts))


def branch_meta(units, events) -> Optional[dict]:
    """``{"outside_text": str, "branches": ((alt, ...), ...)}`` when the units hold if/for blocks, else None.

    ``for`` blocks give ``("", body)`` (zero or one pass; repeats are not counted), ``if`` chains give one
    alternative per branch plus ``""`` when there is no ``else``. Unbalanced tags (a block cut by a role
    marker) are tolerated: a stray close is ignored, an unclosed block ends with the units.
    """
    if not events:
        return None
    root: list = []
    stack = []  # open blocks
    any_block = False

    def current():
        return stack[-1].alts[-1] if stack else root

    for u in units:
        ev = events.get(u[1]) if u[3] == TAG else None
        if ev is None:
            if u[3] in OPAQUE_KINDS or u[3] == JOIN:
                continue
            cur = current()
            if cur and isinstance(cur[-1], str):
                cur[-1] += u[0]
            else:
                cur.append(u[0])
            continue
        op, kw = ev
        if op == "open" and (kw in CHOICE_BLOCKS or kw in LOOP_BLOCKS):
            b = _Block(kw)
            current().append(b)
            stack.append(b)
            any_block = True
        elif op == "alt" and stack:
            stack[-1].alts.append([])
            if kw == "else":
                stack[-1].has_else = True
        elif op == "close" and stack and (kw is None or kw == stack[-1].kw):
            stack.pop()
    if not any_block:
        return None
    outside = "".join(it for it in root if isinstance(it, str))
    branches = tuple(_alternatives(it) for it in root if not isinstance(it, str))
    return {"outside_text": outside, "branches": branches}


# ---------------------------------------------------------------------------------------------- prompts


def build_prompt(
    source: SourceFile,
    units,
    index: LineIndex,
    *,
    name: Optional[str],
    role: Optional[str] = None,
    model: Optional[str] = None,
    placeholders=(),
    events=None,
    meta: Optional[dict] = None,
    fixable: bool = True,
    span: Optional[tuple] = None,
    keep_empty: bool = False,
) -> Optional[Prompt]:
    """A template Prompt from units (None when there is nothing in it)."""
    units = merge_coarse(units)
    text = units_text(units)
    if not text.strip() and not keep_empty:
        return None
    if not any(u[3] == PLACEHOLDER for u in units) and not static_of_units(units).strip():
        return None
    real = [u for u in units if u[3] != JOIN]
    if span is None:
        s0, s1 = real[0][1], real[-1][2]
    else:
        s0, s1 = span
    line, col = index.position(s0)
    eline, ecol = index.position(s1)
    m = dict(meta or {})
    bm = branch_meta(units, events or {})
    if bm:
        m.update(bm)
    p = Prompt(
        path=source.path,
        text=text,
        segments=to_segments(units),
        start=s0,
        end=s1,
        line=line,
        column=col,
        end_line=eline,
        end_column=ecol,
        source="template",
        name=name,
        role=role,
        model=model,
        placeholders=tuple(dict.fromkeys(n for n in placeholders if n)),
        origin="file",
        host="template",
        fixable=fixable,
    )
    if m:
        p = p.with_meta(**m)
    return p


def placeholders_of(units) -> list:
    return [u[0] for u in units if u[3] == PLACEHOLDER]


_IDENT_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def brace_fields(units) -> tuple:
    """``{name}`` fields (crewAI / str.format style interpolation, identifiers only) as placeholders.

    Only plain identifiers count: ``{"queue": ...}`` in a JSON example stays text. ``{{`` / ``}}`` are left
    alone (a doubled brace is a literal brace in str.format, and text in the other dialects).
    """
    text = units_text(units)
    if "{" not in text:
        return units, []
    starts = []
    pos = 0
    for u in units:
        starts.append(pos)
        pos += len(u[0])
    by_start = {s: k for k, s in enumerate(starts)}
    out = []
    names = []
    k = 0
    n = len(units)
    while k < n:
        u = units[k]
        if u[0] == "{" and u[3] in (LITERAL, ESCAPE):
            i = starts[k]
            m = _IDENT_FIELD.match(text, i)
            if m and not (i > 0 and text[i - 1] == "{") and not text.startswith("}", m.end()):
                kend = by_start.get(m.end())
                kend = (n if m.end() == len(text) else kend)
                if kend is not None and all(units[q][3] in (LITERAL, ESCAPE) for q in range(k, kend)):
                    out.append((m.group(0), u[1], units[kend - 1][2], PLACEHOLDER))
                    names.append(m.group(1))
                    k = kend
                    continue
        out.append(u)
        k += 1
    return out, names


def section_lines(text: str):
    """(line_start, line_end_without_newline, line_end_with_newline) for each line of text."""
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        if nl == -1:
            yield pos, n, n
            return
        yield pos, nl, nl + 1
        pos = nl + 1


def text_starts(units) -> list:
    starts = []
    pos = 0
    for u in units:
        starts.append(pos)
        pos += len(u[0])
    starts.append(pos)
    return starts
