"""over-budget: a prompt's tokens exceed its budget (the CI gate)."""

from __future__ import annotations

import fnmatch
import os

from .base import Docs, Examples, Finding, Rule


def budget_for(prompt, cfg):
    """(budget, source) for a prompt: comment/front matter > config `budgets` glob > `default-budget`."""
    b = prompt.get_meta("budget")
    if b is not None:
        return int(b), "promptlint: budget comment"
    if cfg.budgets:
        rel = os.path.relpath(os.path.abspath(prompt.path), cfg.root).replace(os.sep, "/")
        plain = prompt.path.replace(os.sep, "/")
        for pattern, n in cfg.budgets:
            path_pat, sep, name_pat = pattern.partition("::")
            if not (fnmatch.fnmatch(rel, path_pat) or fnmatch.fnmatch(plain, path_pat) or fnmatch.fnmatch(os.path.basename(plain), path_pat)):
                continue
            if sep and not fnmatch.fnmatchcase(prompt.name or "", name_pat):
                continue
            return int(n), f"budgets['{pattern}']"
    if cfg.default_budget is not None:
        return int(cfg.default_budget), "default-budget"
    return None, None


class OverBudget(Rule):
    code = "PL101"
    name = "over-budget"
    severity = "error"
    summary = "Prompt tokens exceed its budget"
    docs = Docs(
        what=(
            "Compares each prompt's static tokens with its budget. Budgets come from, in order: a "
            "`# promptlint: budget=N` comment on the line before the assignment/literal or on its first line "
            "(`{# promptlint: budget=N #}` / front matter `promptlint: {budget: N}` in prompt files); config "
            "`budgets`, a table of `path::name` globs to N; config `default-budget`."
        ),
        why="A budget is how a team keeps prompt growth visible and intentional; every token over it is paid on every call.",
        example='# promptlint: budget=50\nSYSTEM = """<a 120-token prompt>"""',
        fix_safety="No fix: trim the prompt or raise the budget on purpose.",
    )
    examples = Examples(valid=["Short prompt."], invalid=[])
    example_host = "budget"

    def check(self, prompt, ctx):
        budget, source = budget_for(prompt, ctx.cfg)
        if budget is None or prompt.tokens is None or prompt.tokens <= budget:
            return []
        t = f"~{prompt.tokens:,}" if prompt.approximate else f"{prompt.tokens:,}"
        label = f"Prompt {prompt.name}" if prompt.name else "Prompt"
        return [
            Finding(
                0,
                0,
                f"{label} has {t} tokens, over its budget of {budget:,} by {prompt.tokens - budget:,} ({source})",
                tokens_wasted=prompt.tokens - budget,
                whole_prompt=True,
            )
        ]


RULE = OverBudget
