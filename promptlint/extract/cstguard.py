"""Keep pathological sources away from libcst's native parser.

libcst's parser recurses on the C stack: a few thousand nested brackets, or a chain of ~10,000 operators in
one expression, crash the whole process (SIGSEGV: no exception, no message) and long before that it takes
seconds. CPython bounds the same things (200 nested brackets, 100 indentation levels, a recursion limit in
the compiler), so a file that ``ast`` parses is safe; these checks guard the paths where libcst sees a file
first or where ``ast`` refused it (newer syntax, or a real error somewhere else in the file).

:func:`too_complex` answers with a one-line reason (and its 1-based line) or None. It tokenizes once (linear,
no recursion); when the tokenizer gives up it counts raw brackets, which only over-estimates.
"""

from __future__ import annotations

import io
import tokenize
from typing import Optional

MAX_DEPTH = 200  # CPython's own limit ("too many nested parentheses")
MAX_INDENT = 100  # CPython's own limit ("too many levels of indentation")
MAX_CHAIN = 2500  # operators in one expression without a comma between them (CPython's compiler gives up near 3000)

# Binary and unary operators, the attribute dot and the keyword operators: what makes libcst recurse.
_CHAIN_OPS = frozenset("+ - * / // % ** @ << >> & | ^ ~ < > <= >= == != . :=".split())
_CHAIN_WORDS = frozenset({"not", "and", "or", "if", "else", "lambda", "await", "in", "is"})


def too_complex(text: str) -> Optional[tuple[str, int]]:
    """(reason, line) when ``text`` nests or chains beyond what libcst parses safely, else None."""
    depth = 0
    indent = 0
    chain = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            t = tok.type
            if t == tokenize.OP:
                s = tok.string
                if s in "([{":
                    depth += 1
                    if depth > MAX_DEPTH:
                        return "too many nested brackets to analyse", tok.start[0]
                elif s in ")]}":
                    depth = max(0, depth - 1)
                elif s in (",", ";"):
                    chain = 0
                elif s in _CHAIN_OPS:
                    chain += 1
            elif t == tokenize.NAME and tok.string in _CHAIN_WORDS:
                chain += 1
            elif t == tokenize.NEWLINE:
                chain = 0
            elif t == tokenize.INDENT:
                indent += 1
                if indent > MAX_INDENT:
                    return "too many levels of indentation to analyse", tok.start[0]
            elif t == tokenize.DEDENT:
                indent = max(0, indent - 1)
            if chain > MAX_CHAIN:
                return "expression too long to analyse (thousands of chained operators)", tok.start[0]
    except (tokenize.TokenError, SyntaxError, ValueError):
        return _raw_depth(text)
    return None


def _raw_depth(text: str) -> Optional[tuple[str, int]]:
    """Bracket depth counted on raw characters (strings and comments included: an over-estimate)."""
    depth = 0
    line = 1
    for ch in text:
        if ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                return "too many nested brackets to analyse", line
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif ch == "\n":
            line += 1
    return None
