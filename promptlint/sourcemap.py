"""Translate prompt-text offsets to file offsets through a prompt's segments.

Rules speak in prompt text; the file is what gets reported and edited. A position inside a literal segment
maps linearly; a position inside an escape, placeholder or tag maps to that segment's edges. An edit is
translated only when it touches nothing but literal text (and whole escapes): an edit that would cut into a
placeholder, a template tag, an escape sequence or the join between two literals is refused (None).
"""

from __future__ import annotations

from typing import Optional

from .types import ESCAPE, JOIN, LITERAL, OPAQUE_KINDS


def _text_segments(segments):
    return [s for s in segments if s.kind != JOIN]


def src_offset(segments, t: int, side: str = "start") -> Optional[int]:
    """File offset of text offset ``t``. ``side`` picks the segment at a boundary: the one starting at t
    ("start") or the one ending at t ("end")."""
    segs = _text_segments(segments)
    if not segs:
        return None
    for s in segs:
        if side == "start" and s.start <= t < s.end or side == "end" and s.start < t <= s.end:
            if s.kind == LITERAL:
                return s.src_start + (t - s.start)
            return s.src_start if side == "start" else s.src_end
    if t <= segs[0].start:
        return segs[0].src_start
    return segs[-1].src_end


def map_span(segments, start: int, end: int) -> Optional[tuple]:
    """File span covering text span [start, end) for reporting (never None when the prompt has text)."""
    if end <= start:
        a = src_offset(segments, start, "start")
        return (a, a) if a is not None else None
    a = src_offset(segments, start, "start")
    b = src_offset(segments, end, "end")
    if a is None or b is None:
        return None
    return (a, max(a, b))


def map_edit(segments, start: int, end: int) -> Optional[tuple]:
    """File span for an edit of text [start, end), or None when the edit is not safely translatable."""
    for s in segments:
        if s.kind == JOIN:
            if start < s.start < end:
                return None
            continue
        overlaps = s.start < end and start < s.end
        touches_insert = start == end and s.start < start < s.end
        if not (overlaps or touches_insert):
            continue
        if s.kind in OPAQUE_KINDS:
            return None
        if s.kind == ESCAPE and not (start <= s.start and s.end <= end):
            return None
    if start == end:
        # an insertion: choose the literal segment that contains or ends at the point
        for s in segments:
            if s.kind == LITERAL and s.start <= start <= s.end:
                return (s.src_start + start - s.start,) * 2
        return None
    a = src_offset(segments, start, "start")
    b = src_offset(segments, end, "end")
    if a is None or b is None or b < a:
        return None
    return (a, b)


def editable(segments, start: int, end: int) -> bool:
    """Can text [start, end) be edited in the file? (Rules use this to offer only translatable edits.)"""
    return map_edit(segments, start, end) is not None
