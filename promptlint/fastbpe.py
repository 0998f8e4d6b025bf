"""Exact token counts for ASCII text without building tiktoken's encoder.

Building tiktoken's encoder for ``o200k_base`` (its Rust ``CoreBPE`` from 200k ranks) takes ~0.25 s: more than
the rest of a one-file pre-commit run. Most prompts are plain ASCII, and for ASCII text the count can be made
exactly the way tiktoken makes it from a much smaller table:

- tiktoken splits text with the encoding's pattern, then byte-pair-merges each piece on its own. For ASCII
  text the pattern's Unicode classes reduce to ASCII ranges (``\\p{L}`` = ``A-Za-z``, ``\\p{N}`` = ``0-9``,
  ``\\s`` = tab, LF, VT, FF, CR, space; the other letter and mark classes are empty), so the same split is a
  plain ``re`` pattern, written out below for each encoding.
- Merging ASCII bytes only ever produces ASCII tokens, so the ASCII part of the vocabulary (129k of 200k
  entries for o200k_base) decides every merge. It is cut from the verified vocabulary once and cached as a
  sorted table that is searched in place (no dict to build: a one-file run needs a few hundred lookups).
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


def _table_path(name: str, stamp: Optional[str]) -> Optional[str]:
    """One file per tiktoken installation (several environments share the user cache: a pre-commit hook's
    and a project's virtualenv would otherwise rebuild it in turn)."""
    import hashlib

    from .tokens import user_cache_file

    if not stamp:
        return None
    return user_cache_file(f"{name}-ascii-{hashlib.sha256(stamp.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}.bin")


_MISS = object()
_MAGIC = b"PLBPE1\n"


class Ranks:
    """The ASCII ranks, read from the cached table without building a dict: keys sorted, looked up by binary
    search (a one-file run needs a few hundred lookups; building a 129k-entry dict took 0.04 s). After many
    distinct lookups (a long run) the dict is built once and used from then on."""

    BUILD_AFTER = 20_000

    def __init__(self, blob: bytes, offsets, ranks):
        self._blob, self._off, self._rank = blob, offsets, ranks
        self._n = len(ranks)
        self._memo: dict = {}
        self._dict: Optional[dict] = None

    @classmethod
    def from_dict(cls, ranks: dict) -> "Ranks":
        import array

        keys = sorted(ranks)
        blob = "".join(keys).encode("ascii")
        offsets = array.array("I", [0])
        for k in keys:
            offsets.append(offsets[-1] + len(k))
        return cls(blob, offsets, array.array("I", (ranks[k] for k in keys)))

    def to_bytes(self) -> bytes:
        import array

        return b"".join([array.array("I", self._off).tobytes(), array.array("I", self._rank).tobytes(), self._blob])

    @classmethod
    def from_bytes(cls, data: bytes, n: int) -> "Ranks":
        view = memoryview(data)
        a, b = 4 * (n + 1), 4 * (n + 1) + 4 * n
        offsets, ranks = view[:a].cast("I"), view[a:b].cast("I")
        blob = bytes(view[b:])
        if len(ranks) != n or offsets[0] != 0 or offsets[n] != len(blob):
            raise ValueError("inconsistent table")
        return cls(blob, offsets, ranks)

    def _build(self) -> dict:
        blob, off = self._blob, self._off
        self._dict = {blob[off[i] : off[i + 1]].decode("ascii"): self._rank[i] for i in range(self._n)}
        return self._dict

    def get(self, key: str, default=None):
        d = self._dict
        if d is not None:
            return d.get(key, default)
        memo = self._memo
        r = memo.get(key, _MISS)
        if r is _MISS:
            if len(memo) >= self.BUILD_AFTER:
                return self._build().get(key, default)
            kb = key.encode("ascii")
            blob, off = self._blob, self._off
            lo, hi = 0, self._n
            r = None
            while lo < hi:
                mid = (lo + hi) >> 1
                k = blob[off[mid] : off[mid + 1]]
                if k < kb:
                    lo = mid + 1
                elif k > kb:
                    hi = mid
                else:
                    r = self._rank[mid]
                    break
            memo[key] = r
        return default if r is None else r

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        return self._n


def _load_table(name: str, stamp: Optional[str]):
    """The cached ASCII ranks, valid while tiktoken's definition file is the one they were checked against."""
    path = _table_path(name, stamp)
    if not path or not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if not data.startswith(_MAGIC):
            return None
        hlen = int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 4], "little")
        start = len(_MAGIC) + 4
        stored_stamp, pat_str, _sha, n, byteorder = marshal.loads(data[start : start + hlen])
        if stored_stamp != stamp or pat_str != PATTERNS[name][0] or byteorder != sys.byteorder:
            return None
        return Ranks.from_bytes(data[start + hlen :], n)
    except Exception:
        return None


def _build_table(name: str, stamp: Optional[str]):
    pat_str, sha = _spec(name)
    if pat_str != PATTERNS[name][0] or not sha:  # a tiktoken with another pattern: its own encoder decides
        return None
    from .tokens import _load_ranks

    full = _load_ranks(name, sha)  # verified against tiktoken's sha256
    ranks = Ranks.from_dict({k.decode("ascii"): v for k, v in full.items() if k.isascii()})
    path = _table_path(name, stamp)
    if path:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            header = marshal.dumps((stamp, pat_str, sha, len(ranks), sys.byteorder))
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(_MAGIC + len(header).to_bytes(4, "little") + header + ranks.to_bytes())
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


def merge_count(piece: str, ranks) -> int:
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
            if ranks.get(piece) is not None:
                n = 1
            elif len(piece) > MAX_PIECE:
                return None
            else:
                n = merge_count(piece, ranks)
            if len(memo) < 200_000:
                memo[piece] = n
        total += n
    return total
