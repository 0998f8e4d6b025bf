"""Which files to check, and what kind each one is.

Directories are walked respecting ``.gitignore`` files (pathspec), skipping VCS folders, virtualenvs,
``node_modules`` and build output, and config ``exclude``. Files named on the command line are always
checked (ruff's behaviour). A ``.txt``/``.md`` file is a prompt file only when a ``prompt-files`` glob says
so or when it is named explicitly: a README is not a prompt.
"""

from __future__ import annotations

import fnmatch
import os
import re
from typing import Iterator, Optional

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        ".venv",
        "venv",
        ".env",
        "env",
        "__pycache__",
        "node_modules",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".promptlint_cache",
        ".hypothesis",
        "build",
        "dist",
        "site-packages",
        ".eggs",
        ".ipynb_checkpoints",
        ".idea",
        ".vscode",
    }
)

_EXT_KIND = {
    ".py": "python",
    ".pyi": None,
    ".ipynb": "notebook",
    ".j2": "jinja",
    ".jinja": "jinja",
    ".jinja2": "jinja",
    ".prompt": "prompt",
    ".prompty": "prompty",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
}

# Kinds checked only when a prompt-files glob matches (or the file is named explicitly).
_GLOB_ONLY = {"text"}
# Project documents that a folder glob (``prompts/**``) may catch but that are never prompts when walked.
_PROJECT_DOC = re.compile(r"(?i)^(readme|changelog|changes|history|license|licence|contributing|code_of_conduct|security|authors|notice)([._-].*)?$")
# Kinds checked in any walked folder (their extractor decides what in them is a prompt).
_ALWAYS = {"python", "notebook", "jinja", "prompt", "prompty", "yaml", "json"}


def kind_of(path: str) -> Optional[str]:
    name = os.path.basename(path).lower()
    if name.endswith((".prompt.md", ".prompt.txt")):
        return "text"
    if name.endswith((".prompt.yaml", ".prompt.yml")):
        return "yaml"
    _root, ext = os.path.splitext(name)
    return _EXT_KIND.get(ext)


_GLOB_CACHE: dict = {}


def _compiled(globs):
    """(pattern over the relative path, pattern over the base name, folder needles) for a glob list: one regex
    per list instead of fnmatch per glob and file (discovery is most of a warm run)."""
    key = tuple(globs)
    c = _GLOB_CACHE.get(key)
    if c is None:
        rel, base, needles = [], [], []
        for g in key:
            rel.append(fnmatch.translate(g))
            base.append(fnmatch.translate(g))
            if g.startswith("**/"):
                rel.append(fnmatch.translate(g[3:]))
            if g.endswith("/**"):
                needles.append("/" + g[:-3] + "/")
        rx = re.compile("|".join(rel)) if rel else None
        bx = re.compile("|".join(base)) if base else None
        c = _GLOB_CACHE[key] = (rx, bx, tuple(needles))
    return c


def _match_any(rel: str, globs) -> bool:
    """Does ``rel`` (or its base name) match one of ``globs`` (fnmatch; ``**/x`` also matches at the top,
    ``x/**`` anything under a folder ``x``)?"""
    if not globs:
        return False
    rx, bx, needles = _compiled(globs)
    if rx is not None and rx.match(rel):
        return True
    if bx is not None and bx.match(rel.rsplit("/", 1)[-1]):
        return True
    if needles:
        slashed = "/" + rel
        return any(n in slashed for n in needles)
    return False


class _Ignore:
    """Stacked .gitignore specs."""

    def __init__(self):
        self.specs = []  # (dir, spec)

    def load(self, directory: str):
        p = os.path.join(directory, ".gitignore")
        if os.path.isfile(p):
            try:
                import pathspec

                with open(p, encoding="utf-8", errors="replace") as fh:
                    lines = fh.read().splitlines()
                try:
                    spec = pathspec.GitIgnoreSpec.from_lines(lines)
                except AttributeError:  # pathspec < 0.10
                    spec = pathspec.PathSpec.from_lines("gitwildmatch", lines)
                self.specs.append((directory, spec))
                return True
            except Exception:
                return False
        return False

    def ignored(self, path: str, is_dir: bool) -> bool:
        for d, spec in self.specs:
            rel = os.path.relpath(path, d).replace(os.sep, "/")
            if rel.startswith(".."):
                continue
            if spec.match_file(rel + ("/" if is_dir else "")):
                return True
        return False


