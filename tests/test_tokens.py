"""Exact, offline token counting with the bundled vocabularies."""

import os
import subprocess
import sys

import pytest

from promptlint import tokens


def test_exact_ids_o200k_and_cl100k():
    # Reference ids published with tiktoken for these encodings.
    assert tokens.get_encoding("o200k_base").encode("hello world") == [24912, 2375]
    assert tokens.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]


def test_count_matches_encoder_and_is_memoized():
    text = "You are a helpful assistant. Answer in one sentence."
    enc = tokens.get_encoding("o200k_base")
    assert tokens.count(text, "gpt-4o") == len(enc.encode(text))
    tokens.count_encoding.cache_clear()
    tokens.count(text, "gpt-4o")
    tokens.count(text, "gpt-4o")
    info = tokens.count_encoding.cache_info()
    assert info.hits == 1 and info.misses == 1


def test_special_token_text_counts_as_ordinary_text():
    # A prompt that mentions <|endoftext|> must be counted, not rejected.
    assert tokens.count("say <|endoftext|> now", "gpt-4o") > 3


@pytest.mark.parametrize(
    "model,encoding",
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5-mini", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
    ],
)
def test_openai_models_are_exact(model, encoding):
    t = tokens.tokenizer_for(model)
    assert t.encoding == encoding
    assert t.approximate is False


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "anthropic/claude-3-5-haiku", "gemini-2.5-flash", "googleai/gemini-2.5-pro", "llama-3.1-70b", "mystery-model"])
def test_other_models_are_approximate(model):
    t = tokens.tokenizer_for(model)
    assert t.approximate is True
    assert t.encoding == "o200k_base"
    base = tokens.count_encoding("Summarize the following article in three bullet points.", "o200k_base")
    assert tokens.count("Summarize the following article in three bullet points.", model) == round(base * t.factor)


def test_claude_factor_is_documented_and_above_one():
    assert tokens.tokenizer_for("claude-3-opus").factor > 1.0


def test_vocabulary_hash_mismatch_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMPTLINT_VOCAB_CACHE", str(tmp_path))
    monkeypatch.setattr(tokens, "_bundled_bytes", lambda name: b"dGVzdA== 0\n")
    monkeypatch.setattr(tokens, "_encoders", {})
    with pytest.raises(tokens.VocabularyError, match="sha256"):
        tokens.get_encoding("cl100k_base")


def test_unknown_encoding_is_an_error():
    with pytest.raises(tokens.VocabularyError):
        tokens.get_encoding("p50k_base")


NO_NETWORK = r"""
import socket, sys
def refuse(*a, **k):
    raise OSError("network disabled for this test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from promptlint import tokens
enc = tokens.get_encoding("o200k_base")
assert enc.encode("hello world") == [24912, 2375], enc.encode("hello world")
assert tokens.get_encoding("cl100k_base").encode("hello world") == [15339, 1917]
print(tokens.count("You are a helpful assistant.", "gpt-4o"))
"""


def test_counting_works_without_network(tmp_path):
    empty = tmp_path / "tiktoken-cache"
    empty.mkdir()
    env = dict(os.environ)
    env.update(
        {
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "https_proxy": "http://127.0.0.1:9",
            "http_proxy": "http://127.0.0.1:9",
            "TIKTOKEN_CACHE_DIR": str(empty),
            "DATA_GYM_CACHE_DIR": str(empty),
            "PROMPTLINT_VOCAB_CACHE": str(tmp_path / "vocab"),
        }
    )
    r = subprocess.run([sys.executable, "-c", NO_NETWORK], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) == 6
    assert list(empty.iterdir()) == []  # tiktoken never cached (downloaded) anything
    # second run uses the verified pre-parsed cache and gives the same ids
    r2 = subprocess.run([sys.executable, "-c", NO_NETWORK], env=env, capture_output=True, text=True, timeout=120)
    assert r2.returncode == 0 and r2.stdout == r.stdout
    assert any((tmp_path / "vocab").iterdir())
