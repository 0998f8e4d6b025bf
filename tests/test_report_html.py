"""`promptlint report --format html`: one self-contained page, same numbers as the Markdown report, escaped,
accessible colours, and rendered in real headless Chromium without console errors.

The browser tests drive Chromium through the DevTools protocol over a pipe (`--remote-debugging-pipe`: JSON
messages on file descriptors 3 and 4), which needs no Python package and no network port. They collect every
console message, uncaught exception, browser log entry (CSP violations, failed loads) and network request, and
a harness test proves that each of those is caught. They are skipped, with the reason, only where Chromium is
not installed (`apt-get install chromium chromium-driver`; `.ci/run` installs it). Set
PROMPTLINT_SCREENSHOT_DIR=/some/dir to also write desktop, phone and print screenshots of the examples report.
"""

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from promptlint import costs
from promptlint import report_html

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


# ------------------------------------------------------------------------------------------ helpers


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def _promptlint(ctx):
    from promptlint.cli import main

    main(ctx.args)


def run_report(cwd, *args):
    """`promptlint report ARGS` in cwd (the real CLI entry point, in-process); returns stdout."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        r = CliRunner().invoke(_promptlint, ["report", *args], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert r.exit_code == 0, r.output
    return r.stdout


def copy_examples(dest: Path) -> Path:
    shutil.copytree(EXAMPLES, dest / "examples", ignore=shutil.ignore_patterns(".promptlint_cache"))
    return dest


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag=None, **attrs):
        out = []
        for n in self.iter():
            if tag is not None and n.tag != tag:
                continue
            if all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(n)
        return out

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def has_class(self, cls):
        return cls in (self.attrs.get("class") or "").split()


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.cur = self.root
        self.tags = []  # every start tag, in order

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(html: str) -> TreeBuilder:
    tb = TreeBuilder()
    tb.feed(html)
    tb.close()
    return tb


def html_table(doc: Node, table_id: str):
    """(headers, rows of cell texts) of a table; the prompts table yields its location as its first cell."""
    t = doc.find("table", id=table_id)
    assert t is not None, table_id
    heads = [th.text().strip() for th in t.find("thead").find_all("th")]
    rows = []
    for tr in t.find("tbody").find_all("tr"):
        cells = [c for c in tr.children if isinstance(c, Node) and c.tag in ("th", "td")]
        texts = [c.text().strip() for c in cells]
        loc = cells[0].find("code", **{"class": "p-loc"})
        if loc is not None:
            texts[0] = loc.text().strip()
        rows.append(texts)
    return [h.upper() for h in heads], rows


def md_unescape(s: str) -> str:
    s = re.sub(r"\\(.)", r"\1", s)
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def md_tables(md: str):
    """{section title: (headers, rows)} of the Markdown report's tables."""
    out = {}
    title = None
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("### "):
            title = line[4:].strip()
        elif line.startswith("| ") and title and title not in out:
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            cells = [[md_unescape(c.strip()).strip("`") for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows]
            out[title] = ([h.upper() for h in cells[0]], cells[2:])
            continue
        i += 1
    return out


MONEY = re.compile(r"~?\$[0-9][0-9,]*(?:\.[0-9]+)?")
TOKENS = re.compile(r"~?[0-9][0-9,]*")


def number(s: str):
    """(value, approximate) of a formatted cell: '~$1,234.5' -> (1234.5, True); '-' -> None."""
    s = s.strip()
    if s in ("-", ""):
        return None
    approx = s.startswith("~")
    v = s.lstrip("~").lstrip("$").replace(",", "")
    return float(v), approx


def numbers_in(s: str):
    return [number(m) for m in MONEY.findall(s)]


def rel_luminance(hex_color: str) -> float:
    h = hex_color.lstrip("#")
    chans = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in chans]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((rel_luminance(a), rel_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def examples_reports(tmp_path_factory):
    """The examples project (copied), its report as HTML (written with -o), JSON and Markdown, 1000 calls/day."""
    root = copy_examples(tmp_path_factory.mktemp("ex"))
    args = ("examples", "--calls-per-day", "1000")
    out = root / "report.html"
    assert run_report(root, *args, "--format", "html", "-o", str(out)) == ""
    return {
        "root": root,
        "html_path": out,
        "html": out.read_text(encoding="utf-8"),
        "json": json.loads(run_report(root, *args, "--format", "json")),
        "md": run_report(root, *args, "--format", "markdown"),
    }


@pytest.fixture(scope="module")
def examples_no_rates(examples_reports):
    root = examples_reports["root"]
    return {
        "root": root,
        "html": run_report(root, "examples", "--format", "html"),
        "json": json.loads(run_report(root, "examples", "--format", "json")),
        "md": run_report(root, "examples", "--format", "markdown"),
    }


EVIL_DIR = "x\"'<script>alert(1)<"
EVIL_TEMPLATE = 'You are a helpful assistant for "Acme" & <Co>.\n\nPlease make sure to answer </textarea><script>alert(2)</script> politely.\n{{ question }}\n'
EVIL_NAME = "\"'><script>alert('k')</script>"
EVIL_YAML = """'"''><script>alert(''k'')</script>':
  role: >
    Researcher "quoted" & 'single'
  backstory: |
    You have spent ten years in retail. In order to help, read the notes first.
  llm: gpt-4o
"""


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory):
    """A project whose prompt names, paths, messages and fix text hold markup and quotes."""
    root = tmp_path_factory.mktemp("evil")
    (root / EVIL_DIR).mkdir()
    (root / EVIL_DIR / "script>.j2").write_text(EVIL_TEMPLATE, encoding="utf-8")
    (root / "agents.yaml").write_text(EVIL_YAML, encoding="utf-8")
    out = root / "report.html"
    run_report(root, ".", "--calls-per-day", "10", "--format", "html", "-o", str(out))
    return {"root": root, "html_path": out, "html": out.read_text(encoding="utf-8"), "json": json.loads(run_report(root, ".", "--calls-per-day", "10", "--format", "json"))}


# --------------------------------------------------------------------------------- static checks


def test_page_is_self_contained_and_locked_down(examples_reports):
    import base64 as b64
    import hashlib

    html = examples_reports["html"]
    tb = parse(html)
    doc = tb.root
    # nothing is loaded from anywhere: no src/href except in-page anchors, no CSS url(), no @import
    for tag, attrs in tb.tags:
        for k, v in attrs:
            if k in ("src", "srcset", "action", "formaction", "poster", "data"):
                pytest.fail(f"<{tag} {k}={v!r}> loads something")
            if k == "href":
                assert v.startswith("#"), f"<{tag} href={v!r}>"
    styles, scripts = doc.find_all("style"), doc.find_all("script")
    assert len(styles) == 1 and len(scripts) == 1
    css, js = styles[0].text(), scripts[0].text()
    assert "url(" not in css and "@import" not in css
    assert "http" not in js and "fetch" not in js and "XMLHttpRequest" not in js
    # the CSP allows exactly that style and that script, by hash, and nothing else
    csp = doc.find("meta", http_equiv="Content-Security-Policy").attrs["content"]

    def h(text):
        return "sha256-" + b64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"style-src '{h(css)}'" in csp and f"script-src '{h(js)}'" in csp and "default-src 'none'" in csp
    # no inline style attributes (the CSP would block them) and no inline event handlers
    for tag, attrs in tb.tags:
        for k, _ in attrs:
            assert k != "style" and not k.startswith("on"), (tag, k)
    assert doc.find("html").attrs.get("lang") == "en"


def test_charts_are_accessible_svg(examples_reports):
    doc = parse(examples_reports["html"]).root
    svgs = [s for s in doc.find_all("svg") if s.attrs.get("role") == "img"]
    assert len(svgs) >= 3  # prompts by cost, waste by rule, spend by model
    for svg in svgs:
        ids = svg.attrs["aria-labelledby"].split()
        title = svg.find("title")
        desc = svg.find("desc")
        assert title is not None and desc is not None
        assert [title.attrs["id"], desc.attrs["id"]] == ids
        assert title.text().strip() and len(desc.text()) > 20
    # decorative legend swatches are hidden from screen readers
    for s in doc.find_all("svg", **{"class": "swatch"}):
        assert s.attrs.get("aria-hidden") == "true"
    # every id is unique
    all_ids = [n.attrs["id"] for n in doc.iter() if "id" in n.attrs]
    assert len(all_ids) == len(set(all_ids))


@pytest.mark.parametrize("fg,bg", report_html.TEXT_PAIRS)
def test_text_colours_meet_wcag_aa(fg, bg):
    ratio = contrast(report_html.color(fg), report_html.color(bg))
    assert ratio >= 4.5, f"{fg} on {bg}: {ratio:.2f}:1"


@pytest.mark.parametrize("fg,bg", report_html.GRAPHIC_PAIRS)
def test_chart_colours_meet_non_text_contrast(fg, bg):
    ratio = contrast(report_html.color(fg), report_html.color(bg))
    assert ratio >= 3.0, f"{fg} on {bg}: {ratio:.2f}:1"


def test_every_palette_colour_in_css_is_checked():
    """The CSS draws text only with colours whose pairs are checked above."""
    css = report_html._css()
    used = set(re.findall(r"(?<![-\w])color:var\(--([\w-]+)\)", css)) | set(re.findall(r"fill:var\(--([\w-]+)\)", css))
    checked = {fg for fg, _ in report_html.TEXT_PAIRS} | {fg for fg, _ in report_html.GRAPHIC_PAIRS}
    assert used <= checked, used - checked


# ---------------------------------------------------------------------------- same numbers as Markdown


def test_markdown_and_html_show_the_same_numbers(examples_reports):
    """Both renderings come from one Report: every number of the prompts, models and waste tables, and the
    totals, parsed out of both documents, agree."""
    md, html = examples_reports["md"], examples_reports["html"]
    doc = parse(html).root
    tables = md_tables(md)

    def compare(md_title, html_id, key_md, key_html, columns):
        mh, mrows = tables[md_title]
        hh, hrows = html_table(doc, html_id)
        mby = {r[mh.index(key_md)]: r for r in mrows}
        hby = {r[hh.index(key_html)]: r for r in hrows}
        assert mby.keys() == hby.keys() and len(mrows) == len(hrows) > 0
        for key in mby:
            for cm, ch in columns:
                a, b = mby[key][mh.index(cm)], hby[key][hh.index(ch)]
                assert number(a) == number(b) if cm not in ("MODEL",) else a == b, (md_title, key, cm, a, b)
        return [r[mh.index(key_md)] for r in mrows], [r[hh.index(key_html)] for r in hrows]

    md_order, html_order = compare(
        "Prompts by monthly cost",
        "prompt-table",
        "PROMPT",
        "PROMPT",
        [("MODEL", "MODEL"), ("TOKENS", "TOKENS"), ("$/CALL", "$/CALL"), ("CALLS/DAY", "CALLS/DAY"), ("$/MONTH", "$/MONTH"), ("WASTE TOK", "WASTE TOKENS")],
    )
    assert md_order == html_order  # the same ranking: the table is pre-sorted without JavaScript
    compare(
        "By model (prices per 1M tokens)",
        "model-table",
        "MODEL",
        "MODEL",
        [(c, c) for c in ("PROMPTS", "TOKENS", "$/1M IN", "$/1M CACHED", "$/1M OUT", "$/CALL", "$/MONTH")],
    )
    compare("Waste by rule", "waste-table", "CODE", "CODE", [(c, c) for c in ("FINDINGS", "TOKENS/CALL", "$/CALL", "$/MONTH")])

    # totals: the Markdown bullet lines vs the page's headline figures
    bullets = [md_unescape(line[2:]) for line in md.split("### ")[0].splitlines() if line.startswith("- ")]
    kpi = {n.attrs["data-kpi"]: n.text() for n in doc.find_all("dd") if "data-kpi" in n.attrs}
    tokens_line = next(b for b in bullets if b.startswith("Prompts:"))
    assert tokens_line.endswith(f"{kpi['tokens']} tokens")
    assert numbers_in(next(b for b in bullets if b.startswith("Cost per call")))[-1] == number(kpi["per-call"])
    assert numbers_in(next(b for b in bullets if b.startswith("Projected monthly")))[-1] == number(kpi["monthly"])
    waste_line = next(b for b in bullets if b.startswith("Waste:"))
    assert numbers_in(waste_line)[-1] == number(kpi["waste"].removesuffix("/month"))
    sub = doc.find("dd", data_kpi="waste").parent.find("dd", **{"class": "kpi-sub"}).text()
    assert re.search(r"Waste: (~?[\d,]+) tokens per call in (\d+) finding", waste_line).group(1, 2) == re.search(r"(~?[\d,]+) tokens per call in (\d+) finding", sub).group(1, 2)


def test_numbers_come_from_the_report(examples_reports):
    """The headline figures are the JSON report's totals, formatted (thousands separators, $ precision)."""
    rep = examples_reports["json"]
    t = rep["totals"]
    doc = parse(examples_reports["html"]).root
    kpi = {n.attrs["data-kpi"]: n.text() for n in doc.find_all("dd") if "data-kpi" in n.attrs}
    assert kpi["monthly"] == costs.money(t["monthly_cost"], t["approximate"])
    assert kpi["per-call"] == costs.money(t["cost_per_call"], t["approximate"])
    assert kpi["tokens"] == ("~" if t["approximate"] else "") + f"{t['tokens']:,}"
    assert kpi["waste"] == costs.money(t["waste_monthly"], t["waste_approximate"]) + "/month"
    assert "," in kpi["tokens"]  # the examples have thousands of tokens
    h1 = doc.find("h1").text()
    assert costs.money(t["monthly_cost"], t["approximate"]) in h1 and "a month" in h1
    # the chart ranks prompts by monthly cost and its bars carry the formatted values
    chart = doc.find("section", id="spend").find("svg", role="img")
    values = [n.text() for n in chart.find_all("text") if n.has_class("value")]
    first = rep["prompts"][0]
    assert values[0] == costs.money(first["monthly_cost"], first["approximate"]) + "/month"
    # the top findings are the report's, with file:line and the rewrite of those that have a fix
    cards = doc.find("ol", **{"class": "findings"}).find_all("li")
    assert len(cards) == len(rep["top_findings"])
    for card, f in zip(cards, rep["top_findings"]):
        loc = f"{f['path']}:{f['line']}:{f['column']}"
        assert card.find("code").text() == loc
        assert f["message"] in card.text()
        diffs = card.find_all("pre")
        if f["fix"]:
            shown = f["fix"]["edits"][: report_html.FINDING_EDITS]
            assert len(diffs) == len(shown)
            for pre, e in zip(diffs, shown):
                if e["before"].strip():
                    assert pre.find("del").text().replace("\u21b5", "") == e["before"][: report_html.FIX_CHARS]
                if e["after"]:
                    assert pre.find("ins").text().replace("\u21b5", "") == e["after"][: report_html.FIX_CHARS]
        else:
            assert not diffs


def test_fix_edits_carry_their_line_context(examples_reports):
    """FixEdit.prefix + before + suffix is the source text around the edit (so the page can show it in place)."""
    rep = examples_reports["json"]
    root = examples_reports["root"]
    seen = 0
    for f in rep["top_findings"]:
        if not f["fix"]:
            continue
        text = (root / f["path"]).read_text(encoding="utf-8")
        for e in f["fix"]["edits"]:
            whole = e["prefix"] + e["before"] + e["suffix"]
            assert whole in text
            line = text.splitlines()[e["line"] - 1]
            assert line.startswith(e["prefix"]) or len(e["prefix"]) == 160
            assert "\n" not in e["prefix"] and "\n" not in e["suffix"]
            seen += 1
    assert seen


def test_without_call_rates_the_page_ranks_by_cost_per_call_and_says_so(examples_no_rates):
    html, rep = examples_no_rates["html"], examples_no_rates["json"]
    assert rep["has_rates"] is False
    doc = parse(html).root
    text = doc.find("body").text()
    assert "No calls-per-day configured" in text and "cost per call" in text
    kpi = {n.attrs["data-kpi"]: n.text() for n in doc.find_all("dd") if "data-kpi" in n.attrs}
    assert "monthly" not in kpi
    t = rep["totals"]
    assert kpi["per-call"] == costs.money(t["cost_per_call"], t["approximate"])
    chart = doc.find("section", id="spend").find("svg", role="img")
    assert chart.find("title").text() == "Prompts by cost per call"
    heads, rows = html_table(doc, "prompt-table")
    assert "$/MONTH" not in heads and "CALLS/DAY" not in heads
    sorted_th = [th for th in doc.find("table", id="prompt-table").find_all("th") if th.attrs.get("aria-sort")]
    assert [th.text() for th in sorted_th] == ["$/call"]
    assert [r[0] for r in rows] == [f"{p['path']}:{p['line']}:{p['column']}" for p in rep["prompts"]]
    # and Markdown agrees on the ranking and the figures
    mh, mrows = md_tables(examples_no_rates["md"])["Prompts by cost per call"]
    assert [r[0] for r in mrows] == [r[0] for r in rows]
    assert [number(r[mh.index("$/CALL")]) for r in mrows] == [number(r[heads.index("$/CALL")]) for r in rows]


def test_user_controlled_text_is_escaped(evil_report):
    html, rep = evil_report["html"], evil_report["json"]
    tb = parse(html)
    doc = tb.root
    # only the report's own script; no injected elements or handlers
    assert len(doc.find_all("script")) == 1
    assert not doc.find_all("img") and not doc.find_all("textarea") and not doc.find_all("b")
    for tag, attrs in tb.tags:
        assert not any(k.startswith("on") for k, _ in attrs), (tag, attrs)
    # the hostile strings are shown as text, intact (prompt names, paths, fix text)
    text = doc.find("body").text()
    names = {p["name"] for p in rep["prompts"]}
    assert EVIL_NAME + ".backstory" in names
    for p in rep["prompts"]:
        assert p["name"] in text and p["path"] in text
    assert "</textarea><script>alert(2)</script>" in text
    # quotes inside attribute values survive as data, not markup
    vals = [n.attrs.get("data-v") for n in doc.find("table", id="prompt-table").iter()]
    assert EVIL_NAME + ".backstory" in vals
    locs = [n.text() for n in doc.find_all("code", **{"class": "p-loc"})]
    assert any(v.startswith("x\"'<script>alert(1)</script>.j2:") for v in locs)


def test_empty_project_renders(tmp_path):
    (tmp_path / "readme.txt").write_text("Nothing here.\n", encoding="utf-8")
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    html = run_report(tmp_path, "app.py", "--format", "html")
    doc = parse(html).root
    assert "No prompts found." in doc.find("table", id="prompt-table").text()
    assert "No waste found." in doc.find("body").text()


# --------------------------------------------------------------------------------- headless Chromium

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
]
CDP_TIMEOUT = 30


