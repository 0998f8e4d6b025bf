"""``promptlint diff --base REF``: every prompt of a git ref compared with the working tree.

The ref's files are read with ``git ls-tree`` and ``git cat-file --batch`` (one git process for all blobs
rather than one ``git show`` per file; no shell), written into a temporary folder that mirrors the
repository's layout (with a ``.git`` marker, so ``.gitignore`` files, config lookup and discovery behave as in
a checkout), and both trees go through the normal pipeline. Each side uses its own configuration (the
ref's pyproject.toml/promptlint.toml as it was then); an explicit ``--config`` and ``--model`` apply to both.

Prompts are matched, in order:
1. same file and name (``path::name``), pairing equal texts first, then in line order;
2. same text anywhere (a moved prompt or a renamed file);
3. same name when the old file is gone and the new one is new (a renamed file whose prompt was also edited);
4. same file, role and call (names compatible), nearest line first;
the rest are added or removed. Paths are shown relative to the repository root.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Optional

CONFIG_NAMES = frozenset({".gitignore", "pyproject.toml", "promptlint.toml", ".promptlint.toml"})
JSON_VERSION = 1


class DiffError(Exception):
    """Not a git repository, a bad ref, a path outside the repository: one line, exit code 2."""


# ------------------------------------------------------------------------------------------------ git


def _git(args, cwd, input_bytes=None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input_bytes, capture_output=True, check=False)
    except FileNotFoundError:
        raise DiffError("git is not installed (promptlint diff reads the base ref with git)") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _GitFailed(msg[-1] if msg else f"git {args[0]} failed")
    return proc.stdout


class _GitFailed(Exception):
    pass


def repo_root(cwd: str) -> str:
    try:
        out = _git(["rev-parse", "--show-toplevel"], cwd)
    except _GitFailed:
        raise DiffError(f"{os.path.abspath(cwd)} is not inside a git repository (promptlint diff compares with a git ref)") from None
    root = out.decode("utf-8", "surrogateescape").strip()
    if not root:
        raise DiffError("a bare git repository has no working tree to compare")
    return root


def resolve_ref(ref: str, root: str) -> str:
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n"):
        raise DiffError(f"invalid git ref {ref!r}")
    try:
        out = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    except _GitFailed:
        out = b""
    sha = out.decode().strip()
    if not sha:
        hint = ""
        if "/" in ref:
            hint = " (in CI fetch it first, e.g. `git fetch origin main` or actions/checkout with `fetch-depth: 0`)"
        raise DiffError(f"unknown git ref '{ref}'{hint}")
    return sha


def _tree_blobs(sha: str, root: str):
    """[(path, blob id)] of regular files at the commit (symlinks and submodules skipped)."""
    out = _git(["ls-tree", "-r", "-z", "--full-tree", sha], root)
    blobs = []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, typ, oid = meta.split(b" ")
        if typ != b"blob" or mode == b"120000":
            continue
        blobs.append((path.decode("utf-8", "surrogateescape"), oid.decode()))
    return blobs


def _read_blobs(oids, root: str):
    """Yield (oid, bytes) through one ``git cat-file --batch`` process, one request at a time."""
    try:
        proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        raise DiffError("git is not installed (promptlint diff reads the base ref with git)") from None
    try:
        for oid in oids:
            proc.stdin.write(oid.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3:
                raise DiffError(f"git cat-file could not read object {oid}")
            size = int(header[2])
            data = proc.stdout.read(size)
            proc.stdout.read(1)  # the newline after the contents
            yield oid, data
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass
        proc.stdout.close()
        proc.wait()


def materialize(sha: str, root: str, dest: str, wanted) -> int:
    """Write the commit's files that ``wanted(path)`` accepts under ``dest``; return how many."""
    blobs = [(p, oid) for p, oid in _tree_blobs(sha, root) if wanted(p)]
    by_oid = defaultdict(list)
    for p, oid in blobs:
        by_oid[oid].append(p)
    n = 0
    for oid, data in _read_blobs(list(by_oid), root):
        for p in by_oid[oid]:
            target = os.path.join(dest, *p.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as fh:
                fh.write(data)
            n += 1
    os.makedirs(os.path.join(dest, ".git"), exist_ok=True)  # a repository marker for .gitignore lookup
    return n


# --------------------------------------------------------------------------------------------- model


@dataclass
class Entry:
    path: str  # relative to the repository root, forward slashes
    name: Optional[str]
    role: Optional[str]
    call: Optional[str]
    line: int
    hash: str
    tokens: int
    approximate: bool
    model: Optional[str]
    cost: Optional[float]  # $ per call, input side (None: the model has no price)
    monthly: Optional[float] = None  # $ per month when the prompt has a calls-per-day rate

    @property
    def label(self) -> str:
        if self.name:
            return f"{self.path}::{self.name}"
        bits = [f"{self.path}:{self.line}"]
        if self.role:
            bits.append(f"[{self.role}]")
        if self.call:
            bits.append(self.call)
        return " ".join(bits)

    def as_json(self) -> dict:
        return {
            "path": self.path,
            "name": self.name,
            "role": self.role,
            "call": self.call,
            "line": self.line,
            "tokens": self.tokens,
            "approximate": self.approximate,
            "model": self.model,
            "cost_per_call": round_money(self.cost),
            "monthly_cost": round_money(self.monthly),
        }


@dataclass
class Change:
    status: str  # added | removed | changed | moved
    old: Optional[Entry]
    new: Optional[Entry]

    @property
    def delta(self) -> int:
        return (self.new.tokens if self.new else 0) - (self.old.tokens if self.old else 0)

    @property
    def cost_delta(self) -> Optional[float]:
        a = self.old.cost if self.old else 0.0
        b = self.new.cost if self.new else 0.0
        if a is None or b is None:
            return None
        return b - a

    @property
    def monthly_delta(self) -> Optional[float]:
        """$ per month; None unless every side present has a call rate and a price."""
        sides = [e for e in (self.old, self.new) if e is not None]
        if any(e.monthly is None for e in sides):
            return None
        return (self.new.monthly if self.new else 0.0) - (self.old.monthly if self.old else 0.0)

    @property
    def entry(self) -> Entry:
        return self.new or self.old


@dataclass
class DiffResult:
    base: str
    base_commit: str
    changes: list = field(default_factory=list)
    unchanged: int = 0
    base_tokens: int = 0
    head_tokens: int = 0
    base_cost: Optional[float] = 0.0  # $ for one call of every prompt (None: a model without a price)
    head_cost: Optional[float] = 0.0
    base_monthly: Optional[float] = None  # $ per month over prompts with a calls-per-day rate (None: none has one)
    head_monthly: Optional[float] = None
    approximate: bool = False
    warnings: list = field(default_factory=list)

    @property
    def delta(self) -> int:
        return self.head_tokens - self.base_tokens

    @property
    def percent(self) -> float:
        """Growth of the total static tokens in percent (inf when the base had none and now there are some)."""
        if self.base_tokens == 0:
            return 0.0 if self.head_tokens == 0 else math.inf
        return self.delta / self.base_tokens * 100.0

    def count(self, status: str) -> int:
        return sum(1 for c in self.changes if c.status == status)


def round_money(x: Optional[float]) -> Optional[float]:
    from .costs import round_money as _r

    return _r(x)


def entries(prompts, to_rel, cfg) -> list:
    """Comparable records of one side's prompts, priced with that side's config (promptlint.costs)."""
    from .costs import PriceBook
    from .pipeline import prompt_key

    book = PriceBook(cfg)
    out = []
    for p in prompts:
        if p.tokens is None:
            continue
        c = book.prompt_cost(p)
        out.append(Entry(to_rel(p.path), p.name, p.role, p.call, p.line, prompt_key(p), p.tokens, p.approximate, p.model, c.cost_per_call, c.monthly_cost))
    return out


def match(old: list, new: list):
    """[(old entry | None, new entry | None)] pairing every entry of both sides exactly once."""
    free_old = list(old)
    free_new = list(new)
    pairs = []

    def take(pairs_found):
        used_o = {id(o) for o, _ in pairs_found}
        used_n = {id(n) for _, n in pairs_found}
        pairs.extend(pairs_found)
        free_old[:] = [o for o in free_old if id(o) not in used_o]
        free_new[:] = [n for n in free_new if id(n) not in used_n]

    def group(items, key):
        g = defaultdict(list)
        for it in items:
            k = key(it)
            if k is not None:
                g[k].append(it)
        return g

    # 1. path::name; equal texts first, then line order
    found = []
    go = group(free_old, lambda e: (e.path, e.name) if e.name else None)
    gn = group(free_new, lambda e: (e.path, e.name) if e.name else None)
    for k, ns in gn.items():
        os_ = list(go.get(k, []))
        if not os_:
            continue
        rest_n = []
        for n in sorted(ns, key=lambda e: e.line):
            same = next((o for o in os_ if o.hash == n.hash), None)
            if same is not None:
                os_.remove(same)
                found.append((same, n))
            else:
                rest_n.append(n)
        for o, n in zip(sorted(os_, key=lambda e: e.line), rest_n):
            found.append((o, n))
    take(found)

    # 2. same text anywhere (moved): the same file first, then line order
    found = []
    go = group(free_old, lambda e: e.hash)
    for n in sorted(free_new, key=lambda e: (e.path, e.line)):
        cands = go.get(n.hash)
        if cands:
            o = min(cands, key=lambda e: (e.path != n.path, abs(e.line - n.line)))
            cands.remove(o)
            found.append((o, n))
    take(found)

    # 3. a renamed file whose prompts were also edited: same name, old file gone, new file new
    old_paths = {e.path for e in old}
    new_paths = {e.path for e in new}
    go = group([o for o in free_old if o.path not in new_paths], lambda e: e.name)
    gn = group([n for n in free_new if n.path not in old_paths], lambda e: e.name)
    take([(go[k][0], ns[0]) for k, ns in gn.items() if len(ns) == 1 and len(go.get(k, [])) == 1])

    # 4. same file, role and call, names compatible: nearest line first
    found = []
    cand = []
    for o in free_old:
        for n in free_new:
            if (o.path, o.role, o.call) != (n.path, n.role, n.call):
                continue
            if o.name and n.name and o.name != n.name:
                continue
            cand.append((abs(o.line - n.line), o.line, n.line, o, n))
    used_o, used_n = set(), set()
    for _d, _lo, _ln, o, n in sorted(cand, key=lambda t: t[:3]):
        if id(o) in used_o or id(n) in used_n:
            continue
        used_o.add(id(o))
        used_n.add(id(n))
        found.append((o, n))
    take(found)

    pairs.extend((o, None) for o in free_old)
    pairs.extend((None, n) for n in free_new)
    return pairs


def compare(old: list, new: list, base: str, sha: str) -> DiffResult:
    res = DiffResult(base=base, base_commit=sha)
    res.base_tokens = sum(e.tokens for e in old)
    res.head_tokens = sum(e.tokens for e in new)
    res.base_cost = None if any(e.cost is None for e in old) else sum(e.cost for e in old)
    res.head_cost = None if any(e.cost is None for e in new) else sum(e.cost for e in new)
    if any(e.monthly is not None for e in old + new):
        res.base_monthly = sum(e.monthly for e in old if e.monthly is not None)
        res.head_monthly = sum(e.monthly for e in new if e.monthly is not None)
    res.approximate = any(e.approximate for e in old + new)
    for o, n in match(old, new):
        if o is None:
            res.changes.append(Change("added", None, n))
        elif n is None:
            res.changes.append(Change("removed", o, None))
        elif o.hash != n.hash or o.tokens != n.tokens or o.model != n.model:
            res.changes.append(Change("changed", o, n))
        elif o.path != n.path:
            res.changes.append(Change("moved", o, n))
        else:
            res.unchanged += 1
    order = {"changed": 0, "added": 1, "removed": 2, "moved": 3}
    res.changes.sort(key=lambda c: (-abs(c.delta), order[c.status], c.entry.path, c.entry.line))
    return res


# ------------------------------------------------------------------------------------------------- run


def _rel_to(path: str, root: str) -> Optional[str]:
    for f in (os.path.abspath, os.path.realpath):
        try:
            rel = os.path.relpath(f(path), root)
        except ValueError:
            continue
        if rel != ".." and not rel.startswith(".." + os.sep):
            return "." if rel == "." else rel.replace(os.sep, "/")
    return None


def _prompts_only(cfg):
    """Discovery and measurement only: the diff needs prompts, not findings (syntax errors kept to warn)."""
    return replace(cfg, select=("PL001", "PL002"), extend_select=(), ignore=(), per_file_ignores=())


def _base_config(head_cfg, config_path, overrides, base_paths, tmp, root, warnings):
    from .config import ConfigError, load
    from .lexical import RuleFileError

    explicit = None
    if config_path:
        rel = _rel_to(config_path, root)
        if rel is not None and os.path.isfile(os.path.join(tmp, rel)):
            explicit = os.path.join(tmp, rel)
        else:
            return _rerooted(head_cfg, root, tmp)
    try:
        return load(base_paths, explicit, overrides)
    except (ConfigError, RuleFileError) as exc:
        warnings.append(f"the configuration at the base ref is not usable ({exc}); using the working tree's")
        return _rerooted(head_cfg, root, tmp)


def _rerooted(cfg, root, tmp):
    rel = _rel_to(cfg.root, root)
    return replace(cfg, root=os.path.join(tmp, rel) if rel is not None else cfg.root)


def run_diff(base: str, paths, head_cfg, config_path=None, overrides=None, cwd=None, use_cache=None, jobs=None) -> DiffResult:
    """Compare the prompts of PATHS at ``base`` with the working tree. ``use_cache``/``jobs`` apply to the
    working tree's run; the base's temporary tree is never cached."""
    from .pipeline import run

    cwd = cwd or os.getcwd()
    root = repo_root(cwd)
    sha = resolve_ref(base, root)
    paths = list(paths) or ["."]
    rels = []
    for p in paths:
        rel = _rel_to(os.path.join(cwd, p), root)
        if rel is None:
            raise DiffError(f"{p}: outside the git repository {root}")
        rels.append(rel)
    rule_dirs = [r for r in (_rel_to(os.path.join(head_cfg.root, d), root) for d in head_cfg.rule_dirs) if r is not None]

    from .discover import kind_of

    def wanted(path: str) -> bool:
        """Config and ignore files anywhere; under PATHS and rule-dirs, what promptlint could read."""
        if path.rsplit("/", 1)[-1] in CONFIG_NAMES:
            return True
        if kind_of(path) is None:
            return False  # binaries, other languages: never discovered, not written
        for scope in rels + rule_dirs:
            if scope == "." or path == scope or path.startswith(scope.rstrip("/") + "/"):
                return True
        return False

    tmp = tempfile.mkdtemp(prefix="promptlint-diff-")
    warnings: list = []
    try:
        materialize(sha, root, tmp, wanted)
        head_paths = [os.path.join(cwd, p) if not os.path.isabs(p) else p for p in paths]
        base_paths = [os.path.join(tmp, rel) if rel != "." else tmp for rel in rels]
        head_exist = [p for p in head_paths if os.path.exists(p)]
        base_exist = [p for p in base_paths if os.path.exists(p)]
        for given, h, b in zip(paths, head_paths, base_paths):
            if not os.path.exists(h) and not os.path.exists(b):
                raise DiffError(f"{given}: no such file or directory (in the working tree or at {base})")
        base_cfg = _base_config(head_cfg, config_path, overrides, base_exist or [tmp], tmp, root, warnings)
        old_res = run(base_exist, _prompts_only(base_cfg), errors=warnings, use_cache=False, jobs=jobs) if base_exist else None
        new_res = run(head_exist, _prompts_only(head_cfg), errors=warnings, use_cache=use_cache, jobs=jobs) if head_exist else None
        old = entries(old_res.prompts, lambda p: _rel_to(p, tmp) or p, base_cfg) if old_res else []
        new = entries(new_res.prompts, lambda p: _rel_to(p, root) or p, head_cfg) if new_res else []
        for label, res, to_rel in (("base", old_res, lambda p: _rel_to(p, tmp) or p), ("working tree", new_res, lambda p: _rel_to(p, root) or p)):
            for d in res.diagnostics if res else ():
                warnings.append(f"{label}: {to_rel(d.path)}:{d.line}: {d.message}; its prompts are not compared")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = compare(old, new, base, sha)
    result.warnings = [w.replace(tmp + os.sep, "").replace(tmp, ".") for w in warnings]
    return result


# ---------------------------------------------------------------------------------------------- render


def _tok(n: int, approx: bool) -> str:
    return f"{'~' if approx else ''}{n:,}"


def _signed(n: int) -> str:
    return f"+{n:,}" if n > 0 else (f"-{-n:,}" if n < 0 else "0")


def _pct(old: int, new: int) -> str:
    if old == 0:
        return "new" if new else "0%"
    p = (new - old) / old * 100
    return f"{'+' if p > 0 else ''}{p:.1f}%"


def money(x: Optional[float], signed: bool = False) -> str:
    """promptlint.costs.money, with an explicit sign for deltas."""
    from .costs import money as _money

    if x is None:
        return "n/a"
    x = round_money(x)
    sign = ("+" if x > 0 else ("-" if x < 0 else "")) if signed else ""
    return sign + _money(abs(x))


def _has_monthly(res: DiffResult) -> bool:
    return res.base_monthly is not None


def _row(c: Change, monthly: bool):
    """[status, prompt, tokens, delta, percent, $/call delta, ($/month delta,) note] for one change."""
    e = c.new or c.old
    if c.status == "added":
        tokens = _tok(c.new.tokens, e.approximate)
    elif c.status in ("removed", "moved"):
        tokens = _tok(e.tokens, e.approximate)
    else:
        tokens = f"{_tok(c.old.tokens, c.old.approximate)} -> {_tok(c.new.tokens, c.new.approximate)}"
    notes = []
    if c.old and c.new and c.old.path != c.new.path:
        notes.append(f"from {c.old.path}" + (f"::{c.old.name}" if c.old.name and c.old.name != c.new.name else ""))
    elif c.old and c.new and c.old.name and c.old.name != c.new.name:
        notes.append(f"was {c.old.name}")
    if c.old and c.new and c.old.model != c.new.model:
        notes.append(f"model {c.old.model} -> {c.new.model}")
    if c.status == "changed" and c.delta == 0 and c.old.hash != c.new.hash:
        notes.append("text changed")
    pct = _pct(c.old.tokens, c.new.tokens) if c.status == "changed" else ""
    row = [c.status, e.label, tokens, _signed(c.delta), pct, money(c.cost_delta, signed=True)]
    if monthly:
        row.append(money(c.monthly_delta, signed=True) if c.monthly_delta is not None else "-")
    row.append("; ".join(notes))
    return row


def _counts(res: DiffResult) -> str:
    return (
        f"{res.count('changed')} changed, {res.count('added')} added, {res.count('removed')} removed, "
        f"{res.count('moved')} moved, {res.unchanged} unchanged"
    )


def _total(res: DiffResult) -> str:
    a = res.approximate
    pct = "new" if math.isinf(res.percent) else f"{'+' if res.percent > 0 else ''}{res.percent:.1f}%"
    return f"{_tok(res.base_tokens, a)} -> {_tok(res.head_tokens, a)} tokens ({_signed(res.delta)}, {pct})"


def _cost_line(res: DiffResult) -> str:
    if res.base_cost is None or res.head_cost is None:
        out = "input cost per call: n/a (a model without a price)"
    else:
        out = f"input cost of one call of every prompt: {money(res.base_cost)} -> {money(res.head_cost)} ({money(res.head_cost - res.base_cost, signed=True)})"
    if _has_monthly(res):
        out += f"; per month at the configured call rates: {money(res.base_monthly)} -> {money(res.head_monthly)} ({money(res.head_monthly - res.base_monthly, signed=True)})"
    return out


def to_text(res: DiffResult) -> str:
    lines = [f"Prompts vs {res.base} ({res.base_commit[:10]}): {_counts(res)}"]
    monthly = _has_monthly(res)
    if res.changes:
        rows = [_row(c, monthly) for c in res.changes]
        ncols = len(rows[0]) - 1  # the note goes last, in parentheses
        widths = [max(len(r[i]) for r in rows) for i in range(ncols)]
        lines.append("")
        for r in rows:
            cells = [r[i].ljust(widths[i]) if i < 2 else r[i].rjust(widths[i]) for i in range(ncols)]
            line = "  ".join(cells).rstrip()
            if r[-1]:
                line += f"  ({r[-1]})"
            lines.append(line)
        lines.append("")
    lines.append(f"Total: {_total(res)}; {_cost_line(res)}")
    return "\n".join(lines) + "\n"


def _md(s: str) -> str:
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")


def to_markdown(res: DiffResult) -> str:
    """A PR comment: a heading, the total, one table row per added/removed/changed/moved prompt."""
    monthly = _has_monthly(res)
    out = [f"### promptlint: prompt tokens vs `{_md(res.base)}`", ""]
    out.append(f"**Total: {_total(res).replace('->', '→')}** · {_cost_line(res).replace('->', '→')}")
    out.append("")
    if res.changes:
        head = ["", "Prompt", "Tokens", "Δ tokens", "Δ %", "Δ $/call"] + (["Δ $/month"] if monthly else []) + ["Note"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 3) + ["---"]) + "|")
        for r in (_row(c, monthly) for c in res.changes):
            cells = [r[0], f"`{_md(r[1])}`", r[2].replace("->", "→")] + r[3:-1] + [_md(r[-1]).replace("->", "→")]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    else:
        out.append("No prompt changed.")
        out.append("")
    out.append(f"{_counts(res)} · base `{res.base_commit[:10]}` · static tokens (placeholders not counted)")
    return "\n".join(out) + "\n"


