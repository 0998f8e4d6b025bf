"""Exact token counts for ASCII text without building tiktoken's encoder.

Building tiktoken's encoder for ``o200k_base`` (its Rust ``CoreBPE`` from 200k ranks) takes ~0.25 s: more than
the rest of a one-file pre-commit run. Most prompts are plain ASCII, and for ASCII text the count can be made
exactly the way tiktoken makes it from a much smaller table:

- tiktoken splits text with the encoding's pattern, then byte-pair-merges each piece on its own. For ASCII
  text the pattern's Unicode classes reduce to ASCII ranges (``\\p{L}`` = ``A-Za-z``, ``\\p{N}`` = ``0-9``,
  ``\\s`` = tab, LF, VT, FF, CR, space; the other letter and mark classes are empty), so the same split is a
  plain ``re`` pattern, written out below for each encoding.
- Merging ASCII bytes only ever produces ASCII tokens, so the ASCII part of the vocabulary (129k of 200k
  entries for o200k_base) decides every merge. It is cut from the verified vocabulary once and cached in
  ``marshal`` form (loads in ~0.03 s).
- The merge loop mirrors tiktoken's ``_byte_pair_merge``: merge the adjacent pair of lowest rank, the leftmost
  on ties, until no pair is in the vocabulary; a piece that is itself a token is one token.

Anything else (non-ASCII text, very long pieces, an encoding or tiktoken pattern this module does not know)
returns ``None`` and the caller uses tiktoken. A test compares both on many texts; another checks that the
patterns below are for the exact patterns tiktoken publishes.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
import threading
from typing import Optional

_WS = "\\t\\n\\x0b\\x0c\\r "  # Unicode White_Space, ASCII part (Python's \s would add \x1c-\x1f)
_CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)?"

# tiktoken's published pattern -> the same split for ASCII-only text
PATTERNS = {
    "o200k_base": (
        "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
        "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
        "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        "|".join(
            [
                "[^\\r\\nA-Za-z0-9]?[A-Z]*[a-z]+" + _CONTRACTIONS,
                "[^\\r\\nA-Za-z0-9]?[A-Z]+[a-z]*" + _CONTRACTIONS,
                "[0-9]{1,3}",
                f" ?[^{_WS}A-Za-z0-9]+[\\r\\n/]*",
                f"[{_WS}]*[\\r\\n]+",
                f"[{_WS}]+(?![^{_WS}])",
                f"[{_WS}]+",
            ]
        ),
    ),
    # possessive quantifiers dropped: after each of them nothing could backtrack into a different match;
    # `$` (end of text in Rust) is `\Z` here
    "cl100k_base": (
        "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$"
        "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s",
        "|".join(
            [
                "'(?i:[sdmt]|ll|ve|re)",
                "[^\\r\\nA-Za-z0-9]?[A-Za-z]+",
                "[0-9]{1,3}",
                f" ?[^{_WS}A-Za-z0-9]+[\\r\\n]*",
                f"[{_WS}]+\\Z",
                f"[{_WS}]*[\\r\\n]",
                f"[{_WS}]+(?![^{_WS}])",
                f"[{_WS}]",
            ]
        ),
    ),
}

MAX_PIECE = 256  # the merge loop is quadratic in a piece's length: longer pieces go to tiktoken
_MAX = 1 << 62

_lock = threading.Lock()
_tables: dict = {}  # encoding -> (compiled split, ascii ranks as str -> rank, piece memo) or None (unavailable)


def _spec(name: str):
    """(pat_str, expected sha256) of tiktoken's own definition, without loading the vocabulary."""
    import tiktoken_ext.openai_public as public

    seen = {}

    def loader(_url, expected_hash=None):
        seen["hash"] = expected_hash
        return {}

    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = loader
    try:
        spec = getattr(public, name)()
    finally:
        public.load_tiktoken_bpe = original
    return spec["pat_str"], seen.get("hash")


def _definition_stamp() -> Optional[str]:
    """Identifies tiktoken's installed definition file (size and mtime) without importing tiktoken."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("tiktoken_ext.openai_public")
        st = os.stat(spec.origin)
    except Exception:
        return None
    return f"{spec.origin}:{st.st_size}:{st.st_mtime_ns}"


def _table_path(name: str) -> Optional[str]:
    from .tokens import _cache_path

    p = _cache_path(name, "ascii")
    if not p:
        return None
    return p[: -len(".pickle")] + f"-py{sys.version_info[0]}{sys.version_info[1]}.marshal"


def _load_table(name: str, stamp: Optional[str]):
    """The cached ASCII ranks, valid while tiktoken's definition file is the one they were checked against."""
    path = _table_path(name)
    if not path or not stamp or not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as fh:
            stored_stamp, pat_str, _sha, ranks = marshal.loads(fh.read())  # loads(read()): 4x faster than load(fh)
    except Exception:
        return None
    if stored_stamp == stamp and pat_str == PATTERNS[name][0] and isinstance(ranks, dict):
        return ranks
    return None


def _build_table(name: str, stamp: Optional[str]):
    pat_str, sha = _spec(name)
    if pat_str != PATTERNS[name][0] or not sha:  # a tiktoken with another pattern: its own encoder decides
        return None
    from .tokens import _load_ranks

    full = _load_ranks(name, sha)  # verified against tiktoken's sha256
    ranks = {k.decode("ascii"): v for k, v in full.items() if k.isascii()}
    path = _table_path(name)
    if path and stamp:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(marshal.dumps((stamp, pat_str, sha, ranks)))
            os.replace(tmp, path)
        except OSError:
            pass
    return ranks


def _table(name: str):
    t = _tables.get(name, False)
    if t is not False:
        return t
    with _lock:
        t = _tables.get(name, False)
        if t is not False:
            return t
        t = None
        if name in PATTERNS:
            stamp = _definition_stamp()
            try:
                ranks = _load_table(name, stamp)
                if ranks is None:
                    ranks = _build_table(name, stamp)
            except Exception:  # no usable vocabulary here: tiktoken's path reports it
                ranks = None
            if ranks is not None:
                t = (re.compile(PATTERNS[name][1]), ranks, {})
        _tables[name] = t
        return t


def merge_count(piece: str, ranks: dict) -> int:
    """Tokens of one piece: tiktoken's ``_byte_pair_merge`` (lowest rank first, leftmost on ties)."""
    n = len(piece)
    if n < 2:
        return n
    get = ranks.get
    starts = list(range(n + 1))
    rank = [get(piece[i : i + 2], _MAX) for i in range(n - 1)] + [_MAX, _MAX]
    while True:
        m = min(rank[:-1])
        if m == _MAX:
            break
        i = rank.index(m)  # the leftmost of the lowest
        last = len(starts)
        if i > 0:
            rank[i - 1] = get(piece[starts[i - 1] : starts[i + 2]], _MAX) if i + 2 < last else _MAX
        rank[i] = get(piece[starts[i] : starts[i + 3]], _MAX) if i + 3 < last else _MAX
        del starts[i + 1]
        del rank[i + 1]
    return len(starts) - 1


def count(text: str, encoding: str) -> Optional[int]:
    """Exact token count of ``text`` (``encode_ordinary``), or None when tiktoken has to make it."""
    if not text.isascii():
        return None
    t = _table(encoding)
    if t is None:
        return None
    split, ranks, memo = t
    total = 0
    for piece in split.findall(text):
        n = memo.get(piece)
        if n is None:
            if piece in ranks:
                n = 1
            elif len(piece) > MAX_PIECE:
                return None
            else:
                n = merge_count(piece, ranks)
            if len(memo) < 200_000:
                memo[piece] = n
        total += n
    return total
