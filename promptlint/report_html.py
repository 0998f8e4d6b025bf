"""The spend report as one self-contained HTML page (``promptlint report --format html``).

It renders the same :class:`promptlint.report.Report` as the text, Markdown and JSON formats, with the same
number formatting (costs.money, costs.price, costs.rate and the report's cell helpers), so the numbers agree.

The page needs nothing from the network: CSS is inline, the charts are SVG written here, and the only
script (optional: it makes the prompts table sortable by clicking a header) is inline. A Content Security
Policy allows exactly that style and that script, by hash, and nothing else: even text that slipped through
escaping could not load or run anything. Every user-controlled string (prompt names, paths, messages, fix
text) is escaped with :func:`html.escape`. Without JavaScript the charts are unchanged and the table is
pre-sorted by cost.

Colours are declared once in :data:`PALETTE`; :data:`TEXT_PAIRS` and :data:`GRAPHIC_PAIRS` list every
foreground/background pair the page uses, and the tests check them against WCAG AA contrast (4.5:1 for text,
3:1 for chart marks).
"""

from __future__ import annotations

import base64
import hashlib
import math
from html import escape
from typing import Optional

from . import __version__, costs
from .report import Report, _model_cells, _prompt_cells, _rule_cells, _tok

_m = costs.money

PALETTE = {
    "ink": "#111827",
    "muted": "#4b5563",
    "bg": "#ffffff",
    "surface": "#f3f4f6",
    "line": "#d1d5db",
    "accent": "#1d4ed8",
    "waste": "#b45309",
    "hero": "#0f172a",
    "hero-ink": "#f8fafc",
    "hero-muted": "#cbd5e1",
    "hero-accent": "#fbbf24",
    "hero-bad": "#fca5a5",
    "ok": "#166534",
    "ok-bg": "#dcfce7",
    "bad": "#b91c1c",
    "bad-bg": "#fee2e2",
    "warn": "#92400e",
    "warn-bg": "#fef3c7",
    "del": "#7f1d1d",
    "del-bg": "#fde8e8",
    "ins": "#14532d",
    "ins-bg": "#dcfce7",
    "chip": "#1e3a8a",
    "chip-bg": "#e0e7ff",
    "other": "#6b7280",
    "stripe": "#f9fafb",
}
# categorical colours of the per-model chart (each at least 3:1 on white, told apart by the legend too)
SERIES = ("#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c", "#0e7490")

# (foreground, background) pairs the page draws text with: WCAG AA needs 4.5:1
TEXT_PAIRS = [
    ("ink", "bg"), ("muted", "bg"), ("ink", "surface"), ("muted", "surface"), ("accent", "bg"), ("waste", "bg"),
    ("hero-ink", "hero"), ("hero-muted", "hero"), ("hero-accent", "hero"), ("hero-bad", "hero"),
    ("ok", "ok-bg"), ("bad", "bad-bg"), ("warn", "warn-bg"), ("del", "del-bg"), ("ins", "ins-bg"), ("chip", "chip-bg"),
    ("bad", "bg"), ("ok", "bg"), ("ink", "stripe"), ("muted", "stripe"),
]
# (mark, background) pairs of chart marks: WCAG 1.4.11 needs 3:1
GRAPHIC_PAIRS = [("accent", "bg"), ("waste", "bg"), ("other", "bg")] + [(c, "bg") for c in SERIES]

CHART_BARS = 12  # prompts shown in the bar chart; the rest are summed in one bar
FINDING_EDITS = 3  # edits shown per fix preview
FIX_CHARS = 600  # longest before/after text shown per edit
CONTEXT_SHOWN = 72  # characters of line context shown each side of an edit


def color(name: str) -> str:
    return PALETTE.get(name, name)


# ------------------------------------------------------------------------------------------ helpers


def _e(s) -> str:
    return escape("" if s is None else str(s), quote=True)


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "\u2026"


def _clip_left(s: str, n: int) -> str:
    return s if len(s) <= n else "\u2026" + s[-(n - 1) :]


def _num(x) -> str:
    """A sort key for a table cell: the raw number, empty when there is none."""
    if x is None:
        return ""
    return repr(float(x))


