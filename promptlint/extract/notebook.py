"""Jupyter notebooks (``.ipynb``): code cells are Python, checked with every Python rule.

The code cells (of a Python notebook) are joined, in order, into one Python module and that module goes
through the normal Python pipeline, so a prompt defined in one cell and sent in another is found, as the
kernel would see it. Every result is then mapped back to its cell:

- ``cell`` is the 1-based index of the cell among *all* cells of the notebook (Markdown and raw cells
  count), the number Jupyter and VS Code show when counting from the top; ``line``/``column`` are inside
  that cell; ``start``/``end`` are offsets into the cell's source;
- IPython syntax is neutralised before parsing, keeping every line and column: line magics (``%pip``),
  shell escapes (``!ls``, ``files = !ls``), help (``obj?``) become a same-length ``0`` expression; cell
  magics that run Python (``%%time``, ``%%capture`` …) lose only their first line, other cell magics
  (``%%bash``, ``%%html`` …) make the cell non-Python. Lines inside string literals are never touched;
- a cell that does not parse is reported (syntax error at the cell's line) and left out; the others are
  still checked;
- notebooks whose kernel language is not Python, Markdown and raw cells are ignored;
- prompts are reported, never fixed (``fixable=False``; fixes are dropped): an edit would have to be
  written back inside the notebook's JSON.
"""

from __future__ import annotations

import bisect
import io
import json
import re
import tokenize
from dataclasses import dataclass, replace

from ..types import FileResult, Segment, SourceFile

_PY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "mprun", "snakeviz", "pyinstrument", "py", "python", "python3"})
_MAGIC_LINE = re.compile(r"^([ \t]*)(%{1,2}\w|!|\?{1,2}\w|[\w.\[\], \t]+=[ \t]*[!%]\S|[\w.\[\]()]+\?{1,2}[ \t]*$)")


@dataclass(frozen=True)
class Cell:
    number: int  # 1-based among all cells
    text: str  # source as delivered (list joined)
    code: str  # magic-neutralised Python


def _error(message, line=1, column=1):
    from ..pipeline import ExtractError

    return ExtractError(message, line, column)


def parse_cells(source: SourceFile):
    """Python code cells of a notebook. Raises ExtractError for a file that is not a readable notebook."""
    text = source.text
    if not text.strip():
        return []  # an empty file: no cells
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(f"notebook is not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise _error("notebook JSON nested too deeply") from None
    if not isinstance(nb, dict):
        raise _error("not a Jupyter notebook: the top level is not a JSON object")
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    lang = None
    for key in ("kernelspec", "language_info"):
        d = meta.get(key)
        if isinstance(d, dict):
            v = d.get("language") if key == "kernelspec" else d.get("name")
            if isinstance(v, str) and v:
                lang = v.lower()
                break
    if lang is not None and lang not in ("python", "python3", "ipython", "ipython3"):
        return []
    cells = nb.get("cells")
    src_key = "source"
    if cells is None and isinstance(nb.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) for c in (ws.get("cells") or [])]
        src_key = "input"
    if not isinstance(cells, list):
        raise _error("not a Jupyter notebook: no 'cells' list")
    out = []
    for i, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cm = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        lid = (cm.get("vscode") or {}).get("languageId") if isinstance(cm.get("vscode"), dict) else None
        if isinstance(lid, str) and lid.lower() not in ("python", "python3"):
            continue
        src = cell.get(src_key, cell.get("source", ""))
        if isinstance(src, list):
            if not all(isinstance(s, str) for s in src):
                continue
            src = "".join(src)
        if not isinstance(src, str) or not src.strip():
            continue
        out.append((i, src))
    from ..pipeline import MAX_ANALYSED_CHARS

    if sum(len(src) for _i, src in out) > MAX_ANALYSED_CHARS:
        return [Cell(i, src, src) for i, src in out]  # too large: reported by size, never parsed (ast would need GBs)
    cells = []
    for i, src in out:
        code = neutralise(src)
        if code is None:
            continue
        cells.append(Cell(i, src, code))
    return cells


def _blank(line: str, indent: str) -> str:
    """Same-length stand-in for a magic line: ``0`` then spaces (a valid expression statement)."""
    body_len = len(line) - len(indent)
    return indent + ("0" + " " * (body_len - 1) if body_len >= 1 else "")


def neutralise(src: str):
    """Python text for a cell with IPython syntax replaced (same lines and columns), or None for a cell that
    is not Python (``%%bash`` …)."""
    lines = src.split("\n")
    first = lines[0].lstrip()
    if first.startswith("%%"):
        name = re.match(r"%%(\w*)", first).group(1)
        if name not in _PY_CELL_MAGICS:
            return None
        lines[0] = _blank(lines[0], lines[0][: len(lines[0]) - len(first)])
    code = "\n".join(lines)
    if _parses(code):
        return code
    candidates = {}
    for k, line in enumerate(lines):
        body = line.rstrip("\r")
        m = _MAGIC_LINE.match(body)
        if m and not body.lstrip().startswith("#"):
            candidates[k] = m.group(1)
    if not candidates:
        return code
    out = list(lines)
    for k in sorted(candidates):
        if _open_string("\n".join(out[:k]) + "\n"):
            continue  # the line is inside a string literal (a prompt line that starts with "!" or "%")
        cr = "\r" if out[k].endswith("\r") else ""
        out[k] = _blank(out[k].rstrip("\r"), candidates[k]) + cr
    return "\n".join(out)


