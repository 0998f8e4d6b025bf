"""Prompts inside YAML and JSON files: string values under prompt-bearing keys, and ``{role, content}``
messages anywhere.

Which values are prompts
    A string under a key matching one of ``prompt-keys`` (fnmatch, case-insensitive) whose text reads as
    instructions (model names, paths, numbers, ids and one-word values never do). ``description`` and
    ``goal`` are generic words (package manifests, OpenAPI, Helm charts): they count only next to a sibling
    prompt (another prompt-bearing key whose text reads as instructions) or in a crewAI-shaped mapping
    (``backstory`` or ``expected_output`` present, or ``role`` and ``goal`` together). A mapping with a ``role`` in
    system/user/assistant/… and a string ``content`` (or a list of ``{type: text, text: …}`` parts) is a
    message wherever it sits; its content is a prompt whatever its length. crewAI's ``role:`` holds a short
    job title: it is not measured on its own. A ``model`` / ``llm`` / ``model_name`` string in the same or an
    enclosing mapping selects the tokenizer.

Positions
    Every string is mapped to its exact file characters: plain, single- and double-quoted scalars (escapes,
    ``''``, line folding), literal block scalars (``|``, ``|-``, ``|+``: one literal per content line, the
    indentation stays outside the map), JSON strings (escapes decoded with an exact map). Folded block
    scalars (``>``) are measured as YAML delivers them and mapped line by line, but never fixed
    (``fixable=False``): an edit could change the folding. Any value whose reconstruction does not equal
    what the YAML parser delivers falls back to a coarse, not-fixable map.

Safety
    YAML is only *composed* (``yaml.compose_all`` with the (C)SafeLoader: nodes, never Python objects).
    ``!!python/…`` tags are refused with a clear message. Aliases are followed without copying; a document
    whose alias expansion would exceed 1,000,000 nodes (an "alias bomb") or that refers to itself is refused.
    Files over 2 MB are data, not prompt files, and are skipped.

Inside a prompt string, Jinja tags (``{{ x }}``, ``{% if %}``) or crewAI/str.format ``{name}`` fields are
placeholders.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Optional

from ..types import ESCAPE, JOIN, LITERAL, LineIndex, SourceFile
from . import common
from .classify import reads_as_instructions
from .units import literal_units, units_text

MAX_CHARS = 2_000_000
MAX_EXPANDED_NODES = 1_000_000

ROLES = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function": "tool",
}
WEAK_KEYS = frozenset({"description", "goal"})
_CONTEXT_KEYS = frozenset({"backstory", "expected_output"})  # crewAI agents / tasks
MODEL_KEYS = ("model", "llm", "model_name", "model_id")
MAX_TOKEN_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens", "maxoutputtokens")
_MODEL_RE = re.compile(r"^[A-Za-z0-9][\w.:/@-]{1,99}$")

# Well-known manifests and tool configs: never prompt files.
SKIP_NAMES = frozenset(
    {
        "package.json",
        "package-lock.json",
        "composer.json",
        "composer.lock",
        "jsconfig.json",
        "tslint.json",
        "renovate.json",
        "lerna.json",
        "pnpm-lock.yaml",
        "yarn.lock",
        ".eslintrc.json",
        ".prettierrc.json",
        ".babelrc.json",
        "pubspec.lock",
        "pipfile.lock",
        "poetry.lock",
    }
)


def _error(message, line=1, column=1):
    from ..pipeline import ExtractError

    return ExtractError(message, line, column)


# ------------------------------------------------------------------------------------------ generic tree


class MapN:
    __slots__ = ("items", "start", "end")

    def __init__(self, items, start, end):
        self.items = items  # [(key: str|None, value node)]
        self.start = start
        self.end = end


class SeqN:
    __slots__ = ("items", "start", "end")

    def __init__(self, items, start, end):
        self.items = items
        self.start = start
        self.end = end


class StrN:
    __slots__ = ("value", "start", "end", "mapper", "folded")

    def __init__(self, value, start, end, mapper, folded=False):
        self.value = value
        self.start = start
        self.end = end
        self.mapper = mapper  # () -> units or None
        self.folded = folded


class OtherN:
    __slots__ = ("value", "start", "end")

    def __init__(self, value, start, end):
        self.value = value
        self.start = start
        self.end = end


# ------------------------------------------------------------------------------------------------- YAML

_BREAKS = "\r\n\x85\u2028\u2029"
_YAML_ESCAPES = {
    "0": "\0",
    "a": "\x07",
    "b": "\x08",
    "t": "\x09",
    "\t": "\x09",
    "n": "\x0a",
    "v": "\x0b",
    "f": "\x0c",
    "r": "\x0d",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_YAML_CODES = {"x": 2, "u": 4, "U": 8}


def _line_break(text, p):
    ch = text[p]
    if ch == "\r" and text[p + 1 : p + 2] == "\n":
        return "\n", p + 2
    if ch in "\r\n\x85":
        return "\n", p + 1
    return ch, p + 1


def _fold_units(values, src_start, cuts, src_end):
    """Units for folded whitespace: ``values`` (" " or breaks) spread over [src_start, src_end); ``cuts`` are
    the file offsets where each value after the first begins."""
    if not values:
        return [("", src_start, src_end, JOIN)] if src_end > src_start else []
    bounds = [src_start] + list(cuts[: len(values) - 1]) + [src_end]
    return [(v, bounds[i], bounds[i + 1], ESCAPE) for i, v in enumerate(values)]


def _flow_breaks(text, p, end):
    """scan_flow_scalar_breaks: returns (break values, end offsets of each break, p)."""
    vals, ends = [], []
    while True:
        while p < end and text[p] in " \t":
            p += 1
        if p < end and text[p] in _BREAKS:
            v, p = _line_break(text, p)
            vals.append(v)
            ends.append(p)
        else:
            return vals, ends, p


def _quoted_units(text, start, end, double):
    """Units of a quoted scalar text[start:end] (quotes included in the span), mirroring PyYAML's scanner."""
    p = start + 1
    stop = end - 1  # the closing quote
    units = []
    quote = text[start]

    def non_spaces(p):
        while True:
            q = p
            while q < stop and text[q] not in "'\"\\ \t" + _BREAKS:
                q += 1
            if q > p:
                units.extend(literal_units(text[p:q], p))
                p = q
            if p >= stop:
                return p
            ch = text[p]
            if not double and ch == "'" and text[p + 1 : p + 2] == "'":
                units.append(("'", p, p + 2, ESCAPE))
                p += 2
            elif (double and ch == "'") or (not double and ch in '"\\'):
                units.append((ch, p, p + 1, LITERAL))
                p += 1
            elif double and ch == "\\":
                nxt = text[p + 1 : p + 2]
                if nxt in _YAML_ESCAPES:
                    units.append((_YAML_ESCAPES[nxt], p, p + 2, ESCAPE))
                    p += 2
                elif nxt in _YAML_CODES:
                    w = _YAML_CODES[nxt]
                    hexs = text[p + 2 : p + 2 + w]
                    units.append((chr(int(hexs, 16)), p, p + 2 + w, ESCAPE))
                    p += 2 + w
                elif nxt and nxt in _BREAKS:
                    _v, q = _line_break(text, p + 1)
                    vals, ends, q = _flow_breaks(text, q, stop)
                    units.extend(_fold_units(vals, p, ends, q))
                    p = q
                else:
                    raise ValueError("bad escape")
            else:
                return p

    p = non_spaces(p)
    while p < stop and text[p] != quote:
        # scan_flow_scalar_spaces
        ws = p
        while p < stop and text[p] in " \t":
            p += 1
        if p < stop and text[p] in _BREAKS:
            lb, q = _line_break(text, p)
            vals, ends, q = _flow_breaks(text, q, stop)
            if lb != "\n" or any(v != "\n" for v in vals):
                raise ValueError("unicode line separator")
            out = vals if vals else [" "]
            units.extend(_fold_units(out, ws, ends, q))
            p = q
        else:
            units.extend(literal_units(text[ws:p], ws))
        p = non_spaces(p)
    return units


