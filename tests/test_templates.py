"""Prompt files: Jinja, .prompt (dotprompt / Jinja), .prompty, YAML/JSON prompt keys, text/Markdown, notebooks.

Every extracted prompt is checked for an exact source map: each literal segment's text equals the file
characters it maps to, and its line/column span matches the file.
"""

import json
import os
import textwrap
from dataclasses import replace


from promptlint import config as cfgmod
from promptlint import tokens
from promptlint.discover import kind_of
from promptlint.measure import measure
from promptlint.pipeline import extract, lint_source, read_source
from promptlint.rules import enabled_rules
from promptlint.types import ESCAPE, LITERAL, PLACEHOLDER, TAG, LineIndex

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "prompts")


def _cfg(path, **kw):
    cfg = cfgmod.load([str(path)])
    return replace(cfg, **kw) if kw else cfg


def _write(tmp_path, name, content, dedent=True):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_bytes((textwrap.dedent(content) if dedent else content).encode("utf-8"))
    return p


def check_map(prompt, text):
    """The source map is exact wherever it claims to be."""
    idx = LineIndex(text)
    assert (prompt.line, prompt.column) == idx.position(prompt.start)
    assert (prompt.end_line, prompt.end_column) == idx.position(prompt.end)
    pos = 0
    for s in prompt.segments:
        assert s.start == pos, prompt.segments
        pos = s.end
        if s.kind == LITERAL:
            assert text[s.src_start : s.src_end] == prompt.text[s.start : s.end]
        if s.kind in (PLACEHOLDER, TAG):
            assert prompt.text[s.start : s.end].strip() in text[s.src_start : s.src_end] or not prompt.fixable
    assert pos == len(prompt.text)


def prompts_of(tmp_path, name, content, dedent=True, **cfgkw):
    p = _write(tmp_path, name, content, dedent)
    cfg = _cfg(p, **cfgkw)
    src = read_source(str(p), kind_of(name))
    assert not isinstance(src, str), src
    found, _ = extract(src, cfg)
    found = [measure(x, cfg) for x in found]
    for x in found:
        assert x.source == "template" or src.kind == "notebook"
        if src.kind != "notebook":
            assert x.origin == "file" and x.name
            check_map(x, src.text)
    return found, src.text


def lint(tmp_path, name, content, dedent=True):
    p = _write(tmp_path, name, content, dedent)
    cfg = _cfg(p)
    src = read_source(str(p), kind_of(name))
    return lint_source(src, cfg, enabled_rules(cfg))


