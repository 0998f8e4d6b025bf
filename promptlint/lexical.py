"""Lexical rules as data: YAML files over a small closed set of kinds.

Kinds:

- ``substitution``: ``swap: {phrase: replacement}``; a phrase is plain words matched case-insensitively on
  word boundaries (longest first); an empty replacement deletes the phrase and one adjacent space.
- ``existence``: ``tokens: [regex, ...]``; every match is reported (optional ``replacement`` makes it fixable).
- ``repetition``: the same word or phrase twice in a row (``the the``); the fix removes the repeat.
- ``metric``: ``measure`` over the prompt (``line-chars``, ``sentence-words``, ``prompt-tokens``) compared
  with ``max``.

Common keys: code, name, kind, severity, summary, docs {what, why, example, fix_safety}, examples {valid,
invalid, fixed}, fix (safe|unsafe|none), ignorecase, message (with ``{match}``/``{replacement}``).

Built-in rule files live in the top-level ``rules/`` folder of the source tree and are shipped inside the
wheel as ``promptlint/rules_data``; users add their own folders with ``rule-dirs``.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

import yaml

from .rules.base import Docs, Examples, Finding, Rule, TextEdit

KINDS = ("substitution", "existence", "repetition", "metric")
_COMMON = {"code", "name", "kind", "severity", "summary", "docs", "examples", "fix", "ignorecase", "message", "delete-message", "options"}
_KIND_KEYS = {
    "substitution": {"swap"},
    "existence": {"tokens", "replacement"},
    "repetition": {"min-words", "max-words"},
    "metric": {"measure", "max"},
}
_MEASURES = ("line-chars", "sentence-words", "prompt-tokens")


class RuleFileError(Exception):
    pass


def _fail(path, msg):
    raise RuleFileError(f"{path}: {msg}")


def _match_case(src: str, repl: str) -> str:
    if not repl:
        return repl
    if src[:1].isupper():
        return repl[:1].upper() + repl[1:]
    return repl


def _window(text: str, start: int, end: int) -> tuple[int, int]:
    """The line(s) around a span: tokenization is local, so savings measured there are exact."""
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    return lo, (len(text) if hi == -1 else hi)


def tokens_saved(ctx, text: str, start: int, end: int, replacement: str) -> int:
    lo, hi = _window(text, start, end)
    before = text[lo:hi]
    after = text[lo:start] + replacement + text[end:hi]
    return max(0, ctx.count(before) - ctx.count(after))


def _deletion_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a deletion to take one adjacent space (and a comma right after the phrase)."""
    if end < len(text) and text[end] == ",":
        end += 1
    if end < len(text) and text[end] == " ":
        return start, end + 1
    if start > 0 and text[start - 1] == " ":
        return start - 1, end
    return start, end


