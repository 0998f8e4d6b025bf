"""Find the prompts of a Python module with the standard library's ``ast`` (the fast path).

Same rules as :mod:`promptlint.extract.python` (the libcst extractor, used when ``ast`` cannot parse the file,
e.g. 3.12+ syntax on an older interpreter): a string is a prompt when it reaches an LLM call directly or
through a name bound in the same module, function or class, or when a module/class-level constant with a
prompt-like name reads as instructions. A differential test keeps both extractors' results identical.

``ast`` is ~20x faster than libcst here; exact spans come from ``ast`` positions (UTF-8 columns converted to
characters) and, inside string expressions, from :mod:`promptlint.extract.strscan`.
"""

from __future__ import annotations

import ast
import re
from typing import Optional

from ..types import JOIN, PLACEHOLDER, LineIndex, Prompt, SourceFile
from . import classify
from .sinks import (
    _DEDENT_CALLS,
    _FROM_MESSAGES,
    _LITELLM,
    _LITELLM_SPEC,
    _LLM_CLASSES,
    _LLM_METHODS,
    _LLM_RECEIVER,
    _MESSAGE_CLASSES,
    _MSG,
    _PROMPT_ARG_NAMES,
    _ROLE_NAMES,
    _SDK_SINKS,
    _TEMPLATE_CALLS,
    _TEXT,
    CallSite,
    Scope,
    SinkSpec,
    _Found,
)
from .strscan import ScanError, scan_tokens
from .units import (
    cleandoc_units,
    decode_body,
    dedent_units,
    format_units,
    percent_units,
    to_segments,
    units_text,
)

_STR_TYPES = (ast.Constant, ast.JoinedStr)


def is_str(node) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str))


def chain(node) -> Optional[str]:
    """Dotted name of a callee: ``client.chat.completions.create``; calls in the chain become ``X()``."""
    parts = []
    while True:
        if isinstance(node, ast.Name):
            parts.append(node.id)
            break
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
            continue
        if isinstance(node, ast.Call):
            inner = chain(node.func)
            if inner is None:
                return None
            parts.append(inner + "()")
            break
        if isinstance(node, ast.Subscript):
            inner = chain(node.value)
            if inner is None:
                return None
            parts.append(inner + "[]")
            break
        if isinstance(node, ast.Await):
            node = node.value
            continue
        return None
    return ".".join(reversed(parts))


def kw(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def keyword(call: ast.Call, name: str):
    for k in call.keywords:
        if k.arg == name:
            return k
    return None


def positional(call: ast.Call, index: int):
    k = 0
    for a in call.args:
        if isinstance(a, ast.Starred):
            return None
        if k == index:
            return a
        k += 1
    return None


def has_kwsplat(call: ast.Call) -> bool:
    return any(k.arg is None for k in call.keywords)


def string_value(node) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class Positions:
    """ast (line, UTF-8 column) -> character offsets of the decoded text."""

    def __init__(self, text: str):
        self.text = text
        self.index = LineIndex(text)
        self._lines = None
        # Python ends lines at "\r\n", "\n" and a lone "\r" (old Mac files, stray CRs): ast counts its lines so
        self.starts = self.index.starts if "\r" not in text else [0] + [m.end() for m in re.finditer(r"\r\n?|\n", text)]

    def offset(self, lineno: int, col: int) -> int:
        start = self.starts[lineno - 1]
        if col == 0:
            return start
        end = self.starts[lineno] if lineno < len(self.starts) else len(self.text)
        line = self.text[start:end]
        if line.isascii():
            return start + col
        return start + len(line.encode("utf-8")[:col].decode("utf-8", "replace"))

    def span(self, node) -> tuple:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)