def find_chromium():
    env = os.environ.get("PROMPTLINT_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (fd 3: commands in, fd 4: replies out)."""

    def __init__(self, binary, profile: Path):
        profile.mkdir(parents=True, exist_ok=True)
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # move the child's ends above the low descriptors, so dup2 onto 3 and 4 cannot clobber them
        child_in = fcntl.fcntl(to_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_r)
        os.close(from_w)

        def wire():  # in the child, before exec: dup2 clears close-on-exec on 3 and 4 only
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.stderr = open(profile / "stderr.log", "wb")
        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile / 'user-data'}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=self.stderr,
            stderr=self.stderr,
            close_fds=False,  # the only inheritable descriptors are 0-2 and the dup2'ed 3 and 4
            preexec_fn=wire,
        )
        os.close(child_in)
        os.close(child_out)
        self.w = os.fdopen(to_w, "wb", buffering=0)
        self.r = os.fdopen(from_r, "rb", buffering=0)
        self.next_id = 0
        self.replies = {}
        self.events = []
        self.closed = False
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.call("Browser.getVersion")

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = self.r.read(1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self.cv:
                    self.closed = True
                    self.cv.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self.cv:
                    if "id" in msg:
                        self.replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self.cv.notify_all()

    def call(self, method, params=None, session=None):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + CDP_TIMEOUT
        with self.cv:
            while mid not in self.replies:
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    raise RuntimeError(f"Chromium did not answer {method} (see {self.stderr.name})")
                self.cv.wait(left)
            reply = self.replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method, session, start=0):
        deadline = time.monotonic() + CDP_TIMEOUT
        with self.cv:
            while True:
                for e in self.events[start:]:
                    if e["method"] == method and e.get("sessionId") == session:
                        return e
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    raise RuntimeError(f"no {method} from Chromium")
                self.cv.wait(left)

    def open(self, url, width=1280, height=900, script=True, media=None):
        """A new tab with console, log and network capture on, then the page loaded: a Page."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}, session=session)
        if not script:
            self.call("Emulation.setScriptExecutionDisabled", {"value": True}, session=session)
        if media:
            self.call("Emulation.setEmulatedMedia", {"media": media}, session=session)
        with self.cv:
            start = len(self.events)
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session, start)
        page = Page(self, session, target, start)
        if script:
            page.evaluate("new Promise(r => setTimeout(r, 100))", await_promise=True)  # let late errors arrive
        return page

    def close(self):
        try:
            self.call("Browser.close")
            self.proc.wait(10)
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for f in (self.w, self.r, self.stderr):
            try:
                f.close()
            except OSError:
                pass


class Page:
    def __init__(self, browser, session, target, start):
        self.b, self.session, self.target, self.start = browser, session, target, start

    def events(self):
        with self.b.cv:
            return [e for e in self.b.events[self.start :] if e.get("sessionId") == self.session]

    def problems(self):
        """Everything that would show as an error in the DevTools console, plus any network request that is
        not the page itself and any JavaScript dialog (alert/confirm/prompt)."""
        out = []
        for e in self.events():
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(f"exception: {d.get('text')} {d.get('exception', {}).get('description', '')}")
            elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert", "warning"):
                out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"log {p['entry']['level']} ({p['entry']['source']}): {p['entry']['text']} {p['entry'].get('url', '')}")
            elif m == "Network.loadingFailed":
                out.append(f"load failed: {p.get('errorText')}")
            elif m == "Network.requestWillBeSent" and not p["request"]["url"].startswith("file://"):
                out.append(f"network request: {p['request']['url']}")
            elif m == "Page.javascriptDialogOpening":
                out.append(f"dialog: {p.get('type')} {p.get('message')}")
                self.b.call("Page.handleJavaScriptDialog", {"accept": True}, session=self.session)
        return out

    def evaluate(self, expr, await_promise=False):
        r = self.b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": await_promise}, session=self.session)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def dom(self) -> Node:
        """The live DOM (through the DOM domain, which works with scripts disabled), parsed."""
        root = self.b.call("DOM.getDocument", {"depth": 0}, session=self.session)["root"]["nodeId"]
        return parse(self.b.call("DOM.getOuterHTML", {"nodeId": root}, session=self.session)["outerHTML"]).root

    def box_width(self, selector) -> float:
        root = self.b.call("DOM.getDocument", {"depth": 0}, session=self.session)["root"]["nodeId"]
        node = self.b.call("DOM.querySelector", {"nodeId": root, "selector": selector}, session=self.session)["nodeId"]
        quad = self.b.call("DOM.getBoxModel", {"nodeId": node}, session=self.session)["model"]["border"]
        return quad[2] - quad[0]

    def click(self, selector):
        """A real mouse click at the centre of the element (after scrolling it into view)."""
        box = self.evaluate(
            f"(() => {{ const el = document.querySelector({json.dumps(selector)}); el.scrollIntoView({{block: 'center'}});"
            " const r = el.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.b.call("Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1}, session=self.session)

    def screenshot(self, path: Path):
        height = self.evaluate("document.documentElement.scrollHeight")
        width = self.evaluate("document.documentElement.clientWidth")
        shot = self.b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}, session=self.session)
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self):
        self.b.call("Target.closeTarget", {"targetId": self.target})


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed: install the Debian packages chromium and chromium-driver (as .ci/run does) or set PROMPTLINT_CHROMIUM to a Chrome/Chromium binary")
    if os.name != "posix":
        pytest.skip("the Chromium test drives the browser over --remote-debugging-pipe, which needs POSIX file descriptors")
    browser = Chromium(binary, tmp_path_factory.mktemp("chromium"))
    yield browser
    browser.close()


def test_harness_catches_console_errors_exceptions_and_network(chromium, tmp_path):
    """The browser checks below can fail: each kind of problem on a page is reported."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><body><p>x</p><img src='http://promptlint.invalid/a.png' alt=''>"
        "<script>console.error('boom'); undefinedFunction();</script></body></html>",
        encoding="utf-8",
    )
    p = chromium.open(page.as_uri())
    try:
        found = "\n".join(p.problems())
    finally:
        p.close()
    assert "console.error: boom" in found
    assert "exception: Uncaught" in found and "undefinedFunction" in found
    assert "network request: http://promptlint.invalid/a.png" in found
    assert "load failed" in found


