"""Machine and CI formats of `check`: SARIF 2.1.0, GitHub workflow annotations, JUnit XML, Markdown.

(``text``, ``concise`` and ``json`` live in output.py.) Every renderer takes the finished RunResult and the
config and returns the whole document as one string; cli.py writes it to stdout or, atomically, to a file.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Optional

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
FORMATS = ("sarif", "github", "junit", "markdown")
STATISTICS_FORMATS = ("text", "concise", "json", "markdown")
SEV_RANK = {"info": 0, "warning": 1, "error": 2}


def render(fmt: str, result, cfg, paths=None) -> str:
    if fmt == "sarif":
        return to_sarif(result, cfg)
    if fmt == "github":
        return to_github(result, cfg)
    if fmt == "junit":
        return to_junit(result, cfg, paths)
    if fmt == "markdown":
        return to_markdown(result, cfg)
    raise ValueError(f"unknown format {fmt!r}")


# ------------------------------------------------------------------------------------------------ shared


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("promptlint")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def _information_uri() -> Optional[str]:
    """The project's home page from the installed metadata ([project.urls]), if it declares one."""
    from importlib import metadata

    try:
        md = metadata.metadata("promptlint")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return None
    urls = {}
    for entry in md.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        urls[label.strip().lower()] = url.strip()
    for label in ("homepage", "documentation", "repository", "source"):
        if urls.get(label):
            return urls[label]
    home = md.get("Home-page")
    return home or (next(iter(urls.values())) if urls else None)