def _open_string(prefix: str) -> bool:
    """Does ``prefix`` end inside an unterminated (triple-quoted) string literal?"""
    try:
        for _tok in tokenize.generate_tokens(io.StringIO(prefix).readline):
            pass
    except tokenize.TokenError as exc:
        return "string" in str(exc).lower()
    except (IndentationError, SyntaxError) as exc:
        return "string" in str(exc).lower()
    return False


def _parses(code: str) -> bool:
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


@dataclass
class _Joined:
    source: SourceFile
    cells: list  # Cell
    bases: list  # offset of each cell in the joined text
    line_bases: list  # first line (1-based) of each cell in the joined text


def _join(source: SourceFile, cells):
    parts, bases, line_bases = [], [], []
    off, line = 0, 1
    for c in cells:
        code = c.code if c.code.endswith("\n") else c.code + "\n"
        bases.append(off)
        line_bases.append(line)
        parts.append(code)
        off += len(code)
        line += code.count("\n")
    joined = SourceFile(path=source.path, kind="python", text="".join(parts), encoding=source.encoding, bom=source.bom, newline=source.newline)
    return _Joined(joined, cells, bases, line_bases)


def _check_cells(source: SourceFile, cells):
    """(good cells, [(cell, ExtractError)]) — each cell must parse on its own."""
    import libcst as cst

    from ..pipeline import _syntax_error

    from .cstguard import too_complex

    good, bad = [], []
    for c in cells:
        deep = too_complex(c.code)  # libcst's native parser would crash the process on it
        if deep is not None:
            bad.append((c, _error(deep[0], deep[1])))
            continue
        try:
            cst.parse_module(c.code)
        except cst.ParserSyntaxError as exc:
            bad.append((c, _syntax_error(c.code, exc)))
            continue
        except RecursionError:
            bad.append((c, _error("expression nesting too deep to analyse")))
            continue
        good.append(c)
    return good, bad


def _locate(j: _Joined, offset: int):
    k = max(0, bisect.bisect_right(j.bases, offset) - 1)
    return k


def _shift_prompt(p, j: _Joined):
    k = _locate(j, p.start)
    base, lbase, cell = j.bases[k], j.line_bases[k], j.cells[k].number
    segs = tuple(Segment(s.kind, s.start, s.end, s.src_start - base, s.src_end - base) for s in p.segments)
    meta = p.meta
    stmt = p.get_meta("stmt_line")
    if stmt:
        meta = tuple((key, (v - lbase + 1) if key == "stmt_line" else v) for key, v in meta)
    return replace(
        p,
        segments=segs,
        start=p.start - base,
        end=p.end - base,
        line=p.line - lbase + 1,
        end_line=p.end_line - lbase + 1,
        cell=cell,
        fixable=False,
        meta=meta,
    )


_LINE_REF = re.compile(r"\bline (\d+)\b")


def _cell_line(j: _Joined, line: int, here: int) -> str:
    """"line N" of the joined module as the user sees it: "line L" in the same cell, else "cell C line L"."""
    k = max(0, bisect.bisect_right(j.line_bases, line) - 1)
    inner = line - j.line_bases[k] + 1
    cell = j.cells[k].number
    return f"line {inner}" if cell == here else f"cell {cell} line {inner}"


def _shift_diag(d, j: _Joined):
    k = _locate(j, d.start)
    base, lbase, cell = j.bases[k], j.line_bases[k], j.cells[k].number
    message = _LINE_REF.sub(lambda m: _cell_line(j, int(m.group(1)), cell), d.message)
    return replace(
        d,
        message=message,
        start=d.start - base,
        end=max(d.start, d.end) - base,
        line=max(1, d.line - lbase + 1),
        end_line=max(1, d.end_line - lbase + 1),
        cell=cell,
        fix=None,
    )


def extract_prompts(source: SourceFile, cfg):
    """Prompts of a notebook (cell-located). Raises ExtractError for a broken notebook."""
    from . import python as pyx

    from ..pipeline import MAX_ANALYSED_CHARS

    cells = parse_cells(source)
    if sum(len(c.code) for c in cells) > MAX_ANALYSED_CHARS:
        return []
    cells, _bad = _check_cells(source, cells)
    if not cells:
        return []
    j = _join(source, cells)
    prompts, _analysis = pyx.extract(j.source, cfg)
    return [_shift_prompt(p, j) for p in prompts]


def lint_notebook(source: SourceFile, cfg, rules) -> FileResult:
    """The notebook's FileResult: its Python cells linted as one module, results mapped to cells."""
    from .. import pipeline

    want_syntax = any(r.name == "syntax-error" for r in rules)
    try:
        cells = parse_cells(source)
    except pipeline.ExtractError as exc:
        diag = pipeline._file_level(source.path, "syntax-error", exc.message, exc.line, exc.column, cfg)
        return FileResult(source.path, (), (diag,) if want_syntax else ())
    big = pipeline.too_large(source.path, "python", "\n".join(c.code for c in cells), cfg, rules, " of code")
    if big is not None:
        return big
    good, bad = _check_cells(source, cells)
    diags = []
    if want_syntax:
        for c, exc in bad:
            d = pipeline._file_level(source.path, "syntax-error", exc.message, exc.line, exc.column, cfg)
            diags.append(replace(d, cell=c.number))
    if not good:
        return FileResult(source.path, (), tuple(diags))
    j = _join(source, good)
    fr = pipeline.lint_source(j.source, cfg, rules)
    prompts = tuple(_shift_prompt(p, j) for p in fr.prompts)
    diags.extend(_shift_diag(d, j) for d in fr.diagnostics)
    diags.sort(key=lambda d: (d.cell or 0, d.line, d.column, d.code))
    return FileResult(source.path, prompts, tuple(diags), fr.suppressed)
