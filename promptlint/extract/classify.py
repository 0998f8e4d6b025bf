"""Is this text a prompt? Name and content heuristics, tuned for precision.

Used only for strings that do not reach an LLM call: a module/class-level constant becomes a prompt when its
name is prompt-like *and* its text reads like instructions to a model. SQL, HTML/XML documents, regular
expressions, usage/help text, log formats, URLs and paths never do.
"""

from __future__ import annotations

import re

_NAME_WORDS = (
    "prompt",
    "system",
    "instruction",
    "instructions",
    "persona",
    "preamble",
    "sysmsg",
    "guidelines",
)
_NAME_RE = re.compile(r"(?:^|_|(?<=[a-z])(?=[A-Z]))(" + "|".join(_NAME_WORDS) + r")s?(?:_|$|(?=[A-Z]))", re.I)
_NAME_EXCLUDE = re.compile(r"(path|file|dir|url|uri|name|key|id|ids|version|encoding|type|types|pattern|regex|re|sql|query|html|cmd|command|arch)$", re.I)


def prompt_like_name(name: str) -> bool:
    if not _NAME_RE.search(name) and "prompt" not in name.lower():
        return False
    return not _NAME_EXCLUDE.search(name.rstrip("_"))


_SQL_RE = re.compile(
    r"^\s*(--[^\n]*\n\s*)*(select|insert|update|delete|with|create|alter|drop|merge|upsert|replace|truncate|grant|explain|pragma)\b",
    re.I,
)
_SQL_BODY = re.compile(r"\b(select\b.+\bfrom\b|insert\s+into\b|update\b.+\bset\b|delete\s+from\b|create\s+(table|index|view)\b|where\b.+=\s*[%:?$])", re.I | re.S)
_HTML_RE = re.compile(r"^\s*(<!doctype|<html|<\?xml|<(div|p|table|body|head|span|ul|ol|li|h[1-6]|a|img|svg|style|script|tr|td|section|form)[\s>/])", re.I)
_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?>")
_USAGE_RE = re.compile(r"^\s*(usage:|%\(prog\)s|\S+\s+\[-{1,2}\w)", re.I)
_OPTION_LINE = re.compile(r"^\s*-{1,2}[\w-]+", re.M)
_LOGFMT_RE = re.compile(r"%\((asctime|levelname|name|message|lineno|filename)\)")
_URL_RE = re.compile(r"^\s*([a-z][a-z0-9+.-]*://\S+|/[\w./-]*|[\w.-]+/[\w./-]+)\s*$", re.I)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]+")
_REGEX_CHARS = re.compile(r"\\[dswbDSWB]|\(\?[:=!<P]|\[\^?[^\]]{1,20}\][*+?]|[*+?]\??\)|\{\d+(,\d*)?\}")


def is_sql(text: str) -> bool:
    if _SQL_RE.match(text):
        return True
    return bool(_SQL_BODY.search(text)) and len(_WORD_RE.findall(text)) < 400 and text.count(";") >= 0 and _sql_density(text) > 0.12


def _sql_density(text: str) -> float:
    words = [w.lower() for w in _WORD_RE.findall(text)]
    if not words:
        return 0.0
    kw = {"select", "from", "where", "join", "on", "and", "or", "group", "by", "order", "insert", "into", "values", "update", "set", "delete", "limit", "as", "left", "inner", "having"}
    return sum(w in kw for w in words) / len(words)


def is_html(text: str) -> bool:
    if _HTML_RE.match(text):
        return True
    tags = _TAG_RE.findall(text)
    if not tags:
        return False
    tag_chars = sum(len(m.group(0)) for m in _TAG_RE.finditer(text))
    return tag_chars > 0.25 * len(text.strip())


def is_regex(text: str) -> bool:
    t = text.strip()
    if not t or "\n" in t and len(t) > 200:
        return False
    hits = len(_REGEX_CHARS.findall(t))
    return hits >= 2 or (t.startswith("^") and t.endswith("$") and hits >= 1)


def is_usage(text: str) -> bool:
    if _USAGE_RE.match(text):
        return True
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return len(lines) >= 3 and len(_OPTION_LINE.findall(text)) >= max(2, len(lines) // 2)


def reads_as_instructions(text: str) -> bool:
    """Natural-language text of some length that is not code, markup or a pattern."""
    t = text.strip()
    if len(t) < 20:
        return False
    if is_sql(t) or is_html(t) or is_usage(t) or is_regex(t) or _LOGFMT_RE.search(t) or _URL_RE.match(t):
        return False
    words = _WORD_RE.findall(t)
    if len(words) < 4:
        return False
    letters = sum(len(w) for w in words)
    if letters < 0.5 * len(t.replace(" ", "")):
        return False
    return True
