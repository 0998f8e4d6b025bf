"""syntax-error: a file that cannot be parsed, so its prompts cannot be checked."""

from .base import Docs, Examples, Rule


class SyntaxErrorRule(Rule):
    code = "PL001"
    name = "syntax-error"
    severity = "error"
    scope = "file"
    analysis_kind = "ast"  # reads no analysis: never make the pipeline build the libcst one
    summary = "File cannot be parsed; its prompts were not checked"
    docs = Docs(
        what=(
            "Reports a Python file, template or prompt file that does not parse. The rest of the run goes on. "
            "A Python file with no textual trace of a prompt or an LLM call (no SDK call, message, prompt "
            "template or prompt-named string) is not parsed at all: there is nothing in it to check, and its "
            "syntax is your Python linter's business (Python 2 scripts, cookiecutter templates)."
        ),
        why="promptlint cannot see the prompts of a file it cannot parse, so their tokens and waste go unchecked.",
        example='SYSTEM_PROMPT = "You are terse."\ndef broken(:\n    pass',
        fix_safety="No fix: the file has to be repaired by hand.",
    )
    examples = Examples()
    # Emitted by the pipeline itself (extraction fails before rules run).


RULE = SyntaxErrorRule