class LexicalRule(Rule):
    """Base for rules built from YAML; subclasses are made per file by :func:`build_rule`."""

    kind = ""
    data: dict = {}

    def check(self, prompt, ctx):
        text = prompt.text
        fn = getattr(self, "_check_" + self.kind)
        return fn(text, ctx)

    # substitution
    @classmethod
    def _swap_table(cls):
        t = cls.__dict__.get("_swap_tbl")
        if t is None:
            phrases = sorted(cls.data["swap"], key=len, reverse=True)  # longest first: the alternation's order
            icase = cls.data.get("ignorecase", True)
            keys = [" ".join((p.lower() if icase else p).split()) for p in phrases]
            cls._swap_map = {" ".join(k.lower().split()): v for k, v in cls.data["swap"].items()}
            t = cls._swap_tbl = (phrases, keys, icase, {})
        return t

    def _compiled_swap(self, text):
        """The phrases' alternation, reduced to the phrases that can occur in ``text``.

        One alternation over all 300 phrases costs ~65 ms to compile: most of a one-file run. For ASCII text a
        phrase can match only where its words, single-spaced (and lower-cased), occur in the text's words
        single-spaced, so the others are left out -- leaving out alternatives that cannot match anywhere does
        not change what the alternation finds. Non-ASCII text gets all phrases (re's case-insensitive matching
        knows more equivalences than lower())."""
        phrases, keys, icase, compiled = self._swap_table()
        if text.isascii():
            norm = " ".join((text.lower() if icase else text).split())
            subset = tuple(p for p, k in zip(phrases, keys) if not k.isascii() or k in norm)
        else:
            subset = None
        rx = compiled.get(subset)
        if rx is None:
            if len(compiled) >= 256:
                compiled.clear()
            alts = "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in (phrases if subset is None else subset))
            flags = re.I if icase else 0
            rx = compiled[subset] = re.compile(r"(?<![\w'’-])(?:" + alts + r")(?![\w'’-])", flags) if alts else None
        return rx

    def _check_substitution(self, text, ctx):
        rx = self._compiled_swap(text)
        out = []
        if rx is None:
            return out
        for m in rx.finditer(text):
            src = m.group(0)
            repl = self._swap_map.get(" ".join(src.lower().split()), "")
            repl = _match_case(src, repl)
            start, end = m.start(), m.end()
            shown = repl.strip() or "(delete)"
            if repl == "":
                start, end = _deletion_span(text, start, end)
                # capitalise what now starts the sentence
                nxt = text[end : end + 1]
                if src[:1].isupper() and nxt.islower():
                    end += 1
                    repl = nxt.upper()
            saved = tokens_saved(ctx, text, start, end, repl)
            if saved <= 0:
                continue
            shown_src = " ".join(src.split())
            if shown == "(delete)":
                msg = self.data.get("delete-message", "'{match}' can be removed").format(match=shown_src)
            else:
                msg = self.data.get("message", "'{match}' can be '{replacement}'").format(match=shown_src, replacement=shown)
            out.append(
                Finding(
                    m.start(),
                    m.end(),
                    f"{msg} (saves {saved} token{'s' if saved != 1 else ''} per call)",
                    tokens_wasted=saved,
                    fix_applicability=self.fix,
                    fix_message=f"Replace '{shown_src}' with '{shown}'" if shown != "(delete)" else f"Delete '{shown_src}'",
                    edits=(TextEdit(start, end, repl),),
                )
            )
        return out

    # existence
    def _check_existence(self, text, ctx):
        flags = re.I if self.data.get("ignorecase", True) else 0
        rxs = self.__class__.__dict__.get("_exist_re")
        if rxs is None:
            rxs = [re.compile(t, flags) for t in self.data["tokens"]]
            self.__class__._exist_re = rxs
        repl = self.data.get("replacement")
        out = []
        for rx in rxs:
            for m in rx.finditer(text):
                if m.end() == m.start():
                    continue
                msg = self.data.get("message", "'{match}'").format(match=m.group(0), replacement=repl or "")
                edits = ()
                saved = None
                if repl is not None and self.fix:
                    s, e = (m.start(), m.end()) if repl else _deletion_span(text, m.start(), m.end())
                    edits = (TextEdit(s, e, repl),)
                    saved = tokens_saved(ctx, text, s, e, repl)
                out.append(Finding(m.start(), m.end(), msg, tokens_wasted=saved, fix_applicability=self.fix if edits else None, fix_message="Remove it" if edits else None, edits=edits))
        return out

    # repetition: "the the", "very very", "please please"
    _REP = re.compile(r"(?<![\w'’-])((?:[A-Za-z][\w'’-]*)(?:\s+[A-Za-z][\w'’-]*){0,3})(\s+)\1(?![\w'’-])", re.I)

    def _check_repetition(self, text, ctx):
        out = []
        for m in self._REP.finditer(text):
            a = m.group(1)
            if a.lower() in ("that", "had", "is", "bye", "no", "yes", "very", "ha", "bora", "pago", "so"):
                continue  # "that that" / "had had" / "is is" can be grammatical; "very very" is handled as style
            rep_start = m.start(2)
            saved = tokens_saved(ctx, text, rep_start, m.end(), "")
            msg = self.data.get("message", "'{match}' is repeated").format(match=a, replacement="")
            out.append(Finding(m.start(), m.end(), msg, tokens_wasted=saved, fix_applicability=self.fix, fix_message=f"Remove the repeated '{a}'", edits=(TextEdit(rep_start, m.end(), ""),) if self.fix else ()))
        return out

    # metric
    def _check_metric(self, text, ctx):
        measure = self.data["measure"]
        limit = self.opts.get("max", self.data["max"])
        out = []
        if measure == "line-chars":
            pos = 0
            for line in text.split("\n"):
                if len(line) > limit:
                    out.append(Finding(pos, pos + len(line), self.data.get("message", "Line of {value} characters (max {max})").format(value=len(line), max=limit)))
                pos += len(line) + 1
        elif measure == "sentence-words":
            for m in re.finditer(r"[^.!?\n]+[.!?]?", text):
                words = len(m.group(0).split())
                if words > limit:
                    out.append(Finding(m.start(), m.end(), self.data.get("message", "Sentence of {value} words (max {max})").format(value=words, max=limit)))
        elif measure == "prompt-tokens":
            n = ctx.count(prompt_static(text))
            if n > limit:
                out.append(Finding(0, 0, self.data.get("message", "Prompt of {value} tokens (max {max})").format(value=n, max=limit), whole_prompt=True))
        return out


