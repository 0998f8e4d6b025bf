"""unbounded-llm-loop: an LLM call in a loop (or retry, or recursion) that nothing bounds."""

from __future__ import annotations

import ast

from ..extract.pyast import chain as _chain
from ..extract.pyast import has_kwsplat
from ..extract.pyast import kw as _kw
from ..flow import _FUNCS, _TRY, _in, _Paths, flow_for
from .base import Docs, Examples, Rule


def _short(code: str, n: int = 40) -> str:
    code = " ".join(code.split())
    return code if len(code) <= n else code[: n - 1] + "…"


class UnboundedLLMLoop(Rule):
    code = "PL401"
    name = "unbounded-llm-loop"
    severity = "warning"
    scope = "file"
    analysis_kind = "ast"  # walks the ast tree (promptlint/flow.py)
    summary = "LLM call in a loop, retry or recursion with no iteration bound"
    example_host = "python"
    docs = Docs(
        what=(
            "Reports an LLM call (an SDK or litellm completion, a call on an LLM object or a LangChain pipe, a "
            "configured `llm-functions` wrapper, a call passing `llm=`/`model_client=`, or a function of the same "
            "module that makes any of these, directly or through one more local function) that runs inside:\n"
            "- `while True:` or a condition-only `while` whose exit depends on the model's output or outside "
            "state, with no iteration counter (or clock) compared against a bound on every path that loops back;\n"
            "- a retry loop that retries forever on exceptions (`while True: try: ... except: continue`);\n"
            "- a `for` over `itertools.count()`/`cycle()`/`iter(f, sentinel)` or tenacity `Retrying()` without "
            "`stop=`;\n"
            "- a function decorated with tenacity `@retry` without `stop=` or backoff `@on_exception`/"
            "`@on_predicate` without `max_tries`/`max_time`;\n"
            "- recursion with no depth bound (no parameter, and no counter the function increments, compared "
            "against a limit).\n"
            "Bounded loops stay silent: `for ... in range(n)`, iteration over data, `while turns < MAX` with an "
            "increment, `while True` with `if i >= MAX: break` (or `raise`) reached on every path, a deadline "
            "check, a worklist consumed with `pop()`. A counter that a `continue` path skips does not bound the "
            "loop. Loops where every iteration waits for input (`input()`, a websocket or queue receive) or that "
            "sleep every round with no way out (a scheduler) are driven from outside and are not reported."
        ),
        why=(
            "An agent loop that stops only when the model says \"DONE\" runs, and bills, until it does: a "
            "confused model, a tool that keeps failing or a prompt regression turns one request into hundreds. "
            "A retry loop with no attempt limit re-sends the whole prompt on every failure for as long as the "
            "failure lasts."
        ),
        example=(
            "while True:                      # PL401\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", messages=messages)\n"
            "    if \"DONE\" in reply.choices[0].message.content:\n"
            "        break\n"
            "\n"
            "# bounded:\n"
            "for step in range(MAX_STEPS):\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", messages=messages)\n"
            "    if \"DONE\" in reply.choices[0].message.content:\n"
            "        break"
        ),
        fix_safety="No fix: choose a bound that suits the task (steps, attempts, depth or a deadline).",
    )
    examples = Examples(
        valid=[
            "for step in range(8):\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=messages)\n"
            "    if reply.choices[0].finish_reason == \"stop\":\n"
            "        break\n",
            "attempts = 0\n"
            "while True:\n"
            "    attempts += 1\n"
            "    if attempts > 3:\n"
            "        raise RuntimeError(\"giving up\")\n"
            "    try:\n"
            "        reply = client.messages.create(model=\"claude-sonnet-4-5\", max_tokens=300, messages=messages)\n"
            "        break\n"
            "    except Exception:\n"
            "        continue\n",
            "from tenacity import retry, stop_after_attempt\n"
            "\n"
            "@retry(stop=stop_after_attempt(3))\n"
            "def ask(messages):\n"
            "    return client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=messages)\n",
        ],
        invalid=[
            "while True:\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=messages)\n"
            "    if reply.choices[0].message.content == \"DONE\":\n"
            "        break\n",
            "import time\n"
            "\n"
            "def answer(question):\n"
            "    while True:\n"
            "        try:\n"
            "            return client.messages.create(model=\"claude-sonnet-4-5\", max_tokens=300,\n"
            "                                          messages=[{\"role\": \"user\", \"content\": question}])\n"
            "        except Exception:\n"
            "            time.sleep(2)\n"
            "            continue\n",
            "from tenacity import retry, wait_exponential\n"
            "\n"
            "@retry(wait=wait_exponential(max=30))\n"
            "def ask(messages):\n"
            "    return client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=messages)\n",
        ],
    )

    def check_file(self, ctx):
        flow = flow_for(ctx)
        if flow is None or not flow.calls:
            return []
        try:
            out = self._loops(ctx, flow)
            out += self._decorators(ctx, flow)
            out += self._recursion(ctx, flow)
        except RecursionError:
            return []
        return out

    # ------------------------------------------------------------------------------------ loops
    def _loops(self, ctx, flow):
        out = []
        for loop, calls in flow.loops_with_calls().items():
            info = flow.loop_info(loop)
            is_for = type(loop) is not ast.While
            if is_for:
                if info.kind != "for-infinite" or info.counted or info.interactive or info.daemon:
                    continue
                if any(name == "input" for name in flow.idents(loop.iter)):
                    continue  # for line in iter(input, "quit"): interactive
                header = f"for {flow.header_code(loop, 'target')} in {_short(flow.header_code(loop, 'iter'))}"
                h_end = flow.pos(loop.iter)[1]
            else:
                if info.counted or info.interactive or info.daemon:
                    continue
                header = "while " + _short(flow.header_code(loop, "test"))
                h_end = flow.pos(loop.test)[1]
            first = calls[0]
            more = len({id(c) for c in calls}) - 1
            what = flow.describe(first) + (f" and {more} more LLM call{'s' if more > 1 else ''}" if more > 0 else "")
            retry = self._retry_call(flow, loop, calls) if info.kind == "while-true" else None
            if retry is not None:
                msg = (
                    f"`{header}` retries {flow.describe(retry)} forever when it raises: no attempt counter is "
                    "checked against a limit, so a persistent failure loops (and re-sends the prompt) without end; "
                    "count attempts and give up after a few, or use tenacity with stop="
                )
            elif is_for:
                msg = (
                    f"`{header}` never runs out, and nothing in it bounds the iterations around {what}: "
                    "compare the counter against a maximum and break"
                )
            else:
                cause = "exits only on the model's output or outside state" if info.kind == "while-true" else "has an exit that depends on model output or outside state"
                msg = (
                    f"`{header}` loop around {what} {cause}, and no iteration counter is compared against a "
                    "bound: a model that never finishes keeps it calling (and billing); cap the steps "
                    "(`for step in range(MAX_STEPS)` or `if step >= MAX_STEPS: break`)"
                )
            if info.partial:
                msg += f" (the check on `{info.partial}` is skipped by a path that loops back, e.g. a `continue`, so it does not bound the loop)"
            start = flow.pos(loop)[0]
            out.append(ctx.diagnostic(start, h_end, msg))
        return out

    def _retry_call(self, flow, loop, calls):
        """The LLM call of a retry-on-exception pattern: in a try body whose handler loops back."""
        for c in calls:
            child = c.node
            p = flow.parent(child)
            while p is not None and p is not loop and type(p) not in (ast.For, ast.AsyncFor, ast.While):
                if isinstance(p, _TRY) and _in(child, p.body):
                    for h in p.handlers:
                        if not _Paths(flow, None).exits(h.body):
                            return c
                child = p
                p = flow.parent(p)
        return None

    # ------------------------------------------------------------------------------------ decorators
    def _decorators(self, ctx, flow):
        out = []
        for scope in flow.col.defs:
            node = scope.node
            if not isinstance(node, _FUNCS) or not flow.calls_in.get(scope):
                continue
            for expr in node.decorator_list:
                call = expr if isinstance(expr, ast.Call) else None
                ch = _chain(call.func if call is not None else expr) or ""
                q = flow.qualified(ch)
                splat = call is not None and has_kwsplat(call)
                inner = self._first_sink(flow, scope)
                msg = None
                if q == "tenacity.retry":
                    stop = _kw(call, "stop") if call is not None else None
                    if call is None:
                        msg = f"bare `@retry` on {node.name}() retries {inner} forever: tenacity's default is to never stop; add stop=stop_after_attempt(n)"
                    elif not splat and stop is None:
                        msg = f"`@retry` on {node.name}() has no stop=, so tenacity retries {inner} forever; add stop=stop_after_attempt(n) (or stop_after_delay)"
                    elif stop is not None and "stop_never" in flow.code(stop):
                        msg = f"`@retry(stop=stop_never)` on {node.name}() retries {inner} forever; stop after a few attempts"
                elif q in ("backoff.on_exception", "backoff.on_predicate"):
                    if call is not None and not splat and _kw(call, "max_tries") is None and _kw(call, "max_time") is None:
                        deco = "@" + ch.rsplit(".", 1)[-1] if "." not in ch else "@" + ch
                        msg = f"`{deco}` on {node.name}() has neither max_tries nor max_time, so backoff retries {inner} forever; add max_tries=n"
                if msg:
                    s0, s1 = flow.decorator_span(expr)
                    out.append(ctx.diagnostic(s0, s1, msg))
        return out

    def _first_sink(self, flow, scope) -> str:
        c = flow.first_call_in(scope)
        return flow.describe(c) if c is not None else "the LLM call"

    # ------------------------------------------------------------------------------------ recursion
    def _recursion(self, ctx, flow):
        out = []
        for scope in flow.col.defs:
            calls = flow.calls_in.get(scope) or []
            self_calls = [c for c in calls if c.kind == "local" and c.target is scope]
            if not self_calls:
                continue
            others = [c for c in calls if c.target is not scope]
            if not others or self._depth_bound(flow, scope):
                continue
            c = self_calls[0]
            around = flow.describe(others[0])
            msg = (
                f"{scope.name}() calls itself at line {c.line} around {around} with no depth bound (no parameter "
                "is compared against a limit before recursing): pass a depth and stop at a maximum"
            )
            s0, s1 = flow.pos(c.node)
            out.append(ctx.diagnostic(s0, s1, msg))
        return out

    def _depth_bound(self, flow, scope) -> bool:
        """A parameter (depth, remaining, the input) or a counter the function increments (self.attempts += 1)
        compared in a test of the function."""
        node = scope.node
        watched = {p for p in scope.params if p not in ("self", "cls")}
        for n in flow.walk(node.body):
            if type(n) is ast.AugAssign and isinstance(n.target, (ast.Name, ast.Attribute)):
                watched.add(flow.code(n.target))
        if not watched:
            return False
        for n in flow.walk(node.body):
            if not isinstance(n, (ast.If, ast.While, ast.IfExp, ast.Assert)):
                continue
            for m in flow.walk(n.test):
                if type(m) is ast.Compare and any(x in watched for x in flow.names_and_attrs(m)):
                    return True
        return False


RULE = UnboundedLLMLoop
