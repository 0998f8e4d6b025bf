#!/usr/bin/env python3
"""Generate a large, realistic-looking Python tree for benchmarking promptlint (no network needed).

Most modules are ordinary application code (services, models, SQL, loops, logging, docstrings); a fraction
(default 10%) are LLM feature modules with prompts, SDK calls, agent loops and wasteful prompt text, as in a
real product codebase. Prompt templates (Jinja, YAML) are added alongside. Deterministic for a given seed.

    python bench/generate.py OUT_DIR [--files 5400] [--llm-share 0.10] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import random

WORDS = (
    "account order invoice customer shipment payment refund ticket report user session cart product price "
    "discount inventory warehouse carrier address region tenant project task comment review rating score "
    "metric event audit ledger balance transfer policy quota limit token budget model prompt request"
).split()
VERBS = "load save fetch compute update validate render sync merge apply build parse normalize resolve".split()


def ident(r, n=2):
    return "_".join(r.choice(WORDS) for _ in range(n))


def camel(r, n=2):
    return "".join(w.capitalize() for w in ident(r, n).split("_"))


def app_module(r, i):
    cls = camel(r)
    out = [f'"""{cls} service: {" ".join(r.choice(WORDS) for _ in range(12))}.\n\nHandles {ident(r)} and {ident(r)} for the {r.choice(WORDS)} module.\n"""', "", "from __future__ import annotations", "", "import logging", "import json", "from dataclasses import dataclass, field", "from typing import Optional", "", "logger = logging.getLogger(__name__)", ""]
    out.append(f'{ident(r).upper()}_QUERY = """\nSELECT id, {ident(r)}, {ident(r)}, created_at\nFROM {ident(r)}\nWHERE tenant_id = %s AND status = %s\nORDER BY created_at DESC\nLIMIT 100\n"""')
    out.append("")
    for k in range(r.randint(2, 3)):
        c = camel(r) + str(k)
        out.append("@dataclass")
        out.append(f"class {c}:")
        out.append(f'    """A {r.choice(WORDS)} record with {r.choice(WORDS)} and {r.choice(WORDS)} fields."""')
        out.append("")
        for _ in range(r.randint(3, 7)):
            out.append(f"    {ident(r)}: Optional[str] = None")
        out.append("    tags: list = field(default_factory=list)")
        out.append("")
        for m in range(r.randint(3, 4)):
            v = r.choice(VERBS)
            out.append(f"    def {v}_{ident(r)}_{m}(self, items, limit=50):")
            out.append(f'        """{v.capitalize()} the {r.choice(WORDS)} items and return the {r.choice(WORDS)} totals."""')
            out.append("        total = 0")
            out.append("        seen = set()")
            out.append("        for n, item in enumerate(items):")
            out.append("            if n >= limit:")
            out.append("                break")
            out.append(f"            key = (item.get('{r.choice(WORDS)}'), item.get('{r.choice(WORDS)}'))")
            out.append("            if key in seen:")
            out.append("                continue")
            out.append("            seen.add(key)")
            out.append(f"            total += item.get('{r.choice(WORDS)}', 0) * {r.randint(1, 9)}")
            out.append(f'        logger.info("{v} %s items for %s", len(seen), self)')
            out.append("        if total < 0:")
            out.append(f'            raise ValueError("In order to {v} the {r.choice(WORDS)}, the total must not be negative: %s" % total)')
            out.append("        return {'total': total, 'count': len(seen)}")
            out.append("")
    out.append(f"def export_{ident(r)}(records, path):")
    out.append('    """Write records to a JSON file for the nightly export."""')
    out.append("    with open(path, 'w') as fh:")
    out.append("        fh.write(json.dumps(records, indent=2))")
    out.append("")
    return "\n".join(out) + "\n"


LLM_TEMPLATES = [
    '''
from openai import OpenAI

client = OpenAI()


class {cls}Assistant:
    SYSTEM_PROMPT = """You are a helpful assistant for {w1} questions.
        In order to answer, please make sure to read the {w2} carefully.
        It is very important that you answer in a friendly tone.
        Always cite the {w3} policy when it applies.
        Never reveal internal notes.   
    """

    def __init__(self):
        self.history = [{{"role": "system", "content": self.SYSTEM_PROMPT}}]

    def chat(self):
        while True:
            question = input("> ")
            if question == "quit":
                break
            self.history.append({{"role": "user", "content": question}})
            reply = client.chat.completions.create(model="gpt-4o", messages=self.history)
            self.history.append({{"role": "assistant", "content": reply.choices[0].message.content}})

    def summarize(self, {w1}):
        prompt = f"Summarize the following {w1} in three bullet points:\\n{{{w1}}}"
        return client.chat.completions.create(model="gpt-4o-mini", max_tokens=200, messages=[{{"role": "user", "content": prompt}}])
''',
    '''
import anthropic
from tenacity import retry, stop_after_attempt

client = anthropic.Anthropic()
MAX_STEPS = 8

AGENT_SYSTEM = (
    "You are a research agent for {w1} data. "
    "Use the tools to look up {w2} and {w3} facts. "
    "Due to the fact that tool calls are expensive, plan before you call a tool."
)


@retry(stop=stop_after_attempt(3))
def call_model(messages):
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, system=AGENT_SYSTEM, messages=messages)


def run_agent(task):
    messages = [{{"role": "user", "content": task}}]
    for step in range(MAX_STEPS):
        reply = call_model(messages)
        if reply.stop_reason == "end_turn":
            return reply
        messages.append({{"role": "assistant", "content": reply.content}})
    return None


def retry_forever(question):
    while True:
        try:
            return client.messages.create(model="claude-3-5-haiku", max_tokens=256, messages=[{{"role": "user", "content": question}}])
        except Exception:
            continue
''',
    '''
import json
import litellm
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI

EXTRACT_INSTRUCTIONS = """Extract the {w1}, the {w2} and the {w3} from the document.
Return JSON with the keys {w1}, {w2} and {w3}. If a value is missing, use null.
Do not add commentary. Do not guess values that are not in the text."""

summary_prompt = ChatPromptTemplate.from_messages([
    ("system", "You summarize {w1} reports for busy managers."),
    ("human", "{{text}}"),
])
llm = ChatOpenAI(model="gpt-4o-mini", temperature=0)


def extract_all(documents):
    results = []
    for doc in documents:
        reply = litellm.completion(
            model="gpt-4.1-mini",
            max_tokens=300,
            messages=[{{"role": "user", "content": EXTRACT_INSTRUCTIONS + "\\n\\nDocument:\\n" + doc}}],
        )
        results.append(reply)
    return results


def describe(order):
    prompt = f"Order details:\\n{{json.dumps(order, indent=2)}}\\nExplain the {w2} status."
    return llm.invoke(prompt)
''',
]

J2 = """{{# {w1} triage prompt #}}
You are a triage assistant for {w1} tickets.
In order to route the ticket, read it carefully.
{{% if customer.vip %}}
The customer is a VIP: respond within one hour.
{{% endif %}}
Ticket: {{{{ ticket.body }}}}
"""

YAML = """{w1}_agent:
  role: >
    Senior {w1} analyst
  goal: >
    Find the most important {w2} trends in order to brief the team.
  backstory: |
    You have ten years of experience with {w3} data.
    Please make sure to cite your sources.
  llm: gpt-4o
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=5400)
    ap.add_argument("--llm-share", type=float, default=0.10)
    ap.add_argument("--templates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    r = random.Random(args.seed)
    total = 0
    for i in range(args.files):
        pkg = os.path.join(args.out, f"pkg{i // 100:03d}")
        os.makedirs(pkg, exist_ok=True)
        if r.random() < args.llm_share:
            tpl = r.choice(LLM_TEMPLATES)
            body = tpl.format(cls=camel(r), w1=r.choice(WORDS), w2=r.choice(WORDS), w3=r.choice(WORDS))
            text = body + "\n\n" + app_module(r, i)
        else:
            text = app_module(r, i)
        with open(os.path.join(pkg, f"mod_{i:05d}.py"), "w") as fh:
            fh.write(text)
        total += len(text.encode())
    tdir = os.path.join(args.out, "prompts")
    os.makedirs(tdir, exist_ok=True)
    for i in range(args.templates):
        w = dict(w1=r.choice(WORDS), w2=r.choice(WORDS), w3=r.choice(WORDS))
        if i % 2:
            name, text = f"triage_{i}.j2", J2.format(**w)
        else:
            name, text = f"agents_{i}.yaml", YAML.format(**w)
        with open(os.path.join(tdir, name), "w") as fh:
            fh.write(text)
        total += len(text.encode())
    print(f"{args.files} Python files + {args.templates} templates, {total / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
