"""Jinja templates (``.j2``, ``.jinja``, ``.jinja2``, plain-Jinja ``.prompt``, ``.prompty`` bodies, Jinja inside
YAML/JSON strings), tokenised with jinja2's own lexer.

What is measured is what ``jinja2.Environment()`` with its defaults would emit around the tags:

- ``{{ … }}`` is a PLACEHOLDER (dynamic, not counted); ``{% … %}`` and ``{# … #}`` are TAG units (static template
  syntax: kept in ``Prompt.text`` with their source spelling so rules and fixes can see where they are, but
  never counted and never edited);
- whitespace control is applied as Jinja applies it: whitespace eaten by ``{%-`` / ``-%}`` (and the ``{#-`` /
  ``{{-`` forms) is folded into the tag's unit, so it is neither in the static text nor editable;
- defaults ``trim_blocks=False`` / ``lstrip_blocks=False``: the newline after a ``{% … %}`` line *is* emitted
  (counted), as ``Template(text).render()`` emits it; a whole file's single trailing newline is dropped
  (``keep_trailing_newline=False``);
- ``{% raw %}`` bodies are text.

``{% if %}`` / ``{% for %}`` blocks give the static-token range (see common.branch_meta). Syntax errors
(jinja2's parser) raise :class:`~promptlint.pipeline.ExtractError` with the file line; tags of unknown
extensions are tolerated (the template is still measured).
"""

from __future__ import annotations

from functools import lru_cache

from ..types import PLACEHOLDER, TAG, LineIndex, SourceFile
from . import common

# Jinja's own block keywords: an "unknown tag" error naming one of these is a real error (a stray endif).
_BUILTIN_TAGS = frozenset(
    """if elif else endif for endfor block endblock extends include import from macro endmacro call endcall
    filter endfilter set endset with endwith autoescape endautoescape raw endraw trans pluralize endtrans do
    break continue""".split()
)
_BRANCH = {"if": ("open", "if"), "elif": ("alt", "elif"), "else": ("alt", "else"), "endif": ("close", "if"), "for": ("open", "for"), "endfor": ("close", "for")}


class TemplateError(Exception):
    def __init__(self, message: str, text_offset: int):
        super().__init__(message)
        self.message = message
        self.offset = text_offset


@lru_cache(maxsize=1)
def _env():
    import jinja2

    return jinja2.Environment(
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do", "jinja2.ext.loopcontrols"],
    )


def _line_offset(text: str, lineno: int) -> int:
    pos = 0
    for _ in range(max(0, lineno - 1)):
        nl = text.find("\n", pos)
        if nl == -1:
            return pos
        pos = nl + 1
    return pos


def looks_like_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def _pieces(text: str):
    """[(kind, start, end, info)] covering text: kind data | var | block | comment | raw. Raises TemplateError."""
    import jinja2

    env = _env()
    try:
        tokens = list(env.lexer.tokeniter(text, None))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"Jinja syntax error: {exc.message}", _line_offset(text, exc.lineno or 1)) from None
    pieces = []
    pos = 0
    cur = None  # [kind, start, end, info-list]
    closers = {"variable_end", "block_end", "comment_end"}
    openers = {"variable_begin": "var", "block_begin": "block", "comment_begin": "comment"}
    for _lineno, ttype, value in tokens:
        j = text.find(value, pos) if value else pos
        if j < 0 or (j > pos and text[pos:j].strip()):
            raise TemplateError("template could not be mapped to its source", pos)
        skipped = j > pos
        if ttype in openers or ttype in ("raw_begin", "raw_end"):
            start = pos if skipped else j  # whitespace eaten by `{%-` belongs to the tag
            if ttype in openers:
                cur = [openers[ttype], start, j + len(value), []]
            else:
                pieces.append(("raw", start, j + len(value), ()))
            pos = j + len(value)
            continue
        if cur is not None:
            cur[2] = j + len(value)
            if ttype not in ("whitespace",) and ttype not in closers:
                cur[3].append((ttype, value))
            pos = j + len(value)
            if ttype in closers:
                pieces.append((cur[0], cur[1], cur[2], tuple(cur[3])))
                cur = None
            continue
        if skipped and pieces:
            # whitespace eaten after a tag (`-%}` normally takes it in its own token)
            k, s, _e, info = pieces[-1]
            pieces[-1] = (k, s, j, info)
        if ttype == "data":
            pieces.append(("data", j, j + len(value), ()))
        pos = j + len(value)
    if cur is not None:
        if cur[0] != "comment":
            raise TemplateError("Jinja syntax error: unclosed tag", cur[1])
        pieces.append(("comment", cur[1], len(text), ()))  # jinja2 accepts a comment left open at the end
        pos = len(text)
    if pos < len(text) and not text[pos:].strip() and pieces:
        k, s, _e, info = pieces[-1]
        pieces[-1] = (k, s, len(text), info)
    elif pos < len(text):
        raise TemplateError("template could not be mapped to its source", pos)
    return pieces


