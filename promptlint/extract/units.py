"""Text units: the bridge between what the API receives and where it sits in the file.

A *unit* is ``(text, src_start, src_end, kind)``. Every character of a prompt's text belongs to exactly one
unit. ``LITERAL`` units are character-for-character copies of the file (``text == file[src_start:src_end]``);
``ESCAPE`` units decode a representation (``\\n``, ``{{``); ``PLACEHOLDER`` and ``TAG`` units are opaque.
Transforms (dedent, cleandoc, format-template parsing) work on unit lists and keep the mapping exact; when an
exact mapping cannot be kept they say so and the prompt becomes not fixable.
"""

from __future__ import annotations

import inspect
import re
import string
import sys
import textwrap
import unicodedata

from ..types import ESCAPE, JOIN, LITERAL, PLACEHOLDER, TAG, Segment

Unit = tuple  # (text, src_start, src_end, kind)


def literal_units(text: str, src_start: int) -> list:
    """One literal unit per character (cheap enough for prompt-sized strings)."""
    return [(ch, src_start + i, src_start + i + 1, LITERAL) for i, ch in enumerate(text)]


_SIMPLE_ESCAPES = {
    "\n": "",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


def decode_body(body: str, src_start: int, raw: bool, fstring_text: bool = False) -> list:
    """Decode the body of a Python string literal (between the quotes) into units.

    ``fstring_text``: the body is a literal part of an f-string, where ``{{``/``}}`` stand for braces.
    Raises ValueError on an escape Python itself would reject (``\\N{bogus}``, truncated ``\\x``).
    """
    units = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "\\" and not raw:
            if i + 1 >= n:
                units.append(("\\", src_start + i, src_start + i + 1, LITERAL))
                i += 1
                continue
            nxt = body[i + 1]
            if nxt in _SIMPLE_ESCAPES:
                out = _SIMPLE_ESCAPES[nxt]
                if out:
                    units.append((out, src_start + i, src_start + i + 2, ESCAPE))
                i += 2
                continue
            if nxt in "01234567":
                j = i + 1
                while j < n and j < i + 4 and body[j] in "01234567":
                    j += 1
                units.append((chr(int(body[i + 1 : j], 8)), src_start + i, src_start + j, ESCAPE))
                i = j
                continue
            if nxt in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[nxt]
                hexs = body[i + 2 : i + 2 + width]
                if len(hexs) != width or any(c not in string.hexdigits for c in hexs):
                    raise ValueError("truncated \\x/\\u escape")
                units.append((chr(int(hexs, 16)), src_start + i, src_start + i + 2 + width, ESCAPE))
                i += 2 + width
                continue
            if nxt == "N" and i + 2 < n and body[i + 2] == "{":
                close = body.find("}", i + 3)
                if close == -1:
                    raise ValueError("malformed \\N escape")
                units.append((unicodedata.lookup(body[i + 3 : close]), src_start + i, src_start + close + 1, ESCAPE))
                i = close + 1
                continue
            # unknown escape: both characters are kept verbatim
            units.append(("\\", src_start + i, src_start + i + 1, LITERAL))
            i += 1
            continue
        if ch == "\r":
            # Python reads source with universal newlines: CRLF (or a lone CR) inside a literal is "\n"
            width = 2 if i + 1 < n and body[i + 1] == "\n" else 1
            units.append(("\n", src_start + i, src_start + i + width, ESCAPE))
            i += width
            continue
        if fstring_text and ch in "{}" and i + 1 < n and body[i + 1] == ch:
            units.append((ch, src_start + i, src_start + i + 2, ESCAPE))
            i += 2
            continue
        units.append((ch, src_start + i, src_start + i + 1, LITERAL))
        i += 1
    return units


def units_text(units) -> str:
    return "".join(u[0] for u in units)


def to_segments(units) -> tuple:
    """Merge adjacent literal units that are contiguous in text and file into Segments."""
    segs = []
    pos = 0
    cur = None  # [kind, start, end, src_start, src_end]
    for text, s0, s1, kind in units:
        ln = len(text)
        if ln == 0:
            if kind == JOIN:
                if cur is not None:
                    segs.append(Segment(*cur))
                    cur = None
                segs.append(Segment(JOIN, pos, pos, s0, s1))
            continue
        if (
            cur is not None
            and kind == LITERAL
            and cur[0] == LITERAL
            and cur[4] == s0
        ):
            cur[2] += ln
            cur[4] = s1
        else:
            if cur is not None:
                segs.append(Segment(*cur))
            cur = [kind, pos, pos + ln, s0, s1]
        pos += ln
    if cur is not None:
        segs.append(Segment(*cur))
    return tuple(segs)


def _lines(units):
    """Split units into lines; each line is a list of units, the newline unit ends its line."""
    lines = [[]]
    for u in units:
        lines[-1].append(u)
        if u[0] == "\n":
            lines.append([])
    return lines


def dedent_units(units) -> tuple[list, bool]:
    """textwrap.dedent over units. Returns (units, exact)."""
    text = units_text(units)
    expected = textwrap.dedent(text)
    if any(len(u[0]) != 1 and u[3] != PLACEHOLDER for u in units):
        return units, False
    lines = _lines(units)
    # 1. whitespace-only lines lose their spaces/tabs (keep the newline)
    work = []
    for line in lines:
        body = [u for u in line if u[0] != "\n"]
        if body and all(u[0] in " \t" for u in body):
            work.append([u for u in line if u[0] == "\n"])
        else:
            work.append(line)
    # 2. common leading whitespace of the remaining non-empty lines
    margin = None
    for line in work:
        body = [u[0] for u in line if u[0] != "\n"]
        if not body:
            continue
        indent = []
        for c in body:
            if c in " \t":
                indent.append(c)
            else:
                break
        if len(indent) == len(body):
            continue
        ind = "".join(indent)
        if margin is None:
            margin = ind
        elif ind.startswith(margin):
            pass
        elif margin.startswith(ind):
            margin = ind
        else:
            k = 0
            while k < min(len(ind), len(margin)) and ind[k] == margin[k]:
                k += 1
            margin = margin[:k]
    out = []
    for line in work:
        if margin and units_text(line[: len(margin)]) == margin:
            out.extend(line[len(margin) :])
        else:
            out.extend(line)
    return out, units_text(out) == expected


def cleandoc_units(units) -> tuple[list, bool]:
    """inspect.cleandoc over units. Returns (units, exact). Tabs make it inexact (expandtabs)."""
    text = units_text(units)
    expected = inspect.cleandoc(text)
    if "\t" in text or any(len(u[0]) != 1 and u[3] != PLACEHOLDER for u in units):
        return units, False
    lines = [[u for u in line if u[0] != "\n"] for line in _lines(units)]
    newlines = [u for u in units if u[0] == "\n"]
    margin = sys.maxsize
    for line in lines[1:]:
        t = units_text(line)
        content = len(t.lstrip())
        if content:
            margin = min(margin, len(t) - content)
    if lines:
        first = lines[0]
        k = 0
        while k < len(first) and first[k][0].isspace():
            k += 1
        lines[0] = first[k:]
    if margin < sys.maxsize:
        lines = [lines[0]] + [line[margin:] for line in lines[1:]]
    # keep track of which newline joins which lines: newline i joins line i and i+1
    idx = list(range(len(lines)))
    while idx and not lines[idx[-1]]:
        idx.pop()
    while idx and not lines[idx[0]]:
        idx.pop(0)
    out = []
    for pos, li in enumerate(idx):
        if pos > 0:
            out.append(newlines[li - 1])
        out.extend(lines[li])
    return out, units_text(out) == expected


def strip_units(units, chars=None) -> list:
    lo, hi = 0, len(units)
    while lo < hi and (units[lo][0].isspace() if chars is None else units[lo][0] in chars) and len(units[lo][0]) == 1:
        lo += 1
    while hi > lo and (units[hi - 1][0].isspace() if chars is None else units[hi - 1][0] in chars) and len(units[hi - 1][0]) == 1:
        hi -= 1
    return units[lo:hi]


def format_units(units) -> tuple[list, list]:
    """Parse units as a str.format template: ``{name}`` fields become placeholders, ``{{``/``}}`` braces.

    Returns (units, placeholder_names). Text that is not a valid format string is returned unchanged.
    """
    text = units_text(units)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return units, []
    # Walk the text again to map fields to unit ranges.
    out = []
    names = []
    # offsets of unit starts in text
    starts = []
    pos = 0
    for u in units:
        starts.append(pos)
        pos += len(u[0])
    by_start = {s: k for k, s in enumerate(starts)}
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        k = by_start.get(i)
        if k is None:  # inside a multi-char unit (placeholder from an f-string): copy it whole
            i += 1
            continue
        u = units[k]
        if len(u[0]) > 1:
            out.append(u)
            i += len(u[0])
            continue
        if c in "{}" and i + 1 < n and text[i + 1] == c and (i + 1) in by_start and len(units[k + 1][0]) == 1:
            out.append((c, u[1], units[k + 1][2], ESCAPE))
            i += 2
            continue
        if c == "{":
            depth = 0
            j = i
            while j < n:
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n or (j + 1) not in by_start and j + 1 != n:
                return units, []
            kend = by_start.get(j)
            if kend is None:
                return units, []
            field_text = text[i : j + 1]
            inner = field_text[1:-1]
            name = re.split(r"[!:.\[]", inner, maxsplit=1)[0]
            names.append(name)
            out.append((field_text, u[1], units[kend][2], PLACEHOLDER))
            i = j + 1
            continue
        out.append(u)
        i += 1
    del parsed
    return out, names


_PERCENT_RE = re.compile(r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])")


