"""The frozen, picklable records that flow between promptlint's stages.

paths -> SourceFile -> Prompt (text + source map) -> measured Prompt -> Diagnostic (+ Fix) -> report

Offsets are character offsets into ``SourceFile.text`` (the decoded file). Lines and columns shown to users
are 1-based; columns count characters.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from typing import Optional

# Segment kinds of a SourceMap.
LITERAL = "literal"  # text[start:end] == file[src_start:src_end], character for character
ESCAPE = "escape"  # an escape sequence (or other representation) that decodes to text[start:end]; atomic
PLACEHOLDER = "placeholder"  # dynamic: f-string field, {x} of .format, {{ x }} of Jinja; opaque, never edited
TAG = "tag"  # static but opaque template syntax: {% ... %}, {# ... #}, {{role "user"}}; never edited
JOIN = "join"  # zero-length in text: the file text between two joined literals (quotes, `+`, whitespace)

OPAQUE_KINDS = frozenset({PLACEHOLDER, TAG})


@dataclass(frozen=True)
class Segment:
    kind: str
    start: int  # in prompt text
    end: int
    src_start: int  # in file text
    src_end: int


@dataclass(frozen=True)
class SourceFile:
    path: str  # as given / discovered (relative stays relative)
    kind: str  # python | jinja | prompt | prompty | yaml | json | text | notebook
    text: str
    encoding: str = "utf-8"
    bom: bool = False
    newline: str = "\n"


class LineIndex:
    """Offset <-> (line, column) for one text, 1-based."""

    __slots__ = ("starts",)

    def __init__(self, text: str):
        starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self.starts = starts

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line + 1, offset - self.starts[line] + 1

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1


@dataclass(frozen=True)
class Prompt:
    path: str
    text: str  # what the API receives; placeholder segments hold their source spelling
    segments: tuple[Segment, ...]
    start: int  # file offsets of the prompt's expression / block
    end: int
    line: int
    column: int
    end_line: int
    end_column: int
    source: str = "python"  # python | template
    name: Optional[str] = None
    role: Optional[str] = None
    call: Optional[str] = None
    model: Optional[str] = None  # None until measured: filled from config default
    placeholders: tuple[str, ...] = ()
    origin: str = "sink"  # sink | name | file
    host: str = "literal"  # literal | triple | fstring | concat | format | template
    fixable: bool = True  # the source map is exact: edits can be translated back to the file
    dedent: Optional[str] = None  # None | "dedent" | "cleandoc": applied by the code before sending
    cell: Optional[int] = None  # notebook cell number (1-based)
    meta: tuple[tuple[str, object], ...] = ()  # extra facts (front matter max_tokens, budget comments, ...)
    # measurement (filled by measure stage)
    encoding: Optional[str] = None
    approximate: bool = False
    tokens: Optional[int] = None
    tokens_min: Optional[int] = None
    tokens_max: Optional[int] = None

    @property
    def static_text(self) -> str:
        """Text with dynamic placeholders and template tags (``{% … %}``, ``{# … #}``) removed: what is counted."""
        if not any(s.kind in OPAQUE_KINDS for s in self.segments):
            return self.text
        parts = []
        pos = 0
        for s in self.segments:
            if s.kind in OPAQUE_KINDS:
                parts.append(self.text[pos : s.start])
                pos = s.end
        parts.append(self.text[pos:])
        return "".join(parts)

    @property
    def dynamic(self) -> bool:
        return any(s.kind == PLACEHOLDER for s in self.segments)

    def get_meta(self, key: str, default=None):
        for k, v in self.meta:
            if k == key:
                return v
        return default

    def with_meta(self, **kw) -> "Prompt":
        d = dict(self.meta)
        d.update(kw)
        return replace(self, meta=tuple(sorted(d.items(), key=lambda kv: kv[0])))


@dataclass(frozen=True)
class Edit:
    start: int  # file offsets
    end: int
    content: str


@dataclass(frozen=True)
class Fix:
    applicability: str  # safe | unsafe
    message: str
    edits: tuple[Edit, ...] = ()
    tokens_saved: Optional[int] = None


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    code: str
    rule: str
    severity: str  # error | warning | info
    message: str
    tokens_wasted: Optional[int] = None
    fix: Optional[Fix] = None
    start: int = 0  # file offsets (for suppression, fixing, sorting)
    end: int = 0
    cell: Optional[int] = None
    prompt_key: Optional[str] = None  # content hash of the prompt it concerns (baseline)


@dataclass(frozen=True)
class FileResult:
    path: str
    prompts: tuple[Prompt, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    suppressed: int = 0


@dataclass
class RunResult:
    files_scanned: int = 0
    prompts: list = field(default_factory=list)
    diagnostics: list = field(default_factory=list)
    errors: list = field(default_factory=list)
