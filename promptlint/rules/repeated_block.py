"""repeated-block: one large block of prompt text copied into several prompts or files of the project."""

from __future__ import annotations

from .. import passages as ps
from ..measure import Counter
from ..sourcemap import map_span
from ..types import Diagnostic, LineIndex
from .base import Docs, Examples, Rule
from .duplicate_context import number_option, split_prompt

_ANCHOR_CHARS = 16  # a run starts at a unit at least this long (then grows backwards over short ones)
_MAX_CANDIDATES = 32  # earlier copies looked at per unit: bounds the work when thousands share a block

_BLOCK = (
    "You are a careful assistant for Acme Outdoor Supply, an online store for camping, hiking and climbing "
    "gear.\nNever make up order numbers, tracking numbers, delivery dates or prices; if something is not in "
    "the context, say that you do not know and offer to hand the ticket to a human agent.\nKeep every answer "
    "short and polite, and reply in the language of the customer's message."
)


class RepeatedBlock(Rule):
    code = "PL206"
    name = "repeated-block"
    severity = "info"
    summary = "The same large block is copied into several prompts"
    fix = None
    scope = "project"
    example_host = "project"
    options = {"min-tokens": 50}
    docs = Docs(
        what=(
            "Finds a large block of prompt text (at least `min-tokens` tokens, default 50: paragraphs, lists of "
            "rules, several paragraphs in a row) that is copied into two or more prompts of the project, in the "
            "same file or in different files (Python literals and prompt templates alike). Copies match when "
            "they are equal up to whitespace, case and list markers. Each later copy is reported (prompts in path "
            "order), naming where the first copy is. Copies sent together in one request are left to "
            "duplicate-context, which reports their cost per call."
        ),
        why=(
            "A copied block costs maintenance rather than tokens: when the policy changes, every copy has to be "
            "found and edited, and the copies drift apart until prompts disagree about the rules. One shared "
            "constant, or a template partial (`{% include %}`), keeps a single source of truth."
        ),
        example=(
            "# support.py\n"
            'SUPPORT_PROMPT = """You are the Acme assistant.\n'
            "Never make up order numbers, tracking numbers, delivery dates or prices; ...\n"
            'Keep every answer short and polite."""\n'
            "\n"
            "# returns.py\n"
            'RETURNS_PROMPT = """You handle returns for Acme.\n'
            "Never make up order numbers, tracking numbers, delivery dates or prices; ...   # repeated-block\n"
            'Keep every answer short and polite."""'
        ),
        fix_safety="No fix: choosing the shared constant or partial, and its name, is a refactoring for a person.",
    )
    examples = Examples(
        valid=[
            ["Summarize the article below in three sentences.", "Translate the text below into French."],
            # one shared sentence is not a large block
            [
                "You are a careful assistant. Keep every answer short and polite.\n\nSummarize the ticket.",
                "You are a careful assistant. Keep every answer short and polite.\n\nClassify the ticket.",
            ],
        ],
        invalid=[
            [_BLOCK + "\n\nAnswer the customer's question about their order.", "Summarize this support ticket for a human agent.\n\n" + _BLOCK],
        ],
        fixed=[],
    )

    def __init__(self, options=None):
        super().__init__(options)
        self.min_tokens = number_option(self, "min-tokens", 1, integer=True)
        self._counters: dict = {}

    def _count(self, prompt, text: str, cfg) -> int:
        model = prompt.model or getattr(cfg, "model", None) or "gpt-4o"
        c = self._counters.get(model)
        if c is None:
            c = self._counters[model] = Counter(model)
        return c.count(text)

    def check_project(self, prompts, cfg):
        order = sorted(prompts, key=lambda p: (p.path, p.cell or 0, p.start, p.end))
        cache: dict = {}
        passes = [split_prompt(cache, p) for p in order]
        # unit norm -> [(prompt index, unit index)] in order (first _MAX_CANDIDATES only)
        seen: dict = {}
        files: dict = {}
        out = []
        for k, (p, pb) in enumerate(zip(order, passes)):
            units = pb.units
            covered = set()
            j = 0
            while j < len(units):
                u = units[j]
                if len(u.norm) < _ANCHOR_CHARS or j in covered:
                    j += 1
                    continue
                best = None
                for pk, i in seen.get(u.norm, ()):
                    q, pa = order[pk], passes[pk]
                    if ps.same_request(p, q):
                        continue  # duplicate-context's business: it costs tokens per call
                    # grow backwards over shorter units ("Rules:"), then forwards
                    back = 0
                    while i - back > 0 and j - back > 0 and (j - back - 1) not in covered and pa.units[i - back - 1].norm == units[j - back - 1].norm:
                        back += 1
                    fwd = 1
                    while i + fwd < len(pa.units) and j + fwd < len(units) and pa.units[i + fwd].norm == units[j + fwd].norm:
                        fwd += 1
                    n = back + fwd
                    if best is None or n > best[0]:
                        best = (n, pk, i - back, j - back)
                if best is not None:
                    n, pk, i0, j0 = best
                    j1 = j0 + n
                    run = units[j0:j1]
                    if any(x.content for x in run):
                        b0, b1 = run[0].start, run[-1].end
                        static = ps.static_slice(p, b0, b1)
                        if len(static.strip()) >= self.min_tokens:
                            size = self._count(p, static, cfg)
                            if size >= self.min_tokens:
                                q, pa = order[pk], passes[pk]
                                a0, a1 = pa.units[i0].start, pa.units[i0 + n - 1].end
                                d = self._diagnostic(p, b0, b1, q, a0, a1, size, files)
                                if d is not None:
                                    out.append(d)
                                    covered.update(range(j0, j1))
                                    j = j1
                                    continue
                j += 1
            # register this prompt's units as possible first copies
            for j, u in enumerate(units):
                if len(u.norm) >= _ANCHOR_CHARS:
                    lst = seen.setdefault(u.norm, [])
                    if len(lst) < _MAX_CANDIDATES and (not lst or lst[-1][0] != k):
                        lst.append((k, j))
        return out

    # ------------------------------------------------------------------------------------- positions

    def _index(self, path: str, source: str, files: dict):
        """LineIndex of a file's text as the pipeline decoded it (offsets of prompts are into that text)."""
        if path not in files:
            from ..pipeline import read_source

            src = read_source(path, "python" if source == "python" else "text")
            files[path] = None if isinstance(src, str) else LineIndex(src.text)
        return files[path]

    def _diagnostic(self, p, b0, b1, q, a0, a1, size, files):
        from ..pipeline import prompt_key

        idx = self._index(p.path, p.source, files)
        span = map_span(p.segments, b0, b1)
        if idx is None or span is None:
            return None
        line, col = idx.position(span[0])
        eline, ecol = idx.position(span[1])
        first = "?"
        qidx = self._index(q.path, q.source, files)
        qspan = map_span(q.segments, a0, a1)
        if qidx is not None and qspan is not None:
            first = f"{q.path}:{qidx.position(qspan[0])[0]}"
        where = f"{q.name} at {first}" if q.name else first
        message = f"Block of {size} tokens is also in {where}; keep one shared constant or partial"
        return Diagnostic(
            p.path, line, col, eline, ecol, self.code, self.name, self.severity, message, None, None, span[0], span[1], p.cell, prompt_key(p)
        )


RULE = RepeatedBlock
