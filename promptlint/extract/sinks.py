"""What counts as an LLM call: sink tables shared by the Python extractors (ast and libcst).

Matched on the end of the dotted call chain plus the keywords a real completion call has, never on a bare
method name: ``Coder.create(...)``, ``runner.invoke(...)``, ``client.beta.threads.messages.create(...)`` and
``embeddings.create(...)`` are not completions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

# Sinks

# OpenAI / Anthropic / Google SDK call chains, matched on the end of the dotted call chain.
# (suffix, {keyword: role-or-kind}, positional prompt args, required keywords (any of))
_MSG = "messages"  # value is a list of messages
_TEXT = "text"  # value is a prompt string (or list of content parts)


@dataclass(frozen=True)
class SinkSpec:
    label: str
    keywords: dict  # keyword -> (kind, role)
    positional: tuple = ()  # ((index, kind, role), ...)
    requires: tuple = ()  # at least one of these keywords must be present
    completion: bool = True  # a completion call (output-limit rules apply)
    forbid_chain: tuple = ()  # chain parts that disqualify (e.g. "threads")


_SDK_SINKS = [
    ("chat.completions.create", SinkSpec("chat.completions.create", {"messages": (_MSG, None)}, requires=("messages",))),
    ("chat.completions.parse", SinkSpec("chat.completions.parse", {"messages": (_MSG, None)}, requires=("messages",))),
    ("chat.completions.stream", SinkSpec("chat.completions.stream", {"messages": (_MSG, None)}, requires=("messages",))),
    (
        "responses.create",
        SinkSpec(
            "responses.create",
            {"input": (_MSG, "user"), "instructions": (_TEXT, "system")},
            requires=("input", "instructions"),
        ),
    ),
    (
        "responses.parse",
        SinkSpec("responses.parse", {"input": (_MSG, "user"), "instructions": (_TEXT, "system")}, requires=("input", "instructions")),
    ),
    (
        "responses.stream",
        SinkSpec("responses.stream", {"input": (_MSG, "user"), "instructions": (_TEXT, "system")}, requires=("input", "instructions")),
    ),
    ("completions.create", SinkSpec("completions.create", {"prompt": (_TEXT, None)}, requires=("prompt",), forbid_chain=("chat",))),
    (
        "messages.create",
        SinkSpec(
            "messages.create",
            {"system": (_TEXT, "system"), "messages": (_MSG, None)},
            requires=("messages",),
            forbid_chain=("threads",),
        ),
    ),
    (
        "messages.stream",
        SinkSpec("messages.stream", {"system": (_TEXT, "system"), "messages": (_MSG, None)}, requires=("messages",), forbid_chain=("threads",)),
    ),
    (
        "messages.parse",
        SinkSpec("messages.parse", {"system": (_TEXT, "system"), "messages": (_MSG, None)}, requires=("messages",), forbid_chain=("threads",)),
    ),
    (
        "models.generate_content",
        SinkSpec("models.generate_content", {"contents": (_MSG, "user"), "config": ("config", None)}, requires=("contents",)),
    ),
    (
        "models.generate_content_stream",
        SinkSpec("models.generate_content_stream", {"contents": (_MSG, "user"), "config": ("config", None)}, requires=("contents",)),
    ),
    (
        "generate_content",
        SinkSpec("generate_content", {"contents": (_MSG, "user")}, positional=((0, _MSG, "user"),)),
    ),
    (
        "generate_content_async",
        SinkSpec("generate_content_async", {"contents": (_MSG, "user")}, positional=((0, _MSG, "user"),)),
    ),
]

_LITELLM = {
    "litellm.completion": "litellm.completion",
    "litellm.acompletion": "litellm.acompletion",
    "litellm.text_completion": "litellm.text_completion",
    "litellm.responses": "litellm.responses",
    "litellm.aresponses": "litellm.aresponses",
}
_LITELLM_SPEC = SinkSpec(
    "litellm.completion",
    {"messages": (_MSG, None), "prompt": (_TEXT, None), "input": (_MSG, "user"), "instructions": (_TEXT, "system")},
    requires=("messages", "prompt", "input"),
)

# LangChain / LlamaIndex prompt and message classes, matched on the callee's last one or two names.
_TEMPLATE = "template"  # a str.format template (LangChain's default f-string format)
_MESSAGE_CLASSES = {
    "SystemMessage": "system",
    "HumanMessage": "user",
    "AIMessage": "assistant",
    "ToolMessage": "tool",
    "ChatMessage": None,
}
_TEMPLATE_CALLS = {
    "PromptTemplate": (None, ("template",)),
    "PromptTemplate.from_template": (None, ("template",)),
    "ChatPromptTemplate.from_template": ("user", ("template",)),
    "SystemMessagePromptTemplate.from_template": ("system", ("template",)),
    "HumanMessagePromptTemplate.from_template": ("user", ("template",)),
    "AIMessagePromptTemplate.from_template": ("assistant", ("template",)),
    "RichPromptTemplate": (None, ("template_str",)),
}
_FROM_MESSAGES = ("ChatPromptTemplate.from_messages", "ChatPromptTemplate")
_ROLE_NAMES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "developer": "system",
    "placeholder": None,
}

# Calls on LLM objects (LangChain runnables, LlamaIndex LLMs): receiver must look like an LLM.
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
_LLM_CLASSES = re.compile(
    r"^(Chat[A-Z]\w*|AzureChatOpenAI|AzureOpenAI|OpenAI|Anthropic|Ollama|Gemini|GoogleGenAI|Bedrock\w*|LiteLLM|Groq|MistralAI|Together\w*|VertexAI)$"
)
_LLM_RECEIVER = re.compile(r"(^|_)(llm|llms|chat_model|chatmodel|lm)(_|$)|llm$|^llm", re.I)

_PROMPT_ARG_NAMES = {"prompt", "prompts", "messages", "message", "system", "system_prompt", "system_message", "instructions", "query", "content", "input", "question", "msg", "text", "user_prompt", "system_msgs", "msgs"}

_DEDENT_CALLS = {"dedent": "dedent", "cleandoc": "cleandoc"}


# ---------------------------------------------------------------------------------------------------------
# Scopes and analysis records (node-agnostic: the nodes are ast or libcst nodes)


@dataclass(eq=False)
class Scope:
    kind: str  # module | class | function
    name: str
    node: object
    parent: Optional["Scope"]
    assigns: dict = field(default_factory=dict)  # name -> [(value node, target node, stmt)]
    params: list = field(default_factory=list)  # parameter names (functions)
    returns: list = field(default_factory=list)  # return value nodes (functions)
    class_scope: Optional["Scope"] = None  # enclosing class for methods

    def lookup(self, name):
        s = self
        while s is not None:
            if name in s.assigns:
                return s, s.assigns[name]
            if s.kind == "function" and name in s.params:
                return s, None
            s = s.parent
            # class bodies are not visible from nested functions (Python scoping)
            while s is not None and s.kind == "class" and s is not self:
                s = s.parent
        return None, None


@dataclass
class CallSite:
    call: object
    chain: str
    qualified: str
    scope: Scope
    stmt: object


@dataclass
class _Found:
    node: object  # the string expression (outermost: concat / dedent call / format call)
    role: Optional[str]
    call: Optional[str]
    model: Optional[str]
    name: Optional[str]
    origin: str
    stmt: object
    call_node: object = None