def _plural(n: int, word: str, plural: Optional[str] = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _tick_money(x: float) -> str:
    """An axis label: dollars without trailing zeros ($0, $0.002, $2.5, $50, $1,000)."""
    if x >= 1000:
        return f"${x:,.0f}"
    s = f"{x:,.10f}".rstrip("0").rstrip(".")
    return "$" + s


def _share(v: float, total: float) -> str:
    if not total:
        return "-"
    f = v / total
    return "<1%" if 0 < f < 0.005 else f"{f:.0%}"


def _nice_step(top: float, ticks: int = 4) -> float:
    raw = top / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


class _Ids:
    """Unique element ids for one page."""

    def __init__(self):
        self.n = 0

    def __call__(self, stem: str) -> str:
        self.n += 1
        return f"{stem}-{self.n}"


# ------------------------------------------------------------------------------------------- charts


def bar_chart(bars, title: str, desc: str, fmt, ids: _Ids, bar_class: str = "bar", label_w: int = 270) -> str:
    """A horizontal bar chart as inline SVG.

    ``bars``: (label, sublabel, value, part, value_text, tooltip); ``part`` (or None) is the share of the bar
    drawn in the waste colour at its end. ``fmt`` formats axis ticks. The chart is an image with a title and a
    description (for screen readers); every bar has a tooltip (<title>) with its full label and numbers.
    Labels are clipped to fit ``label_w`` pixels (14px bold labels, 12px monospace sublabels).
    """
    width, value_w = 760, 150
    label_chars, sub_chars = int(label_w / 8.6), int(label_w / 7.3)
    bar_x = label_w + 12
    bar_w = width - bar_x - value_w
    row_h, top = 40, 30
    height = top + row_h * len(bars) + 8
    vmax = max((b[2] for b in bars), default=0.0)
    tid, did = ids("chart-title"), ids("chart-desc")
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-labelledby="{tid} {did}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{tid}">{_e(title)}</title>',
        f'<desc id="{did}">{_e(desc)}</desc>',
    ]
    scale = bar_w / vmax if vmax > 0 else 0.0
    if vmax > 0:
        step = _nice_step(vmax)
        k = 0
        while k * step <= vmax * 1.0001:
            x = bar_x + k * step * scale
            out.append(f'<line class="grid" x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 6}"/>')
            anchor = "start" if k == 0 else "middle"
            out.append(f'<text class="tick" x="{x:.1f}" y="{top - 12}" text-anchor="{anchor}">{_e(fmt(k * step))}</text>')
            k += 1
    for i, (label, sub, value, part, vtext, tip) in enumerate(bars):
        y = top + i * row_h
        out.append(f"<g><title>{_e(tip)}</title>")
        out.append(f'<text class="label" x="{label_w}" y="{y + 17}" text-anchor="end">{_e(_clip(label, label_chars))}</text>')
        if sub:
            out.append(f'<text class="sublabel" x="{label_w}" y="{y + 32}" text-anchor="end">{_e(_clip_left(sub, sub_chars))}</text>')
        w = value * scale
        if value > 0:
            w = max(w, 2.0)
        cls = "bar-other" if i == len(bars) - 1 and label.endswith("more prompts") else bar_class
        out.append(f'<rect class="{cls}" x="{bar_x}" y="{y + 8}" width="{w:.1f}" height="22" rx="3"/>')
        if part and value > 0:
            pw = min(part, value) * scale
            pw = max(pw, 2.0)
            out.append(f'<rect class="bar-waste" x="{bar_x + w - pw:.1f}" y="{y + 8}" width="{pw:.1f}" height="22" rx="3"/>')
        out.append(f'<text class="value" x="{bar_x + w + 8:.1f}" y="{y + 24}">{_e(vtext)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def donut_chart(parts, title: str, desc: str, center: str, center_sub: str, ids: _Ids) -> str:
    """A donut chart as inline SVG: ``parts`` are (value, colour). Stroke dashes on circles, so a single
    100% part needs no special case."""
    size, r, sw = 220, 80, 34
    circ = 2 * math.pi * r
    total = sum(v for v, _ in parts)
    tid, did = ids("chart-title"), ids("chart-desc")
    out = [
        f'<svg class="donut" viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img" aria-labelledby="{tid} {did}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{tid}">{_e(title)}</title>',
        f'<desc id="{did}">{_e(desc)}</desc>',
        f'<circle class="donut-track" cx="{size / 2}" cy="{size / 2}" r="{r}" fill="none" stroke-width="{sw}"/>',
    ]
    if total > 0:
        offset = 0.0
        gap = 2.0 if sum(1 for v, _ in parts if v > 0) > 1 else 0.0
        for value, col in parts:
            if value <= 0:
                continue
            length = circ * value / total
            dash = max(length - gap, 0.75)
            out.append(
                f'<circle cx="{size / 2}" cy="{size / 2}" r="{r}" fill="none" stroke="{_e(col)}" stroke-width="{sw}" '
                f'stroke-dasharray="{dash:.2f} {circ - dash:.2f}" stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {size / 2} {size / 2})"/>'
            )
            offset += length
    out.append(f'<text class="donut-value" x="{size / 2}" y="{size / 2 + 2}" text-anchor="middle">{_e(center)}</text>')
    out.append(f'<text class="donut-sub" x="{size / 2}" y="{size / 2 + 22}" text-anchor="middle">{_e(center_sub)}</text>')
    out.append("</svg>")
    return "".join(out)


def _swatch(col: str) -> str:
    return f'<svg class="swatch" width="12" height="12" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" rx="2" fill="{_e(col)}"/></svg>'


# ------------------------------------------------------------------------------------------ sections


def _metric(rep: Report):
    """(per-prompt value getter, unit text, short unit) of the page's main money measure."""
    if rep.has_rates:
        return (lambda r: r.monthly_cost), "projected monthly cost", "/month"
    return (lambda r: r.cost_per_call), "cost per call", "/call"


def _hero(rep: Report) -> str:
    t = rep.totals
    approx = t.approximate
    files = _plural(t.files_scanned, "file")
    if t.monthly_cost is not None:
        headline = f"Your prompts cost {_m(t.monthly_cost, approx)} a month"
    elif t.priced_prompts:
        headline = f"One call of every prompt costs {_m(t.cost_per_call, approx)}"
    else:
        headline = f"{_plural(t.prompts, 'prompt')}, {_tok(t.tokens, approx)} tokens"
    kpis = []
    if t.monthly_cost is not None:
        kpis.append(("monthly", "Projected monthly cost", _m(t.monthly_cost, approx), f"{_plural(t.rated_prompts, 'prompt')} with call rates, {rep.days_per_month}-day month"))
    kpis.append(("tokens", "Prompt tokens", _tok(t.tokens, approx), f"static input tokens of {_plural(t.prompts, 'prompt')} in {files}"))
    kpis.append(("per-call", "Cost per call", _m(t.cost_per_call, approx), f"one call of each priced prompt ({t.priced_prompts} of {t.prompts})"))
    wa = t.waste_approximate
    if t.waste_monthly is not None:
        waste_val, waste_unit = _m(t.waste_monthly, wa), "/month"
    else:
        waste_val, waste_unit = _m(t.waste_cost_per_call, wa), "/call"
    share = ""
    base = t.monthly_cost if t.waste_monthly is not None else t.cost_per_call
    wbase = t.waste_monthly if t.waste_monthly is not None else t.waste_cost_per_call
    if base and wbase is not None and 0 < wbase <= base:
        share = f"; up to {wbase / base:.0%} of spend"
    kpis.append(("waste", "Removable waste", (waste_val, waste_unit), f"{_tok(t.waste_tokens, wa)} tokens per call in {_plural(t.waste_findings, 'finding')}{share}"))
    b = rep.budget
    if b.total_budget is not None:
        if b.status == "over":
            label = f"over budget by {_m(b.monthly_cost - b.total_budget, approx)}"
        elif b.status == "ok":
            label = f"within budget: {_share(b.monthly_cost, b.total_budget)} used"
        else:
            label = "cannot be checked (no calls-per-day)"
        kpis.append(("budget", "Monthly budget", (_m(b.total_budget), ""), label))
    cells = []
    for key, label, value, sub in kpis:
        cls = " kpi-waste" if key == "waste" else (" kpi-over" if key == "budget" and b.status == "over" else "")
        if isinstance(value, tuple):
            value = _e(value[0]) + (f'<span class="kpi-unit">{_e(value[1])}</span>' if value[1] else "")
        else:
            value = _e(value)
        cells.append(f'<div class="kpi{cls}"><dt>{_e(label)}</dt><dd class="kpi-value" data-kpi="{key}">{value}</dd><dd class="kpi-sub">{_e(sub)}</dd></div>')
    lede = f"{_plural(t.prompts, 'prompt')} in {files} \u00b7 prices as of {rep.as_of} \u00b7 input side only"
    return (
        '<header class="hero"><div class="wrap">'
        '<p class="eyebrow">promptlint spend report</p>'
        f"<h1>{_e(headline)}</h1>"
        f'<p class="lede">{_e(lede)}</p>'
        f'<dl class="kpis">{"".join(cells)}</dl>'
        "</div></header>"
    )


def _no_rate_note(rep: Report) -> str:
    if rep.has_rates:
        return ""
    return (
        '<p class="callout" role="note"><strong>No calls-per-day configured:</strong> prompts are ranked by '
        "<em>cost per call</em>, and there is no monthly projection. Set <code>calls-per-day</code> in "
        "<code>[tool.promptlint]</code>, add <code># promptlint: calls-per-day=N</code> before a prompt, or pass "
        "<code>--calls-per-day N</code>.</p>"
    )


def _prompts_chart(rep: Report, ids: _Ids) -> str:
    get, unit, short = _metric(rep)
    rows = [r for r in rep.prompts if get(r) is not None]
    out = ['<section id="spend" aria-labelledby="spend-h"><h2 id="spend-h">Where the money goes</h2>', _no_rate_note(rep)]
    if not rows:
        out.append('<p class="empty">No priced prompts to chart.</p></section>')
        return "".join(out)
    shown = rows[:CHART_BARS]
    rest = rows[CHART_BARS:]
    waste_of = (lambda r: r.waste_monthly) if rep.has_rates else (lambda r: r.waste_cost_per_call)
    bars = []
    for r in shown:
        v = get(r)
        w = waste_of(r)
        tip = f"{r.label} ({r.location}): {_m(v, r.approximate)}{short}, {_tok(r.tokens, r.approximate)} tokens, {r.model_key or r.model}"
        if w:
            tip += f"; waste {_m(w, r.approximate)}{short} ({r.waste_tokens:,} tokens per call)"
        label = r.label if r.label != "-" else r.path.replace("\\", "/").rsplit("/", 1)[-1]
        bars.append((label, r.location, v, w, _m(v, r.approximate) + short, tip))
    if rest:
        v = sum(get(r) for r in rest)
        w = sum(waste_of(r) or 0.0 for r in rest)
        approx = any(r.approximate for r in rest)
        label = f"{len(rest)} more prompts"
        bars.append((label, "", v, w or None, _m(v, approx) + short, f"{label}: {_m(v, approx)}{short} together"))
    # the page's one total (summing the rows again could round differently in the last cent)
    total = rep.totals.monthly_cost if rep.has_rates else rep.totals.cost_per_call
    top = shown[0]
    approx_all = any(r.approximate for r in rows)
    desc = f"Horizontal bars, one per prompt, largest first, by {unit}. " + "; ".join(
        f"{b[0]}: {b[4]}" for b in bars[:5]
    ) + ("; and more." if len(bars) > 5 else ".")
    title = f"Prompts by {unit}"
    caption = (
        f"{'Top ' + str(len(shown)) + ' of ' if rest else ''}{_plural(len(rows), 'priced prompt')} by {unit} "
        f"(together {_m(total, approx_all)}{short}). The biggest, <strong>{_e(top.label)}</strong>, is "
        f"{get(top) / total:.0%} of it." if total > 0 else f"{_plural(len(rows), 'priced prompt')} by {unit}."
    )
    legend = (
        '<p class="legend" aria-hidden="true">'
        f'<span>{_swatch(color("accent"))} {_e(unit.capitalize())}</span>'
        f'<span>{_swatch(color("waste"))} of which removable waste (findings with a token count)</span></p>'
    )
    out.append(f'<figure class="figure">{legend}<div class="chart-scroll" role="region" aria-label="{_e(title)} (scrolls sideways on narrow screens)" tabindex="0">{bar_chart(bars, title, desc, _tick_money, ids)}</div><figcaption>{caption}</figcaption></figure>')
    out.append("</section>")
    return "".join(out)


def _waste_section(rep: Report, ids: _Ids) -> str:
    t = rep.totals
    out = ['<section id="waste" aria-labelledby="waste-h"><h2 id="waste-h">Waste by rule</h2>']
    if not rep.waste_by_rule:
        out.append('<p class="empty">No waste found.</p></section>')
        return "".join(out)
    use_month = rep.has_rates
    short = "/month" if use_month else "/call"
    bars = []
    for w in rep.waste_by_rule:
        v = w.monthly_cost if use_month else w.cost_per_call
        cache = " (cache saving)" if w.priced_as == "cache" else ""
        sub = ("cache saving \u00b7 " if cache else "") + f"{_plural(w.findings, 'finding')} \u00b7 {w.tokens:,} tok/call"
        vtext = _m(v, w.approximate) + short if v is not None else "not priced"
        tip = f"{w.code} {w.rule}{cache}: {sub}, {vtext}"
        bars.append((f"{w.code} {w.rule}", sub, v or 0.0, None, vtext, tip))
    desc = "Horizontal bars, one per rule, by the dollars its findings waste. " + "; ".join(f"{b[0]}: {b[4]}, {b[1]}" for b in bars) + "."
    unit = "monthly cost" if use_month else "cost per call"
    chart = bar_chart(bars, f"Waste by rule ({unit})", desc, _tick_money, ids, bar_class="bar-waste", label_w=320)
    cap = f"{_tok(t.waste_tokens, t.waste_approximate)} wasted tokens per call in {_plural(t.waste_findings, 'finding')}."
    out.append(f'<figure class="figure"><div class="chart-scroll" role="region" aria-label="Waste by rule chart (scrolls sideways on narrow screens)" tabindex="0">{chart}</div><figcaption>{_e(cap)}</figcaption></figure>')
    header = ["Code", "Rule", "Findings", "Tokens/call", "$/call"] + (["$/month"] if use_month else [])
    rows = []
    for w in rep.waste_by_rule:
        c = _rule_cells(w, rep)
        rows.append("<tr>" + f"<td>{_e(c[0])}</td><th scope=\"row\">{_e(c[1])}</th>" + "".join(f'<td class="num">{_e(x)}</td>' for x in c[2:]) + "</tr>")
    out.append(_static_table("waste-table", "Waste by rule, in tokens and dollars", header, rows, numeric_from=2))
    out.append("</section>")
    return "".join(out)


def _static_table(tid: str, caption: str, header, rows, numeric_from: int) -> str:
    num = ' class="num"'
    ths = "".join(f'<th scope="col"{num if i >= numeric_from else ""}>{_e(h)}</th>' for i, h in enumerate(header))
    return (
        f'<div class="table-scroll" role="region" aria-label="{_e(caption)}" tabindex="0"><table id="{tid}">'
        f'<caption>{_e(caption)}</caption><thead><tr>{ths}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def _show_ws(s: str, whole: bool) -> str:
    """Escaped text of an edited span, with line breaks made visible, and spaces and tabs too when the span
    is only whitespace (otherwise a whitespace fix would show nothing)."""
    if len(s) > FIX_CHARS:
        s = s[:FIX_CHARS] + f"\u2026 ({len(s) - FIX_CHARS:,} more characters)"
    if whole:
        s = s.replace(" ", "\u00b7").replace("\t", "\u2192")
    return _e(s).replace("\n", "\u21b5\n")


def _edit_lines(ed) -> str:
    prefix = _clip_left(ed.prefix, CONTEXT_SHOWN)
    suffix = _clip(ed.suffix, CONTEXT_SHOWN)
    ws_before = ed.before != "" and ed.before.strip() == ""
    ws_after = ed.after != "" and ed.after.strip() == ""
    before = f"{_e(prefix)}<del>{_show_ws(ed.before, ws_before)}</del>{_e(suffix)}"
    after = f"{_e(prefix)}<ins>{_show_ws(ed.after, ws_after)}</ins>{_e(suffix)}" if ed.after else f"{_e(prefix)}{_e(suffix)}"
    return (
        f'<div class="edit"><span class="edit-at">line {ed.line}</span>'
        f'<pre class="diff"><span class="minus"><span class="sign" aria-hidden="true">\u2212</span><span class="sr-only">Before: </span>{before}</span>'
        f'<span class="plus"><span class="sign" aria-hidden="true">+</span><span class="sr-only">After: </span>{after}</span></pre></div>'
    )


def _findings_section(rep: Report) -> str:
    out = ['<section id="findings" aria-labelledby="findings-h"><h2 id="findings-h">Top findings</h2>']
    if not rep.top_findings:
        out.append('<p class="empty">No findings with a token count.</p></section>')
        return "".join(out)
    more = rep.totals.waste_findings - len(rep.top_findings)
    out.append(f'<p class="section-lede">The {_plural(len(rep.top_findings), "finding")} that waste the most{", of " + str(rep.totals.waste_findings) if more > 0 else ""}, with the lean rewrite where promptlint has a fix.</p>')
    out.append('<ol class="findings">')
    for f in rep.top_findings:
        if f.monthly_cost is not None:
            big, unit = _m(f.monthly_cost, f.approximate), "/month"
        elif f.cost_per_call is not None:
            big, unit = _m(f.cost_per_call, f.approximate), "/call"
        else:
            big, unit = f"{f.tokens_wasted:,}", " tokens/call"
        details = [f"{f.tokens_wasted:,} tokens/call"]
        if f.cost_per_call is not None:
            details.append(f"{_m(f.cost_per_call, f.approximate)}/call")
        details = " \u00b7 ".join(details)
        sev = f.severity if f.severity in ("error", "warning", "info") else "info"
        parts = [
            '<li class="finding"><article>',
            '<div class="finding-head">',
            f'<div class="finding-id"><span class="chip">{_e(f.code)}</span> <span class="rule">{_e(f.rule)}</span> <span class="sev sev-{sev}">{_e(f.severity)}</span></div>',
            f'<div class="finding-cost"><span class="big">{_e(big)}</span><span class="unit">{_e(unit)}</span><span class="small">{_e(details)}</span></div>',
            "</div>",
            f'<p class="where"><code>{_e(f.location)}</code></p>',
            f'<p class="message">{_e(f.message)}</p>',
        ]
        if f.fix is not None:
            fx = f.fix
            kind = "Safe fix" if fx.applicability == "safe" else "Unsafe fix (changes what the model reads: review it)"
            saved = f" \u00b7 saves {fx.tokens_saved:,} tokens/call" if fx.tokens_saved else ""
            cmd = "promptlint fix" if fx.applicability == "safe" else "promptlint fix --unsafe-fixes"
            parts.append(f'<div class="fix fix-{_e(fx.applicability)}"><p class="fix-head"><span class="badge badge-{_e(fx.applicability)}">{_e(kind)}</span> {_e(fx.message)}{_e(saved)} <span class="cmd">(<code>{cmd}</code>)</span></p>')
            for ed in fx.edits[:FINDING_EDITS]:
                parts.append(_edit_lines(ed))
            if len(fx.edits) > FINDING_EDITS:
                parts.append(f'<p class="more-edits">\u2026 and {_plural(len(fx.edits) - FINDING_EDITS, "more edit")} of the same kind.</p>')
            parts.append("</div>")
        parts.append("</article></li>")
        out.append("".join(parts))
    out.append("</ol></section>")
    return "".join(out)


def _models_section(rep: Report, ids: _Ids) -> str:
    out = ['<section id="models" aria-labelledby="models-h"><h2 id="models-h">By model</h2>']
    if not rep.models:
        out.append('<p class="empty">No prompts.</p></section>')
        return "".join(out)
    use_month = rep.has_rates
    short = "/month" if use_month else "/call"
    vals = [(m, (m.monthly_cost if use_month else m.cost_per_call) or 0.0) for m in rep.models]
    priced = [(m, v) for m, v in vals if v > 0]
    total = sum(v for _, v in priced)  # for shares; the centre shows the page's total
    page_total = rep.totals.monthly_cost if use_month else rep.totals.cost_per_call
    approx = any(m.approximate for m, _ in priced)
    slices = []
    for i, (m, v) in enumerate(priced):
        if i < len(SERIES) - 1 or len(priced) == len(SERIES):
            slices.append((m.model, v, SERIES[i], m.approximate))
        else:
            rest = priced[i:]
            slices.append((f"{len(rest)} other models", sum(x for _, x in rest), color("other"), any(mm.approximate for mm, _ in rest)))
            break
    legend = []
    for name, v, col, ap in slices:
        share = _share(v, total)
        legend.append(f'<li>{_swatch(col)}<span class="lg-name">{_e(name)}</span><span class="lg-val">{_e(_m(v, ap))}{short}</span><span class="lg-share">{share}</span></li>')
    if priced:
        desc = "Share of " + ("projected monthly cost" if use_month else "cost per call") + " by model: " + "; ".join(
            f"{name} {_m(v, ap)}{short} ({_share(v, total)})" for name, v, _, ap in slices
        ) + "."
        donut = donut_chart([(v, col) for _, v, col, _ in slices], "Spend by model", desc, _m(page_total, approx), "per month" if use_month else "per call", ids)
        out.append(f'<div class="split"><figure class="figure donut-fig">{donut}</figure><ul class="legend-list" aria-label="Spend by model">{"".join(legend)}</ul></div>')
    header = ["Model", "Prompts", "Tokens", "$/1M in", "$/1M cached", "$/1M out", "$/call"] + (["$/month"] if use_month else [])
    rows = []
    for m in rep.models:
        c = _model_cells(m, rep)
        rows.append(f'<tr><th scope="row">{_e(c[0])}</th>' + "".join(f'<td class="num">{_e(x)}</td>' for x in c[1:]) + "</tr>")
    out.append(_static_table("model-table", "Prompts, tokens and prices (per 1M tokens) by model", header, rows, numeric_from=1))
    out.append("</section>")
    return "".join(out)


def _budget_section(rep: Report) -> str:
    b = rep.budget
    items = []
    if b.max_cost_per_call is not None:
        cls = "bad" if b.over_cost_prompts else "ok"
        items.append(f'<li class="{cls}">max-cost-per-call {_e(_m(b.max_cost_per_call))}: {_e(_plural(b.over_cost_prompts, "prompt"))} over</li>')
    if b.total_budget is not None:
        if b.status == "unchecked":
            items.append(f"<li>total-budget {_e(_m(b.total_budget))}/month: cannot be checked (no calls-per-day)</li>")
        else:
            state = "over budget" if b.status == "over" else "within budget"
            cls = "bad" if b.status == "over" else "ok"
            items.append(f'<li class="{cls}">total-budget {_e(_m(b.total_budget))}/month: projected {_e(_m(b.monthly_cost, rep.totals.approximate))} ({state})</li>')
    if not items and not b.findings:
        return ""
    out = ['<section id="budget" aria-labelledby="budget-h"><h2 id="budget-h">Budgets</h2>']
    if items:
        out.append(f'<ul class="budget-status">{"".join(items)}</ul>')
    if b.findings:
        out.append('<ul class="budget-findings">')
        for f in b.findings:
            out.append(f'<li><code>{_e(f.location)}</code> <span class="chip">{_e(f.code)}</span> {_e(f.message)}</li>')
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def _prompts_table(rep: Report) -> str:
    """Every prompt; pre-sorted by cost (the Report's order), sortable by clicking a header when JS runs."""
    get, unit, short = _metric(rep)
    header = [("Prompt", "text"), ("Model", "text"), ("Tokens", "num"), ("$/call", "num")]
    if rep.has_rates:
        header += [("Calls/day", "num"), ("$/month", "num")]
    header += [("Waste tokens", "num"), ("Findings", "num")]
    sorted_col = 5 if rep.has_rates else 3
    ths = []
    for i, (h, kind) in enumerate(header):
        aria = ' aria-sort="descending"' if i == sorted_col else ""
        cls = ' class="num"' if kind == "num" else ""
        ths.append(f'<th scope="col" data-type="{kind}"{aria}{cls}>{_e(h)}</th>')
    rows = []
    for r in rep.prompts:
        c = _prompt_cells(r, rep)  # location, label, model, tokens, $/1M, $/call, [calls/day, $/month], waste
        cells = [
            f'<th scope="row" data-v="{_e(r.label)}"><span class="p-name">{_e(r.label)}</span><code class="p-loc">{_e(c[0])}</code></th>',
            f'<td class="model" data-v="{_e(c[2])}">{_e(c[2])}</td>',
            f'<td class="num" data-v="{_num(r.tokens)}">{_e(c[3])}</td>',
            f'<td class="num" data-v="{_num(r.cost_per_call)}">{_e(c[5])}</td>',
        ]
        if rep.has_rates:
            cells.append(f'<td class="num" data-v="{_num(r.calls_per_day)}">{_e(c[6])}</td>')
            cells.append(f'<td class="num" data-v="{_num(r.monthly_cost)}">{_e(c[7])}</td>')
        cells.append(f'<td class="num" data-v="{_num(r.waste_tokens)}">{_e(c[-1])}</td>')
        cells.append(f'<td class="num" data-v="{_num(r.findings)}">{r.findings:,}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "".join(rows) if rows else f'<tr><td colspan="{len(header)}">No prompts found.</td></tr>'
    by = "projected monthly cost" if rep.has_rates else "cost per call"
    cap = f"All {_plural(len(rep.prompts), 'prompt')}, most expensive first ({by})"
    return (
        '<section id="prompts" aria-labelledby="prompts-h"><h2 id="prompts-h">All prompts</h2>'
        '<p class="section-lede js-only" hidden>Click a column header to sort.</p>'
        f'<div class="table-scroll" role="region" aria-label="{_e(cap)}" tabindex="0"><table id="prompt-table" class="sortable">'
        f'<caption>{_e(cap)}</caption><thead><tr>{"".join(ths)}</tr></thead><tbody>{body}</tbody></table></div></section>'
    )


def _notes(rep: Report) -> str:
    items = "".join(f"<li>{_e(n)}</li>" for n in rep.notes)
    return f'<section id="notes" aria-labelledby="notes-h"><h2 id="notes-h">Notes</h2><ul class="notes">{items}</ul></section>'


# ------------------------------------------------------------------------------------------- page


def _css() -> str:
    vars_ = "".join(f"--{k}:{v};" for k, v in PALETTE.items())
    return (
        ":root{" + vars_ + "}"
        """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif;color:var(--ink);background:var(--bg);font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace;font-size:.86em}
.wrap{max-width:76rem;margin:0 auto;padding:0 1.25rem}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.skip{position:absolute;left:-999px;top:0;background:var(--bg);color:var(--accent);padding:.5rem 1rem;z-index:2}
.skip:focus{left:.5rem}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.hero{background:var(--hero);color:var(--hero-ink);padding:2rem 0 1.75rem}
.eyebrow{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:.8rem;font-weight:600;color:var(--hero-muted)}
.hero h1{margin:.35rem 0 .25rem;font-size:clamp(1.6rem,3.2vw,2.4rem);line-height:1.2;font-weight:700}
.lede{margin:0 0 1.4rem;color:var(--hero-muted)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:.9rem;margin:0}
.kpi{border:1px solid rgba(203,213,225,.35);border-radius:.6rem;padding:.8rem 1rem;min-width:0;container-type:inline-size}
.kpi dt{font-size:.82rem;color:var(--hero-muted);font-weight:600}
.kpi dd{margin:0}
.kpi-value{font-size:1.75rem;font-size:clamp(1.1rem,12.5cqi,1.75rem);font-weight:700;line-height:1.25;margin-top:.15rem!important;white-space:nowrap}
.kpi-unit{font-size:.55em;font-weight:600;margin-left:.1em}
.kpi-over{border-color:var(--hero-bad)}
.kpi-over .kpi-sub,.kpi-over .kpi-value{color:var(--hero-bad)}
.kpi-waste .kpi-value{color:var(--hero-accent)}
.kpi-sub{font-size:.82rem;color:var(--hero-muted)}
nav.toc{border-bottom:1px solid var(--line);background:var(--surface)}
nav.toc ul{list-style:none;margin:0 auto;padding:.55rem 1.25rem;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;font-size:.9rem}
main section{padding:1.6rem 0 .6rem;border-bottom:1px solid var(--line)}
main section:last-child{border-bottom:0}
h2{font-size:1.3rem;margin:0 0 .6rem}
.section-lede,figcaption,.empty{color:var(--muted)}
.figure{margin:0}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:0 0 .3rem;font-size:.85rem;color:var(--muted)}
.legend span{display:inline-flex;align-items:center;gap:.4rem}
.chart-scroll,.table-scroll{overflow-x:auto}
svg.chart{display:block;width:100%;height:auto;min-width:42rem;max-width:60rem}
svg .label{font-size:14px;font-weight:600;fill:var(--ink)}
svg .sublabel{font-size:12px;fill:var(--muted);font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
svg .value{font-size:14px;font-weight:600;fill:var(--ink)}
svg .tick{font-size:12px;fill:var(--muted)}
svg .grid{stroke:var(--line);stroke-width:1}
svg .bar{fill:var(--accent)}
svg .bar-other{fill:var(--other)}
svg .bar-waste{fill:var(--waste)}
svg .donut-track{stroke:var(--surface)}
svg .donut-value{font-size:22px;font-weight:700;fill:var(--ink)}
svg .donut-sub{font-size:13px;fill:var(--muted)}
.swatch{flex:none;vertical-align:-1px}
.callout{background:var(--warn-bg);color:var(--warn);border-radius:.5rem;padding:.7rem 1rem;margin:0 0 1rem}
.callout code{color:var(--warn)}
.split{display:flex;flex-wrap:wrap;align-items:center;gap:1rem 2.5rem;margin-bottom:1rem}
.legend-list{list-style:none;margin:0;padding:0;min-width:18rem;flex:1 1 18rem;max-width:34rem}
.legend-list li{display:flex;align-items:center;gap:.6rem;padding:.35rem 0;border-bottom:1px solid var(--line)}
.lg-name{flex:1;font-weight:600}
.lg-val{font-weight:600}
.lg-share{color:var(--muted);width:3.2rem;text-align:right}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.6rem 0 1rem}
caption{text-align:left;color:var(--muted);font-size:.85rem;padding:0 0 .4rem}
th,td{padding:.45rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--surface);font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;white-space:nowrap;border-bottom:2px solid var(--line)}
tbody th{font-weight:600}
.p-name{display:block;overflow-wrap:break-word}
.p-loc{display:block;font-weight:400;color:var(--muted);font-size:.78rem;overflow-wrap:break-word}
td.model,#model-table tbody th{white-space:nowrap}
.num{text-align:right;white-space:nowrap}
tbody tr:nth-child(even){background:var(--stripe)}
th button.sort{all:unset;cursor:pointer;display:inline-flex;align-items:center;gap:.3rem}
th button.sort:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
th button.sort::after{content:"\\2195";color:var(--muted);font-size:.9em}
th[aria-sort=ascending] button.sort::after{content:"\\25B2";color:var(--ink)}
th[aria-sort=descending] button.sort::after{content:"\\25BC";color:var(--ink)}
.findings{list-style:none;margin:0;padding:0;display:grid;gap:.7rem}
.finding article{border:1px solid var(--line);border-radius:.6rem;padding:.7rem 1rem;background:var(--bg)}
.finding-head{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.4rem 1rem;align-items:baseline}
.chip{display:inline-block;background:var(--chip-bg);color:var(--chip);font-weight:700;font-size:.8rem;border-radius:.35rem;padding:.05rem .45rem}
.rule{font-weight:600}
.sev{font-size:.78rem;border-radius:.35rem;padding:.05rem .4rem;margin-left:.2rem}
.sev-error{background:var(--bad-bg);color:var(--bad)}
.sev-warning{background:var(--warn-bg);color:var(--warn)}
.sev-info{background:var(--surface);color:var(--muted)}
.finding-cost{text-align:right}
.finding-cost .big{font-size:1.3rem;font-weight:700;color:var(--waste)}
.finding-cost .unit{color:var(--waste);font-weight:600}
.finding-cost .small{display:block;font-size:.8rem;color:var(--muted)}
.where{margin:.35rem 0 .2rem;overflow-wrap:anywhere}
.message{margin:.2rem 0 .4rem}
.fix{margin-top:.6rem;border-top:1px dashed var(--line);padding-top:.5rem}
.fix-head{margin:0 0 .4rem;font-size:.9rem}
.cmd{color:var(--muted)}
.badge{font-size:.78rem;font-weight:700;border-radius:.35rem;padding:.1rem .45rem}
.badge-safe{background:var(--ok-bg);color:var(--ok)}
.badge-unsafe{background:var(--warn-bg);color:var(--warn)}
.edit{margin:.3rem 0}
.edit-at{font-size:.75rem;color:var(--muted)}
pre.diff{margin:.15rem 0 0;background:var(--surface);border-radius:.4rem;padding:.45rem .6rem;white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.45}
pre.diff .minus,pre.diff .plus{display:block}
pre.diff .sign{display:inline-block;width:1.3em;color:var(--muted);user-select:none}
del{background:var(--del-bg);color:var(--del);text-decoration:line-through}
ins{background:var(--ins-bg);color:var(--ins);text-decoration:none;font-weight:600}
.more-edits{font-size:.85rem;color:var(--muted);margin:.3rem 0 0}
.budget-status,.budget-findings,.notes{padding-left:1.2rem}
.budget-status .ok{color:var(--ok)}
.budget-status .bad{color:var(--bad);font-weight:600}
.notes{color:var(--muted);font-size:.9rem}
footer{color:var(--muted);font-size:.85rem;padding:1.5rem 0 2.5rem}
@media (max-width:40rem){body{font-size:14px}.wrap{padding:0 .8rem}.kpi-value{font-size:1.45rem}.finding-cost{text-align:left}}
@page{margin:12mm}
@media print{
 body{font-size:10.5pt}
 .hero{background:none;color:var(--ink);padding:0 0 .5rem;border-bottom:2px solid var(--ink)}
 .eyebrow,.lede,.kpi dt,.kpi-sub{color:var(--muted)}
 .kpi{border-color:var(--line)}
 .kpi-waste .kpi-value{color:var(--waste)}
 .kpi-over .kpi-sub,.kpi-over .kpi-value{color:var(--bad)}
 nav.toc,.skip,.js-only{display:none!important}
 .chart-scroll,.table-scroll{overflow:visible}
 svg.chart{min-width:0}
 main section{break-inside:auto;padding-top:.8rem}
 h2{break-after:avoid}
 figure,.finding article,tr{break-inside:avoid}
 thead{display:table-header-group}
 .kpis{grid-template-columns:repeat(auto-fit,minmax(9rem,1fr))}
 table{font-size:8pt}
 th,td{padding:.25rem .35rem}
 thead th{white-space:normal;text-transform:none;letter-spacing:0;font-size:8pt}
 td.model,#model-table tbody th{white-space:normal}
 .p-loc{font-size:7pt}
 .p-name,.p-loc{overflow-wrap:anywhere}
 tbody tr:nth-child(even){background:none}
 th button.sort::after{content:none}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""
    )


# Progressive enhancement only: turns each header of a .sortable table into a button that sorts the rows by
# that column (numbers by their data-v value; empty values last), and keeps aria-sort up to date.
_JS = """(function(){
'use strict';
function key(row,i,num){var c=row.cells[i];var v=c?c.getAttribute('data-v'):'';if(v===null){v=c.textContent;}
if(num){return v===''?null:parseFloat(v);}return v.toLowerCase();}
function sortBy(table,i,th){
var num=th.getAttribute('data-type')==='num';var cur=th.getAttribute('aria-sort');
var dir=cur?(cur==='descending'?'ascending':'descending'):(num?'descending':'ascending');
var heads=table.tHead.rows[0].cells;for(var h=0;h<heads.length;h++){heads[h].removeAttribute('aria-sort');}
th.setAttribute('aria-sort',dir);var sign=dir==='ascending'?1:-1;var body=table.tBodies[0];
var rows=Array.prototype.slice.call(body.rows).map(function(r,n){return {r:r,k:key(r,i,num),n:n};});
rows.sort(function(a,b){if(a.k===b.k){return a.n-b.n;}if(a.k===null){return 1;}if(b.k===null){return -1;}
if(num){return sign*(a.k-b.k);}return sign*a.k.localeCompare(b.k);});
rows.forEach(function(x){body.appendChild(x.r);});}
var tables=document.querySelectorAll('table.sortable');
Array.prototype.forEach.call(tables,function(table){
var heads=table.tHead.rows[0].cells;
Array.prototype.forEach.call(heads,function(th,i){var b=document.createElement('button');b.type='button';b.className='sort';
while(th.firstChild){b.appendChild(th.firstChild);}th.appendChild(b);
b.addEventListener('click',function(){sortBy(table,i,th);});});});
Array.prototype.forEach.call(document.querySelectorAll('.js-only'),function(el){el.hidden=false;});
})();"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render(rep: Report) -> str:
    ids = _Ids()
    css = _css()
    csp = f"default-src 'none'; style-src '{_sha256(css)}'; script-src '{_sha256(_JS)}'; img-src data:; base-uri 'none'; form-action 'none'"
    t = rep.totals
    if t.monthly_cost is not None:
        title = f"promptlint spend report: {_m(t.monthly_cost, t.approximate)}/month"
    else:
        title = f"promptlint spend report: {_m(t.cost_per_call, t.approximate)}/call"
    sections = [
        _prompts_chart(rep, ids),
        _models_section(rep, ids),
        _waste_section(rep, ids),
        _findings_section(rep),
        _budget_section(rep),
        _prompts_table(rep),
        _notes(rep),
    ]
    toc = [("spend", "Where the money goes"), ("models", "By model"), ("waste", "Waste by rule"), ("findings", "Top findings")]
    if sections[4]:
        toc.append(("budget", "Budgets"))
    toc += [("prompts", "All prompts"), ("notes", "Notes")]
    nav = '<nav class="toc" aria-label="Sections"><ul class="wrap">' + "".join(f'<li><a href="#{a}">{_e(b)}</a></li>' for a, b in toc) + "</ul></nav>"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">'
        '<meta name="color-scheme" content="light">'
        f'<meta name="generator" content="promptlint {_e(__version__)}">'
        f"<title>{_e(title)}</title>"
        f"<style>{css}</style></head>\n<body>"
        '<a class="skip" href="#prompts">Skip to the table of all prompts</a>'
        + _hero(rep)
        + nav
        + '<main class="wrap">'
        + "\n".join(s for s in sections if s)
        + "</main>"
        + f'<footer class="wrap">Generated by promptlint {_e(__version__)} \u00b7 prices as of {_e(rep.as_of)} \u00b7 '
        "costs are input-side only (static prompt text; placeholder content and output tokens are not counted).</footer>"
        + f"<script>{_JS}</script>"
        + "</body></html>\n"
    )