def rel_path(path: str) -> str:
    """A path relative to the working directory when it is under it, with forward slashes."""
    p = path
    if os.path.isabs(p):
        rel = os.path.relpath(p)
        if not rel.startswith(".."):
            p = rel
    p = p.replace(os.sep, "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def _file_texts():
    from .fsutil import text_reader

    return text_reader()


def _rules_used(result, cfg):
    """Rule classes for the SARIF driver: every enabled rule plus any rule a diagnostic names."""
    from .rules import enabled_rules, registry

    reg = registry(cfg)
    out = {}
    for r in enabled_rules(cfg):
        out[r.code] = r
    for d in result.diagnostics:
        if d.code not in out:
            r = reg.get(d.code)
            out[d.code] = r() if r is not None else None
    return [out[k] for k in sorted(out)], reg


def _summary(result) -> dict:
    return {
        "prompts": len(result.prompts),
        "tokens": sum(p.tokens or 0 for p in result.prompts),
        "approximate": any(p.approximate for p in result.prompts),
        "files": result.files_scanned,
        "findings": len(result.diagnostics),
        "waste": sum(d.tokens_wasted or 0 for d in result.diagnostics),
    }


# ------------------------------------------------------------------------------------------------- SARIF


def _sarif_rule(code, r, cfg) -> dict:
    if r is None:
        return {"id": code, "shortDescription": {"text": code}}
    docs = r.docs
    full = docs.what.strip() if docs is not None else r.summary
    help_text = r.doc_text() if docs is not None else r.summary
    level = SARIF_LEVEL.get(r.severity, "warning")
    rule = {
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": level},
        "properties": {"fix": r.fix or "none", "tags": ["promptlint", "tokens"]},
    }
    return rule


def _region(line, column, end_line, end_column) -> dict:
    region = {"startLine": max(1, line), "startColumn": max(1, column)}
    if end_line and end_line >= line:
        region["endLine"] = end_line
        ec = end_column if end_line > line else max(end_column or column, column)
        region["endColumn"] = max(1, ec)
    return region


def to_sarif(result, cfg) -> str:
    from .types import LineIndex

    rules, _reg = _rules_used(result, cfg)
    codes = [getattr(r, "code", None) for r in rules]
    index = {}
    driver_rules = []
    for i, r in enumerate(rules):
        code = codes[i]
        if code is None:
            continue
        index[code] = len(driver_rules)
        driver_rules.append(_sarif_rule(code, r, cfg))
    for d in result.diagnostics:  # rules unknown to the registry (should not happen) still get an entry
        if d.code not in index:
            index[d.code] = len(driver_rules)
            driver_rules.append({"id": d.code, "name": d.rule, "shortDescription": {"text": d.rule}})
    text_of = _file_texts()
    results = []
    for d in result.diagnostics:
        uri = _uri(rel_path(d.path))
        loc = {"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}}
        message = d.message
        if d.cell is not None:
            # the line/column count inside a notebook cell, not inside the .ipynb JSON: name the cell
            message = f"cell {d.cell}, line {d.line}: {message}"
        else:
            loc["physicalLocation"]["region"] = _region(d.line, d.column, d.end_line, d.end_column)
        res = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": SARIF_LEVEL.get(d.severity, "warning"),
            "message": {"text": message},
            "locations": [loc],
            "properties": {"rule": d.rule, "severity": d.severity, "tokens_wasted": d.tokens_wasted},
        }
        if d.fix is not None and d.fix.edits and d.cell is None:
            text = text_of(d.path)
            if text is not None:
                idx = LineIndex(text)
                reps = []
                for e in d.fix.edits:
                    l0, c0 = idx.position(e.start)
                    l1, c1 = idx.position(e.end)
                    reps.append({"deletedRegion": {"startLine": l0, "startColumn": c0, "endLine": l1, "endColumn": c1}, "insertedContent": {"text": e.content}})
                res["fixes"] = [
                    {
                        "description": {"text": f"{d.fix.message or 'Apply the fix'} ({d.fix.applicability})"},
                        "artifactChanges": [{"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "replacements": reps}],
                    }
                ]
                res["properties"]["fix_applicability"] = d.fix.applicability
        results.append(res)
    driver = {"name": "promptlint", "version": _version(), "semanticVersion": _version(), "rules": driver_rules}
    info = _information_uri()
    if info:
        driver["informationUri"] = info
    root = os.getcwd().replace(os.sep, "/")
    if not root.endswith("/"):
        root += "/"
    if not root.startswith("/"):
        root = "/" + root
    run = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": "file://" + _uri(root)}},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": _summary(result),
    }
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _uri(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/:@!$&'()*+,;=-._~")


# ------------------------------------------------------------------------------------------------ GitHub


def gh_data(s: str) -> str:
    """Escape a workflow command's message."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_prop(s: str) -> str:
    """Escape a workflow command's property value."""
    return gh_data(s).replace(":", "%3A").replace(",", "%2C")


def to_github(result, cfg) -> str:
    lines = []
    for d in result.diagnostics:
        level = GITHUB_LEVEL.get(d.severity, "warning")
        props = [f"file={gh_prop(rel_path(d.path))}"]
        message = d.message
        if d.cell is not None:
            message = f"cell {d.cell}, line {d.line}: {message}"
        else:
            props += [f"line={d.line}", f"col={d.column}"]
            if d.end_line and d.end_line >= d.line:
                props += [f"endLine={d.end_line}", f"endColumn={d.end_column}"]
        props.append(f"title={gh_prop(f'{d.code} {d.rule}')}")
        lines.append(f"::{level} {','.join(props)}::{gh_data(message)}")
    return "".join(x + "\n" for x in lines)


# ------------------------------------------------------------------------------------------------- JUnit


def _checked_files(result, paths, cfg):
    files = []
    if paths:
        from .discover import discover

        try:
            files = [p for p, _k in discover(paths, cfg, [])]
        except Exception:  # discovery already ran once; a second walk must not turn a report into a crash
            files = []
    seen = set(files)
    for x in list(result.prompts) + list(result.diagnostics):
        if x.path not in seen:
            seen.add(x.path)
            files.append(x.path)
    return files


def to_junit(result, cfg, paths=None) -> str:
    import xml.etree.ElementTree as ET

    from .output import location

    limit = SEV_RANK.get(cfg.fail_on, 1)
    files = _checked_files(result, paths, cfg)
    by_file = {}
    for d in result.diagnostics:
        by_file.setdefault(d.path, []).append(d)
    prompts = Counter(p.path for p in result.prompts)
    suites = ET.Element("testsuites", name="promptlint")
    suite = ET.SubElement(suites, "testsuite", name="promptlint")
    failures = 0
    for path in files:
        case = ET.SubElement(suite, "testcase", classname="promptlint", name=rel_path(path), file=rel_path(path))
        below = []
        for d in by_file.get(path, []):
            text = f"{location(d.path, d.line, d.column, d.cell)}: {d.code} {d.message}"
            if SEV_RANK.get(d.severity, 1) >= limit:
                f = ET.SubElement(case, "failure", message=_xml_safe(f"{d.code} {d.message}"), type=f"{d.code} {d.rule}")
                f.text = _xml_safe(text)
                failures += 1
            else:
                below.append(f"{d.severity}: {text}")
        n = prompts.get(path, 0)
        out = [f"{n} prompt{'s' if n != 1 else ''}"] + below
        so = ET.SubElement(case, "system-out")
        so.text = _xml_safe("\n".join(out))
    s = _summary(result)
    attrs = {"tests": str(len(files)), "failures": str(failures), "errors": "0", "skipped": "0", "time": "0"}
    for k, v in attrs.items():
        suite.set(k, v)
        suites.set(k, v)
    props = ET.Element("properties")
    for k in ("prompts", "tokens", "findings", "waste"):
        ET.SubElement(props, "property", name=k, value=str(s[k]))
    suite.insert(0, props)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _xml_safe(s: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters, lone surrogates)."""
    out = []
    for ch in s:
        o = ord(ch)
        if o in (0x9, 0xA, 0xD) or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or 0x10000 <= o <= 0x10FFFF:
            out.append(ch)
        else:
            out.append("\N{REPLACEMENT CHARACTER}")
    return "".join(out)


# ---------------------------------------------------------------------------------------------- Markdown


def md_cell(s: str) -> str:
    """Text for a Markdown table cell: one line, no table breaks, no HTML, no accidental emphasis/code."""
    s = s.replace("\\", "\\\\").replace("\r", " ").replace("\n", " ")
    for ch in "|*_`[]$~":  # `$`: GitHub reads $...$ as math; `~`: strikethrough
        s = s.replace(ch, "\\" + ch)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_code(s: str) -> str:
    s = s.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    tick = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{tick}{pad}{s}{pad}{tick}"


SEV_ICON = {"error": "error", "warning": "warning", "info": "info"}


def to_markdown(result, cfg) -> str:
    from .output import location, summary_line

    out = ["## promptlint", ""]
    diags = list(result.diagnostics)
    if diags:
        out += ["| Severity | Location | Rule | Message | Tokens/call | Fix |", "| --- | --- | --- | --- | ---: | --- |"]
        for d in diags:
            fix = d.fix.applicability if d.fix else "-"
            tw = f"{d.tokens_wasted:,}" if d.tokens_wasted else "-"
            out.append(f"| {SEV_ICON.get(d.severity, d.severity)} | {md_code(location(rel_path(d.path), d.line, d.column, d.cell))} | {d.code} {md_cell(d.rule)} | {md_cell(d.message)} | {tw} | {fix} |")
        out.append("")
    else:
        out += ["No findings.", ""]
    out.append(f"**Summary:** {md_cell(summary_line(result))}")
    wasted = sum(d.tokens_wasted or 0 for d in diags)
    if wasted:
        out += ["", f"**Waste:** {wasted:,} tokens per call across findings."]
    sev = Counter(d.severity for d in diags)
    if diags:
        parts = [f"{sev[s]} {s}" for s in ("error", "warning", "info") if sev[s]]
        out += ["", "**By severity:** " + ", ".join(parts)]
    return "\n".join(out) + "\n"


# -------------------------------------------------------------------------------------------- statistics


def _stat_rows(result):
    c = Counter((d.code, d.rule) for d in result.diagnostics)
    wasted = Counter()
    fixable = Counter()
    for d in result.diagnostics:
        wasted[(d.code, d.rule)] += d.tokens_wasted or 0
        if d.fix:
            fixable[(d.code, d.rule)] += 1
    return [(code, rule, n, wasted[(code, rule)], fixable[(code, rule)]) for (code, rule), n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]


def statistics(fmt: str, result) -> str:
    """`--statistics` in a format: text/concise as output.statistics, a JSON list, or a Markdown table."""
    if fmt in ("text", "concise"):
        from .output import statistics as text_stats

        return text_stats(result)
    rows = _stat_rows(result)
    if fmt == "json":
        doc = [{"code": c, "rule": r, "count": n, "tokens_wasted": w, "fixable": f} for c, r, n, w, f in rows]
        return json.dumps(doc, indent=2) + "\n"
    if fmt == "markdown":
        out = ["## promptlint statistics", ""]
        if not rows:
            return "\n".join(out + ["No findings."]) + "\n"
        out += ["| Count | Code | Rule | Fixable | Tokens/call |", "| ---: | --- | --- | ---: | ---: |"]
        for c, r, n, w, f in rows:
            out.append(f"| {n} | {c} | {md_cell(r)} | {f} | {w:,} |")
        return "\n".join(out) + "\n"
    raise ValueError(f"--statistics is not available with --format {fmt}")