def to_json(res: DiffResult) -> str:
    import json

    changes = []
    for c in res.changes:
        changes.append(
            {
                "status": c.status,
                "old": c.old.as_json() if c.old else None,
                "new": c.new.as_json() if c.new else None,
                "tokens_delta": c.delta,
                "cost_delta": round_money(c.cost_delta),
                "monthly_cost_delta": round_money(c.monthly_delta),
            }
        )
    doc = {
        "version": JSON_VERSION,
        "base": res.base,
        "base_commit": res.base_commit,
        "changes": changes,
        "summary": {
            "changed": res.count("changed"),
            "added": res.count("added"),
            "removed": res.count("removed"),
            "moved": res.count("moved"),
            "unchanged": res.unchanged,
            "base_tokens": res.base_tokens,
            "head_tokens": res.head_tokens,
            "tokens_delta": res.delta,
            "percent": None if math.isinf(res.percent) else round(res.percent, 4),
            "base_cost_per_call": round_money(res.base_cost),
            "head_cost_per_call": round_money(res.head_cost),
            "base_monthly_cost": round_money(res.base_monthly),
            "head_monthly_cost": round_money(res.head_monthly),
            "approximate": res.approximate,
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render(res: DiffResult, fmt: str) -> str:
    return {"text": to_text, "markdown": to_markdown, "json": to_json}[fmt](res)


def exceeds(res: DiffResult, pct: Optional[float]) -> bool:
    """--fail-on-increase: total static tokens grew by more than ``pct`` percent (any growth from zero)."""
    if pct is None:
        return False
    return res.delta > 0 and res.percent > pct
