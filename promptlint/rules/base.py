"""What a rule is.

A rule has a stable code (``PL`` + digits), a kebab-case name that says what is wrong, a default severity,
docs (What it does / Why is this bad? / Example / Fix safety), options with defaults, and examples (valid,
invalid, invalid -> fixed) that the test-suite runs in every host.

Prompt rules look at one measured prompt's text and return :class:`Finding` objects in *prompt text*
offsets; the engine maps them to file positions through the prompt's source map, so one rule works the same
on a Python literal, an f-string and a template file. File rules (code flow) see the whole analysed file and
return :class:`~promptlint.types.Diagnostic` objects directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

SAFE = "safe"
UNSAFE = "unsafe"


@dataclass(frozen=True)
class TextEdit:
    start: int  # prompt text offsets
    end: int
    content: str


@dataclass(frozen=True)
class Finding:
    start: int  # prompt text offsets of what is wrong (0, 0 = the whole prompt)
    end: int
    message: str
    tokens_wasted: Optional[int] = None
    fix_applicability: Optional[str] = None  # safe | unsafe | None
    fix_message: Optional[str] = None
    edits: tuple = ()  # TextEdit, in prompt text offsets
    whole_prompt: bool = False  # report at the prompt's span rather than at start..end


@dataclass
class Docs:
    what: str
    why: str
    example: str
    fix_safety: str


@dataclass
class Examples:
    valid: list = field(default_factory=list)
    invalid: list = field(default_factory=list)
    fixed: list = field(default_factory=list)  # [(invalid, fixed)]


class Rule:
    code: str = ""
    name: str = ""
    severity: str = "warning"
    summary: str = ""
    docs: Docs = None  # type: ignore[assignment]
    options: dict = {}
    examples: Examples = Examples()
    fix: Optional[str] = None  # safe | unsafe | None: the best applicability the rule can offer
    scope: str = "prompt"  # prompt | file | project
    origin: str = "builtin"  # builtin | yaml file path

    def __init__(self, options: Optional[dict] = None):
        merged = dict(self.options)
        if options:
            merged.update(options)
        self.opts = merged

    # prompt rules
    def check(self, prompt, ctx) -> list:
        return []

    # file rules (code flow): ctx has the analysed module
    def check_file(self, ctx) -> list:
        return []

    # project rules: all prompts of the run
    def check_project(self, prompts, ctx) -> list:
        return []

    def doc_text(self) -> str:
        d = self.docs
        lines = [f"{self.name} ({self.code})", "", f"Default severity: {self.severity}"]
        if self.fix:
            lines.append(f"Fix: {self.fix}")
        if self.options:
            lines.append("Options: " + ", ".join(f"{k} (default {v!r})" for k, v in self.options.items()))
        if d is not None:
            lines += ["", "## What it does", d.what.strip(), "", "## Why is this bad?", d.why.strip(), "", "## Example", d.example.rstrip(), "", "## Fix safety", d.fix_safety.strip()]
        return "\n".join(lines) + "\n"