def _plain_units(text, start, end):
    units = []
    p = start
    pending = []
    while p < end:
        if text[p] == "#":
            break
        q = p
        while q < end and text[q] not in " \t" + _BREAKS:
            q += 1
        if q == p:
            break
        units.extend(pending)
        units.extend(literal_units(text[p:q], p))
        p = q
        if p >= end:
            break
        # scan_plain_spaces
        ws = p
        while p < len(text) and text[p] == " ":
            p += 1
        if p < len(text) and text[p] in _BREAKS:
            lb, q = _line_break(text, p)
            vals, ends = [], []
            while q < len(text) and text[q] in " " + _BREAKS:
                if text[q] == " ":
                    q += 1
                else:
                    v, q = _line_break(text, q)
                    vals.append(v)
                    ends.append(q)
            if lb != "\n" or any(v != "\n" for v in vals):
                raise ValueError("unicode line separator")
            pending = _fold_units(vals if vals else [" "], ws, ends, q)
            p = q
        elif p > ws:
            pending = literal_units(text[ws:p], ws)
        else:
            break
    return units


def _block_units(text, start, end, folded):
    """Units of a block scalar whose indicator is at text[start], mirroring PyYAML's scan_block_scalar.

    Content lines are literal units; each line break is a unit of its own (literal ``\n`` in LF files);
    the indentation is left out of the map (it is structure, not text). A folded line break is a " " escape.
    """
    n = len(text)
    p = start + 1
    chomping = None
    while p < end and text[p] in "+-0123456789":
        c = text[p]
        if c in "+-":
            chomping = c == "+"
        else:
            return None  # explicit indentation indicator: relative to the parent, not mapped
        p += 1
    while p < n and text[p] not in _BREAKS:
        p += 1
    if p >= n:
        return []
    _lb, p = _line_break(text, p)

    def brk(p):
        v, q = _line_break(text, p)
        if v != "\n":
            raise ValueError("unicode line separator")
        return (v, p, q, LITERAL if text[p:q] == "\n" else ESCAPE), q

    # indentation: leading empty lines and the first content line's spaces
    max_indent = 0
    breaks = []
    line_start = p
    while p < n and text[p] in " " + _BREAKS:
        if text[p] == " ":
            p += 1
            max_indent = max(max_indent, p - line_start)
        else:
            u, p = brk(p)
            breaks.append(u)
            line_start = p
    indent = max(1, max_indent)
    units = []
    lb_unit = None
    while p < n and (p - line_start) == indent:
        units.extend(breaks)
        leading_non_space = text[p] not in " \t"
        q = p
        while q < n and text[q] not in _BREAKS:
            q += 1
        units.extend(literal_units(text[p:q], p))
        p = q
        lb_unit = None
        if p < n:
            lb_unit, p = brk(p)
        line_start = p
        # scan_block_scalar_breaks
        breaks = []
        while p < n and (p - line_start) < indent and text[p] == " ":
            p += 1
        while p < n and text[p] in _BREAKS:
            u, p = brk(p)
            breaks.append(u)
            line_start = p
            while p < n and (p - line_start) < indent and text[p] == " ":
                p += 1
        if p < n and (p - line_start) == indent and lb_unit is not None:
            if folded and leading_non_space and text[p] not in " \t":
                if not breaks:
                    units.append((" ", lb_unit[1], lb_unit[2], ESCAPE))
            else:
                units.append(lb_unit)
        else:
            break
    if chomping is not False and lb_unit is not None:
        units.append(lb_unit)
    if chomping is True:
        units.extend(breaks)
    return units


