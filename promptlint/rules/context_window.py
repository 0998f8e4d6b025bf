"""context-window: a prompt's static tokens exceed the model's context window (or a fraction of it)."""

from __future__ import annotations

from .base import Docs, Examples, Finding, Rule


class ContextWindow(Rule):
    code = "PL102"
    name = "context-window"
    severity = "error"
    summary = "Static prompt text exceeds the model's context window"
    options = {"max-fraction": 1.0}
    docs = Docs(
        what=(
            "Compares a prompt's static tokens with the context window of its model (from the shipped model "
            "table; override with `[tool.promptlint.models.<id>] context_window = N`). Option `max-fraction` "
            "(default 1.0) reports prompts that use more than that fraction of the window before any dynamic "
            "content or output is added."
        ),
        why="A request over the window fails at run time; one close to it leaves no room for input and output.",
        example="A 150,000-token static prompt sent to gpt-4o (128,000-token window).",
        fix_safety="No fix.",
    )
    examples = Examples()
    example_host = "none"

    def check(self, prompt, ctx):
        from .. import models

        info = models.lookup(prompt.model or ctx.cfg.model, ctx.cfg.models)
        if info is None or not info.context_window or prompt.tokens is None:
            return []
        frac = float(self.opts.get("max-fraction", 1.0))
        limit = int(info.context_window * frac)
        if prompt.tokens <= limit:
            return []
        what = "context window" if frac >= 1.0 else f"{frac:.0%} of the context window"
        t = f"~{prompt.tokens:,}" if prompt.approximate else f"{prompt.tokens:,}"
        return [
            Finding(
                0,
                0,
                f"Prompt has {t} static tokens, over {what} of {info.key} ({limit:,} tokens)",
                tokens_wasted=prompt.tokens - limit,
                whole_prompt=True,
            )
        ]


RULE = ContextWindow
