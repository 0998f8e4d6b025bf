"""Command line: ``promptlint check | tokens | rules | rule``.

Exit codes: 0 no findings at or above ``fail-on``; 1 findings; 2 usage, configuration or internal error.
Imports are lazy so that a one-file run (what pre-commit does) starts fast.
"""

from __future__ import annotations

import sys

import click

SEV_RANK = {"info": 0, "warning": 1, "error": 2}


class _Exit(Exception):
    def __init__(self, code):
        self.code = code


def _fail_usage(message: str):
    click.echo(f"promptlint: error: {message}", err=True)
    raise _Exit(2)


def _load_config(paths, config_path, overrides):
    from .config import ConfigError, load
    from .lexical import RuleFileError

    try:
        return load(paths, config_path, overrides)
    except (ConfigError, RuleFileError) as exc:
        _fail_usage(str(exc))


def _split(values):
    out = []
    for v in values or ():
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return tuple(out)


def _run_options() -> dict:
    ctx = click.get_current_context(silent=True)
    return (ctx.obj or {}) if ctx is not None and isinstance(ctx.obj, dict) else {}


def _run(paths, cfg, resolve=False):
    from .pipeline import run

    errors = []
    opts = _run_options()
    if opts.get("cache_dir"):
        from dataclasses import replace

        cfg = replace(cfg, cache_dir=opts["cache_dir"])
    result = run(paths, cfg, errors=errors, use_cache=False if opts.get("no_cache") else None, jobs=opts.get("jobs"), resolve=resolve)
    for e in errors:
        click.echo(f"promptlint: warning: {e}", err=True)
    if errors and not result.files_scanned:
        raise _Exit(2)
    return result


def _write(text: str, output_file):
    if output_file:
        from .fsutil import atomic_write_text

        try:
            atomic_write_text(output_file, text)
        except OSError as exc:
            _fail_usage(f"cannot write {output_file}: {exc.strerror or exc}")
    else:
        click.echo(text, nl=False)


def _exit_code(result, cfg, exit_zero=False) -> int:
    if exit_zero:
        return 0
    limit = SEV_RANK[cfg.fail_on]
    return 1 if any(SEV_RANK.get(d.severity, 1) >= limit for d in result.diagnostics) else 0


def _store_run_option(ctx, param, value):
    ctx.ensure_object(dict)[param.name] = value
    return value


common_options = [
    click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: closest pyproject.toml/promptlint.toml)."),
    click.option("--model", help="Default model for prompts whose call names none (default gpt-4o)."),
    click.option("--no-cache", is_flag=True, expose_value=False, callback=_store_run_option, help="Do not read or write the results cache."),
    click.option("--cache-dir", type=click.Path(file_okay=False), expose_value=False, callback=_store_run_option, help="Cache folder (default .promptlint_cache)."),
    click.option("--jobs", "-j", type=click.IntRange(min=1), expose_value=False, callback=_store_run_option, help="Worker processes (default: all cores)."),
]


def _common(f):
    for opt in reversed(common_options):
        f = opt(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="promptlint", prog_name="promptlint")