def _yaml_mapper(text, node):
    style = node.style or None  # libyaml says "" for plain scalars
    s, e = node.start_mark.index, node.end_mark.index

    def mapper():
        try:
            if style in ("|", ">"):
                return _block_units(text, s, e, style == ">")
            if style in ("'", '"'):
                return _quoted_units(text, s, e, style == '"')
            if style is None:
                return _plain_units(text, s, e)
        except (ValueError, IndexError):
            return None
        return None

    return mapper


def compose(text: str, base: int = 0, index: Optional[LineIndex] = None):
    """Compose every YAML document of text (nodes only) and convert to the generic tree. Raises ExtractError.

    ``base``: offset of text in the file (front matter); positions in the tree are file offsets.
    """
    import yaml

    def where(mark):
        if mark is None:
            return 1, 1
        if index is not None:
            return index.position(base + mark.index)
        return mark.line + 1, mark.column + 1

    # libyaml's composer when available (about 6x faster; its marks are character offsets, like the pure
    # Python one's). Composition only: no constructor ever runs.
    loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    try:
        docs = list(yaml.compose_all(text, Loader=loader))
    except yaml.MarkedYAMLError as exc:
        line, col = where(exc.problem_mark or exc.context_mark)
        problem = exc.problem or exc.context or "invalid YAML"
        raise _error(f"invalid YAML: {problem}", line, col) from None
    except yaml.YAMLError as exc:
        raise _error(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _error("YAML nested too deeply to analyse") from None
    out = []
    for doc in docs:
        if doc is None:
            continue
        _check_size(doc, where)
        out.append(_convert(doc, text, base))
    return out


def _check_size(root, where):
    """Expanded node count (aliases counted at every use) without expanding; refuse bombs and cycles."""
    import yaml

    sizes = {}
    active = set()
    # iterative post-order to avoid recursion limits on deep documents
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            active.discard(nid)
            if isinstance(node, yaml.MappingNode):
                total = 1 + sum(sizes[id(k)] + sizes[id(v)] for k, v in node.value)
            elif isinstance(node, yaml.SequenceNode):
                total = 1 + sum(sizes[id(v)] for v in node.value)
            else:
                total = 1
            sizes[nid] = total
            if total > MAX_EXPANDED_NODES:
                line, col = where(node.start_mark)
                raise _error(
                    f"YAML aliases expand to more than {MAX_EXPANDED_NODES:,} nodes (an alias bomb?); file not analysed",
                    line,
                    col,
                )
            continue
        if nid in sizes:
            continue
        if nid in active:
            line, col = where(node.start_mark)
            raise _error("YAML alias refers to itself (recursive anchor); file not analysed", line, col)
        tag = node.tag or ""
        if tag.startswith("tag:yaml.org,2002:python/"):
            line, col = where(node.start_mark)
            raise _error(
                f"YAML tag '!!{tag[len('tag:yaml.org,2002:'):]}' would construct a Python object; promptlint loads YAML safely and did not analyse this file",
                line,
                col,
            )
        active.add(nid)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((k, False))
                stack.append((v, False))
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                stack.append((v, False))


_STR_TAG = "tag:yaml.org,2002:str"


def _convert(root, text, base):
    import yaml

    memo = {}

    def conv(node):
        nid = id(node)
        got = memo.get(nid)
        if got is not None:
            return got
        s, e = base + node.start_mark.index, base + node.end_mark.index
        if isinstance(node, yaml.ScalarNode):
            tag = node.tag or ""
            if tag == _STR_TAG or not tag.startswith("tag:yaml.org,2002:"):
                mapper = _yaml_mapper(text, node)
                if base:
                    inner = mapper

                    def mapper(inner=inner):
                        u = inner()
                        return None if u is None else [(t, a + base, b + base, k) for t, a, b, k in u]

                out = StrN(node.value, s, e, mapper, folded=node.style == ">")
            else:
                out = OtherN(node.value, s, e)
            memo[nid] = out
            return out
        if isinstance(node, yaml.SequenceNode):
            out = SeqN([], s, e)
            memo[nid] = out
            out.items = [conv(v) for v in node.value]
            return out
        out = MapN([], s, e)
        memo[nid] = out
        items = []
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                key = "<<" if k.tag == "tag:yaml.org,2002:merge" else k.value
            else:
                key = None
            items.append((key, conv(v)))
        out.items = items
        return out

    import sys

    old = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(old, 20000))
        return conv(root)
    except RecursionError:
        raise _error("YAML nested too deeply to analyse") from None
    finally:
        sys.setrecursionlimit(old)


