"""Find the prompts of a Python module.

A string is a prompt when it reaches an LLM call (an SDK sink, a LangChain/LlamaIndex prompt or message
class, a ``{"role", "content"}`` message, a configured or detected project wrapper) directly or through a
name bound in the same module, function or class; or when a module/class-level constant with a prompt-like
name reads as instructions. Everything else (docstrings, log and exception messages, SQL, HTML, usage text)
is left alone.

The analysis is syntactic (libcst, so 3.12+ syntax parses on any interpreter) and module-local: no imports
are followed, nothing is executed.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..types import JOIN, PLACEHOLDER, LineIndex, Prompt, SourceFile
from . import classify
from .units import (
    cleandoc_units,
    decode_body,
    dedent_units,
    format_units,
    percent_units,
    to_segments,
    units_text,
)

# ---------------------------------------------------------------------------------------------------------
# Sinks

# OpenAI / Anthropic / Google SDK call chains, matched on the end of the dotted call chain.
# (suffix, {keyword: role-or-kind}, positional prompt args, required keywords (any of))
from .sinks import (  # noqa: F401  (re-exported for rules and tests)
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
    _TEMPLATE,
    _TEMPLATE_CALLS,
    _TEXT,
    CallSite,
    Scope,
    SinkSpec,
    _Found,
)


def _chain(node) -> Optional[str]:
    """Dotted name of a callee: ``client.chat.completions.create``; calls in the chain become ``X()``."""
    parts = []
    while True:
        if isinstance(node, cst.Name):
            parts.append(node.value)
            break
        if isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
            continue
        if isinstance(node, cst.Call):
            inner = _chain(node.func)
            if inner is None:
                return None
            parts.append(inner + "()")
            break
        if isinstance(node, cst.Subscript):
            inner = _chain(node.value)
            if inner is None:
                return None
            parts.append(inner + "[]")
            break
        if isinstance(node, cst.Await):
            node = node.expression
            continue
        return None
    return ".".join(reversed(parts))


def _kw(call: cst.Call, name: str):
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a.value
    return None


def _positional(call: cst.Call, index: int):
    k = 0
    for a in call.args:
        if a.keyword is None and not a.star:
            if k == index:
                return a.value
            k += 1
    return None


def _has_kwsplat(call: cst.Call) -> bool:
    return any(a.star == "**" for a in call.args)


def _string_value(node) -> Optional[str]:
    """The value of a plain (non-f, non-bytes) string literal expression, else None."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        try:
            v = node.evaluated_value
        except Exception:
            return None
        return v if isinstance(v, str) else None
    return None


# ---------------------------------------------------------------------------------------------------------
# Scopes


