"""Reports of a run: text (ruff-like) and the JSON contract."""

from __future__ import annotations

import json
from collections import Counter as _Counter

from .types import Diagnostic, Prompt, RunResult

JSON_VERSION = 1


def location(path: str, line: int, column: int, cell=None) -> str:
    if cell is not None:
        return f"{path}:cell {cell}:{line}:{column}"
    return f"{path}:{line}:{column}"


def fix_marker(d: Diagnostic, unsafe: bool = False) -> str:
    if d.fix is None:
        return ""
    if d.fix.applicability == "safe" or unsafe:
        return "[*] "
    return ""


def tokens_str(p: Prompt) -> str:
    return f"~{p.tokens}" if p.approximate else str(p.tokens)


def prompt_json(p: Prompt, extra: dict = None) -> dict:
    d = {
        "path": p.path,
        "line": p.line,
        "column": p.column,
        "end_line": p.end_line,
        "end_column": p.end_column,
        "name": p.name,
        "source": p.source,
        "role": p.role,
        "call": p.call,
        "model": p.model,
        "encoding": p.encoding,
        "approximate": p.approximate,
        "tokens": p.tokens,
        "tokens_min": p.tokens_min,
        "tokens_max": p.tokens_max,
        "dynamic": p.dynamic,
        "placeholders": list(p.placeholders),
    }
    if p.cell is not None:
        d["cell"] = p.cell
    if extra:
        d.update(extra)
    return d


def diagnostic_json(d: Diagnostic, index_of=None) -> dict:
    fix = None
    if d.fix is not None:
        fix = {
            "applicability": d.fix.applicability,
            "message": d.fix.message,
            "tokens_saved": d.fix.tokens_saved,
            "edits": [],
        }
        if index_of is not None:
            idx = index_of(d.path)
            if idx is not None:
                for e in d.fix.edits:
                    l0, c0 = idx.position(e.start)
                    l1, c1 = idx.position(e.end)
                    fix["edits"].append({"line": l0, "column": c0, "end_line": l1, "end_column": c1, "content": e.content})
    out = {
        "path": d.path,
        "line": d.line,
        "column": d.column,
        "end_line": d.end_line,
        "end_column": d.end_column,
        "code": d.code,
        "rule": d.rule,
        "severity": d.severity,
        "message": d.message,
        "tokens_wasted": d.tokens_wasted,
        "fix": fix,
    }
    if d.cell is not None:
        out["cell"] = d.cell
    return out


def _index_loader():
    from .types import LineIndex

    cache = {}

    def index_of(path):
        if path not in cache:
            # decoded exactly as the linter read it (BOM stripped, the file's own encoding, newlines kept), so
            # edit offsets map to the same lines and columns as the diagnostics
            from .discover import kind_of
            from .pipeline import decode_source

            try:
                with open(path, "rb") as fh:
                    data = fh.read()
                src = decode_source(path, kind_of(path) or "text", data)
                cache[path] = LineIndex(src.text) if not isinstance(src, str) else None
            except OSError:
                cache[path] = None
        return cache[path]

    return index_of


def to_json(result: RunResult, prompt_extra=None) -> str:
    index_of = _index_loader()
    prompts = [prompt_json(p, prompt_extra(p) if prompt_extra else None) for p in result.prompts]
    diags = [diagnostic_json(d, index_of) for d in result.diagnostics]
    doc = {
        "version": JSON_VERSION,
        "files_scanned": result.files_scanned,
        "prompts": prompts,
        "diagnostics": diags,
        "summary": {
            "prompts": len(result.prompts),
            "tokens": sum(p.tokens or 0 for p in result.prompts),
            "diagnostics": len(result.diagnostics),
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def summary_line(result: RunResult) -> str:
    n = len(result.prompts)
    tok = sum(p.tokens or 0 for p in result.prompts)
    approx = any(p.approximate for p in result.prompts)
    files = result.files_scanned
    f = len(result.diagnostics)
    return (
        f"{n} prompt{'s' if n != 1 else ''} ({'~' if approx else ''}{tok:,} tokens) in {files} file{'s' if files != 1 else ''}; "
        f"{f} finding{'s' if f != 1 else ''}"
    )


def to_text(result: RunResult, unsafe_fixes: bool = False, show_fixes_hint: bool = True) -> str:
    lines = []
    for d in result.diagnostics:
        lines.append(f"{location(d.path, d.line, d.column, d.cell)}: {d.code} {fix_marker(d, unsafe_fixes)}{d.message}")
    if lines:
        lines.append("")
    lines.append(summary_line(result))
    wasted = sum(d.tokens_wasted or 0 for d in result.diagnostics)
    if wasted:
        lines.append(f"Waste: {wasted:,} tokens per call across findings.")
    safe = sum(1 for d in result.diagnostics if d.fix and d.fix.applicability == "safe")
    unsafe = sum(1 for d in result.diagnostics if d.fix and d.fix.applicability == "unsafe")
    if show_fixes_hint and (safe or unsafe):
        msg = []
        if unsafe_fixes:  # every fix is marked [*]: they all need --unsafe-fixes to be applied together
            msg.append(f"[*] {safe + unsafe} fixable with `promptlint fix --unsafe-fixes`")
        else:
            if safe:
                msg.append(f"[*] {safe} fixable with `promptlint fix`")
            if unsafe:
                msg.append(f"{unsafe} {'more ' if safe else ''}with `promptlint fix --unsafe-fixes`")
        lines.append("; ".join(msg) + ".")
    return "\n".join(lines) + "\n"


def to_concise(result: RunResult) -> str:
    return "".join(f"{location(d.path, d.line, d.column, d.cell)}: {d.code} {d.message}\n" for d in result.diagnostics)


def statistics(result: RunResult) -> str:
    c = _Counter((d.code, d.rule) for d in result.diagnostics)
    wasted = _Counter()
    fixable = _Counter()
    for d in result.diagnostics:
        wasted[(d.code, d.rule)] += d.tokens_wasted or 0
        if d.fix:
            fixable[(d.code, d.rule)] += 1
    lines = []
    for (code, rule), n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0])):
        fx = "[*]" if fixable[(code, rule)] else "   "
        lines.append(f"{n:>5}  {code:<6} {fx} {rule:<24} {wasted[(code, rule)]:>8,} tokens/call")
    return "\n".join(lines) + ("\n" if lines else "")


def tokens_table(result: RunResult, fmt: str = "text") -> str:
    prompts = sorted(result.prompts, key=lambda p: (-(p.tokens or 0), p.path, p.line))
    if fmt == "json":
        return json.dumps([prompt_json(p) for p in prompts], indent=2, ensure_ascii=False)
    rows = [("LOCATION", "NAME", "CALL", "MODEL", "TOKENS", "DYNAMIC")]
    for p in prompts:
        rows.append(
            (
                location(p.path, p.line, p.column, p.cell),
                p.name or (f"[{p.role}]" if p.role else "-"),
                p.call or "-",
                p.model or "-",
                tokens_str(p) + (f" ({p.tokens_min}-{p.tokens_max})" if p.tokens_min is not None else ""),
                ", ".join(p.placeholders) if p.placeholders else "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        out.append("  ".join(c.ljust(widths[i]) if i != 4 else c.rjust(widths[i]) for i, c in enumerate(r)).rstrip())
    total = sum(p.tokens or 0 for p in prompts)
    approx = any(p.approximate for p in prompts)
    out.append("")
    out.append(f"{len(prompts)} prompts, {'~' if approx else ''}{total:,} tokens (static text; placeholders not counted)")
    return "\n".join(out) + "\n"