class Collector:
    """One pass: scopes, assignments, imports, calls, dicts, statements."""

    def __init__(self):
        self.module_scope = Scope("module", "<module>", None, None)
        self.imports = {}
        self.calls: list = []
        self.dicts = []
        self.functions = {}
        self.methods = {}
        self.classes = {}
        self.docstrings = set()
        self.defs = []

    def run(self, tree: ast.Module):
        self._docstring(tree.body)
        self._body(tree.body, self.module_scope)
        return self

    def _docstring(self, body):
        if body and isinstance(body[0], ast.Expr) and is_str(body[0].value) and isinstance(body[0].value, ast.Constant):
            self.docstrings.add(id(body[0].value))

    def _body(self, stmts, scope):
        for st in stmts:
            self._stmt(st, scope)

    def _bind(self, target, value, stmt, scope):
        if isinstance(target, ast.Name):
            scope.assigns.setdefault(target.id, []).append((value, target, stmt))
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in ("self", "cls"):
            cls = scope.class_scope if scope.kind == "function" else None
            if cls is not None:
                cls.assigns.setdefault(target.attr, []).append((value, target, stmt))
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
            if len(target.elts) == len(value.elts):
                for t, v in zip(target.elts, value.elts):
                    self._bind(t, v, stmt, scope)

    def _stmt(self, st, scope):
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in st.decorator_list:
                self._expr(d, scope, st)
            for d in st.args.defaults + [x for x in st.args.kw_defaults if x is not None]:
                self._expr(d, scope, st)
            s = Scope("function", st.name, st, scope)
            if scope.kind == "class":
                s.class_scope = scope
                self.methods[(scope.name, st.name)] = s
            self.functions.setdefault(st.name, s)
            a = st.args
            for p in list(a.posonlyargs) + list(a.args) + list(a.kwonlyargs):
                s.params.append(p.arg)
            if a.vararg is not None:
                s.params.append(a.vararg.arg)
            if a.kwarg is not None:
                s.params.append(a.kwarg.arg)
            self.defs.append(s)
            self._docstring(st.body)
            self._body(st.body, s)
            return
        if isinstance(st, ast.ClassDef):
            for d in st.decorator_list + st.bases + [k.value for k in st.keywords]:
                self._expr(d, scope, st)
            s = Scope("class", st.name, st, scope)
            self.classes[st.name] = s
            self._docstring(st.body)
            self._body(st.body, s)
            return
        if isinstance(st, ast.Import):
            for alias in st.names:
                local = alias.asname or alias.name.split(".")[0]
                self.imports[local] = alias.name if alias.asname else local
            return
        if isinstance(st, ast.ImportFrom):
            if st.module is None:
                return
            for alias in st.names:
                if alias.name == "*":
                    continue
                self.imports[alias.asname or alias.name] = f"{st.module}.{alias.name}"
            return
        if isinstance(st, ast.Assign):
            for t in st.targets:
                self._bind(t, st.value, st, scope)
        elif isinstance(st, ast.AnnAssign):
            if st.value is not None:
                self._bind(st.target, st.value, st, scope)
        elif isinstance(st, ast.AugAssign):
            if isinstance(st.op, ast.Add):
                self._bind(st.target, st.value, st, scope)
        elif isinstance(st, ast.Return):
            if st.value is not None and scope.kind == "function":
                scope.returns.append(st.value)
        # expressions of this statement, then nested statement bodies (in source order)
        for name, value in ast.iter_fields(st):
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    self._body(value, scope)
                elif value and isinstance(value[0], ast.excepthandler):
                    for h in value:
                        if h.type is not None:
                            self._expr(h.type, scope, st)
                        self._body(h.body, scope)
                elif value and name == "items":  # with items
                    for item in value:
                        self._expr(item.context_expr, scope, st)
                        if item.optional_vars is not None:
                            self._expr(item.optional_vars, scope, st)
                elif value and name == "cases":  # match
                    for case in value:
                        if case.guard is not None:
                            self._expr(case.guard, scope, st)
                        self._body(case.body, scope)
                else:
                    for v in value:
                        if isinstance(v, ast.expr):
                            self._expr(v, scope, st)
            elif isinstance(value, ast.expr):
                self._expr(value, scope, st)

    def _expr(self, node, scope, stmt):
        # iterative walk; lambdas are their own scope and are skipped (as the libcst extractor does)
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, ast.Lambda):
                continue
            if isinstance(n, ast.Call):
                ch = chain(n.func)
                if ch is not None:
                    head, _, rest = ch.partition(".")
                    q = self.imports.get(head.rstrip("()"))
                    qualified = (q + ("()" if head.endswith("()") else "") + ("." + rest if rest else "")) if q else ch
                    self.calls.append(CallSite(n, ch, qualified, scope, stmt))
            elif isinstance(n, ast.Dict):
                self.dicts.append((n, scope, stmt))
            elif isinstance(n, ast.NamedExpr):
                self._bind(n.target, n.value, stmt, scope)
            for f in _child_fields(type(n)):  # ast.iter_child_nodes, without its generator overhead
                v = getattr(n, f, None)
                if isinstance(v, list):
                    for child in v:
                        if isinstance(child, _WALKED):
                            stack.append(child)
                elif isinstance(v, _WALKED):
                    stack.append(v)


