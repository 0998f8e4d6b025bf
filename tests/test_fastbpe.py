"""The ASCII fast path counts exactly what tiktoken counts, and never needs tiktoken's encoder."""

import glob
import os
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptlint import fastbpe, tokens

ROOT = os.path.join(os.path.dirname(__file__), "..")
ENCODINGS = ("o200k_base", "cl100k_base")


@pytest.mark.parametrize("name", ENCODINGS)
def test_patterns_are_for_the_patterns_tiktoken_publishes(name):
    pat_str, sha = fastbpe._spec(name)
    assert fastbpe.PATTERNS[name][0] == pat_str
    assert sha and len(sha) == 64
    assert fastbpe._table(name) is not None


def _exact(text, name):
    return len(tokens.get_encoding(name).encode_ordinary(text))


def _corpus():
    texts = []
    for pattern in ("examples/**/*", "promptlint/**/*.py", "rules/*.yaml", "README.md"):
        for f in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
            if os.path.isfile(f):
                with open(f, encoding="utf-8", errors="replace") as fh:
                    t = fh.read()
                texts.append(t)
                texts.extend(t.split("\n\n"))
    return [t for t in texts if t.isascii() and t]


@pytest.mark.parametrize("name", ENCODINGS)
def test_same_counts_as_tiktoken_on_real_text(name):
    texts = _corpus()
    assert len(texts) > 500
    for t in texts:
        n = fastbpe.count(t, name)
        if n is not None:  # only a piece longer than MAX_PIECE gives way to tiktoken
            assert n == _exact(t, name), t[:200]
    assert sum(fastbpe.count(t, name) is not None for t in texts) > 0.9 * len(texts)


TRICKY = [
    "aaaa aaaaaaa",
    "        x",
    "   \n\n\n   \t\t \x0b\x0c end  ",
    "I'm here, you're there; they'd've LL'S 'S 'Ve",
    "HTTPServer parseJSON XMLHttpRequest iPhone",
    "1234567 12 3.14159 -42 1e10",
    "path/to/file.py\r\nC:\\dir\\x //comment\n/**/",
    "\x1c\x1d\x1e\x1f separators are not whitespace in tiktoken",
    "trailing spaces   ",
    "trailing newline\n",
    "{{placeholder}} {x} <|endoftext|> ```json\n{\"a\": 1}\n```",
    "=" * 200,
    "!!!???...,,,;;;",
]


@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("text", TRICKY)
def test_same_counts_on_tricky_text(name, text):
    assert fastbpe.count(text, name) == _exact(text, name)


ASCII = st.text(alphabet=st.sampled_from(list(string.printable + "\x00\x0b\x0c\x1c\x1f'")), max_size=200)
WORDY = st.lists(st.sampled_from(["the", "The", "THE", "'s", "'LL", " ", "  ", "\n", "\r\n", "\t", "42", "1234", "x/", "...", "a", "A"]), max_size=60).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(ASCII, WORDY))
def test_same_counts_on_generated_text(text):
    for name in ENCODINGS:
        assert fastbpe.count(text, name) == _exact(text, name)


def test_gives_way_where_it_cannot_be_exact():
    assert fastbpe.count("café", "o200k_base") is None  # non-ASCII: tiktoken's Unicode classes decide
    assert fastbpe.count("x" * (fastbpe.MAX_PIECE + 1), "o200k_base") is None  # quadratic merge: tiktoken
    assert fastbpe.count("hello", "r50k_base") is None  # an encoding it has no pattern for
    # the count path still gives exact numbers for all of them
    for text in ("café au lait", "x" * 1000):
        tokens.count_encoding.cache_clear()
        assert tokens.count_encoding(text, "o200k_base") == _exact(text, "o200k_base")


def test_ascii_counts_need_no_tiktoken_encoder(tmp_path, monkeypatch):
    """The table comes from the verified vocabulary once, then from its cached form: counting ASCII text
    builds no tiktoken encoder."""
    monkeypatch.setenv("PROMPTLINT_VOCAB_CACHE", str(tmp_path))
    monkeypatch.setattr(fastbpe, "_tables", {})
    text = "Summarize the ticket in two sentences."
    exact = _exact(text, "o200k_base")
    assert fastbpe.count(text, "o200k_base") == exact
    assert glob.glob(str(tmp_path / "o200k_base-ascii-*.bin"))
    monkeypatch.setattr(fastbpe, "_tables", {})

    def no_full_vocabulary(*a, **k):
        raise AssertionError("the full vocabulary was loaded although the ASCII table is cached")

    monkeypatch.setattr(tokens, "_load_ranks", no_full_vocabulary)
    monkeypatch.setattr(tokens, "get_encoding", no_full_vocabulary)
    tokens.count_encoding.cache_clear()
    monkeypatch.setattr(tokens, "_known", {})
    assert tokens.count_encoding(text, "o200k_base") == exact
    tokens.count_encoding.cache_clear()


