"""The spend report: one computation (``compute(result, cfg) -> Report``), several renderings.

The :class:`Report` holds every number a rendering shows (text, markdown and JSON here; HTML in
report_html.py), so the renderings cannot disagree: they format the same fields with the same helpers (costs.money, costs.price).

Costs are input-side: static prompt tokens x the model's input price (placeholders and output tokens are not
counted). Monthly figures use a 30-day month and each prompt's calls-per-day. Waste by rule prices each
finding's ``tokens_wasted`` at the price and call rate of the prompt it concerns (found by prompt_key, else by
the smallest prompt of the same file whose span holds the finding); findings outside any prompt are counted
in tokens but not priced. Budget findings (over-budget, context-window, over-cost-budget, total-budget) state
tokens over a limit, not removable waste: they are listed under the budget section, not as waste.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Optional

from . import costs, models

REPORT_VERSION = 1
LIMIT_RULES = frozenset({"over-budget", "context-window", "over-cost-budget", "total-budget"})
# Rules whose tokens_wasted are tokens the prompt cache cannot serve: a fix saves input - cached_input per
# token, not the whole input price. A rule class can also say so itself with `waste_price = "cache"`.
CACHE_RULES = frozenset({"cache-unfriendly-order"})
TOP_FINDINGS = 10
CONTEXT_CHARS = 160  # line context kept around a fix edit (FixEdit.prefix / suffix)


@dataclass
class PromptRow:
    path: str
    line: int
    column: int
    cell: Optional[int]
    name: Optional[str]
    role: Optional[str]
    call: Optional[str]
    model: Optional[str]
    model_key: Optional[str]
    tokens: int
    approximate: bool
    dynamic: bool
    input_price: Optional[float]
    cost_per_call: Optional[float]
    calls_per_day: Optional[float]
    calls_source: Optional[str]
    monthly_cost: Optional[float]
    findings: int = 0
    waste_tokens: int = 0
    waste_cost_per_call: Optional[float] = None
    waste_monthly: Optional[float] = None

    @property
    def label(self) -> str:
        return self.name or (f"[{self.role}]" if self.role else "-")

    @property
    def location(self) -> str:
        from .output import location

        return location(self.path, self.line, self.column, self.cell)


@dataclass
class ModelRow:
    model: str  # price-table key, or the model id when it has no entry
    known: bool
    prompts: int
    tokens: int
    approximate: bool
    input_price: Optional[float]
    cached_input_price: Optional[float]
    output_price: Optional[float]
    context_window: Optional[int]
    cost_per_call: Optional[float]
    monthly_cost: Optional[float]


@dataclass
class RuleWaste:
    code: str
    rule: str
    findings: int
    tokens: int  # per call, all findings
    cost_per_call: Optional[float]  # $ per call of the priced findings
    monthly_cost: Optional[float]  # $ per month of the findings whose prompt has a call rate
    unpriced_tokens: int = 0  # tokens of findings outside any prompt or of prompts without a price
    approximate: bool = False  # some priced finding is in a prompt with an estimated token count
    priced_as: str = "input"  # "input" | "cache" (input - cached_input per token)


@dataclass
class FixEdit:
    line: int
    column: int
    before: str
    after: str
    # the rest of the edited source lines, so a rendering can show the rewrite in place:
    # prefix + before + suffix is the text before the fix, prefix + after + suffix the text after it
    prefix: str = ""  # the edit's first line up to the edit (at most CONTEXT_CHARS, cut at the left)
    suffix: str = ""  # the edit's last line after the edit (at most CONTEXT_CHARS, cut at the right)


@dataclass
class FixPreview:
    applicability: str
    message: str
    tokens_saved: Optional[int]
    edits: list = field(default_factory=list)  # FixEdit


@dataclass
class FindingRow:
    path: str
    line: int
    column: int
    cell: Optional[int]
    code: str
    rule: str
    severity: str
    message: str
    tokens_wasted: Optional[int]
    prompt: Optional[str]  # location of the prompt it concerns
    cost_per_call: Optional[float]
    monthly_cost: Optional[float]
    approximate: bool = False
    fix: Optional[FixPreview] = None

    @property
    def location(self) -> str:
        from .output import location

        return location(self.path, self.line, self.column, self.cell)


@dataclass
class Totals:
    files_scanned: int
    prompts: int
    tokens: int
    approximate: bool
    priced_prompts: int
    cost_per_call: float  # sum over priced prompts: one call of each
    rated_prompts: int  # prompts with a call rate and a price
    monthly_cost: Optional[float]  # None: no prompt has a call rate
    findings: int
    waste_findings: int
    waste_tokens: int
    waste_cost_per_call: float
    waste_monthly: Optional[float]
    waste_approximate: bool = False


@dataclass
class Budget:
    max_cost_per_call: Optional[float]
    over_cost_prompts: int  # prompts whose cost per call is over max-cost-per-call
    total_budget: Optional[float]
    monthly_cost: Optional[float]
    status: Optional[str]  # None (no total-budget) | "ok" | "over" | "unchecked" (no call rates)
    findings: list = field(default_factory=list)  # FindingRow of the budget rules


@dataclass
class Report:
    version: int
    as_of: str
    days_per_month: int
    has_rates: bool
    sorted_by: str  # "monthly_cost" | "cost_per_call"
    totals: Totals
    prompts: list  # PromptRow, most expensive first
    models: list  # ModelRow
    waste_by_rule: list  # RuleWaste, most expensive first
    top_findings: list  # FindingRow, most expensive first
    budget: Budget
    notes: list  # str

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------------ computation


def _attribute(diags, prompts):
    """Map each diagnostic (by index) to the prompt it concerns, or None."""
    from .pipeline import prompt_key

    by_path = {}
    for i, p in enumerate(prompts):
        by_path.setdefault(p.path, []).append(i)
    keys = {}
    out = []
    for d in diags:
        cands = by_path.get(d.path, [])
        hit = None
        if d.prompt_key:
            same = []
            for i in cands:
                if i not in keys:
                    keys[i] = prompt_key(prompts[i])
                if keys[i] == d.prompt_key:
                    same.append(i)
            if len(same) == 1:
                hit = same[0]
            elif same:
                cands = same
        if hit is None:
            best = None
            for i in cands:
                p = prompts[i]
                if p.start <= d.start and d.end <= p.end:
                    if best is None or (p.end - p.start) < (prompts[best].end - prompts[best].start):
                        best = i
            hit = best
        out.append(hit)
    return out


def _fix_preview(d, text_of) -> Optional[FixPreview]:
    if d.fix is None:
        return None
    edits = []
    text = text_of(d.path)
    if text is not None:
        from .types import LineIndex

        idx = LineIndex(text)
        for e in d.fix.edits:
            line, col = idx.position(e.start)
            bol = text.rfind("\n", 0, e.start) + 1
            eol = text.find("\n", e.end)
            eol = len(text) if eol < 0 else eol
            prefix = text[max(bol, e.start - CONTEXT_CHARS) : e.start].rstrip("\r")
            suffix = text[e.end : min(eol, e.end + CONTEXT_CHARS)].rstrip("\r")
            edits.append(FixEdit(line, col, text[e.start : e.end], e.content, prefix, suffix))
    return FixPreview(d.fix.applicability, d.fix.message, d.fix.tokens_saved, edits)


def _reader():
    from .fsutil import text_reader

    return text_reader()


def _sum(values):
    vals = [v for v in values if v is not None]
    return sum(vals) if vals else None


def compute(result, cfg, top: int = TOP_FINDINGS) -> Report:
    book = costs.PriceBook(cfg)
    prompts = list(result.prompts)
    pcs = [book.prompt_cost(p) for p in prompts]
    rows = []
    for p, c in zip(prompts, pcs):
        rows.append(
            PromptRow(
                path=p.path,
                line=p.line,
                column=p.column,
                cell=p.cell,
                name=p.name,
                role=p.role,
                call=p.call,
                model=c.model,
                model_key=c.model_key,
                tokens=c.tokens,
                approximate=c.approximate,
                dynamic=p.dynamic,
                input_price=c.input_price,
                cost_per_call=c.cost_per_call,
                calls_per_day=c.calls_per_day,
                calls_source=c.calls_source,
                monthly_cost=c.monthly_cost,
            )
        )
    has_rates = any(c.monthly_cost is not None for c in pcs)

    diags = list(result.diagnostics)
    owner = _attribute(diags, prompts)
    text_of = _reader()
    from .rules import registry

    reg = registry(cfg)

    def waste_kind(code, name):
        r = reg.get(code)
        if getattr(r, "waste_price", None) == "cache" or name in CACHE_RULES:
            return "cache"
        return "input"

    waste = {}
    waste_rows = []
    budget_rows = []
    for d, i in zip(diags, owner):
        if i is not None:
            rows[i].findings += 1
        per_call = monthly = None
        approx = False
        kind = waste_kind(d.code, d.rule)
        if i is not None and d.tokens_wasted:
            c = pcs[i]
            approx = c.approximate
            wprice = book.waste_price(c.model, kind)
            if wprice is not None:
                per_call = d.tokens_wasted * wprice / costs.PER
                if c.calls_per_day is not None:
                    monthly = per_call * c.calls_per_day * costs.DAYS_PER_MONTH
        prompt_loc = rows[i].location if i is not None else None
        frow = FindingRow(d.path, d.line, d.column, d.cell, d.code, d.rule, d.severity, d.message, d.tokens_wasted, prompt_loc, per_call, monthly, approx, _fix_preview(d, text_of))
        if d.rule in LIMIT_RULES:
            budget_rows.append(frow)
            continue
        if not d.tokens_wasted:
            continue
        waste_rows.append(frow)
        w = waste.get(d.code)
        if w is None:
            w = waste[d.code] = RuleWaste(d.code, d.rule, 0, 0, None, None, 0, False, kind)
        w.findings += 1
        w.approximate = w.approximate or (approx and per_call is not None)
        w.tokens += d.tokens_wasted
        if per_call is None:
            w.unpriced_tokens += d.tokens_wasted
        else:
            w.cost_per_call = (w.cost_per_call or 0.0) + per_call
        if monthly is not None:
            w.monthly_cost = (w.monthly_cost or 0.0) + monthly
        if i is not None:
            r = rows[i]
            r.waste_tokens += d.tokens_wasted
            if per_call is not None:
                r.waste_cost_per_call = (r.waste_cost_per_call or 0.0) + per_call
            if monthly is not None:
                r.waste_monthly = (r.waste_monthly or 0.0) + monthly

    def money_key(monthly, per_call, tokens):
        return (-(monthly if monthly is not None else -1.0), -(per_call if per_call is not None else -1.0), -(tokens or 0))

    if has_rates:
        rows.sort(key=lambda r: (money_key(r.monthly_cost, r.cost_per_call, r.tokens), r.path, r.line, r.column))
    else:
        rows.sort(key=lambda r: (money_key(None, r.cost_per_call, r.tokens), r.path, r.line, r.column))
    rules = sorted(waste.values(), key=lambda w: (money_key(w.monthly_cost, w.cost_per_call, w.tokens), w.code))
    waste_rows.sort(key=lambda f: (money_key(f.monthly_cost, f.cost_per_call, f.tokens_wasted), f.path, f.line, f.column, f.code))

    # per model
    mrows = {}
    for p, c in zip(prompts, pcs):
        key = c.model_key or c.model or cfg.model
        m = mrows.get(key)
        if m is None:
            info = book.info(c.model)
            m = mrows[key] = ModelRow(
                key,
                info is not None,
                0,
                0,
                False,
                c.input_price,
                info.cached_input if info else None,
                info.output if info else None,
                info.context_window if info else None,
                None,
                None,
            )
        m.prompts += 1
        m.tokens += c.tokens
        m.approximate = m.approximate or c.approximate
        if c.cost_per_call is not None:
            m.cost_per_call = (m.cost_per_call or 0.0) + c.cost_per_call
        if c.monthly_cost is not None:
            m.monthly_cost = (m.monthly_cost or 0.0) + c.monthly_cost
    model_rows = sorted(mrows.values(), key=lambda m: (money_key(m.monthly_cost if has_rates else None, m.cost_per_call, m.tokens), m.model))

    priced = [c for c in pcs if c.cost_per_call is not None]
    rated = [c for c in pcs if c.monthly_cost is not None]
    totals = Totals(
        files_scanned=result.files_scanned,
        prompts=len(prompts),
        tokens=sum(c.tokens for c in pcs),
        approximate=any(c.approximate for c in pcs),
        priced_prompts=len(priced),
        cost_per_call=sum(c.cost_per_call for c in priced),
        rated_prompts=len(rated),
        monthly_cost=sum(c.monthly_cost for c in rated) if rated else None,
        findings=len(diags),
        waste_findings=len(waste_rows),
        waste_tokens=sum(w.tokens for w in rules),
        waste_cost_per_call=sum(w.cost_per_call or 0.0 for w in rules),
        waste_monthly=_sum(w.monthly_cost for w in rules),
        waste_approximate=any(w.approximate for w in rules),
    )

    over_cost = 0
    if cfg.max_cost_per_call is not None:
        over_cost = sum(1 for c in priced if c.cost_per_call > cfg.max_cost_per_call)
    status = None
    if cfg.total_budget is not None:
        if not rated:
            status = "unchecked"
        else:
            status = "over" if totals.monthly_cost > cfg.total_budget else "ok"
    budget = Budget(cfg.max_cost_per_call, over_cost, cfg.total_budget, totals.monthly_cost, status, budget_rows)

    notes = [
        f"Prices: USD per 1M input tokens, model table as of {models.as_of()}"
        + (" with config overrides" if cfg.models else "")
        + "; costs are input-side only (static prompt text; placeholder content and output tokens are not counted).",
    ]
    if has_rates:
        notes.append(f"Monthly = cost per call x calls per day x {costs.DAYS_PER_MONTH} (a {costs.DAYS_PER_MONTH}-day month).")
        if len(rated) < len(priced):
            notes.append(f"{len(priced) - len(rated)} priced prompt(s) have no call rate and are not in the monthly total.")
    else:
        notes.append("No calls-per-day configured: prompts are sorted by cost per call and there is no monthly projection (set `calls-per-day` in config or `# promptlint: calls-per-day=N`).")
    unpriced = sorted({c.model for c in pcs if c.cost_per_call is None})
    if unpriced:
        notes.append("No price for model(s): " + ", ".join(unpriced) + " (add `[tool.promptlint.models.<id>] input = ...`).")
    if totals.approximate:
        notes.append("~ marks estimates: token counts of non-OpenAI models are approximate, and so are their costs.")
    outside = sum(w.unpriced_tokens for w in rules)
    if outside:
        notes.append(f"{outside:,} wasted tokens per call are not priced (finding outside a prompt, or a model without a price).")
    if status == "unchecked":
        notes.append("total-budget is set but no prompt has a call rate: the budget cannot be checked.")
    if any(w.priced_as == "cache" for w in rules):
        notes.append("Rules marked (cache saving) report tokens the prompt cache cannot serve: they are priced at what caching would save (input - cached input price per token), not the full input price.")
    if len(rules) > 1:
        notes.append("Waste of different rules can overlap on the same text; the total is an upper bound.")

    return Report(
        version=REPORT_VERSION,
        as_of=models.as_of(),
        days_per_month=costs.DAYS_PER_MONTH,
        has_rates=has_rates,
        sorted_by="monthly_cost" if has_rates else "cost_per_call",
        totals=totals,
        prompts=rows,
        models=model_rows,
        waste_by_rule=rules,
        top_findings=waste_rows[:top],
        budget=budget,
        notes=notes,
    )


# ------------------------------------------------------------------------------------------- rendering

_m = costs.money


def _tok(n, approx) -> str:
    return f"~{n:,}" if approx else f"{n:,}"


def _table(header, rows, right=()):
    widths = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    out = []
    for r in [header] + rows:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
    return out


def _prompt_cells(r: PromptRow, rep: Report):
    cells = [r.location, r.label, r.model_key or f"{r.model} (no price)", _tok(r.tokens, r.approximate), costs.price(r.input_price), _m(r.cost_per_call, r.approximate)]
    if rep.has_rates:
        cells += [costs.rate(r.calls_per_day), _m(r.monthly_cost, r.approximate)]
    cells.append(_tok(r.waste_tokens, r.approximate) if r.waste_tokens else "-")
    return cells


def _prompt_header(rep: Report):
    h = ["PROMPT", "NAME", "MODEL", "TOKENS", "$/1M IN", "$/CALL"]
    if rep.has_rates:
        h += ["CALLS/DAY", "$/MONTH"]
    h.append("WASTE TOK")
    return h


def _totals_lines(rep: Report):
    t = rep.totals
    lines = [
        f"Prompts: {t.prompts} in {t.files_scanned} file{'s' if t.files_scanned != 1 else ''}, {_tok(t.tokens, t.approximate)} tokens",
        f"Cost per call (one call of each priced prompt, {t.priced_prompts} of {t.prompts}): {_m(t.cost_per_call, t.approximate)}",
    ]
    if t.monthly_cost is not None:
        lines.append(f"Projected monthly ({t.rated_prompts} prompt{'s' if t.rated_prompts != 1 else ''} with call rates, {rep.days_per_month}-day month): {_m(t.monthly_cost, t.approximate)}")
    wa = t.waste_approximate
    w = f"Waste: {_tok(t.waste_tokens, wa)} tokens per call in {t.waste_findings} finding{'s' if t.waste_findings != 1 else ''} ({_m(t.waste_cost_per_call, wa)} per call"
    if t.waste_monthly is not None:
        w += f", {_m(t.waste_monthly, wa)} per month"
    lines.append(w + ")")
    return lines


def _budget_lines(rep: Report):
    b = rep.budget
    lines = []
    if b.max_cost_per_call is not None:
        lines.append(f"max-cost-per-call {_m(b.max_cost_per_call)}: {b.over_cost_prompts} prompt{'s' if b.over_cost_prompts != 1 else ''} over")
    if b.total_budget is not None:
        if b.status == "unchecked":
            lines.append(f"total-budget {_m(b.total_budget)}/month: cannot be checked (no calls-per-day)")
        else:
            state = "OVER" if b.status == "over" else "within budget"
            lines.append(f"total-budget {_m(b.total_budget)}/month: projected {_m(b.monthly_cost, rep.totals.approximate)} ({state})")
    return lines


def _rule_cells(w: RuleWaste, rep: Report):
    approx = w.approximate
    cells = [w.code, w.rule + (" (cache saving)" if w.priced_as == "cache" else ""), str(w.findings), f"{w.tokens:,}", _m(w.cost_per_call, approx)]
    if rep.has_rates:
        cells.append(_m(w.monthly_cost, approx))
    return cells


def _rule_header(rep: Report):
    h = ["CODE", "RULE", "FINDINGS", "TOKENS/CALL", "$/CALL"]
    if rep.has_rates:
        h.append("$/MONTH")
    return h


def _model_cells(m: ModelRow, rep: Report):
    cells = [m.model if m.known else f"{m.model} (no price)", str(m.prompts), _tok(m.tokens, m.approximate), costs.price(m.input_price), costs.price(m.cached_input_price), costs.price(m.output_price), _m(m.cost_per_call, m.approximate)]
    if rep.has_rates:
        cells.append(_m(m.monthly_cost, m.approximate))
    return cells


def _model_header(rep: Report):
    h = ["MODEL", "PROMPTS", "TOKENS", "$/1M IN", "$/1M CACHED", "$/1M OUT", "$/CALL"]
    if rep.has_rates:
        h.append("$/MONTH")
    return h


def _finding_cost(f: FindingRow, rep: Report) -> str:
    s = f"{f.tokens_wasted:,} tokens/call"
    if f.cost_per_call is not None:
        s += f", {_m(f.cost_per_call, f.approximate)}/call"
    if f.monthly_cost is not None:
        s += f", {_m(f.monthly_cost, f.approximate)}/month"
    return s


def to_text(rep: Report) -> str:
    out = [f"promptlint spend report (prices as of {rep.as_of})", ""]
    out += _totals_lines(rep)
    bl = _budget_lines(rep)
    if bl:
        out += ["", "Budgets"] + ["  " + x for x in bl]
    by = "monthly cost" if rep.has_rates else "cost per call"
    out += ["", f"Prompts by {by}"]
    if rep.prompts:
        nright = {3, 4, 5, 6, 7, 8} if rep.has_rates else {3, 4, 5, 6}
        out += ["  " + x for x in _table(_prompt_header(rep), [_prompt_cells(r, rep) for r in rep.prompts], right=nright)]
    else:
        out.append("  (no prompts found)")
    if rep.models:
        out += ["", "By model (prices per 1M tokens)"]
        out += ["  " + x for x in _table(_model_header(rep), [_model_cells(m, rep) for m in rep.models], right={1, 2, 3, 4, 5, 6, 7})]
    out += ["", "Waste by rule"]
    if rep.waste_by_rule:
        out += ["  " + x for x in _table(_rule_header(rep), [_rule_cells(w, rep) for w in rep.waste_by_rule], right={2, 3, 4, 5})]
    else:
        out.append("  (no waste found)")
    if rep.top_findings:
        out += ["", "Top findings"]
        for f in rep.top_findings:
            fix = f" [{f.fix.applicability} fix]" if f.fix else ""
            out.append(f"  {f.location}: {f.code} {f.message} ({_finding_cost(f, rep)}){fix}")
    if rep.budget.findings:
        out += ["", "Budget findings"]
        for f in rep.budget.findings:
            out.append(f"  {f.location}: {f.code} {f.message}")
    out += ["", "Notes"] + [f"  - {n}" for n in rep.notes]
    return "\n".join(out) + "\n"


def _md_escape(s: str) -> str:
    from .formats import md_cell

    return md_cell(s)


def _md_code(s: str) -> str:
    from .formats import md_code

    return md_code(s)


def _md_table(header, rows, right=()):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" ---: " if i in right else " --- " for i in range(len(header))) + "|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return out


def to_markdown(rep: Report) -> str:
    out = ["## promptlint spend report", "", f"Prices as of {rep.as_of}.", ""]
    out += [f"- {_md_escape(x)}" for x in _totals_lines(rep)]
    bl = _budget_lines(rep)
    if bl:
        out += ["", "### Budgets", ""] + [f"- {_md_escape(x)}" for x in bl]
    by = "monthly cost" if rep.has_rates else "cost per call"
    out += ["", f"### Prompts by {by}", ""]
    if rep.prompts:
        rows = []
        for r in rep.prompts:
            c = _prompt_cells(r, rep)
            rows.append([_md_code(c[0])] + [_md_escape(x) for x in c[1:]])
        right = {3, 4, 5, 6, 7, 8} if rep.has_rates else {3, 4, 5, 6}
        out += _md_table(_prompt_header(rep), rows, right)
    else:
        out.append("No prompts found.")
    if rep.models:
        out += ["", "### By model (prices per 1M tokens)", ""]
        out += _md_table(_model_header(rep), [[_md_escape(x) for x in _model_cells(m, rep)] for m in rep.models], {1, 2, 3, 4, 5, 6, 7})
    out += ["", "### Waste by rule", ""]
    if rep.waste_by_rule:
        out += _md_table(_rule_header(rep), [[_md_escape(x) for x in _rule_cells(w, rep)] for w in rep.waste_by_rule], {2, 3, 4, 5})
    else:
        out.append("No waste found.")
    if rep.top_findings:
        out += ["", "### Top findings", ""]
        rows = []
        for f in rep.top_findings:
            rows.append([_md_code(f.location), f.code, _md_escape(f.message), _md_escape(_finding_cost(f, rep)), f.fix.applicability if f.fix else "-"])
        out += _md_table(["LOCATION", "CODE", "MESSAGE", "WASTE", "FIX"], rows)
    if rep.budget.findings:
        out += ["", "### Budget findings", ""]
        out += _md_table(["LOCATION", "CODE", "MESSAGE"], [[_md_code(f.location), f.code, _md_escape(f.message)] for f in rep.budget.findings])
    out += ["", "### Notes", ""] + [f"- {_md_escape(n)}" for n in rep.notes]
    return "\n".join(out) + "\n"


def to_json(rep: Report) -> str:
    return json.dumps(rep.to_dict(), indent=2, ensure_ascii=False) + "\n"


def render(fmt: str, rep: Report) -> str:
    if fmt == "html":
        from . import report_html

        return report_html.render(rep)
    if fmt == "markdown":
        return to_markdown(rep)
    if fmt == "json":
        return to_json(rep)
    return to_text(rep)
