"""Scan Python string literal tokens in source text: exact offsets of prefixes, quotes, literal parts and
f-string fields, without the tokenizer (fast, and it follows PEP 701 f-strings on any interpreter).

Used by the ast-based extractor: ``ast`` gives a string expression's span but merges implicitly concatenated
literals and decodes escapes; this scanner recovers each literal's pieces so the prompt text keeps an exact
map back to the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_PREFIX_CHARS = set("rRbBuUfFtT")


@dataclass
class StrToken:
    start: int
    end: int
    prefix: str
    quote: str
    body_start: int
    body_end: int
    parts: list = field(default_factory=list)  # ("lit", s, e) | ("field", s, e, expr_text)

    @property
    def raw(self) -> bool:
        return "r" in self.prefix.lower()

    @property
    def fstring(self) -> bool:
        p = self.prefix.lower()
        return "f" in p or "t" in p

    @property
    def is_bytes(self) -> bool:
        return "b" in self.prefix.lower()


class ScanError(ValueError):
    pass


def _skip_space_and_comments(text: str, i: int, end: int) -> int:
    while i < end:
        c = text[i]
        if c in " \t\r\n\f(":
            i += 1
        elif c == "\\" and i + 1 < end and text[i + 1] in "\r\n":
            i += 2
        elif c == "#":
            nl = text.find("\n", i)
            i = end if nl == -1 else nl + 1
        else:
            break
    return i


def scan_tokens(text: str, start: int, end: int) -> list:
    """All string tokens between start and end (an ast string expression's span)."""
    out = []
    i = start
    while True:
        i = _skip_space_and_comments(text, i, end)
        if i >= end:
            break
        tok = scan_string(text, i)
        out.append(tok)
        i = tok.end
        # implicit concatenation inside parentheses can leave ")" only after the last token; stop there
        while i < end and text[i] in ")":
            i += 1
    return out


def scan_string(text: str, i: int) -> StrToken:
    start = i
    j = i
    while j < len(text) and text[j] in _PREFIX_CHARS and j - i < 3:
        j += 1
    if j >= len(text) or text[j] not in "'\"":
        raise ScanError(f"no string literal at offset {i}")
    prefix = text[i:j]
    q = text[j]
    quote = q * 3 if text.startswith(q * 3, j) else q
    body_start = j + len(quote)
    raw = "r" in prefix.lower()
    fstr = "f" in prefix.lower() or "t" in prefix.lower()
    tok = StrToken(start, 0, prefix, quote, body_start, 0)
    k = body_start
    lit_start = k
    n = len(text)
    while k < n:
        c = text[k]
        if c == "\\":
            k += 2
            continue
        if text.startswith(quote, k):
            break
        if fstr and c == "{":
            if k + 1 < n and text[k + 1] == "{":
                k += 2
                continue
            if lit_start < k:
                tok.parts.append(("lit", lit_start, k))
            fend, expr = _scan_field(text, k + 1, quote)
            tok.parts.append(("field", k, fend, expr))
            k = fend
            lit_start = k
            continue
        if fstr and c == "}" and k + 1 < n and text[k + 1] == "}":
            k += 2
            continue
        k += 1
    if k >= n:
        raise ScanError("unterminated string literal")
    if lit_start < k:
        tok.parts.append(("lit", lit_start, k))
    tok.body_end = k
    tok.end = k + len(quote)
    del raw
    return tok


_OPEN = {"(": ")", "[": "]", "{": "}"}


def _scan_field(text: str, k: int, quote: str) -> tuple:
    """From just after ``{`` of an f-string field to just after its ``}``; returns (end, expression text)."""
    n = len(text)
    depth = 0
    expr_start = k
    expr_end = None
    while k < n:
        c = text[k]
        if c in "'\"":
            # a nested string literal (PEP 701 allows the same quotes)
            j = k
            while j > expr_start and text[j - 1] in _PREFIX_CHARS:
                j -= 1
            k = scan_string(text, j if j < k and text[j:k].isalpha() else k).end
            continue
        if c in _OPEN:
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "}":
            if depth == 0:
                if expr_end is None:
                    expr_end = k
                return k + 1, _expr_text(text[expr_start:expr_end])
            depth -= 1
        elif depth == 0 and c == "!" and k + 1 < n and text[k + 1] != "=":
            if expr_end is None:
                expr_end = k
        elif depth == 0 and c == ":" and expr_end is None:
            expr_end = k
            # format spec: literal text and nested fields up to the closing brace
            k += 1
            while k < n:
                c2 = text[k]
                if c2 == "{":
                    k, _ = _scan_field(text, k + 1, quote)
                    continue
                if c2 == "}":
                    return k + 1, _expr_text(text[expr_start:expr_end])
                if c2 == "\\":
                    k += 2
                    continue
                k += 1
            break
        elif c == "#" and depth > 0:
            nl = text.find("\n", k)
            k = n if nl == -1 else nl
            continue
        k += 1
    raise ScanError("unterminated f-string field")


def _expr_text(s: str) -> str:
    t = s.strip()
    if t.endswith("=") and not t.endswith(("==", "!=", "<=", ">=")):
        t = t[:-1].rstrip()
    return t
