"""Handlebars / Mustache tags (Google dotprompt, Prompty ``template: mustache``), tokenised on units.

- ``{{var}}``, ``{{{var}}}``, ``{{helper arg}}``, ``{{> partial}}``, ``{{history}}``, ``{{media …}}`` are
  PLACEHOLDERs (dynamic, not counted);
- ``{{! comment }}``, ``{{!-- comment --}}``, block tags ``{{#if}}``, ``{{else}}``, ``{{/if}}``, ``{{^x}}`` and
  dotprompt's ``{{role "system"}}`` are TAGs;
- Handlebars' "standalone" rule is applied: a block tag, ``{{else}}``, comment or partial alone on its line
  takes the whole line (indentation and newline) with it, as Handlebars renders it; ``~`` whitespace control
  (``{{~x}}``, ``{{x~}}``) eats the adjacent whitespace;
- ``\\{{`` is a literal ``{{``.

Events: ``{{#if}}``/``{{#unless}}``/``{{#with}}``/``{{^x}}`` open a choice block, ``{{#each}}`` a loop,
``{{else}}`` / ``{{^}}`` / ``{{else if …}}`` an alternative, ``{{/x}}`` closes; ``{{role "x"}}`` is a
``("role", x)`` event (dotprompt message boundary).
"""

from __future__ import annotations

import re

from ..types import ESCAPE, PLACEHOLDER, TAG

_ROLE = re.compile(r"""^role\s+(?:"([^"]*)"|'([^']*)')\s*$""")
_WORD = re.compile(r"[^\s}~]+")


class TemplateError(Exception):
    def __init__(self, message: str, text_offset: int):
        super().__init__(message)
        self.message = message
        self.offset = text_offset


def looks_like_handlebars(text: str) -> bool:
    return bool(re.search(r"\{\{~?\s*(?:[#/>!^]|else\b|role\s+[\"'])", text))


def _scan(text: str):
    """[(kind, start, end, inner)] for every mustache; kind: var | comment | open | alt | close | partial |
    role | escape."""
    out = []
    i = 0
    n = len(text)
    while True:
        j = text.find("{{", i)
        if j == -1:
            return out
        if j > 0 and text[j - 1] == "\\":
            out.append(("escape", j - 1, j + 2, "{{"))
            i = j + 2
            continue
        if text.startswith("{{!--", j) or text.startswith("{{~!--", j):
            close = text.find("--", j + 5)
            close = text.find("}}", close) if close != -1 else -1
            if close == -1:
                raise TemplateError("Handlebars syntax error: unclosed comment {{!-- … --}}", j)
            out.append(("comment", j, close + 2, text[j + 2 : close]))
            i = close + 2
            continue
        if text.startswith("{{{", j) or text.startswith("{{~{", j):
            close = text.find("}}}", j + 3)
            if close == -1:
                raise TemplateError("Handlebars syntax error: unclosed {{{", j)
            end = close + 3
            inner = text[j + 3 : close].strip("~ \t\n{")
            out.append(("var", j, end, inner))
            i = end
            continue
        close = text.find("}}", j + 2)
        if close == -1:
            raise TemplateError("Handlebars syntax error: unclosed {{", j)
        end = close + 2
        raw = text[j + 2 : close]
        inner = raw.strip().lstrip("~").rstrip("~").strip()
        if inner.startswith("!"):
            kind = "comment"
        elif inner.startswith("#"):
            kind = "open"
        elif inner.startswith("/"):
            kind = "close"
        elif inner == "^" or inner == "else" or inner.startswith("else "):
            kind = "alt"
        elif inner.startswith("^"):
            kind = "open"
        elif inner.startswith(">"):
            kind = "partial"
        elif _ROLE.match(inner):
            kind = "role"
        else:
            kind = "var"
        if not inner and kind == "var":
            raise TemplateError("Handlebars syntax error: empty {{}}", j)
        out.append((kind, j, end, raw))
        i = end
        if n and i >= n:
            return out


def _standalone(text: str, kind: str, s: int, e: int):
    """Widen a standalone tag to its whole line (Handlebars drops such lines from the output)."""
    if kind not in ("comment", "open", "close", "alt", "partial"):
        return s, e
    ls = text.rfind("\n", 0, s) + 1
    if text[ls:s].strip(" \t"):
        return s, e
    nl = text.find("\n", e)
    le = len(text) if nl == -1 else nl
    if text[e:le].strip(" \t"):
        return s, e
    return ls, (le + 1 if nl != -1 else le)


def _tilde(text: str, raw_tag: str, s: int, e: int):
    if raw_tag.startswith("{{~") or raw_tag.startswith("{{{~"):
        while s > 0 and text[s - 1].isspace():
            s -= 1
    if raw_tag.endswith("~}}") or raw_tag.endswith("~}}}"):
        while e < len(text) and text[e].isspace():
            e += 1
    return s, e


def tokenize(units):
    """Handlebars tags of units -> (units, placeholder names, events). Raises TemplateError."""
    if any(len(u[0]) != 1 for u in units):
        raise TemplateError("template could not be mapped to its source", 0)
    text = "".join(u[0] for u in units)
    tags = _scan(text)
    out = []
    names = []
    events = {}
    pos = 0
    stack = []
    for kind, s, e, inner in tags:
        if kind == "escape":
            out.extend(units[pos:s])
            out.append(("{{", units[s][1], units[e - 1][2], ESCAPE))
            pos = e
            continue
        s2, e2 = _tilde(text, text[s:e], s, e)
        if (s2, e2) == (s, e):
            s2, e2 = _standalone(text, kind, s, e)
        s2 = max(s2, pos)
        out.extend(units[pos:s2])
        src0, src1 = units[s2][1], units[e2 - 1][2]
        tag_text = text[s2:e2]
        word = inner.strip().lstrip("~").strip()
        if kind in ("var", "partial"):
            if kind == "partial":
                names.append("> " + word[1:].strip().split()[0] if word[1:].strip() else ">")
            else:
                m = _WORD.match(word)
                names.append(m.group(0) if m else word)
            out.append((tag_text, src0, src1, PLACEHOLDER))
        else:
            out.append((tag_text, src0, src1, TAG))
            if kind == "open":
                kw = word[1:].split()[0] if word[1:].split() else ""
                if word.startswith("^"):
                    kw = "^"
                stack.append((kw, s))
                events[src0] = ("open", kw)
            elif kind == "alt":
                if not stack:
                    raise TemplateError(f"Handlebars syntax error: {{{{{word}}}}} outside a block", s)
                events[src0] = ("alt", "elif" if word.startswith("else ") else "else")
            elif kind == "close":
                kw = word[1:].strip()
                if not stack:
                    raise TemplateError(f"Handlebars syntax error: {{{{/{kw}}}}} closes no block", s)
                open_kw, _at = stack.pop()
                if open_kw != "^" and kw != open_kw:
                    raise TemplateError(f"Handlebars syntax error: {{{{#{open_kw}}}}} closed by {{{{/{kw}}}}}", s)
                events[src0] = ("close", open_kw)
            elif kind == "role":
                m = _ROLE.match(word)
                events[src0] = ("role", (m.group(1) if m.group(1) is not None else m.group(2)).strip())
        pos = e2
    out.extend(units[pos:])
    if stack:
        kw, at = stack[-1]
        raise TemplateError(f"Handlebars syntax error: {{{{#{kw}}}}} is never closed", at)
    return out, names, events
