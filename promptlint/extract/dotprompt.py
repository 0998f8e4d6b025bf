"""``.prompt`` files: two dialects share the extension, told apart by content.

- **dotprompt** (Google Genkit): optional leading ``#`` comment lines, YAML front matter between ``---``
  lines, a Handlebars body with ``{{role "system"}}`` message markers, ``{{! comments }}``, ``{{#if}}``,
  ``{{> partial}}``, ``{{var}}``. Front matter ``model`` selects the tokenizer (``googleai/gemini-2.5-flash``
  -> Gemini estimate); ``config.maxOutputTokens`` is recorded as meta ``max_tokens``. Each role section is a
  prompt (``{{role "model"}}`` -> assistant), named ``<stem>:<role>``; text before the first marker (or a
  body without markers) is one ``user`` prompt. Sections are measured with surrounding whitespace stripped.
- **plain Jinja** (gpt-pilot style): no front matter, ``{% … %}`` tags: the whole file is one prompt.

A file with front matter or Handlebars-only syntax (``{{!``, ``{{#``, ``{{/``, ``{{>``, ``{{role``) is
dotprompt; anything else is Jinja.
"""

from __future__ import annotations

import re

from ..types import LineIndex, SourceFile
from . import common, handlebars, jinja

_FENCE = re.compile(r"^---[ \t]*$", re.M)
_DOT_ROLES = {"system": "system", "user": "user", "model": "assistant", "assistant": "assistant", "tool": "tool"}


def split_front_matter(text: str, allow_comments: bool):
    """(front_start, front_end, body_start) offsets in text, or None when there is no front matter."""
    pos = 0
    if allow_comments:
        while True:
            nl = text.find("\n", pos)
            if nl == -1:
                break
            line = text[pos:nl]
            if not line.strip() or line.lstrip().startswith("#"):
                pos = nl + 1
                continue
            break
    m = _FENCE.match(text, pos)
    if not m:
        return None
    nl = text.find("\n", m.end())
    if nl == -1:
        return None
    fs = nl + 1
    close = _FENCE.search(text, fs)
    if not close:
        return None
    body = text.find("\n", close.end())
    body = len(text) if body == -1 else body + 1
    return fs, close.start(), body


def detect(text: str) -> str:
    """"dotprompt" or "jinja"."""
    norm = text.replace("\r\n", "\n")
    if split_front_matter(norm, True) is not None:
        return "dotprompt"
    if handlebars.looks_like_handlebars(norm) and "{%" not in norm:
        return "dotprompt"
    return "jinja"


def extract(source: SourceFile, cfg):
    if detect(source.text) == "jinja":
        return jinja.extract(source, cfg)
    return extract_dotprompt(source, cfg)


def _norm_units(source: SourceFile):
    units = common.newline_units(source.text)
    return units, "".join(u[0] for u in units)


def extract_dotprompt(source: SourceFile, cfg):
    from ..pipeline import ExtractError
    from .structured import front_matter

    index = LineIndex(source.text)
    units, ntext = _norm_units(source)
    fm = split_front_matter(ntext, True)
    data = {}
    body_k = 0
    if fm is not None:
        fs, fe, body_k = fm
        src_fs = units[fs][1] if fs < len(units) else len(source.text)
        src_fe = units[fe][1] if fe < len(units) else len(source.text)
        data = front_matter(source.text[src_fs:src_fe], src_fs, index)
    body = units[body_k:]
    try:
        out, _names, events = handlebars.tokenize(body)
    except handlebars.TemplateError as exc:
        line, col = jinja.error_position(body, exc.offset, index)
        raise ExtractError(exc.message, line, col) from None
    model = data.get("model") if isinstance(data.get("model"), str) else None
    meta = {}
    conf = data.get("config")
    if isinstance(conf, dict):
        mt = conf.get("maxOutputTokens", conf.get("max_output_tokens"))
        if isinstance(mt, int) and not isinstance(mt, bool):
            meta["max_tokens"] = mt
    return sections(source, out, events, index, default_role="user", roles=_DOT_ROLES, model=model, meta=meta)


def sections(source, units, events, index, *, default_role, roles, model, meta, markers=None):
    """Split tokenised units at role markers (``("role", x)`` events, or ``markers``: {unit index: role})."""
    stem = common.file_stem(source.path)
    parts = []  # (role, units)
    cur_role = None
    cur = []
    for k, u in enumerate(units):
        ev = events.get(u[1]) if u[3] == "tag" else None
        role = None
        if ev is not None and ev[0] == "role":
            role = ev[1]
        elif markers is not None and k in markers:
            role = markers[k]
        if role is not None:
            parts.append((cur_role, cur))
            cur_role = role.lower()
            cur = []
            continue
        cur.append(u)
    parts.append((cur_role, cur))
    has_markers = any(r is not None for r, _u in parts)
    prompts = []
    seen = {}
    for role, us in parts:
        us = common.strip_ws(us)
        if not us:
            continue
        r = roles.get(role, role) if role is not None else default_role
        if has_markers:
            base = f"{stem}:{r}"
            seen[base] = seen.get(base, 0) + 1
            name = base if seen[base] == 1 else f"{base}:{seen[base]}"
        else:
            name = stem
        names = common.placeholders_of(us)
        p = common.build_prompt(
            source,
            us,
            index,
            name=name,
            role=r,
            model=model,
            placeholders=[_ph_name(x) for x in names],
            events=events,
            meta=meta or None,
            keep_empty=True,
        )
        if p is not None:
            prompts.append(p)
    return prompts


_PH = re.compile(r"^\{\{\{?[-~]?\s*(>?\s*[^\s}~]+)")


def _ph_name(spelling: str) -> str:
    m = _PH.match(spelling.strip())
    if not m:
        return spelling.strip("{} ~")
    name = m.group(1)
    return name[1:].strip() if name.startswith(">") else name
