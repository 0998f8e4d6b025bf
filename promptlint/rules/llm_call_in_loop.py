"""llm-call-in-loop: one LLM call per item of a data loop, re-sending the same prompt text every time."""

from __future__ import annotations

import ast

from ..flow import _FOR, _in, flow_for
from .base import Docs, Examples, Rule


class LLMCallInLoop(Rule):
    code = "PL405"
    name = "llm-call-in-loop"
    severity = "info"
    scope = "file"
    analysis_kind = "ast"  # walks the ast tree (promptlint/flow.py)
    summary = "One LLM call per item of a loop, re-sending a loop-invariant prompt"
    example_host = "python"
    options = {"min-invariant-tokens": 32}
    docs = Docs(
        what=(
            "Reports an LLM call made once per item of a `for` (or `async for`) loop over data whose prompt has a "
            "loop-invariant part (instructions, a system prompt, few-shot examples) of at least "
            "`min-invariant-tokens` tokens (default 32): the static tokens of every prompt at that call (for a "
            "local wrapper function, also the prompts at the calls inside it), which are re-sent on every "
            "iteration. Loops over `range(...)` or a literal list (agent steps, retries, model fallbacks) and "
            "loops that leave after the first successful call are not reported."
        ),
        why=(
            "The same instructions are paid for once per item. Several items per request, the provider's batch "
            "API (about half the price) or a prompt-cache-friendly layout (invariant part first, at least ~1024 "
            "tokens) cut that cost; concurrent requests cut the wall time."
        ),
        example=(
            "for article in articles:                        # PL405 (info)\n"
            "    client.chat.completions.create(model=\"gpt-4o-mini\", messages=[\n"
            "        {\"role\": \"system\", \"content\": EXTRACTION_INSTRUCTIONS},   # 385 tokens, every time\n"
            "        {\"role\": \"user\", \"content\": article.text}])"
        ),
        fix_safety="No fix: batching or caching changes how the code calls the API.",
    )
    examples = Examples(
        valid=[
            "for step in range(8):\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=[\n"
            "        {\"role\": \"system\", \"content\": \"You are a careful research agent. Work step by step, cite every source you use, never invent URLs, and stop as soon as the question is answered with evidence.\"},\n"
            "        {\"role\": \"user\", \"content\": question}])\n",
            "for doc in docs:\n"
            "    client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=[{\"role\": \"user\", \"content\": doc}])\n",
        ],
        invalid=[
            "for doc in docs:\n"
            "    client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=[\n"
            "        {\"role\": \"system\", \"content\": \"Summarize the support article below in three bullet points for a busy agent. Keep product names, prices, deadlines and numbers exactly as written, and do not add advice that is not in the article.\"},\n"
            "        {\"role\": \"user\", \"content\": doc}])\n",
        ],
    )

    def check_file(self, ctx):
        flow = flow_for(ctx)
        if flow is None or not flow.calls:
            return []
        limit = int(self.opts.get("min-invariant-tokens", 32))
        out = []
        try:
            for c in sorted(flow.calls.values(), key=lambda c: flow.pos(c.node)[0]):
                loops = flow.enclosing_loops(c.node)
                if not loops or not isinstance(loops[0], _FOR):
                    continue
                loop = loops[0]
                if flow.loop_info(loop).kind != "for-data" or self._leaves_after(flow, c.node, loop):
                    continue
                prompts = flow.prompts_at_call(c)
                tokens = sum(p.tokens or 0 for p in prompts)
                if tokens < limit:
                    continue
                approx = "~" if any(p.approximate for p in prompts) else ""
                items = flow.header_code(loop, "iter")
                items = items if len(items) <= 40 else items[:39] + "…"
                msg = (
                    f"{flow.describe(c)} runs once per item of `{items}` (loop at line {flow.line(loop)}) and re-sends "
                    f"{approx}{tokens:,} loop-invariant prompt tokens every time: put several items in one request, "
                    "use the provider's batch API, or keep the invariant part first so prompt caching can serve it"
                )
                s0 = flow.pos(c.node)[0]
                s1 = flow.pos(c.node.func)[1]
                out.append(ctx.diagnostic(s0, s1, msg, tokens_wasted=tokens))
        except RecursionError:
            return out
        return out

    def _leaves_after(self, flow, node, loop) -> bool:
        """The loop ends once the call succeeds (a fallback / first-match loop), not one call per item."""
        child = node
        p = flow.parent(node)
        while p is not None:
            if type(p) is ast.Return:
                return True
            if isinstance(child, ast.stmt):
                # the statements after the call's statement in its block (the loop body included)
                for name in ("body", "orelse", "finalbody"):
                    stmts = getattr(p, name, None)
                    if type(stmts) is list and _in(child, stmts):
                        k = next(i for i, st in enumerate(stmts) if st is child)
                        if any(type(st) in (ast.Return, ast.Break) for st in stmts[k:]):
                            return True
                        break
            if p is loop:
                break
            child = p
            p = flow.parent(p)
        return False


RULE = LLMCallInLoop