def to_data(node):
    """Plain Python data from the generic tree (front matter): str, int, float, bool, None, dict, list."""
    seen = set()

    def conv(n, depth=0):
        if depth > 100 or id(n) in seen and not isinstance(n, (StrN, OtherN)):
            return None
        if isinstance(n, StrN):
            return n.value
        if isinstance(n, OtherN):
            return _scalar_value(n.value)
        seen.add(id(n))
        try:
            if isinstance(n, SeqN):
                return [conv(x, depth + 1) for x in n.items]
            d = {}
            for k, v in n.items:
                if k is not None:
                    d[k] = conv(v, depth + 1)
            return d
        finally:
            seen.discard(id(n))

    return conv(node)


def _scalar_value(v):
    if v is None or not isinstance(v, str):
        return v
    low = v.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("null", "~", ""):
        return None
    try:
        return int(v.replace("_", ""), 0) if not re.match(r"^[-+]?0\d", v) else int(v.replace("_", ""), 8)
    except ValueError:
        pass
    try:
        return float(v.replace("_", ""))
    except ValueError:
        return v


def front_matter(text: str, base: int, index: LineIndex) -> dict:
    """Parse a front-matter block (YAML) into plain data; {} when empty. Raises ExtractError."""
    docs = compose(text, base, index)
    if not docs:
        return {}
    data = to_data(docs[0])
    return data if isinstance(data, dict) else {}


