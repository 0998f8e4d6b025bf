"""One direction: read -> extract -> measure -> rules -> suppress. One file at a time, picklable results."""

from __future__ import annotations

import hashlib
import io
import os
import tokenize
from dataclasses import replace
from functools import lru_cache
from typing import Optional

from . import directives as _directives
from .measure import Counter, measure
from .rules.base import Finding
from .sourcemap import map_edit, map_span
from .types import Diagnostic, Edit, FileResult, Fix, LineIndex, Prompt, RunResult, SourceFile


class ExtractError(Exception):
    """A file that does not parse: message plus 1-based line/column."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


# ---------------------------------------------------------------------------------------------- reading


def read_source(path: str, kind: str):
    """A SourceFile, or a one-line reason why the file cannot be read as text."""
    import stat

    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            return "broken symbolic link (its target does not exist)"
        return "file vanished before it could be read"
    except IsADirectoryError:
        return "is a directory"
    except OSError as exc:
        if exc.errno == getattr(__import__("errno"), "ELOOP", None):
            return "symbolic link loop; skipped"
        return f"cannot read file: {exc.strerror or exc}"
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return "is a directory"
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file (a FIFO, socket or device); skipped"
        with os.fdopen(fd, "rb") as fh:
            fd = None
            data = fh.read()
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    finally:
        if fd is not None:
            os.close(fd)
    return decode_source(path, kind, data)


def decode_source(path: str, kind: str, data: bytes):
    if b"\x00" in data:
        return "binary file (contains NUL bytes); skipped"
    bom = data.startswith(b"\xef\xbb\xbf")
    encoding = "utf-8"
    if kind == "python":
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as exc:
            msg = str(exc.msg if hasattr(exc, "msg") else exc)
            if msg.startswith("unknown encoding"):  # "unknown encoding: klingon" / "unknown encoding for ...: x"
                return f"unknown encoding '{msg.rsplit(': ', 1)[-1]}' in the coding declaration; skipped"
            if "invalid or missing encoding declaration" not in msg:
                return f"bad encoding declaration: {msg}"
            encoding = "utf-8"  # no declaration and the first lines are not UTF-8: say where below
        if encoding == "utf-8-sig":
            encoding = "utf-8"
    body = data[3:] if bom else data
    try:
        text = body.decode(encoding)
    except LookupError:
        return f"unknown encoding '{encoding}'"
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        return f"not valid {encoding} (byte 0x{body[exc.start]:02x} at line {line}); skipped"
    crlf = text.find("\r\n")
    lf = text.find("\n")
    newline = "\r\n" if crlf != -1 and crlf + 1 == lf else "\n"
    return SourceFile(path=path, kind=kind, text=text, encoding=encoding, bom=bom, newline=newline)


# ------------------------------------------------------------------------------------------- extracting


def extract(source: SourceFile, cfg, tree=None):
    """(prompts, analysis) for a source; raises ExtractError when it does not parse. ``tree``: the source's
    ``ast`` module when the caller has parsed it already (the fixer's verification)."""
    if source.kind == "python":
        import ast
        import warnings

        from .extract.prefilter import maybe_llm_code

        if not maybe_llm_code(source.text, cfg):
            # no trace of a prompt or an LLM call: nothing to analyse, not even parsed (most of a cold run's
            # time went to parsing such files); its syntax is the Python linter's business
            return [], None
        try:
            if tree is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    tree = ast.parse(source.text)
        except SyntaxError as exc:
            if (exc.msg or "").startswith("too many"):  # a CPython limit (nesting, indentation): no Python parses it
                raise ExtractError(f"syntax error: {exc.msg}", exc.lineno or 1, max(1, exc.offset or 1)) from None
            tree = None  # newer syntax than this interpreter knows, or a real error: libcst decides
        except ValueError:
            tree = None
        except (RecursionError, MemoryError):  # the parser's own stack guard
            raise ExtractError("expression nesting too deep to analyse") from None
        if tree is not None:
            from .extract import pyast

            try:
                return pyast.extract(source, cfg, tree)
            except RecursionError:
                raise ExtractError("expression nesting too deep to analyse") from None
        return _extract_libcst(source, cfg)
    from .extract import templates

    return templates.extract(source, cfg), None


def _extract_libcst(source: SourceFile, cfg, guard: bool = True):
    """The libcst extractor: for files ``ast`` cannot parse (3.12+ syntax on an older interpreter), and for
    rules that still walk libcst trees."""
    import libcst as cst

    from .extract import python as pyx

    if guard:  # libcst's native parser crashes the process on pathological nesting: refuse those first
        from .extract.cstguard import too_complex

        bad = too_complex(source.text)
        if bad is not None:
            raise ExtractError(bad[0], bad[1], 1)
    try:
        return pyx.extract(source, cfg)
    except cst.ParserSyntaxError as exc:
        raise _syntax_error(source.text, exc) from None
    except RecursionError:
        raise ExtractError("expression nesting too deep to analyse") from None


def _syntax_error(text: str, exc) -> ExtractError:
    """Prefer CPython's message and position (clearer than the parser generator's) when it agrees."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as se:
        if se.lineno:
            return ExtractError(f"syntax error: {se.msg}", se.lineno, max(1, se.offset or 1))
    except (ValueError, RecursionError, MemoryError):
        pass
    return ExtractError(f"syntax error: {exc.message}", exc.raw_line, exc.raw_column + 1)


# ------------------------------------------------------------------------------------------------ rules


class RuleContext:
    """What a prompt rule may use: counting with the prompt's tokenizer, its options, the config."""

    def __init__(self, prompt: Prompt, cfg, source: SourceFile, rule, file_prompts=()):
        self.prompt = prompt
        self.cfg = cfg
        self.source = source
        self.rule = rule
        self.file_prompts = file_prompts
        self._counter = Counter(prompt.model or cfg.model, cfg.models)

    def count(self, text: str) -> int:
        return self._counter.count(text)

    @property
    def options(self) -> dict:
        return self.rule.opts


class FileContext:
    """What a file rule (code flow) may use."""

    def __init__(self, source: SourceFile, cfg, prompts, analysis, rule, index, cache=None):
        self.source = source
        self.cfg = cfg
        self.prompts = prompts
        self.rule = rule
        # Rules declare which tree they walk: ``analysis_kind = "ast"`` (the fast extractor's analysis) or
        # "libcst" (computed on demand, once per file, shared through ``cache``).
        kind = getattr(rule, "analysis_kind", "libcst")
        if kind == "libcst" and analysis is not None and not hasattr(analysis, "positions"):
            if cache is not None and "libcst" in cache:
                analysis = cache["libcst"]
            else:
                try:
                    analysis = _extract_libcst(source, cfg, guard=False)[1]  # ast parsed it: bounded nesting
                except ExtractError:
                    analysis = None
                if cache is not None:
                    cache["libcst"] = analysis
        if kind == "ast" and analysis is not None and hasattr(analysis, "positions"):
            analysis = None  # the file only parsed with libcst (newer syntax): ast-walking rules skip it
        self.analysis = analysis
        self.rule = rule
        self.index = index

    def count(self, text: str, model: Optional[str] = None) -> int:
        return Counter(model or self.cfg.model).count(text)

    def diagnostic(self, start: int, end: int, message: str, tokens_wasted=None, fix=None) -> Diagnostic:
        line, col = self.index.position(start)
        eline, ecol = self.index.position(end)
        r = self.rule
        return Diagnostic(self.source.path, line, col, eline, ecol, r.code, r.name, r.severity, message, tokens_wasted, fix, start, end)


def prompt_key(prompt: Prompt) -> str:
    return _text_key(prompt.text)


@lru_cache(maxsize=256)
def _text_key(text: str) -> str:  # once per prompt, not once per finding (a huge prompt has thousands)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def finding_to_diagnostic(f: Finding, prompt: Prompt, rule, index: LineIndex, source: SourceFile) -> Diagnostic:
    if f.whole_prompt or (f.start == 0 and f.end == 0 and not prompt.segments):
        s0, s1 = prompt.start, prompt.end
    else:
        span = map_span(prompt.segments, f.start, f.end)
        s0, s1 = span if span else (prompt.start, prompt.end)
    fix = None
    if f.fix_applicability and f.edits and prompt.fixable:
        edits = []
        for e in f.edits:
            m = map_edit(prompt.segments, e.start, e.end)
            if m is None:
                edits = None
                break
            edits.append(Edit(m[0], m[1], e.content))
        if edits:
            fix = Fix(f.fix_applicability, f.fix_message or "", tuple(edits), f.tokens_wasted)
    line, col = index.position(s0)
    eline, ecol = index.position(s1)
    return Diagnostic(
        source.path,
        line,
        col,
        eline,
        ecol,
        rule.code,
        rule.name,
        rule.severity,
        f.message,
        f.tokens_wasted,
        fix,
        s0,
        s1,
        prompt.cell,
        prompt_key(prompt),
    )


def _file_level(path: str, rule_name: str, message: str, line=1, column=1, cfg=None) -> Diagnostic:
    from .rules import registry

    r = registry(cfg).get(rule_name)
    return Diagnostic(path, line, column, line, column, r.code, r.name, r.severity, message)


def apply_directives(prompts, d, source: SourceFile):
    """Attach budget / calls-per-day comments to the prompts they precede."""
    if not d.budget and not d.calls:
        return prompts
    out = []
    first_line = min((p.line for p in prompts), default=1)
    python = source.kind in ("python", "notebook")
    for p in prompts:
        lines = {p.line}
        before = {p.line - 1}
        stmt = p.get_meta("stmt_line")
        if stmt:
            lines.add(stmt)
            before.add(stmt - 1)
        # the line before counts only when it holds nothing but the comment
        lines |= {ln for ln in before if ln in d.own_line}
        kw = {}
        for key, table in (("budget", d.budget), ("calls_per_day", d.calls)):
            hit = [table[ln] for ln in sorted(lines) if ln in table]
            if not hit and not python:
                header = [v for ln, v in table.items() if ln < first_line]
                hit = header[-1:]
            if hit:
                kw[key] = hit[-1]
        out.append(p.with_meta(**kw) if kw else p)
    return out


# Files (and notebooks' code) above this many characters are not analysed: the Python AST alone takes ~140
# bytes per source character (a 50 MB generated module needed 7 GB), template maps one unit per character, and
# no context window holds 5 MB of prompt. YAML and JSON have their own, lower limit (structured.MAX_CHARS).
MAX_ANALYSED_CHARS = 5_000_000


def too_large(path: str, kind: str, text: str, cfg, rules, what: str = "") -> Optional[FileResult]:
    """The FileResult of a file too large to analyse (None when it is not): nothing for Python code that
    certainly holds no LLM code (generated data), else a one-line finding."""
    if len(text) <= MAX_ANALYSED_CHARS:
        return None
    if kind == "python":
        from .extract.prefilter import maybe_llm_code

        if not maybe_llm_code(text, cfg):
            return FileResult(path)
    if not any(r.name == "unreadable-file" for r in rules):
        return FileResult(path)
    size = f"{len(text) / 1e6:.1f} million characters{what}"
    return FileResult(path, (), (_file_level(path, "unreadable-file", f"too large to analyse ({size}; the limit is {MAX_ANALYSED_CHARS / 1e6:g} million); skipped", cfg=cfg),))


def lint_source(source: SourceFile, cfg, rules) -> FileResult:
    from .rules import ignored_for_path, registry

    if source.kind == "notebook":  # code cells go through this function as one Python module, mapped to cells
        from .extract.notebook import lint_notebook

        return lint_notebook(source, cfg, rules)
    if source.kind not in ("yaml", "json"):  # those skip big files themselves (data, not prompts)
        big = too_large(source.path, source.kind, source.text, cfg, rules)
        if big is not None:
            return big
    reg = registry(cfg)
    d = _directives.parse(source.text, source.kind)
    try:
        prompts, analysis = extract(source, cfg)
    except ExtractError as exc:
        diag = _file_level(source.path, "syntax-error", exc.message, exc.line, exc.column, cfg)
        if any(r.name == "syntax-error" for r in rules):
            return FileResult(source.path, (), (diag,))
        return FileResult(source.path, (), ())
    prompts = [measure(p, cfg) for p in prompts]
    prompts = apply_directives(prompts, d, source)
    index = LineIndex(source.text)
    diags = []
    analysis_cache: dict = {}
    for rule in rules:
        if ignored_for_path(cfg, source.path, rule):
            continue
        if rule.scope == "prompt":
            for p in prompts:
                ctx = RuleContext(p, cfg, source, rule, prompts)
                for f in rule.check(p, ctx):
                    diags.append(finding_to_diagnostic(f, p, rule, index, source))
        elif rule.scope == "file":
            ctx = FileContext(source, cfg, prompts, analysis, rule, index, analysis_cache)
            diags.extend(rule.check_file(ctx))
    kept = []
    suppressed = 0
    stmt_lines = {}
    for p in prompts:
        stmt_lines[(p.start, p.end)] = p.get_meta("stmt_line")
    python = source.kind in ("python", "notebook")
    for diag in diags:
        rule = reg.get(diag.code)
        lines = {diag.line}
        for p in prompts:
            if p.start <= diag.start <= p.end:
                lines.add(p.line)
                if p.get_meta("stmt_line"):
                    lines.add(p.get_meta("stmt_line"))
        if not python:
            lines |= {ln - 1 for ln in list(lines)}
        if rule is not None and _directives.is_suppressed(d, reg, rule, lines):
            suppressed += 1
            continue
        kept.append(diag)
    kept.sort(key=lambda x: (x.line, x.column, x.code))
    return FileResult(source.path, tuple(prompts), tuple(kept), suppressed)


def lint_file(path: str, kind: str, cfg, rules, resolve: bool = False) -> FileResult:
    """``resolve``: fixes carry the encoded edits ``fix`` would write, and a fix that cannot be written safely
    is dropped (what ``check`` shows as fixable). Done here, per file, so it is cached and runs in parallel."""
    src = read_source(path, kind)
    if isinstance(src, str):
        if any(r.name == "unreadable-file" for r in rules):
            return FileResult(path, (), (_file_level(path, "unreadable-file", src, cfg=cfg),))
        return FileResult(path, (), ())
    try:
        fr = lint_source(src, cfg, rules)
        return _resolved(src, fr, cfg) if resolve else fr
    except RecursionError:
        return FileResult(path, (), (_file_level(path, "syntax-error", "expression nesting too deep to analyse", cfg=cfg),))
    except Exception as exc:  # a bug of ours costs this file, not the whole run (PROMPTLINT_DEBUG=1 raises)
        if os.environ.get("PROMPTLINT_DEBUG"):
            raise
        if not any(r.name == "unreadable-file" for r in rules):
            return FileResult(path, (), ())
        return FileResult(path, (), (_file_level(path, "unreadable-file", internal_error_message(exc, "analysing"), cfg=cfg),))


def _resolved(src: SourceFile, fr: FileResult, cfg) -> FileResult:
    if not any(d.fix is not None for d in fr.diagnostics):
        return fr
    from .fix import resolve_file

    try:
        diags = resolve_file(src, fr.prompts, fr.diagnostics, cfg)
    except Exception:  # a host the fixer cannot read: the findings stay, not fixable
        if os.environ.get("PROMPTLINT_DEBUG"):
            raise
        diags = [replace(d, fix=None) if d.fix is not None else d for d in fr.diagnostics]
    return replace(fr, diagnostics=tuple(diags))


def internal_error_message(exc: BaseException, doing: str) -> str:
    detail = (str(exc).splitlines() or [""])[0][:160]
    return f"internal error while {doing} this file ({type(exc).__name__}{': ' + detail if detail else ''}); skipped, please report it"


def run(paths, cfg, rules=None, errors=None, use_cache=None, jobs=None, resolve: bool = False) -> RunResult:
    """Lint PATHS. With the configured rule set, results are cached and files are linted in parallel;
    with explicit ``rules`` (tests, the fixer's verification) everything runs in this process, uncached.
    ``resolve``: see ``lint_file`` (project-wide fixes are dropped: ``fix`` works file by file)."""
    from .discover import discover
    from .rules import enabled_rules
    from .runner import lint_files

    explicit = rules is not None
    if rules is None:
        rules = enabled_rules(cfg)
    result = RunResult()
    files = list(discover(paths, cfg, errors))
    result.files_scanned = len(files)
    if use_cache is None:
        use_cache = not explicit and os.environ.get("PROMPTLINT_NO_CACHE", "") in ("", "0")
    file_results = lint_files(files, cfg, rules, use_cache=use_cache and not explicit, jobs=1 if explicit else jobs, resolve=resolve)
    for fr in file_results:
        result.prompts.extend(fr.prompts)
        result.diagnostics.extend(fr.diagnostics)
    project = []
    for r in rules:
        if r.scope == "project":
            project.extend(r.check_project(result.prompts, cfg))
    project = _suppress_project(project, rules, cfg)
    if use_cache and not explicit:
        from .runner import save_counts

        save_counts(cfg)
    if resolve:
        project = [replace(d, fix=None) if d.fix is not None else d for d in project]
    result.diagnostics.extend(project)
    return result


def _suppress_project(diags, rules, cfg):
    """Project-wide findings obey per-file-ignores and the `promptlint:` comments of the file they land in."""
    from .rules import ignored_for_path, registry

    reg = registry(cfg)
    by_code = {r.code: r for r in rules}
    directives_of = {}
    kept = []
    for d in diags:
        rule = by_code.get(d.code) or reg.get(d.code)
        if rule is not None and ignored_for_path(cfg, d.path, rule):
            continue
        if d.path not in directives_of:
            src = read_source(d.path, "python" if d.path.endswith(".py") else "text") if os.path.isfile(d.path) else None
            directives_of[d.path] = _directives.parse(src.text, src.kind) if isinstance(src, SourceFile) else None
        dirs = directives_of[d.path]
        if dirs is not None and rule is not None and _directives.is_suppressed(dirs, reg, rule, {d.line, d.line - 1}):
            continue
        kept.append(d)
    return kept