def _kpis(page):
    return page.evaluate("Object.fromEntries([...document.querySelectorAll('[data-kpi]')].map(e => [e.dataset.kpi, e.textContent]))")


def _column(page, index):
    return page.evaluate(f"[...document.querySelectorAll('#prompt-table tbody tr')].map(r => r.cells[{index}].dataset.v)")


def test_examples_report_in_chromium(chromium, examples_reports):
    rep = examples_reports["json"]
    t = rep["totals"]
    page = chromium.open(examples_reports["html_path"].as_uri())
    try:
        assert page.problems() == []
        assert page.evaluate("document.title").startswith("promptlint spend report")
        kpi = _kpis(page)
        assert kpi["monthly"] == costs.money(t["monthly_cost"], t["approximate"])
        assert kpi["tokens"] == ("~" if t["approximate"] else "") + f"{t['tokens']:,}"
        assert kpi["per-call"] == costs.money(t["cost_per_call"], t["approximate"])
        assert kpi["waste"] == costs.money(t["waste_monthly"], t["waste_approximate"]) + "/month"
        text = page.evaluate("document.body.innerText")
        assert f"{len(rep['prompts'])} prompts in {t['files_scanned']} files" in text
        for w in rep["waste_by_rule"]:
            assert w["code"] in text and w["rule"] in text
        for m in rep["models"]:
            assert m["model"] in text
        # charts are drawn: every bar chart has one bar group per row, with a visible size
        assert page.evaluate("document.querySelectorAll('svg[role=img]').length") >= 3
        assert page.evaluate("Math.round(document.querySelector('#spend svg rect.bar').getBBox().width)") > 100
        # the table is complete, pre-sorted by monthly cost, and the script made its headers buttons
        n_rows = page.evaluate("document.querySelectorAll('#prompt-table tbody tr').length")
        assert n_rows == len(rep["prompts"])
        heads = page.evaluate("[...document.querySelectorAll('#prompt-table thead th')].map(th => th.textContent)")
        i_tok, i_month = heads.index("Tokens"), heads.index("$/month")
        monthly = [float(v) for v in _column(page, i_month)]
        assert monthly == sorted(monthly, reverse=True)
        assert page.evaluate("document.querySelectorAll('#prompt-table thead th button.sort').length") == len(heads)
        # clicking "Tokens" sorts by tokens, largest first; clicking again, smallest first
        page.click(f"#prompt-table thead th:nth-child({i_tok + 1}) button")
        tokens_col = [float(v) for v in _column(page, i_tok)]
        assert tokens_col == sorted((p["tokens"] for p in rep["prompts"]), reverse=True)
        assert page.evaluate(f"document.querySelector('#prompt-table thead th:nth-child({i_tok + 1})').getAttribute('aria-sort')") == "descending"
        page.click(f"#prompt-table thead th:nth-child({i_tok + 1}) button")
        assert [float(v) for v in _column(page, i_tok)] == sorted(p["tokens"] for p in rep["prompts"])
        # text columns sort alphabetically
        page.click("#prompt-table thead th:nth-child(1) button")
        names = _column(page, 0)
        assert names == sorted(names, key=str.lower)
        assert page.problems() == []
        shots = os.environ.get("PROMPTLINT_SCREENSHOT_DIR")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(Path(shots) / "report-desktop.png")
    finally:
        page.close()


