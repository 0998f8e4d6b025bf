"""Cheap pre-filter: can this Python file contain a prompt or an LLM call at all?

Extraction and the code-flow analysis cost far more than a regular expression, and most files of a real
codebase hold no LLM code. One compiled pattern looks for any textual trace of what the extractor and the
code-flow rules react to: SDK completion chains, message and prompt-template classes, litellm calls,
``role`` keys, ``llm=`` arguments, LLM client and chat-model constructors, methods called on LLM-looking
objects, prompt-like names being bound, configured wrappers. Each alternative is a superset of one
structural trigger, so a file ruled out can hold no prompt and no LLM call promptlint would report; a
comment or string that happens to match only costs a full extraction. A test checks that results are
identical with and without the pre-filter. A file ruled out is not even parsed (parsing was most of a cold
run), so its syntax errors are left to the Python linter: promptlint reports a syntax error where it would
have looked for prompts.
"""

from __future__ import annotations

import re

# (literals that must occur, pattern that must then match; None: a literal alone is enough, lower: match on
# the lower-cased text). Each entry is a textual superset of one structural trigger of the extractor or the
# code-flow rules. Literal gates run at C speed; the patterns start with a literal so re can skip ahead.
_METHODS = r"(?:a?invoke|a?predict|a?stream|a?complete|stream_complete|a?chat|stream_chat|a?batch|call_as_llm)"
_NAME_WORDS = ("prompt", "system", "instruction", "persona", "preamble", "sysmsg", "guideline")
_CHECKS = [
    (("completions", "responses", "messages"), re.compile(r"(?:completions|responses|messages)\s*\.\s*(?:create|parse|stream)\s*\("), False),
    (
        (
            "generate_content",
            "SystemMessage",
            "HumanMessage",
            "AIMessage",
            "ToolMessage",
            "ChatMessage",
            "PromptTemplate",
            "from_template",
            "from_messages",
            "GenerativeModel",
            "GenerateContentConfig",
        ),
        None,
        False,
    ),
    (("completion", "responses"), re.compile(r"(?:completion|responses)\s*\("), False),
    (("role",), re.compile(r"role\s*=|role['\"]\s*:"), False),
    (("llm", "model_client"), re.compile(r"(?:llm|model_client)\s*="), False),
    (("Chat",), re.compile(r"Chat\w*\s*\("), False),
    (
        ("OpenAI", "Anthropic", "Ollama", "Gemini", "GoogleGenAI", "LiteLLM", "Groq", "MistralAI", "VertexAI", "Bedrock", "Together"),
        re.compile(r"(?:OpenAI|Anthropic|Ollama|Gemini|GoogleGenAI|LiteLLM|Groq|MistralAI|VertexAI|Bedrock\w*|Together\w*)\s*\("),
        False,
    ),
    (("invoke", "predict", "stream", "complete", "chat", "batch", "call_as_llm"), re.compile(r"\.\s*" + _METHODS + r"\s*\("), False),
]
# a prompt-like name bound to something that may hold a string; `event_prompt: Optional[str] = None`, `= 0`,
# `= []` cannot (a later `event_prompt = "..."` is a binding of its own)
_TRIVIAL_VALUE = r"(?!\s*(?:none|true|false|-?\d[\w.]*|\[\]|\{\}|\(\))\s*(?:[),;#]|$))"
_NAME_BIND = {w: re.compile(w + r"\w*\s*(?::=|(?::[^=\n]*)?\+?=(?!=))" + _TRIVIAL_VALUE, re.M) for w in _NAME_WORDS}

_CACHE: dict = {}


def _configured(cfg):
    names = tuple(sorted({f.rsplit(".", 1)[-1] for f in (getattr(cfg, "llm_functions", ()) or ())}))
    rx = _CACHE.get(names)
    if rx is None and names:
        rx = _CACHE[names] = (names, re.compile(r"(?:" + "|".join(re.escape(n) for n in names) + r")\s*\("))
    return rx


def maybe_llm_code(text: str, cfg=None, tree=None) -> bool:
    """False only when the file certainly holds no prompt and no LLM call promptlint reports.

    ``tree`` is unused: textual supersets of the structural triggers are cheaper than walking the tree and safe
    (a comment or string that matches only costs a full extraction)."""
    for gates, rx, _lower in _CHECKS:
        if any(g in text for g in gates):
            if rx is None or rx.search(text):
                return True
    lower = None
    for w in _NAME_WORDS:
        if lower is None:
            lower = text.lower()
        if w in lower and _NAME_BIND[w].search(lower):
            return True
    conf = _configured(cfg)
    if conf is not None and any(n in text for n in conf[0]) and conf[1].search(text):
        return True
    return False
