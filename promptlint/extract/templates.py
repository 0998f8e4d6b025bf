"""Prompt files: dispatch by kind. (Jinja, .prompt, .prompty, YAML, JSON, text, notebooks.)"""

from __future__ import annotations

from ..types import LITERAL, LineIndex, Prompt, Segment, SourceFile


def _whole_file_prompt(source: SourceFile, cfg, role=None):
    text = source.text
    if not text.strip():
        return []
    idx = LineIndex(text)
    line, col = idx.position(0)
    eline, ecol = idx.position(len(text))
    return [
        Prompt(
            path=source.path,
            text=text,
            segments=(Segment(LITERAL, 0, len(text), 0, len(text)),),
            start=0,
            end=len(text),
            line=line,
            column=col,
            end_line=eline,
            end_column=ecol,
            source="template",
            origin="file",
            host="template",
            role=role,
        )
    ]


def extract(source: SourceFile, cfg):
    kind = source.kind
    if kind == "text":
        return _whole_file_prompt(source, cfg)
    return []
