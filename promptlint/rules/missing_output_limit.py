"""missing-output-limit: a completion call (or LangChain chat model) without an output token cap."""

from __future__ import annotations

import ast
import re

from ..extract.pyast import chain as _chain
from ..extract.pyast import has_kwsplat
from ..extract.pyast import kw as _kw
from ..flow import flow_for, is_str_const
from .base import Docs, Examples, Rule

# the cap keywords each API accepts
_CHAT = ("max_tokens", "max_completion_tokens")
_RESPONSES = ("max_output_tokens",)
_CAPS = {
    "chat.completions.create": _CHAT,
    "chat.completions.parse": _CHAT,
    "chat.completions.stream": _CHAT,
    "responses.create": _RESPONSES,
    "responses.parse": _RESPONSES,
    "responses.stream": _RESPONSES,
    "messages.create": ("max_tokens",),
    "messages.stream": ("max_tokens",),
    "messages.parse": ("max_tokens",),
    "models.generate_content": ("config",),
    "models.generate_content_stream": ("config",),
    "generate_content": ("generation_config",),
    "generate_content_async": ("generation_config",),
}
_LITELLM_CAPS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
_GEMINI_KEYS = ("max_output_tokens", "maxOutputTokens")

# LangChain chat model classes and the constructor keywords that cap their output
_LC_CAPS = ("max_tokens", "max_output_tokens", "max_completion_tokens", "max_tokens_to_sample", "num_predict", "max_new_tokens")
_LC_CLASSES = re.compile(
    r"^(ChatOpenAI|AzureChatOpenAI|ChatAnthropic|ChatAnthropicVertex|ChatGoogleGenerativeAI|ChatVertexAI|ChatMistralAI|ChatGroq|"
    r"ChatBedrock|ChatBedrockConverse|ChatCohere|ChatDeepSeek|ChatXAI|ChatFireworks|ChatTogether|ChatLiteLLM|"
    r"ChatPerplexity|ChatNVIDIA|ChatDatabricks|ChatCerebras)$"
)  # hosted, billed per token (local runners such as ChatOllama are left alone)
_LC_SUGGEST = {"ChatGoogleGenerativeAI": "max_output_tokens", "ChatVertexAI": "max_output_tokens", "ChatAnthropicVertex": "max_output_tokens"}


