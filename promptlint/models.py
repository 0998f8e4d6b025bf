"""The shipped model table (promptlint/data/models.yaml): prices, context windows, tokenizer families.

Lookup: lower-case the id, strip a provider/route prefix, then exact key, exact alias, else the longest key
(model or alias) that is a prefix of the id. Config ``[tool.promptlint.models.<id>]`` overrides or adds
entries (same fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

FIELDS = ("provider", "encoding", "family", "input", "cached_input", "output", "context_window", "max_output", "verified")


@dataclass(frozen=True)
class ModelInfo:
    key: str
    provider: Optional[str] = None
    encoding: Optional[str] = None
    family: Optional[str] = None
    input: Optional[float] = None  # $ per 1M tokens
    cached_input: Optional[float] = None
    output: Optional[float] = None
    context_window: Optional[int] = None
    max_output: Optional[int] = None
    verified: bool = True


@lru_cache(maxsize=1)
def table() -> dict:
    import os

    import yaml

    # a plain path (the package ships as files): importlib.resources cost 10 ms of imports per run
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "models.yaml"), encoding="utf-8") as fh:
        text = fh.read()
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def as_of() -> str:
    return str(table().get("as-of", ""))


def families() -> dict:
    return table().get("families", {})


def normalize(model: str) -> str:
    m = model.strip().lower()
    if "/" in m:
        m = m.rsplit("/", 1)[1]
    for pre in ("us.anthropic.", "eu.anthropic.", "apac.anthropic.", "anthropic.", "models/"):
        if m.startswith(pre):
            m = m[len(pre) :]
    return m


def _entry(key: str, data: dict) -> ModelInfo:
    kw = {k: data.get(k) for k in FIELDS if k in data}
    if "verified" in kw:
        kw["verified"] = bool(kw["verified"])
    return ModelInfo(key=key, **kw)


def lookup(model: str, overrides=()) -> Optional[ModelInfo]:
    m = normalize(model)
    over = {normalize(k): dict(v) for k, v in overrides}
    models = table().get("models", {})
    aliases = table().get("aliases", {})
    if m in over:
        base = models.get(m, {})
        return _entry(m, {**base, **over[m]})
    key = None
    if m in models:
        key = m
    elif m in aliases:
        key = aliases[m]
    else:
        best = ""
        for k in list(models) + list(aliases):
            if m.startswith(k) and len(k) > len(best):
                best = k
        if best:
            key = aliases.get(best, best)
    for k, v in over.items():  # a config prefix match beats nothing
        if key is None and m.startswith(k):
            return _entry(k, v)
    if key is None or key not in models:
        return None
    if key in over:  # an override of "gpt-4o" also prices "gpt-4o-2024-08-06"
        return _entry(key, {**models[key], **over[key]})
    return _entry(key, models[key])