def cli():
    """promptlint: find every LLM prompt, count its tokens exactly, report the waste."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_common
@click.option("--format", "fmt", default="text", type=click.Choice(["text", "concise", "json", "sarif", "github", "junit", "markdown"]), show_default=True)
@click.option("--select", multiple=True, help="Rules to enable (codes, names or code prefixes; comma-separated).")
@click.option("--ignore", multiple=True, help="Rules to disable.")
@click.option("--extend-select", multiple=True, help="Rules to enable on top of the selection.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), help="Lowest severity that fails the run.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--statistics", is_flag=True, help="Show counts and token waste per rule.")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False), help="Write the report to a file.")
@click.option("--write-baseline", "write_baseline", metavar="FILE", type=click.Path(dir_okay=False), help="Record current findings and prompt tokens in FILE, then exit 0.")
@click.option("--baseline", "baseline_file", metavar="FILE", type=click.Path(dir_okay=False), help="Report only findings not in FILE; fail when a recorded prompt grew (prompt-growth).")
@click.option("--fix", "apply_fixes", is_flag=True, help="Apply safe fixes, then report what remains.")
@click.option("--unsafe-fixes", is_flag=True, help="Include unsafe fixes (with --fix / --diff) and show them as fixable.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing (exit 1 when there are changes).")
def check(paths, config_path, model, fmt, select, ignore, extend_select, fail_on, exit_zero, statistics, output_file, write_baseline=None, baseline_file=None, apply_fixes=False, unsafe_fixes=False, diff=False):
    """Find prompts in PATHS (default: .) and report waste."""
    from . import output

    paths = paths or (".",)
    cfg = _load_config(paths, config_path, {"model": model, "select": _split(select) or None, "ignore": _split(ignore) or None, "extend_select": _split(extend_select) or None, "fail_on": fail_on})
    _validate_selectors(cfg)
    if statistics and fmt not in ("text", "concise", "json", "markdown"):
        _fail_usage(f"--statistics is available with --format text, concise, json or markdown, not {fmt}")
    bl = _load_baseline(baseline_file, write_baseline)
    report = None
    if diff:
        raise _Exit(_emit_diff(_run_fix(paths, cfg, unsafe_fixes, write=False), unsafe_fixes))
    if apply_fixes:
        report = _run_fix(paths, cfg, unsafe_fixes, write=True)
        result = report.result
    else:
        result = _run(paths, cfg, resolve=True)  # fixable = what `fix` can write, edits encoded
    if write_baseline:
        _write_baseline(write_baseline, result)
    if bl is not None:
        result = _apply_baseline(result, bl, cfg)
    from . import formats

    if statistics:
        text = formats.statistics(fmt, result)
    elif fmt == "json":
        from .costs import json_extra

        text = output.to_json(result, prompt_extra=json_extra(cfg)) + "\n"
    elif fmt == "concise":
        text = output.to_concise(result)
    elif fmt == "text":
        text = output.to_text(result, unsafe_fixes=unsafe_fixes)
        if report is not None:
            from .fix import summary_lines

            text += "\n".join(summary_lines(report, unsafe_fixes)[:-1]) + "\n"
    else:
        text = formats.render(fmt, result, cfg, paths=paths)
    _note_unchecked_budget(result, cfg)
    _write(text, output_file)
    raise _Exit(_exit_code(result, cfg, exit_zero))


def _load_baseline(baseline_file, write_baseline):
    if baseline_file and write_baseline:
        _fail_usage("use either --baseline or --write-baseline, not both")
    if not baseline_file:
        return None
    from .baseline import BaselineError, load

    try:
        return load(baseline_file)
    except BaselineError as exc:
        _fail_usage(str(exc))


def _write_baseline(path, result):
    from .baseline import BaselineError, write

    try:
        doc = write(path, result)
    except BaselineError as exc:
        _fail_usage(str(exc))
    n = sum(f["count"] for f in doc["findings"])
    tok = sum(p["tokens"] or 0 for p in doc["tokens"])
    click.echo(f"promptlint: wrote baseline {path}: {n} finding{'s' if n != 1 else ''}, {len(doc['tokens'])} prompts ({tok:,} tokens)", err=True)
    raise _Exit(0)


def _apply_baseline(result, bl, cfg):
    from .baseline import apply
    from .config import ConfigError

    try:
        outcome = apply(result, bl, cfg)
    except ConfigError as exc:
        _fail_usage(str(exc))
    if outcome.baselined:
        n = outcome.baselined
        click.echo(f"promptlint: {n} finding{'s' if n != 1 else ''} already in baseline {bl.path} not shown", err=True)
    return outcome.result


def _validate_selectors(cfg):
    from .config import _validate_rule_names, ConfigError

    try:
        _validate_rule_names(cfg, "command line")
    except ConfigError as exc:
        _fail_usage(str(exc))


def _note_unchecked_budget(result, cfg):
    """total-budget needs call rates; say so (stderr) rather than pass silently."""
    if cfg.total_budget is None or not result.prompts:
        return
    from .costs import PriceBook

    book = PriceBook(cfg)
    if not any(book.prompt_cost(p).calls_per_day is not None for p in result.prompts):
        click.echo("promptlint: note: total-budget is set but no prompt has a calls-per-day rate; the budget cannot be checked", err=True)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_common
@click.option("--format", "fmt", default="text", type=click.Choice(["text", "markdown", "json", "html"]), show_default=True)
@click.option("--calls-per-day", "calls", type=click.FloatRange(min=0), help="Global call rate for prompts without a comment or config glob (replaces config's global rate).")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False), help="Write the report to a file.")
def report(paths, config_path, model, fmt, calls, output_file):
    """Spend report: prompts by monthly cost, totals, waste by rule in tokens and dollars."""
    from . import report as reportmod

    paths = paths or (".",)
    cfg = _load_config(paths, config_path, {"model": model})
    if calls is not None:
        from dataclasses import replace

        cfg = replace(cfg, calls_per_day=tuple(x for x in cfg.calls_per_day if x[0] != "*") + (("*", float(calls)),))
    result = _run(paths, cfg)
    rep = reportmod.compute(result, cfg)
    _write(reportmod.render(fmt, rep), output_file)
    raise _Exit(0)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_common
@click.option("--format", "fmt", default="text", type=click.Choice(["text", "json"]), show_default=True)
def tokens(paths, config_path, model, fmt):
    """Table of the prompts in PATHS sorted by tokens."""
    from . import output

    paths = paths or (".",)
    cfg = _load_config(paths, config_path, {"model": model})
    from dataclasses import replace

    cfg = replace(cfg, select=("PL001", "PL002"), extend_select=(), ignore=())
    result = _run(paths, cfg)
    click.echo(output.tokens_table(result, fmt), nl=False)
    for d in result.diagnostics:
        click.echo(f"{output.location(d.path, d.line, d.column, d.cell)}: {d.code} {d.message}", err=True)
    raise _Exit(0)


def _run_fix(paths, cfg, unsafe, write):
    from .fix import run_fix, warnings_for

    errors = []
    report = run_fix(paths, cfg, unsafe=unsafe, write=write, errors=errors)
    for e in errors:
        click.echo(f"promptlint: warning: {e}", err=True)
    if errors and not report.result.files_scanned:
        raise _Exit(2)
    for w in warnings_for(report):
        click.echo(f"promptlint: warning: {w}", err=True)
    return report


def _emit_diff(report, unsafe) -> int:
    """The diff of every file a fix would change (stdout), the summary (stderr); 1 when there are changes."""
    from .fix import summary_lines, unified_diff

    for out in report.changed:
        click.echo(unified_diff(out), nl=False)
    click.echo("\n".join(summary_lines(report, unsafe)), err=True)
    return 1 if report.changed else 0


@cli.command("fix")
@click.argument("paths", nargs=-1, type=click.Path())
@_common
@click.option("--unsafe-fixes", is_flag=True, help="Also apply unsafe fixes (they change what the model reads).")
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes; write nothing (exit 1 when there are changes).")
@click.option("--format", "fmt", default="text", type=click.Choice(["text", "json"]), show_default=True)
@click.option("--select", multiple=True, help="Rules to enable (codes, names or code prefixes; comma-separated).")
@click.option("--ignore", multiple=True, help="Rules to disable.")
@click.option("--extend-select", multiple=True, help="Rules to enable on top of the selection.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), help="Lowest severity that fails the run.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
def fix_cmd(paths, config_path, model, unsafe_fixes, diff, fmt, select, ignore, extend_select, fail_on, exit_zero):
    """Rewrite the prompts in PATHS (default: .) with verified fixes; report tokens saved and what remains."""
    import json

    from . import output
    from .fix import report_json, summary_lines

    paths = paths or (".",)
    cfg = _load_config(paths, config_path, {"model": model, "select": _split(select) or None, "ignore": _split(ignore) or None, "extend_select": _split(extend_select) or None, "fail_on": fail_on})
    _validate_selectors(cfg)
    report = _run_fix(paths, cfg, unsafe_fixes, write=not diff)
    if diff and fmt == "text":
        raise _Exit(_emit_diff(report, unsafe_fixes))
    if fmt == "json":
        click.echo(json.dumps(report_json(report), indent=2, ensure_ascii=False))
    else:
        lines = [f"{output.location(d.path, d.line, d.column, d.cell)}: {d.code} {output.fix_marker(d, unsafe_fixes)}{d.message}" for d in report.result.diagnostics]
        click.echo("\n".join(lines + ([""] if lines else []) + summary_lines(report, unsafe_fixes)))
    if diff:
        raise _Exit(1 if report.changed else 0)
    raise _Exit(_exit_code(report.result, cfg, exit_zero))


@cli.command("rules")
@_common
def rules_cmd(config_path, model):
    """List every rule: code, name, severity, fix."""
    cfg = _load_config((), config_path, {"model": model})
    from .rules import registry

    for r in sorted(registry(cfg), key=lambda r: r.code):
        fix = {"safe": "[*]", "unsafe": "[!]"}.get(r.fix or "", "   ")
        click.echo(f"{r.code:<6} {fix} {r.name:<26} {r.severity:<8} {r.summary}")
    raise _Exit(0)


@cli.command("rule")
@click.argument("name")
@_common
def rule_cmd(name, config_path, model):
    """Print the documentation of a rule (by name or code)."""
    cfg = _load_config((), config_path, {"model": model})
    from .rules import registry

    r = registry(cfg).get(name)
    if r is None:
        _fail_usage(f"unknown rule '{name}' (see `promptlint rules`)")
    click.echo(r().doc_text(), nl=False)
    raise _Exit(0)


@cli.command("diff")
@click.argument("paths", nargs=-1, type=click.Path())
@_common
@click.option("--base", required=True, metavar="REF", help="Git ref to compare the working tree with (branch, tag, commit, origin/main).")
@click.option("--format", "fmt", default="text", type=click.Choice(["text", "markdown", "json"]), show_default=True)
@click.option("--fail-on-increase", type=click.FloatRange(min=0), metavar="PCT", help="Exit 1 when the total static tokens of the compared prompts grew by more than PCT percent.")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False), help="Write the report to a file.")
def diff_cmd(paths, config_path, model, base, fmt, fail_on_increase, output_file):
    """Compare every prompt in PATHS (default: .) between git ref REF and the working tree."""
    from . import gitdiff

    paths = paths or (".",)
    cfg = _load_config(paths, config_path, {"model": model})
    opts = _run_options()
    if opts.get("cache_dir"):
        from dataclasses import replace

        cfg = replace(cfg, cache_dir=opts["cache_dir"])
    try:
        res = gitdiff.run_diff(base, paths, cfg, config_path=config_path, overrides={"model": model}, use_cache=False if opts.get("no_cache") else None, jobs=opts.get("jobs"))
    except gitdiff.DiffError as exc:
        _fail_usage(str(exc))
    for w in res.warnings:
        click.echo(f"promptlint: warning: {w}", err=True)
    _write(gitdiff.render(res, fmt), output_file)
    raise _Exit(1 if gitdiff.exceeds(res, fail_on_increase) else 0)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that cleanups run (a fix being written leaves no temp file behind)."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _install_sigterm():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return None
    try:
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return None


def main(argv=None):
    previous = _install_sigterm()
    try:
        cli.main(args=argv, prog_name="promptlint", standalone_mode=False)
        code = 0
    except _Exit as e:
        code = e.code
    except click.exceptions.Abort as e:  # click turns Ctrl-C (and our SIGTERM) into Abort
        if isinstance(e.__cause__, _Terminated):
            click.echo("promptlint: terminated", err=True)
            code = 143
        else:
            click.echo("promptlint: interrupted" if isinstance(e.__cause__, KeyboardInterrupt) else "promptlint: aborted", err=True)
            code = 130
    except click.ClickException as e:
        e.show()
        code = 2
    except _Terminated:
        click.echo("promptlint: terminated", err=True)
        code = 143
    except KeyboardInterrupt:
        click.echo("promptlint: interrupted", err=True)
        code = 130
    except BrokenPipeError:
        code = 1
    except Exception as e:  # never a traceback for users; say what happened in one line
        import os

        if os.environ.get("PROMPTLINT_DEBUG"):
            raise
        click.echo(f"promptlint: internal error: {type(e).__name__}: {e}", err=True)
        code = 2
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
