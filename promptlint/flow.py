"""Code-flow facts shared by the PL4xx rules (loops, history, output limits, cache order).

Built once per Python file from the ``ast`` extractor's analysis (``ctx.analysis``, an
:class:`~promptlint.extract.pyast.AstExtractor`): the parsed module, its scopes, calls and sinks. Everything is
syntactic and module-local, like the extraction: nothing is imported or run.

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

The analysis was first written against libcst trees; on ``ast`` it keeps the same answers. Where the two trees
differ it follows what the libcst version saw: identifiers include attribute names and keyword-argument names
(libcst ``Name`` nodes), a libcst "statement line" is the run of simple statements joined by ``;``, a node's
source text of a loop header includes its own grouping parentheses, and walks visit children in reverse source
order. No libcst import: the ``check`` path never loads it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Optional

from .extract.pyast import chain as _chain
from .extract.pyast import has_kwsplat
from .extract.pyast import kw as _kw
from .extract.pyast import string_value as _string_value
from .extract.sinks import _LITELLM_SPEC, _LLM_CLASSES, _LLM_METHODS, _LLM_RECEIVER, _SDK_SINKS

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_FOR = (ast.For, ast.AsyncFor)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_WITH = (ast.With, ast.AsyncWith)
_TRY = (ast.Try, ast.TryStar) if hasattr(ast, "TryStar") else (ast.Try,)
_MATCH = (ast.Match,) if hasattr(ast, "Match") else ()
# what libcst calls small statements: they share a line when joined by `;`
_SIMPLE = tuple(
    getattr(ast, n)
    for n in (
        "Expr", "Assign", "AugAssign", "AnnAssign", "Return", "Raise", "Assert", "Delete", "Pass", "Break", "Continue",
        "Import", "ImportFrom", "Global", "Nonlocal", "TypeAlias",
    )
    if hasattr(ast, n)
)  # fmt: skip
MAX_HOPS = 2  # local functions between a loop and the LLM call it makes

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
_SINK_LASTS = {suffix.rsplit(".", 1)[-1] for suffix, _spec in _SDK_SINKS}
# counters: i += 1, remaining -= 1, delay *= 2 (a backoff delay compared against a ceiling)
_COUNTING_OPS = (ast.Add, ast.Sub, ast.Mult)
_RAISING = (ast.Call, ast.Subscript, ast.Raise, ast.Assert, ast.Await)


# ---------------------------------------------------------------------------------------------- tree helpers
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_BLOCK_ITEMS = (ast.stmt, ast.excepthandler) + ((ast.match_case,) if hasattr(ast, "match_case") else ())
_SKIP_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "type_ignores"})
_FIELDS: dict = {}  # node class -> the fields that may hold child nodes
_AST = ast.AST


def _call_children(n):
    out = [n.func]
    args, kws = n.args, n.keywords
    if kws and any(type(a) is ast.Starred for a in args):
        out += sorted(args + kws, key=lambda x: (x.lineno, x.col_offset))  # f(a=1, *rest)
    else:
        out += args
        out += kws
    return out


def _dict_children(n):
    out = []
    for k, v in zip(n.keys, n.values):
        if k is not None:
            out.append(k)
        out.append(v)
    return out


_SPECIAL = {
    ast.Call: _call_children,
    ast.Dict: _dict_children,
    ast.IfExp: lambda n: [n.body, n.test, n.orelse],
}


def children(node) -> list:
    """Child nodes in source order (operators and expression contexts left out)."""
    t = type(node)
    sp = _SPECIAL.get(t)
    if sp is not None:
        return sp(node)
    names = _FIELDS.get(t)
    if names is None:
        names = _FIELDS[t] = tuple(f for f in t._fields if f not in _SKIP_FIELDS)
    out = []
    for name in names:
        v = getattr(node, name, None)
        if type(v) is list:
            for x in v:
                if isinstance(x, _AST):
                    out.append(x)
        elif isinstance(v, _AST):
            out.append(v)
    return out


def call_args(call) -> list:
    """The arguments of a call as libcst lists them, in source order: (keyword or None, star, value) with star
    "" for plain arguments, "*" for ``*args`` and "**" for ``**kwargs``."""
    args, kws = call.args, call.keywords
    out = [(None, "*", a.value) if type(a) is ast.Starred else (None, "", a) for a in args]
    kout = [(k.arg, "" if k.arg is not None else "**", k.value) for k in kws]
    if kws and any(type(a) is ast.Starred for a in args):
        pairs = sorted(list(zip(args, out)) + list(zip(kws, kout)), key=lambda t: (t[0].lineno, t[0].col_offset))
        return [o for _n, o in pairs]
    return out + kout


def n_args(call) -> int:
    return len(call.args) + len(call.keywords)


def plain_positional(call, index: int):
    """The index-th plain positional argument (starred arguments are skipped, as libcst's helper did)."""
    k = 0
    for a in call.args:
        if type(a) is ast.Starred:
            continue
        if k == index:
            return a
        k += 1
    return None


def elements(node) -> list:
    """The element expressions of a list/tuple/set display (a starred element gives its value)."""
    return [e.value if type(e) is ast.Starred else e for e in node.elts]


def _in(x, lst) -> bool:
    for y in lst:
        if y is x:
            return True
    return False


def _last(ch) -> str:
    return (ch or "").rsplit(".", 1)[-1]


def is_const_true(node) -> bool:
    if isinstance(node, ast.Constant):
        v = node.value
        if v is True:
            return True
        if type(v) is int:
            return v != 0
        if type(v) is str:
            return bool(v)
    return False


def is_str_const(node, value=None) -> bool:
    """A plain string literal (optionally: with this value)."""
    return isinstance(node, ast.Constant) and type(node.value) is str and (value is None or node.value == value)


def _blank_comments(s: str) -> str:
    """Comments replaced by spaces, for text between tokens (no string literal there)."""
    if "#" not in s:
        return s
    out = []
    for line in s.splitlines(keepends=True):
        i = line.find("#")
        if i >= 0:
            end = len(line.rstrip("\r\n"))
            line = line[:i] + " " * (end - i) + line[end:]
        out.append(line)
    return "".join(out)


@dataclass(eq=False)
class LLMCall:
    node: ast.Call
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
        self.text = a.source.text
        self._stmt_parents = None  # built on first use: files without LLM calls never pay for it
        self._call_stmt = None
        self._headers: dict = {}
        self._spans: dict = {}
        self._code: dict = {}
        self._groups: dict = {}
        self._prompt_nodes = None
        self.memo: dict = {}  # per-file facts the rules compute once (keyed by the rule)
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

    # ------------------------------------------------------------------------------------ tree
    # Parents are found per statement, not for the whole module: statements (with except handlers and match
    # cases) get a parent map of their own (cheap: a few per cent of the nodes), and the expressions in one
    # statement's header get theirs when a query reaches that statement.
    @property
    def stmt_parents(self) -> dict:
        """Statement / except handler / match case -> the node whose block holds it (the module at the top)."""
        par = self._stmt_parents
        if par is None:
            par = self._stmt_parents = {}
            stack = [self.a.module]
            pop, push = stack.pop, stack.append
            while stack:
                n = pop()
                for name in _BLOCK_FIELDS:
                    v = getattr(n, name, None)
                    if type(v) is list:
                        for x in v:
                            par[x] = n
                            push(x)
        return par

    def parent(self, node):
        """The parent node (None at the module, or when the node cannot be placed)."""
        if isinstance(node, _BLOCK_ITEMS):
            return self.stmt_parents.get(node)
        st = self.stmt_of(node)
        if st is None:
            return None
        return self._header_parents(st).get(node)

    def stmt_of(self, node):
        """The statement whose header (the part outside its blocks) holds an expression node."""
        cs = self._call_stmt
        if cs is None:
            cs = self._call_stmt = {site.call: site.stmt for site in self.col.calls}
        st = cs.get(node)
        if st is not None:
            return st
        return self._stmt_at(node)

    def _stmt_at(self, node):
        """Found by position, descending from the module through the statements that contain the node."""
        try:
            k0, k1 = (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)
        except AttributeError:
            return None
        found = None
        blocks = [self.a.module.body]
        while blocks:
            hit = None
            for block in blocks:
                for st in block:
                    s0 = (st.lineno, st.col_offset)
                    dl = getattr(st, "decorator_list", None)
                    if dl:
                        s0 = min(s0, (dl[0].lineno, dl[0].col_offset))
                    if s0 <= k0 and k1 <= (st.end_lineno, st.end_col_offset):
                        hit = st
                        break
                if hit is not None:
                    break
            if hit is None:
                break
            found = hit
            blocks = []
            for name in ("body", "orelse", "finalbody"):
                v = getattr(hit, name, None)
                if type(v) is list:
                    blocks.append(v)
            for h in getattr(hit, "handlers", None) or ():
                blocks.append(h.body)
            for c in getattr(hit, "cases", None) or ():
                blocks.append(c.body)
        return found

    def _header_parents(self, st) -> dict:
        """Parent map of the expressions in one statement's header (its blocks left out)."""
        m = self._headers.get(st)
        if m is None:
            m = self._headers[st] = {}
            stack = [st]
            pop, push = stack.pop, stack.append
            while stack:
                n = pop()
                for c in children(n):
                    if isinstance(c, ast.stmt):
                        continue
                    m[c] = n
                    push(c)
        return m

    def pos(self, node):
        """(start, end) file offsets of a node."""
        r = self._spans.get(node)
        if r is None:
            r = self._spans[node] = self.a._pos(node)
        return r

    def line(self, node) -> int:
        return node.lineno

    def code(self, node) -> str:
        """The source text of a node."""
        if node is None:
            return ""
        if type(node) is ast.Name:
            return node.id
        c = self._code.get(node)
        if c is None:
            try:
                s0, s1 = self.pos(node)
                c = self.text[s0:s1]
            except (AttributeError, IndexError, TypeError):
                c = ""
            self._code[node] = c
        return c

    def walk(self, node, skip_scopes=True):
        """Every node under ``node`` (itself included; a list: its statements), not entering nested
        functions/classes/lambdas. Pre-order, children in reverse source order."""
        stack = list(node) if type(node) is list else [node]
        pop, push = stack.pop, stack.append
        while stack:
            n = pop()
            yield n
            for c in children(n):
                if skip_scopes and isinstance(c, _SCOPES):
                    continue
                push(c)

    def idents(self, node):
        """The identifiers under ``node``: names, attribute names and keyword-argument names (the ``Name``
        nodes of a libcst tree)."""
        for n in self.walk(node):
            t = type(n)
            if t is ast.Name:
                yield n.id
            elif t is ast.Attribute:
                yield n.attr
            elif t is ast.keyword and n.arg is not None:
                yield n.arg

    def names_and_attrs(self, node):
        """Source text of every name and attribute under ``node`` (attribute and keyword names included)."""
        for n in self.walk(node):
            t = type(n)
            if t is ast.Name:
                yield n.id
            elif t is ast.Attribute:
                yield n.attr
                yield self.code(n)
            elif t is ast.keyword and n.arg is not None:
                yield n.arg

    def stmt_groups(self, stmts) -> list:
        """A block's statements, with simple statements joined by `;` on one line grouped in a tuple."""
        hit = self._groups.get(id(stmts))
        if hit is not None and hit[0] is stmts:
            return hit[1]
        out = []
        prev = None
        for st in stmts:
            if isinstance(st, _SIMPLE):
                if prev is not None and st.lineno == prev.end_lineno and out and type(out[-1]) is tuple:
                    out[-1] = out[-1] + (st,)
                else:
                    out.append((st,))
                prev = st
            else:
                out.append(st)
                prev = None
        self._groups[id(stmts)] = (stmts, out)
        return out

    def is_elif(self, node) -> bool:
        """``if ...: ... elif ...:`` (not ``else:`` holding an ``if``)."""
        orelse = node.orelse
        if len(orelse) != 1 or type(orelse[0]) is not ast.If:
            return False
        s0 = self.pos(orelse[0])[0]
        return self.text.startswith("elif", s0)

    def has_else(self, node) -> bool:
        """An ``else:`` branch (an ``elif`` is not one)."""
        return bool(node.orelse) and not self.is_elif(node)

    def header_code(self, loop, name: str) -> str:
        """Source of a loop header part (``test``, ``target`` or ``iter``) with its own grouping parentheses
        (a bare name without them)."""
        node = getattr(loop, name)
        if type(node) is ast.Name:
            return node.id
        if type(node) is ast.Constant and (node.value is None or type(node.value) is bool):
            return str(node.value)  # True / False / None: names to libcst, printed bare
        if name == "iter":
            lo = self._grouped(loop.target, self.pos(loop)[0])[1]
        else:
            lo = self.pos(loop)[0]
        g0, g1 = self._grouped(node, lo)
        return self.text[g0:g1]

    def _grouped(self, node, lo: int):
        """The span of ``node`` widened over the parentheses around it that follow ``lo``."""
        s0, s1 = self.pos(node)
        text = self.text
        before = _blank_comments(text[lo:s0])
        i = len(before) - 1
        opens = []
        while i >= 0:
            c = before[i]
            if c == "(":
                opens.append(lo + i)
            elif not (c.isspace() or c == "\\"):
                break
            i -= 1
        if not opens:
            return s0, s1
        j, n, k = s1, len(text), 0
        while j < n and k < len(opens):
            c = text[j]
            if c == ")":
                k += 1
            elif c == "#":
                nl = text.find("\n", j)
                j = n if nl < 0 else nl
                continue
            elif not (c.isspace() or c == "\\"):
                break
            j += 1
        if k == 0:
            return s0, s1
        return opens[k - 1], j

    def decorator_span(self, expr):
        """The span of a decorator from its ``@`` (and any parentheses around the expression)."""
        s0, s1 = self.pos(expr)
        text = self.text
        i, k = s0 - 1, 0
        while i >= 0 and (text[i] in " \t\\\r\n(" ):
            if text[i] == "(":
                k += 1
            i -= 1
        if i < 0 or text[i] != "@":
            return s0, s1
        j, n = s1, len(text)
        while j < n and k:
            c = text[j]
            if c == ")":
                k -= 1
            elif not (c.isspace() or c == "\\"):
                break
            j += 1
        return i, j

    def scope_of(self, node):
        p = self.parent(node)
        while p is not None:
            t = type(p)
            if t is ast.FunctionDef or t is ast.AsyncFunctionDef:
                return self.fn_scope.get(p, self.col.module_scope)
            if t is ast.ClassDef:
                return self.cls_scope.get(p, self.col.module_scope)
            p = self.parent(p)
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
            self._add(LLMCall(site.call, label, kind, site.scope, spec, None, site.call.lineno))
        chains = self._chain_names()
        for site in self.col.calls:
            call = site.call
            if not call.keywords and not chains:
                continue  # the cases below need a keyword (**kwargs, llm=) or a pipe name
            if call in self.calls:
                continue
            ch = site.chain
            parts = ch.split(".")
            spec, kind = self._sdk_spec(ch, site.qualified)
            if spec is not None and has_kwsplat(call):
                label = spec.label if kind == "sdk" else (site.qualified if site.qualified.startswith("litellm.") else ch)
                self._add(LLMCall(call, label, kind, site.scope, spec, None, call.lineno))
                continue
            if len(parts) >= 2 and parts[-1] in _LLM_METHODS and parts[-2] in chains:
                self._add(LLMCall(call, ch, "chain", site.scope, None, None, call.lineno))
                continue
            if any(k.arg in ("llm", "model_client") for k in call.keywords):
                last = parts[-1].rstrip("()")
                if (last[:1].islower() or last[:1] == "_") and not _RECORDING.search(ch):
                    self._add(LLMCall(call, ch + "()", "llm_arg", site.scope, None, None, call.lineno))
                    continue
        # local functions that call an LLM are LLM calls themselves, up to MAX_HOPS functions away (beyond
        # that a loop is a dispatcher or an event loop more than an LLM loop)
        local = None
        for _hop in range(MAX_HOPS):
            known = {s for s, lst in self.calls_in.items() if lst}
            if not known:
                break
            if local is None:  # calls of functions defined in this module (resolved once)
                local = []
                for site in self.col.calls:
                    if site.call not in self.calls:
                        target = self.resolve(site)
                        if target is not None:
                            local.append((site, target))
            added = False
            for site, target in local:
                if site.call in self.calls or target not in known:
                    continue
                self._add(LLMCall(site.call, site.chain + "()", "local", site.scope, None, target, site.call.lineno))
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
        if ch.rsplit(".", 1)[-1] not in _SINK_LASTS and "litellm." not in q and "litellm." not in ch:
            return None, None  # most calls: not a sink name at all
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
        pipes = []
        for scope in [self.col.module_scope, *self.col.classes.values(), *self.col.defs]:
            for name, binds in scope.assigns.items():
                for value, _t, _s in binds:
                    if type(value) is ast.BinOp and type(value.op) is ast.BitOr:
                        pipes.append((name, value))
        if not pipes:
            return names
        for _round in range(3):
            before = len(names)
            for name, value in pipes:
                if self._llm_operand(value, names):
                    names.add(name)
            if len(names) == before:
                break
        return names

    def _llm_operand(self, node, names) -> bool:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._llm_operand(node.left, names) or self._llm_operand(node.right, names)
        if isinstance(node, ast.Name):
            return node.id in self.a._llm_objects or node.id in names or bool(_LLM_RECEIVER.search(node.id))
        if isinstance(node, ast.Attribute):
            return bool(_LLM_RECEIVER.search(node.attr)) or node.attr in names
        if isinstance(node, ast.Call):
            ch = _chain(node.func) or ""
            last = ch.rsplit(".", 1)[-1]
            if _LLM_CLASSES.match(last) and last not in ("OpenAI", "AzureOpenAI", "Anthropic"):
                return True
            if isinstance(node.func, ast.Attribute) and last in ("bind", "bind_tools", "with_structured_output", "with_retry", "with_config", "with_fallbacks"):
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
        p = self.parent(node)
        while p is not None and not isinstance(p, _SCOPES):
            t = type(p)
            if t is ast.While:
                if child is p.test or _in(child, p.body):
                    out.append(p)
            elif (t is ast.For or t is ast.AsyncFor) and _in(child, p.body):
                out.append(p)
            child = p
            p = self.parent(p)
        return out

    def loops_with_calls(self) -> dict:
        """Loop node -> LLM calls inside it (source order)."""
        out: dict = {}
        for c in sorted(self.calls.values(), key=lambda c: self.pos(c.node)[0]):
            for loop in self.enclosing_loops(c.node):
                out.setdefault(loop, []).append(c)
        return out

    def for_kind(self, loop) -> str:
        it = loop.iter
        # look through progress bars and views: tqdm(range(n)), enumerate(range(n)), reversed(range(n))
        for _ in range(3):
            if isinstance(it, ast.Call):
                args = call_args(it)
                if args and args[0][0] is None and _last(_chain(it.func)) in ("tqdm", "enumerate", "reversed", "list", "sorted", "track"):
                    it = args[0][2]
                    continue
            break
        if isinstance(it, (ast.List, ast.Tuple, ast.Set)):
            return "for-literal"
        if isinstance(it, ast.Call):
            ch = _chain(it.func) or ""
            q = self.qualified(ch)
            last = q.rsplit(".", 1)[-1]
            if ch in ("range", "trange") or q in ("range", "tqdm.trange", "tqdm.auto.trange"):
                return "for-range"
            if q in ("itertools.count", "itertools.cycle"):
                return "for-infinite"
            if q == "itertools.repeat" and n_args(it) < 2:
                return "for-infinite"
            if ch == "iter" and n_args(it) == 2:
                return "for-infinite"
            if q.startswith("tenacity.") and last in ("Retrying", "AsyncRetrying") and _kw(it, "stop") is None and not has_kwsplat(it):
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
        if isinstance(loop, _FOR):
            kind = self.for_kind(loop)
            if kind in ("for-range", "for-literal"):
                return LoopInfo(loop, kind, True, interactive, False, kind)
            if kind == "for-data":
                return LoopInfo(loop, kind, False, interactive, False, "")
            auto = loop.target.id if isinstance(loop.target, ast.Name) and self._count_iter(loop) else None
            counted, bound, partial = self._counted(loop, auto)
            return LoopInfo(loop, kind, counted, interactive, self._daemon(loop), bound, partial)
        kind = "while-true" if is_const_true(loop.test) else "while-cond"
        counted, bound, partial = self._counted(loop, None)
        return LoopInfo(loop, kind, counted, interactive, self._daemon(loop), bound, partial)

    def _count_iter(self, loop) -> bool:
        it = loop.iter
        return isinstance(it, ast.Call) and self.qualified(_chain(it.func) or "") == "itertools.count"

    def _interactive(self, loop) -> bool:
        return self._waits_for_input(loop.body, self.scope_of(loop), 0)

    def _waits_for_input(self, body, scope, depth) -> bool:
        for n in self.walk(body):
            if type(n) is not ast.Call:
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
            if isinstance(n, (ast.Break, ast.Return)):
                return False
        for st in loop.body:
            if type(st) is ast.Expr:
                v = st.value
                if isinstance(v, ast.Await):
                    v = v.value
                if isinstance(v, ast.Call) and _last(_chain(v.func)) in _SLEEP:
                    return True
        return False

    def _loop_level(self, stmts):
        """Nodes of a loop body, not entering nested loops' bodies (their break/continue are theirs) or scopes."""
        stack = list(stmts)
        while stack:
            n = stack.pop()
            yield n
            t = type(n)
            if t is ast.For or t is ast.AsyncFor or t is ast.While:
                # a nested loop's body: only return statements matter there
                for m in self.walk(n.body):
                    if type(m) is ast.Return:
                        yield m
                kids = [n.test] if t is ast.While else [n.target, n.iter]
                kids += n.orelse
            else:
                kids = children(n)
            for c in kids:
                if not isinstance(c, _SCOPES):
                    stack.append(c)

    # -- iteration bounds
    def _candidates(self, loop) -> list:
        keys = []
        for n in self.walk(loop.body):
            t = type(n)
            if t is ast.AugAssign:
                if isinstance(n.op, _COUNTING_OPS) and isinstance(n.target, (ast.Name, ast.Attribute)):
                    keys.append(self.code(n.target))
            elif t is ast.Assign:
                if len(n.targets) == 1 and isinstance(n.targets[0], (ast.Name, ast.Attribute)):
                    tg = self.code(n.targets[0])
                    v = n.value
                    if isinstance(v, ast.BinOp) and isinstance(v.op, _COUNTING_OPS) and self._mentions(v, tg):
                        keys.append(tg)
            elif t is ast.Call:
                f = n.func
                if isinstance(f, ast.Attribute) and isinstance(f.value, (ast.Name, ast.Attribute)):
                    m = f.attr
                    if m in ("append", "extend", "insert", "appendleft"):
                        keys.append("len:" + self.code(f.value))
                    elif m in ("pop", "popleft", "popitem"):
                        keys.append("pop:" + self.code(f.value))
                    elif _STEP_METHOD.match(m):
                        keys.append("obj:" + self.code(f.value))
        keys.append("time:")
        return list(dict.fromkeys(keys))

    def _mentions(self, expr, key: str) -> bool:
        if key.startswith("time:"):
            for n in self.walk(expr):
                t = type(n)
                if t is ast.Call:
                    if _last(_chain(n.func)) in _TIME_CALLS:
                        return True
                elif t is ast.Name:
                    if _TIME_NAME.search(n.id):
                        return True
                elif t is ast.Attribute:
                    if _TIME_NAME.search(self.code(n)):
                        return True
                elif t is ast.keyword:
                    if n.arg is not None and _TIME_NAME.search(n.arg):
                        return True
            return False
        if key.startswith("obj:"):
            # any query of the counter object: `step.is_last()`, `step.count >= MAX`
            target = key[4:]
            for n in self.walk(expr):
                if type(n) is ast.Attribute and self.code(n.value) == target:
                    return True
            return False
        if key.startswith(("len:", "pop:")):
            target = key[4:]
            pop = key.startswith("pop:")
            for n in self.walk(expr):
                t = type(n)
                if t is ast.Call:
                    if _chain(n.func) == "len" and (n.args or n.keywords) and self.code(call_args(n)[0][2]) == target:
                        return True
                elif pop:
                    if t is ast.Name:
                        if n.id == target:
                            return True
                    elif t is ast.Attribute:
                        if n.attr == target or self.code(n) == target:
                            return True
                    elif t is ast.keyword and n.arg == target:
                        return True
            return False
        last = key.rsplit(".", 1)[-1]
        for n in self.walk(expr):
            t = type(n)
            if t is ast.Name:
                if n.id == key:
                    return True
            elif t is ast.Attribute:
                if n.attr == key or (n.attr == last and self.code(n) == key):
                    return True
            elif t is ast.keyword:
                if n.arg == key:
                    return True
        return False

    def test_bound(self, test, key: str, mode: str) -> bool:
        """Does ``test`` bound the loop through ``key``? mode "and": the loop goes on while it holds;
        "or": the loop is left when it holds."""
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self.test_bound(test.operand, key, "or" if mode == "and" else "and")
        if isinstance(test, ast.BoolOp):
            same = isinstance(test.op, ast.And) if mode == "and" else isinstance(test.op, ast.Or)
            if not same:
                return False
            return any(self.test_bound(v, key, mode) for v in test.values)
        if isinstance(test, ast.Compare):
            return self._mentions(test, key)
        if isinstance(test, ast.Call) and mode == "or" and _LIMIT_CALL.search(_last(_chain(test.func))):
            return any(self._mentions(v, key) for _k, _s, v in call_args(test))
        if isinstance(test, ast.Call) and key.startswith("obj:"):
            return self._mentions(test.func, key)
        if key.startswith("pop:") and mode == "and":
            # `while queue:` / `while len(queue):` -- a worklist consumed by pop
            return self._mentions(test, key)
        return False

    def _counted(self, loop, auto_counter):
        body = loop.body
        keys = self._candidates(loop)
        if auto_counter:
            keys.insert(0, auto_counter)
        partial = ""
        for key in keys:
            if key.startswith("pop:") and self._grows(loop, key[4:]):
                continue
            init_chk = isinstance(loop, ast.While) and self.test_bound(loop.test, key, "and")
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
            t = type(n)
            if t is ast.Call:
                f = n.func
                if isinstance(f, ast.Attribute) and f.attr in ("append", "extend", "insert", "appendleft", "add", "put", "put_nowait", "update"):
                    if self.code(f.value) == target:
                        return True
            elif t is ast.AugAssign and self.code(n.target) == target:
                return True
        return False

    # ------------------------------------------------------------------------------------ prompts
    def prompt_at(self, node):
        try:
            return self.by_span.get(self.pos(node))
        except (AttributeError, KeyError, IndexError, TypeError):
            return None

    def prompt_node(self, p):
        """The expression node a Python prompt was extracted from."""
        if self._prompt_nodes is None:
            m = {}
            for f in getattr(self.a, "found", {}).values():
                try:
                    m.setdefault(self.pos(f.node), f.node)
                except (AttributeError, IndexError, TypeError):
                    continue
            self._prompt_nodes = m
        return self._prompt_nodes.get((p.start, p.end))

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
                t = type(n)
                if t is ast.FormattedValue:
                    if isinstance(n.value, (ast.Name, ast.Attribute)):
                        self.expr_prompts(n.value, scope, depth + 1, out, seen)
                elif t is ast.BinOp:
                    if isinstance(n.op, ast.Add):
                        for side in (n.left, n.right):
                            if isinstance(side, (ast.Name, ast.Attribute)):
                                self.expr_prompts(side, scope, depth + 1, out, seen)
                elif t is ast.Call:
                    if isinstance(n.func, ast.Attribute) and n.func.attr == "format":
                        self.expr_prompts(n.func.value, scope, depth + 1, out, seen)
            return out
        for value, vscope in self.bindings(node, scope):
            self.expr_prompts(value, vscope, depth + 1, out, seen)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for el in elements(node):
                self.expr_prompts(el, scope, depth + 1, out, seen)
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if k is not None and _string_value(k) in _PROMPT_KEYS:
                    self.expr_prompts(v, scope, depth + 1, out, seen)
        elif isinstance(node, ast.Call):
            ch = _chain(node.func) or ""
            last = ch.rsplit(".", 1)[-1]
            if last in _PROMPT_CARRIERS or ch in ("ChatPromptTemplate.from_messages",):
                if isinstance(node.func, ast.Attribute) and last in ("format", "strip", "lstrip", "rstrip"):
                    self.expr_prompts(node.func.value, scope, depth + 1, out, seen)
                for k, _s, v in call_args(node):
                    if k is None or k in _PROMPT_KEYS + ("template", "messages", "template_str"):
                        self.expr_prompts(v, scope, depth + 1, out, seen)
            else:
                target = self._callee(node, scope)
                if target is not None:
                    for r in target.returns:
                        self.expr_prompts(r, target, depth + 1, out, seen)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.BitOr, ast.Mod)):
            self.expr_prompts(node.left, scope, depth + 1, out, seen)
            self.expr_prompts(node.right, scope, depth + 1, out, seen)
        elif isinstance(node, ast.IfExp):
            self.expr_prompts(node.body, scope, depth + 1, out, seen)
            self.expr_prompts(node.orelse, scope, depth + 1, out, seen)
        elif isinstance(node, (ast.Await, ast.Starred)):
            self.expr_prompts(node.value, scope, depth + 1, out, seen)
        elif isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    self.expr_prompts(part.value, scope, depth + 1, out, seen)
        return out

    def bindings(self, node, scope) -> list:
        """(value, scope) pairs a Name / self.attr / Class.attr may hold (empty for parameters)."""
        if isinstance(node, ast.Name):
            s, binds = scope.lookup(node.id)
            if s is None or binds is None:
                return []
            return [(v, s) for v, _t, _st in binds]
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
                return [(v, cls) for v, _t, _st in cls.assigns[node.attr]]
        return []

    def is_param(self, node, scope) -> bool:
        if isinstance(node, ast.Name):
            s, binds = scope.lookup(node.id)
            return s is not None and binds is None
        return False

    def _callee(self, call, scope):
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
                v = plain_positional(call, index)
                if v is not None:
                    out.append((str(index), v))
            return out
        return [(k if k is not None else str(i), v) for i, (k, star, v) in enumerate(call_args(call)) if star != "**"]

    def prompts_at_call(self, c: LLMCall, depth=0, out=None, seen=None) -> list:
        """Prompts one LLM call sends: its arguments, and for local functions the prompts at the sinks inside."""
        if out is None:
            out, seen = [], set()
        if depth > 6 or id(c) in seen:
            return out
        seen.add(id(c))
        for _k, v in self.call_prompt_args(c):
            self.expr_prompts(v, c.scope, 0, out, set())
        if c.kind == "chain" and isinstance(c.node.func, ast.Attribute):
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
    the end and the states that ``continue``: both loop back. break / return / raise leave the loop.

    A unit of a block is a compound statement or a tuple of simple statements sharing a line (``a; b``)."""

    def __init__(self, flow: Flow, key, loop=None, catch=None):
        self.f = flow
        self.key = key
        self.loop = loop
        self._catch = catch if catch is not None else []  # stack: states where a try body may raise

    def stmt(self, st, states):
        if self._catch and states and self._may_raise(st):
            self._catch[-1] |= set(states)
        return self._stmt(st, states)

    def _raises(self, node) -> bool:
        for n in self.f.walk(node):
            if isinstance(n, _RAISING):
                return True
        return False

    def _may_raise(self, st) -> bool:
        if type(st) is tuple:
            return any(self._raises(s) for s in st)
        t = type(st)
        if t is ast.If:
            # a limit check is taken as not raising (else no try could hold a bounded loop)
            return not self._check(st) and self._raises(st.test)
        if t is ast.While:
            return self._raises(st.test)
        if t is ast.For or t is ast.AsyncFor:
            return self._raises(st.iter)
        if t is ast.With or t is ast.AsyncWith:
            return any(self._raises(item) for item in st.items)
        if _MATCH and t is ast.Match:
            return self._raises(st.subject)
        return False

    def flag_checks(self, loop) -> bool:
        """`while not done:` ... `done = step >= MAX or ...`: assignments of the loop's flag that bound it."""
        self._flag_assigns = set()
        if type(loop) is not ast.While or self.key is None:
            return False
        flag = self._flag(loop.test)
        if flag is None:
            return False
        name, when_true = flag
        mode = "and" if when_true else "or"  # `while flag`: goes on while it holds; `while not flag`: leaves when it holds
        for n in self.f.walk(loop.body):
            if type(n) is ast.Assign and len(n.targets) == 1 and type(n.targets[0]) is ast.Name and n.targets[0].id == name:
                if self.f.test_bound(n.value, self.key, mode):
                    self._flag_assigns.add(n)
        return bool(self._flag_assigns)

    def has_checks(self, loop) -> bool:
        for n in self.f.walk(loop.body):
            t = type(n)
            if t is ast.If and self._check(n):
                return True
            if t is ast.Assert and self.f.test_bound(n.test, self.key, "and"):
                return True
        return False

    def _check(self, node) -> bool:
        if self.key is None:
            return False
        if self.f.test_bound(node.test, self.key, "or") and (self.exits(node.body) or self._sets_exit_flag(node.body)):
            return True
        if self.f.has_else(node) and self.f.test_bound(node.test, self.key, "and") and self.exits(node.orelse):
            return True
        return False

    def _sets_exit_flag(self, block) -> bool:
        """`if delay > LIMIT: should_retry = False` ... `if not should_retry: return`: the check goes through a flag."""
        if self.loop is None:
            return False
        flags = set()
        for st in block:
            if type(st) is ast.Assign and len(st.targets) == 1 and type(st.targets[0]) is ast.Name:
                flags.add(st.targets[0].id)
        if not flags:
            return False
        f = self.f
        if type(self.loop) is ast.While and any(x in flags for x in f.idents(self.loop.test)):
            return True  # `while not isinstance(answer, Finish)`: the check sets what the loop condition reads
        for n in f.walk(self.loop.body):
            if type(n) is ast.If and any(x in flags for x in f.idents(n.test)):
                if self.exits(n.body) or (f.has_else(n) and self.exits(n.orelse)):
                    return True
        return False

    def exits(self, block) -> bool:
        fall, cont = _Paths(self.f, None, self.loop).block(block, {(False, False, frozenset())})
        return not fall and not cont

    def block(self, stmts, states):
        cont = set()
        for st in self.f.stmt_groups(stmts):
            if not states:
                break
            states, c = self.stmt(st, states)
            cont |= c
        return states, cont

    @staticmethod
    def _flag(test):
        """(name, truth value that makes the test true) for `if flag:` / `if not flag:`."""
        if type(test) is ast.Name:
            return test.id, True
        if type(test) is ast.UnaryOp and type(test.op) is ast.Not and type(test.operand) is ast.Name:
            return test.operand.id, False
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
        if not (type(small) is ast.Assign and len(small.targets) == 1 and type(small.targets[0]) is ast.Name):
            return states
        name = small.targets[0].id
        v = small.value
        value = v.value if type(v) is ast.Constant and type(v.value) is bool else None
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
        f = self.f
        if key.startswith("obj:"):
            target = key[4:]
            for n in f.walk(small):
                if type(n) is ast.Call and type(n.func) is ast.Attribute and _STEP_METHOD.match(n.func.attr) and f.code(n.func.value) == target:
                    return True
            return False
        if key.startswith(("len:", "pop:")):
            target = key[4:]
            methods = ("append", "extend", "insert", "appendleft") if key.startswith("len:") else ("pop", "popleft", "popitem")
            for n in f.walk(small):
                if type(n) is ast.Call and type(n.func) is ast.Attribute and n.func.attr in methods and f.code(n.func.value) == target:
                    return True
            if key.startswith("len:") and type(small) is ast.AugAssign and f.code(small.target) == target:
                return True
            return False
        if type(small) is ast.AugAssign and isinstance(small.op, _COUNTING_OPS):
            return f.code(small.target) == key
        if type(small) is ast.Assign and len(small.targets) == 1 and f.code(small.targets[0]) == key:
            v = small.value
            return isinstance(v, ast.BinOp) and isinstance(v.op, _COUNTING_OPS) and f._mentions(v, key)
        return False

    def _stmt(self, st, states):
        if type(st) is tuple:
            for small in st:
                t = type(small)
                if t is ast.Break or t is ast.Return or t is ast.Raise:
                    return set(), set()
                if t is ast.Continue:
                    return set(), set(states)
                if t is ast.Assert and self.key is not None and self.f.test_bound(small.test, self.key, "and"):
                    states = self._mark(states, chk=True)
                if self._is_inc(small):
                    states = self._mark(states, inc=True)
                if small in getattr(self, "_flag_assigns", ()):
                    states = self._mark(states, chk=True)
                states = self._assign_facts(small, states)
            return states, set()
        t = type(st)
        if t is ast.If:
            s = self._mark(states, chk=True) if self._check(st) else states
            s_body, s_else = self._branch(st.test, s)
            bf, bc = self.block(st.body, s_body)
            if st.orelse:
                of, oc = self.block(st.orelse, s_else)
            else:
                of, oc = set(s_else), set()
            return bf | of, bc | oc
        if isinstance(st, _TRY):
            # the handlers start from any state in which a statement of the body may raise
            self._catch.append(set())
            try:
                cur, cont = self.block(st.body, set(states))
            finally:
                entry = self._catch.pop()
            falls = set()
            if st.orelse:
                of, oc = self.block(st.orelse, cur)
                falls |= of
                cont |= oc
            else:
                falls |= cur
            for h in st.handlers:
                hf, hc = self.block(h.body, entry)
                falls |= hf
                cont |= hc
            if st.finalbody:
                # `finally` runs on the way out of the try, whether it falls through or continues
                falls, fc = self.block(st.finalbody, falls)
                cf, cc = self.block(st.finalbody, cont)
                cont = fc | cf | cc
            return falls, cont
        if t is ast.With or t is ast.AsyncWith:
            return self.block(st.body, states)
        if t is ast.For or t is ast.AsyncFor or t is ast.While:
            # a nested loop: its body may run zero or more times; its break/continue are its own
            inner = _Nested(self.f, self.key, self.loop, self._catch)
            bf, bc = inner.block(st.body, states)
            after = set(states) | bf | bc | inner.broke
            if st.orelse:
                of, oc = self.block(st.orelse, after)
                return of | inner.broke, oc
            return after, set()
        if _MATCH and t is ast.Match:
            falls, cont = set(), set()
            wildcard = False
            for case in st.cases:
                cf, cc = self.block(case.body, states)
                falls |= cf
                cont |= cc
                if type(case.pattern) is ast.MatchAs and case.pattern.pattern is None and case.guard is None:
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
        if type(st) is tuple:
            for small in st:
                t = type(small)
                if t is ast.Break or t is ast.Continue:
                    self.broke |= set(states)
                    return set(), set()
                if t is ast.Return or t is ast.Raise:
                    return set(), set()
                if self._is_inc(small):
                    states = self._mark(states, inc=True)
                states = self._assign_facts(small, states)
            return states, set()
        if type(st) is ast.If:
            s_body, s_else = self._branch(st.test, states)
            bf, bc = self.block(st.body, s_body)
            if st.orelse:
                of, oc = self.block(st.orelse, s_else)
            else:
                of, oc = set(s_else), set()
            return bf | of, bc | oc
        return super()._stmt(st, states)


def flow_for(ctx) -> Optional[Flow]:
    """The Flow of a file rule's context (built once per file and shared by the PL4xx rules); None unless the
    context holds the ``ast`` extractor's analysis."""
    a = ctx.analysis
    if a is None or not isinstance(getattr(a, "module", None), ast.Module) or not hasattr(a, "col"):
        return None
    f = getattr(a, "_promptlint_flow", None)
    if f is None:
        f = Flow(a, ctx.prompts)
        a._promptlint_flow = f
    return f
