"""The cost model: what one call of a prompt costs on the input side, and what a month of calls costs.

cost_per_call = tokens x input price / 1e6, with the prompt's static token count (placeholders are not
counted, so it is a floor) and its model's ``input`` price from the shipped table (promptlint/data/models.yaml)
or config ``[tool.promptlint.models.<id>]``. None when the model has no price.

monthly_cost = cost_per_call x calls per day x DAYS_PER_MONTH (a 30-day month), when the prompt has a call
rate. The rate comes from, in order: a ``# promptlint: calls-per-day=N`` comment (prompt meta
``calls_per_day``); the first config ``calls-per-day`` glob (``path`` or ``path::name``, like ``budgets``)
that matches; the config's global ``calls-per-day`` (the ``"*"`` entry).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Optional

from . import models

DAYS_PER_MONTH = 30
PER = 1_000_000  # prices are per 1M tokens

GLOBAL = "*"


@dataclass(frozen=True)
class PromptCost:
    model: Optional[str]  # the prompt's model id
    model_key: Optional[str]  # the price-table entry it resolved to (None: unknown model)
    tokens: int
    approximate: bool
    input_price: Optional[float]  # $ per 1M input tokens
    cost_per_call: Optional[float]  # $ (None: no price)
    calls_per_day: Optional[float]
    calls_source: Optional[str]  # "comment" | "calls-per-day['glob']" | "calls-per-day"
    monthly_cost: Optional[float]  # $ (None: no price or no call rate)


def matches(pattern: str, prompt, cfg) -> bool:
    """A ``path`` or ``path::name`` glob against a prompt (path relative to the config folder, as given, or
    the file name)."""
    path_pat, sep, name_pat = pattern.partition("::")
    plain = prompt.path.replace(os.sep, "/")
    rel = os.path.relpath(os.path.abspath(prompt.path), cfg.root).replace(os.sep, "/")
    if not (fnmatch.fnmatch(rel, path_pat) or fnmatch.fnmatch(plain, path_pat) or fnmatch.fnmatch(os.path.basename(plain), path_pat)):
        return False
    if sep and not fnmatch.fnmatchcase(prompt.name or "", name_pat):
        return False
    return True


def calls_per_day(prompt, cfg) -> tuple:
    """(calls per day, source) for a prompt: comment > config glob > config global; (None, None) if none."""
    n = prompt.get_meta("calls_per_day")
    if n is not None:
        return float(n), "comment"
    glob_default = None
    for pattern, value in cfg.calls_per_day:
        if pattern == GLOBAL:
            if glob_default is None:
                glob_default = value
            continue
        if matches(pattern, prompt, cfg):
            return float(value), f"calls-per-day['{pattern}']"
    if glob_default is not None:
        return float(glob_default), "calls-per-day"
    return None, None


class PriceBook:
    """Model lookups for one config, cached by model id."""

    def __init__(self, cfg):
        self.cfg = cfg
        self._cache = {}

    def info(self, model: Optional[str]) -> Optional[models.ModelInfo]:
        model = model or self.cfg.model
        if model not in self._cache:
            self._cache[model] = models.lookup(model, self.cfg.models)
        return self._cache[model]

    def input_price(self, model: Optional[str]) -> Optional[float]:
        info = self.info(model)
        if info is None or info.input is None:
            return None
        return float(info.input)

    def cost(self, tokens: Optional[int], model: Optional[str]) -> Optional[float]:
        price = self.input_price(model)
        if price is None or tokens is None:
            return None
        return tokens * price / PER

    def waste_price(self, model: Optional[str], kind: str = "input") -> Optional[float]:
        """$ per 1M tokens that one wasted token costs. ``kind`` "input": the input price; "cache": tokens
        that could be read from the prompt cache cost input - cached_input (0 when the model has no cache
        rate: cached tokens are billed at the input price)."""
        price = self.input_price(model)
        if price is None or kind != "cache":
            return price
        cached = self.info(model).cached_input
        return max(0.0, price - float(cached)) if cached is not None else 0.0

    def prompt_cost(self, prompt) -> PromptCost:
        model = prompt.model or self.cfg.model
        info = self.info(model)
        price = self.input_price(model)
        tokens = prompt.tokens or 0
        per_call = tokens * price / PER if price is not None else None
        calls, source = calls_per_day(prompt, self.cfg)
        monthly = per_call * calls * DAYS_PER_MONTH if per_call is not None and calls is not None else None
        return PromptCost(model, info.key if info else None, tokens, bool(prompt.approximate), price, per_call, calls, source, monthly)


def prompt_cost(prompt, cfg) -> PromptCost:
    return PriceBook(cfg).prompt_cost(prompt)


def tokens_for_cost(cost: float, price: float) -> int:
    """The most tokens a cost affords at a price ($ per 1M)."""
    if price <= 0:
        return 0
    import math

    return int(math.floor(cost * PER / price + 1e-9))


def json_extra(cfg):
    """The ``prompt_extra`` hook of output.to_json: cost_per_call always (null when the model has no price),
    calls_per_day and monthly_cost when the prompt has a call rate."""
    book = PriceBook(cfg)

    def extra(prompt) -> dict:
        c = book.prompt_cost(prompt)
        out = {"cost_per_call": round_money(c.cost_per_call)}
        if c.calls_per_day is not None:
            out["calls_per_day"] = c.calls_per_day
            out["monthly_cost"] = round_money(c.monthly_cost)
        return out

    return extra


def round_money(x: Optional[float]) -> Optional[float]:
    """Dollars for JSON: 10 decimal places is far below any price and removes float noise (0.000747499999)."""
    return None if x is None else round(x, 10)


def money(x: Optional[float], approx: bool = False) -> str:
    """Dollars for people: 3 significant digits below $1, cents from $1, whole dollars from $1,000."""
    if x is None:
        return "-"
    sign = "~" if approx else ""
    if x == 0:
        return f"{sign}$0"
    a = abs(x)
    if a >= 1000:
        s = f"${x:,.0f}"
    elif a >= 1:
        s = f"${x:,.2f}"
    else:
        import math

        digits = min(12, -int(math.floor(math.log10(a))) + 2)
        s = f"${x:.{digits}f}"
    return sign + s


def price(x: Optional[float]) -> str:
    """A per-1M-tokens price as the table writes it."""
    if x is None:
        return "-"
    s = f"{x:.3f}".rstrip("0")
    if s.endswith("."):
        s += "00"
    elif len(s.split(".")[1]) == 1:
        s += "0"
    return "$" + s


def rate(x: Optional[float]) -> str:
    """Calls per day: integers without decimals."""
    if x is None:
        return "-"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.2f}"
