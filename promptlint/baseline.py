"""Baseline and token ratchet: ``check --write-baseline FILE`` / ``check --baseline FILE``.

A baseline records two things, both keyed by content rather than line numbers so that edits elsewhere in a
file (lines shifting) do not disturb it:

- findings: ``(rule, path, fingerprint) -> count``. For a finding about a prompt the fingerprint is the
  prompt's text hash (``Diagnostic.prompt_key``) plus a hash of the reported text (whitespace-normalized), so
  two different findings of one rule in one prompt stay apart; for a finding without a prompt (code-flow
  rules, syntax errors) it is a hash of the whitespace-normalized source line of the finding. Identical
  findings share a key and are counted, so a second copy of a baselined finding is new.
- prompts: path, name, role, call, text hash and static tokens of every prompt. With ``--baseline`` a prompt
  whose text changed is matched to its record by ``path::name``, else by path + role + call when that is
  unique on both sides, and reported as ``prompt-growth`` (PL105) when its tokens exceed the record by more
  than the tolerance.

Paths are stored relative to the baseline file's folder (forward slashes), so the same baseline works
whatever folder promptlint is run from and however the paths are spelled on the command line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Optional

from .types import Diagnostic, RunResult

VERSION = 1
GROWTH_RULE = "prompt-growth"


class BaselineError(Exception):
    """A missing or broken baseline file: one line, exit code 2."""


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _norm_ws(text: str) -> str:
    return " ".join(text.split())


def _prompt_hash(prompt) -> str:
    from .pipeline import prompt_key

    return prompt_key(prompt)


def rel_path(path: str, anchor: str) -> str:
    """``path`` relative to the folder ``anchor`` (forward slashes); as given when that is impossible."""
    try:
        rel = os.path.relpath(os.path.abspath(path), anchor)
    except ValueError:  # another drive (Windows)
        rel = path
    return rel.replace(os.sep, "/")


def anchor_of(baseline_file: str) -> str:
    return os.path.dirname(os.path.abspath(baseline_file))


class _Sources:
    """Decoded file texts (the same decoding as the pipeline, so diagnostic offsets line up), cached."""

    def __init__(self):
        self._cache: dict = {}

    def text(self, path: str) -> Optional[str]:
        if path not in self._cache:
            from .discover import kind_of
            from .pipeline import read_source

            src = read_source(path, kind_of(path) or "text")
            self._cache[path] = None if isinstance(src, str) else src.text
        return self._cache[path]

    def line(self, path: str, line: int) -> str:
        text = self.text(path)
        if text is None:
            return ""
        lines = text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


def fingerprint(d: Diagnostic, sources: _Sources) -> str:
    """Content identity of a finding within its (rule, path); independent of line numbers."""
    if d.prompt_key:
        reported = ""
        text = sources.text(d.path) if d.cell is None else None
        if text is not None and 0 <= d.start <= d.end <= len(text):
            reported = _norm_ws(text[d.start : d.end])
        return f"p:{d.prompt_key}:{_hash(reported)}"
    if d.cell is not None:
        return "c:"  # notebook code findings: no stable line text to key on; counted per file and rule
    return f"l:{_hash(_norm_ws(sources.line(d.path, d.line)))}"


def _finding_id(d: Diagnostic, anchor: str, sources: _Sources) -> tuple:
    return (d.rule, rel_path(d.path, anchor), fingerprint(d, sources))


# ------------------------------------------------------------------------------------------------ write


def build(result: RunResult, anchor: str) -> dict:
    """The baseline document of a run (a plain dict, JSON-ready, in a stable order)."""
    from . import __version__

    sources = _Sources()
    counts: Counter = Counter()
    first: dict = {}
    for d in result.diagnostics:
        if d.rule == GROWTH_RULE:
            continue  # relative to an older baseline; meaningless in a new one
        key = _finding_id(d, anchor, sources)
        counts[key] += 1
        first.setdefault(key, d)
    findings = []
    for key in sorted(counts, key=lambda k: (k[1], k[0], k[2])):
        d = first[key]
        findings.append({"rule": key[0], "code": d.code, "path": key[1], "fingerprint": key[2], "count": counts[key], "message": d.message})
    prompts = []
    for p in sorted(result.prompts, key=lambda p: (rel_path(p.path, anchor), p.line, p.column)):
        prompts.append(
            {
                "path": rel_path(p.path, anchor),
                "name": p.name,
                "role": p.role,
                "call": p.call,
                "hash": _prompt_hash(p),
                "tokens": p.tokens,
                "model": p.model,
                "line": p.line,
            }
        )
    return {"version": VERSION, "generator": f"promptlint {__version__}", "findings": findings, "tokens": prompts}


def write(path: str, result: RunResult) -> dict:
    from .fsutil import atomic_write_text

    doc = build(result, anchor_of(path))
    try:
        atomic_write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise BaselineError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None
    return doc


# ------------------------------------------------------------------------------------------------- read


@dataclass
class PromptRecord:
    path: str
    name: Optional[str]
    role: Optional[str]
    call: Optional[str]
    hash: str
    tokens: int


@dataclass
class Baseline:
    path: str
    anchor: str
    findings: dict = field(default_factory=dict)  # (rule, path, fingerprint) -> count
    prompts: list = field(default_factory=list)  # PromptRecord


def _bad(path: str, why: str) -> BaselineError:
    return BaselineError(f"{path}: not a valid promptlint baseline ({why}); re-create it with `promptlint check --write-baseline {path}`")


def _opt_str(v) -> bool:
    return v is None or isinstance(v, str)


def load(path: str) -> Baseline:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found (create it with `promptlint check --write-baseline {path}`)") from None
    except IsADirectoryError:
        raise BaselineError(f"{path}: baseline is a directory, not a file") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise _bad(path, "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise _bad(path, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise _bad(path, "top level is not an object")
    if "version" not in doc:
        raise _bad(path, "no 'version'")
    if doc["version"] != VERSION:
        raise _bad(path, f"unsupported version {doc['version']!r}; this promptlint reads version {VERSION}")
    findings_raw = doc.get("findings", [])
    prompts_raw = doc.get("tokens", [])
    if not isinstance(findings_raw, list):
        raise _bad(path, "'findings' is not a list")
    if not isinstance(prompts_raw, list):
        raise _bad(path, "'tokens' is not a list")
    bl = Baseline(path=path, anchor=anchor_of(path))
    for i, f in enumerate(findings_raw):
        if not (isinstance(f, dict) and all(isinstance(f.get(k), str) for k in ("rule", "path", "fingerprint"))):
            raise _bad(path, f"findings[{i}] needs string 'rule', 'path' and 'fingerprint'")
        n = f.get("count", 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise _bad(path, f"findings[{i}].count must be a positive integer")
        key = (f["rule"], f["path"], f["fingerprint"])
        bl.findings[key] = bl.findings.get(key, 0) + n
    for i, p in enumerate(prompts_raw):
        if not (isinstance(p, dict) and isinstance(p.get("path"), str) and isinstance(p.get("hash"), str)):
            raise _bad(path, f"tokens[{i}] needs string 'path' and 'hash'")
        t = p.get("tokens")
        if t is None:
            continue  # a prompt that could not be measured: nothing to ratchet
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise _bad(path, f"tokens[{i}].tokens must be a non-negative integer")
        if not all(_opt_str(p.get(k)) for k in ("name", "role", "call")):
            raise _bad(path, f"tokens[{i}]: 'name', 'role' and 'call' must be strings or null")
        bl.prompts.append(PromptRecord(p["path"], p.get("name"), p.get("role"), p.get("call"), p["hash"], t))
    return bl


# ------------------------------------------------------------------------------------------------ apply


@dataclass
class Outcome:
    result: RunResult
    baselined: int = 0  # findings hidden because the baseline has them
    grown: int = 0  # prompt-growth diagnostics added
    matched: int = 0  # prompts compared with a record


def filter_new(diagnostics, baseline: Baseline, sources: Optional[_Sources] = None):
    """(new diagnostics, number hidden). Per key, as many findings as the baseline counted are hidden."""
    sources = sources or _Sources()
    budget = dict(baseline.findings)
    new = []
    hidden = 0
    for d in sorted(diagnostics, key=lambda d: (d.path, d.line, d.column, d.code)):
        key = _finding_id(d, baseline.anchor, sources)
        if budget.get(key, 0) > 0:
            budget[key] -= 1
            hidden += 1
        else:
            new.append(d)
    keep = set(map(id, new))
    return [d for d in diagnostics if id(d) in keep], hidden


def match_prompts(prompts, baseline: Baseline):
    """[(prompt, record)] for current prompts whose text changed and that can be matched to one record."""
    anchor = baseline.anchor
    cur = [(rel_path(p.path, anchor), _prompt_hash(p), p) for p in prompts]
    recs = list(baseline.prompts)
    # 1. same file, same text: the same prompt, unchanged (consumed one for one)
    by_text = defaultdict(list)
    for r in recs:
        by_text[(r.path, r.hash)].append(r)
    rest_cur = []
    used = set()
    for path, h, p in cur:
        pool = by_text.get((path, h))
        if pool:
            used.add(id(pool.pop()))
        else:
            rest_cur.append((path, p))
    rest_rec = [r for r in recs if id(r) not in used]
    pairs = []

    def unique_pairs(key_cur, key_rec):
        cur_groups = defaultdict(list)
        rec_groups = defaultdict(list)
        for path, p in rest_cur:
            k = key_cur(path, p)
            if k is not None:
                cur_groups[k].append((path, p))
        for r in rest_rec:
            k = key_rec(r)
            if k is not None:
                rec_groups[k].append(r)
        out = []
        for k, cs in cur_groups.items():
            rs = rec_groups.get(k, [])
            if len(cs) == 1 and len(rs) == 1:
                out.append((cs[0], rs[0]))
        return out

    # 2. path::name (an edited named prompt)
    for (path, p), r in unique_pairs(lambda path, p: (path, p.name) if p.name else None, lambda r: (r.path, r.name) if r.name else None):
        pairs.append((p, r))
    done_cur = {id(p) for p, _ in pairs}
    done_rec = {id(r) for _, r in pairs}
    rest_cur = [(path, p) for path, p in rest_cur if id(p) not in done_cur]
    rest_rec = [r for r in rest_rec if id(r) not in done_rec]
    # 3. unnamed prompts: path + role + call, when unique on both sides (a whole-file template, an inline message)
    for (path, p), r in unique_pairs(lambda path, p: (path, p.role, p.call) if not p.name else None, lambda r: (r.path, r.role, r.call) if not r.name else None):
        pairs.append((p, r))
    return pairs


def _allowed_growth(recorded: int, fraction: float, absolute: int) -> int:
    return max(int(math.floor(recorded * fraction + 1e-9)), int(absolute))


def growth_diagnostics(prompts, baseline: Baseline, cfg, sources: Optional[_Sources] = None):
    """(prompt-growth diagnostics, number of prompts compared), honouring selection, per-file-ignores,
    severity overrides and ``# promptlint: disable`` comments like any rule."""
    from . import directives as _directives
    from .pipeline import prompt_key
    from .rules import enabled_rules, ignored_for_path, registry

    rule = next((r for r in enabled_rules(cfg) if r.name == GROWTH_RULE), None)
    pairs = match_prompts(prompts, baseline)
    if rule is None:
        return [], len(pairs)
    sources = sources or _Sources()
    reg = registry(cfg)
    fraction = float(cfg.baseline_tolerance or 0.0)
    absolute = rule.opts.get("tolerance-tokens", 0)
    if isinstance(absolute, bool) or not isinstance(absolute, (int, float)) or absolute < 0:
        from .config import ConfigError

        raise ConfigError(f"rule '{GROWTH_RULE}': option 'tolerance-tokens' must be a non-negative integer")
    out = []
    parsed: dict = {}
    for p, r in pairs:
        if p.tokens is None or p.tokens <= r.tokens + _allowed_growth(r.tokens, fraction, absolute):
            continue
        if ignored_for_path(cfg, p.path, rule):
            continue
        text = sources.text(p.path)
        if text is not None:
            from .discover import kind_of

            kind = kind_of(p.path) or "text"
            if p.path not in parsed:
                parsed[p.path] = (_directives.parse(text, kind), kind)
            d, kind = parsed[p.path]
            lines = {p.line}
            if p.get_meta("stmt_line"):
                lines.add(p.get_meta("stmt_line"))
            if kind not in ("python", "notebook"):
                lines |= {ln - 1 for ln in list(lines)}
            if _directives.is_suppressed(d, reg, rule, lines):
                continue
        grew = p.tokens - r.tokens
        pct = f", +{grew / r.tokens * 100:.1f}%" if r.tokens else ""
        label = f"Prompt {p.name}" if p.name else "Prompt"
        tol = []
        if fraction:
            tol.append(f"{fraction * 100:g}%")
        if absolute:
            tol.append(f"{int(absolute):,} tokens")
        tol_s = f", tolerance {' or '.join(tol)}" if tol else ""
        approx = "~" if p.approximate else ""
        msg = f"{label} grew from {approx}{r.tokens:,} to {approx}{p.tokens:,} tokens (+{grew:,}{pct}) since the baseline{tol_s}"
        out.append(
            Diagnostic(
                p.path, p.line, p.column, p.end_line, p.end_column, rule.code, rule.name, rule.severity, msg,
                None, None, p.start, p.end, p.cell, prompt_key(p),
            )
        )
    return out, len(pairs)


def apply(result: RunResult, baseline: Baseline, cfg) -> Outcome:
    """The run as `--baseline` reports it: only findings the baseline does not have, plus prompt growth."""
    sources = _Sources()
    new, hidden = filter_new([d for d in result.diagnostics if d.rule != GROWTH_RULE], baseline, sources)
    grown, matched = growth_diagnostics(result.prompts, baseline, cfg, sources)
    order = {}
    for d in list(result.diagnostics) + grown:
        order.setdefault(d.path, len(order))
    diags = sorted(new + grown, key=lambda d: (order[d.path], d.line, d.column, d.code))
    return Outcome(replace(result, diagnostics=diags), hidden, len(grown), matched)