def test_a_corrupt_cached_table_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTLINT_VOCAB_CACHE", str(tmp_path))
    monkeypatch.setattr(fastbpe, "_tables", {})
    fastbpe.count("hi", "cl100k_base")
    (path,) = glob.glob(str(tmp_path / "cl100k_base-ascii-*.bin"))
    with open(path, "wb") as fh:
        fh.write(b"\x00garbage")
    monkeypatch.setattr(fastbpe, "_tables", {})
    assert fastbpe.count("Summarize the ticket in two sentences.", "cl100k_base") == _exact("Summarize the ticket in two sentences.", "cl100k_base")


def test_table_follows_tiktokens_definition(tmp_path, monkeypatch):
    """The cached table is tied to tiktoken's installed definition file; a tiktoken whose pattern differs
    from the one translated here gets no fast path (tiktoken counts)."""
    monkeypatch.setenv("PROMPTLINT_VOCAB_CACHE", str(tmp_path))
    monkeypatch.setattr(fastbpe, "_tables", {})
    assert fastbpe._table("o200k_base") is not None
    assert fastbpe._load_table("o200k_base", fastbpe._definition_stamp()) is not None
    assert fastbpe._load_table("o200k_base", "another tiktoken") is None  # upgraded: checked again
    monkeypatch.setattr(fastbpe, "_tables", {})
    monkeypatch.setattr(fastbpe, "_definition_stamp", lambda: "another tiktoken")
    real_spec = fastbpe._spec
    monkeypatch.setattr(fastbpe, "_spec", lambda name: ("(?:a new pattern)", real_spec(name)[1]))
    assert fastbpe._table("o200k_base") is None
    assert fastbpe.count("hello world", "o200k_base") is None


def test_sorted_table_lookups_equal_the_vocabulary(tmp_path, monkeypatch):
    """The cached table answers every key of the ASCII vocabulary with its rank, and nothing else, by binary
    search and after switching to a dict."""
    monkeypatch.setenv("PROMPTLINT_VOCAB_CACHE", str(tmp_path))
    monkeypatch.setattr(fastbpe, "_tables", {})
    full = tokens._load_ranks("cl100k_base", fastbpe._spec("cl100k_base")[1])
    ascii_ranks = {k.decode("ascii"): v for k, v in full.items() if k.isascii()}
    fastbpe._table("cl100k_base")  # builds and writes the table
    table = fastbpe._load_table("cl100k_base", fastbpe._definition_stamp())
    assert isinstance(table, fastbpe.Ranks) and len(table) == len(ascii_ranks)
    table.BUILD_AFTER = len(ascii_ranks) // 2  # half by search, the rest from the dict
    for k, v in ascii_ranks.items():
        assert table.get(k) == v
    assert table._dict is not None
    for miss in ("zzzzqqq", "", "\x7f\x7f\x7fx", " the the the"):
        assert miss not in ascii_ranks and table.get(miss) is None and miss not in table


def test_environments_sharing_the_user_cache_keep_their_own_tables(tmp_path, monkeypatch):
    """A pre-commit hook's virtualenv and the project's share ~/.cache: each keeps its table, neither
    rebuilds the other's."""
    monkeypatch.setenv("PROMPTLINT_VOCAB_CACHE", str(tmp_path))
    for stamp in ("env-a", "env-b"):
        monkeypatch.setattr(fastbpe, "_tables", {})
        monkeypatch.setattr(fastbpe, "_definition_stamp", lambda stamp=stamp: stamp)
        assert fastbpe._table("o200k_base") is not None
    assert len(glob.glob(str(tmp_path / "o200k_base-ascii-*.bin"))) == 2
    assert fastbpe._load_table("o200k_base", "env-a") is not None
    assert fastbpe._load_table("o200k_base", "env-b") is not None
