"""over-cost-budget: one call of a prompt costs more (input side) than config `max-cost-per-call`."""

from __future__ import annotations

from .base import Docs, Examples, Finding, Rule

LONG = (
    "You are the support assistant of a bookshop. Answer questions about orders, delivery times, returns and "
    "refunds. Use the order data given below and never invent order numbers, prices or dates. When the data "
    "does not answer the question, say so and offer to connect the customer with a person from the team. "
) * 3


class OverCostBudget(Rule):
    code = "PL103"
    name = "over-cost-budget"
    severity = "error"
    summary = "Prompt input cost per call exceeds max-cost-per-call"
    docs = Docs(
        what=(
            "Prices each prompt's static tokens at its model's input price (the shipped model table, or "
            "`[tool.promptlint.models.<id>] input = ...` in config) and reports a prompt whose cost per call is "
            "over config `max-cost-per-call` (dollars). Prompts of models without a price are not checked. "
            "Counts of Claude and Gemini models are estimates, so is their cost (marked `~`)."
        ),
        why=(
            "The cost of a call is paid on every call: a per-call ceiling keeps a prompt from quietly growing "
            "into the largest line of the bill. Placeholders are not counted, so the real cost is higher."
        ),
        example='# pyproject.toml: max-cost-per-call = 0.001\nSYSTEM = """<a 600-token prompt sent to gpt-4o>"""',
        fix_safety="No fix: trim the prompt, move it to a cheaper model, or raise the ceiling on purpose.",
    )
    # Run with `example_config` by tests/test_costs_report.py (the shared harness has no config).
    examples = Examples(valid=["Say hello."], invalid=[LONG])
    example_host = "config"
    example_config = {"max-cost-per-call": 0.0001}

    def check(self, prompt, ctx):
        from .. import costs

        limit = ctx.cfg.max_cost_per_call
        if limit is None or prompt.tokens is None:
            return []
        c = costs.prompt_cost(prompt, ctx.cfg)
        if c.cost_per_call is None or c.cost_per_call <= limit:
            return []
        over = max(0, prompt.tokens - costs.tokens_for_cost(limit, c.input_price))
        t = f"~{prompt.tokens:,}" if prompt.approximate else f"{prompt.tokens:,}"
        label = f"Prompt {prompt.name}" if prompt.name else "Prompt"
        return [
            Finding(
                0,
                0,
                f"{label} costs {costs.money(c.cost_per_call, prompt.approximate)} per call ({t} tokens at "
                f"{costs.price(c.input_price)}/1M input, {c.model_key}), over max-cost-per-call "
                f"{costs.money(limit)} by {over:,} tokens",
                tokens_wasted=over,
                whole_prompt=True,
            )
        ]


RULE = OverCostBudget