# ------------------------------------------------------------------------------------------------- JSON

_JSON_ESC = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_JTOK = re.compile(r'[ \t\r\n]*(?:("(?:[^"\\]|\\.)*")|([{}\[\]:,])|(-?(?:\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null))', re.S)


def json_string_units(text: str, start: int, end: int) -> list:
    """Units of the JSON string token text[start:end] (quotes included), escapes decoded exactly."""
    units = []
    p = start + 1
    stop = end - 1
    while p < stop:
        ch = text[p]
        if ch == "\\":
            n = text[p + 1]
            if n == "u":
                code = int(text[p + 2 : p + 6], 16)
                q = p + 6
                if 0xD800 <= code < 0xDC00 and text.startswith("\\u", q):
                    low = int(text[q + 2 : q + 6], 16)
                    if 0xDC00 <= low < 0xE000:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        q += 6
                units.append((chr(code), p, q, ESCAPE))
                p = q
            else:
                units.append((_JSON_ESC[n], p, p + 2, ESCAPE))
                p += 2
        else:
            units.append((ch, p, p + 1, LITERAL))
            p += 1
    return units


def parse_json(text: str, index: LineIndex):
    """Generic tree of a JSON document with positions. Raises ExtractError on invalid JSON."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise _error("JSON nested too deeply to analyse") from None
    toks = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _JTOK.match(text, pos)
        if not m:
            if text[pos:].strip():
                raise _error("invalid JSON", *index.position(pos))
            break
        if m.group(1) is not None:
            toks.append(("s", m.start(1), m.end(1)))
        elif m.group(2) is not None:
            toks.append((m.group(2), m.start(2), m.end(2)))
        else:
            toks.append(("v", m.start(3), m.end(3)))
        pos = m.end()
    # iterative build
    k = 0

    def decode(s, e):  # a string token (quotes included) already validated by json.loads above
        body = text[s + 1 : e - 1]
        return body if "\\" not in body else json.loads(text[s:e])

    def string_node(s, e):
        value = decode(s, e)

        def mapper(s=s, e=e):
            return json_string_units(text, s, e)

        return StrN(value, s, e, mapper)

    root = None
    stack = []  # (container, pending_key)
    while k < len(toks):
        t, s, e = toks[k]
        k += 1
        node = None
        if t == "{":
            c = MapN([], s, e)
            if stack:
                _attach(stack, c)
            else:
                root = c
            stack.append([c, None, False])
            continue
        if t == "[":
            c = SeqN([], s, e)
            if stack:
                _attach(stack, c)
            else:
                root = c
            stack.append([c, None, False])
            continue
        if t in "}]":
            c = stack.pop()[0]
            c.end = e
            continue
        if t == ",":
            continue
        if t == ":":
            stack[-1][2] = True
            continue
        if t == "s":
            if stack and isinstance(stack[-1][0], MapN) and not stack[-1][2]:
                stack[-1][1] = decode(s, e)
                continue
            node = string_node(s, e)
        else:
            node = OtherN(text[s:e], s, e)
        if stack:
            _attach(stack, node)
        else:
            root = node
    return root


def _attach(stack, node):
    top = stack[-1]
    c = top[0]
    if isinstance(c, MapN):
        c.items.append((top[1], node))
        top[1] = None
        top[2] = False
    else:
        c.items.append(node)


# ------------------------------------------------------------------------------------------------ walk


_KEY_RX: dict = {}


def _key_matches(key: str, patterns) -> bool:
    """Does the key match one of the (case-insensitive) fnmatch patterns? One regex per pattern list."""
    patterns = tuple(patterns)
    rx = _KEY_RX.get(patterns, False)
    if rx is False:
        rx = _KEY_RX[patterns] = re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns)) if patterns else None
    return rx is not None and rx.match(key.lower()) is not None


def _str_of(node):
    return node.value if isinstance(node, StrN) else None


class _Walker:
    def __init__(self, source: SourceFile, cfg, index: LineIndex):
        self.source = source
        self.cfg = cfg
        self.index = index
        self.patterns = tuple(getattr(cfg, "prompt_keys", ()) or ())
        self.prompts = []
        self.done = set()  # ids of string nodes already emitted
        self.visited = set()  # ids of containers already walked

    def run(self, root):
        self.walk(root, "", None, None)
        self.prompts.sort(key=lambda p: p.start)
        return self.prompts

    def walk(self, node, path, model, max_tokens):
        if isinstance(node, (StrN, OtherN)) or node is None:
            return
        if id(node) in self.visited:
            return
        self.visited.add(id(node))
        if isinstance(node, SeqN):
            for i, item in enumerate(node.items):
                self.walk(item, f"{path}[{i}]", model, max_tokens)
            return
        items = self._items(node)
        keys = {}
        for k, v in items:
            if k is not None:
                keys.setdefault(k.lower(), v)
        model = self._model(keys) or model
        max_tokens = self._max_tokens(keys) or max_tokens
        role_node = keys.get("role")
        role = ROLES.get(_str_of(role_node).strip().lower()) if isinstance(role_node, StrN) else None
        content = keys.get("content")
        if role is not None and content is not None:
            cpath = self._join(path, next(k for k, v in items if k is not None and k.lower() == "content"))
            if isinstance(content, StrN):
                self.emit(content, cpath, role, model, max_tokens, message=True)
            elif isinstance(content, SeqN):
                for i, part in enumerate(content.items):
                    if isinstance(part, MapN):
                        pk = {k.lower(): v for k, v in self._items(part) if k is not None}
                        t = pk.get("text")
                        if isinstance(t, StrN) and _str_of(pk.get("type")) in (None, "text", "input_text"):
                            self.emit(t, f"{cpath}[{i}].text", role, model, max_tokens, message=True)
        strong_sibling = (
            any(k in keys for k in _CONTEXT_KEYS)
            or ("role" in keys and "goal" in keys)
            or any(
                isinstance(v, StrN)
                and k is not None
                and k.lower() not in WEAK_KEYS
                and k.lower() != "role"
                and _key_matches(k, self.patterns)
                and reads_as_instructions(v.value)
                for k, v in items
            )
        )
        for k, v in items:
            if k is None:
                continue
            sub = self._join(path, k)
            if isinstance(v, StrN):
                low = k.lower()
                if low == "role" or not _key_matches(k, self.patterns):
                    continue
                if low in WEAK_KEYS and not strong_sibling:
                    continue
                if not reads_as_instructions(v.value):
                    continue
                self.emit(v, sub, None, model, max_tokens)
            else:
                self.walk(v, sub, model, max_tokens)

    def _items(self, node):
        """Items of a mapping with YAML merge keys (``<<: *base``) resolved (local keys win)."""
        out = []
        merged = []
        for k, v in node.items:
            if k == "<<":
                for m in v.items if isinstance(v, SeqN) else [v]:
                    if isinstance(m, MapN):
                        merged.extend(m.items)
            else:
                out.append((k, v))
        if merged:
            local = {k for k, _v in out}
            out.extend((k, v) for k, v in merged if k not in local)
        return out

    @staticmethod
    def _join(path, key):
        key = str(key)
        return f"{path}.{key}" if path else key

    @staticmethod
    def _model(keys):
        for k in MODEL_KEYS:
            v = keys.get(k)
            if isinstance(v, StrN):
                s = v.value.strip()
                if _MODEL_RE.match(s) and "${" not in s:
                    return s
        return None

    @staticmethod
    def _max_tokens(keys):
        for k in MAX_TOKEN_KEYS:
            v = keys.get(k)
            if isinstance(v, OtherN):
                val = _scalar_value(v.value)
                if isinstance(val, int) and not isinstance(val, bool):
                    return val
        return None

    def emit(self, node: StrN, name, role, model, max_tokens, message=False):
        if id(node) in self.done:
            return
        if not node.value.strip():
            return
        self.done.add(id(node))
        units = node.mapper()
        exact = units is not None and units_text(units) == node.value
        if not exact:
            units = common.coarse_units(node.value, node.start, node.end)
        fixable = exact and not node.folded
        end = node.end
        tail = [u for u in units if u[0] not in ("\n", "")]
        if tail and tail[-1][2] < end and not self.source.text[tail[-1][2] : end].strip():
            end = tail[-1][2]  # a block scalar ends with its last character, not at the next key
        units, names, events = string_template(units)
        meta = {"max_tokens": max_tokens} if max_tokens is not None else None
        p = common.build_prompt(
            self.source,
            units,
            self.index,
            name=name,
            role=role,
            model=model,
            placeholders=names,
            events=events,
            meta=meta,
            fixable=fixable,
            span=(node.start, end),
            keep_empty=message,
        )
        if p is not None:
            self.prompts.append(p)


def string_template(units):
    """Placeholders inside a prompt string: Jinja tags when it has any, else ``{name}`` fields."""
    from . import jinja

    text = units_text(units)
    if "{{" in text or "{%" in text:
        try:
            return jinja.tokenize(units)
        except jinja.TemplateError:
            pass
    out, names = common.brace_fields(units)
    return out, names, {}


# --------------------------------------------------------------------------------------------- entries


_PROMPTISH = re.compile(r"prompt|template|system|instruction|backstory|goal|persona|expected_output|\brole\b|description", re.I)


def _looks_promptish(text: str, cfg) -> bool:
    if _PROMPTISH.search(text):
        return True
    for pat in getattr(cfg, "prompt_keys", ()) or ():
        frag = pat.strip("*").lower()
        if frag and "*" not in frag and "?" not in frag and "[" not in frag and frag in text.lower():
            return True
    return False


def _skip(source: SourceFile) -> bool:
    import os

    name = os.path.basename(source.path).lower()
    if name in SKIP_NAMES or (name.startswith("tsconfig") and name.endswith(".json")):
        return True
    return len(source.text) > MAX_CHARS


def extract_yaml(source: SourceFile, cfg):
    if _skip(source) or not _looks_promptish(source.text, cfg):
        return []
    index = LineIndex(source.text)
    try:
        docs = compose(source.text, 0, index)
    except Exception as exc:  # noqa: BLE001 - re-raised as is when it is ours
        from ..pipeline import ExtractError

        if isinstance(exc, ExtractError) and exc.message.startswith("invalid YAML") and not _claims_prompts(source.text, cfg):
            return []  # a broken YAML file that is nobody's prompt file (Helm templates, …): not our business
        raise
    w = _Walker(source, cfg, index)
    try:
        for doc in docs:
            w.walk(doc, "", None, None)
    except RecursionError:
        raise _error("YAML nested too deeply to analyse") from None
    w.prompts.sort(key=lambda p: p.start)
    return w.prompts


def extract_json(source: SourceFile, cfg):
    if _skip(source) or not _looks_promptish(source.text, cfg):
        return []
    index = LineIndex(source.text)
    try:
        root = parse_json(source.text, index)
    except Exception as exc:  # noqa: BLE001
        from ..pipeline import ExtractError

        if isinstance(exc, ExtractError) and not _claims_prompts(source.text, cfg):
            return []  # JSON with comments (settings, tsconfig-like) or other broken data: not a prompt file
        raise
    try:
        return _Walker(source, cfg, index).run(root)
    except RecursionError:
        raise _error("JSON nested too deeply to analyse") from None


_CLAIM_KEY = re.compile(r"""^[ \t-]*["']?([\w.-]+)["']?[ \t]*:""", re.M)


def _claims_prompts(text: str, cfg) -> bool:
    """Does a file that does not parse look like it holds prompts (a prompt-bearing key or a message)?"""
    patterns = tuple(getattr(cfg, "prompt_keys", ()) or ())
    for m in _CLAIM_KEY.finditer(text):
        k = m.group(1)
        if k.lower() in WEAK_KEYS:
            continue
        if _key_matches(k, patterns) or k.lower() == "content":
            return True
    return False
