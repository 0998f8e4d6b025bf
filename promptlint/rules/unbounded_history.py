"""unbounded-history: a message list that grows every loop iteration and is re-sent in full."""

from __future__ import annotations

import ast

from ..extract.pyast import chain as _chain
from ..extract.pyast import kw as _kw
from ..flow import _TRIM, call_args, elements, flow_for, is_str_const, plain_positional
from .base import Docs, Examples, Rule

_GROW = ("append", "extend", "insert", "appendleft")
_SHRINK = ("pop", "popleft", "clear", "remove")
# argument positions that carry the messages of a direct call
_MSG_KEYWORDS = ("messages", "input", "contents", "prompt", "history", "chat_history")


class UnboundedHistory(Rule):
    code = "PL402"
    name = "unbounded-history"
    severity = "warning"
    scope = "file"
    analysis_kind = "ast"  # walks the ast tree (promptlint/flow.py)
    summary = "Message history grows every loop iteration and is re-sent in full"
    example_host = "python"
    docs = Docs(
        what=(
            "Reports a list that gets messages appended inside a loop (`append`, `extend`, `insert`, `+=`) and is "
            "passed in full to an LLM call in that loop, with no truncation anywhere in the loop: no slice "
            "reassignment (`msgs = msgs[-k:]`), `del msgs[...]`, `.pop()`, `.clear()`, no call whose name says "
            "trim/truncate/summarize/compress/prune/window given the list, and no slice such as `messages[-12:]` "
            "passed to the call. Loops with an iteration bound (`for step in range(MAX_STEPS)`, a checked counter) "
            "are not reported: their history is bounded too. The message says how fast the request grows: the "
            "appended messages per iteration, and the tokens of their fixed text when it can be measured."
        ),
        why=(
            "Every call re-sends the whole conversation, so turn n pays for all n-1 turns before it: the cost of a "
            "session grows with the square of its length, and a long session ends in a context-window error."
        ),
        example=(
            "history = [{\"role\": \"system\", \"content\": SYSTEM}]\n"
            "while True:\n"
            "    history.append({\"role\": \"user\", \"content\": input(\"> \")})\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", messages=history)   # PL402\n"
            "    history.append({\"role\": \"assistant\", \"content\": reply.choices[0].message.content})\n"
            "\n"
            "# bounded: send the system prompt and the last turns only\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", messages=history[:1] + history[-12:])"
        ),
        fix_safety="No fix: how much context to keep (a window, a running summary) is a product decision.",
    )
    examples = Examples(
        valid=[
            "history = []\n"
            "while True:\n"
            "    history.append({\"role\": \"user\", \"content\": input(\"> \")})\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=history[-12:])\n"
            "    history.append({\"role\": \"assistant\", \"content\": reply.choices[0].message.content})\n",
            "messages = [{\"role\": \"user\", \"content\": question}]\n"
            "for step in range(8):\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=messages)\n"
            "    messages.append({\"role\": \"assistant\", \"content\": reply.choices[0].message.content})\n",
        ],
        invalid=[
            "history = [{\"role\": \"system\", \"content\": \"You are a helpful support assistant.\"}]\n"
            "while True:\n"
            "    history.append({\"role\": \"user\", \"content\": input(\"> \")})\n"
            "    reply = client.chat.completions.create(model=\"gpt-4o\", max_tokens=300, messages=history)\n"
            "    history.append({\"role\": \"assistant\", \"content\": reply.choices[0].message.content})\n",
        ],
    )

    def check_file(self, ctx):
        flow = flow_for(ctx)
        if flow is None or not flow.calls:
            return []
        out = []
        seen = set()
        try:
            for c in sorted(flow.calls.values(), key=lambda c: flow.pos(c.node)[0]):
                for arg in self._message_args(flow, c):
                    for key, base in self._lists_in(flow, arg):
                        d = self._check(ctx, flow, c, key, base)
                        if d is not None and (c.node, key) not in seen:
                            seen.add((c.node, key))
                            out.append(d)
        except RecursionError:
            return out
        return out

    # which arguments carry messages
    def _message_args(self, flow, c):
        call = c.node
        if c.kind in ("sdk", "litellm"):
            return [k.value for k in call.keywords if k.arg in _MSG_KEYWORDS]
        if c.kind in ("object", "chain"):
            return [v for k, _s, v in call_args(call) if k is None or k in _MSG_KEYWORDS]
        if c.kind == "configured":
            return [v for _k, star, v in call_args(call) if star != "**"]
        if c.kind == "local" and c.target is not None:
            params = flow.a.wrappers.get(c.target, set())
            fn_params = [p for p in c.target.params if p not in ("self", "cls")]
            out = []
            k = 0
            for name, star, v in call_args(call):
                if star:
                    continue
                if name is not None:
                    if name in params:
                        out.append(v)
                    continue
                if k < len(fn_params) and fn_params[k] in params:
                    out.append(v)
                k += 1
            return out
        return []

    def _lists_in(self, flow, arg):
        """(key, node) of lists an argument sends whole: `msgs`, `self.msgs`, `[sys, *msgs]`, `msgs + [x]`."""
        if isinstance(arg, (ast.Name, ast.Attribute)):
            return [(flow.code(arg), arg)]
        out = []
        if isinstance(arg, (ast.List, ast.Tuple)):
            for el in arg.elts:
                if type(el) is ast.Starred and isinstance(el.value, (ast.Name, ast.Attribute)):
                    out.append((flow.code(el.value), el.value))
        elif isinstance(arg, ast.Dict):
            # chain.invoke({"history": history, "input": q}): a MessagesPlaceholder filled with the list
            for k, v in zip(arg.keys, arg.values):
                if k is not None and isinstance(v, (ast.Name, ast.Attribute)):
                    out.append((flow.code(v), v))
        elif isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Add):
            out += self._lists_in(flow, arg.left) + self._lists_in(flow, arg.right)
        elif isinstance(arg, ast.Call) and (arg.args or arg.keywords):
            ch = _chain(arg.func) or ""
            if ch in ("list", "copy.copy", "copy.deepcopy", "tuple"):
                out += self._lists_in(flow, call_args(arg)[0][2])
        elif isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "copy":
            out += self._lists_in(flow, arg.func.value)
        return out

    def _check(self, ctx, flow, c, key, base):
        for loop in flow.enclosing_loops(c.node):
            appends = self._appends(flow, loop, key)
            if not appends:
                continue
            info = flow.loop_info(loop)
            if info.counted:
                return None
            if self._truncated(flow, loop, key) or self._wrapper_truncates(flow, c):
                return None
            return self._diagnostic(ctx, flow, c, key, loop, appends)
        return None

    def _appends(self, flow, loop, key):
        """Growth statements of ``key`` in the loop: (node, [appended element expressions] or None)."""
        out = []
        code = flow.code
        for n in flow.walk(loop.body):
            t = type(n)
            if t is ast.Call:
                f = n.func
                if type(f) is ast.Attribute and f.attr in _GROW and code(f.value) == key:
                    m = f.attr
                    args = call_args(n)
                    if m in ("append", "appendleft") and args:
                        out.append((n, [args[0][2]]))
                    elif m == "insert" and len(args) >= 2:
                        out.append((n, [args[1][2]]))
                    elif m == "extend" and args:
                        v = args[0][2]
                        out.append((n, elements(v) if isinstance(v, (ast.List, ast.Tuple)) else None))
            elif t is ast.AugAssign:
                if isinstance(n.op, ast.Add) and code(n.target) == key:
                    v = n.value
                    out.append((n, elements(v) if isinstance(v, (ast.List, ast.Tuple)) else None))
            elif t is ast.Assign:
                if len(n.targets) == 1 and code(n.targets[0]) == key:
                    v = n.value
                    if isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and code(v.left) == key:
                        out.append((n, elements(v.right) if isinstance(v.right, (ast.List, ast.Tuple)) else None))
                    elif type(v) is ast.List and v.elts and type(v.elts[0]) is ast.Starred and code(v.elts[0].value) == key:
                        out.append((n, elements(v)[1:]))
        out.sort(key=lambda t: flow.pos(t[0])[0])
        return out

    def _truncated(self, flow, loop, key) -> bool:
        self_attr = key.startswith("self.")
        code = flow.code
        for n in flow.walk(loop.body):
            t = type(n)
            if t is ast.Delete:
                for target in n.targets:
                    for x in flow.walk(target):
                        if type(x) is ast.Subscript and code(x.value) == key:
                            return True
                    if any(name == key for name in flow.names_and_attrs(target)):
                        return True
            elif t is ast.Call:
                ch = _chain(n.func) or ""
                if type(n.func) is ast.Attribute and n.func.attr in _SHRINK and code(n.func.value) == key:
                    return True
                last = ch.rsplit(".", 1)[-1]
                # an in-place trim (its value unused); `msgs = summarize(msgs)` is a reassignment (below)
                if _TRIM.search(last) and type(flow.parent(n)) is ast.Expr:
                    if any(name == key for _k, _s, v in call_args(n) for name in flow.names_and_attrs(v)):
                        return True
                    if self_attr and ch.startswith("self."):
                        return True
            elif t is ast.Assign or t is ast.AnnAssign or t is ast.AugAssign:
                targets = n.targets if t is ast.Assign else [n.target]
                for tg in targets:
                    if type(tg) is ast.Subscript and code(tg.value) == key:
                        return True  # msgs[:] = ...
                    if code(tg) == key and t is not ast.AugAssign:
                        v = n.value
                        grows = isinstance(v, ast.BinOp) and isinstance(v.op, ast.Add) and code(v.left) == key
                        grows = grows or (type(v) is ast.List and bool(v.elts) and type(v.elts[0]) is ast.Starred and code(v.elts[0].value) == key)
                        if not grows:
                            return True  # reset or reassigned (a slice, a summary, a fresh list)
        return False

    def _wrapper_truncates(self, flow, c) -> bool:
        """A local wrapper that slices or trims what it is given before sending it."""
        if c.kind != "local" or c.target is None:
            return False
        params = set(c.target.params) - {"self", "cls"}
        for n in flow.walk(c.target.node.body):
            t = type(n)
            if t is ast.Subscript and type(n.value) is ast.Name and n.value.id in params:
                sl = n.slice
                if any(type(s) is ast.Slice for s in (sl.elts if type(sl) is ast.Tuple else (sl,))):
                    return True
            if t is ast.Call:
                last = (_chain(n.func) or "").rsplit(".", 1)[-1]
                if _TRIM.search(last) and any(x in params for _k, _s, v in call_args(n) for x in flow.idents(v)):
                    return True
        return False

    def _growth(self, ctx, flow, appends):
        """(messages appended per iteration or None, min static tokens, max static tokens)."""
        n_msgs = 0
        known = True
        lo = hi = 0
        for node, added in appends:
            if added is None:
                known = False
                continue
            n_msgs += len(added)
            scope = flow.scope_of(node)
            for el in added:
                a, b = self._static_range(ctx, flow, el, scope)
                lo += a
                hi += b
        return (n_msgs if known else None), lo, hi

    def _static_range(self, ctx, flow, el, scope):
        """Static tokens of one appended message: (least, most) over the alternatives it may hold."""
        content = el
        if isinstance(el, ast.Dict):
            content = None
            for k, v in zip(el.keys, el.values):
                if is_str_const(k, "content"):
                    content = v
            if content is None:
                return 0, 0
        elif isinstance(el, ast.Call) and (_chain(el.func) or "").rsplit(".", 1)[-1] in ("SystemMessage", "HumanMessage", "AIMessage", "ChatMessage"):
            content = _kw(el, "content") or plain_positional(el, 0)
        alts = self._alternatives(flow, content, scope, 0)
        totals = []
        for node, sc in alts:
            ps = flow.expr_prompts(node, sc)
            totals.append(sum(p.tokens or 0 for p in ps))
        if not totals:
            return 0, 0
        return min(totals), max(totals)

    def _alternatives(self, flow, node, scope, depth):
        if node is None or depth > 6:
            return []
        if flow.prompt_at(node) is not None:
            return [(node, scope)]
        if isinstance(node, ast.IfExp):
            return self._alternatives(flow, node.body, scope, depth + 1) + self._alternatives(flow, node.orelse, scope, depth + 1)
        if isinstance(node, ast.Call):
            target = flow._callee(node, scope)
            if target is not None and target.returns:
                out = []
                for r in target.returns:
                    out += self._alternatives(flow, r, target, depth + 1)
                return out
        b = flow.bindings(node, scope)
        if b and isinstance(node, ast.Name) and len(b) > 1:
            out = []
            for v, s in b:
                out += self._alternatives(flow, v, s, depth + 1)
            return out
        return [(node, scope)]

    def _diagnostic(self, ctx, flow, c, key, loop, appends):
        n_msgs, lo, hi = self._growth(ctx, flow, appends)
        lines = sorted({flow.line(n) for n, _e in appends})
        at = ", ".join(str(x) for x in lines)
        if n_msgs:
            grow = f"{n_msgs} message{'s' if n_msgs != 1 else ''} appended per iteration (line{'s' if len(lines) > 1 else ''} {at})"
        else:
            grow = f"every message appended at line{'s' if len(lines) > 1 else ''} {at}"
        if lo and lo == hi:
            rate = f"by at least {lo:,} tokens of fixed text per iteration plus the dynamic content"
        elif hi:
            rate = f"by every appended message (up to {hi:,} tokens of fixed text per iteration plus the dynamic content)"
        else:
            rate = "by every appended message"
        msg = (
            f"`{key}` is sent in full to {flow.describe(c)} inside the loop at line {flow.line(loop)} and grows with "
            f"{grow}; nothing trims it, so the request grows every turn {rate} and each call re-pays the whole "
            f"history: send the system message and a window of recent turns (e.g. `{key}[:1] + {key}[-12:]`) or "
            "summarize old turns"
        )
        s0 = flow.pos(c.node)[0]
        s1 = flow.pos(c.node.func)[1]
        return ctx.diagnostic(s0, s1, msg, tokens_wasted=lo or None)


RULE = UnboundedHistory