def test_examples_report_without_javascript(chromium, examples_reports):
    """With scripts off the charts are unchanged and the table is readable, pre-sorted, with plain headers."""
    rep = examples_reports["json"]
    page = chromium.open(examples_reports["html_path"].as_uri(), script=False)
    try:
        assert page.problems() == []
        doc = page.dom()
        assert not doc.find_all("button")  # the script did not run: headers are plain text
        assert len(doc.find_all("svg", role="img")) >= 3
        assert page.box_width("#spend svg rect.bar") > 100  # the chart is laid out and drawn
        heads, rows = html_table(doc, "prompt-table")
        assert [r[0] for r in rows] == [f"{p['path']}:{p['line']}:{p['column']}" for p in rep["prompts"]]
        assert heads[0] == "PROMPT" and "$/MONTH" in heads
        # the hint about clicking headers is only shown when the script runs
        assert "hidden" in doc.find("p", **{"class": "section-lede js-only"}).attrs
    finally:
        page.close()


def test_narrow_screen_and_print(chromium, examples_reports):
    """Phone width: the page itself does not scroll sideways (wide charts and tables scroll in their own
    boxes). Print: navigation is hidden and tables fit the page width."""
    page = chromium.open(examples_reports["html_path"].as_uri(), width=390, height=844)
    try:
        assert page.problems() == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shots = os.environ.get("PROMPTLINT_SCREENSHOT_DIR")
        if shots:
            page.screenshot(Path(shots) / "report-phone.png")
    finally:
        page.close()
    page = chromium.open(examples_reports["html_path"].as_uri(), width=700, media="print")
    try:
        assert page.problems() == []
        assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
        assert page.evaluate("document.querySelector('#prompt-table').getBoundingClientRect().right <= document.documentElement.clientWidth")
        if shots:
            page.screenshot(Path(shots) / "report-print.png")
        pdf = chromium.call("Page.printToPDF", {"printBackground": True}, session=page.session)
        assert base64.b64decode(pdf["data"]).startswith(b"%PDF")
    finally:
        page.close()