def at(text, needle, nth=0):
    """(line, column) of the nth occurrence of needle in text."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    return LineIndex(text).position(i)


def count(text, model="gpt-4o"):
    return tokens.count(text, model)


# ------------------------------------------------------------------------------------------------ Jinja


TRIAGE = """\
{# header comment #}
You are a triage assistant.

{% if tier == "enterprise" %}
Route enterprise tickets to tier2.
{% elif tier == "pro" %}
Pro customer.
{% else %}
Standard customer, normal queue.
{% endif %}
{% for item in items %}
- {{ item.name }}: {{ item.price }}
{% endfor %}
Ticket: {{ ticket.body }}
"""


def test_jinja_placeholders_tags_and_static_text(tmp_path):
    (p,), text = prompts_of(tmp_path, "triage.j2", TRIAGE)
    assert p.name == "triage" and p.source == "template" and p.origin == "file" and p.role is None
    assert p.placeholders == ("item.name", "item.price", "ticket.body")
    kinds = {p.text[s.start : s.end]: s.kind for s in p.segments if s.kind in (TAG, PLACEHOLDER)}
    assert kinds["{{ ticket.body }}"] == PLACEHOLDER
    assert kinds["{# header comment #}"] == TAG and kinds['{% if tier == "enterprise" %}'] == TAG
    static = p.static_text
    assert "{%" not in static and "{#" not in static and "{{" not in static
    # Environment() defaults: the newline after each tag is emitted; the file's final newline is not
    assert static.startswith("\nYou are a triage assistant.\n\n\nRoute enterprise")
    assert static.endswith("Ticket: ")
    assert p.tokens == count(static)
    assert (p.line, p.column) == (1, 1)
    assert p.dynamic


def test_jinja_branch_range_uses_real_tokenizer(tmp_path):
    (p,), _ = prompts_of(tmp_path, "triage.j2", TRIAGE)
    outside = "\nYou are a triage assistant.\n\n\n\nTicket: "
    ifs = ["\nRoute enterprise tickets to tier2.\n", "\nPro customer.\n", "\nStandard customer, normal queue.\n"]
    loop = ["", "\n- : \n"]
    assert p.get_meta("outside_text") == outside
    assert p.get_meta("branches") == (tuple(ifs), tuple(loop))
    base = count(outside)
    assert p.tokens_min == base + min(count(t) for t in ifs) + 0
    assert p.tokens_max == base + max(count(t) for t in ifs) + count(loop[1])
    assert p.tokens_min < p.tokens_max


def test_jinja_if_without_else_can_vanish_and_nested_blocks(tmp_path):
    src = "Intro line.\n{% if a %}A text here.{% if b %} And a nested B part.{% endif %}{% endif %}\nEnd."
    (p,), _ = prompts_of(tmp_path, "n.jinja", src, dedent=False)
    (alts,) = p.get_meta("branches")
    assert "" in alts and "A text here." in alts and "A text here. And a nested B part." in alts
    assert p.tokens_min == count("Intro line.\n\nEnd.")
    assert p.tokens_max == count("Intro line.\n\nEnd.") + count("A text here. And a nested B part.")


def test_jinja_without_blocks_has_no_range(tmp_path):
    (p,), _ = prompts_of(tmp_path, "plain.j2", "Hello {{ name }}, summarise the text below.\n{{ text }}\n")
    assert p.tokens_min is None and p.tokens_max is None
    assert p.get_meta("branches") is None


def test_jinja_whitespace_control_is_applied(tmp_path):
    src = "Rules:   \n  {%- if x -%}  \n   Be brief.  {#- note -#}\n  Be kind.\n{%- endif %}\nDone.\n"
    (p,), text = prompts_of(tmp_path, "ws.j2", src, dedent=False)
    # `{%-` eats the spaces and newline before it, `-%}` the whitespace after it, as jinja2 renders
    import jinja2

    rendered = jinja2.Environment().from_string(src).render(x=True)
    assert p.static_text == rendered
    # the eaten whitespace belongs to the tag segments, never to literal text
    tag_texts = [p.text[s.start : s.end] for s in p.segments if s.kind == TAG]
    assert tag_texts[0] == "   \n  {%- if x -%}  \n   "


def test_jinja_raw_block_is_text_and_line_mapping(tmp_path):
    src = "A {% raw %}{{ not a var }}{% endraw %} B\nsecond line {{ v }}\n"
    (p,), text = prompts_of(tmp_path, "raw.j2", src, dedent=False)
    assert p.static_text == "A {{ not a var }} B\nsecond line "
    assert p.placeholders == ("v",)
    seg = next(s for s in p.segments if s.kind == PLACEHOLDER)
    assert LineIndex(text).position(seg.src_start) == (2, 13)


def test_jinja_crlf_file_maps_lines(tmp_path):
    src = b"Line one is here.\r\n{% if a %}\r\nLine three.\r\n{% endif %}\r\n"
    (p,), text = prompts_of(tmp_path, "crlf.j2", src)
    assert "\r" not in p.static_text
    assert p.static_text == "Line one is here.\n\nLine three.\n"
    lit = [s for s in p.segments if s.kind == LITERAL and "three" in p.text[s.start : s.end]][0]
    assert LineIndex(text).position(lit.src_start)[0] == 3


def test_jinja_syntax_error_is_a_diagnostic(tmp_path):
    fr = lint(tmp_path, "bad.j2", "ok line\n{% if x %}\nnever closed\n")
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and "Jinja syntax error" in d.message and d.line >= 2
    fr = lint(tmp_path, "bad2.j2", "line one\nline two {{ x \n")
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and d.line == 2
    fr = lint(tmp_path, "bad3.j2", "text\n{% endif %}\n")
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and d.line == 2 and "endif" in d.message


def test_jinja_unknown_extension_tag_is_tolerated(tmp_path):
    (p,), _ = prompts_of(tmp_path, "ext.j2", "Please summarise.\n{% cache 300 %}cached text{% endcache %}\n")
    assert p.static_text == "Please summarise.\ncached text"


# ----------------------------------------------------------------------------------------------- .prompt


DOTPROMPT = """\
# Classifier prompt, owned by the support team
# (comment lines before the front matter)
---
model: googleai/gemini-2.5-flash
config:
  temperature: 0.1
  maxOutputTokens: 64
---
{{role "system"}}
You classify customer support messages.
{{! a Handlebars comment on its own line }}
Pick exactly one category.
{{#if strict}}
Never answer with two categories.
{{else}}
Prefer the first category.
{{/if}}

{{role "user"}}
Channel: {{channel}}
{{> ticket_partial}}

{{role "model"}}
billing
"""


def test_dotprompt_roles_model_and_front_matter(tmp_path):
    found, text = prompts_of(tmp_path, "classify.prompt", DOTPROMPT)
    sysp, user, model = found
    assert [p.name for p in found] == ["classify:system", "classify:user", "classify:assistant"]
    assert [p.role for p in found] == ["system", "user", "assistant"]
    assert all(p.model == "googleai/gemini-2.5-flash" and p.approximate for p in found)
    assert all(p.get_meta("max_tokens") == 64 for p in found)
    # the standalone comment and block lines vanish from what is measured, as Handlebars renders them
    assert sysp.static_text == (
        "You classify customer support messages.\nPick exactly one category.\n"
        "Never answer with two categories.\nPrefer the first category.\n"
    )
    assert (sysp.line, sysp.column) == at(text, "You classify")
    assert sysp.tokens_min == count(
        "You classify customer support messages.\nPick exactly one category.\n", "gemini-2.5-flash"
    ) + count("Prefer the first category.\n", "gemini-2.5-flash")
    assert user.placeholders == ("channel", "ticket_partial")
    assert user.static_text == "Channel: \n"
    assert model.static_text == "billing"
    assert (model.line, model.column) == at(text, "billing")


def test_dotprompt_without_role_markers_is_one_user_prompt(tmp_path):
    (p,), _ = prompts_of(tmp_path, "simple.prompt", "---\nmodel: gpt-4o-mini\n---\nSummarise {{text}} in one line.\n")
    assert p.name == "simple" and p.role == "user" and p.model == "gpt-4o-mini" and not p.approximate
    assert p.placeholders == ("text",)


def test_dotprompt_detected_without_front_matter(tmp_path):
    from promptlint.extract.dotprompt import detect

    assert detect('{{role "system"}}\nYou are terse.\n') == "dotprompt"
    assert detect("{{! comment }}\nHello {{name}}\n") == "dotprompt"
    assert detect("---\nmodel: x\n---\nHi\n") == "dotprompt"
    assert detect("# title\n---\nmodel: x\n---\nHi\n") == "dotprompt"
    assert detect("You are a coder.\n{% if x %}Be brief.{% endif %}\n{{ task }}\n") == "jinja"
    assert detect("Plain prompt with {{ var }} only.\n") == "jinja"


def test_plain_jinja_prompt_file_gpt_pilot_style(tmp_path):
    src = "You are an experienced developer.\n{% if previous %}\nHere is the previous attempt:\n{{ previous }}\n{% endif %}\nWrite the code for {{ task }}.\n"
    (p,), _ = prompts_of(tmp_path, "write_code.prompt", src, dedent=False)
    assert p.name == "write_code" and p.role is None and p.model is None or p.model == "gpt-4o"
    assert p.placeholders == ("previous", "task")
    assert p.tokens_min is not None and p.tokens_min < p.tokens_max


def test_dotprompt_syntax_errors(tmp_path):
    fr = lint(tmp_path, "bad.prompt", '---\nmodel: x\n---\n{{role "system"}}\nHi\n{{#if a}}\nunclosed\n')
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and "never closed" in d.message and d.line == 6
    fr = lint(tmp_path, "bad2.prompt", "---\nmodel: [unclosed\n---\nHi\n")
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and "invalid YAML" in d.message and d.line in (2, 3)


# ----------------------------------------------------------------------------------------------- .prompty


PROMPTY = """\
---
name: Extract
model:
  api: chat
  configuration:
    type: azure_openai
    azure_endpoint: ${env:AZURE_OPENAI_ENDPOINT}
    azure_deployment: gpt-4o-mini
  parameters:
    max_tokens: 500
sample:
  email: hello
---
system:
You extract return requests from emails.
{% if strict %}
Reject anything without an order id.
{% endif %}

# user:
{{email}}

assistant:
Understood, send the email.
"""


def test_prompty_role_sections_model_and_max_tokens(tmp_path):
    found, text = prompts_of(tmp_path, "extract.prompty", PROMPTY)
    assert [(p.name, p.role) for p in found] == [
        ("extract:system", "system"),
        ("extract:user", "user"),
        ("extract:assistant", "assistant"),
    ]
    sysp, user, asst = found
    assert all(p.model == "gpt-4o-mini" and p.get_meta("max_tokens") == 500 for p in found)
    assert sysp.static_text == "You extract return requests from emails.\n\nReject anything without an order id.\n"
    assert (sysp.line, sysp.column) == at(text, "You extract")
    assert sysp.tokens_min == count("You extract return requests from emails.\n\n", "gpt-4o-mini")
    assert user.placeholders == ("email",) and user.tokens == 0 and (user.line, user.column) == at(text, "{{email}}")
    assert asst.text == "Understood, send the email."


def test_prompty_without_markers_is_system_and_mustache(tmp_path):
    (p,), _ = prompts_of(tmp_path, "a.prompty", "---\nmodel:\n  configuration:\n    model: gpt-4o\n---\nYou are brief.\n")
    assert p.role == "system" and p.name == "a" and p.model == "gpt-4o"
    src = "---\ntemplate: mustache\n---\nsystem:\nHello {{name}}{{! hidden }}\nuser:\n{{{question}}}\n"
    found, _ = prompts_of(tmp_path, "m.prompty", src, dedent=False)
    assert [p.static_text for p in found] == ["Hello ", ""]
    assert found[1].placeholders == ("question",)


def test_prompty_jinja_error(tmp_path):
    fr = lint(tmp_path, "x.prompty", "---\nname: x\n---\nsystem:\nHi {{ name \n")
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and d.line == 5


# ------------------------------------------------------------------------------------------------- YAML


AGENTS = """\
# crewAI agents
researcher:
  role: >
    Senior Market Researcher
  goal: >
    Find the current prices of the top 20 products in each category at our
    three main competitors.
  backstory: |
    You have spent ten years in retail.
      You only report prices you have seen.

    Never compare different models.
  llm: openai/gpt-4o-mini
  tools:
    - serper_search
  max_iter: 15
  allow_delegation: false
  verbose: true
  output_file: reports/prices.md
"""


def test_yaml_crewai_agent(tmp_path):
    found, text = prompts_of(tmp_path, "agents.yaml", AGENTS)
    by = {p.name: p for p in found}
    assert set(by) == {"researcher.goal", "researcher.backstory"}  # role: is a title, the rest is config
    back = by["researcher.backstory"]
    assert back.text == (
        "You have spent ten years in retail.\n  You only report prices you have seen.\n\nNever compare different models.\n"
    )
    assert back.fixable and back.model == "openai/gpt-4o-mini" and back.role is None
    assert (back.line, back.column) == at(text, "|\n    You have")
    assert (back.end_line, back.end_column) == LineIndex(text).position(text.index("models.") + len("models."))
    # every content line maps to its exact file line and column
    for needle in ("You have spent", "  You only", "Never compare"):
        off = back.text.index(needle)
        seg = next(s for s in back.segments if s.start <= off < s.end)
        assert seg.kind == LITERAL
        assert LineIndex(text).position(seg.src_start + off - seg.start) == at(text, needle)
    goal = by["researcher.goal"]
    assert goal.text == "Find the current prices of the top 20 products in each category at our three main competitors.\n"
    assert not goal.fixable  # folded: measured as YAML delivers it, never fixed
    assert goal.tokens == count(goal.text, "gpt-4o-mini")


def test_yaml_config_values_are_not_prompts(tmp_path):
    src = """\
    model: gpt-4o
    system_model: claude-3-5-sonnet-20241022
    prompt_path: prompts/system_prompt.txt
    prompt_template_file: ./templates/main.j2
    system_prompt_version: 3
    prompt_cache: true
    template: default
    instructions_url: https://example.com/docs/instructions
    system: linux
    description: A Helm chart for deploying the support bot to Kubernetes
    goal: Reduce the average handling time of support tickets by half
    """
    found, _ = prompts_of(tmp_path, "settings.yaml", src)
    assert found == []


def test_yaml_chart_and_workflow_descriptions_are_not_prompts(tmp_path):
    found, _ = prompts_of(tmp_path, "Chart.yaml", "apiVersion: v2\nname: bot\ndescription: A Helm chart that deploys the support bot service\nversion: 0.1.0\n")
    assert found == []


def test_yaml_crewai_tasks_description_with_expected_output(tmp_path):
    src = """\
    research_task:
      description: >
        Research the latest prices for {product} and list every promotion you find.
      expected_output: >
        A bullet list with one line per competitor and the price you saw.
      agent: researcher
    """
    found, _ = prompts_of(tmp_path, "tasks.yaml", src)
    by = {p.name: p for p in found}
    assert set(by) == {"research_task.description", "research_task.expected_output"}
    assert by["research_task.description"].placeholders == ("product",)
    assert "{product}" not in by["research_task.description"].static_text


def test_yaml_message_lists_and_scalar_styles(tmp_path):
    src = (
        "messages:\n"
        "  - role: system\n"
        "    content: \"You are terse.\\nAnswer in one \\\"word\\\". Caf\\u00e9\"\n"
        "  - role: user\n"
        "    content: 'It''s {{ question }}'\n"
        "  - role: assistant\n"
        "    content: plain text that\n"
        "      continues here\n"
        "  - role: user\n"
        "    content: |-\n"
        "      Last line\n"
        "\n"
        "      after a blank\n"
        "roles:\n"
        "  - role: admin\n"
        "    content: not a chat message at all, just an access rule\n"
    )
    found, text = prompts_of(tmp_path, "chat.yaml", src, dedent=False)
    assert [(p.name, p.role) for p in found] == [
        ("messages[0].content", "system"),
        ("messages[1].content", "user"),
        ("messages[2].content", "assistant"),
        ("messages[3].content", "user"),
    ]
    dq, sq, plain, lit = found
    assert dq.text == 'You are terse.\nAnswer in one "word". Café' and dq.fixable
    assert any(s.kind == ESCAPE for s in dq.segments)
    assert (dq.line, dq.column) == at(text, '"You are terse')
    assert sq.text == "It's {{ question }}" and sq.placeholders == ("question",) and sq.static_text == "It's "
    assert plain.text == "plain text that continues here" and plain.fixable
    assert lit.text == "Last line\n\nafter a blank"
    assert (lit.end_line, lit.end_column) == LineIndex(text).position(text.index("a blank") + 7)


def test_yaml_block_chomping_and_merge_keys(tmp_path):
    src = """\
    base: &base
      system_prompt: |+
        You are the base assistant of the support team.

      model: gpt-4.1
    child:
      <<: *base
      instructions: |
        Answer every question with one short, friendly sentence.
    """
    found, _ = prompts_of(tmp_path, "merge.yaml", src)
    by = {p.name: p for p in found}
    assert set(by) == {"base.system_prompt", "child.instructions"}  # the merged copy is not counted twice
    assert by["base.system_prompt"].text == "You are the base assistant of the support team.\n\n"
    assert by["child.instructions"].model == "gpt-4.1"  # inherited through the merge


def test_yaml_broken_is_diagnostic_when_it_claims_prompts(tmp_path):
    fr = lint(tmp_path, "agents.yaml", "agent:\n  backstory: |\n    ok\n  goal: [unclosed\n")
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and d.message.startswith("invalid YAML") and d.line >= 4
    # a broken YAML file with no prompt keys (a Helm template) is not reported
    fr = lint(tmp_path, "deployment.yaml", "apiVersion: v1\nkind: {{ .Values.kind }\nmetadata: [x\n")
    assert fr.diagnostics == ()


def test_yaml_alias_bomb_is_refused(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("system_prompt: You are a helpful assistant and you answer briefly.")
    fr = lint(tmp_path, "bomb.yaml", "\n".join(lines) + "\n", dedent=False)
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and "alias bomb" in d.message and fr.prompts == ()


def test_yaml_recursive_alias_is_refused(tmp_path):
    fr = lint(tmp_path, "rec.yaml", "prompt: &x [*x]\n")
    (d,) = fr.diagnostics
    assert "refers to itself" in d.message or "alias" in d.message


def test_yaml_python_tag_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    src = f"system_prompt: !!python/object/apply:os.system ['touch {marker}']\nprompt: You answer questions about orders politely.\n"
    fr = lint(tmp_path, "evil.yaml", src, dedent=False)
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and "python/object/apply:os.system" in d.message and d.line == 1
    assert not marker.exists()


def test_yaml_values_with_jinja_get_placeholders_and_range(tmp_path):
    src = """\
    templates:
      instance_template: |
        Solve the issue below in the repository {{repo}}.
        {% if hints %}Hints: {{hints}}{% endif %}
    """
    (p,), _ = prompts_of(tmp_path, "swe.yaml", src)
    assert p.name == "templates.instance_template" and p.placeholders == ("repo", "hints")
    assert p.tokens_min is not None and p.tokens_min < p.tokens_max


# ------------------------------------------------------------------------------------------------- JSON


def test_json_messages_with_exact_escape_map(tmp_path):
    src = (
        '{\n  "model": "gpt-4o-mini",\n  "max_tokens": 120,\n  "messages": [\n'
        '    {"role": "system", "content": "Line one.\\nSay \\"hi\\" to Jos\\u00e9 \\ud83d\\ude00 now."},\n'
        '    {"role": "user", "content": "Hi"}\n  ]\n}\n'
    )
    found, text = prompts_of(tmp_path, "chat.json", src, dedent=False)
    sysp, user = found
    assert sysp.text == 'Line one.\nSay "hi" to José 😀 now.'
    assert sysp.text == json.loads(src)["messages"][0]["content"]
    assert sysp.role == "system" and sysp.model == "gpt-4o-mini" and sysp.get_meta("max_tokens") == 120
    assert sysp.fixable and sum(1 for s in sysp.segments if s.kind == ESCAPE) == 5
    assert (sysp.line, sysp.column) == at(text, '"Line one')
    now = sysp.text.index("now")
    seg = next(s for s in sysp.segments if s.start <= now < s.end)
    assert text[seg.src_start + now - seg.start :].startswith("now.")
    assert user.text == "Hi" and user.name == "messages[1].content"


def test_json_prompt_keys_and_non_prompts(tmp_path):
    src = '{"agent": {"system_prompt": "You are a careful reviewer of pull requests.", "prompt_file": "prompts/review.txt", "temperature": 0.2}}'
    (p,), _ = prompts_of(tmp_path, "agent.json", src, dedent=False)
    assert p.name == "agent.system_prompt" and p.role is None
    pkg = '{"name": "web", "description": "The web frontend of the support bot, written in React", "scripts": {"build": "vite build"}}'
    assert prompts_of(tmp_path, "package.json", pkg, dedent=False)[0] == []
    tsconfig = '{\n  // comments are fine here\n  "compilerOptions": {"strict": true}\n}\n'
    assert prompts_of(tmp_path, "tsconfig.json", tsconfig, dedent=False)[0] == []
    fr = lint(tmp_path, "settings.json", '{\n  // editor settings\n  "editor.fontSize": 12\n}\n', dedent=False)
    assert fr.diagnostics == () and fr.prompts == ()


def test_json_broken_prompt_file_is_diagnostic(tmp_path):
    fr = lint(tmp_path, "p.json", '{\n  "system_prompt": "You are kind.",\n  "x": \n}\n', dedent=False)
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and "invalid JSON" in d.message and d.line == 4


# ------------------------------------------------------------------------------------------ text / Markdown


def test_readme_and_changelog_are_not_prompts(tmp_path, run_cli):
    _write(tmp_path, "README.md", "# Project\n\nIn order to install, please make sure to run pip.\n")
    _write(tmp_path, "CHANGELOG.md", "## 1.0\n\nIn order to upgrade, run the migration.\n")
    _write(tmp_path, "notes.txt", "In order to remember, write it down.\n")
    _write(tmp_path, "prompts/README.md", "These prompts are used in order to triage tickets.\n")
    _write(tmp_path, "prompts/system.md", "You are a support assistant. In order to help, be brief.\n")
    _write(tmp_path, "review.prompt.md", "Review the diff below in order to find bugs.\n")
    r = run_cli("check", ".", "--format", "json", cwd=tmp_path)
    doc = r.json()
    paths = sorted(p["path"] for p in doc["prompts"])
    assert paths == ["prompts/system.md", "review.prompt.md"]
    by = {p["path"]: p for p in doc["prompts"]}
    assert by["prompts/system.md"]["name"] == "system" and by["review.prompt.md"]["name"] == "review"
    assert by["prompts/system.md"]["source"] == "template"
    # named on the command line, a Markdown file is a prompt
    r = run_cli("tokens", "README.md", "--format", "json", cwd=tmp_path)
    (p,) = r.json()
    assert p["path"] == "README.md" and p["tokens"] > 0


# --------------------------------------------------------------------------------------------- notebooks


def _notebook(cells, language="python"):
    nb = {
        "cells": [],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": language, "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for kind, src in cells:
        cell = {"cell_type": kind, "metadata": {}, "source": src.splitlines(keepends=True)}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        nb["cells"].append(cell)
    return json.dumps(nb, indent=1)


NB_CELLS = [
    ("markdown", "# Support bot\nIn order to try it, run the cells.\n"),
    (
        "code",
        "%pip install openai\n!ls -la\nfrom openai import OpenAI\nclient = OpenAI()\n"
        'SYSTEM = """You are a support assistant.\n!Always answer in order to help the customer.\n"""\n',
    ),
    ("raw", "not python at all ((("),
    (
        "code",
        "files = !ls\nresp = client.chat.completions.create(\n    model=\"gpt-4o\",\n    max_tokens=100,\n"
        '    messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Where is my order?"}],\n)\n',
    ),
    ("code", "%%bash\necho 'in order to'\n"),
    ("code", "def broken(:\n    pass\n"),
]


def test_notebook_cells_are_python_with_cell_locations(tmp_path, run_cli):
    _write(tmp_path, "demo.ipynb", _notebook(NB_CELLS), dedent=False)
    r = run_cli("check", "demo.ipynb", "--format", "json", cwd=tmp_path)
    doc = r.json()
    by = {p["role"]: p for p in doc["prompts"]}
    # the prompt of cell 2 is found through the call in cell 4 (cells are one module, as in the kernel)
    sysp, user = by["system"], by["user"]
    assert (sysp["cell"], sysp["line"], sysp["column"]) == (2, 5, 10)
    assert sysp["name"] == "SYSTEM" and sysp["source"] == "python"
    assert (user["cell"], user["line"]) == (4, 5)
    diags = doc["diagnostics"]
    syntax = [d for d in diags if d["rule"] == "syntax-error"]
    assert [(d["cell"], d["line"]) for d in syntax] == [(6, 1)]  # magics are not syntax errors; %%bash ignored
    verbose = [d for d in diags if d["code"] == "PL301"]
    assert [(d["cell"], d["line"]) for d in verbose] == [(2, 6)]
    assert all(d["fix"] is None for d in diags)
    r = run_cli("check", "demo.ipynb", cwd=tmp_path)
    assert "demo.ipynb:cell 2:6:" in r.output and "demo.ipynb:cell 6:1:" in r.output


def test_notebook_prompt_text_keeps_lines_that_look_like_magics(tmp_path):
    found, _ = prompts_of(tmp_path, "nb.ipynb", _notebook(NB_CELLS), dedent=False)
    sysp = next(p for p in found if p.role == "system")
    assert sysp.text == "You are a support assistant.\n!Always answer in order to help the customer.\n"
    assert sysp.cell == 2 and not sysp.fixable


def test_notebook_broken_json_and_other_languages(tmp_path):
    fr = lint(tmp_path, "bad.ipynb", '{"cells": [\n  {"cell_type": "code",\n', dedent=False)
    (d,) = fr.diagnostics
    assert d.rule == "syntax-error" and "notebook is not valid JSON" in d.message and d.line >= 2
    fr = lint(tmp_path, "list.ipynb", "[1, 2]", dedent=False)
    (d,) = fr.diagnostics
    assert "not a Jupyter notebook" in d.message
    r_nb = _notebook([("code", 'SYSTEM_PROMPT = "You are a helpful assistant who answers briefly."\n')], language="R")
    fr = lint(tmp_path, "r.ipynb", r_nb, dedent=False)
    assert fr.prompts == () and fr.diagnostics == ()


def test_notebook_markdown_cells_ignored(tmp_path):
    src = _notebook([("markdown", 'SYSTEM_PROMPT = "You are a helpful assistant who answers briefly."\n')])
    found, _ = prompts_of(tmp_path, "md.ipynb", src, dedent=False)
    assert found == []


# ------------------------------------------------------------------------------------------- examples


def test_example_prompt_files_are_measured(run_cli):
    r = run_cli("tokens", EXAMPLES, "--format", "json")
    rows = r.json()
    by = {(os.path.basename(p["path"]), p["name"]): p for p in rows}
    assert set(by) == {
        ("triage.j2", "triage"),
        ("classify.prompt", "classify:system"),
        ("classify.prompt", "classify:user"),
        ("extract.prompty", "extract:system"),
        ("extract.prompty", "extract:user"),
        ("agents.yaml", "market_researcher.goal"),
        ("agents.yaml", "market_researcher.backstory"),
        ("agents.yaml", "pricing_analyst.goal"),
        ("agents.yaml", "pricing_analyst.backstory"),
    } | {("few_shot.json", f"messages[{i}].content") for i in range(7)}
    tri = by[("triage.j2", "triage")]
    assert tri["tokens_min"] < tri["tokens_max"] and tri["placeholders"][0] == "customer.open_tickets"
    cls = by[("classify.prompt", "classify:system")]
    assert cls["model"] == "googleai/gemini-2.5-flash" and cls["approximate"] and cls["role"] == "system"
    assert by[("extract.prompty", "extract:system")]["model"] == "gpt-4o"
    assert by[("agents.yaml", "pricing_analyst.backstory")]["model"] == "gpt-4o-mini"
    assert by[("few_shot.json", "messages[0].content")]["role"] == "system"
    for key in by:
        if key[1] not in ("extract:user",):
            assert by[key]["tokens"] > 0, key
        assert by[key]["source"] == "template"


def test_every_example_literal_segment_is_exact():
    cfg = cfgmod.load([EXAMPLES])
    for name in sorted(os.listdir(EXAMPLES)):
        path = os.path.join(EXAMPLES, name)
        src = read_source(path, kind_of(name))
        found, _ = extract(src, cfg)
        assert found, name
        for p in found:
            check_map(p, src.text)
