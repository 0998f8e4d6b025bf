"""total-budget: the projected monthly input cost of all prompts is over config `total-budget`."""

from __future__ import annotations

import os
import re

from .base import Docs, Examples, Rule

LONG = (
    "You are the support assistant of a bookshop. Answer questions about orders, delivery times, returns and "
    "refunds. Use the order data given below and never invent order numbers, prices or dates. "
) * 4


def config_location(cfg):
    """(path, line, end column) of the `total-budget` key in the config file, or None."""
    if not cfg.path:
        return None
    path = cfg.path
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    m = re.search(r"^[ \t]*[\"']?total-budget[\"']?[ \t]*=[^\n]*", text, re.M)
    line = text.count("\n", 0, m.start()) + 1 if m else 1
    end_col = len(m.group(0).rstrip("\r")) + 1 if m else 1
    shown = path
    if os.path.isabs(path):
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            shown = rel
    return shown, line, end_col


class TotalBudget(Rule):
    code = "PL104"
    name = "total-budget"
    severity = "error"
    summary = "Projected monthly prompt cost exceeds total-budget"
    scope = "project"
    docs = Docs(
        what=(
            "Adds up the projected monthly input cost of every prompt that has a call rate (cost per call x "
            "`calls-per-day` x 30 days; rates from `# promptlint: calls-per-day=N` comments or config "
            "`calls-per-day`) and reports when the sum is over config `total-budget` (dollars per month). "
            "Prompts without a call rate or a price are not counted; with no call rates at all the budget "
            "cannot be checked and nothing is reported (`promptlint report` says so). The finding points at "
            "the `total-budget` line of the config file."
        ),
        why=(
            "A monthly budget is the number finance cares about; checking it in CI makes a prompt change that "
            "breaks it visible before it ships, not on the invoice."
        ),
        example='# pyproject.toml\n[tool.promptlint]\ncalls-per-day = 50000\ntotal-budget = 500  # $ per month',
        fix_safety="No fix: trim the largest prompts (see `promptlint report`), lower their call rates, or raise the budget.",
    )
    # Run with `example_config` by tests/test_costs_report.py (the shared harness has no config).
    examples = Examples(valid=[["Say hello."]], invalid=[[LONG]])
    example_host = "config"
    example_config = {"total-budget": 1.0, "calls-per-day": 1000}

    def check_project(self, prompts, cfg):
        from .. import costs
        from ..types import Diagnostic

        limit = cfg.total_budget
        if limit is None:
            return []
        book = costs.PriceBook(cfg)
        rated = []
        unrated = 0
        for p in prompts:
            c = book.prompt_cost(p)
            if c.monthly_cost is None:
                unrated += 1
                continue
            rated.append((c.monthly_cost, p, c))
        if not rated:
            return []
        total = sum(m for m, _, _ in rated)
        if total <= limit:
            return []
        approx = any(c.approximate for _, _, c in rated)
        rated.sort(key=lambda t: -t[0])
        top = rated[0]
        top_label = f"{top[1].path}:{top[1].line}" + (f" {top[1].name}" if top[1].name else "")
        msg = (
            f"Projected monthly input cost {costs.money(total, approx)} of {len(rated)} prompt"
            f"{'s' if len(rated) != 1 else ''} with call rates is over total-budget {costs.money(limit)} by "
            f"{costs.money(total - limit, approx)} ({costs.DAYS_PER_MONTH}-day month; largest: {top_label} "
            f"{costs.money(top[0], top[2].approximate)})"
        )
        if unrated:
            msg += f"; {unrated} prompt{'s' if unrated != 1 else ''} without a call rate or price not counted"
        loc = config_location(cfg)
        if loc is not None:
            path, line, end_col = loc
            return [Diagnostic(path, line, 1, line, end_col, self.code, self.name, self.severity, msg)]
        p = top[1]
        return [Diagnostic(p.path, p.line, p.column, p.end_line, p.end_column, self.code, self.name, self.severity, msg, None, None, p.start, p.end, p.cell)]


RULE = TotalBudget
