"""duplicate-context: the same passage sent twice in one prompt or in two messages of one request."""

from __future__ import annotations

from .. import passages as ps
from ..sourcemap import map_edit, map_span
from ..types import JOIN, PLACEHOLDER, LineIndex
from .base import UNSAFE, Docs, Examples, Finding, Rule, TextEdit

_CACHE_SIZE = 256


def number_option(rule, key: str, low: float, high=None, integer=False):
    """An option value checked for type and range (a bad value is a one-line error, never a traceback)."""
    v = rule.opts.get(key, rule.options[key])
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (not integer or float(v).is_integer())
    if ok:
        ok = v >= low and (high is None or v <= high)
    if not ok:
        kind = "an integer" if integer else "a number"
        rng = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"option '{key}' of rule '{rule.name}' must be {kind} {rng}, got {v!r}")
    return int(v) if integer else float(v)


def split_prompt(cache: dict, prompt) -> ps.Passages:
    """Passages of a prompt (placeholders compare as slots), cached by text."""
    slots = tuple((s.start, s.end) for s in prompt.segments if s.kind == PLACEHOLDER)
    key = (prompt.text, slots)
    p = cache.get(key)
    if p is None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        p = cache[key] = ps.split(prompt.text, slots)
    return p


def _deletion(text: str, b0: int, b1: int, floor: int = 0) -> tuple:
    """The span that removes text[b0:b1] with one of its separators, leaving no stray blank line or space.

    A copy in the middle of a line goes with the spaces after it; a copy that ends a line after other text goes
    with the spaces before it; a copy of whole lines goes with the weaker of its two separators (the line
    breaks before it, unless more blank lines precede it than follow). ``floor``: where the previous deletion
    ended (deletions of one prompt never overlap).
    """
    n = len(text)
    k = b1
    while k < n and text[k].isspace():
        k += 1
    h = b0
    while h > floor and text[h - 1].isspace():
        h -= 1
    before, after = text[h:b0], text[b1:k]
    starts_line = h == 0 or "\n" in before
    ends_line = k == n or "\n" in after
    if h == 0 and k == n:
        return b0, b1
    if starts_line and ends_line:
        if k == n or h > 0 and before.count("\n") <= after.count("\n"):
            return h, b1
        return b0, k
    if ends_line:
        return h, b1
    return b0, k


def _split_at_joins(prompt, d0: int, d1: int) -> list:
    """One edit per literal piece, so a deletion can cross the seam of an implicitly concatenated literal."""
    cuts = sorted({s.start for s in prompt.segments if s.kind == JOIN and d0 < s.start < d1})
    bounds = [d0, *cuts, d1]
    return [TextEdit(a, b, "") for a, b in zip(bounds, bounds[1:]) if b > a]


def _how(pct: float) -> str:
    if pct >= 100:
        return "apart from case, spacing or list markers"
    return f"nearly ({int(pct)}% similar)"


