"""cache-unfriendly-order: dynamic content in front of a static block large enough to be prompt-cached."""

from __future__ import annotations

import ast
from dataclasses import replace

from ..extract.pyast import chain as _chain
from ..flow import _DYNAMIC_CALLS, call_args, flow_for, is_str_const
from ..flow import children as flow_children
from ..types import PLACEHOLDER
from .base import Docs, Examples, Rule

_BIG_STATIC = "\n".join(
    f"{i}. When the customer asks about topic number {i}, answer from the policy section with the same number, "
    "quote the exact figures it gives, and never promise anything the policy does not state."
    for i in range(1, 41)
)


def _py(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


class CacheUnfriendlyOrder(Rule):
    code = "PL404"
    name = "cache-unfriendly-order"
    severity = "warning"
    scope = "file"
    analysis_kind = "ast"  # walks the ast tree (promptlint/flow.py)
    summary = "Dynamic content comes before a large static block, so prompt caching cannot serve it"
    example_host = "python"
    options = {"min-cacheable-tokens": 1024}
    docs = Docs(
        what=(
            "Reports a prompt, or the ordered messages of one request, where dynamic content (a placeholder, "
            "`datetime.now()`, a uuid, user input, a function parameter) comes before a static block of at least "
            "`min-cacheable-tokens` tokens (default 1024, the smallest prefix OpenAI caches; Anthropic and Gemini "
            "have similar minimums). Reports the static tokens after the first dynamic part, which can never be "
            "served from the cache, and the dynamic parts to move behind them. Works on Python prompts (f-strings, "
            "`.format` templates: a field filled with a constant counts as static) and on prompt template files."
        ),
        why=(
            "Provider prompt caching only reuses an identical prefix: the first changing token ends the cached "
            "part. A date or a user name at the top of a 2,000-token style guide makes every call pay the full "
            "input price for the whole guide; with the dynamic part at the end, the guide is billed at the cached "
            "rate (10-50% of the price) and the first token comes sooner."
        ),
        example=(
            "PROMPT = \"\"\"Today is {today}. You write for {reader}.\n"
            "<2,000 tokens of style guide>\n"
            "{articles}\"\"\"                                  # PL404 at {today}\n"
            "\n"
            "PROMPT = \"\"\"<2,000 tokens of style guide>\n"
            "Today is {today}. You write for {reader}.\n"
            "{articles}\"\"\""
        ),
        fix_safety="No fix: moving text changes what the model reads first; reorder by hand and re-check the output.",
    )
    examples = Examples(
        valid=[
            'SYSTEM = """You answer support questions for Acme.\n' + _py(_BIG_STATIC) + '\n"""\n\n'
            "def answer(question):\n"
            '    return client.chat.completions.create(model="gpt-4o", max_tokens=300, messages=[\n'
            '        {"role": "system", "content": SYSTEM},\n'
            '        {"role": "user", "content": f"Question: {question}"},\n'
            "    ])\n",
        ],
        invalid=[
            "def answer(question, today):\n"
            '    prompt = f"""Today is {today}. You answer support questions for Acme.\n' + _py(_BIG_STATIC) + "\n"
            'Question: {question}"""\n'
            '    return client.chat.completions.create(model="gpt-4o", max_tokens=300, messages=[{"role": "user", "content": prompt}])\n',
        ],
    )

    def check_file(self, ctx):
        limit = int(self.opts.get("min-cacheable-tokens", 1024))
        flow = flow_for(ctx)
        out = []
        handled = set()
        if flow is not None:
            try:
                out += self._requests(ctx, flow, limit, handled)
            except RecursionError:
                pass
        for p in ctx.prompts:
            if id(p) in handled:
                continue
            d = self._prompt(ctx, flow, p, limit)
            if d is not None:
                out.append(d)
        return out

    # ------------------------------------------------------------------------------------ one prompt
    def _pieces(self, ctx, flow, p):
        """The prompt as [(kind, text, segment)]: kind static | dynamic; constant fields count as static."""
        out = []
        pos = 0
        consts = self._constant_fields(flow, p) if flow is not None and p.source == "python" else {}
        for s in p.segments:
            if s.kind != PLACEHOLDER:
                continue
            if s.start > pos:
                out.append(("static", p.text[pos : s.start], None))
            value = consts.get((s.src_start, s.src_end))
            if value is not None:
                out.append(("static", value, s))
            else:
                out.append(("dynamic", p.text[s.start : s.end], s))
            pos = s.end
        if pos < len(p.text):
            out.append(("static", p.text[pos:], None))
        return out

    def _uncacheable(self, ctx, p, pieces, first_dyn: int):
        """(static tokens after the first dynamic piece, largest contiguous static run after it)."""
        model = p.model
        total_text = []
        best = 0
        run = []
        for kind, text, _s in pieces[first_dyn + 1 :]:
            if kind == "static":
                total_text.append(text)
                run.append(text)
            else:
                if run:
                    best = max(best, ctx.count("".join(run), model))
                run = []
        if run:
            best = max(best, ctx.count("".join(run), model))
        return ctx.count("".join(total_text), model), best

    def _prompt(self, ctx, flow, p, limit):
        if not p.dynamic or (p.tokens is not None and p.tokens < limit and not self._may_hold_constants(ctx, p)):
            return None  # not enough static text to matter, whatever the order
        pieces = self._pieces(ctx, flow, p)
        dyn = [i for i, (k, _t, _s) in enumerate(pieces) if k == "dynamic"]
        if not dyn:
            return None
        total, best = self._uncacheable(ctx, p, pieces, dyn[0])
        if best < limit:
            return None
        blocking = []
        for i in dyn[:8]:
            t, b = self._uncacheable(ctx, p, pieces, i)
            if b >= limit:
                blocking.append(pieces[i][1])
        seg = pieces[dyn[0]][2]
        first = pieces[dyn[0]][1]
        where = self._call_note(flow, p)
        tilde = "~" if p.approximate else ""
        names = ", ".join(blocking[:5]) + (", ..." if len(blocking) > 5 else "")
        label = f"`{p.name}`" if p.name else "this prompt"
        msg = (
            f"The dynamic {first} comes before {tilde}{total:,} static tokens of {label}{where}: providers cache only an "
            f"identical prefix (at least {limit:,} tokens), so this static text is never served from the prompt cache; "
            f"move the dynamic part{'s' if len(blocking) > 1 else ''} ({names}) after the static text"
        )
        # tokens_wasted stays empty: reordering saves money (cached input is billed at 10-50%), not tokens
        d = ctx.diagnostic(seg.src_start, seg.src_end, msg)
        return replace(d, cell=p.cell) if p.cell is not None else d

    @staticmethod
    def _may_hold_constants(ctx, p) -> bool:
        """A Python prompt with a placeholder that names something (a constant's text is counted as static)."""
        if p.source != "python":
            return False
        text = ctx.source.text
        for s in p.segments:
            if s.kind == PLACEHOLDER:
                src = text[s.src_start : s.src_end].strip("{} ")
                if src.replace(".", "").replace("_", "").isalnum() and not src[:1].isdigit():
                    return True
        return False

    def _call_note(self, flow, p) -> str:
        if p.call is None:
            return ""
        site = p.get_meta("call_site")
        if site is not None and flow is not None:
            return f", sent by {p.call} at line {flow.index.position(site)[0]}"
        return f", sent by {p.call}"

    def _constant_fields(self, flow, p) -> dict:
        """Placeholder spans (file offsets) whose value is a constant, with the constant's text."""
        out = {}
        node = flow.prompt_node(p)
        scope = flow.scope_of(node) if node is not None else flow.col.module_scope
        exact, fields = self._placeholder_nodes(flow, node) if node is not None else ({}, [])
        fmt = None
        text = flow.a.source.text
        for s in p.segments:
            if s.kind != PLACEHOLDER:
                continue
            span = (s.src_start, s.src_end)
            n = exact.get(span)
            if n is None:
                # an f-string field `{expr!r:spec}`: the field whose expression lies inside the braces
                n = next((fv for v0, v1, fv in fields if s.src_start < v0 and v1 < s.src_end), None)
            if type(n) is ast.FormattedValue:
                value = self._expr_const(flow, n.value, scope)
            elif isinstance(n, (ast.Name, ast.Attribute)):
                value = self._expr_const(flow, n, scope)
            elif n is None and node is not None:
                if fmt is None:
                    fmt = self._format_kwargs(flow, node)
                src = text[s.src_start : s.src_end]
                field = src[1:-1].strip() if src.startswith("{") and src.endswith("}") else None
                value = fmt.get(field) if field else None
            else:
                value = None
            if value is not None:
                out[span] = value
        return out

    _SPAN_TYPES = (ast.Name, ast.Attribute, ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Call, ast.BinOp, ast.Subscript)

    def _placeholder_nodes(self, flow, node):
        """Inside a prompt's expression: span -> the outermost name/string/call/operation node with that span, and
        the f-string fields as (expression start, expression end, FormattedValue) in source order."""
        exact, fields = {}, []
        stack = [node]
        while stack:
            n = stack.pop()
            t = type(n)
            if isinstance(n, self._SPAN_TYPES):
                try:
                    span = flow.pos(n)
                except (AttributeError, IndexError, TypeError):
                    span = None
                if span is not None and span not in exact and (t is not ast.Constant or type(n.value) is str):
                    exact[span] = n
                if t is ast.FormattedValue:
                    try:
                        v0, v1 = flow.pos(n.value)
                        fields.append((v0, v1, n))
                    except (AttributeError, IndexError, TypeError):
                        pass
            stack.extend(reversed(flow_children(n)))
        return exact, fields

    def _expr_const(self, flow, expr, scope):
        """The text of a literal, or of a name bound once to a literal (module, class or function level)."""
        lit = self._literal_text(flow, expr)
        if lit is not None and not isinstance(expr, (ast.Name, ast.Attribute)):
            return lit
        b = flow.bindings(expr, scope)
        if len(b) != 1:
            return None
        return self._literal_text(flow, b[0][0])

    def _literal_text(self, flow, v):
        if type(v) is ast.Constant:
            t = type(v.value)
            if t is int or t is float:
                return flow.code(v)  # as written: 1_000, 0x10, 2.5
            if t is str:
                return v.value
        p = flow.prompt_at(v)
        if p is not None and not p.dynamic:
            return p.text
        return None

    def _format_kwargs(self, flow, node) -> dict:
        """For a `.format` template: field -> constant text, when every `.format(...)` of it fills the field
        with the same constant (empty when its format calls cannot all be found)."""
        parent = flow.parent(node)
        fmt_calls = []
        if isinstance(parent, ast.Attribute) and parent.attr == "format":
            call = flow.parent(parent)
            if isinstance(call, ast.Call):
                fmt_calls.append(call)
        else:
            target = None
            if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
                target = flow.code(parent.targets[0])
            if target is None:
                return {}
            for n in self._format_calls(flow):
                base = flow.code(n.func.value)
                if base == target or base.endswith("." + target):
                    fmt_calls.append(n)
        if not fmt_calls:
            return {}
        out = None
        for call in fmt_calls:
            if call.keywords and any(k.arg is None for k in call.keywords) or any(type(a) is ast.Starred for a in call.args):
                return {}
            vals = {}
            scope = flow.scope_of(call)
            for k in call.keywords:
                vals[k.arg] = self._expr_const(flow, k.value, scope)
            out = vals if out is None else {k: v for k, v in out.items() if vals.get(k) == v}
        return {k: v for k, v in (out or {}).items() if v is not None}

    @staticmethod
    def _format_calls(flow) -> list:
        """Every `x.format(...)` call of the module (walked once per file)."""
        hit = flow.memo.get("PL404.format")
        if hit is None:
            hit = flow.memo["PL404.format"] = [
                n for n in flow.walk(flow.a.module, skip_scopes=False) if type(n) is ast.Call and type(n.func) is ast.Attribute and n.func.attr == "format"
            ]
        return hit

    # ------------------------------------------------------------------------------------ one request
    def _requests(self, ctx, flow, limit, handled):
        out = []
        for c in sorted(flow.calls.values(), key=lambda c: flow.pos(c.node)[0]):
            if not c.completion and c.kind not in ("object", "chain", "configured"):
                continue
            items = []
            for key, arg in flow.call_prompt_args(c):
                if key != "config":
                    items += self._sequence(flow, arg, c.scope, 0)
            prompts = [x for k, x in items if k == "prompt"]
            if len(items) < 2 or not prompts:
                continue
            # the request as one sequence of pieces: (item index, kind, text, model, anchor)
            flat = []
            for i, (k, x) in enumerate(items):
                if k == "prompt":
                    for kind, text, seg in self._pieces(ctx, flow, x):
                        flat.append((i, kind, text, x.model, seg))
                else:
                    flat.append((i, k, None, None, x))
            first = next((j for j, pc in enumerate(flat) if pc[1] == "dynamic"), None)
            if first is None:
                continue
            runs = []  # (tokens, item indexes)
            cur_text, cur_items, cur_model = [], set(), None
            for i, kind, text, model, _a in flat[first + 1 :] + [(None, "end", None, None, None)]:
                if kind == "static":
                    cur_text.append(text)
                    cur_items.add(i)
                    cur_model = cur_model or model
                    continue
                if cur_text:
                    runs.append((ctx.count("".join(cur_text), cur_model), cur_items))
                cur_text, cur_items, cur_model = [], set(), None
            first_item = flat[first][0]
            total = sum(t for t, _i in runs)
            # a block that reaches into a later message (a block inside one prompt is that prompt's finding)
            if not any(t >= limit and any(i > first_item for i in its) for t, its in runs):
                continue
            for x in prompts:
                handled.add(id(x))
            _i, _k, text, _m, anchor = flat[first]
            if text is not None:
                p0 = items[first_item][1]
                s0, s1 = anchor.src_start, anchor.src_end
                what = f"the dynamic {text} in " + (f"`{p0.name}`" if p0.name else "an earlier message")
            else:
                s0, s1 = flow.pos(anchor)
                what = f"the dynamic `{flow.code(anchor)}`"
            tilde = "~" if any(x.approximate for x in prompts) else ""
            msg = (
                f"In the request of {flow.describe(c)}, {what} comes before {tilde}{total:,} static tokens of later "
                f"messages: providers cache only an identical prefix (at least {limit:,} tokens), so they are never "
                "served from the prompt cache; put the static messages first and the dynamic content after them"
            )
            out.append(ctx.diagnostic(s0, s1, msg))
        return out

    def _sequence(self, flow, node, scope, depth):
        """The ordered content of a request argument: [("prompt", Prompt) | ("dynamic", node) | ("unknown", node)]."""
        if node is None or depth > 8:
            return []
        p = flow.prompt_at(node)
        if p is not None:
            return [("prompt", p)]
        if isinstance(node, (ast.List, ast.Tuple)):
            out = []
            for el in node.elts:
                if type(el) is ast.Starred:
                    out.append(("unknown", el))
                else:
                    out += self._sequence(flow, el, scope, depth + 1)
            return out
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if is_str_const(k, "content"):
                    return self._content(flow, v, scope, depth + 1)
            return [("unknown", node)]
        if isinstance(node, ast.Call):
            last = (_chain(node.func) or "").rsplit(".", 1)[-1]
            if last in ("SystemMessage", "HumanMessage", "AIMessage", "ChatMessage"):
                for name, _star, v in call_args(node):
                    if name is None or name == "content":
                        return self._content(flow, v, scope, depth + 1)
            return self._content(flow, node, scope, depth + 1)
        if isinstance(node, ast.Name):
            b = flow.bindings(node, scope)
            if len(b) == 1 and not self._list_mutated(flow, node, scope):
                v, s = b[0]
                return self._sequence(flow, v, s, depth + 1)
            return self._content(flow, node, scope, depth + 1)
        return self._content(flow, node, scope, depth + 1)

    def _list_mutated(self, flow, name, scope) -> bool:
        body = scope.node if scope.node is not None else flow.a.module
        memo = flow.memo.setdefault("PL404.mutated", {})
        names = memo.get(body)
        if names is None:
            # walked once per scope: names changed in place in it (nested functions included)
            names = memo[body] = set()
            for n in flow.walk(body, skip_scopes=False):
                t = type(n)
                if t is ast.Call:
                    f = n.func
                    if type(f) is ast.Attribute and type(f.value) is ast.Name:
                        if f.attr in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"):
                            names.add(f.value.id)
                elif t is ast.AugAssign:
                    if type(n.target) is ast.Name:
                        names.add(n.target.id)
                elif t is ast.Assign:
                    for tg in n.targets:
                        if type(tg) is ast.Subscript:
                            names.add(flow.code(tg.value))
        return name.id in names

    def _content(self, flow, node, scope, depth):
        p = flow.prompt_at(node)
        if p is not None:
            return [("prompt", p)]
        if isinstance(node, ast.Name):
            if flow.is_param(node, scope):
                return [("dynamic", node)]
            b = flow.bindings(node, scope)
            if len(b) == 1:
                v, s = b[0]
                p = flow.prompt_at(v)
                if p is not None:
                    return [("prompt", p)]
                if self._dynamic_expr(flow, v, s):
                    return [("dynamic", node)]
            return [("unknown", node)]
        if isinstance(node, ast.Attribute):
            b = flow.bindings(node, scope)
            if len(b) == 1:
                p = flow.prompt_at(b[0][0])
                if p is not None:
                    return [("prompt", p)]
            base = node
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name) and base.id not in ("self", "cls") and flow.is_param(base, scope):
                return [("dynamic", node)]
            return [("unknown", node)]
        if self._dynamic_expr(flow, node, scope):
            return [("dynamic", node)]
        return [("unknown", node)]

    def _dynamic_expr(self, flow, node, scope) -> bool:
        for n in flow.walk(node):
            if type(n) is ast.Call:
                last = (_chain(n.func) or "").rsplit(".", 1)[-1]
                if last in _DYNAMIC_CALLS:
                    return True
        if isinstance(node, ast.Subscript):
            base = node.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            return isinstance(base, ast.Name) and flow.is_param(base, scope)
        return False


RULE = CacheUnfriendlyOrder
