"""Microsoft Prompty (``.prompty``): YAML front matter + a Jinja (or Mustache) body with role markers.

- front matter ``model.configuration`` gives the model (``model``, else ``azure_deployment``, else ``name``;
  a plain string ``model:`` works too); ``model.parameters.max_tokens`` (or ``max_completion_tokens``) is
  recorded as meta ``max_tokens``; ``template: mustache`` (or ``template: {format: mustache}``) switches the
  body to Handlebars/Mustache tags, Jinja otherwise;
- body lines ``system:``, ``user:``, ``assistant:``, ``function:``, ``tool:`` (optionally ``# user:`` or
  ``user[name="x"]:``) start role sections, as Prompty's chat parser splits them; text before the first
  marker is a ``system`` message. Each section is a prompt named ``<stem>:<role>``, measured stripped of
  surrounding whitespace (Prompty strips each message).
"""

from __future__ import annotations

import re

from ..types import OPAQUE_KINDS, LineIndex, SourceFile
from . import common, dotprompt, handlebars, jinja

_MARKER = re.compile(r"^[ \t]*#?[ \t]*(system|user|assistant|function|tool|developer)[ \t]*(?:\[[^\]\n]*\])?[ \t]*:[ \t]*$", re.I | re.M)
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "function": "tool", "tool": "tool"}


def _model_of(data: dict):
    model = data.get("model")
    if isinstance(model, str):
        return model, None
    if not isinstance(model, dict):
        return None, None
    name = None
    conf = model.get("configuration")
    if isinstance(conf, dict):
        for k in ("model", "azure_deployment", "name", "id"):
            v = conf.get(k)
            if isinstance(v, str) and v.strip() and "${" not in v:
                name = v.strip()
                break
    if name is None:
        v = model.get("id") or model.get("name")
        if isinstance(v, str) and "${" not in v:
            name = v
    mt = None
    params = model.get("parameters")
    if isinstance(params, dict):
        for k in ("max_tokens", "max_completion_tokens", "max_output_tokens"):
            v = params.get(k)
            if isinstance(v, int) and not isinstance(v, bool):
                mt = v
                break
    return name, mt


def _is_mustache(data: dict) -> bool:
    t = data.get("template")
    if isinstance(t, dict):
        t = t.get("format") or t.get("type")
    return isinstance(t, str) and t.strip().lower() in ("mustache", "handlebars")


def extract(source: SourceFile, cfg):
    from ..pipeline import ExtractError
    from .structured import front_matter

    index = LineIndex(source.text)
    units = common.newline_units(source.text)
    ntext = "".join(u[0] for u in units)
    fm = dotprompt.split_front_matter(ntext, False)
    data = {}
    body_k = 0
    if fm is not None:
        fs, fe, body_k = fm
        src_fs = units[fs][1] if fs < len(units) else len(source.text)
        src_fe = units[fe][1] if fe < len(units) else len(source.text)
        data = front_matter(source.text[src_fs:src_fe], src_fs, index)
    body = units[body_k:]
    mustache = _is_mustache(data)
    try:
        out, _names, events = (handlebars.tokenize(body) if mustache else jinja.tokenize(body))
    except (jinja.TemplateError, handlebars.TemplateError) as exc:
        line, col = jinja.error_position(body, exc.offset, index)
        raise ExtractError(exc.message, line, col) from None
    markers = _markers(out)
    # rebuild: marker line -> one marker slot; drop the rest of the line
    kept = []
    marker_at = {}
    starts = {k: (role, end_k) for k, role, end_k in markers}
    i = 0
    while i < len(out):
        if i in starts:
            role, end_k = starts[i]
            marker_at[len(kept)] = role
            kept.append(("", out[i][1], out[end_k - 1][2], "join"))
            i = end_k
            continue
        kept.append(out[i])
        i += 1
    model, max_tokens = _model_of(data)
    meta = {"max_tokens": max_tokens} if max_tokens is not None else {}
    return dotprompt.sections(
        source,
        kept,
        events,
        index,
        default_role="system",
        roles=_ROLES,
        model=model,
        meta=meta,
        markers=marker_at,
    )


def _markers(units):
    """[(first unit index, role, unit index after the line incl. its newline)] of role-marker lines."""
    out = []
    text_starts = common.text_starts(units)
    by_start = {s: k for k, s in enumerate(text_starts[:-1])}
    text = "".join(u[0] for u in units)
    for ls, le, lnl in common.section_lines(text):
        m = _MARKER.match(text, ls, le)
        if not m or m.end() != le:
            continue
        k0 = by_start.get(ls)
        k1 = by_start.get(lnl, len(units) if lnl >= len(text) else None)
        if k0 is None or k1 is None:
            continue
        if any(units[k][3] in OPAQUE_KINDS for k in range(k0, k1)):
            continue
        out.append((k0, m.group(1).lower(), k1))
    return out