_WALKED = (ast.expr, ast.keyword, ast.comprehension, ast.arguments)
_NOT_CHILDREN = frozenset(("ctx", "op", "id", "attr", "arg", "kind", "type_comment", "conversion", "is_async", "level", "module", "name"))
_FIELDS: dict = {}


def _child_fields(cls) -> tuple:
    f = _FIELDS.get(cls)
    if f is None:
        f = _FIELDS[cls] = tuple(x for x in cls._fields if x not in _NOT_CHILDREN)
    return f


class AstExtractor:
    def __init__(self, source: SourceFile, config=None):
        self.source = source
        self.config = config
        self.llm_functions = tuple(getattr(config, "llm_functions", ()) or ())
        self.found: dict = {}
        self.sink_calls = []
        self.index = LineIndex(source.text)
        self.pos = Positions(source.text)
        self._tmpl = {}

    def _pos(self, node):
        return self.pos.span(node)

    # -- entry
    def run(self, tree: ast.Module):
        self.module = tree
        col = Collector().run(tree)
        # source order, as the libcst extractor visits (parents before the calls inside them)
        col.calls.sort(key=lambda c: (c.call.lineno, c.call.col_offset, -c.call.end_lineno, -c.call.end_col_offset))
        col.dicts.sort(key=lambda d: (d[0].lineno, d[0].col_offset, -d[0].end_lineno, -d[0].end_col_offset))
        self.col = col
        self._llm_objects = self._find_llm_objects()
        wrappers: dict = {}
        for _ in range(4):
            before = {k: set(v) for k, v in wrappers.items()}
            self.found.clear()
            self._tmpl.clear()
            self.sink_calls.clear()
            self._param_hits = {}
            self._wrappers = wrappers
            for site in col.calls:
                self._check_call(site)
            for node, scope, stmt in col.dicts:
                self._check_dict(node, scope, stmt)
            wrappers = {k: set(v) for k, v in self._param_hits.items()}
            if wrappers == before:
                break
        self.wrappers = wrappers
        self._secondary()
        return self._build_prompts()

    def _find_llm_objects(self):
        names = set()
        for scope in [self.col.module_scope, *self.col.classes.values(), *self.col.defs]:
            for name, binds in scope.assigns.items():
                for value, _t, _s in binds:
                    if isinstance(value, ast.Call):
                        ch = chain(value.func) or ""
                        last = ch.rsplit(".", 1)[-1]
                        if _LLM_CLASSES.match(last) and last not in ("OpenAI", "AzureOpenAI", "Anthropic") or (
                            last in ("OpenAI", "Anthropic", "AzureOpenAI") and "llms" in self.col.imports.get(last, "")
                        ):
                            names.add(name)
        return names

    # -- sinks (same decisions as the libcst extractor)
    def _match_sink(self, site: CallSite):
        ch = site.chain
        q = site.qualified
        call = site.call
        parts = ch.split(".")
        for suffix, spec in _SDK_SINKS:
            if ch == suffix or ch.endswith("." + suffix):
                if spec.forbid_chain and any(p in parts[:-2] for p in spec.forbid_chain):
                    continue
                if spec.requires and not any(kw(call, r) is not None for r in spec.requires):
                    continue
                return spec
        if q in _LITELLM or (q.startswith("litellm.") and q.rsplit(".", 1)[-1] in ("completion", "acompletion")):
            if any(kw(call, r) is not None for r in _LITELLM_SPEC.requires):
                return SinkSpec(q, _LITELLM_SPEC.keywords, requires=_LITELLM_SPEC.requires)
        last = parts[-1]
        if last in ("completion", "acompletion") and len(parts) >= 2 and kw(call, "messages") is not None:
            recv = parts[-2]
            if "router" in recv.lower() or "litellm" in recv.lower():
                return SinkSpec(ch, _LITELLM_SPEC.keywords, requires=("messages",))
        if last in _LLM_METHODS and len(parts) >= 2:
            recv = parts[-2]
            if _LLM_RECEIVER.search(recv) or recv in self._llm_objects or recv.endswith("()") and _LLM_CLASSES.match(recv[:-2].rsplit(".", 1)[-1]):
                return SinkSpec(ch, {"input": (_MSG, "user"), "messages": (_MSG, None), "prompt": (_TEXT, "user")}, positional=((0, _MSG, "user"),))
        for fn in self.llm_functions:
            if ch == fn or ch.endswith("." + fn) or q == fn:
                return SinkSpec(ch, {k: (_MSG, None) for k in _PROMPT_ARG_NAMES}, positional=((0, _MSG, "user"), (1, _MSG, None)), completion=False)
        target = self._resolve_local_function(site)
        if target is not None and target in self._wrappers:
            params = self._wrappers[target]
            fn_params = [p for p in target.params if p not in ("self", "cls")]
            kws = {p: (_MSG, None) for p in params}
            pos = tuple((fn_params.index(p), _MSG, None) for p in params if p in fn_params)
            return SinkSpec(ch, kws, positional=pos, completion=False)
        return None

    def _resolve_local_function(self, site: CallSite):
        parts = site.chain.split(".")
        if len(parts) == 1:
            s = self.col.functions.get(parts[0])
            return s if s is not None and s.parent is self.col.module_scope else None
        if len(parts) == 2 and parts[0] in ("self", "cls"):
            scope = site.scope
            cls = scope.class_scope if scope.kind == "function" else None
            if cls is not None:
                return self.col.methods.get((cls.name, parts[1]))
        if len(parts) == 2 and parts[0] in self.col.classes:
            return self.col.methods.get((parts[0], parts[1]))
        return None

    def _model_of(self, call, scope) -> Optional[str]:
        for key in ("model", "model_name", "deployment_name", "azure_deployment"):
            v = kw(call, key)
            if v is None:
                continue
            s = string_value(v)
            if s is not None:
                return s
            if isinstance(v, ast.Name):
                _sc, binds = scope.lookup(v.id)
                if binds:
                    s = string_value(binds[-1][0])
                    if s is not None:
                        return s
        return None

    def _check_call(self, site: CallSite):
        call = site.call
        ch = site.chain
        last2 = ".".join(ch.split(".")[-2:])
        last = ch.rsplit(".", 1)[-1]
        if ch == "dict":
            self._check_kwdict(call, site.scope, site.stmt, None)
            return
        if last in _MESSAGE_CLASSES:
            role = _MESSAGE_CLASSES[last]
            if role is None:
                r = string_value(kw(call, "role")) if kw(call, "role") is not None else None
                role = _ROLE_NAMES.get((r or "").lower(), r)
            content = kw(call, "content")
            if content is None:
                content = positional(call, 0)
            if content is not None:
                self._collect(content, site.scope, role, ch, None, site.stmt, _MSG, call_node=call)
            return
        for key, (role, kws) in _TEMPLATE_CALLS.items():
            if last2 == key or (ch == key) or (last == key and "." not in key):
                val = None
                for k in kws:
                    val = kw(call, k)
                    if val is not None:
                        break
                if val is None:
                    val = positional(call, 0)
                if val is not None:
                    fmt = "format"
                    tf = string_value(kw(call, "template_format")) if kw(call, "template_format") is not None else None
                    if tf in ("jinja2", "mustache") or key == "RichPromptTemplate":
                        fmt = "jinja"
                    self._collect(val, site.scope, role, ch, None, site.stmt, _TEXT, template=fmt, call_node=call)
                return
        if last2 in _FROM_MESSAGES or (last2 == "ChatPromptTemplate" and kw(call, "messages") is not None):
            msgs = kw(call, "messages") or positional(call, 0)
            if msgs is not None:
                self._collect(msgs, site.scope, None, ch, None, site.stmt, "tuples", call_node=call)
            return
        if last == "GenerativeModel" or last == "GenerateContentConfig":
            si = kw(call, "system_instruction")
            if si is not None:
                self._collect(si, site.scope, "system", ch, string_value(kw(call, "model_name")) if kw(call, "model_name") is not None else None, site.stmt, _MSG, call_node=call)
            return
        spec = self._match_sink(site)
        if spec is None:
            return
        model = self._model_of(call, site.scope)
        self.sink_calls.append((site, spec))
        for kwname, (kind, role) in spec.keywords.items():
            v = kw(call, kwname)
            if v is not None:
                if kind == "config":
                    si = self._config_system_instruction(v, site.scope)
                    if si is not None:
                        self._collect(si, site.scope, "system", spec.label, model, site.stmt, _MSG, call_node=call)
                    continue
                self._collect(v, site.scope, role, spec.label, model, site.stmt, kind, call_node=call)
        for index, kind, role in spec.positional:
            v = positional(call, index)
            if v is not None:
                self._collect(v, site.scope, role, spec.label, model, site.stmt, kind, call_node=call)

    def _config_system_instruction(self, node, scope):
        if isinstance(node, ast.Name):
            _s, binds = scope.lookup(node.id)
            if binds:
                node = binds[-1][0]
        if isinstance(node, ast.Call):
            return kw(node, "system_instruction")
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if k is not None and string_value(k) == "system_instruction":
                    return v
        return None

    @staticmethod
    def _dict_keys(node: ast.Dict) -> dict:
        keys = {}
        for k, v in zip(node.keys, node.values):
            if k is not None:
                s = string_value(k)
                if s is not None:
                    keys[s] = v
        return keys

    def _check_dict(self, node: ast.Dict, scope, stmt):
        keys = self._dict_keys(node)
        if "role" in keys and "content" in keys:
            r = string_value(keys["role"])
            role = _ROLE_NAMES.get((r or "").lower(), r) if r is not None else None
            self._collect(keys["content"], scope, role, None, None, stmt, _MSG, from_dict=True)

    def _check_kwdict(self, node, scope, stmt, role):
        content = kw(node, "content")
        r = kw(node, "role")
        if content is not None and r is not None:
            rs = string_value(r)
            self._collect(content, scope, _ROLE_NAMES.get((rs or "").lower(), rs), None, None, stmt, _MSG)

    def _has_string(self, node) -> bool:
        if is_str(node):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._has_string(node.left) or self._has_string(node.right)
        return False

    def _is_str_expr(self, node):
        return is_str(node) or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and self._has_string(node))

    # -- following values to string expressions
    def _collect(self, node, scope, role, call, model, stmt, kind, template=None, depth=0, name=None, call_node=None, from_dict=False):
        if depth > 12 or node is None:
            return
        args = (scope, role, call, model, stmt, kind)
        if is_str(node):
            self._note_params(node, scope)
            self._add(node, role, call, model, name, stmt, template, call_node)
            self._follow_parts(node, args, depth, call_node)
            return
        if isinstance(node, ast.Constant):
            return  # bytes, numbers
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add) and self._has_string(node):
                self._note_params(node, scope)
                self._add(node, role, call, model, name, stmt, template, call_node)
                self._follow_parts(node, args, depth, call_node)
                return
            if isinstance(node.op, ast.Add):
                self._collect(node.left, *args, template=template, depth=depth + 1, call_node=call_node)
                self._collect(node.right, *args, template=template, depth=depth + 1, call_node=call_node)
                return
            if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
                self._add(node, role, call, model, name, stmt, "percent", call_node)
                return
            if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Name):
                self._collect(node.left, *args, template="percent", depth=depth + 1, name=name, call_node=call_node)
            return
        if isinstance(node, ast.Call):
            ch = chain(node.func) or ""
            last = ch.rsplit(".", 1)[-1]
            if last in _DEDENT_CALLS and node.args:
                inner = node.args[0]
                if is_str(inner):
                    self._add(node, role, call, model, name, stmt, template, call_node)
                else:
                    self._collect(inner, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
                return
            if isinstance(node.func, ast.Attribute) and node.func.attr == "format":
                base = node.func.value
                if (isinstance(base, ast.Constant) and isinstance(base.value, str)) or (
                    isinstance(base, ast.Call) and (chain(base.func) or "").rsplit(".", 1)[-1] in _DEDENT_CALLS
                ):
                    self._add(node, role, call, model, name, stmt, "format", call_node)
                else:
                    self._collect(base, *args, template="format", depth=depth + 1, name=name, call_node=call_node)
                return
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("strip", "lstrip", "rstrip"):
                self._collect(node.func.value, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
                return
            if last in ("Part", "Content", "from_text", "GenerateContentConfig", "dict", "TextBlock", "TextContent", "ChatMessage") or last in _MESSAGE_CLASSES:
                if last == "dict":
                    self._check_kwdict(node, scope, stmt, role)
                    return
                if last in _MESSAGE_CLASSES:
                    return  # the class itself is a sink; collected there
                for a in node.args:
                    self._collect(a, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
                for k in node.keywords:
                    if k.arg in ("text", "parts", "content", "contents", "system_instruction"):
                        self._collect(k.value, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
                return
            target = self.col.functions.get(ch) if "." not in ch else None
            if target is None and ch.startswith(("self.", "cls.")) and ch.count(".") == 1 and scope.kind == "function" and scope.class_scope:
                target = self.col.methods.get((scope.class_scope.name, ch.split(".")[1]))
            if target is not None and target.returns:
                for r in target.returns:
                    self._collect(r, target, role, call, model, stmt, kind, template=template, depth=depth + 1, name=name or target.name, call_node=call_node)
            return
        if isinstance(node, ast.Name):
            s, binds = scope.lookup(node.id)
            if s is None:
                return
            if binds is None:
                self._param_hits.setdefault(s, set()).add(node.id)
                return
            for value, target, bstmt in binds:
                self._collect(value, s, role, call, model, bstmt, kind, template=template, depth=depth + 1, name=node.id, call_node=call_node)
            return
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = node.value.id
            cls = None
            if base in ("self", "cls"):
                sc = scope
                while sc is not None and sc.kind != "function":
                    sc = sc.parent
                cls = sc.class_scope if sc is not None else None
            elif base in self.col.classes:
                cls = self.col.classes[base]
            if cls is not None and node.attr in cls.assigns:
                for value, target, bstmt in cls.assigns[node.attr]:
                    self._collect(value, cls, role, call, model, bstmt, kind, template=template, depth=depth + 1, name=node.attr, call_node=call_node)
            return
        if isinstance(node, (ast.List, ast.Tuple)):
            if kind == "tuples":
                for v in node.elts:
                    if isinstance(v, ast.Tuple) and len(v.elts) == 2:
                        r = string_value(v.elts[0])
                        r2 = _ROLE_NAMES.get((r or "").lower(), r)
                        self._collect(v.elts[1], scope, r2, call, model, stmt, _TEXT, template="format", depth=depth + 1, call_node=call_node)
                    elif is_str(v):
                        self._collect(v, scope, "user", call, model, stmt, _TEXT, template="format", depth=depth + 1, call_node=call_node)
                    else:
                        self._collect(v, scope, None, call, model, stmt, _MSG, depth=depth + 1, call_node=call_node)
                return
            for el in node.elts:
                if isinstance(el, ast.Starred):
                    continue
                self._collect(el, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
            return
        if isinstance(node, ast.Dict):
            keys = self._dict_keys(node)
            if "role" in keys and "content" in keys:
                r = string_value(keys["role"])
                r2 = _ROLE_NAMES.get((r or "").lower(), r) if r is not None else role
                self._collect(keys["content"], scope, r2, call, model, stmt, _MSG, template=template, depth=depth + 1, call_node=call_node)
            elif "text" in keys and ("type" in keys or len(keys) == 1):
                self._collect(keys["text"], *args, template=template, depth=depth + 1, call_node=call_node)
            elif "parts" in keys:
                self._collect(keys["parts"], *args, template=template, depth=depth + 1, call_node=call_node)
            return
        if isinstance(node, ast.IfExp):
            self._collect(node.body, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
            self._collect(node.orelse, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
            return
        if isinstance(node, ast.Await):
            self._collect(node.value, *args, template=template, depth=depth + 1, name=name, call_node=call_node)

    def _follow_parts(self, node, args, depth, call_node):
        if isinstance(node, ast.JoinedStr):
            for v in node.values:
                if isinstance(v, ast.FormattedValue) and isinstance(v.value, (ast.Name, ast.Attribute)):
                    self._collect(v.value, *args, depth=depth + 1, call_node=call_node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            for side in (node.left, node.right):
                if isinstance(side, (ast.Name, ast.Attribute)):
                    self._collect(side, *args, depth=depth + 1, call_node=call_node)
                else:
                    self._follow_parts(side, args, depth, call_node)

    def _note_params(self, node, scope):
        names = []
        if isinstance(node, ast.JoinedStr):
            names = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
        elif isinstance(node, ast.BinOp):
            for side in (node.left, node.right):
                if isinstance(side, ast.Name):
                    names.append(side)
                else:
                    self._note_params(side, scope)
        for n in names:
            if isinstance(n, ast.Name):
                s, binds = scope.lookup(n.id)
                if s is not None and binds is None:
                    self._param_hits.setdefault(s, set()).add(n.id)

    def _add(self, node, role, call, model, name, stmt, template, call_node):
        key = id(node)
        f = self.found.get(key)
        if f is None:
            self.found[key] = _Found(node, role, call, model, name, "sink", stmt, call_node)
            self._tmpl[key] = template
        else:
            if f.call is None and call is not None:
                f.call = call
            if f.model is None and model is not None:
                f.model = model
            if f.role is None and role is not None:
                f.role = role
            if f.name is None and name is not None:
                f.name = name
            if f.call_node is None and call_node is not None:
                f.call_node = call_node
            if template and not self._tmpl.get(key):
                self._tmpl[key] = template

    def _secondary(self):
        for scope in [self.col.module_scope, *self.col.classes.values()]:
            for name, binds in scope.assigns.items():
                if not classify.prompt_like_name(name):
                    continue
                for value, target, stmt in binds:
                    node = value
                    if isinstance(node, ast.Call) and (chain(node.func) or "").rsplit(".", 1)[-1] in _DEDENT_CALLS and node.args:
                        if not is_str(node.args[0]):
                            continue
                    elif not is_str(node):
                        if not (isinstance(node, ast.BinOp) and self._has_string(node)):
                            continue
                    if id(node) in self.found:
                        continue
                    built = self._units_for(node, None)
                    if built is None:
                        continue
                    units = built[0]
                    if not classify.reads_as_instructions(units_text(units)):
                        continue
                    self.found[id(node)] = _Found(node, None, None, None, name, "name", stmt)

    # -- units
    def _string_units(self, node):
        text = self.source.text
        if is_str(node):
            s0, s1 = self._pos(node)
            toks = scan_tokens(text, s0, s1)
            if not toks or any(t.is_bytes for t in toks):
                return None
            units, names = [], []
            for k, tok in enumerate(toks):
                if k:
                    units.append(("", toks[k - 1].end, tok.start, JOIN))
                for part in tok.parts:
                    if part[0] == "lit":
                        units.extend(decode_body(text[part[1] : part[2]], part[1], raw=tok.raw, fstring_text=tok.fstring))
                    else:
                        units.append((text[part[1] : part[2]], part[1], part[2], PLACEHOLDER))
                        names.append(part[3])
            if len(toks) > 1:
                host = "concat"
            elif toks[0].fstring:
                host = "fstring"
            else:
                host = "triple" if len(toks[0].quote) == 3 else "literal"
            return units, names, True, host
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            lu = self._string_units(node.left) if self._is_str_expr(node.left) else None
            ru = self._string_units(node.right) if self._is_str_expr(node.right) else None
            units, names, exact = [], [], True
            for side, built in ((node.left, lu), (node.right, ru)):
                if units:
                    units.append(("", self._pos(node.left)[1], self._pos(node.right)[0], JOIN))
                if built is None:
                    s0, s1 = self._pos(side)
                    code = text[s0:s1]
                    units.append(("{" + code + "}", s0, s1, PLACEHOLDER))
                    names.append(code)
                else:
                    units.extend(built[0])
                    names.extend(built[1])
                    exact = exact and built[2]
            return units, names, exact, "concat"
        return None

    def _units_for(self, node, template):
        dedent = None
        fmt = template
        core = node
        if isinstance(core, ast.Call) and isinstance(core.func, ast.Attribute) and core.func.attr == "format":
            fmt = "format"
            core = core.func.value
        if isinstance(core, ast.BinOp) and isinstance(core.op, ast.Mod):
            fmt = "percent"
            core = core.left
        if isinstance(core, ast.Call) and (chain(core.func) or "").rsplit(".", 1)[-1] in _DEDENT_CALLS and core.args:
            dedent = _DEDENT_CALLS[(chain(core.func) or "").rsplit(".", 1)[-1]]
            core = core.args[0]
        if not self._is_str_expr(core):
            return None
        try:
            built = self._string_units(core)
        except (ValueError, KeyError, ScanError):
            return None
        if built is None:
            return None
        units, names, exact, host = built
        if dedent == "dedent":
            units, ok = dedent_units(units)
            exact = exact and ok
        elif dedent == "cleandoc":
            units, ok = cleandoc_units(units)
            exact = exact and ok
        if fmt == "format" and host != "fstring":
            units, more = format_units(units)
            names = names + more
            host = "format" if host in ("literal", "triple") else host
        elif fmt == "percent":
            units, more = percent_units(units)
            names = names + more
        return units, names, exact, host, dedent

    def _build_prompts(self):
        prompts = []
        for key, f in self.found.items():
            if id(f.node) in self.col.docstrings:
                continue
            built = self._units_for(f.node, self._tmpl.get(key))
            if built is None:
                continue
            units, names, exact, host, dedent = built
            text = units_text(units)
            if not text.strip():
                continue
            s0, s1 = self._pos(f.node)
            line, col = self.index.position(s0)
            eline, ecol = self.index.position(s1)
            stmt_line = f.stmt.lineno if f.stmt is not None else line
            if isinstance(f.stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and f.stmt.decorator_list:
                stmt_line = min(d.lineno for d in f.stmt.decorator_list)
            meta = [("stmt_line", stmt_line)]
            if f.call_node is not None:
                meta.append(("call_site", self._pos(f.call_node)[0]))
            prompts.append(
                Prompt(
                    path=self.source.path,
                    text=text,
                    segments=to_segments(units),
                    start=s0,
                    end=s1,
                    line=line,
                    column=col,
                    end_line=eline,
                    end_column=ecol,
                    source="python",
                    name=f.name,
                    role=f.role,
                    call=f.call,
                    model=f.model,
                    placeholders=tuple(dict.fromkeys(n for n in names if n)),
                    origin=f.origin,
                    host=host,
                    fixable=exact,
                    dedent=dedent,
                    meta=tuple(sorted(meta)),
                )
            )
        prompts.sort(key=lambda p: p.start)
        return prompts


def extract(source: SourceFile, config=None, tree: Optional[ast.Module] = None):
    """(prompts, analysis) with ``ast``. Raises SyntaxError when ``ast`` cannot parse the source."""
    if tree is None:
        tree = ast.parse(source.text)
    ex = AstExtractor(source, config)
    return ex.run(tree), ex