class _Collector(cst.CSTVisitor):
    """One pass: scopes, assignments, imports, calls, dicts, statements."""

    def __init__(self):
        self.module_scope = Scope("module", "<module>", None, None)
        self.stack = [self.module_scope]
        self.scope_of = {}  # node -> Scope (for Call/Dict/string nodes we care about)
        self.imports = {}  # local name -> qualified
        self.calls: list[CallSite] = []
        self.dicts = []  # (Dict node, scope)
        self.functions = {}  # name -> Scope (module-level functions and methods by name)
        self.methods = {}  # (class name, method name) -> Scope
        self.classes = {}  # class name -> Scope
        self.stmt_stack = []
        self.docstrings = set()
        self.defs = []

    # statements
    def visit_SimpleStatementLine(self, node):
        self.stmt_stack.append(node)

    def leave_SimpleStatementLine(self, node):
        self.stmt_stack.pop()

    def _compound_enter(self, node):
        self.stmt_stack.append(node)

    def _compound_leave(self, node):
        self.stmt_stack.pop()

    visit_If = visit_For = visit_While = visit_With = visit_Try = _compound_enter
    leave_If = leave_For = leave_While = leave_With = leave_Try = _compound_leave

    @property
    def scope(self) -> Scope:
        return self.stack[-1]

    def _record_docstring(self, body):
        stmts = getattr(body, "body", ())
        if stmts and isinstance(stmts[0], cst.SimpleStatementLine) and stmts[0].body:
            first = stmts[0].body[0]
            if isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
                self.docstrings.add(id(first.value))

    def visit_Module(self, node):
        self._record_docstring(node)

    def visit_ClassDef(self, node):
        s = Scope("class", node.name.value, node, self.scope)
        self.classes[node.name.value] = s
        self.stack.append(s)
        self.stmt_stack.append(node)
        self._record_docstring(node.body)

    def leave_ClassDef(self, node):
        self.stack.pop()
        self.stmt_stack.pop()

    def visit_FunctionDef(self, node):
        parent = self.scope
        s = Scope("function", node.name.value, node, parent)
        if parent.kind == "class":
            s.class_scope = parent
            self.methods[(parent.name, node.name.value)] = s
        self.functions.setdefault(node.name.value, s)
        p = node.params
        for param in list(p.posonly_params) + list(p.params) + list(p.kwonly_params):
            s.params.append(param.name.value)
        if isinstance(p.star_arg, cst.Param):
            s.params.append(p.star_arg.name.value)
        if p.star_kwarg is not None:
            s.params.append(p.star_kwarg.name.value)
        self.stack.append(s)
        self.stmt_stack.append(node)
        self._record_docstring(node.body)
        self.defs.append(s)

    def leave_FunctionDef(self, node):
        self.stack.pop()
        self.stmt_stack.pop()

    def visit_Lambda(self, node):
        return False

    def visit_Return(self, node):
        if node.value is not None:
            self.scope.returns.append(node.value)

    # imports
    def visit_Import(self, node):
        for alias in node.names:
            name = _chain(alias.name)
            if name is None:
                continue
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name.split(".")[0]
            self.imports[local] = name if alias.asname else local

    def visit_ImportFrom(self, node):
        if isinstance(node.names, cst.ImportStar) or node.module is None:
            return
        mod = _chain(node.module) or ""
        for alias in node.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else _chain(alias.name)
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            self.imports[local] = f"{mod}.{name}"

    # assignments
    def _bind(self, target, value, stmt):
        if isinstance(target, cst.Name):
            self.scope.assigns.setdefault(target.value, []).append((value, target, stmt))
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value in ("self", "cls"):
            cls = self.scope.class_scope if self.scope.kind == "function" else None
            if cls is not None:
                cls.assigns.setdefault(target.attr.value, []).append((value, target, stmt))
        elif isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
            if len(target.elements) == len(value.elements):
                for t, v in zip(target.elements, value.elements):
                    self._bind(t.value, v.value, stmt)

    def visit_Assign(self, node):
        stmt = self.stmt_stack[-1] if self.stmt_stack else node
        for t in node.targets:
            self._bind(t.target, node.value, stmt)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self._bind(node.target, node.value, self.stmt_stack[-1] if self.stmt_stack else node)

    def visit_AugAssign(self, node):
        if isinstance(node.operator, cst.AddAssign):
            self._bind(node.target, node.value, self.stmt_stack[-1] if self.stmt_stack else node)

    def visit_Call(self, node):
        ch = _chain(node.func)
        if ch is None:
            return
        head, _, rest = ch.partition(".")
        q = self.imports.get(head.rstrip("()"))
        qualified = (q + ("()" if head.endswith("()") else "") + ("." + rest if rest else "")) if q else ch
        self.calls.append(CallSite(node, ch, qualified, self.scope, self.stmt_stack[-1] if self.stmt_stack else None))

    def visit_Dict(self, node):
        self.dicts.append((node, self.scope, self.stmt_stack[-1] if self.stmt_stack else None))


# ---------------------------------------------------------------------------------------------------------
# Prompt building