def percent_units(units) -> tuple[list, list]:
    """Parse units as a printf-style template: ``%s``/``%(name)s`` become placeholders, ``%%`` a percent."""
    text = units_text(units)
    starts = []
    pos = 0
    for u in units:
        starts.append(pos)
        pos += len(u[0])
    by_start = {s: k for k, s in enumerate(starts)}
    out = []
    names = []
    k = 0
    while k < len(units):
        u = units[k]
        i = starts[k]
        if u[0] == "%" and len(u[0]) == 1:
            m = _PERCENT_RE.match(text, i)
            if m and by_start.get(m.end()) is not None or (m and m.end() == len(text)):
                kend = by_start.get(m.end(), len(units)) - 1
                if all(len(units[q][0]) == 1 for q in range(k, kend + 1)):
                    if m.group("conv") == "%":
                        out.append(("%", u[1], units[kend][2], ESCAPE))
                    else:
                        names.append(m.group("key") or "%" + m.group("conv"))
                        out.append((m.group(0), u[1], units[kend][2], PLACEHOLDER))
                    k = kend + 1
                    continue
        out.append(u)
        k += 1
    return out, names


__all__ = [
    "Unit",
    "literal_units",
    "decode_body",
    "units_text",
    "to_segments",
    "dedent_units",
    "cleandoc_units",
    "strip_units",
    "format_units",
    "percent_units",
    "LITERAL",
    "ESCAPE",
    "PLACEHOLDER",
    "TAG",
]
