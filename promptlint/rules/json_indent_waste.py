"""json-indent-waste: pretty-printed JSON (json.dumps(indent=...), pprint.pformat) sent inside a prompt."""

from __future__ import annotations

import json

from .base import UNSAFE, Docs, Examples, Rule

# A representative payload for when the data is only known at run time: a small API-style record with a list.
_SAMPLE = {
    "order_id": "A-10293",
    "status": "shipped",
    "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "tier": "gold"},
    "items": [
        {"sku": "KB-01", "name": "Keyboard", "qty": 1, "price": 49.99},
        {"sku": "MS-02", "name": "Mouse", "qty": 2, "price": 19.5},
        {"sku": "CB-03", "name": "USB-C cable", "qty": 3, "price": 7.25},
    ],
    "shipping": {"carrier": "UPS", "tracking": "1Z999AA10123456784", "eta_days": 3},
    "notes": None,
}

_PRETTY_CALLS = {"json.dumps": "json", "pprint.pformat": "pprint", "simplejson.dumps": "json"}


def _kw(call, name):
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a
    return None


class JsonIndentWaste(Rule):
    code = "PL204"
    name = "json-indent-waste"
    severity = "warning"
    summary = "Pretty-printed JSON inside a prompt"
    scope = "file"
    analysis_kind = "ast"
    fix = UNSAFE
    example_host = "python"
    docs = Docs(
        what=(
            "Finds `json.dumps(..., indent=N)` and `pprint.pformat(...)` whose result flows into a prompt: "
            "interpolated into an f-string or template, concatenated, passed to `.format`, used as message "
            "content, or assigned to a name that a prompt uses. The waste is measured exactly when the data is a "
            "literal, and otherwise estimated on a representative sample payload (the message says so)."
        ),
        why=(
            "Indentation and line breaks in JSON are pure overhead for the model: compact JSON carries the same "
            "data in roughly half the tokens, on every call."
        ),
        example='prompt = f"Order details:\\n{json.dumps(order, indent=2)}"',
        fix_safety=(
            'Unsafe: `indent=N` becomes `separators=(",", ":")`, so the model reads compact JSON instead of an '
            "indented document (same data, different layout). A `json.dumps(..., indent=2)` written to a file or "
            "logged is not reported."
        ),
    )
    examples = Examples(
        valid=[
            'import json\nwith open("out.json", "w") as f:\n    f.write(json.dumps(data, indent=2))\n',
            'import json\nprompt = f"Order: {json.dumps(order)}"\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])\n',
        ],
        invalid=[
            'import json\nprompt = f"Order: {json.dumps(order, indent=2)}"\nclient.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])\n',
            'import json\nctx = json.dumps(data, indent=4)\nmessages = [{"role": "user", "content": ctx}]\n',
        ],
    )

    def check_file(self, ctx):
        an = ctx.analysis
        if an is None:
            return []
        import ast as _ast

        from ..extract.pyast import keyword

        prompts = ctx.prompts
        prompt_names = set()
        for p in prompts:
            for ph in p.placeholders:
                prompt_names.add(ph.split(".")[0].split("(")[0].strip())
        content_names = set()
        content_nodes = set()
        for node, _scope, _stmt in an.col.dicts:
            for k, v in zip(node.keys, node.values):
                if isinstance(k, _ast.Constant) and k.value in ("content", "text"):
                    if isinstance(v, _ast.Name):
                        content_names.add(v.id)
                    content_nodes.add(id(v))
        for site, _spec in an.sink_calls:
            for a in list(site.call.args) + [k.value for k in site.call.keywords]:
                if isinstance(a, _ast.Name):
                    content_names.add(a.id)
                content_nodes.add(id(a))
        out = []
        for site in an.col.calls:
            q = site.qualified
            kind = _PRETTY_CALLS.get(q)
            if kind is None and q.endswith(".dumps") and q.split(".")[0] in ("json", "simplejson"):
                kind = "json"
            if kind is None:
                continue
            call = site.call
            indent = keyword(call, "indent")
            if kind == "json":
                if indent is None or (isinstance(indent.value, _ast.Constant) and indent.value.value is None):
                    continue
            start, end = an._pos(call)
            reason = None
            for p in prompts:
                if p.start <= start and end <= p.end:
                    reason = "interpolated into a prompt"
                    break
            if reason is None and id(call) in content_nodes:
                reason = "sent as message content"
            if reason is None:
                target = self._assigned_name(site)
                if target and (target in prompt_names or target in content_names):
                    reason = f"assigned to '{target}', which a prompt uses"
            if reason is None:
                continue
            saved, exact = self._measure(call, kind, ctx, indent)
            label = "json.dumps(indent=...)" if kind == "json" else "pprint.pformat(...)"
            if exact:
                msg = f"{label} output {reason}: compact JSON saves {saved} tokens per call"
            else:
                msg = f"{label} output {reason}: compact JSON would save ~{saved} tokens per call (estimate on a sample payload; the real data is only known at run time)"
            fix = None
            if kind == "json" and keyword(call, "separators") is None:
                from ..types import Edit, Fix

                a0, a1 = an._pos(indent)
                fix = Fix(UNSAFE, 'Use separators=(",", ":") instead of indent', (Edit(a0, a1, 'separators=(",", ":")'),), saved)
            out.append(ctx.diagnostic(start, end, msg, tokens_wasted=saved, fix=fix))
        return out

    @staticmethod
    def _assigned_name(site):
        import ast as _ast

        stmt = site.stmt
        if isinstance(stmt, (_ast.Assign, _ast.AnnAssign)) and stmt.value is site.call:
            targets = stmt.targets if isinstance(stmt, _ast.Assign) else [stmt.target]
            if len(targets) == 1 and isinstance(targets[0], _ast.Name):
                return targets[0].id
        return None

    def _measure(self, call, kind, ctx, indent):
        """(tokens saved, exact?) comparing pretty and compact dumps of the data."""
        import ast as _ast

        width = 2
        if indent is not None:
            try:
                width = int(_ast.literal_eval(indent.value))
            except Exception:
                width = 2
        data = _SAMPLE
        exact = False
        if call.args and not isinstance(call.args[0], _ast.Starred):
            try:
                data = _ast.literal_eval(call.args[0])
                exact = True
            except Exception:
                data = _SAMPLE
        try:
            if kind == "json":
                pretty = json.dumps(data, indent=width)
            else:
                import pprint

                pretty = pprint.pformat(data)
            compact = json.dumps(data, separators=(",", ":"))
        except (TypeError, ValueError):
            return 0, False
        return max(0, ctx.count(pretty) - ctx.count(compact)), exact


RULE = JsonIndentWaste
