"""unreadable-file: a file that cannot be read or decoded as text."""

from .base import Docs, Examples, Rule


class UnreadableFileRule(Rule):
    code = "PL002"
    name = "unreadable-file"
    severity = "error"
    scope = "file"
    analysis_kind = "ast"  # reads no analysis: never make the pipeline build the libcst one
    summary = "File cannot be read or decoded; it was skipped"
    docs = Docs(
        what="Reports a file that cannot be read (permissions, vanished, a symlink loop) or decoded as text "
        "(invalid UTF-8, an unknown encoding cookie, binary content with NUL bytes). The run goes on.",
        why="A file promptlint cannot read is a file whose prompts are not measured; it should be visible, not silent.",
        example="# -*- coding: latin-1 -*- with bytes that are not valid in that encoding",
        fix_safety="No fix.",
    )
    examples = Examples()


RULE = UnreadableFileRule
