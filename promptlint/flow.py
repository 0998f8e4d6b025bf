"""Code-flow facts shared by the PL4xx rules (loops, history, output limits, cache order).

Built once per Python file from the extractor's analysis (``ctx.analysis``): the parsed module, its scopes,
calls and sinks. Everything is syntactic and module-local, like the extraction: nothing is imported or run.

What it answers:

- which calls are LLM calls (:class:`LLMCall`): SDK and litellm completions (also with ``**kwargs``), calls on
  LLM objects and on LangChain pipes that contain one (``prompt | llm``), configured ``llm-functions``, calls
  passing ``llm=`` / ``model_client=``, and local functions that call any of these (transitively);
- for a loop, whether an iteration bound exists (:meth:`Flow.loop_info`): ``range``/literal iteration, a
  counter (or ``len(list)``, or a clock) compared against a bound on every path that loops back, a worklist
  consumed by ``pop`` — and whether each iteration waits for input (interactive) or sleeps (a daemon);
- which prompts an expression sends (:meth:`Flow.expr_prompts`), following names, local function returns,
  message dicts and message classes, so rules can count static tokens at a call.

Precision comes first: when something cannot be resolved, the answer is the one that does not report.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from .extract.python import _LITELLM_SPEC, _LLM_CLASSES, _LLM_METHODS, _LLM_RECEIVER, _SDK_SINKS, _chain, _kw, _positional

_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
MAX_HOPS = 2  # local functions between a loop and the LLM call it makes
_EMPTY_MODULE = cst.Module([])

# calls that wait for a person or for the next external input: each loop iteration is driven by input
_INPUT_LAST = {"input", "raw_input", "getpass", "readline", "readlines"}
_RECEIVE = re.compile(r"^(recv\w*|receive\w*|blpop|brpop|bzpopmin|bzpopmax|xread|xreadgroup|get_message|next_message|read_message|accept|consume|poll)$")
_QUEUE_RECV = re.compile(r"(queue|inbox|mailbox|(^|_)q$)", re.I)
# calls that pass llm= only to record or report it (telemetry, logging, events), not to call it
_RECORDING = re.compile(r"telemetry|logg|metric|track|record|emit|trace|tracing|event|callback|monitor|usage|print", re.I)
# `if has_reached_max_iterations(self.iterations, self.max_iter): break`: a limit check through a helper
_LIMIT_CALL = re.compile(r"max|limit|exceed|reached|budget|too_many|over_", re.I)
# a step-counter object: `self.step.increment()` ... `if self.step.is_last(): return`
_STEP_METHOD = re.compile(r"^(increment|incr|inc|advance|tick|bump|next_step|step_forward|count_step)", re.I)
_PROMPT_CLASSES = {"Prompt", "IntPrompt", "FloatPrompt", "Confirm"}  # rich.prompt
_SLEEP = {"sleep"}
_TIME_CALLS = {"time", "monotonic", "perf_counter", "now", "utcnow", "today", "time_ns", "monotonic_ns"}
_TIME_NAME = re.compile(r"deadline|elapsed|timeout|time_left|expires?|expiry|budget_s", re.I)
_TRIM = re.compile(r"trim|truncat|summar|compress|prune|window|shrink|condense|compact|cap_|limit", re.I)
# calls whose value is not the same on two requests
_DYNAMIC_CALLS = {"now", "utcnow", "today", "uuid1", "uuid4", "time", "time_ns", "input", "random", "randint", "token_hex", "token_urlsafe"}
_PROMPT_CARRIERS = {
    "SystemMessage",
    "HumanMessage",
    "AIMessage",
    "ToolMessage",
    "ChatMessage",
    "from_messages",
    "from_template",
    "PromptTemplate",
    "ChatPromptTemplate",
    "RichPromptTemplate",
    "Part",
    "Content",
    "from_text",
    "TextBlock",
    "TextContent",
    "dict",
    "GenerateContentConfig",
    "dedent",
    "cleandoc",
    "format",
    "strip",
    "lstrip",
    "rstrip",
}
_PROMPT_KEYS = ("content", "text", "parts", "system_instruction")
_SDK_SPECS = {id(spec) for _suffix, spec in _SDK_SINKS}
# counters: i += 1, remaining -= 1, delay *= 2 (a backoff delay compared against a ceiling)
_COUNTING_AUG = (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign)
_COUNTING_OPS = (cst.Add, cst.Subtract, cst.Multiply)


_CODE_CACHE: dict = {}  # id(node) -> (node, code); cleared for every file (Flow.__init__)
_FIELDS: dict = {}  # node class -> its dataclass field names
_IS_NODE: dict = {}  # type -> is a CSTNode


def _is_node(v) -> bool:
    t = type(v)
    r = _IS_NODE.get(t)
    if r is None:
        r = _IS_NODE[t] = isinstance(t, type) and issubclass(t, cst.CSTNode)
    return r


def node_children(node) -> list:
    """The child nodes of a libcst node, read from its fields (``node.children`` runs a visitor: ~5x slower)."""
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    out = []
    for name in names:
        v = getattr(node, name)
        if _is_node(v):
            out.append(v)
        elif type(v) in (list, tuple):
            for x in v:
                if _is_node(x):
                    out.append(x)
    return out


def code_of(node) -> str:
    if node is None:
        return ""
    if isinstance(node, cst.Name):
        return node.value
    hit = _CODE_CACHE.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    try:
        code = _EMPTY_MODULE.code_for_node(node)
    except Exception:
        code = ""
    _CODE_CACHE[id(node)] = (node, code)
    return code


def body_stmts(block) -> list:
    """Statements of an indented block; a one-line suite counts as one simple statement."""
    if isinstance(block, cst.IndentedBlock):
        return list(block.body)
    if isinstance(block, cst.SimpleStatementSuite):
        return [block]
    return []


def is_const_true(node) -> bool:
    if isinstance(node, cst.Name):
        return node.value == "True"
    if isinstance(node, cst.Integer):
        try:
            return int(node.value, 0) != 0
        except ValueError:
            return False
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        v = _string_value(node)
        return bool(v)
    return False


def _string_value(node):
    try:
        v = node.evaluated_value
    except Exception:
        return None
    return v if isinstance(v, str) else None


@dataclass(eq=False)
class LLMCall:
    node: cst.Call
    label: str  # what the message calls it: "chat.completions.create", "call_model()"
    kind: str  # sdk | litellm | object | chain | configured | local | llm_arg
    scope: object  # the Scope the call is made in
    spec: object = None
    target: object = None  # the local function called (kind local)
    line: int = 0

    @property
    def completion(self) -> bool:
        """A direct SDK / litellm completion (where the output cap is an argument of this call)."""
        return self.kind in ("sdk", "litellm")


@dataclass
class LoopInfo:
    node: object = field(repr=False)
    kind: str  # while-true | while-cond | for-range | for-literal | for-data | for-infinite
    counted: bool  # an iteration bound: range/literal, a checked counter/clock/len, or it never loops back
    interactive: bool  # every iteration waits for input (input(), a websocket, a queue)
    daemon: bool  # no way out and sleeps every round: a scheduler, not a runaway
    bound: str = ""  # what bounds it (for debugging / messages)
    partial: str = ""  # a checked counter that some path looping back skips (does not bound the loop)


class Flow:
    def __init__(self, analysis, prompts=()):
        a = self.a = analysis
        self.col = a.col
        self.index = a.index
        self._parents = None  # built on first use: files without LLM calls never pay for it
        self.kids = {}
        _CODE_CACHE.clear()
        self.fn_scope = {s.node: s for s in self.col.defs}
        self.cls_scope = {}
        for s in self.col.classes.values():
            self.cls_scope[s.node] = s
        self.nested = {}
        for s in self.col.defs:
            self.nested.setdefault((id(s.parent), s.name), s)
        self.prompts = [p for p in prompts if p.source == "python"]
        self.by_span = {}
        for p in self.prompts:
            self.by_span.setdefault((p.start, p.end), p)
        self.calls: dict = {}  # Call node -> LLMCall
        self.calls_in: dict = {}  # Scope -> [LLMCall] (in source order)
        self._loops: dict = {}
        self._find_calls()

    # ------------------------------------------------------------------------------------ positions
    @property
    def parents(self) -> dict:
        if self._parents is None:
            self._parents = {}
            self._build_parents(self.a.module)
        return self._parents

    def _build_parents(self, module):
        """Parent and children maps (libcst computes ``node.children`` anew on every access: walk once)."""
        stack = [module]
        parents = self._parents
        kids = self.kids = {}
        while stack:
            n = stack.pop()
            cs = kids[n] = node_children(n)
            for c in cs:
                parents[c] = n
                stack.append(c)

    def children(self, node):
        cs = self.kids.get(node)
        return node_children(node) if cs is None else cs

    def pos(self, node):
        return self.a._pos(node)

    _SPAN_TYPES = (
        cst.Name,
        cst.Attribute,
        cst.FormattedStringExpression,
        cst.FormattedString,
        cst.SimpleString,
        cst.ConcatenatedString,
        cst.Call,
        cst.BinaryOperation,
        cst.Subscript,
    )

    def node_at(self, span):
        """The outermost expression node with exactly this file span (names, strings, calls, f-string fields):
        found by descending from the module through the nodes whose span contains it."""
        start, end = span
        n = self.a.module
        for _depth in range(200):
            nxt = None
            for c in self.children(n):
                try:
                    c0, c1 = self.pos(c)
                except KeyError:
                    continue
                if c0 <= start and end <= c1:
                    if (c0, c1) == (start, end) and isinstance(c, self._SPAN_TYPES):
                        return c
                    nxt = c
                    break
            if nxt is None:
                return None
            n = nxt
        return None

    def line(self, node) -> int:
        return self.a.positions[node].start.line

    def walk(self, node, skip_scopes=True):
        """Every node under ``node`` (itself included), not entering nested functions/classes/lambdas."""
        stack = [node]
        while stack:
            n = stack.pop()
            yield n
            for c in self.children(n):
                if skip_scopes and isinstance(c, _SCOPES):
                    continue
                stack.append(c)

    def scope_of(self, node):
        p = self.parents.get(node)
        while p is not None:
            if isinstance(p, cst.FunctionDef):
                return self.fn_scope.get(p, self.col.module_scope)
            if isinstance(p, cst.ClassDef):
                return self.cls_scope.get(p, self.col.module_scope)
            p = self.parents.get(p)
        return self.col.module_scope

    def qualified(self, chain: str) -> str:
        head, _, rest = chain.partition(".")
        q = self.col.imports.get(head.rstrip("()"))
        if not q:
            return chain
        return q + ("()" if head.endswith("()") else "") + ("." + rest if rest else "")

    # ------------------------------------------------------------------------------------ LLM calls
    def _find_calls(self):
        a = self.a
        for site, spec in a.sink_calls:
            if site.call in self.calls:
                continue
            kind = self._kind(site, spec)
            if kind == "wrapper":
                continue  # a local function is an LLM call only if it makes one (closure below)
            if kind == "sdk" and "." not in site.chain:
                continue  # a bare `generate_content(topic)` is the project's own function, not the SDK method
            label = spec.label if kind in ("sdk", "litellm") else site.chain
            self._add(LLMCall(site.call, label, kind, site.scope, spec, None, self.line(site.call)))
        chains = self._chain_names()
        for site in self.col.calls:
            if site.call in self.calls:
                continue
            call = site.call
            ch = site.chain
            parts = ch.split(".")
            spec, kind = self._sdk_spec(ch, site.qualified)
            if spec is not None and any(arg.star == "**" for arg in call.args):
                label = spec.label if kind == "sdk" else (site.qualified if site.qualified.startswith("litellm.") else ch)
                self._add(LLMCall(call, label, kind, site.scope, spec, None, self.line(call)))
                continue
            if len(parts) >= 2 and parts[-1] in _LLM_METHODS and parts[-2] in chains:
                self._add(LLMCall(call, ch, "chain", site.scope, None, None, self.line(call)))
                continue
            if any(arg.keyword is not None and arg.keyword.value in ("llm", "model_client") for arg in call.args):
                last = parts[-1].rstrip("()")
                if (last[:1].islower() or last[:1] == "_") and not _RECORDING.search(ch):
                    self._add(LLMCall(call, ch + "()", "llm_arg", site.scope, None, None, self.line(call)))
                    continue
        # local functions that call an LLM are LLM calls themselves, up to MAX_HOPS functions away (beyond
        # that a loop is a dispatcher or an event loop more than an LLM loop)
        for _hop in range(MAX_HOPS):
            known = {s for s, lst in self.calls_in.items() if lst}
            added = False
            for site in self.col.calls:
                if site.call in self.calls:
                    continue
                target = self.resolve(site)
                if target is None or target not in known:
                    continue
                self._add(LLMCall(site.call, site.chain + "()", "local", site.scope, None, target, self.line(site.call)))
                added = True
            if not added:
                break
        for lst in self.calls_in.values():
            lst.sort(key=lambda c: self.pos(c.node)[0])

    def _add(self, c: LLMCall):
        self.calls[c.node] = c
        self.calls_in.setdefault(c.scope, []).append(c)

    def _kind(self, site, spec) -> str:
        if id(spec) in _SDK_SPECS:
            return "sdk"
        if spec.keywords is _LITELLM_SPEC.keywords:
            return "litellm"
        if not spec.completion:
            ch, q = site.chain, site.qualified
            for fn in self.a.llm_functions:
                if ch == fn or ch.endswith("." + fn) or q == fn:
                    return "configured"
            return "wrapper"
        return "object"

    def _sdk_spec(self, ch: str, q: str):
        parts = ch.split(".")
        for suffix, spec in _SDK_SINKS:
            if ch == suffix or ch.endswith("." + suffix):
                if spec.forbid_chain and any(p in parts[:-2] for p in spec.forbid_chain):
                    continue
                if suffix in ("generate_content", "generate_content_async") and "." not in ch:
                    continue
                return spec, "sdk"
        for name in (q, ch):
            if name.startswith("litellm.") and name.count(".") == 1 and name.rsplit(".", 1)[-1] in ("completion", "acompletion", "text_completion", "responses", "aresponses"):
                return _LITELLM_SPEC, "litellm"
        return None, None

    def _chain_names(self) -> set:
        """Names bound to a LangChain pipe that contains an LLM (``prompt | llm | parser``)."""
        names: set = set()
        scopes = [self.col.module_scope, *self.col.classes.values(), *self.col.defs]
        for _round in range(3):
            before = len(names)
            for scope in scopes:
                for name, binds in scope.assigns.items():
                    for value, _t, _s in binds:
                        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.BitOr) and self._llm_operand(value, names):
                            names.add(name)
            if len(names) == before:
                break
        return names

    def _llm_operand(self, node, names) -> bool:
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            return self._llm_operand(node.left, names) or self._llm_operand(node.right, names)
        if isinstance(node, cst.Name):
            return node.value in self.a._llm_objects or node.value in names or bool(_LLM_RECEIVER.search(node.value))
        if isinstance(node, cst.Attribute):
            return bool(_LLM_RECEIVER.search(node.attr.value)) or node.attr.value in names
        if isinstance(node, cst.Call):
            ch = _chain(node.func) or ""
            last = ch.rsplit(".", 1)[-1]
            if _LLM_CLASSES.match(last) and last not in ("OpenAI", "AzureOpenAI", "Anthropic"):
                return True
            if isinstance(node.func, cst.Attribute) and last in ("bind", "bind_tools", "with_structured_output", "with_retry", "with_config", "with_fallbacks"):
                return self._llm_operand(node.func.value, names)
        return False

    def resolve(self, site):
        """The local function (Scope) a call site calls, if it is defined in this module."""
        t = self.a._resolve_local_function(site)
        if t is not None:
            return t
        ch = site.chain
        if "." not in ch and not ch.endswith("()"):
            s = site.scope
            while s is not None:
                t = self.nested.get((id(s), ch))
                if t is not None:
                    return t
                s = s.parent
        return None

    def first_call_in(self, scope) -> Optional[LLMCall]:
        lst = self.calls_in.get(scope)
        return lst[0] if lst else None

    def sink_of(self, c: LLMCall) -> LLMCall:
        """For a call of a local function: the LLM call it ends up making (for messages)."""
        todo = [c]
        seen = set()
        while todo:
            x = todo.pop(0)
            if x.kind != "local":
                return x
            if x.target is None or id(x.target) in seen:
                continue
            seen.add(id(x.target))
            todo.extend(self.calls_in.get(x.target, []))
        return c

    def describe(self, c: LLMCall) -> str:
        s = f"{c.label} at line {c.line}"
        if c.kind == "local":
            inner = self.sink_of(c)
            if inner is not c:
                s += f" (which calls {inner.label} at line {inner.line})"
        return s

    # ------------------------------------------------------------------------------------ loops
    def enclosing_loops(self, node) -> list:
        """Loops (innermost first) whose every iteration runs ``node``, within the same function."""
        out = []
        child = node
        p = self.parents.get(node)
        while p is not None and not isinstance(p, _SCOPES):
            if isinstance(p, cst.While) and (child is p.body or child is p.test):
                out.append(p)
            elif isinstance(p, cst.For) and child is p.body:
                out.append(p)
            child = p
            p = self.parents.get(p)
        return out

    def loops_with_calls(self) -> dict:
        """Loop node -> LLM calls inside it (source order)."""
        out: dict = {}
        for c in sorted(self.calls.values(), key=lambda c: self.pos(c.node)[0]):
            for loop in self.enclosing_loops(c.node):
                out.setdefault(loop, []).append(c)
        return out

    def for_kind(self, loop: cst.For) -> str:
        it = loop.iter
        # look through progress bars and views: tqdm(range(n)), enumerate(range(n)), reversed(range(n))
        for _ in range(3):
            if isinstance(it, cst.Call) and it.args and not it.args[0].keyword and (_chain(it.func) or "").rsplit(".", 1)[-1] in ("tqdm", "enumerate", "reversed", "list", "sorted", "track"):
                it = it.args[0].value
            else:
                break
        if isinstance(it, (cst.List, cst.Tuple, cst.Set)):
            return "for-literal"
        if isinstance(it, cst.Call):
            ch = _chain(it.func) or ""
            q = self.qualified(ch)
            last = q.rsplit(".", 1)[-1]
            if ch in ("range", "trange") or q in ("range", "tqdm.trange", "tqdm.auto.trange"):
                return "for-range"
            if q in ("itertools.count", "itertools.cycle"):
                return "for-infinite"
            if q == "itertools.repeat" and len(it.args) < 2:
                return "for-infinite"
            if ch == "iter" and len(it.args) == 2:
                return "for-infinite"
            if q.startswith("tenacity.") and last in ("Retrying", "AsyncRetrying") and _kw(it, "stop") is None and not any(a.star == "**" for a in it.args):
                return "for-infinite"
        return "for-data"

    def loop_info(self, loop) -> LoopInfo:
        info = self._loops.get(loop)
        if info is None:
            info = self._loop_info(loop)
            self._loops[loop] = info
        return info

    def _loop_info(self, loop) -> LoopInfo:
        interactive = self._interactive(loop)
        if isinstance(loop, cst.For):
            kind = self.for_kind(loop)
            if kind in ("for-range", "for-literal"):
                return LoopInfo(loop, kind, True, interactive, False, kind)
            if kind == "for-data":
                return LoopInfo(loop, kind, False, interactive, False, "")
            auto = code_of(loop.target) if isinstance(loop.target, cst.Name) and self._count_iter(loop) else None
            counted, bound, partial = self._counted(loop, auto)
            return LoopInfo(loop, kind, counted, interactive, self._daemon(loop), bound, partial)
        kind = "while-true" if is_const_true(loop.test) else "while-cond"
        counted, bound, partial = self._counted(loop, None)
        return LoopInfo(loop, kind, counted, interactive, self._daemon(loop), bound, partial)

    def _count_iter(self, loop) -> bool:
        it = loop.iter
        return isinstance(it, cst.Call) and self.qualified(_chain(it.func) or "") == "itertools.count"

    def _interactive(self, loop) -> bool:
        return self._waits_for_input(loop.body, self.scope_of(loop), 0)

    def _waits_for_input(self, body, scope, depth) -> bool:
        for n in self.walk(body):
            if not isinstance(n, cst.Call):
                continue
            if depth < 2 and n not in self.calls:
                # a helper that reads the input (`q = read_question()`)
                target = self._callee(n, scope)
                if target is not None and self._waits_for_input(target.node.body, target, depth + 1):
                    return True
            ch = _chain(n.func) or ""
            parts = ch.split(".")
            last = parts[-1]
            q = self.qualified(ch)
            if last in _INPUT_LAST:
                return True
            if last == "prompt" and (q.startswith(("click.", "typer.", "prompt_toolkit")) or ch == "prompt" and q != ch or len(parts) >= 2 and "session" in parts[-2].lower()):
                return True
            if last == "ask" and len(parts) >= 2 and (parts[-2] in _PROMPT_CLASSES or parts[-2].endswith("()") or q.startswith(("rich.", "questionary"))):
                return True
            if _RECEIVE.match(last) and len(parts) >= 2:
                return True
            if last in ("get", "get_nowait") and len(parts) >= 2 and _QUEUE_RECV.search(parts[-2]):
                return True
        return False

    def _daemon(self, loop) -> bool:
        """No break/return out of the loop, and a sleep on the loop's own level: a periodic job."""
        for n in self._loop_level(loop.body):
            if isinstance(n, (cst.Break, cst.Return)):
                return False
        for st in body_stmts(loop.body):
            if isinstance(st, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                for small in st.body:
                    v = small.value if isinstance(small, cst.Expr) else None
                    if isinstance(v, cst.Await):
                        v = v.expression
                    if isinstance(v, cst.Call) and (_chain(v.func) or "").rsplit(".", 1)[-1] in _SLEEP:
                        return True
        return False

    def _loop_level(self, node):
        """Nodes of a loop body, not entering nested loops' bodies (their break/continue are theirs) or scopes."""
        stack = [node]
        while stack:
            n = stack.pop()
            yield n
            for c in self.children(n):
                if isinstance(c, _SCOPES):
                    continue
                if isinstance(n, (cst.For, cst.While)) and c is n.body:
                    # a nested loop's body: only return statements matter there
                    for m in self.walk(c):
                        if isinstance(m, cst.Return):
                            yield m
                    continue
                stack.append(c)

    # -- iteration bounds
    def _candidates(self, loop) -> list:
        keys = []
        for n in self.walk(loop.body):
            if isinstance(n, cst.AugAssign) and isinstance(n.operator, _COUNTING_AUG):
                if isinstance(n.target, (cst.Name, cst.Attribute)):
                    keys.append(code_of(n.target))
            elif isinstance(n, cst.Assign) and len(n.targets) == 1 and isinstance(n.targets[0].target, (cst.Name, cst.Attribute)):
                t = code_of(n.targets[0].target)
                v = n.value
                if isinstance(v, cst.BinaryOperation) and isinstance(v.operator, _COUNTING_OPS) and self._mentions(v, t):
                    keys.append(t)
            elif isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and isinstance(n.func.value, (cst.Name, cst.Attribute)):
                m = n.func.attr.value
                if m in ("append", "extend", "insert", "appendleft"):
                    keys.append("len:" + code_of(n.func.value))
                elif m in ("pop", "popleft", "popitem"):
                    keys.append("pop:" + code_of(n.func.value))
                elif _STEP_METHOD.match(m):
                    keys.append("obj:" + code_of(n.func.value))
        keys.append("time:")
        return list(dict.fromkeys(keys))

    def _mentions(self, expr, key: str) -> bool:
        if key.startswith("time:"):
            for n in self.walk(expr):
                if isinstance(n, cst.Call) and (_chain(n.func) or "").rsplit(".", 1)[-1] in _TIME_CALLS:
                    return True
                if isinstance(n, (cst.Name, cst.Attribute)) and _TIME_NAME.search(code_of(n)):
                    return True
            return False
        if key.startswith("obj:"):
            # any query of the counter object: `step.is_last()`, `step.count >= MAX`
            target = key[4:]
            for n in self.walk(expr):
                if isinstance(n, cst.Attribute) and code_of(n.value) == target:
                    return True
            return False
        if key.startswith(("len:", "pop:")):
            target = key[4:]
            for n in self.walk(expr):
                if isinstance(n, cst.Call) and _chain(n.func) == "len" and n.args and code_of(n.args[0].value) == target:
                    return True
                if key.startswith("pop:") and isinstance(n, (cst.Name, cst.Attribute)) and code_of(n) == target:
                    return True
            return False
        last = key.rsplit(".", 1)[-1]
        for n in self.walk(expr):
            if isinstance(n, cst.Name):
                if n.value == key:
                    return True
            elif isinstance(n, cst.Attribute) and n.attr.value == last and code_of(n) == key:
                return True
        return False

    def test_bound(self, test, key: str, mode: str) -> bool:
        """Does ``test`` bound the loop through ``key``? mode "and": the loop goes on while it holds;
        "or": the loop is left when it holds."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self.test_bound(test.expression, key, "or" if mode == "and" else "and")
        if isinstance(test, cst.BooleanOperation):
            same = isinstance(test.operator, cst.And) if mode == "and" else isinstance(test.operator, cst.Or)
            if not same:
                return False
            return self.test_bound(test.left, key, mode) or self.test_bound(test.right, key, mode)
        if isinstance(test, cst.Comparison):
            return self._mentions(test, key)
        if isinstance(test, cst.Call) and mode == "or" and _LIMIT_CALL.search((_chain(test.func) or "").rsplit(".", 1)[-1]):
            return any(self._mentions(a.value, key) for a in test.args)
        if isinstance(test, cst.Call) and key.startswith("obj:"):
            return self._mentions(test.func, key)
        if key.startswith("pop:") and mode == "and":
            # `while queue:` / `while len(queue):` -- a worklist consumed by pop
            return self._mentions(test, key)
        return False

    def _counted(self, loop, auto_counter):
        body = body_stmts(loop.body)
        keys = self._candidates(loop)
        if auto_counter:
            keys.insert(0, auto_counter)
        partial = ""
        for key in keys:
            if key.startswith("pop:") and self._grows(loop, key[4:]):
                continue
            init_chk = isinstance(loop, cst.While) and self.test_bound(loop.test, key, "and")
            init_inc = key.startswith("time:") or key == auto_counter
            env = _Paths(self, key, loop)
            flagged = env.flag_checks(loop)
            if not init_chk and not flagged and not env.has_checks(loop):
                continue
            fall, cont = env.block(body, {(init_inc, init_chk, frozenset())})
            back = fall | cont
            if all(i and c for i, c, _f in back):
                return True, key if back else "once", ""
            if not partial and not key.startswith(("time:", "len:", "pop:", "obj:")):
                partial = key
        env = _Paths(self, None)
        fall, cont = env.block(body, {(True, True, frozenset())})
        if not fall and not cont:
            return True, "once", ""
        return False, "", partial

    def _grows(self, loop, target: str) -> bool:
        for n in self.walk(loop.body):
            if isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value in ("append", "extend", "insert", "appendleft", "add", "put", "put_nowait", "update"):
                if code_of(n.func.value) == target:
                    return True
            if isinstance(n, cst.AugAssign) and code_of(n.target) == target:
                return True
        return False

    # ------------------------------------------------------------------------------------ prompts
    def prompt_at(self, node):
        try:
            return self.by_span.get(self.pos(node))
        except KeyError:
            return None

    def expr_prompts(self, node, scope, depth=0, out=None, seen=None) -> list:
        """Prompts an expression sends, in order (deduplicated)."""
        if out is None:
            out, seen = [], set()
        if node is None or depth > 12 or id(node) in seen:
            return out
        seen.add(id(node))
        p = self.prompt_at(node)
        if p is not None:
            if p not in out:
                out.append(p)
            # names interpolated into / concatenated with it are sent too
            for n in self.walk(node):
                if isinstance(n, cst.FormattedStringExpression) and isinstance(n.expression, (cst.Name, cst.Attribute)):
                    self.expr_prompts(n.expression, scope, depth + 1, out, seen)
                elif isinstance(n, cst.BinaryOperation) and isinstance(n.operator, cst.Add):
                    for side in (n.left, n.right):
                        if isinstance(side, (cst.Name, cst.Attribute)):
                            self.expr_prompts(side, scope, depth + 1, out, seen)
                elif isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value == "format":
                    self.expr_prompts(n.func.value, scope, depth + 1, out, seen)
            return out
        for value, vscope in self.bindings(node, scope):
            self.expr_prompts(value, vscope, depth + 1, out, seen)
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            for el in node.elements:
                self.expr_prompts(el.value, scope, depth + 1, out, seen)
        elif isinstance(node, cst.Dict):
            for el in node.elements:
                if isinstance(el, cst.DictElement) and _string_value(el.key) in _PROMPT_KEYS:
                    self.expr_prompts(el.value, scope, depth + 1, out, seen)
        elif isinstance(node, cst.Call):
            ch = _chain(node.func) or ""
            last = ch.rsplit(".", 1)[-1]
            if last in _PROMPT_CARRIERS or _chain(node.func) in ("ChatPromptTemplate.from_messages",):
                if isinstance(node.func, cst.Attribute) and last in ("format", "strip", "lstrip", "rstrip"):
                    self.expr_prompts(node.func.value, scope, depth + 1, out, seen)
                for a in node.args:
                    if a.keyword is None or a.keyword.value in _PROMPT_KEYS + ("template", "messages", "template_str"):
                        self.expr_prompts(a.value, scope, depth + 1, out, seen)
            else:
                target = self._callee(node, scope)
                if target is not None:
                    for r in target.returns:
                        self.expr_prompts(r, target, depth + 1, out, seen)
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.BitOr, cst.Modulo)):
            self.expr_prompts(node.left, scope, depth + 1, out, seen)
            self.expr_prompts(node.right, scope, depth + 1, out, seen)
        elif isinstance(node, cst.IfExp):
            self.expr_prompts(node.body, scope, depth + 1, out, seen)
            self.expr_prompts(node.orelse, scope, depth + 1, out, seen)
        elif isinstance(node, (cst.Await, cst.StarredElement)):
            self.expr_prompts(getattr(node, "expression", None) or getattr(node, "value", None), scope, depth + 1, out, seen)
        elif isinstance(node, cst.FormattedString):
            for part in node.parts:
                if isinstance(part, cst.FormattedStringExpression):
                    self.expr_prompts(part.expression, scope, depth + 1, out, seen)
        return out

    def bindings(self, node, scope) -> list:
        """(value, scope) pairs a Name / self.attr / Class.attr may hold (empty for parameters)."""
        if isinstance(node, cst.Name):
            s, binds = scope.lookup(node.value)
            if s is None or binds is None:
                return []
            return [(v, s) for v, _t, _st in binds]
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
                return [(v, cls) for v, _t, _st in cls.assigns[node.attr.value]]
        return []

    def is_param(self, node, scope) -> bool:
        if isinstance(node, cst.Name):
            s, binds = scope.lookup(node.value)
            return s is not None and binds is None
        return False

    def _callee(self, call: cst.Call, scope):
        ch = _chain(call.func) or ""
        if not ch:
            return None
        parts = ch.split(".")
        if len(parts) == 1:
            s = scope
            while s is not None:
                t = self.nested.get((id(s), ch))
                if t is not None:
                    return t
                s = s.parent
            return None
        if len(parts) == 2 and parts[0] in ("self", "cls"):
            sc = scope
            while sc is not None and sc.kind != "function":
                sc = sc.parent
            cls = sc.class_scope if sc is not None else None
            if cls is not None:
                return self.col.methods.get((cls.name, parts[1]))
        if len(parts) == 2 and parts[0] in self.col.classes:
            return self.col.methods.get((parts[0], parts[1]))
        return None

    def call_prompt_args(self, c: LLMCall) -> list:
        """The argument expressions of an LLM call that carry prompt text, in request order."""
        call = c.node
        if c.kind in ("sdk", "litellm") and c.spec is not None:
            out = []
            order = ("system", "instructions", "config", "messages", "input", "contents", "prompt")
            for k in order:
                if k in c.spec.keywords:
                    v = _kw(call, k)
                    if v is not None:
                        out.append((k, v))
            for index, _kind, _role in c.spec.positional:
                v = _positional(call, index)
                if v is not None:
                    out.append((str(index), v))
            return out
        return [(a.keyword.value if a.keyword is not None else str(i), a.value) for i, a in enumerate(call.args) if a.star != "**"]

    def prompts_at_call(self, c: LLMCall, depth=0, out=None, seen=None) -> list:
        """Prompts one LLM call sends: its arguments, and for local functions the prompts at the sinks inside."""
        if out is None:
            out, seen = [], set()
        if depth > 6 or id(c) in seen:
            return out
        seen.add(id(c))
        for _k, v in self.call_prompt_args(c):
            self.expr_prompts(v, c.scope, 0, out, set())
        if c.kind == "chain" and isinstance(c.node.func, cst.Attribute):
            # the pipe's prompt template: `chain = prompt | llm`, `chain.invoke({...})`
            self.expr_prompts(c.node.func.value, c.scope, 0, out, set())
        if c.kind == "local" and c.target is not None:
            for inner in self.calls_in.get(c.target, []):
                self.prompts_at_call(inner, depth + 1, out, seen)
        return out


class _Paths:
    """Abstract paths through one loop body for one counter candidate.

    A state is (incremented, checked, facts) for the current iteration; facts are the known truth values of
    flag names (``should_retry = False`` ... ``if not should_retry: return``), so branches a flag rules out
    are not followed. ``block`` returns the states that fall off
    the end and the states that ``continue``: both loop back. break / return / raise leave the loop."""

    def __init__(self, flow: Flow, key, loop=None, catch=None):
        self.f = flow
        self.key = key
        self.loop = loop
        self._catch = catch if catch is not None else []  # stack: states where a try body may raise

    def stmt(self, st, states):
        if self._catch and states and self._may_raise(st):
            self._catch[-1] |= set(states)
        return self._stmt(st, states)

    _RAISING = (cst.Call, cst.Subscript, cst.Raise, cst.Assert, cst.Await)

    def _may_raise(self, st) -> bool:
        if isinstance(st, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            return any(isinstance(n, self._RAISING) for n in self.f.walk(st))
        if isinstance(st, cst.If):
            # a limit check is taken as not raising (else no try could hold a bounded loop)
            return not self._check(st) and any(isinstance(n, self._RAISING) for n in self.f.walk(st.test))
        if isinstance(st, cst.While):
            return any(isinstance(n, self._RAISING) for n in self.f.walk(st.test))
        if isinstance(st, cst.For):
            return any(isinstance(n, self._RAISING) for n in self.f.walk(st.iter))
        if isinstance(st, cst.With):
            return any(isinstance(n, self._RAISING) for item in st.items for n in self.f.walk(item))
        if isinstance(st, cst.Match):
            return any(isinstance(n, self._RAISING) for n in self.f.walk(st.subject))
        return False

    def flag_checks(self, loop) -> bool:
        """`while not done:` ... `done = step >= MAX or ...`: assignments of the loop's flag that bound it."""
        self._flag_assigns = set()
        if not isinstance(loop, cst.While) or self.key is None:
            return False
        flag = self._flag(loop.test)
        if flag is None:
            return False
        name, when_true = flag
        mode = "and" if when_true else "or"  # `while flag`: goes on while it holds; `while not flag`: leaves when it holds
        for n in self.f.walk(loop.body):
            if isinstance(n, cst.Assign) and len(n.targets) == 1 and isinstance(n.targets[0].target, cst.Name) and n.targets[0].target.value == name:
                if self.f.test_bound(n.value, self.key, mode):
                    self._flag_assigns.add(n)
        return bool(self._flag_assigns)

    def has_checks(self, loop) -> bool:
        for n in self.f.walk(loop.body):
            if isinstance(n, cst.If) and self._check(n):
                return True
            if isinstance(n, cst.Assert) and self.f.test_bound(n.test, self.key, "and"):
                return True
        return False

    def _check(self, node) -> bool:
        if self.key is None:
            return False
        if self.f.test_bound(node.test, self.key, "or") and (self.exits(node.body) or self._sets_exit_flag(node.body)):
            return True
        orelse = node.orelse
        if isinstance(orelse, cst.Else) and self.f.test_bound(node.test, self.key, "and") and self.exits(orelse.body):
            return True
        return False

    def _sets_exit_flag(self, block) -> bool:
        """`if delay > LIMIT: should_retry = False` ... `if not should_retry: return`: the check goes through a flag."""
        if self.loop is None:
            return False
        flags = set()
        for st in body_stmts(block):
            if isinstance(st, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                for small in st.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                        flags.add(small.targets[0].target.value)
        if not flags:
            return False
        if isinstance(self.loop, cst.While) and any(isinstance(x, cst.Name) and x.value in flags for x in self.f.walk(self.loop.test)):
            return True  # `while not isinstance(answer, Finish)`: the check sets what the loop condition reads
        for n in self.f.walk(self.loop.body):
            if isinstance(n, cst.If) and any(isinstance(x, cst.Name) and x.value in flags for x in self.f.walk(n.test)):
                if self.exits(n.body) or (isinstance(n.orelse, cst.Else) and self.exits(n.orelse.body)):
                    return True
        return False

    def exits(self, block) -> bool:
        fall, cont = _Paths(self.f, None, self.loop).block(body_stmts(block), {(False, False, frozenset())})
        return not fall and not cont

    def block(self, stmts, states):
        cont = set()
        for st in stmts:
            if not states:
                break
            states, c = self.stmt(st, states)
            cont |= c
        return states, cont

    @staticmethod
    def _flag(test):
        """(name, truth value that makes the test true) for `if flag:` / `if not flag:`."""
        if isinstance(test, cst.Name) and test.value not in ("True", "False", "None"):
            return test.value, True
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and isinstance(test.expression, cst.Name):
            return test.expression.value, False
        return None

    def _branch(self, test, states):
        """States entering the body and the else branch of `if test`, pruned by known flag values."""
        flag = self._flag(test)
        if flag is None:
            return states, states
        name, when_true = flag
        body, orelse = set(), set()
        for i, c, f in states:
            known = dict(f)
            if known.get(name, when_true) == when_true:
                body.add((i, c, frozenset({**known, name: when_true}.items())))
            if known.get(name, not when_true) == (not when_true):
                orelse.add((i, c, frozenset({**known, name: not when_true}.items())))
        return body, orelse

    @staticmethod
    def _assign_facts(small, states):
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
            return states
        name = small.targets[0].target.value
        v = small.value
        value = v.value == "True" if isinstance(v, cst.Name) and v.value in ("True", "False") else None
        out = set()
        for i, c, f in states:
            known = {k: b for k, b in f if k != name}
            if value is not None:
                known[name] = value
            out.add((i, c, frozenset(known.items())))
        return out

    def _mark(self, states, inc=False, chk=False):
        return {(i or inc, c or chk, f) for i, c, f in states}

    def _is_inc(self, small) -> bool:
        key = self.key
        if key is None or key.startswith("time:"):
            return False
        if key.startswith("obj:"):
            target = key[4:]
            return any(
                isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and _STEP_METHOD.match(n.func.attr.value) and code_of(n.func.value) == target
                for n in self.f.walk(small)
            )
        if key.startswith(("len:", "pop:")):
            target = key[4:]
            methods = ("append", "extend", "insert", "appendleft") if key.startswith("len:") else ("pop", "popleft", "popitem")
            for n in self.f.walk(small):
                if isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute) and n.func.attr.value in methods and code_of(n.func.value) == target:
                    return True
            if key.startswith("len:") and isinstance(small, cst.AugAssign) and code_of(small.target) == target:
                return True
            return False
        if isinstance(small, cst.AugAssign) and isinstance(small.operator, _COUNTING_AUG):
            return code_of(small.target) == key
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and code_of(small.targets[0].target) == key:
            v = small.value
            return isinstance(v, cst.BinaryOperation) and isinstance(v.operator, _COUNTING_OPS) and self.f._mentions(v, key)
        return False

    def _stmt(self, st, states):
        if isinstance(st, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in st.body:
                if isinstance(small, (cst.Break, cst.Return, cst.Raise)):
                    return set(), set()
                if isinstance(small, cst.Continue):
                    return set(), set(states)
                if isinstance(small, cst.Assert) and self.key is not None and self.f.test_bound(small.test, self.key, "and"):
                    states = self._mark(states, chk=True)
                if self._is_inc(small):
                    states = self._mark(states, inc=True)
                if small in getattr(self, "_flag_assigns", ()):
                    states = self._mark(states, chk=True)
                states = self._assign_facts(small, states)
            return states, set()
        if isinstance(st, cst.If):
            s = self._mark(states, chk=True) if self._check(st) else states
            s_body, s_else = self._branch(st.test, s)
            bf, bc = self.block(body_stmts(st.body), s_body)
            orelse = st.orelse
            if isinstance(orelse, cst.Else):
                of, oc = self.block(body_stmts(orelse.body), s_else)
            elif isinstance(orelse, cst.If):
                of, oc = self.stmt(orelse, s_else)
            else:
                of, oc = set(s_else), set()
            return bf | of, bc | oc
        if isinstance(st, (cst.Try, cst.TryStar)):
            # the handlers start from any state in which a statement of the body may raise
            self._catch.append(set())
            try:
                cur, cont = self.block(body_stmts(st.body), set(states))
            finally:
                entry = self._catch.pop()
            falls = set()
            if st.orelse is not None:
                of, oc = self.block(body_stmts(st.orelse.body), cur)
                falls |= of
                cont |= oc
            else:
                falls |= cur
            for h in st.handlers:
                hf, hc = self.block(body_stmts(h.body), entry)
                falls |= hf
                cont |= hc
            if st.finalbody is not None:
                # `finally` runs on the way out of the try, whether it falls through or continues
                falls, fc = self.block(body_stmts(st.finalbody.body), falls)
                cf, cc = self.block(body_stmts(st.finalbody.body), cont)
                cont = fc | cf | cc
            return falls, cont
        if isinstance(st, cst.With):
            return self.block(body_stmts(st.body), states)
        if isinstance(st, (cst.For, cst.While)):
            # a nested loop: its body may run zero or more times; its break/continue are its own
            inner = _Nested(self.f, self.key, self.loop, self._catch)
            bf, bc = inner.block(body_stmts(st.body), states)
            after = set(states) | bf | bc | inner.broke
            if st.orelse is not None:
                of, oc = self.block(body_stmts(st.orelse.body), after)
                return of | inner.broke, oc
            return after, set()
        if isinstance(st, cst.Match):
            falls, cont = set(), set()
            wildcard = False
            for case in st.cases:
                cf, cc = self.block(body_stmts(case.body), states)
                falls |= cf
                cont |= cc
                if isinstance(case.pattern, cst.MatchAs) and case.pattern.pattern is None and case.guard is None:
                    wildcard = True
            if not wildcard:
                falls |= set(states)
            return falls, cont
        return states, set()


class _Nested(_Paths):
    """Paths inside a nested loop: break/continue stay in it (collected as falls), return/raise leave."""

    def __init__(self, flow, key, loop=None, catch=None):
        super().__init__(flow, key, loop, catch)
        self.broke = set()

    def _stmt(self, st, states):
        if isinstance(st, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in st.body:
                if isinstance(small, (cst.Break, cst.Continue)):
                    self.broke |= set(states)
                    return set(), set()
                if isinstance(small, (cst.Return, cst.Raise)):
                    return set(), set()
                if self._is_inc(small):
                    states = self._mark(states, inc=True)
                states = self._assign_facts(small, states)
            return states, set()
        if isinstance(st, cst.If):
            s_body, s_else = self._branch(st.test, states)
            bf, bc = self.block(body_stmts(st.body), s_body)
            orelse = st.orelse
            if isinstance(orelse, cst.Else):
                of, oc = self.block(body_stmts(orelse.body), s_else)
            elif isinstance(orelse, cst.If):
                of, oc = self.stmt(orelse, s_else)
            else:
                of, oc = set(s_else), set()
            return bf | of, bc | oc
        return super()._stmt(st, states)


def flow_for(ctx) -> Optional[Flow]:
    """The Flow of a file rule's context (built once per file and shared by the PL4xx rules)."""
    a = ctx.analysis
    if a is None or getattr(a, "module", None) is None or not hasattr(a, "col"):
        return None
    f = getattr(a, "_promptlint_flow", None)
    if f is None:
        f = Flow(a, ctx.prompts)
        a._promptlint_flow = f
    return f