class PythonExtractor:
    def __init__(self, source: SourceFile, config=None):
        self.source = source
        self.config = config
        self.llm_functions = tuple(getattr(config, "llm_functions", ()) or ())
        self.found: dict = {}  # id(node) -> _Found
        self.sink_calls = []  # (CallSite, label, spec-ish)  (exposed for flow rules)
        self.wrapper_params = {}  # Scope -> {param index/name}
        self.index = LineIndex(source.text)

    # -- entry
    def run(self, module: cst.Module):
        self.module = module  # the parsed module (code-flow rules walk it; see promptlint/flow.py)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.positions = wrapper.resolve(PositionProvider)
        col = _Collector()
        wrapper.visit(col)
        self.col = col
        self._llm_objects = self._find_llm_objects()
        # fixpoint over local wrappers: a function whose parameter flows into a sink is a sink itself
        wrappers: dict = {}
        for _ in range(4):
            before = {k: set(v) for k, v in wrappers.items()}
            self.found.clear()
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

    # -- LLM objects: names bound to ChatOpenAI(...) etc.
    def _find_llm_objects(self):
        names = set()
        for scope in [self.col.module_scope, *self.col.classes.values(), *self.col.defs]:
            for name, binds in scope.assigns.items():
                for value, _t, _s in binds:
                    if isinstance(value, cst.Call):
                        ch = _chain(value.func) or ""
                        last = ch.rsplit(".", 1)[-1]
                        if _LLM_CLASSES.match(last) and last not in ("OpenAI", "AzureOpenAI", "Anthropic") or (
                            last in ("OpenAI", "Anthropic", "AzureOpenAI") and "llms" in self.col.imports.get(last, "")
                        ):
                            names.add(name)
        return names

    # -- sinks
    def _match_sink(self, site: CallSite):
        ch = site.chain
        q = site.qualified
        call = site.call
        parts = ch.split(".")
        for suffix, spec in _SDK_SINKS:
            if ch == suffix or ch.endswith("." + suffix):
                if spec.forbid_chain and any(p in parts[:-2] for p in spec.forbid_chain):
                    continue
                if spec.requires and not any(_kw(call, r) is not None for r in spec.requires):
                    continue
                return spec
        if q in _LITELLM or (q.startswith("litellm.") and q.rsplit(".", 1)[-1] in ("completion", "acompletion")):
            if any(_kw(call, r) is not None for r in _LITELLM_SPEC.requires):
                return SinkSpec(q, _LITELLM_SPEC.keywords, requires=_LITELLM_SPEC.requires)
        # router.completion(...) from a litellm Router
        last = parts[-1]
        if last in ("completion", "acompletion") and len(parts) >= 2 and _kw(call, "messages") is not None:
            recv = parts[-2]
            if "router" in recv.lower() or "litellm" in recv.lower():
                return SinkSpec(ch, _LITELLM_SPEC.keywords, requires=("messages",))
        # LLM object methods
        if last in _LLM_METHODS and len(parts) >= 2:
            recv = parts[-2]
            if _LLM_RECEIVER.search(recv) or recv in self._llm_objects or recv.endswith("()") and _LLM_CLASSES.match(recv[:-2].rsplit(".", 1)[-1]):
                return SinkSpec(ch, {"input": (_MSG, "user"), "messages": (_MSG, None), "prompt": (_TEXT, "user")}, positional=((0, _MSG, "user"),))
        # configured wrappers
        for fn in self.llm_functions:
            if ch == fn or ch.endswith("." + fn) or q == fn:
                return SinkSpec(
                    ch,
                    {k: (_MSG, None) for k in _PROMPT_ARG_NAMES},
                    positional=((0, _MSG, "user"), (1, _MSG, None)),
                    completion=False,
                )
        # local wrappers found by the fixpoint
        target = self._resolve_local_function(site)
        if target is not None and target in self._wrappers:
            params = self._wrappers[target]
            fn_params = [p for p in target.params if p not in ("self", "cls")]
            kws = {p: (_MSG, None) for p in params}
            pos = tuple((fn_params.index(p), _MSG, None) for p in params if p in fn_params)
            return SinkSpec(ch, kws, positional=pos, completion=False)
        return None

    def _resolve_local_function(self, site: CallSite):
        ch = site.chain
        parts = ch.split(".")
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

    def _model_of(self, call: cst.Call, scope: Scope) -> Optional[str]:
        for key in ("model", "model_name", "deployment_name", "azure_deployment"):
            v = _kw(call, key)
            if v is None:
                continue
            s = _string_value(v)
            if s is not None:
                return s
            if isinstance(v, cst.Name):
                _sc, binds = scope.lookup(v.value)
                if binds:
                    s = _string_value(binds[-1][0])
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
        # prompt/message classes
        if last in _MESSAGE_CLASSES:
            role = _MESSAGE_CLASSES[last]
            if role is None:
                r = _string_value(_kw(call, "role")) if _kw(call, "role") is not None else None
                role = _ROLE_NAMES.get((r or "").lower(), r)
            content = _kw(call, "content")
            if content is None:
                content = _positional(call, 0)
            if content is not None:
                self._collect(content, site.scope, role, ch, None, site.stmt, _MSG, call_node=call)
            return
        for key, (role, kws) in _TEMPLATE_CALLS.items():
            if last2 == key or (ch == key) or (last == key and "." not in key):
                val = None
                for k in kws:
                    val = _kw(call, k)
                    if val is not None:
                        break
                if val is None:
                    val = _positional(call, 0)
                if val is not None:
                    fmt = "format"
                    tf = _string_value(_kw(call, "template_format")) if _kw(call, "template_format") is not None else None
                    if tf in ("jinja2", "mustache") or key == "RichPromptTemplate":
                        fmt = "jinja"
                    self._collect(val, site.scope, role, ch, None, site.stmt, _TEXT, template=fmt, call_node=call)
                return
        if last2 in _FROM_MESSAGES or (last2 == "ChatPromptTemplate" and _kw(call, "messages") is not None):
            msgs = _kw(call, "messages") or _positional(call, 0)
            if msgs is not None:
                self._collect(msgs, site.scope, None, ch, None, site.stmt, "tuples", call_node=call)
            return
        # GenerativeModel(system_instruction=...)
        if last == "GenerativeModel" or last == "GenerateContentConfig":
            si = _kw(call, "system_instruction")
            if si is not None:
                self._collect(si, site.scope, "system", ch, _string_value(_kw(call, "model_name")) if _kw(call, "model_name") else None, site.stmt, _MSG, call_node=call)
            return
        spec = self._match_sink(site)
        if spec is None:
            return
        model = self._model_of(call, site.scope)
        self.sink_calls.append((site, spec))
        for kwname, (kind, role) in spec.keywords.items():
            v = _kw(call, kwname)
            if v is not None:
                if kind == "config":
                    si = self._config_system_instruction(v, site.scope)
                    if si is not None:
                        self._collect(si, site.scope, "system", spec.label, model, site.stmt, _MSG, call_node=call)
                    continue
                self._collect(v, site.scope, role, spec.label, model, site.stmt, kind, call_node=call)
        for index, kind, role in spec.positional:
            v = _positional(call, index)
            if v is not None:
                self._collect(v, site.scope, role, spec.label, model, site.stmt, kind, call_node=call)

    def _config_system_instruction(self, node, scope):
        if isinstance(node, cst.Name):
            _s, binds = scope.lookup(node.value)
            if binds:
                node = binds[-1][0]
        if isinstance(node, cst.Call):
            return _kw(node, "system_instruction")
        if isinstance(node, cst.Dict):
            for el in node.elements:
                if isinstance(el, cst.DictElement) and _string_value(el.key) == "system_instruction":
                    return el.value
        return None

    def _check_dict(self, node: cst.Dict, scope, stmt):
        keys = {}
        for el in node.elements:
            if isinstance(el, cst.DictElement):
                k = _string_value(el.key)
                if k is not None:
                    keys[k] = el.value
        if "role" in keys and "content" in keys:
            r = _string_value(keys["role"])
            role = _ROLE_NAMES.get((r or "").lower(), r) if r is not None else None
            self._collect(keys["content"], scope, role, None, None, stmt, _MSG, from_dict=True)

    # -- following values to string expressions
    def _collect(self, node, scope, role, call, model, stmt, kind, template=None, depth=0, name=None, call_node=None, from_dict=False):
        if depth > 12 or node is None:
            return
        args = (scope, role, call, model, stmt, kind)
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            if isinstance(node, cst.SimpleString) and "b" in node.prefix.lower():
                return
            self._note_params(node, scope)
            self._add(node, role, call, model, name, stmt, template, call_node)
            self._follow_parts(node, args, depth, call_node)
            return
        if isinstance(node, cst.BinaryOperation):
            if isinstance(node.operator, cst.Add) and self._has_string(node):
                self._note_params(node, scope)
                self._add(node, role, call, model, name, stmt, template, call_node)
                self._follow_parts(node, args, depth, call_node)
                return
            if isinstance(node.operator, cst.Add):
                self._collect(node.left, *args, template=template, depth=depth + 1, call_node=call_node)
                self._collect(node.right, *args, template=template, depth=depth + 1, call_node=call_node)
                return
            if isinstance(node.operator, cst.Modulo) and isinstance(node.left, (cst.SimpleString, cst.ConcatenatedString)):
                self._add(node, role, call, model, name, stmt, "percent", call_node)
                return
            if isinstance(node.operator, cst.Modulo) and isinstance(node.left, cst.Name):
                self._collect(node.left, *args, template="percent", depth=depth + 1, name=name, call_node=call_node)
                return
            return
        if isinstance(node, cst.Call):
            ch = _chain(node.func) or ""
            last = ch.rsplit(".", 1)[-1]
            if last in _DEDENT_CALLS and node.args:
                inner = node.args[0].value
                if isinstance(inner, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
                    self._add(node, role, call, model, name, stmt, template, call_node)
                else:
                    self._collect(inner, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
                return
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "format":
                base = node.func.value
                if isinstance(base, (cst.SimpleString, cst.ConcatenatedString)) or (
                    isinstance(base, cst.Call) and (_chain(base.func) or "").rsplit(".", 1)[-1] in _DEDENT_CALLS
                ):
                    self._add(node, role, call, model, name, stmt, "format", call_node)
                else:
                    self._collect(base, *args, template="format", depth=depth + 1, name=name, call_node=call_node)
                return
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("strip", "lstrip", "rstrip"):
                self._collect(node.func.value, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
                return
            if last in ("Part", "Content", "from_text", "GenerateContentConfig", "dict", "TextBlock", "TextContent", "ChatMessage") or last in _MESSAGE_CLASSES:
                if last == "dict":
                    self._check_kwdict(node, scope, stmt, role)
                    return
                for a in node.args:
                    if a.keyword is None or a.keyword.value in ("text", "parts", "content", "contents", "system_instruction"):
                        if last in _MESSAGE_CLASSES:
                            continue  # the class itself is a sink; collected there
                        self._collect(a.value, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
                return
            # a call to a local function: follow its return values
            target = self.col.functions.get(ch) if "." not in ch else None
            if target is None and ch.startswith(("self.", "cls.")) and ch.count(".") == 1 and scope.kind == "function" and scope.class_scope:
                target = self.col.methods.get((scope.class_scope.name, ch.split(".")[1]))
            if target is not None and target.returns:
                for r in target.returns:
                    self._collect(r, target, role, call, model, stmt, kind, template=template, depth=depth + 1, name=name or target.name, call_node=call_node)
            return
        if isinstance(node, cst.Name):
            s, binds = scope.lookup(node.value)
            if s is None:
                return
            if binds is None:  # a parameter: this function is a wrapper around the sink
                self._param_hits.setdefault(s, set()).add(node.value)
                return
            for value, target, bstmt in binds:
                self._collect(value, s, role, call, model, bstmt, kind, template=template, depth=depth + 1, name=node.value, call_node=call_node)
            return
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            base = node.value.value
            cls = None
            if base in ("self", "cls"):
                sc = scope
                while sc is not None and sc.kind != "function":
                    sc = sc.parent
                cls = sc.class_scope if sc is not None else None
            elif base in self.col.classes:
                cls = self.col.classes[base]
            if cls is not None and node.attr.value in cls.assigns:
                for value, target, bstmt in cls.assigns[node.attr.value]:
                    self._collect(value, cls, role, call, model, bstmt, kind, template=template, depth=depth + 1, name=node.attr.value, call_node=call_node)
            return
        if isinstance(node, (cst.List, cst.Tuple)):
            if kind == "tuples":
                for el in node.elements:
                    v = el.value
                    if isinstance(v, cst.Tuple) and len(v.elements) == 2:
                        r = _string_value(v.elements[0].value)
                        r2 = _ROLE_NAMES.get((r or "").lower(), r)
                        self._collect(v.elements[1].value, scope, r2, call, model, stmt, _TEXT, template="format", depth=depth + 1, call_node=call_node)
                    elif isinstance(v, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
                        self._collect(v, scope, "user", call, model, stmt, _TEXT, template="format", depth=depth + 1, call_node=call_node)
                    else:
                        self._collect(v, scope, None, call, model, stmt, _MSG, depth=depth + 1, call_node=call_node)
                return
            for el in node.elements:
                self._collect(el.value, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
            return
        if isinstance(node, cst.Dict):
            keys = {}
            for el in node.elements:
                if isinstance(el, cst.DictElement):
                    k = _string_value(el.key)
                    if k is not None:
                        keys[k] = el.value
            if "role" in keys and "content" in keys:
                r = _string_value(keys["role"])
                r2 = _ROLE_NAMES.get((r or "").lower(), r) if r is not None else role
                self._collect(keys["content"], scope, r2, call, model, stmt, _MSG, template=template, depth=depth + 1, call_node=call_node)
            elif "text" in keys and ("type" in keys or len(keys) == 1):
                self._collect(keys["text"], *args, template=template, depth=depth + 1, call_node=call_node)
            elif "parts" in keys:
                self._collect(keys["parts"], *args, template=template, depth=depth + 1, call_node=call_node)
            return
        if isinstance(node, cst.IfExp):
            self._collect(node.body, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
            self._collect(node.orelse, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
            return
        if isinstance(node, cst.Await):
            self._collect(node.expression, *args, template=template, depth=depth + 1, name=name, call_node=call_node)
            return

    def _follow_parts(self, node, args, depth, call_node):
        """Names interpolated into / concatenated with a prompt reach the sink too (``f"{SYSTEM}\n{q}"``)."""
        if isinstance(node, cst.FormattedString):
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression) and isinstance(part.expression, (cst.Name, cst.Attribute)):
                    self._collect(part.expression, *args, depth=depth + 1, call_node=call_node)
        elif isinstance(node, cst.ConcatenatedString):
            self._follow_parts(node.left, args, depth, call_node)
            self._follow_parts(node.right, args, depth, call_node)
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            for side in (node.left, node.right):
                if isinstance(side, (cst.Name, cst.Attribute)):
                    self._collect(side, *args, depth=depth + 1, call_node=call_node)
                else:
                    self._follow_parts(side, args, depth, call_node)

    def _note_params(self, node, scope):
        """Parameters interpolated into a prompt make their function a wrapper around the sink."""
        names = []
        if isinstance(node, cst.FormattedString):
            names = [p.expression for p in node.parts if isinstance(p, cst.FormattedStringExpression)]
        elif isinstance(node, cst.ConcatenatedString):
            self._note_params(node.left, scope)
            self._note_params(node.right, scope)
            return
        elif isinstance(node, cst.BinaryOperation):
            for side in (node.left, node.right):
                if isinstance(side, cst.Name):
                    names.append(side)
                else:
                    self._note_params(side, scope)
        for n in names:
            if isinstance(n, cst.Name):
                s, binds = scope.lookup(n.value)
                if s is not None and binds is None:
                    self._param_hits.setdefault(s, set()).add(n.value)

    def _check_kwdict(self, node, scope, stmt, role):
        content = _kw(node, "content")
        r = _kw(node, "role")
        if content is not None and r is not None:
            rs = _string_value(r)
            self._collect(content, scope, _ROLE_NAMES.get((rs or "").lower(), rs), None, None, stmt, _MSG)

    def _has_string(self, node) -> bool:
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return True
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self._has_string(node.left) or self._has_string(node.right)
        return False

    def _add(self, node, role, call, model, name, stmt, template, call_node):
        key = id(node)
        f = self.found.get(key)
        if f is None:
            self.found[key] = _Found(node, role, call, model, name, "sink", stmt, call_node)
            self._templates[key] = template
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
            if template and not self._templates.get(key):
                self._templates[key] = template

    @property
    def _templates(self):
        t = getattr(self, "_tmpl", None)
        if t is None:
            t = self._tmpl = {}
        return t

    # -- secondary: prompt-like names at module / class level
    def _secondary(self):
        for scope in [self.col.module_scope, *self.col.classes.values()]:
            for name, binds in scope.assigns.items():
                if not classify.prompt_like_name(name):
                    continue
                for value, target, stmt in binds:
                    node = value
                    if isinstance(node, cst.Call) and (_chain(node.func) or "").rsplit(".", 1)[-1] in _DEDENT_CALLS and node.args:
                        inner = node.args[0].value
                        if not isinstance(inner, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
                            continue
                    elif not isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
                        if not (isinstance(node, cst.BinaryOperation) and self._has_string(node)):
                            continue
                    if id(node) in self.found:
                        continue
                    if isinstance(node, cst.SimpleString) and "b" in node.prefix.lower():
                        continue
                    built = self._units_for(node, None)
                    if built is None:
                        continue
                    units, *_ = built
                    if not classify.reads_as_instructions(units_text(units)):
                        continue
                    self.found[id(node)] = _Found(node, None, None, None, name, "name", stmt)

    # -- units for an expression
    def _pos(self, node):
        r = self.positions[node]
        return self.index.offset(r.start.line, r.start.column + 1), self.index.offset(r.end.line, r.end.column + 1)

    def _string_units(self, node):
        """(units, placeholders, exact, host) for a string expression."""
        text = self.source.text
        if isinstance(node, cst.SimpleString):
            s0, s1 = self._pos(node)
            prefix = node.prefix.lower()
            q = node.quote
            body_start = s0 + len(node.prefix) + len(q)
            body = text[body_start : s1 - len(q)]
            units = decode_body(body, body_start, raw="r" in prefix)
            return units, [], True, "triple" if len(q) == 3 else "literal"
        if isinstance(node, cst.FormattedString):
            units = []
            names = []
            raw = "r" in node.prefix.lower()
            for part in node.parts:
                p0, p1 = self._pos(part)
                if isinstance(part, cst.FormattedStringText):
                    units.extend(decode_body(text[p0:p1], p0, raw=raw, fstring_text=True))
                else:
                    units.append((text[p0:p1], p0, p1, PLACEHOLDER))
                    try:
                        code = cst.Module([]).code_for_node(part.expression)
                    except Exception:
                        code = text[p0 + 1 : p1 - 1]
                    names.append(code.strip())
            return units, names, True, "fstring"
        if isinstance(node, cst.ConcatenatedString):
            lu, ln, lx, _ = self._string_units(node.left)
            ru, rn, rx, _ = self._string_units(node.right)
            l1 = self._pos(node.left)[1]
            r0 = self._pos(node.right)[0]
            return lu + [("", l1, r0, JOIN)] + ru, ln + rn, lx and rx, "concat"
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
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
        if isinstance(node, cst.Call):
            s0, s1 = self._pos(node)
            return [("{" + text[s0:s1] + "}", s0, s1, PLACEHOLDER)], [text[s0:s1]], True, "literal"
        return None

    def _is_str_expr(self, node):
        return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)) or (
            isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add) and self._has_string(node)
        )

    def _units_for(self, node, template):
        """(units, placeholders, exact, host, dedent) for a found expression."""
        dedent = None
        fmt = template
        core = node
        if isinstance(core, cst.Call) and isinstance(core.func, cst.Attribute) and core.func.attr.value == "format":
            fmt = "format"
            core = core.func.value
        if isinstance(core, cst.BinaryOperation) and isinstance(core.operator, cst.Modulo):
            fmt = "percent"
            core = core.left
        if isinstance(core, cst.Call) and (_chain(core.func) or "").rsplit(".", 1)[-1] in _DEDENT_CALLS and core.args:
            dedent = _DEDENT_CALLS[(_chain(core.func) or "").rsplit(".", 1)[-1]]
            core = core.args[0].value
        if not self._is_str_expr(core):
            return None
        try:
            built = self._string_units(core)
        except (ValueError, KeyError):
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
        default_model = None
        for key, f in self.found.items():
            if id(f.node) in self.col.docstrings:
                continue
            built = self._units_for(f.node, self._templates.get(key))
            if built is None:
                continue
            units, names, exact, host, dedent = built
            text = units_text(units)
            if not text.strip():
                continue
            s0, s1 = self._pos(f.node)
            line, col = self.index.position(s0)
            eline, ecol = self.index.position(s1)
            stmt_line = line
            if f.stmt is not None and f.stmt in self.positions:
                stmt_line = self.positions[f.stmt].start.line
                decorators = getattr(f.stmt, "decorators", None)
                if decorators:  # a decorated definition starts at its first decorator
                    stmt_line = self.positions[decorators[0]].start.line
            meta = (("stmt_line", stmt_line),)
            if f.call_node is not None and f.call_node in self.positions:
                # the sink call this prompt is passed to: prompts of one call are one request
                meta = (("call_site", self._pos(f.call_node)[0]),) + meta
            p = Prompt(
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
                model=f.model or default_model,
                placeholders=tuple(dict.fromkeys(n for n in names if n)),
                origin=f.origin,
                host=host,
                fixable=exact,
                dedent=dedent,
                meta=meta,
            )
            prompts.append(p)
        prompts.sort(key=lambda p: p.start)
        return prompts


def parse_module(text: str) -> cst.Module:
    return cst.parse_module(text)


def extract(source: SourceFile, config=None, module: Optional[cst.Module] = None):
    """Prompts of a Python source. Raises libcst.ParserSyntaxError for code that does not parse."""
    if module is None:
        module = parse_module(source.text)
    ex = PythonExtractor(source, config)
    return ex.run(module), ex
