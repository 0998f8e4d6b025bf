"""``promptlint:`` comment directives: suppressions, budgets, call rates.

Python: ``# promptlint: disable=whitespace-waste,PL301`` on the line of the finding or on the first line of
the statement; ``# promptlint: disable-file``; ``# promptlint: budget=800`` on the line before the
assignment/literal or on its first line; ``# promptlint: calls-per-day=5000``.
Jinja: ``{# promptlint: disable=... #}``. YAML, .prompt, .prompty, text: ``# promptlint: ...`` comment lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PY = re.compile(r"#\s*promptlint:\s*([^\n#]*)")
_JINJA = re.compile(r"\{#-?\s*promptlint:\s*(.*?)\s*-?#\}", re.S)
_HASH_LINE = re.compile(r"^\s*#\s*promptlint:\s*([^\n]*)", re.M)
_HBS = re.compile(r"\{\{!-*\s*promptlint:\s*(.*?)\s*-*\}\}", re.S)


@dataclass
class Directives:
    disable: dict = field(default_factory=dict)  # line -> set of selectors ("*" = all)
    disable_file: set = field(default_factory=set)  # selectors; "*" = all
    budget: dict = field(default_factory=dict)  # line -> int
    calls: dict = field(default_factory=dict)  # line -> float
    own_line: set = field(default_factory=set)  # lines holding nothing but the directive comment
    errors: list = field(default_factory=list)  # (line, message)

    def add(self, line: int, body: str):
        for item in re.split(r"[;\s]+(?=[a-z-]+(?:=|\s*$))", body.strip()):
            item = item.strip().rstrip(",")
            if not item:
                continue
            key, _, value = item.partition("=")
            key = key.strip().lower()
            value = value.strip()
            if key == "disable":
                sels = {v.strip() for v in value.split(",") if v.strip()} or {"*"}
                self.disable.setdefault(line, set()).update(sels)
            elif key == "disable-file":
                self.disable_file.update({v.strip() for v in value.split(",") if v.strip()} or {"*"})
            elif key in ("budget", "calls-per-day"):
                try:
                    num = float(value.replace("_", ""))
                    if num < 0:
                        raise ValueError
                except ValueError:
                    self.errors.append((line, f"promptlint: {key} needs a non-negative number (got {value!r})"))
                    continue
                if key == "budget":
                    self.budget[line] = int(num)
                else:
                    self.calls[line] = num
            else:
                self.errors.append((line, f"unknown promptlint directive '{key}'"))


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse(text: str, kind: str) -> Directives:
    d = Directives()
    if "promptlint:" not in text:
        return d
    if kind in ("python", "notebook"):
        rx = [_PY]
    elif kind in ("jinja",):
        rx = [_JINJA]
    elif kind == "prompt":
        rx = [_JINJA, _HBS, _HASH_LINE]
    else:
        rx = [_HASH_LINE, _JINJA]
    for r in rx:
        for m in r.finditer(text):
            line = _line_of(text, m.start())
            d.add(line, m.group(1))
            if not text[text.rfind("\n", 0, m.start()) + 1 : m.start()].strip():
                d.own_line.add(line)
    return d


def is_suppressed(d: Directives, reg, rule, lines) -> bool:
    def hit(sels):
        return "*" in sels or any(reg.matches(s, rule) for s in sels)

    if d.disable_file and hit(d.disable_file):
        return True
    for ln in lines:
        sels = d.disable.get(ln)
        if sels and hit(sels):
            return True
    return False
