"""Measure prompts: model -> tokenizer -> exact (or flagged approximate) token counts."""

from __future__ import annotations

from dataclasses import replace

from . import tokens


def measure(prompt, cfg):
    model = prompt.model or cfg.model
    tok = tokens.tokenizer_for(model, cfg.models)
    n = tokens.count(prompt.static_text, tok)
    tmin = tmax = None
    outside = prompt.get_meta("outside_text")
    branches = prompt.get_meta("branches")
    if outside is not None and branches:
        base = tokens.count(outside, tok)
        tmin = base + sum(min(tokens.count(alt, tok) for alt in alts) for alts in branches)
        tmax = base + sum(max(tokens.count(alt, tok) for alt in alts) for alts in branches)
        # pieces are counted apart, so token merges across their edges can push the sum past the whole
        tmax = min(tmax, n)
        tmin = min(tmin, tmax)
    return replace(
        prompt,
        model=model,
        encoding=tok.encoding,
        approximate=tok.approximate,
        tokens=n,
        tokens_min=tmin,
        tokens_max=tmax,
    )


class Counter:
    """Token counting with one prompt's tokenizer (what rules use to state waste in tokens)."""

    __slots__ = ("tok",)

    def __init__(self, model: str, overrides=()):
        self.tok = tokens.tokenizer_for(model, overrides)

    def count(self, text: str) -> int:
        return tokens.count(text, self.tok)