class DuplicateContext(Rule):
    code = "PL205"
    name = "duplicate-context"
    severity = "warning"
    summary = "The same passage is sent twice in one request"
    fix = UNSAFE
    options = {"similarity": 90, "min-tokens": 8}
    docs = Docs(
        what=(
            "Finds a passage (a sentence, a paragraph, a list of rules, several paragraphs) that appears twice in "
            "one prompt, or in two messages of one request: for example the rules block of the system prompt "
            "pasted again into the user message, where the system prompt is a constant defined elsewhere in the "
            "module. Copies match when they are equal or nearly equal (rapidfuzz ratio at least `similarity`, "
            "default 90, on text with case, whitespace and list markers normalized) and every difference is "
            "cosmetic: punctuation, a typo or inflection, a few inserted words. A substituted word, number or "
            "negation is content, so few-shot examples that share a structure but differ in content, and list "
            "items written on one template (\"1. Check the spelling\", \"2. Check the grammar\"), are not "
            "duplicates. Only copies of at least `min-tokens` tokens (default 8) count, so repeated labels "
            "(\"Answer:\") and headings never do. Messages of one request are the prompts passed to the same "
            "call; a message whose call is unknown (a dict appended to a history list) pairs with the system "
            "message of the same file. The later copy is reported (in request order: system messages first, "
            "then file order) with its size in tokens."
        ),
        why=(
            "The model gets nothing from reading a passage twice, but every call pays for both copies. Copies "
            "also drift apart when one is edited and the other is forgotten, and then the prompt contradicts "
            "itself."
        ),
        example=(
            'SYSTEM = """You are a support agent.\n'
            "Refund rules:\n"
            "- Unused items can be returned within 30 days for a full refund.\n"
            '- Sale items are final sale and cannot be returned."""\n'
            "\n"
            'user = f"""{question}\n'
            "Remember the refund rules:\n"
            "- Unused items can be returned within 30 days for a full refund.\n"
            '- Sale items are final sale and cannot be returned."""   # duplicate-context\n'
            "\n"
            'client.chat.completions.create(model="gpt-4o", messages=[\n'
            '    {"role": "system", "content": SYSTEM}, {"role": "user", "content": user}])'
        ),
        fix_safety=(
            "Unsafe: an exact copy inside one prompt can be deleted (with the blank line or space that separated "
            "it), but the model then reads the passage once instead of twice, which can change its behaviour, so "
            "the fix is only applied with --unsafe-fixes. Near copies and copies in another message get no fix: "
            "which wording to keep, and editing another prompt, are decisions for a person."
        ),
    )
    examples = Examples(
        valid=[
            # few-shot examples: one structure, different content
            "Classify the sentiment of each review.\n\n"
            "Input: The food was great and the staff were friendly to us.\nOutput: positive\n\n"
            "Input: The service was slow and the soup arrived cold at our table.\nOutput: negative\n\n"
            "Input: It was an ordinary lunch, nothing special either way for us.\nOutput: neutral",
            # list items on one template
            "Review the document:\n"
            "1. Check the spelling of every sentence in the document.\n"
            "2. Check the grammar of every sentence in the document.\n"
            "3. Check the tone of every sentence in the document.",
            # short repeated labels and headings
            "## Question\nWhat is the capital of France?\nAnswer:\n\n## Question\nWhat is the capital of Spain?\nAnswer:",
            # same template, a different fact
            "Unused items can be returned within 30 days of delivery for a full refund.\n"
            "Used items can be returned within 14 days of delivery for store credit.",
        ],
        invalid=[
            "You are a support agent. Never make up tracking numbers, delivery dates or prices.\n\n"
            "Answer the customer's question.\n\n"
            "Never make up tracking numbers, delivery dates or prices.",
            "Refund rules:\n"
            "- Unused items can be returned within 30 days for a full refund.\n"
            "- Sale items are final sale and cannot be returned.\n\n"
            "Answer the question below.\n\n"
            "Remember the refund rules:\n"
            "- Unused items can be returned within 30 days for a full refund.\n"
            "- Sale items are final sale and cannot be returned.",
            "Always reply in the same language as the customer's message.\n"
            "Keep answers short.\n"
            "Always reply in the same language as the customer's messages!",
        ],
        fixed=[
            (
                "You are a support agent. Never make up tracking numbers, delivery dates or prices.\n\n"
                "Answer the customer's question.\n\n"
                "Never make up tracking numbers, delivery dates or prices.",
                "You are a support agent. Never make up tracking numbers, delivery dates or prices.\n\n"
                "Answer the customer's question.",
            ),
            (
                "Refund rules:\n"
                "- Unused items can be returned within 30 days for a full refund.\n"
                "- Sale items are final sale and cannot be returned.\n\n"
                "Answer the question below.\n\n"
                "Remember the refund rules:\n"
                "- Unused items can be returned within 30 days for a full refund.\n"
                "- Sale items are final sale and cannot be returned.",
                "Refund rules:\n"
                "- Unused items can be returned within 30 days for a full refund.\n"
                "- Sale items are final sale and cannot be returned.\n\n"
                "Answer the question below.",
            ),
        ],
    )

    def __init__(self, options=None):
        super().__init__(options)
        self.similarity = number_option(self, "similarity", 50, 100)
        self.min_tokens = number_option(self, "min-tokens", 1, integer=True)
        self._passages: dict = {}
        self._lines: dict = {}

    # ------------------------------------------------------------------------------------------ helpers

    def _split(self, prompt):
        return split_prompt(self._passages, prompt)

    def _line_of(self, ctx, prompt, start: int, end: int) -> str:
        """'line N' of a passage in the file (or in the prompt text when the file is not at hand)."""
        source = getattr(ctx, "source", None)
        span = map_span(prompt.segments, start, end) if prompt.segments else None
        if source is not None and span is not None and source.path == prompt.path:
            idx = self._lines.get(source.path)
            if idx is None or idx[0] is not source.text:
                idx = self._lines[source.path] = (source.text, LineIndex(source.text))
            return f"line {idx[1].position(span[0])[0]}"
        return f"line {prompt.text.count(chr(10), 0, start) + 1} of the prompt"

    def _accept(self, pb_pass, prompt, ctx, cache):
        def accept(i0, i1, j0, j1):
            units = pb_pass.units[j0:j1]
            if not any(u.content for u in units):
                return False
            b0, b1 = units[0].start, units[-1].end
            static = ps.static_slice(prompt, b0, b1)
            if len(static.strip()) < self.min_tokens:
                return False
            n = ctx.count(static)
            cache[(j0, j1)] = n
            return n >= self.min_tokens

        return accept

    # -------------------------------------------------------------------------------------------- check

    def check(self, prompt, ctx):
        text = prompt.text
        pb = self._split(prompt)
        if not pb.units:
            return []
        matcher = ps.Matcher(self.similarity)
        findings = []
        reported = set()
        tokens = {}
        accept = self._accept(pb, prompt, ctx, tokens)

        # 1. twice in this prompt
        floor = 0
        for i0, i1, j0, j1 in list(matcher.runs(pb, pb, accept)):
            reported.update(range(j0, j1))
            a0, a1 = ps.run_span(pb, i0, i1)
            b0, b1 = ps.run_span(pb, j0, j1)
            n = tokens[(j0, j1)]
            where = self._line_of(ctx, prompt, a0, a1)
            exact = ps.collapse(text[a0:a1]) == ps.collapse(text[b0:b1])
            edits = ()
            what = "Delete the repeated copy"
            if exact:
                c0 = b0
                intro = pb.units[j0 - 1] if j0 > i1 else None
                if (
                    intro is not None
                    and intro.para == pb.units[j0].para
                    and text[intro.start : intro.end].endswith(":")
                    and (j1 == len(pb.units) or pb.units[j1].para != pb.units[j0].para)
                ):
                    c0 = intro.start  # "Remember the rules:" introduces only the copy: it goes with it
                    what = "Delete the repeated copy and the line that introduces it"
                d0, d1 = _deletion(text, c0, b1, floor)
                if d0 >= floor and not ps.touches_opaque(prompt, d0, d1):
                    floor = d1
                    pieces = _split_at_joins(prompt, d0, d1)
                    if all(map_edit(prompt.segments, e.start, e.end) is not None for e in pieces):
                        edits = tuple(pieces)
                msg = f"Passage repeats the one at {where} word for word ({n} tokens per call)"
            else:
                how = _how(matcher.run_similarity(pb, i0, i1, pb, j0, j1))
                msg = f"Passage repeats the one at {where} {how} ({n} tokens per call)"
            findings.append(
                Finding(
                    b0,
                    b1,
                    msg,
                    tokens_wasted=n,
                    fix_applicability=UNSAFE if edits else None,
                    fix_message=what if edits else None,
                    edits=edits,
                )
            )

        # 2. again in a later message of the same request
        mine = ps.request_order(prompt)
        earlier = [q for q in getattr(ctx, "file_prompts", ()) or () if ps.same_request(prompt, q) and ps.request_order(q) < mine]
        for q in sorted(earlier, key=ps.request_order):
            pa = self._split(q)
            for i0, i1, j0, j1 in list(matcher.runs(pa, pb, accept, skip=frozenset(reported))):
                reported.update(range(j0, j1))
                a0, a1 = ps.run_span(pa, i0, i1)
                b0, b1 = ps.run_span(pb, j0, j1)
                n = tokens[(j0, j1)]
                exact = ps.collapse(q.text[a0:a1]) == ps.collapse(text[b0:b1])
                how = "word for word" if exact else _how(matcher.run_similarity(pa, i0, i1, pb, j0, j1))
                role = f"{q.role} message" if q.role else "message"
                label = f" {q.name}" if q.name else ""
                findings.append(
                    Finding(
                        b0,
                        b1,
                        f"Passage repeats the {role}{label} ({self._line_of(ctx, q, a0, a1)}) {how}, in the same request "
                        f"({n} tokens per call)",
                        tokens_wasted=n,
                    )
                )
        findings.sort(key=lambda f: (f.start, f.end))
        return findings


RULE = DuplicateContext
