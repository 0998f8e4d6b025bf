"""Split prompt text into passages, and compare passages.

A prompt is cut into *units*, the smallest pieces a duplicate is made of: a sentence of prose (sentences run
across hard-wrapped lines), a list item (with its indented continuation lines), a markdown heading, a label
line ("Refund rules:"), or a whole fenced code block. Paragraphs (runs of non-blank lines) group units. A
duplicated paragraph, list of rules or multi-paragraph block is a *run* of consecutive units that match
consecutive units elsewhere, so one representation serves sentences, lists and paragraphs alike.

Matching is precise on purpose: two units match when their normalized texts are equal, or (fuzzy) when they
are at least ``similarity`` percent alike *and* every difference is cosmetic: case, whitespace, punctuation,
list markers, a typo or inflection ("rule"/"rules"), or a few inserted words that are not a negation. A
substituted word ("Check the spelling" / "Check the grammar", "30 days" / "14 days", "positive" /
"negative") is content, so few-shot examples and list items built on one template never match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .types import OPAQUE_KINDS, PLACEHOLDER

# a list item marker at a line start: "-", "*", "+", "•", "1.", "1)", "a)", "(a)"
_ITEM = re.compile(r"[ \t]*(?:[-*+•‣◦]|\d{1,3}[.)]|\(?[A-Za-z][)]|[A-Za-z]\.(?=[ \t]))[ \t]+(?=\S)")
_HEADING = re.compile(r"[ \t]*#{1,6}(?:[ \t]|$)")
_FENCE = re.compile(r"[ \t]*(```|~~~)")
# a label at a line start: "Input:", "Refund rules:", "Example 2:"
_LABEL = re.compile(r"[ \t]*([A-Za-z][\w '/()-]{0,30}?)[ \t]*:(?=[ \t]|$)")
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")
_WS = re.compile(r"\s+")
_HAS_WORD = re.compile(r"\w")
# a separator line between examples: "---", "***", "===", "___", "###", "~~~~"
_SEPARATOR = re.compile(r"[ \t]*([-*=_#~])(?:[ \t]*\1){2,}[ \t]*$")
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_IDENT = re.compile(r"\d|_")
_NEGATIONS = frozenset({"not", "no", "never", "t", "nor", "without", "except", "unless", "cannot", "none", "neither", "avoid", "only"})


@dataclass(frozen=True)
class Unit:
    start: int  # prompt text offsets (no surrounding whitespace)
    end: int
    kind: str  # sentence | item | heading | label | code
    para: int  # index of the paragraph that holds it
    norm: str  # for comparing: whitespace collapsed, case folded, list marker dropped

    @property
    def content(self) -> bool:
        """Carries content: not a heading, a bare label like "Answer:" or a lone placeholder."""
        return self.kind not in ("heading", "label") and _HAS_WORD.search(self.norm) is not None


@dataclass(frozen=True)
class Passages:
    text: str
    units: tuple  # Unit, in text order
    paragraphs: tuple  # (start, end) of each paragraph
    para_norms: tuple  # normalized paragraph texts
    para_labels: tuple  # label signature of each paragraph (few-shot structure), () when none


def collapse(s: str) -> str:
    return _WS.sub(" ", s).strip()


def normalize(s: str) -> str:
    """Compare form: list markers dropped, whitespace collapsed, case folded."""
    lines = []
    for line in s.split("\n"):
        m = _ITEM.match(line)
        lines.append(line[m.end() :] if m else line)
    return collapse(" ".join(lines)).casefold()


def _lines(text: str):
    """(start, end) of each line, end excluding the newline."""
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        if nl == -1:
            yield pos, n
            return
        yield pos, nl
        pos = nl + 1


def _strip_span(text: str, a: int, b: int):
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _indent(text: str, a: int, b: int) -> int:
    i = a
    while i < b and text[i] in " \t":
        i += 1
    return i - a


def _sentences(text: str, a: int, b: int):
    """Sentence spans inside prose text[a:b] (which may cross line breaks)."""
    out = []
    start = a
    for m in _SENTENCE_END.finditer(text, a, b):
        nxt = m.end()
        while nxt < b and text[nxt].isspace():
            nxt += 1
        if nxt >= b:
            break
        c = text[nxt]
        if not (c.isupper() or c.isdigit() or c in "\"'“‘([{*_`" or "\n" in text[m.end() : nxt]):
            continue  # "e.g. the", "3.5 million": not a boundary
        s0, s1 = _strip_span(text, start, m.end())
        if s1 > s0:
            out.append((s0, s1))
        start = nxt
    s0, s1 = _strip_span(text, start, b)
    if s1 > s0:
        out.append((s0, s1))
    return out


def split(text: str, slots=()) -> Passages:
    """Units and paragraphs of a prompt text. ``slots`` are the (start, end) spans of its placeholders: they
    compare as a bare ``{}`` (a slot for dynamic text) whatever their spelling."""
    if slots:
        slots = sorted(slots)

        def normalize_span(s0, s1, code=False):
            parts, pos = [], s0
            for a, b in slots:
                if a < s1 and s0 < b:
                    parts.append(text[pos : max(pos, a)] + "{}")
                    pos = max(pos, b)
            parts.append(text[pos:s1] if pos < s1 else "")
            t = "".join(parts)
            return collapse(t).casefold() if code else normalize(t)

    else:

        def normalize_span(s0, s1, code=False):
            return collapse(text[s0:s1]).casefold() if code else normalize(text[s0:s1])

    lines = list(_lines(text))
    # paragraphs: runs of non-blank lines; a fenced code block is one paragraph even with blank lines inside
    paras = []  # list of [ (line_start, line_end), ... ]
    cur = []
    in_fence = None
    for a, b in lines:
        line = text[a:b]
        fm = _FENCE.match(line)
        if in_fence is not None:
            cur.append((a, b))
            if fm and fm.group(1) == in_fence:
                in_fence = None
            continue
        if fm:
            in_fence = fm.group(1)
            cur.append((a, b))
            continue
        if line.strip() and not _SEPARATOR.match(line):
            cur.append((a, b))
        elif cur:
            paras.append(cur)  # a blank line or a separator line ends a paragraph
            cur = []
    if cur:
        paras.append(cur)

    units = []
    spans = []
    norms = []
    labels = []
    for pi, plines in enumerate(paras):
        p0, p1 = _strip_span(text, plines[0][0], plines[-1][1])
        spans.append((p0, p1))
        norms.append(normalize_span(p0, p1))
        sig = []
        i = 0
        prose = None  # [start, end] of the current prose run
        prev_colon = False

        def flush():
            nonlocal prose
            if prose is not None:
                for s0, s1 in _sentences(text, prose[0], prose[1]):
                    units.append(Unit(s0, s1, "sentence", pi, normalize_span(s0, s1)))
                prose = None

        while i < len(plines):
            a, b = plines[i]
            line = text[a:b]
            fm = _FENCE.match(line)
            if fm:
                flush()
                j = i + 1
                while j < len(plines) and not (_FENCE.match(text[plines[j][0] : plines[j][1]]) and _FENCE.match(text[plines[j][0] : plines[j][1]]).group(1) == fm.group(1)):
                    j += 1
                j = min(j, len(plines) - 1)
                s0, s1 = _strip_span(text, a, plines[j][1])
                units.append(Unit(s0, s1, "code", pi, normalize_span(s0, s1, code=True)))
                i = j + 1
                prev_colon = False
                continue
            stripped = line.strip()
            if _HEADING.match(line):
                flush()
                s0, s1 = _strip_span(text, a, b)
                units.append(Unit(s0, s1, "heading", pi, normalize_span(s0, s1)))
                i += 1
                prev_colon = False
                continue
            im = _ITEM.match(line)
            if im:
                flush()
                ind = _indent(text, a, b)
                j = i + 1
                while j < len(plines):
                    ca, cb = plines[j]
                    cl = text[ca:cb]
                    if _ITEM.match(cl) or _HEADING.match(cl) or _FENCE.match(cl) or _indent(text, ca, cb) <= ind:
                        break
                    j += 1
                s0, s1 = _strip_span(text, a, plines[j - 1][1])
                units.append(Unit(s0, s1, "item", pi, normalize_span(s0, s1)))
                i = j
                prev_colon = text[s0:s1].endswith(":")
                continue
            lm = _LABEL.match(line)
            if lm:
                sig.append(re.sub(r"[\d\s]+", " ", lm.group(1)).strip().casefold())
            if lm or prev_colon:
                flush()
            if lm and not line[lm.end() :].strip():
                # a bare label line ("Refund rules:", "Answer:")
                s0, s1 = _strip_span(text, a, b)
                units.append(Unit(s0, s1, "label", pi, normalize_span(s0, s1)))
                prev_colon = True
                i += 1
                continue
            if prose is None:
                prose = [a, b]
            else:
                prose[1] = b
            prev_colon = stripped.endswith(":")
            i += 1
        flush()
        labels.append(tuple(sig))
    return Passages(text, tuple(units), tuple(spans), tuple(norms), tuple(labels))


# --------------------------------------------------------------------------------------------- comparing


def _cosmetic_replace(a_words, b_words) -> bool:
    a = " ".join(a_words)
    b = " ".join(b_words)
    if any(w in _NEGATIONS for w in a_words) != any(w in _NEGATIONS for w in b_words):
        return False
    if any(w.isdigit() for w in a_words + b_words) and a != b:
        return False  # "30 days" / "14 days": a different fact
    if any(_IDENT.search(w) for w in a_words + b_words):
        return False  # "player1" / "player7", "user_name" / "user_name_trd": different names
    if len(a_words) == len(b_words):
        return all(_same_word(x, y) for x, y in zip(a_words, b_words))
    return _same_word(a, b)


def _same_word(x: str, y: str) -> bool:
    """A typo or inflection ("rule"/"rules", "recieve"/"receive"), not another word. Words must start alike:
    a prefix turns a word into its opposite ("correct"/"incorrect", "able"/"unable")."""
    return x[:2] == y[:2] and fuzz.ratio(x, y) >= 75


def similarity(a: str, b: str, threshold: float) -> Optional[float]:
    """Percent similarity of two normalized passages when they are duplicates, else None.

    Equal texts: 100. Otherwise rapidfuzz's ratio must reach ``threshold`` and every word-level difference
    must be cosmetic: no substituted content word, no added or dropped negation or number, no inserted run
    longer than three words, no more than three words (or a tenth of them) inserted in all.
    """
    if a == b:
        return 100.0
    r = fuzz.ratio(a, b, score_cutoff=threshold)
    if not r:
        return None
    wa = _WORD.findall(a)
    wb = _WORD.findall(b)
    if wa == wb:
        return r  # punctuation only
    inserted = 0
    for op in Levenshtein.opcodes(wa, wb):
        if op.tag == "equal":
            continue
        sa = wa[op.src_start : op.src_end]
        sb = wb[op.dest_start : op.dest_end]
        if op.tag == "replace":
            if not _cosmetic_replace(sa, sb):
                return None
        else:
            ins = sa or sb
            inserted += len(ins)
            if len(ins) > 3 or any(w in _NEGATIONS or w.isdigit() for w in ins):
                return None
    if inserted > max(3, len(max(wa, wb, key=len)) // 10):
        return None
    return r


def static_slice(prompt, start: int, end: int) -> str:
    """Text [start, end) of a prompt without its placeholders (what is counted)."""
    text = prompt.text
    parts = []
    pos = start
    for s in prompt.segments:
        if s.kind == PLACEHOLDER and s.start < end and start < s.end:
            parts.append(text[pos : max(pos, s.start)])
            pos = max(pos, s.end)
    parts.append(text[pos:end] if pos < end else "")
    return "".join(parts)


def touches_opaque(prompt, start: int, end: int) -> bool:
    return any(s.kind in OPAQUE_KINDS and s.start < end and start < s.end for s in prompt.segments)


# ------------------------------------------------------------------------------------------ requests


_FIRST_ROLES = {"system": 0, "developer": 0}


def request_order(prompt) -> tuple:
    """Position of a message in its request: system (and developer) messages first, then file order."""
    return (_FIRST_ROLES.get(prompt.role or "", 1), prompt.start, prompt.end)


def same_request(p, q) -> bool:
    """Are two prompts of one file sent together in one request?

    Prompts in different roles passed to the same sink call are one request. A message whose call site is
    unknown (a message dict appended to a history list, a section of a .prompty file) pairs with a system
    message of the same file: the shape of "the rules are in the system prompt and again in the user message".
    """
    if p is q or (p.path == q.path and p.start == q.start and p.end == q.end and p.text == q.text):
        return False
    if p.path != q.path or p.cell != q.cell:
        return False
    if not p.role or not q.role or p.role == q.role:
        # two prompts in one role of one call are alternatives (``SYSTEM_A if local else SYSTEM_B``), not two
        # messages; one request with two user messages is missed rather than guessed
        return False
    cp, cq = p.get_meta("call_site"), q.get_meta("call_site")
    if cp is not None and cq is not None:
        return cp == cq
    return "system" in (p.role, q.role)


# ---------------------------------------------------------------------------------------------- runs


_FUZZY_MIN_CHARS = 20  # shorter units ("Answer:", "Be brief.") only match when equal
_FUZZY_MAX_PAIRS = 2_000_000  # beyond this many unit pairs, match equal units only
# Unit comparisons one ``runs`` call may make: a prompt of thousands of identical lines (a generated file) would
# otherwise cost O(n^3) (every earlier copy is a candidate, every candidate is extended). Past it, no more runs
# are looked for: what was found stands, the rest is missed (never a false finding).
_MAX_MATCH_STEPS = 300_000


class Matcher:
    """Finds runs of consecutive units of one passage list that repeat units of another (or of itself)."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self._memo: dict = {}

    def unit_similarity(self, ua: Unit, ub: Unit) -> Optional[float]:
        if ua.norm == ub.norm:
            return 100.0
        if ua.kind == "code" or ub.kind == "code" or min(len(ua.norm), len(ub.norm)) < _FUZZY_MIN_CHARS:
            return None
        key = (ua.norm, ub.norm)
        if key not in self._memo:
            self._memo[key] = similarity(ua.norm, ub.norm, self.threshold)
        return self._memo[key]

    @staticmethod
    def _structural(pa: Passages, ua: Unit, pb: Passages, ub: Unit) -> bool:
        """Two units at the same place of two few-shot examples (paragraphs with the same labels but different
        content) are structure, not duplication."""
        if pa is pb and ua.para == ub.para:
            return False
        la = pa.para_labels[ua.para]
        return bool(la) and la == pb.para_labels[ub.para] and pa.para_norms[ua.para] != pb.para_norms[ub.para]

    def match(self, pa, i, pb, j) -> Optional[float]:
        ua, ub = pa.units[i], pb.units[j]
        s = self.unit_similarity(ua, ub)
        if s is None or self._structural(pa, ua, pb, ub):
            return None
        return s

    def runs(self, pa: Passages, pb: Passages, accept, skip=frozenset()):
        """Yield (i0, i1, j0, j1): units pb[j0:j1] repeat units pa[i0:i1]; runs in pb ascending, disjoint.

        ``pa is pb`` means one prompt: the first copy then ends before the second starts. ``accept(i0, i1, j0,
        j1)`` says whether a run is worth reporting (big enough); ``skip`` holds pb unit indexes already
        reported. Among the runs starting at a unit the longest wins, then the earliest first copy.
        """
        same = pa is pb
        na, nb = len(pa.units), len(pb.units)
        by_norm: dict = {}
        for i, u in enumerate(pa.units):
            by_norm.setdefault(u.norm, []).append(i)
        fuzzy = na * nb <= _FUZZY_MAX_PAIRS
        long_units = [i for i, u in enumerate(pa.units) if u.kind != "code" and len(u.norm) >= _FUZZY_MIN_CHARS] if fuzzy else []
        j = 0
        steps = 0
        while j < nb:
            if j in skip:
                j += 1
                continue
            if steps > _MAX_MATCH_STEPS:
                return
            ub = pb.units[j]
            cands = list(by_norm.get(ub.norm, ()))
            if fuzzy and ub.kind != "code" and len(ub.norm) >= _FUZZY_MIN_CHARS:
                lb = len(ub.norm)
                seen = set(cands)
                for i in long_units:
                    la = len(pa.units[i].norm)
                    # ratio >= t needs 2*min/(la+lb) >= t/100
                    if i not in seen and 200 * min(la, lb) >= self.threshold * (la + lb):
                        cands.append(i)
                cands.sort()
            best = None
            for i in cands:
                if same and i >= j:
                    break
                n = 0
                while j + n < nb and i + n < na and (not same or i + n < j) and (j + n) not in skip and self.match(pa, i + n, pb, j + n) is not None:
                    n += 1
                steps += n + 1
                if n and (best is None or n > best[1]):
                    best = (i, n)
            if best is not None:
                i, n = best
                # the longest run may end in units too small to count: try it, then shorter prefixes are no better
                if accept(i, i + n, j, j + n):
                    yield i, i + n, j, j + n
                    j += n
                    continue
            j += 1

    def run_similarity(self, pa: Passages, i0: int, i1: int, pb: Passages, j0: int, j1: int) -> float:
        a = " ".join(u.norm for u in pa.units[i0:i1])
        b = " ".join(u.norm for u in pb.units[j0:j1])
        return 100.0 if a == b else fuzz.ratio(a, b)


def run_span(p: Passages, i0: int, i1: int) -> tuple:
    return p.units[i0].start, p.units[i1 - 1].end