def prompt_static(text):
    return text


def build_rule(data: dict, path: str) -> type:
    if not isinstance(data, dict):
        _fail(path, "a rule file must be a mapping")
    kind = data.get("kind")
    if kind not in KINDS:
        _fail(path, f"'kind' must be one of {', '.join(KINDS)} (got {kind!r})")
    allowed = _COMMON | _KIND_KEYS[kind]
    for k in data:
        if k not in allowed:
            _fail(path, f"unknown key '{k}' for a {kind} rule")
    code = data.get("code")
    name = data.get("name")
    if not isinstance(code, str) or not re.fullmatch(r"PL\d{3,4}", code):
        _fail(path, f"'code' must look like PL123 (got {code!r})")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name):
        _fail(path, f"'name' must be kebab-case (got {name!r})")
    sev = data.get("severity", "warning")
    if sev not in ("info", "warning", "error"):
        _fail(path, f"'severity' must be info, warning or error (got {sev!r})")
    fix = data.get("fix", "none")
    if fix not in ("safe", "unsafe", "none", None):
        _fail(path, f"'fix' must be safe, unsafe or none (got {fix!r})")
    if kind == "substitution":
        swap = data.get("swap")
        if not isinstance(swap, dict) or not swap or not all(isinstance(k, str) and isinstance(v, str) for k, v in swap.items()):
            _fail(path, "'swap' must be a non-empty mapping of phrase: replacement")
    if kind == "existence":
        toks = data.get("tokens")
        if not isinstance(toks, list) or not toks:
            _fail(path, "'tokens' must be a non-empty list of regular expressions")
        for t in toks:
            try:
                re.compile(t)
            except (re.error, TypeError) as exc:
                _fail(path, f"bad regular expression {t!r}: {exc}")
    if kind == "metric":
        if data.get("measure") not in _MEASURES:
            _fail(path, f"'measure' must be one of {', '.join(_MEASURES)}")
        if not isinstance(data.get("max"), int):
            _fail(path, "'max' must be an integer")
    d = data.get("docs") or {}
    docs = Docs(
        what=str(d.get("what", data.get("summary", ""))),
        why=str(d.get("why", "")),
        example=str(d.get("example", "")),
        fix_safety=str(d.get("fix_safety", "No fix." if fix in ("none", None) else f"{fix.capitalize()} fix.")),
    )
    ex = data.get("examples") or {}
    examples = Examples(
        valid=list(ex.get("valid", [])),
        invalid=list(ex.get("invalid", [])),
        fixed=[tuple(x) for x in ex.get("fixed", [])],
    )
    options = {"max": data["max"]} if kind == "metric" else {}
    options.update(data.get("options") or {})
    attrs = {
        "code": code,
        "name": name,
        "kind": kind,
        "severity": sev,
        "summary": str(data.get("summary", "")),
        "docs": docs,
        "examples": examples,
        "fix": None if fix in ("none", None) else fix,
        "options": options,
        "data": data,
        "origin": path,
        "__module__": __name__,
    }
    cls_name = "".join(p.capitalize() for p in name.split("-")) + "Rule"
    return type(cls_name, (LexicalRule,), attrs)