def test_hostile_names_do_not_run_in_chromium(chromium, evil_report):
    page = chromium.open(evil_report["html_path"].as_uri())
    try:
        assert page.problems() == []  # no alert() dialog, no blocked inline script, no request for "x"
        assert page.evaluate("document.scripts.length") == 1
        assert page.evaluate("document.querySelectorAll('img, textarea, b').length") == 0
        text = page.evaluate("document.body.innerText")
        assert EVIL_NAME + ".backstory" in text
        assert "</textarea><script>alert(2)</script>" in text
    finally:
        page.close()


def test_budgets_and_many_models(tmp_path):
    """Budget status in the headline and the budget section (same figures as Markdown); more models than
    chart colours are summed into one "other models" slice; a model without a price is listed, not charted."""
    models = ["gpt-4o", "gpt-4o-mini", "gpt-4.1-mini", "claude-sonnet-4-5", "gemini-2.5-flash", "gpt-4.1", "o3", "acme-inhouse-llm"]
    lines = ["from openai import OpenAI", "client = OpenAI()"]
    for i, m in enumerate(models):
        text = " ".join(["You are a careful assistant for the returns desk; answer in two sentences."] + ["Check the order number."] * i)
        lines.append(f"PROMPT_{i} = {text!r}")
        lines.append(f'client.chat.completions.create(model="{m}", max_tokens=50, messages=[{{"role": "system", "content": PROMPT_{i}}}])')
    (tmp_path / "app.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\ntotal-budget = 0.5\nmax-cost-per-call = 0.0001\ncalls-per-day = 5000\n', encoding="utf-8")
    rep = json.loads(run_report(tmp_path, ".", "--format", "json"))
    html = run_report(tmp_path, ".", "--format", "html")
    md = run_report(tmp_path, ".", "--format", "markdown")
    doc = parse(html).root
    b, t = rep["budget"], rep["totals"]
    assert b["status"] == "over"
    kpi = doc.find("dd", data_kpi="budget")
    assert kpi.text() == costs.money(b["total_budget"])
    sub = kpi.parent.find("dd", **{"class": "kpi-sub"}).text()
    assert sub == "over budget by " + costs.money(t["monthly_cost"] - b["total_budget"], t["approximate"])
    assert kpi.parent.has_class("kpi-over")
    # the budget section states the same figures as the Markdown budget lines
    md_budget = [md_unescape(line[2:]) for line in md.split("### Budgets")[1].split("###")[0].splitlines() if line.startswith("- ")]
    html_budget = [li.text() for li in doc.find("ul", **{"class": "budget-status"}).find_all("li")]
    assert [numbers_in(x) for x in md_budget] == [numbers_in(x) for x in html_budget]
    assert len(html_budget) == 2
    # models: 7 priced models -> 5 named slices + "2 other models"; the unpriced one is in the table only
    legend = [li.text() for li in doc.find("ul", **{"class": "legend-list"}).find_all("li")]
    assert len(legend) == len(report_html.SERIES)
    assert legend[-1].startswith("2 other models")
    _, model_rows = html_table(doc, "model-table")
    assert any(r[0] == "acme-inhouse-llm (no price)" for r in model_rows)
    assert not any("acme-inhouse-llm" in x for x in legend)
    priced = sorted((m["monthly_cost"] for m in rep["models"] if m["monthly_cost"]), reverse=True)
    other = sum(priced[len(report_html.SERIES) - 1 :])
    assert number(legend[-1].split("other models")[1].split("/month")[0])[0] == number(costs.money(other))[0]
