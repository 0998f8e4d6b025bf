import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from promptlint.cli import cli


@pytest.fixture
def write(tmp_path):
    """Write a dedented file under tmp_path and return its path."""

    def _write(name, content, mode="w"):
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content), encoding="utf-8")
        return p

    return _write


class Result:
    def __init__(self, code, out, err):
        self.exit_code = code
        self.output = out
        self.stderr = err

    def json(self):
        return json.loads(self.output)


@pytest.fixture
def run_cli():
    """Run the CLI in-process (like `promptlint ARGS`), returning exit code, stdout and stderr."""

    def _run(*args, cwd=None):
        from promptlint import cli as climod

        runner = CliRunner()
        old = os.getcwd()
        if cwd:
            os.chdir(cwd)
        try:
            r = runner.invoke(_main_wrapper, list(args), catch_exceptions=False)
        finally:
            os.chdir(old)
        return Result(r.exit_code, r.stdout, r.stderr if hasattr(r, "stderr") else "")

    return _run


import click


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def _main_wrapper(ctx):
    from promptlint.cli import main

    main(ctx.args)


def lint_text(tmp_path, code, name="mod.py", model=None, select=None):
    """Prompts and diagnostics of one Python snippet, through the real pipeline."""
    from promptlint import config as cfgmod
    from promptlint.pipeline import run

    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(code), encoding="utf-8")
    overrides = {}
    if model:
        overrides["model"] = model
    if select is not None:
        overrides["select"] = tuple(select)
    cfg = cfgmod.load([str(p)], None, overrides)
    res = run([str(p)], cfg)
    return res


@pytest.fixture
def lint(tmp_path):
    def _lint(code, **kw):
        return lint_text(tmp_path, code, **kw)

    return _lint
