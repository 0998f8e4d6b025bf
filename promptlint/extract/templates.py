"""Prompt files: dispatch by kind. (Jinja, .prompt, .prompty, YAML, JSON, text, notebooks.)

Every template prompt has ``source="template"``, ``origin="file"``, a ``name`` (file stem, key path such as
``agents.researcher.backstory``, or ``stem:role`` for role sections) and a source map back to exact file
lines and columns. Parse failures raise :class:`promptlint.pipeline.ExtractError` (reported as
``syntax-error``); nothing here ever executes or constructs anything from the file.
"""

from __future__ import annotations

from ..types import LITERAL, LineIndex, Prompt, Segment, SourceFile
from .common import file_stem


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
            name=file_stem(source.path),
            origin="file",
            host="template",
            role=role,
        )
    ]


def extract(source: SourceFile, cfg):
    kind = source.kind
    if kind == "text":
        return _whole_file_prompt(source, cfg)
    if kind == "jinja":
        from . import jinja

        return jinja.extract(source, cfg)
    if kind == "prompt":
        from . import dotprompt

        return dotprompt.extract(source, cfg)
    if kind == "prompty":
        from . import prompty

        return prompty.extract(source, cfg)
    if kind == "yaml":
        from . import structured

        return structured.extract_yaml(source, cfg)
    if kind == "json":
        from . import structured

        return structured.extract_json(source, cfg)
    if kind == "notebook":
        from . import notebook

        return notebook.extract_prompts(source, cfg)
    return []