def _check_syntax(text: str):
    import jinja2

    try:
        _env().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        msg = exc.message or "syntax error"
        if msg.startswith("Encountered unknown tag"):
            tag = msg.split("'")[1] if "'" in msg else ""
            if tag not in _BUILTIN_TAGS:
                return  # a custom extension's tag: measure the template anyway
        raise TemplateError(f"Jinja syntax error: {msg}", _line_offset(text, exc.lineno or 1)) from None
    except RecursionError:
        raise TemplateError("Jinja template nested too deeply to analyse", 0) from None


def _placeholder_name(info) -> str:
    parts = []
    for ttype, value in info:
        if ttype == "name" and (not parts or parts[-1] == "."):
            parts.append(value)
        elif ttype == "operator" and value == "." and parts and parts[-1] != ".":
            parts.append(".")
        else:
            break
    if parts and parts[-1] == ".":
        parts.pop()
    if parts:
        return "".join(parts)
    return " ".join(v for _t, v in info).strip()[:40]


def tokenize(units, check_syntax: bool = True):
    """Jinja tags of units -> (units, placeholder names, events). Raises TemplateError (text offsets)."""
    text = "".join(u[0] for u in units)
    if any(len(u[0]) != 1 for u in units):
        raise TemplateError("template could not be mapped to its source", 0)
    if check_syntax:
        _check_syntax(text)
    pieces = _pieces(text)
    out = []
    names = []
    events = {}
    for kind, s, e, info in pieces:
        if kind == "data":
            out.extend(units[s:e])
            continue
        if e <= s:
            continue
        src0, src1 = units[s][1], units[e - 1][2]
        tag_text = text[s:e]
        if kind == "var":
            name = _placeholder_name(info)
            names.append(name)
            out.append((tag_text, src0, src1, PLACEHOLDER))
            continue
        out.append((tag_text, src0, src1, TAG))
        if kind == "block":
            kw = next((v for t, v in info if t == "name"), None)
            if kw in _BRANCH:
                events[src0] = _BRANCH[kw]
    return out, names, events


def error_position(units, offset: int, index: LineIndex):
    """File (line, column) of a text offset into units."""
    if not units:
        return 1, 1
    k = min(max(offset, 0), len(units) - 1)
    return index.position(units[k][1])


def extract(source: SourceFile, cfg, units=None, *, name=None, model=None, role=None, meta=None, drop_final_newline=True):
    """One prompt for a whole Jinja file (or the given units of it)."""
    from ..pipeline import ExtractError

    index = LineIndex(source.text)
    if units is None:
        units = common.newline_units(source.text)
    try:
        out, names, events = tokenize(units)
    except TemplateError as exc:
        line, col = error_position(units, exc.offset, index)
        raise ExtractError(exc.message, line, col) from None
    if drop_final_newline and out and out[-1][0] == "\n" and out[-1][3] != TAG:
        out = out[:-1]
    p = common.build_prompt(
        source,
        out,
        index,
        name=name or common.file_stem(source.path),
        role=role,
        model=model,
        placeholders=names,
        events=events,
        meta=meta,
    )
    return [p] if p is not None else []


__all__ = ["tokenize", "extract", "TemplateError", "looks_like_jinja"]
