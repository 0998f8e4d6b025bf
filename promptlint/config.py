"""Configuration: ``[tool.promptlint]`` in pyproject.toml, or a promptlint.toml (top-level keys).

Found by walking up from the first checked path. Unknown keys and wrong types are errors that name the file
and the key. Every value has a default, so a project without config works.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from typing import Optional

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - 3.10
    import tomli as tomllib  # type: ignore


class ConfigError(Exception):
    """A usage or configuration problem: reported in one line, exit code 2."""


DEFAULT_PROMPT_FILES = (
    "*.j2",
    "*.jinja",
    "*.jinja2",
    "*.prompt",
    "*.prompty",
    "*.ipynb",
    "prompts/**",
    "**/prompts/**",
    "*.prompt.md",
    "*.prompt.txt",
    "*.prompt.yaml",
    "*.prompt.yml",
)

DEFAULT_PROMPT_KEYS = (
    "*template*",
    "*prompt*",
    "system*",
    "instructions",
    "instruction",
    "backstory",
    "goal",
    "persona",
    "role_description",
    "expected_output",
    "description",
)

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Config:
    path: Optional[str] = None  # the file it came from
    root: str = "."  # folder of that file (globs are relative to it)
    model: str = "gpt-4o"
    include: tuple = ()
    exclude: tuple = ()
    extend_exclude: tuple = ()
    respect_gitignore: bool = True
    prompt_files: tuple = DEFAULT_PROMPT_FILES
    prompt_keys: tuple = DEFAULT_PROMPT_KEYS
    llm_functions: tuple = ()
    select: tuple = ()
    ignore: tuple = ()
    extend_select: tuple = ()
    per_file_ignores: tuple = ()  # ((glob, (rules...)), ...)
    severity: tuple = ()  # ((rule, severity), ...)
    fail_on: str = "warning"
    rule_dirs: tuple = ()
    rules: tuple = ()  # ((rule, ((option, value), ...)), ...)
    budgets: tuple = ()  # ((glob, n), ...)
    default_budget: Optional[int] = None
    calls_per_day: tuple = ()  # ((glob, n), ...); glob "*" for the global default
    max_cost_per_call: Optional[float] = None
    total_budget: Optional[float] = None
    models: tuple = ()  # price/model overrides: ((model, ((key, value), ...)), ...)
    baseline_tolerance: float = 0.0
    cache_dir: str = ".promptlint_cache"
    jobs: Optional[int] = None

    def rule_options(self, rule: str) -> dict:
        for name, opts in self.rules:
            if name == rule:
                return dict(opts)
        return {}

    def get(self, key: str, default=None):
        return getattr(self, key.replace("-", "_"), default)


def _freeze(value):
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


# key -> (python type(s) accepted, converter)
def _str_list(v, key):
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise TypeError(f"'{key}' must be a list of strings")
    return tuple(v)


def _str(v, key):
    if not isinstance(v, str):
        raise TypeError(f"'{key}' must be a string")
    return v


def _bool(v, key):
    if not isinstance(v, bool):
        raise TypeError(f"'{key}' must be true or false")
    return v


def _posint(v, key):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise TypeError(f"'{key}' must be a non-negative integer")
    return v


def _posnum(v, key):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise TypeError(f"'{key}' must be a non-negative number")
    return float(v)


def _severity(v, key):
    if v not in SEVERITIES:
        raise TypeError(f"'{key}' must be one of {', '.join(SEVERITIES)} (got {v!r})")
    return v


def _table_of(conv):
    def f(v, key):
        if not isinstance(v, dict):
            raise TypeError(f"'{key}' must be a table")
        return tuple((k, conv(x, f"{key}.{k}")) for k, x in v.items())

    return f


def _per_file_ignores(v, key):
    if not isinstance(v, dict):
        raise TypeError(f"'{key}' must be a table of glob = [rules]")
    return tuple((k, _str_list(x, f"{key}.{k}")) for k, x in v.items())


def _rules_table(v, key):
    if not isinstance(v, dict) or not all(isinstance(x, dict) for x in v.values()):
        raise TypeError(f"'{key}' must be a table of rule tables, e.g. [tool.promptlint.rules.duplicate-context]")
    return tuple((k, _freeze(x)) for k, x in v.items())


def _models_table(v, key):
    if not isinstance(v, dict) or not all(isinstance(x, dict) for x in v.values()):
        raise TypeError(f"'{key}' must be a table of model tables")
    from .models import FIELDS

    checks = {
        "provider": _str,
        "encoding": _str,
        "family": _str,
        "input": _posnum,
        "cached_input": _posnum,
        "output": _posnum,
        "context_window": _posint,
        "max_output": _posint,
        "verified": _bool,
    }
    for model, entry in v.items():
        for field_name, value in entry.items():
            if field_name not in FIELDS:
                raise TypeError(f"unknown field '{field_name}' in '{key}.{model}' (fields: {', '.join(FIELDS)})")
            checks.get(field_name, lambda x, k: x)(value, f"{key}.{model}.{field_name}")
    return tuple((k, _freeze(x)) for k, x in v.items())


def _calls(v, key):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return (("*", _posnum(v, key)),)
    return _table_of(_posnum)(v, key)


_KEYS = {
    "model": _str,
    "include": _str_list,
    "exclude": _str_list,
    "extend-exclude": _str_list,
    "respect-gitignore": _bool,
    "prompt-files": _str_list,
    "extend-prompt-files": _str_list,
    "prompt-keys": _str_list,
    "extend-prompt-keys": _str_list,
    "llm-functions": _str_list,
    "select": _str_list,
    "ignore": _str_list,
    "extend-select": _str_list,
    "per-file-ignores": _per_file_ignores,
    "severity": _table_of(_severity),
    "fail-on": _severity,
    "rule-dirs": _str_list,
    "rules": _rules_table,
    "budgets": _table_of(_posint),
    "default-budget": _posint,
    "calls-per-day": _calls,
    "max-cost-per-call": _posnum,
    "total-budget": _posnum,
    "models": _models_table,
    "baseline-tolerance": _posnum,
    "cache-dir": _str,
    "jobs": _posint,
}


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _config_lines(path: str) -> list:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def _toml_error(path: str, exc: Exception) -> ConfigError:
    """``file:line:column: invalid TOML (key 'k'): reason`` - the key of that line, or of the nearest one above
    (an unclosed array reports its error lines later)."""
    msg = str(exc)
    m = _TOML_AT.search(msg)
    if not m:
        return ConfigError(f"{path}: invalid TOML: {msg}")
    line, col = int(m.group(1)), int(m.group(2))
    lines = _config_lines(path)
    key = None
    for text in reversed(lines[:line]):
        if text.lstrip().startswith("["):
            break
        k = _TOML_KEY.match(text)
        if k:
            key = k.group(1)
            break
    return ConfigError(f"{path}:{line}:{col}: invalid TOML{f' (key {key!r})' if key else ''}: {msg[: m.start()]}")


def _at(label: str, key: str, value: Optional[str] = None) -> str:
    """``label`` with the line of ``key`` (or of the first line after it naming ``value``) when label is a config
    file: 'file:line'."""
    if not label or not os.path.isfile(label):
        return label
    lines = _config_lines(label)
    start = 0
    if os.path.basename(label) == "pyproject.toml":
        start = next((i for i, t in enumerate(lines) if t.strip().startswith("[tool.promptlint")), 0)
    key_rx = re.compile(r"""^\s*(\[+\s*)?(tool\.promptlint\.)?["']?%s["']?(\s*=|\s*\.|\s*\])""" % re.escape(key))
    for i in range(start, len(lines)):
        if key_rx.match(lines[i]):
            if value is None:
                return f"{label}:{i + 1}"
            for j in range(i, len(lines)):
                if value in lines[j]:
                    return f"{label}:{j + 1}"
            return f"{label}:{i + 1}"
    return label


def load_file(path: str) -> Config:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, exc) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    if os.path.basename(path) == "pyproject.toml":
        table = data.get("tool", {}).get("promptlint", {})
        where = "[tool.promptlint]"
    else:
        table = data.get("tool", {}).get("promptlint", data) if "tool" in data else data
        where = "promptlint.toml"
    return from_table(table, path, where)


def from_table(table: dict, path: Optional[str] = None, where: str = "[tool.promptlint]") -> Config:
    values = {}
    label = path or "<config>"
    if not isinstance(table, dict):
        raise ConfigError(f"{label}: {where} must be a table")
    for key, raw in table.items():
        conv = _KEYS.get(key)
        if conv is None:
            hint = ""
            import difflib

            close = difflib.get_close_matches(key, list(_KEYS), n=1)
            if close:
                hint = f" (did you mean '{close[0]}'?)"
            raise ConfigError(f"{_at(label, key)}: unknown key '{key}' in {where}{hint}")
        try:
            values[key] = conv(raw, key)
        except TypeError as exc:
            raise ConfigError(f"{_at(label, key)}: {where}: {exc}") from None
    kw = {}
    for key, v in values.items():
        attr = key.replace("-", "_")
        if key == "extend-prompt-files":
            kw["prompt_files"] = tuple(values.get("prompt-files", DEFAULT_PROMPT_FILES)) + v
            continue
        if key == "extend-prompt-keys":
            kw["prompt_keys"] = tuple(values.get("prompt-keys", DEFAULT_PROMPT_KEYS)) + v
            continue
        if key in ("prompt-files", "prompt-keys") and ("extend-" + key) in values:
            continue
        kw[attr] = v
    root = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    cfg = Config(path=path, root=root, **kw)
    _validate_rule_names(cfg, label)
    return cfg


def _validate_rule_names(cfg: Config, label: str):
    """Rule names/codes in select/ignore/... must exist; rule options must be known to the rule."""
    from .rules import registry

    reg = registry(cfg)
    for key in ("select", "ignore", "extend_select"):
        for sel in getattr(cfg, key):
            if not reg.matches_any(sel):
                raise ConfigError(f"{_at(label, key.replace('_', '-'), sel)}: '{key.replace('_', '-')}' names unknown rule '{sel}'")
    for _glob, sels in cfg.per_file_ignores:
        for sel in sels:
            if not reg.matches_any(sel):
                raise ConfigError(f"{_at(label, 'per-file-ignores', sel)}: 'per-file-ignores' names unknown rule '{sel}'")
    for rule, _sev in cfg.severity:
        if reg.get(rule) is None:
            raise ConfigError(f"{_at(label, 'severity', rule)}: 'severity' names unknown rule '{rule}'")
    for rule, opts in cfg.rules:
        r = reg.get(rule)
        if r is None:
            raise ConfigError(f"{_at(label, 'rules', rule)}: 'rules' names unknown rule '{rule}'")
        known = set(r.options)
        for opt, _v in opts:
            if opt not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise ConfigError(f"{_at(label, 'rules', opt)}: unknown option '{opt}' for rule '{r.name}' (options: {allowed})")
            default = r.options[opt]
            if isinstance(default, (int, float)) and not isinstance(default, bool) and (not isinstance(_v, (int, float)) or isinstance(_v, bool) or _v < 0):
                # numeric options (thresholds in tokens, fractions) take a non-negative number
                raise ConfigError(f"{_at(label, 'rules', opt)}: option '{opt}' of rule '{r.name}' must be a non-negative number, got {_v!r}")


def find_config(start: str) -> Optional[str]:
    """Closest promptlint.toml / .promptlint.toml / pyproject.toml with [tool.promptlint], walking up."""
    d = os.path.abspath(start)
    if not os.path.isdir(d):
        d = os.path.dirname(d)
    while True:
        for name in ("promptlint.toml", ".promptlint.toml"):
            p = os.path.join(d, name)
            if os.path.isfile(p):
                return p
        p = os.path.join(d, "pyproject.toml")
        if os.path.isfile(p):
            try:
                with open(p, "rb") as fh:
                    data = tomllib.load(fh)
            except (tomllib.TOMLDecodeError, OSError):
                # a broken pyproject.toml is only our business if it has our table
                with open(p, "rb") as fh:
                    raw = fh.read()
                if b"[tool.promptlint" in raw:
                    return p
                data = {}
            if "promptlint" in data.get("tool", {}):
                return p
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def load(paths=(), config_path: Optional[str] = None, overrides: Optional[dict] = None) -> Config:
    if config_path:
        if not os.path.isfile(config_path):
            raise ConfigError(f"{config_path}: config file not found")
        cfg = load_file(config_path)
    else:
        start = paths[0] if paths else os.getcwd()
        found = find_config(start)
        cfg = load_file(found) if found else from_table({}, None)
    if overrides:
        from dataclasses import replace

        cfg = replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    return cfg


def fingerprint(cfg: Config) -> str:
    """Stable hash of everything that changes results (for the cache)."""
    import hashlib

    parts = []
    for f in fields(cfg):
        if f.name in ("path", "root", "jobs", "cache_dir"):
            continue
        parts.append(f"{f.name}={getattr(cfg, f.name)!r}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
