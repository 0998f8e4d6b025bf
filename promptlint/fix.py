"""``promptlint fix``: write leaner prompts back into their files, safely.

Rules speak prompt text; :func:`pipeline.finding_to_diagnostic` has already mapped their edits to file offsets
(dropping edits that touch a placeholder, a template tag, part of an escape or the join between literals), but
the *content* of those edits is still prompt text. Here each fix goes through four steps:

1. **Plan** - every edit is located (which prompt, which prompt-text span) and its content is *encoded* for
   its host: a Python string literal (backslashes, the literal's own quote, newlines in one-line literals,
   ``{``/``}`` in f-strings and in ``.format``/LangChain templates, ``%`` in printf templates; a raw literal
   that cannot spell the content refuses the fix), a JSON string, a YAML scalar (block scalars keep their
   indentation; plain and quoted scalars only take what is certainly safe), or a template/text file (as is,
   but never creating a Jinja delimiter). A prompt that the code dedents at run time gets the margin back on
   new lines; one that is dedented *and* has placeholders takes no edit that changes where its lines start,
   because ``textwrap.dedent(f"...")`` dedents after interpolation and a multi-line value would shift the
   margin. Edits from file rules (code flow, e.g. ``json.dumps(indent=2)``) are code and are inserted as is.
2. **Apply** the pass's non-conflicting fixes to the text in memory.
3. **Verify** the invariants on the result: the file still parses (libcst and the running interpreter for
   Python, jinja2, YAML, JSON); re-extracting it gives the same prompts, each reading exactly what the fixes
   intended (so representation-only changes keep the evaluated string equal); the placeholder multiset is
   unchanged; the code outside prompt literals is byte-identical. When the batch fails, its fixes are retried
   one at a time and only those that break an invariant are rolled back (and reported; their findings stay).
4. **Repeat** lint -> plan -> apply -> verify to a fixpoint (pass limit, seen-state set), then write each
   changed file once, atomically, in its own encoding, BOM and newline style, keeping its mode.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import io
import os
import re
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Optional

from .types import ESCAPE, JOIN, LITERAL, PLACEHOLDER, Diagnostic, Edit, FileResult, Fix, LineIndex, Prompt, RunResult, SourceFile

MAX_PASSES = 10
_JINJA_OPEN = ("{{", "{%", "{#")
_JINJA_ALL = ("{{", "{%", "{#", "}}", "%}", "#}")
_TEMPLATE_KINDS = ("jinja", "prompt", "prompty", "text")


class Refused(Exception):
    """A fix that cannot be written into its host safely (the finding stays, without a fix)."""


# ================================================================================================ helpers


def apply_edits(text: str, edits) -> str:
    """Apply non-overlapping file edits (any order)."""
    out = []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        out.append(text[pos : e.start])
        out.append(e.content)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def _apply_text(text: str, edits) -> str:
    """Apply (start, end, content) tuples to a prompt text."""
    out = []
    pos = 0
    for s, e, c in sorted(edits, key=lambda t: (t[0], t[1])):
        out.append(text[pos:s])
        out.append(c)
        pos = e
    out.append(text[pos:])
    return "".join(out)


def _count(s: str, delim: str) -> int:
    """Occurrences of a two-character delimiter, overlapping ones included."""
    n = 0
    i = s.find(delim)
    while i != -1:
        n += 1
        i = s.find(delim, i + 1)
    return n


def _creates(old: str, new: str, delims) -> Optional[str]:
    for d in delims:
        if _count(new, d) > _count(old, d):
            return d
    return None


def _crlf_norm(s: str) -> str:
    return s.replace("\r\n", "\n")


def _newline_style(s: str, nl: str, prev: str = "") -> str:
    """Write content's line breaks in the file's newline style (a "\\n" right after "\\r" stays as is)."""
    if nl != "\r\n" or "\n" not in s:
        return s
    out = []
    last = prev
    for ch in s:
        if ch == "\n" and last != "\r":
            out.append("\r\n")
        else:
            out.append(ch)
        last = ch
    return "".join(out)


def _encodable(encoding: str):
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        return lambda ch: not ("\ud800" <= ch <= "\udfff")

    def ok(ch):
        try:
            ch.encode(encoding)
            return True
        except (UnicodeEncodeError, LookupError):
            return False

    return ok


def _margin(value: str, kind: str) -> str:
    """The margin ``textwrap.dedent`` (or ``inspect.cleandoc``) removes from ``value``."""
    lines = _crlf_norm(value).split("\n")
    if kind == "cleandoc":
        lines = lines[1:]
        indents = [ln[: len(ln) - len(ln.lstrip())] for ln in lines if ln.strip()]
    else:
        indents = [ln[: len(ln) - len(ln.lstrip(" \t"))] for ln in lines if ln.strip(" \t")]
    if not indents:
        return ""
    m = indents[0]
    for ind in indents[1:]:
        k = 0
        while k < min(len(m), len(ind)) and m[k] == ind[k]:
            k += 1
        m = m[:k]
    return m


def prompt_key(p: Prompt) -> str:
    from .pipeline import prompt_key as _pk

    return _pk(p)


# ============================================================================== prompt text <-> file offsets


def _text_offset(p: Prompt, off: int, side: str) -> Optional[int]:
    for s in p.segments:
        if s.kind == LITERAL:
            if side == "start" and s.src_start <= off < s.src_end or side == "end" and s.src_start < off <= s.src_end:
                return s.start + off - s.src_start
        elif s.kind == ESCAPE:
            if side == "start" and off == s.src_start:
                return s.start
            if side == "end" and off == s.src_end:
                return s.end
    return None


def text_span(p: Prompt, a: int, b: int) -> Optional[tuple]:
    """Prompt-text span of the file span [a, b) of an edit, checked by mapping it back."""
    from .sourcemap import map_edit

    if a == b:
        t = None
        for s in p.segments:
            if s.kind == LITERAL and s.src_start <= a <= s.src_end:
                t = s.start + a - s.src_start
                break
        if t is None:
            return None
        ta = tb = t
    else:
        ta = _text_offset(p, a, "start")
        tb = _text_offset(p, b, "end")
        if ta is None or tb is None or tb < ta:
            return None
    if map_edit(p.segments, ta, tb) != (a, b):
        return None
    return ta, tb


def literal_runs(p: Prompt, text: str) -> list:
    """File spans holding the prompt's literal text: runs of literal/escape segments, joined across gaps of
    pure whitespace (margins that a dedent or a YAML block scalar does not send); broken by placeholders,
    tags and joins between literals."""
    runs = []
    cur = None
    for s in p.segments:
        if s.kind in (LITERAL, ESCAPE):
            if cur is not None and s.src_start >= cur[1] and not text[cur[1] : s.src_start].strip(" \t\r\n"):
                cur[1] = max(cur[1], s.src_end)
                continue
            if cur is not None:
                runs.append(tuple(cur))
            cur = [s.src_start, s.src_end]
        else:
            if cur is not None:
                runs.append(tuple(cur))
                cur = None
    if cur is not None:
        runs.append(tuple(cur))
    return runs


def _merge(spans) -> list:
    out = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _skeleton(text: str, regions) -> str:
    parts = []
    pos = 0
    for a, b in regions:
        parts.append(text[pos:a])
        pos = b
    parts.append(text[pos:])
    return "".join(parts)


# ======================================================================================= Python string table


class _FallBack(Exception):
    pass


@dataclass(frozen=True)
class _PyRegion:
    start: int  # writable text: a string body, or one text part of an f-string
    end: int
    raw: bool
    quote: str
    fstring: bool
    tok_start: int
    tok_end: int


@dataclass(frozen=True)
class _PyExpr:
    start: int  # an f-string replacement field, braces included
    end: int
    quote: str


class _PyTable:
    """The string literals of a module: their writable bodies (a string's, or each text part of an f-string)
    and the f-strings' replacement fields. A tokenize scan finds the tokens (fast); an f-string is parsed on
    its own with libcst for its parts. When this Python's tokenizer cannot read the file (newer syntax), the
    whole module is parsed with libcst instead."""

    def __init__(self, text: str):
        self.regions, self.exprs = [], []
        try:
            self._scan(text)
        except (tokenize.TokenError, SyntaxError, ValueError, _FallBack):
            self.regions, self.exprs = [], []
            self._from_cst(text, 0)
        self.regions.sort(key=lambda r: (r.start, r.end))

    def _scan(self, text: str):
        idx = LineIndex(text)
        fs_start, fs_end = getattr(tokenize, "FSTRING_START", None), getattr(tokenize, "FSTRING_END", None)
        depth = 0
        begin = 0
        for t in tokenize.generate_tokens(io.StringIO(text).readline):
            if t.type == tokenize.STRING:
                s0, s1 = idx.offset(t.start[0], t.start[1] + 1), idx.offset(t.end[0], t.end[1] + 1)
                prefix = t.string[: len(t.string) - len(t.string.lstrip("rRbBuUfF"))]
                if "f" in prefix.lower():
                    self._fstring(text, s0, s1)
                else:
                    q = t.string[len(prefix) : len(prefix) + 3]
                    q = q if q in ('"""', "'''") else q[:1]
                    self.regions.append(_PyRegion(s0 + len(prefix) + len(q), s1 - len(q), "r" in prefix.lower(), q, False, s0, s1))
            elif fs_start is not None and t.type == fs_start:
                if depth == 0:
                    begin = idx.offset(t.start[0], t.start[1] + 1)
                depth += 1
            elif fs_end is not None and t.type == fs_end:
                depth -= 1
                if depth == 0:
                    self._fstring(text, begin, idx.offset(t.end[0], t.end[1] + 1))

    def _fstring(self, text: str, s0: int, s1: int):
        # the extractor's string scanner knows f-string parts exactly (PEP 701 quotes too) and costs no libcst
        # import; anything it does not read as exactly one token goes to libcst as before
        from .extract.strscan import ScanError, scan_string

        try:
            tok = scan_string(text, s0)
        except ScanError:
            tok = None
        if tok is None or tok.end != s1:
            self._from_cst(text[s0:s1], s0, alone=True)
            return
        for part in tok.parts:
            if part[0] == "lit":
                self.regions.append(_PyRegion(part[1], part[2], tok.raw, tok.quote, True, tok.start, tok.end))
            else:
                self.exprs.append(_PyExpr(part[1], part[2], tok.quote))

    def _from_cst(self, text: str, base: int, alone: bool = False):
        import libcst as cst
        from libcst.metadata import MetadataWrapper, PositionProvider

        if alone:  # one f-string token, checked to be exactly that
            try:
                module = cst.parse_module(text)
            except Exception:
                raise _FallBack() from None
            body = module.body
            if not (len(body) == 1 and isinstance(body[0], cst.SimpleStatementLine) and len(body[0].body) == 1 and isinstance(body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, cst.FormattedString)):
                raise _FallBack()
        else:
            module = cst.parse_module(text)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        pos = wrapper.resolve(PositionProvider)
        idx = LineIndex(text)

        def off(node):
            r = pos[node]
            return base + idx.offset(r.start.line, r.start.column + 1), base + idx.offset(r.end.line, r.end.column + 1)

        for node in pos:
            if isinstance(node, cst.SimpleString):
                s0, s1 = off(node)
                prefix, q = node.prefix, node.quote
                self.regions.append(_PyRegion(s0 + len(prefix) + len(q), s1 - len(q), "r" in prefix.lower(), q, False, s0, s1))
            elif isinstance(node, cst.FormattedString):
                s0, s1 = off(node)
                raw = "r" in node.prefix.lower()
                q = node.quote
                for part in node.parts:
                    p0, p1 = off(part)
                    if isinstance(part, cst.FormattedStringText):
                        self.regions.append(_PyRegion(p0, p1, raw, q, True, s0, s1))
                    else:
                        self.exprs.append(_PyExpr(p0, p1, q))

    def region(self, a: int, b: int) -> Optional[_PyRegion]:
        best = None
        for r in self.regions:
            if r.start <= a and b <= r.end and (best is None or r.end - r.start < best.end - best.start):
                best = r
        return best

    def expr(self, a: int, b: int) -> Optional[_PyExpr]:
        best = None
        for x in self.exprs:
            if x.start < a and b < x.end and (best is None or x.end - x.start < best.end - best.start):
                best = x
        return best


def _py_escape(v: str, region: _PyRegion, nl: str, encodable, prev: str, nxt: str) -> str:
    """Spell value text ``v`` inside ``region`` (raises Refused when a raw literal cannot)."""
    q = region.quote[0]
    triple = len(region.quote) == 3
    out = []
    n = len(v)
    last = prev
    for i, ch in enumerate(v):
        if region.fstring and ch in "{}":
            out.append(ch * 2)
        elif region.raw:
            if ch in ("\\", q, "\r") or (ch == "\n" and not triple) or (ord(ch) < 32 and ch not in "\t\n") or ord(ch) == 0x7F or not encodable(ch):
                raise Refused(f"a raw string literal cannot hold {ch!r} here")
            out.append(("\r\n" if nl == "\r\n" and last != "\r" else "\n") if ch == "\n" else ch)
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append(("\r\n" if nl == "\r\n" and last != "\r" else "\n") if triple else "\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == q:
            if not triple:
                out.append("\\" + q)
            else:
                before = v[i - 1] if i > 0 else prev
                after = v[i + 1] if i + 1 < n else nxt
                out.append("\\" + q if q in (before, after) else q)
        elif ch == "\t":
            out.append(ch)
        elif ord(ch) < 32 or ord(ch) == 0x7F:
            out.append("\\x%02x" % ord(ch))
        elif not encodable(ch):
            out.append("\\u%04x" % ord(ch) if ord(ch) <= 0xFFFF else "\\U%08x" % ord(ch))
        else:
            out.append(ch)
        last = ch
    return "".join(out)


def _literal_ok(token: str) -> Optional[object]:
    """The parsed value of a string token (a Constant value, or the JoinedStr node) or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            node = ast.parse(token.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return node
    return None


# ========================================================================================== YAML and JSON


def _yaml_scalars(text: str) -> list:
    import yaml

    out = []
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return out
    stack = [n for n in nodes if n is not None]
    while stack:
        n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            out.append((n.start_mark.index, n.end_mark.index, n.style))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack.append(k)
                stack.append(v)
    return out


_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_JSON_ESC = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_units(body: str, base: int) -> list:
    units = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1 : i + 2]
            if nxt == "u":
                cp = int(body[i + 2 : i + 6], 16)
                j = i + 6
                if 0xD800 <= cp < 0xDC00 and body[j : j + 2] == "\\u":
                    lo = int(body[j + 2 : j + 6], 16)
                    if 0xDC00 <= lo < 0xE000:
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        j += 6
                units.append((chr(cp), base + i, base + j, ESCAPE))
                i = j
                continue
            if nxt in _JSON_ESC:
                units.append((_JSON_ESC[nxt], base + i, base + i + 2, ESCAPE))
                i += 2
                continue
            raise ValueError("bad JSON escape")
        units.append((ch, base + i, base + i + 1, LITERAL))
        i += 1
    return units


def _value_span(units, a: int, b: int) -> tuple:
    """Value offsets of file span [a, b) over decoded units (Refused when it cuts a unit)."""
    va = vb = 0
    for text, s0, s1, _k in units:
        if s0 < a < s1 or s0 < b < s1:
            raise Refused("the edit cuts an escape sequence")
        if s1 <= a:
            va += len(text)
        if s1 <= b:
            vb += len(text)
    return va, vb


def _front_matter_end(text: str) -> int:
    """End offset of a leading ``---`` front-matter block (0 when there is none)."""
    m = re.match(r"---[ \t]*\r?\n", text)
    if not m:
        return 0
    close = re.compile(r"^---[ \t]*$", re.M).search(text, m.end())
    return close.end() if close else 0


# ================================================================================================ planning


@dataclass
class Planned:
    diag: Diagnostic
    edits: tuple  # Edit with encoded content (what is written into the file), sorted
    text_edits: tuple  # (prompt index, start, end, content) in prompt text
    ph_edits: tuple  # (prompt index, placeholder text start, end, new spelling)
    key: tuple
    code_edits: tuple = ()  # the edits that are code (from file rules), inserted as is


class FileState:
    """One version of one file, with what planning and verification need (computed lazily)."""

    def __init__(self, source: SourceFile, prompts, cfg):
        self.source = source
        self.text = source.text
        self.kind = source.kind
        self.prompts = list(prompts)
        self.cfg = cfg
        self._py = None
        self._yaml = None
        self._runs = None
        self._parse = {}
        self.encodable = _encodable(source.encoding)
        self.keys = [prompt_key(p) for p in self.prompts]

    # -- lazily computed facts
    @property
    def py(self) -> _PyTable:
        if self._py is None:
            self._py = _PyTable(self.text)
        return self._py

    @property
    def yaml_scalars(self):
        if self._yaml is None:
            self._yaml = _yaml_scalars(self.text)
        return self._yaml

    @property
    def runs(self):
        if self._runs is None:
            self._runs = [literal_runs(p, self.text) for p in self.prompts]
        return self._runs

    def parses(self, what: str) -> bool:
        if what not in self._parse:
            self._parse[what] = _parse_ok(what, self.text) is None
        return self._parse[what]

    # -- planning
    def plan(self, d: Diagnostic, blocked=()) -> Planned:
        """Encode a diagnostic's fix for this file (raises Refused)."""
        if d.fix is None or not d.fix.edits:
            raise Refused("no fix")
        if self.kind == "notebook":
            raise Refused("fixes are not written into notebooks")
        edits = sorted(d.fix.edits, key=lambda e: (e.start, e.end))
        for e1, e2 in zip(edits, edits[1:]):
            if e2.start < e1.end or e2.start == e1.end and (e1.start == e1.end or e2.start == e2.end):
                raise Refused("the fix's own edits overlap")
        out, text_edits, ph_edits, code_edits = [], [], [], []
        key_parts = []
        for e in edits:
            loc = self._locate(e, d.prompt_key)
            if loc[0] == "prompt":
                _, i, ta, tb = loc
                enc = self._encode_prompt_edit(i, e.start, e.end, ta, tb, e.content)
                out.append(enc)
                text_edits.append((i, ta, tb, e.content))
                key_parts.append((self.keys[i], ta, tb, e.content))
            elif d.prompt_key is not None:  # a prompt rule's edit is prompt text, never code
                raise Refused("the edit does not map onto the prompt text")
            else:
                enc, ph = self._encode_code_edit(e)
                out.append(enc)
                code_edits.append(enc)
                ph_edits.extend(ph)
                key_parts.append(("code", self.text[e.start : e.end], e.content))
        key = (d.code, tuple(key_parts))
        if key in blocked:
            raise Refused("rolled back earlier in this run")
        out.sort(key=lambda e: (e.start, e.end))
        for e1, e2 in zip(out, out[1:]):
            if e2.start < e1.end:
                raise Refused("the fix's edits overlap once encoded")
        if all(self.text[e.start : e.end] == e.content for e in out):
            raise Refused("the fix changes nothing")
        return Planned(d, tuple(out), tuple(text_edits), tuple(ph_edits), key, tuple(code_edits))

    def _locate(self, e: Edit, key):
        """("prompt", index, text start, text end) or ("code",)."""
        candidates = []
        for i, p in enumerate(self.prompts):
            if not (p.start <= e.start and e.end <= p.end) and not any(a <= e.start and e.end <= b for a, b in self.runs[i]):
                continue
            span = text_span(p, e.start, e.end)
            if span is not None:
                candidates.append((self.keys[i] != key, i, span))
        if candidates:
            candidates.sort(key=lambda c: (c[0], c[1]))
            _, i, (ta, tb) = candidates[0]
            return ("prompt", i, ta, tb)
        for runs in self.runs:
            for a, b in runs:
                if a < e.end and e.start < b or a < e.start < b:
                    raise Refused("the edit does not map onto the prompt text")
        return ("code",)

    def _encode_prompt_edit(self, i: int, a: int, b: int, ta: int, tb: int, content: str) -> Edit:
        p = self.prompts[i]
        text = p.text
        # never create template delimiters in what the model (or a template engine) reads
        lo, hi = max(0, ta - 1), min(len(text), tb + 1)
        d = _creates(text[lo:hi], text[lo:ta] + content + text[tb:hi], _JINJA_OPEN)
        if d:
            raise Refused(f"the edit would create the template delimiter '{d}'")
        has_ph = any(s.kind == PLACEHOLDER for s in p.segments)
        if p.dedent and has_ph:
            _check_dedent_lines(text, ta, tb, content)
        # a margin that the code's dedent (or a YAML block scalar) strips: new lines need it back
        gap_after = self._gap_after(p, b)
        if a == b and gap_after is not None and (ta == 0 or text[ta - 1] == "\n"):
            a = b = gap_after  # an insertion at a line start goes after the margin
            gap_after = self._gap_after(p, b)
        elif a < b and gap_after is not None and ta > 0 and text[ta - 1] != "\n":
            b = gap_after  # joining two lines: the second line's margin goes too
            gap_after = None
        if a < b and not content and text[tb - 1 : tb] == "\n" and (ta == 0 or text[ta - 1] == "\n"):
            a = self._margin_before(p, a)  # whole lines deleted: their margin goes with them
        if self.kind == "python":
            return self._encode_python(p, a, b, content, gap_after is None)
        if self.kind == "yaml":
            return self._encode_yaml(p, a, b, content, gap_after is None)
        if self.kind == "json":
            return self._encode_json(p, a, b, content)
        if self.kind in _TEMPLATE_KINDS:
            return self._encode_template(p, a, b, content)
        raise Refused(f"fixes are not written into {self.kind} files")

    def _margin_before(self, p: Prompt, a: int) -> int:
        """Start of the spaces/tabs right before file offset ``a`` on its line when they are not prompt text
        (a margin stripped by dedent or by a YAML block scalar), else ``a``."""
        m = a
        while m > 0 and self.text[m - 1] in " \t":
            m -= 1
        if m == a:
            return a
        if m > 0 and self.text[m - 1] != "\n" and not (self.kind == "python" and any(r.start == m for r in self.py.regions)):
            return a  # neither at a line start nor at the start of a literal's body
        if any(s.kind != JOIN and s.src_start < a and s.src_end > m for s in p.segments):
            return a
        return m

    def _gap_after(self, p: Prompt, b: int) -> Optional[int]:
        """When file offset ``b`` ends a text segment and the next text segment starts after a whitespace gap
        (a margin the prompt does not contain), the offset where that next segment starts."""
        segs = [s for s in p.segments if s.kind != JOIN]
        for s, nxt in zip(segs, segs[1:]):
            if s.src_end == b and nxt.start == s.end and nxt.src_start > b and nxt.kind in (LITERAL, ESCAPE):
                gap = self.text[b : nxt.src_start]
                if not gap.strip(" \t"):
                    return nxt.src_start
        return None

    # -- hosts
    def _format_mode(self, p: Prompt) -> Optional[str]:
        """'format' / 'percent' when the prompt is a template whose literal text is read by str.format / %."""
        mode = "format" if p.host == "format" else None
        for s in p.segments:
            if s.kind not in (PLACEHOLDER, ESCAPE):
                continue
            r = self.py.region(s.src_start, s.src_end)
            if r is None or r.fstring:
                continue
            spelled = self.text[s.src_start : s.src_end]
            if s.kind == PLACEHOLDER and spelled.startswith("%") or s.kind == ESCAPE and spelled == "%%":
                return "percent"
            if s.kind == PLACEHOLDER and spelled.startswith("{") or s.kind == ESCAPE and spelled in ("{{", "}}"):
                mode = "format"
        return mode

    def _encode_python(self, p: Prompt, a: int, b: int, content: str, b_at_content: bool) -> Edit:
        region = self.py.region(a, b)
        if region is None:
            raise Refused("the edit is not inside one string literal")
        v = content
        mode = self._format_mode(p)
        if ("{" in v or "}" in v) and not region.fstring:
            if mode == "format":
                v = v.replace("{", "{{").replace("}", "}}")
            elif p.call and ("Template" in p.call or "from_messages" in p.call):
                raise Refused("braces in a prompt template whose format is not known")
        elif ("{" in v or "}" in v) and region.fstring and mode == "format":
            v = v.replace("{", "{{").replace("}", "}}")
        if "%" in v and mode == "percent":
            v = v.replace("%", "%%")
        text = self.text
        at_line_start = a > 0 and text[a - 1] == "\n" or a == region.start
        if p.dedent and ("\n" in v or at_line_start and v):
            # no margin before the closing quote: a trailing whitespace-only line is not text, only noise
            v = self._with_margin(v, self._dedent_margin(p), b_at_content and b < region.end, at_line_start)
        units = _decode(text[region.start : region.end], region.start, region.raw, region.fstring)
        va, vb = _value_span(units, a, b)
        value = "".join(u[0] for u in units)
        expected = value[:va] + v + value[vb:]
        prev = text[a - 1] if a > 0 else ""
        nxt = text[b] if b < len(text) else ""
        enc = _py_escape(v, region, self.source.newline, self.encodable, prev, nxt)
        body = text[region.start : a] + enc + text[b : region.end]
        try:
            got = "".join(u[0] for u in _decode(body, 0, region.raw, region.fstring))
        except (ValueError, KeyError) as exc:
            raise Refused(f"the literal would not decode ({exc})") from None
        if _crlf_norm(got) != _crlf_norm(expected):
            raise Refused("the literal would not decode to the fixed text")
        old_tok = text[region.tok_start : region.tok_end]
        new_tok = text[region.tok_start : a] + enc + text[b : region.tok_end]
        old_val = _literal_ok(old_tok)
        if old_val is not None:
            new_val = _literal_ok(new_tok)
            if new_val is None:
                raise Refused("the string literal would not parse")
            if isinstance(old_val, str):
                if not isinstance(new_val, str) or _crlf_norm(new_val) != _crlf_norm(expected):
                    raise Refused("the string literal would not evaluate to the fixed text")
            elif not isinstance(new_val, ast.JoinedStr) or _fields(old_val) != _fields(new_val):
                raise Refused("the f-string's replacement fields would change")
        return Edit(a, b, enc)

    def _dedent_margin(self, p: Prompt) -> str:
        value = []
        for r in self.py.regions:
            if p.start <= r.start and r.end <= p.end:
                try:
                    value.append("".join(u[0] for u in _decode(self.text[r.start : r.end], r.start, r.raw, r.fstring)))
                except ValueError:
                    raise Refused("cannot read the literal's margin") from None
        return _margin("".join(value), p.dedent)

    @staticmethod
    def _with_margin(v: str, margin: str, b_at_content: bool, at_line_start: bool = False) -> str:
        """Content with the margin after each line break that starts a line of text (and in front, when it
        is written at the start of a line that has no margin in the file, e.g. a blank one)."""
        if not margin:
            return v
        out = [margin] if at_line_start and v[:1] not in ("", "\r", "\n") else []
        for i, ch in enumerate(v):
            out.append(ch)
            if ch == "\n":
                nxt = v[i + 1] if i + 1 < len(v) else None
                if nxt is None and b_at_content or nxt is not None and nxt not in "\r\n":
                    out.append(margin)
        return "".join(out)

    def _encode_template(self, p: Prompt, a: int, b: int, content: str) -> Edit:
        text = self.text
        if self.kind in ("prompt", "prompty") and a < _front_matter_end(text):
            raise Refused("the edit is inside the front matter")
        if ("{" in content or "}" in content) and _single_brace_placeholders(p):
            raise Refused("braces in a template with {name} placeholders")
        enc = _newline_style(content, self.source.newline, text[a - 1] if a > 0 else "")
        lo, hi = max(0, a - 1), min(len(text), b + 1)
        d = _creates(text[lo:hi], text[lo:a] + enc + text[b:hi], _JINJA_ALL)
        if d:
            raise Refused(f"the edit would create the template delimiter '{d}'")
        return Edit(a, b, enc)

    def _encode_json(self, p: Prompt, a: int, b: int, content: str) -> Edit:
        import json

        text = self.text
        for m in _JSON_STRING.finditer(text):
            if m.start() < a and b < m.end():
                break
        else:
            raise Refused("the edit is not inside one JSON string")
        if ("{" in content or "}" in content) and _single_brace_placeholders(p):
            raise Refused("braces in a template with {name} placeholders")
        body0, body1 = m.start() + 1, m.end() - 1
        try:
            units = _json_units(text[body0:body1], body0)
        except (ValueError, IndexError):
            raise Refused("cannot read the JSON string") from None
        va, vb = _value_span(units, a, b)
        value = "".join(u[0] for u in units)
        expected = value[:va] + content + value[vb:]
        enc = json.dumps(content, ensure_ascii=False)[1:-1]
        enc = "".join(ch if self.encodable(ch) else json.dumps(ch)[1:-1] for ch in enc)
        try:
            got = json.loads('"' + text[body0:a] + enc + text[b:body1] + '"')
        except ValueError:
            raise Refused("the JSON string would not parse") from None
        if got != expected:
            raise Refused("the JSON string would not decode to the fixed text")
        return Edit(a, b, enc)

    def _encode_yaml(self, p: Prompt, a: int, b: int, content: str, b_at_content: bool) -> Edit:
        text = self.text
        best = None
        for s0, s1, style in self.yaml_scalars:
            if s0 <= a and b <= s1 and (best is None or s1 - s0 < best[1] - best[0]):
                best = (s0, s1, style)
        if best is None:
            raise Refused("the edit is not inside one YAML scalar")
        s0, s1, style = best
        removed = text[a:b]
        if ("{" in content or "}" in content) and _single_brace_placeholders(p):
            raise Refused("braces in a template with {name} placeholders")
        nl = self.source.newline
        prev = text[a - 1] if a > 0 else ""
        if style == "|":
            header_end = text.find("\n", s0)
            if header_end == -1 or a <= header_end:
                raise Refused("the edit touches the block scalar's header")
            indent = _block_indent(text, header_end + 1, s1)
            if indent is None:
                raise Refused("cannot tell the block scalar's indentation")
            if a > 0 and a - (text.rfind("\n", 0, a) + 1) < len(indent) and content and text[a - 1] != "\n":
                raise Refused("the edit lands in the block indentation")
            enc = self._with_margin(content, indent, b_at_content, prev == "\n")
            return Edit(a, b, _newline_style(enc, nl, prev))
        if "\n" in removed:
            raise Refused("the edit crosses a folded line break of a YAML scalar")
        if style == '"':
            import json

            return Edit(a, b, json.dumps(content, ensure_ascii=False)[1:-1])
        if "\n" in content or "\r" in content:
            raise Refused("line breaks in a folded, single-quoted or plain YAML scalar")
        if any(ord(ch) < 32 and ch != "\t" for ch in content):
            raise Refused("control characters in a YAML scalar")
        if style == ">":
            line_start = text.rfind("\n", 0, a) + 1
            if content[:1] in (" ", "\t") and not text[line_start:a].strip():
                raise Refused("leading spaces would make a more-indented folded line")
            return Edit(a, b, content)
        if style == "'":
            return Edit(a, b, content.replace("'", "''"))
        # plain scalar: only text that cannot change how YAML reads it
        if ": " in content or " #" in content or "\t" in content or content.endswith(":") or any(c in content for c in ",[]{}"):
            raise Refused("the text is not safe in a plain YAML scalar")
        if a == s0 and content[:1] in tuple("-?:,[]{}#&*!|>'\"%@` "):
            raise Refused("the text is not safe at the start of a plain YAML scalar")
        if b == s1 and content[-1:] in (" ", "\t"):
            raise Refused("trailing spaces would be dropped from a plain YAML scalar")
        if content[:1] == "#" and prev in (" ", "\t") or prev == ":" and content[:1] == " ":
            raise Refused("the text is not safe in a plain YAML scalar")
        return Edit(a, b, content)

    def _encode_code_edit(self, e: Edit):
        """A code edit (from a file rule): content is source code, inserted as is. Returns (edit, placeholder
        changes)."""
        content = e.content
        if self.kind == "python":
            x = self.py.expr(e.start, e.end)
            if x is not None:
                content = _fstring_safe_code(content, x.quote)
        elif self.kind not in _TEMPLATE_KINDS and self.kind not in ("yaml", "json"):
            raise Refused(f"fixes are not written into {self.kind} files")
        ph = []
        for i, p in enumerate(self.prompts):
            for s in p.segments:
                if s.kind != PLACEHOLDER:
                    continue
                inside = s.src_start <= e.start and e.end <= s.src_end and not (e.start == e.end in (s.src_start, s.src_end))
                if inside:
                    spelled = self.text[s.src_start : s.src_end]
                    seg_text = p.text[s.start : s.end]
                    k = seg_text.find(spelled)
                    if k == -1:
                        raise Refused("cannot tell how the edit changes a placeholder")
                    rel0, rel1 = k + e.start - s.src_start, k + e.end - s.src_start
                    ph.append((i, s.start, s.end, seg_text[:rel0] + content + seg_text[rel1:]))
                elif s.src_start < e.end and e.start < s.src_end:
                    raise Refused("the edit cuts across a placeholder")
        return Edit(e.start, e.end, content), ph


def _fields(node) -> list:
    return [ast.dump(v) for v in node.values if isinstance(v, ast.FormattedValue)]


def _decode(body: str, base: int, raw: bool, fstring: bool) -> list:
    from .extract.units import decode_body

    return decode_body(body, base, raw=raw, fstring_text=fstring)


def _block_indent(text: str, start: int, end: int) -> Optional[str]:
    for m in re.finditer(r"[^\n]*\n?", text[start:end]):
        line = m.group(0).rstrip("\r\n")
        if line.strip():
            return line[: len(line) - len(line.lstrip(" "))]
    return None


def _single_brace_placeholders(p: Prompt) -> bool:
    return any(s.kind == PLACEHOLDER and p.text[s.start : s.start + 1] == "{" and p.text[s.start : s.start + 2] != "{{" for s in p.segments)


def _check_dedent_lines(text: str, ta: int, tb: int, content: str):
    """``dedent(f"...")`` computes its margin after interpolation: an edit may not add or remove line breaks,
    nor change a line's indentation or whether it is blank."""
    if "\n" in content or "\n" in text[ta:tb] or "\r" in content:
        raise Refused("dedented prompt with placeholders: the margin depends on their values")
    ls = text.rfind("\n", 0, ta) + 1
    le = text.find("\n", tb)
    le = len(text) if le == -1 else le
    old_line = text[ls:le]
    new_line = text[ls:ta] + content + text[tb:le]
    if _indent(old_line) != _indent(new_line) or bool(old_line.strip()) != bool(new_line.strip()):
        raise Refused("dedented prompt with placeholders: the edit changes where a line starts")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _fstring_safe_code(content: str, quote: str) -> str:
    """Code inserted into an f-string replacement field must also parse before Python 3.12: no backslash, no
    line break in a one-line literal, and not the literal's own quote (swapped for the other quote when that
    changes nothing)."""
    if "\\" in content:
        raise Refused("a backslash inside an f-string replacement field")
    q = quote[0]
    if len(quote) == 3:
        if quote in content:
            raise Refused("the f-string's own quotes inside its replacement field")
        return content
    if "\n" in content:
        raise Refused("a line break inside a one-line f-string")
    if q not in content:
        return content
    other = "'" if q == '"' else '"'
    if other in content:
        raise Refused("both quote characters inside an f-string replacement field")
    swapped = content.replace(q, other)
    if _code_tokens(content) is None or _code_tokens(content) != _code_tokens(swapped):
        raise Refused("cannot requote the code for the f-string")
    return swapped


def _code_tokens(code: str):
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    out = []
    for t in toks:
        if t.type == tokenize.STRING:
            try:
                out.append(("S", ast.literal_eval(t.string)))
            except (ValueError, SyntaxError):
                return None
        elif t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT):
            out.append((t.type, t.string))
    return out


# ============================================================================================ verification


def _parse_ok(kind: str, text: str) -> Optional[str]:
    """None when ``text`` parses as ``kind`` (python-cst, python-ast, jinja, yaml, json, front-matter)."""
    try:
        if kind == "python-cst":
            import libcst as cst

            cst.parse_module(text)
        elif kind == "python-ast":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(text)
        elif kind == "jinja":
            import jinja2

            jinja2.Environment().parse(text)
        elif kind == "yaml":
            import yaml

            list(yaml.safe_load_all(text))
        elif kind == "json":
            import json

            json.loads(text)
        elif kind == "front-matter":
            import yaml

            end = _front_matter_end(text)
            if end:
                yaml.safe_load(text[text.find("\n") + 1 : text.rfind("\n", 0, end) + 1] if end else "")
    except Exception as exc:  # any parser's error: the invariant fails
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


_PARSERS = {
    "python": ("python-cst", "python-ast"),
    "jinja": ("jinja",),
    "prompty": ("front-matter", "jinja"),
    "prompt": ("front-matter",),
    "yaml": ("yaml",),
    "json": ("json",),
}


def _loaded(kind: str, text: str):
    import json

    import yaml

    if kind == "yaml":
        return list(yaml.safe_load_all(text))
    if kind == "json":
        return json.loads(text)
    return None


def _same_shape(a, b) -> bool:
    """Same structure and non-string values (strings may differ: they hold the prompts)."""
    if isinstance(a, str) and isinstance(b, str):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(_same_shape(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_shape(x, y) for x, y in zip(a, b))
    return a == b


def verify(state: FileState, fixes) -> Optional[str]:
    """None when applying ``fixes`` to the file keeps every invariant, else the first one that breaks."""
    from .pipeline import ExtractError, extract

    edits = [e for f in fixes for e in f.edits]
    new_text = apply_edits(state.text, edits)
    # 1. the file still parses
    parsers = _PARSERS.get(state.kind, ())
    if state.kind == "python" and state.parses("python-ast"):
        # the running interpreter's parser accepts the file: checking the result with it is enough (libcst's
        # grammar covers every Python that ast knows, and its parse costs ~20x more)
        parsers = ("python-ast",)
    new_tree = None
    for what in parsers:
        if state.parses(what):
            if what == "python-ast":  # parsed once here, and the tree reused to extract the prompts below
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        new_tree = ast.parse(new_text)
                    err = None
                except Exception as exc:
                    err = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            else:
                err = _parse_ok(what, new_text)
            if err is not None:
                return f"the file would no longer parse ({err})"
    if state.kind in ("yaml", "json") and state.parses(state.kind):
        if not _same_shape(_loaded(state.kind, state.text), _loaded(state.kind, new_text)):
            return f"the {state.kind.upper()} structure would change"
    # 2. the same prompts, each reading what the fixes intend
    new_source = replace(state.source, text=new_text)
    try:
        new_prompts, _ = extract(new_source, state.cfg, tree=new_tree)
    except ExtractError as exc:
        return f"the file would no longer parse ({exc.message})"
    except RecursionError:
        return "the file would no longer parse"
    old = state.prompts
    if len(new_prompts) != len(old):
        return "the fix would change which strings are found as prompts"
    per_prompt = {}
    for f in fixes:
        for i, s, e, c in f.text_edits:
            per_prompt.setdefault(i, []).append((s, e, c))
        for i, s, e, c in f.ph_edits:
            per_prompt.setdefault(i, []).append((s, e, c))
    norm = _crlf_norm if state.source.newline == "\r\n" or "\r\n" in state.text else (lambda s: s)
    exp_ph = Counter()
    new_ph = Counter()
    for i, (p, q) in enumerate(zip(old, new_prompts)):
        expected = _apply_text(p.text, per_prompt.get(i, ()))
        if norm(q.text) != norm(expected):
            return f"the prompt at line {p.line} would not read as the fix intends"
        phs = {(s.start, s.end): p.text[s.start : s.end] for s in p.segments if s.kind == PLACEHOLDER}
        for i2, s, e, c in (t for f in fixes for t in f.ph_edits):
            if i2 == i and (s, e) in phs:
                phs[(s, e)] = c
        exp_ph.update(phs.values())
        new_ph.update(q.text[s.start : s.end] for s in q.segments if s.kind == PLACEHOLDER)
    if exp_ph != new_ph:
        return "the placeholders would change"
    # 3. code outside the prompt literals is byte-identical (code edits aside)
    code_edits = [e for f in fixes for e in f.code_edits]
    old_regions = _merge(r for runs in state.runs for r in runs)
    if code_edits:
        shifted = []
        for a, b in old_regions:
            delta = sum(len(e.content) - (e.end - e.start) for e in code_edits if e.end <= a)
            shifted.append((a + delta, b + delta))
        base_text, base_regions = apply_edits(state.text, code_edits), shifted
    else:
        base_text, base_regions = state.text, old_regions
    new_regions = _merge(r for q in new_prompts for r in literal_runs(q, new_text))
    if _skeleton(base_text, base_regions) != _skeleton(new_text, new_regions):
        return "code outside the prompt text would change"
    return None


# ============================================================================================ the fix loop


@dataclass
class FileOutcome:
    path: str
    kind: str
    original: Optional[SourceFile] = None  # as read
    text: Optional[str] = None  # final text (in memory)
    first: Optional[FileResult] = None  # lint of the file as read
    final: Optional[FileResult] = None  # lint of the final text (or of the file as read when not written)
    applied: Counter = field(default_factory=Counter)  # (code, rule) -> fixes applied
    rolled_back: list = field(default_factory=list)  # (Diagnostic, reason)
    errors: list = field(default_factory=list)  # one-line problems (read-only, changed on disk, ...)
    converged: bool = True
    written: bool = False
    passes: int = 0  # passes that applied fixes
    code_saved: int = 0  # tokens per call the applied code fixes are estimated to save (dynamic content)

    @property
    def changed(self) -> bool:
        return self.original is not None and self.text is not None and self.text != self.original.text

    def tokens(self) -> tuple:
        """(tokens before, tokens after, changed prompts) over the prompts whose text the fixes changed."""
        if not self.changed or self.first is None or self.final is None:
            return 0, 0, 0
        before = after = n = 0
        for p, q in zip(self.first.prompts, self.final.prompts):
            if p.text != q.text:
                before += p.tokens or 0
                after += q.tokens or 0
                n += 1
        return before, after, n


@dataclass
class FixReport:
    files: list
    result: RunResult
    diff: bool = False

    @property
    def changed(self) -> list:
        return [f for f in self.files if f.changed]

    def applied(self) -> Counter:
        c = Counter()
        for f in self.files:
            if f.changed:
                c.update(f.applied)
        return c

    def tokens(self) -> tuple:
        b = a = n = 0
        for f in self.files:
            x, y, k = f.tokens()
            b, a, n = b + x, a + y, n + k
        return b, a, n


def _selected(d: Diagnostic, unsafe: bool) -> bool:
    return d.fix is not None and (d.fix.applicability == "safe" or unsafe and d.fix.applicability == "unsafe")


def _touch(e1: Edit, e2: Edit) -> bool:
    return e1.start <= e2.end and e2.start <= e1.end


def _choose(planned) -> list:
    """Fixes of one pass that do not overlap or touch one another (the rest wait for the next pass)."""
    import bisect

    chosen = []
    taken = []  # (start, end) of the chosen edits, sorted: a lookup per edit, not a scan (thousands of fixes)

    def touches(e) -> bool:
        k = bisect.bisect_right(taken, (e.end, float("inf"))) - 1
        return k >= 0 and taken[k][1] >= e.start  # chosen edits do not overlap: the last one before e.end decides

    for f in sorted(planned, key=lambda f: (f.edits[0].start, f.edits[-1].end)):
        if any(touches(e) for e in f.edits):
            continue
        chosen.append(f)
        for e in f.edits:
            bisect.insort(taken, (e.start, e.end))
    return chosen


def fix_source(source: SourceFile, cfg, rules, unsafe: bool = False, passes: int = MAX_PASSES) -> FileOutcome:
    """Lint, fix and verify one file in memory until nothing more applies."""
    from .pipeline import lint_source

    out = FileOutcome(source.path, source.kind, original=source, text=source.text)
    seen = {hashlib.sha256(source.text.encode("utf-8", "surrogatepass")).hexdigest()}
    blocked = set()
    current = source
    result = lint_source(current, cfg, rules)
    out.first = result
    for _ in range(passes):
        wanted = [d for d in result.diagnostics if _selected(d, unsafe)]
        if not wanted:
            break
        state = FileState(current, result.prompts, cfg)
        planned = []
        for d in wanted:
            f = _try_plan(state, d, blocked)
            if f is not None:
                planned.append(f)
        chosen = _choose(planned)
        if not chosen:
            break
        accepted, rejected = _verified(state, chosen)
        for f, reason in rejected:
            blocked.add(f.key)
            if not any(d.code == f.diag.code and d.message == f.diag.message for d, _r in out.rolled_back):
                out.rolled_back.append((f.diag, reason))
        if not accepted:
            continue  # same text; rolled-back fixes are blocked, deferred ones get their turn
        new_text = apply_edits(current.text, [e for f in accepted for e in f.edits])
        h = hashlib.sha256(new_text.encode("utf-8", "surrogatepass")).hexdigest()
        if h in seen:
            out.converged = False  # a cycle: stop at the current state
            break
        seen.add(h)
        for f in accepted:
            out.applied[(f.diag.code, f.diag.rule)] += 1
            if f.code_edits and not f.text_edits:
                out.code_saved += f.diag.fix.tokens_saved or 0
        out.passes += 1
        current = replace(current, text=new_text)
        result = lint_source(current, cfg, rules)
    else:
        state = FileState(current, result.prompts, cfg)
        for d in result.diagnostics:
            if _selected(d, unsafe) and _try_plan(state, d, blocked) is not None:
                out.converged = False
                break
    out.text = current.text
    out.final = result
    return out


def _try_plan(state: FileState, d: Diagnostic, blocked=()) -> Optional[Planned]:
    try:
        return state.plan(d, blocked)
    except Refused:
        return None
    except Exception:  # a host we cannot read: the fix is not offered (never a crash)
        if os.environ.get("PROMPTLINT_DEBUG"):
            raise
        return None


def _verified(state: FileState, chosen) -> tuple:
    reason = verify(state, chosen)
    if reason is None:
        return list(chosen), []
    if len(chosen) == 1:
        return [], [(chosen[0], reason)]
    accepted, rejected = [], []
    for f in chosen:
        r = verify(state, accepted + [f])
        if r is None:
            accepted.append(f)
        else:
            rejected.append((f, r))
    return accepted, rejected


def resolve_file(source: SourceFile, prompts, diagnostics, cfg, verify_fixes: bool = True) -> list:
    """Diagnostics whose fixes carry encoded edits (what would be written); a fix that cannot be written
    safely is removed, so the finding shows as not fixable."""
    with_fix = [d for d in diagnostics if d.fix is not None]
    if not with_fix:
        return list(diagnostics)
    state = FileState(source, prompts, cfg)
    planned = {}
    for d in with_fix:
        planned[id(d)] = _try_plan(state, d)
    if verify_fixes:
        ok = [f for f in planned.values() if f is not None]
        while ok:
            batch = _choose(ok)
            accepted, rejected = _verified(state, batch)
            for f, _r in rejected:
                planned[id(f.diag)] = None
            done = {id(f) for f in batch}
            ok = [f for f in ok if id(f) not in done]
    out = []
    for d in diagnostics:
        if d.fix is None:
            out.append(d)
            continue
        f = planned.get(id(d))
        if f is None:
            out.append(replace(d, fix=None))
        else:
            out.append(replace(d, fix=Fix(d.fix.applicability, d.fix.message, f.edits, d.fix.tokens_saved)))
    return out


def encode_file(source: SourceFile, text: str) -> bytes:
    data = text.encode(source.encoding)
    return (b"\xef\xbb\xbf" if source.bom else b"") + data


def write_outcome(out: FileOutcome) -> None:
    """Write a changed file atomically; problems become ``out.errors`` (never an exception)."""
    from .fsutil import atomic_write_bytes, is_writable, read_bytes

    if not out.changed:
        return
    src = out.original
    try:
        data = encode_file(src, out.text)
    except UnicodeEncodeError as exc:
        out.errors.append(f"{out.path}: cannot encode the fixed text as {src.encoding} ({exc.reason}); not written")
        return
    current = read_bytes(out.path)
    if current is None or current != encode_file(src, src.text):
        out.errors.append(f"{out.path}: changed on disk during the run; not written")
        return
    if not is_writable(out.path):
        out.errors.append(f"{out.path}: read-only file; not written")
        return
    try:
        atomic_write_bytes(out.path, data)
    except OSError as exc:
        out.errors.append(f"{out.path}: cannot write: {exc.strerror or exc}; not written")
        return
    out.written = True


def run_fix(paths, cfg, rules=None, unsafe: bool = False, write: bool = True, errors=None) -> FixReport:
    """Fix every file under ``paths``; returns what changed and the findings that remain."""
    from .discover import discover
    from .pipeline import lint_file, read_source
    from .rules import enabled_rules

    if rules is None:
        rules = enabled_rules(cfg)
    files = list(discover(paths, cfg, errors))
    result = RunResult(files_scanned=len(files))
    outcomes = []
    for path, kind in files:
        src = read_source(path, kind)
        if isinstance(src, str):
            fr = lint_file(path, kind, cfg, rules)
            out = FileOutcome(path, kind, first=fr, final=fr)
        else:
            try:
                out = fix_source(src, cfg, rules, unsafe)
            except Exception as exc:  # RecursionError, or a bug of ours: this file is not fixed, the run goes on
                if os.environ.get("PROMPTLINT_DEBUG") and not isinstance(exc, RecursionError):
                    raise
                fr = lint_file(path, kind, cfg, rules)
                out = FileOutcome(path, kind, original=src, text=src.text, first=fr, final=fr)
                if not isinstance(exc, RecursionError):
                    from .pipeline import internal_error_message

                    out.errors.append(f"{path}: {internal_error_message(exc, 'fixing')}")
            if write and out.changed:
                write_outcome(out)
                if not out.written:
                    out.text = src.text
                    out.final = out.first
                    out.applied = Counter()
                    out.code_saved = 0
        final_source = replace(out.original, text=out.text) if out.original is not None else None
        diags = list(out.final.diagnostics)
        if final_source is not None:
            try:
                diags = resolve_file(final_source, out.final.prompts, diags, cfg)
            except Exception:
                diags = [replace(d, fix=None) if d.fix else d for d in diags]
        out.final = replace(out.final, diagnostics=tuple(diags))
        outcomes.append(out)
        result.prompts.extend(out.final.prompts)
        result.diagnostics.extend(out.final.diagnostics)
    for r in rules:
        if r.scope == "project":
            # project-wide findings are reported; their fixes are not applied file by file
            result.diagnostics.extend(replace(d, fix=None) if d.fix else d for d in r.check_project(result.prompts, cfg))
    return FixReport(outcomes, result, diff=not write)


# ================================================================================================ reports


def unified_diff(out: FileOutcome) -> str:
    if not out.changed:
        return ""
    a = out.original.text.splitlines(keepends=True)
    b = out.text.splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, fromfile=out.path, tofile=out.path))
    text = []
    for ln in lines:
        text.append(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n")
    return "".join(text)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def summary_lines(report: FixReport, unsafe: bool = False) -> list:
    applied = report.applied()
    n = sum(applied.values())
    changed = report.changed
    verb = "Would fix" if report.diff else "Fixed"
    lines = []
    if n:
        per_rule = ", ".join(f"{code} {rule} {k}" for (code, rule), k in sorted(applied.items()))
        lines.append(f"{verb} {_plural(n, 'finding')} in {_plural(len(changed), 'file')} ({per_rule}).")
        before, after, k = report.tokens()
        if k:
            pct = f", {100.0 * (before - after) / before:.1f}%" if before else ""
            lines.append(f"Tokens per call: {before:,} -> {after:,} ({after - before:+,}{pct}) in {_plural(k, 'changed prompt')}.")
        code_saved = sum(f.code_saved for f in changed)
        if code_saved:
            lines.append(f"Code fixes: about {code_saved:,} fewer tokens per call in dynamic content (estimated; the data is only known at run time).")
    else:
        lines.append("No fixes to apply." if report.diff else "No fixes applied.")
    rolled = sum(len(f.rolled_back) for f in report.files)
    if rolled:
        lines.append(f"{_plural(rolled, 'fix')} rolled back (an invariant failed); those findings remain.")
    remaining = report.result.diagnostics
    if remaining:
        safe = sum(1 for d in remaining if d.fix and d.fix.applicability == "safe")
        more = sum(1 for d in remaining if d.fix and d.fix.applicability == "unsafe")
        extra = []
        if safe:
            extra.append(f"{safe} fixable by another `promptlint fix` run")
        if more and not unsafe:
            extra.append(f"{more} with `promptlint fix --unsafe-fixes`")
        tail = f" ({'; '.join(extra)})" if extra else ""
        lines.append(f"{_plural(len(remaining), 'finding')} remain{'s' if len(remaining) == 1 else ''}{tail}.")
    else:
        lines.append("No findings remain.")
    return lines


def warnings_for(report: FixReport) -> list:
    out = []
    for f in report.files:
        for d, reason in f.rolled_back:
            out.append(f"{d.path}:{d.line}:{d.column}: {d.code} fix rolled back: {reason}")
        if not f.converged:
            out.append(f"{f.path}: fixes did not reach a fixpoint within {MAX_PASSES} passes")
        out.extend(f.errors)
    return out


def report_json(report: FixReport) -> dict:
    import json

    from . import output

    doc = json.loads(output.to_json(report.result))
    before, after, k = report.tokens()
    applied = report.applied()
    doc["fix"] = {
        "diff": report.diff,
        "files_changed": [f.path for f in report.changed],
        "applied": sum(applied.values()),
        "applied_by_rule": {code: n for (code, _rule), n in sorted(applied.items())},
        "tokens_before": before,
        "tokens_after": after,
        "tokens_saved": before - after,
        "code_tokens_saved_estimate": sum(f.code_saved for f in report.changed),
        "changed_prompts": k,
        "rolled_back": [
            {"path": d.path, "line": d.line, "column": d.column, "code": d.code, "rule": d.rule, "reason": reason}
            for f in report.files
            for d, reason in f.rolled_back
        ],
        "errors": [e for f in report.files for e in f.errors],
    }
    return doc


__all__ = [
    "MAX_PASSES",
    "Refused",
    "FileState",
    "FileOutcome",
    "FixReport",
    "apply_edits",
    "fix_source",
    "resolve_file",
    "run_fix",
    "verify",
    "write_outcome",
    "unified_diff",
    "summary_lines",
    "report_json",
]