def _find_git_root(start: str) -> Optional[str]:
    d = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def discover(paths, cfg, errors: Optional[list] = None) -> Iterator[tuple[str, str]]:
    """Yield (path, kind) for every file to check, in a stable order, each once."""
    seen = set()
    exclude = tuple(cfg.exclude) + tuple(cfg.extend_exclude)
    for given in paths:
        if not os.path.exists(given) and not os.path.islink(given):
            if errors is not None:
                errors.append(f"{given}: no such file or directory")
            continue
        if not os.path.isdir(given):  # a file, a symlink (even broken or looping), a FIFO: reading reports it
            kind = kind_of(given) or ("text" if given.endswith((".txt", ".md")) else None)
            key = os.path.realpath(given)
            if kind and key not in seen:
                seen.add(key)
                yield given, kind
            continue
        yield from _walk(given, cfg, exclude, seen, errors)


def _rel_to_root(path: str, cfg) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path), cfg.root)
    except ValueError:
        rel = path
    return rel.replace(os.sep, "/")


def _walk(top: str, cfg, exclude, seen, errors):
    ignore = _Ignore()
    if cfg.respect_gitignore:
        root = _find_git_root(top)
        # .gitignore files between the repository root and the walked folder apply too
        if root:
            chain = []
            d = os.path.abspath(top)
            while True:
                chain.append(d)
                if d == root:
                    break
                parent = os.path.dirname(d)
                if parent == d:
                    break
                d = parent
            for d in reversed(chain[1:]):
                ignore.load(d)
    visited_dirs = set()
    stack = [top]
    out = []
    while stack:
        d = stack.pop()
        try:
            real = os.path.realpath(d)
        except OSError:
            continue
        if real in visited_dirs:
            continue  # symlink loop or a folder reached twice
        visited_dirs.add(real)
        pushed = cfg.respect_gitignore and ignore.load(d)
        rel_dir = _rel_to_root(d, cfg)
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if errors is not None:
                errors.append(f"{d}: cannot list directory: {exc.strerror or exc}")
            continue
        subdirs = []
        for e in entries:
            path = os.path.join(d, e.name) if d != "." else e.name
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False  # a symlink loop: reading it reports the problem
            rel = e.name if rel_dir == "." else rel_dir + "/" + e.name
            if is_dir:
                if e.name in SKIP_DIRS or e.name.endswith(".egg-info"):
                    continue
                if exclude and _match_any(rel, exclude):
                    continue
                if cfg.respect_gitignore and ignore.ignored(path, True):
                    continue
                subdirs.append(path)
                continue
            kind = kind_of(e.name)
            if kind is None:
                continue
            if exclude and _match_any(rel, exclude):
                continue
            if cfg.respect_gitignore and ignore.ignored(path, False):
                continue
            in_globs = _match_any(rel, cfg.prompt_files)
            if kind in _GLOB_ONLY and not in_globs:
                continue
            if kind in _GLOB_ONLY and _PROJECT_DOC.match(e.name):
                continue  # prompts/README.md documents the prompts; it is not one
            if cfg.include and not _match_any(rel, cfg.include) and not in_globs:
                continue
            try:  # the folder's real path is known: only a symlinked file needs resolving
                key = os.path.realpath(path) if e.is_symlink() else os.path.join(real, e.name)
            except OSError:
                key = path
            if key in seen:
                continue
            seen.add(key)
            out.append((path, kind))
        for s in reversed(subdirs):
            stack.append(s)
        del pushed
    out.sort(key=lambda pk: pk[0])
    yield from out