def load_text(text: str, path: str) -> type:
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        key = None
        if mark is not None:
            lines = text.splitlines()
            k = re.match(r"^\s*(?:-\s+)?([^\s:#'\"][^:#]*?)\s*:", lines[mark.line]) if mark.line < len(lines) else None
            key = k.group(1) if k else None
        raise RuleFileError(f"{path}{where}: invalid YAML{f' (key {key!r})' if key else ''}: {getattr(exc, 'problem', exc)}") from None
    try:
        return build_rule(data, path)
    except RuleFileError as exc:
        raise RuleFileError(_with_key_line(str(exc), path, text)) from None


def _with_key_line(message: str, path: str, text: str) -> str:
    """'file: ... 'key' ...' -> 'file:LINE: ...' where LINE is the line of the first key the message names."""
    rest = message[len(path) + 2 :] if message.startswith(path + ": ") else None
    m = re.search(r"'([A-Za-z_][\w-]*)'", rest or "")
    if m is None:
        return message
    rx = re.compile(r"^\s*(?:-\s+)?[\"']?%s[\"']?\s*:" % re.escape(m.group(1)))
    for i, line in enumerate(text.splitlines()):
        if rx.match(line):
            return f"{path}:{i + 1}: {rest}"
    return message


@lru_cache(maxsize=1)
def load_builtin() -> tuple:
    """The rule files shipped with promptlint (inside the wheel, or the source tree's rules/ folder)."""
    here = os.path.dirname(os.path.abspath(__file__))
    files = []
    for base, shown in ((os.path.join(here, "rules_data"), "promptlint/rules_data"), (os.path.join(os.path.dirname(here), "rules"), "rules")):
        if os.path.isdir(base):  # (a plain path: importlib.resources cost 14 ms of imports per run)
            for name in sorted(os.listdir(base)):
                if name.endswith((".yaml", ".yml")):
                    with open(os.path.join(base, name), encoding="utf-8") as fh:
                        files.append((fh.read(), f"{shown}/{name}"))
            break
    parsed = _cached_parse(files)
    if parsed is not None:
        return tuple(build_rule(data, path) for data, (_text, path) in zip(parsed, files))
    out = [load_text(text, path) for text, path in files]
    _store_parse(files)
    return tuple(out)


def _parse_cache_path(files) -> "str | None":
    """The shipped rule files, parsed, in the user cache (keyed by their text): YAML parsing them took ~25 ms
    of every run."""
    import hashlib

    from .tokens import user_cache_file

    h = hashlib.sha256()
    for text, path in files:
        h.update(path.encode() + b"\0" + text.encode("utf-8") + b"\0")
    return user_cache_file(f"rules-{h.hexdigest()[:16]}.marshal")


def _cached_parse(files):
    import marshal

    path = _parse_cache_path(files)
    if not path or not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as fh:
            parsed = marshal.loads(fh.read())
    except Exception:
        return None
    return parsed if isinstance(parsed, list) and len(parsed) == len(files) else None


def _store_parse(files):
    import marshal

    path = _parse_cache_path(files)
    if not path:
        return
    try:
        data = marshal.dumps([yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) for text, _p in files])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except (OSError, ValueError, yaml.YAMLError):  # ValueError: a value marshal cannot hold
        pass


def load_dirs(dirs, root) -> list:
    out = []
    for d in dirs:
        p = d if os.path.isabs(d) else os.path.join(root, d)
        if not os.path.isdir(p):
            raise RuleFileError(f"rule-dirs: {d}: not a directory")
        for name in sorted(os.listdir(p)):
            if name.endswith((".yaml", ".yml")):
                fp = os.path.join(p, name)
                try:
                    with open(fp, "rb") as fh:
                        text = fh.read().decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise RuleFileError(f"{fp}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
                except OSError as exc:
                    raise RuleFileError(f"{fp}: cannot read rule file: {exc.strerror or exc}") from None
                out.append(load_text(text, fp))
    return out