class MissingOutputLimit(Rule):
    code = "PL403"
    name = "missing-output-limit"
    severity = "warning"
    scope = "file"
    analysis_kind = "ast"  # walks the ast tree (promptlint/flow.py)
    summary = "Completion call without an output token cap"
    example_host = "python"
    docs = Docs(
        what=(
            "Reports a direct SDK completion call without its output cap: OpenAI `chat.completions.create/parse/"
            "stream` without `max_tokens`/`max_completion_tokens`, `responses.create` without `max_output_tokens`, "
            "Anthropic `messages.create` without `max_tokens` (the API requires it), Google `models.generate_content` "
            "without `max_output_tokens` in its `config` (a `GenerateContentConfig(...)` or dict, inline or through "
            "a name), litellm `completion` without `max_tokens`; and LangChain chat model constructors "
            "(`ChatOpenAI`, `ChatAnthropic`, `AzureChatOpenAI`, `ChatGoogleGenerativeAI`, ...) without `max_tokens` "
            "(or the class's equivalent), unless a later `.bind(max_tokens=...)` or call passes one. Calls that splat "
            "`**kwargs` are not reported (the cap may be inside). Not reported: calls that are not completions "
            "(embeddings, thread message posts) and local wrapper functions (the call inside them is checked)."
        ),
        why=(
            "Output tokens cost several times more than input tokens, and without a cap one runaway answer (a "
            "repetition loop, a model that ignores \"be brief\") is billed up to the model's maximum output, and "
            "takes as long to generate."
        ),
        example=(
            "client.chat.completions.create(model=\"gpt-4o\", messages=messages)                # PL403\n"
            "client.chat.completions.create(model=\"gpt-4o\", messages=messages, max_tokens=400)"
        ),
        fix_safety="No fix: the right cap depends on the answer you expect.",
    )
    examples = Examples(
        valid=[
            "client.chat.completions.create(model=\"gpt-4o\", max_tokens=400, messages=[{\"role\": \"user\", \"content\": \"Summarize the ticket.\"}])\n",
            "client.chat.completions.create(model=\"gpt-4o\", messages=[{\"role\": \"user\", \"content\": \"Summarize the ticket.\"}], **settings)\n",
            "client.embeddings.create(model=\"text-embedding-3-small\", input=\"Summarize the ticket.\")\n",
        ],
        invalid=[
            "client.chat.completions.create(model=\"gpt-4o\", messages=[{\"role\": \"user\", \"content\": \"Summarize the ticket.\"}])\n",
            "from langchain_openai import ChatOpenAI\nllm = ChatOpenAI(model=\"gpt-4o-mini\", temperature=0)\n",
        ],
    )

    def check_file(self, ctx):
        flow = flow_for(ctx)
        if flow is None:
            return []
        out = []
        for c in sorted(flow.calls.values(), key=lambda c: flow.pos(c.node)[0]):
            if not c.completion:
                continue
            msg = self._check_call(flow, c)
            if msg:
                s0 = flow.pos(c.node)[0]
                s1 = flow.pos(c.node.func)[1]
                out.append(ctx.diagnostic(s0, s1, msg))
        out += self._langchain(ctx, flow)
        return out

    def _check_call(self, flow, c):
        call = c.node
        if has_kwsplat(call):
            return None
        label = c.spec.label if c.spec is not None else c.label
        if c.kind == "litellm":
            last = label.rsplit(".", 1)[-1]
            caps = ("max_output_tokens", "max_tokens") if last in ("responses", "aresponses") else _LITELLM_CAPS
            if any(_kw(call, k) is not None for k in caps) or self._extra_body_cap(call, caps):
                return None
            return f"{c.label} at line {c.line} has no output cap ({' / '.join(caps[:2])}): one runaway reply is billed up to the model's maximum output; set max_tokens"
        caps = _CAPS.get(label)
        if caps is None:
            return None
        if label.startswith("completions."):
            return None
        if caps == ("config",) or caps == ("generation_config",):
            cfg = _kw(call, caps[0])
            if cfg is None and caps == ("generation_config",):
                cfg = self._model_generation_config(flow, c)
            if cfg is None:
                return (
                    f"{label} at line {c.line} has no output cap: pass config=GenerateContentConfig(max_output_tokens=...)"
                    if caps == ("config",)
                    else f"{label} at line {c.line} has no output cap: pass generation_config={{\"max_output_tokens\": ...}}"
                )
            verdict = self._config_has_cap(flow, cfg, c.scope, 0)
            if verdict is False:
                return f"{label} at line {c.line} has a config without max_output_tokens: the reply is billed up to the model's maximum output; set max_output_tokens"
            return None
        if any(_kw(call, k) is not None for k in caps) or self._extra_body_cap(call, caps):
            return None
        names = " or ".join(caps)
        if label.startswith("messages."):
            return f"{label} at line {c.line} has no max_tokens (the Anthropic API requires it; the call fails without it)"
        suggest = caps[-1]
        return f"{label} at line {c.line} has no output cap ({names}): one runaway reply is billed up to the model's maximum output; set {suggest}"

    def _extra_body_cap(self, call, caps) -> bool:
        eb = _kw(call, "extra_body")
        if isinstance(eb, ast.Dict):
            for k in eb.keys:
                if k is not None and is_str_const(k) and k.value in caps:
                    return True
        return eb is not None and not isinstance(eb, ast.Dict)

    def _config_has_cap(self, flow, node, scope, depth):
        """True / False when the config is known to have / lack max_output_tokens; None when unknown."""
        if depth > 6 or node is None:
            return None
        if isinstance(node, ast.Call):
            last = (_chain(node.func) or "").rsplit(".", 1)[-1]
            if last in ("GenerateContentConfig", "GenerationConfig", "dict"):
                if has_kwsplat(node):
                    return None
                return any(k.arg in _GEMINI_KEYS for k in node.keywords)
            return None
        if isinstance(node, ast.Dict):
            for k in node.keys:
                if k is None:
                    return None  # **spread
                if is_str_const(k) and k.value in _GEMINI_KEYS:
                    return True
            return False
        b = flow.bindings(node, scope)
        if len(b) == 1:
            v, s = b[0]
            verdict = self._config_has_cap(flow, v, s, depth + 1)
            if verdict is False and self._mutated(flow, node):
                return None
            return verdict
        return None

    def _mutated(self, flow, name_node) -> bool:
        """A config name that is changed after it is built (cfg["max_output_tokens"] = ..., cfg.max_output_tokens = ...)."""
        return flow.code(name_node) in self._module_facts(flow)[0]

    def _module_facts(self, flow):
        """Module-level code (functions and classes not entered), walked once per file: (names changed through
        an item/attribute assignment or .update/.setdefault, names on which an attribute cap is set)."""
        hit = flow.memo.get("PL403")
        if hit is not None:
            return hit
        mutated, capped = set(), set()
        code = flow.code
        for n in flow.walk(flow.a.module):
            t = type(n)
            if t is ast.Assign or t is ast.AugAssign:
                targets = n.targets if t is ast.Assign else [n.target]
                for tg in targets:
                    if isinstance(tg, (ast.Subscript, ast.Attribute)):
                        mutated.add(code(tg.value))
                    if t is ast.Assign and type(tg) is ast.Attribute and tg.attr in _LC_CAPS:
                        capped.add(code(tg.value))
            elif t is ast.Call:
                f = n.func
                if type(f) is ast.Attribute and f.attr in ("update", "setdefault"):
                    mutated.add(code(f.value))
        hit = flow.memo["PL403"] = (mutated, capped)
        return hit

    def _model_generation_config(self, flow, c):
        """google.generativeai: the cap may sit on GenerativeModel(generation_config=...)."""
        func = c.node.func
        if not isinstance(func, ast.Attribute):
            return None
        recv = func.value
        values = [recv] if isinstance(recv, ast.Call) else [v for v, _s in flow.bindings(recv, c.scope)]
        for v in values:
            if isinstance(v, ast.Call) and (_chain(v.func) or "").endswith("GenerativeModel"):
                cfg = _kw(v, "generation_config")
                if cfg is not None:
                    return cfg
                if has_kwsplat(v):
                    return ast.Name("unknown")
        if not any(isinstance(v, ast.Call) and (_chain(v.func) or "").endswith("GenerativeModel") for v in values):
            return ast.Name("unknown")  # not (known to be) a Gemini model object: do not report
        return None

    # ------------------------------------------------------------------------------------ LangChain
    def _langchain(self, ctx, flow):
        out = []
        bound_names = None
        for site in flow.col.calls:
            ch = site.chain
            last = ch.rsplit(".", 1)[-1]
            if not last.startswith(("Chat", "AzureChat")) or not _LC_CLASSES.match(last):
                continue
            q = flow.qualified(ch)
            if q != ch and "langchain" not in q:
                continue
            call = site.call
            if has_kwsplat(call):
                continue
            if any(k.arg in _LC_CAPS for k in call.keywords):
                continue
            if bound_names is None:
                bound_names = self._capped_names(flow)
            if self._capped_after(flow, call, bound_names):
                continue
            s0 = flow.pos(call)[0]
            s1 = flow.pos(call.func)[1]
            out.append(
                ctx.diagnostic(
                    s0,
                    s1,
                    f"{last}(...) at line {flow.line(call)} has no {_LC_SUGGEST.get(last, 'max_tokens')}: every call "
                    "through this model may generate (and bill) up to the model's maximum output; set "
                    f"{_LC_SUGGEST.get(last, 'max_tokens')}",
                )
            )
        return out

    def _capped_names(self, flow) -> set:
        """Names / attributes on which a cap is set later: x.bind(max_tokens=...), x.invoke(..., max_tokens=...)."""
        names = set()
        for site in flow.col.calls:
            call = site.call
            if isinstance(call.func, ast.Attribute) and any(k.arg in _LC_CAPS for k in call.keywords):
                names.add(flow.code(call.func.value))
        return names | self._module_facts(flow)[1]

    def _capped_after(self, flow, call, bound_names) -> bool:
        p = flow.parent(call)
        # ChatOpenAI(...).bind(max_tokens=...)
        if isinstance(p, ast.Attribute):
            gp = flow.parent(p)
            if isinstance(gp, ast.Call) and any(k.arg in _LC_CAPS for k in gp.keywords):
                return True
        # llm = ChatOpenAI(...); later llm.bind(max_tokens=...) / llm.max_tokens = ...
        while p is not None and not isinstance(p, ast.stmt):
            p = flow.parent(p)
        if isinstance(p, (ast.Assign, ast.AnnAssign)):
            targets = p.targets if isinstance(p, ast.Assign) else [p.target]
            for t in targets:
                key = flow.code(t)
                if key in bound_names or (key.startswith("self.") and key[5:] in {b.split(".")[-1] for b in bound_names}):
                    return True
        return False


RULE = MissingOutputLimit
