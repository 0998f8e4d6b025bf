"""The rule registry: built-in structural rules (one module each) and lexical YAML rules.

Rules are looked up by code (``PL201``), name (``whitespace-waste``) or code prefix (``PL2``) in select /
ignore / suppressions.
"""

from __future__ import annotations

import fnmatch
import importlib
from functools import lru_cache

from .base import Docs, Examples, Finding, Rule, TextEdit  # noqa: F401


def _builtin_modules() -> list:
    """Every module of this package except base: one rule each, exposing it as ``RULE``."""
    import pkgutil

    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_") and m.name != "base")


class Registry:
    def __init__(self, rules):
        self.rules = list(rules)
        self.by_code = {r.code: r for r in self.rules}
        self.by_name = {r.name: r for r in self.rules}

    def get(self, key: str):
        return self.by_code.get(key.upper()) or self.by_name.get(key.lower())

    def matches(self, selector: str, rule) -> bool:
        s = selector.strip()
        if s.upper() == "ALL":
            return True
        if s.lower() == rule.name:
            return True
        up = s.upper()
        return up.startswith("PL") and rule.code.startswith(up)

    def matches_any(self, selector: str) -> bool:
        return any(self.matches(selector, r) for r in self.rules)

    def __iter__(self):
        return iter(self.rules)


@lru_cache(maxsize=1)
def builtin_rule_classes() -> tuple:
    classes = []
    for mod in _builtin_modules():
        m = importlib.import_module(f".{mod}", __name__)
        classes.append(m.RULE)
    return tuple(classes)


def _lexical_rules(cfg):
    from ..lexical import load_builtin, load_dirs

    rules = list(load_builtin())
    if cfg is not None and cfg.rule_dirs:
        rules += load_dirs(cfg.rule_dirs, cfg.root)
    return rules


def registry(cfg=None) -> Registry:
    key = tuple(cfg.rule_dirs) if cfg is not None else ()
    root = cfg.root if cfg is not None else ""
    return _registry(key, root, cfg)


_REG_CACHE: dict = {}


def _registry(key, root, cfg) -> Registry:
    reg = _REG_CACHE.get((key, root))
    if reg is None:
        classes = list(builtin_rule_classes())
        rules = [c for c in classes] + _lexical_rules(cfg)
        reg = Registry(rules)
        _REG_CACHE[(key, root)] = reg
    return reg


def enabled_rules(cfg) -> list:
    """Rule instances (with options) selected by config, in code order."""
    reg = registry(cfg)
    out = []
    for r in reg:
        selected = True
        if cfg.select:
            selected = any(reg.matches(s, r) for s in cfg.select)
        if cfg.extend_select and any(reg.matches(s, r) for s in cfg.extend_select):
            selected = True
        if any(reg.matches(s, r) for s in cfg.ignore):
            selected = False
        if not selected:
            continue
        opts = cfg.rule_options(r.name) or cfg.rule_options(r.code)
        inst = r(opts)
        sev = dict(cfg.severity)
        s = sev.get(r.name) or sev.get(r.code)
        if s:
            inst.severity = s
        out.append(inst)
    out.sort(key=lambda r: r.code)
    return out


def ignored_for_path(cfg, path: str, rule) -> bool:
    import os

    if not cfg.per_file_ignores:
        return False
    reg = registry(cfg)
    rel = os.path.relpath(os.path.abspath(path), cfg.root).replace(os.sep, "/")
    for glob, sels in cfg.per_file_ignores:
        if fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(os.path.basename(path), glob) or fnmatch.fnmatch(path.replace(os.sep, "/"), glob):
            if any(reg.matches(s, rule) for s in sels):
                return True
    return False
