"""Cheap pre-filter: can this Python file contain a prompt or an LLM call at all?

libcst parsing (needed for exact spans and fixes) costs ~10x more than ``ast``. Most files of a real
codebase hold no LLM code, so they are ruled out in two stages:

1. ``ast.parse`` (C speed): a file that does not parse goes to libcst, which accepts newer syntax and
   otherwise reports the syntax error;
2. a regular expression over the raw text for any marker the extractor reacts to (sink call names, message
   and template classes, ``role`` keys, prompt-like names, configured wrappers, ``llm=`` arguments);
3. an ``ast`` walk that looks for the same triggers structurally (a call whose chain ends like a sink, an LLM
   client or chat-model constructor, a ``{"role": ...}`` dict, a prompt-like name bound to a string, ...).

Both stages only ever say "maybe" more often than the extractor finds something: a file they rule out can hold
no prompt and no LLM call the extractor or the code-flow rules would report. A test checks that results are
identical with and without the pre-filter. Anything that does not parse with ``ast`` (newer syntax, syntax
errors) goes to libcst, which decides.
"""

from __future__ import annotations

import ast
import re
import warnings

from . import classify

_SINK_SUFFIXES = (
    ("completions", "create"),
    ("completions", "parse"),
    ("completions", "stream"),
    ("responses", "create"),
    ("responses", "parse"),
    ("responses", "stream"),
    ("messages", "create"),
    ("messages", "stream"),
    ("messages", "parse"),
)
_ALWAYS_LAST = {
    "generate_content",
    "generate_content_async",
    "generate_content_stream",
    "SystemMessage",
    "HumanMessage",
    "AIMessage",
    "ToolMessage",
    "ChatMessage",
    "PromptTemplate",
    "RichPromptTemplate",
    "from_template",
    "from_messages",
    "ChatPromptTemplate",
    "GenerativeModel",
    "GenerateContentConfig",
}
_LITELLM_LAST = {"completion", "acompletion", "text_completion", "responses", "aresponses"}
_LLM_METHODS = {
    "invoke",
    "ainvoke",
    "predict",
    "apredict",
    "stream",
    "astream",
    "complete",
    "acomplete",
    "stream_complete",
    "chat",
    "achat",
    "stream_chat",
    "batch",
    "abatch",
    "call_as_llm",
}

_MARKERS = (
    r"prompt|system|instruction|persona|preamble|sysmsg|guideline"
    r"|completion|responses|messages|generate_content|litellm|Message|Template|GenerativeModel|GenerateContentConfig"
    r"|\brole\b|invoke|predict|stream|complete|\bchat|batch|call_as_llm|llm|model_client"
)


def _marker_re(extra_names):
    pat = _MARKERS
    if extra_names:
        pat += "|" + "|".join(re.escape(n) for n in extra_names)
    return re.compile(pat, re.I)


_CACHE: dict = {}


def _compiled(cfg):
    names = tuple(sorted({f.rsplit(".", 1)[-1] for f in (getattr(cfg, "llm_functions", ()) or ())}))
    rx = _CACHE.get(names)
    if rx is None:
        rx = _CACHE[names] = _marker_re(names)
    return rx, set(names)


def _chain(node):
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
            node = node.func
            parts.append("()")
            continue
        if isinstance(node, ast.Subscript):
            node = node.value
            continue
        if isinstance(node, ast.Await):
            node = node.value
            continue
        break
    return [p for p in reversed(parts) if p != "()"]


def _has_str(node) -> bool:
    for n in ast.walk(node):
        if isinstance(n, (ast.JoinedStr,)) or (isinstance(n, ast.Constant) and isinstance(n.value, str)):
            return True
    return False


def _targets(node):
    if isinstance(node, ast.Assign):
        return node.targets
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return [node.target]
    return []


def maybe_llm_code(text: str, cfg=None, tree=None) -> bool:
    """False only when the file certainly holds no prompt and no LLM call promptlint reports."""
    rx, extra = _compiled(cfg)
    if not rx.search(text):
        return False
    if tree is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return True  # libcst decides: newer syntax parses there, a real error becomes a syntax-error finding
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            chain = _chain(node.func)
            if not chain:
                continue
            last = chain[-1]
            if last in _ALWAYS_LAST or last in extra:
                return True
            if len(chain) >= 2 and (chain[-2], last) in _SINK_SUFFIXES:
                return True
            if last in _LITELLM_LAST:
                return True
            if last == "dict" and any(k.arg == "role" for k in node.keywords):
                return True
            if any(k.arg in ("llm", "model_client") for k in node.keywords):
                return True
            if last[:1].isupper() and ("Chat" in last or last in ("OpenAI", "AzureOpenAI", "Anthropic", "Ollama", "Gemini", "GoogleGenAI", "LiteLLM", "Groq", "MistralAI", "VertexAI") or last.startswith(("Bedrock", "Together"))):
                return True  # an LLM client or chat model constructor (output-limit rules look at these)
            if last in _LLM_METHODS and len(chain) >= 2:
                recv = chain[-2].lower()
                if "llm" in recv or "chat" in recv or recv in ("lm", "model"):
                    return True
        elif isinstance(node, ast.Dict):
            for k in node.keys:
                if isinstance(k, ast.Constant) and k.value == "role":
                    return True
    # prompt-like names bound to strings (module and class constants, self.X in methods)
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            continue
        value = node.value
        if value is None or not _has_str(value):
            continue
        for t in _targets(node):
            names = [t] if not isinstance(t, (ast.Tuple, ast.List)) else list(t.elts)
            for n in names:
                name = n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else None
                if name and classify.prompt_like_name(name):
                    return True
    return False
