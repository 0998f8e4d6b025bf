"""prompt-growth: a prompt recorded in the baseline has grown beyond its recorded tokens (the token ratchet).

The check needs the baseline, so it runs only under ``promptlint check --baseline FILE``: promptlint/baseline.py
compares the run's prompts with the recorded ones and builds these diagnostics after the run. The rule lives
in the registry like any other so that ``promptlint rule prompt-growth``, select/ignore, per-file-ignores,
severity overrides and ``# promptlint: disable=prompt-growth`` all apply.
"""

from __future__ import annotations

from .base import Docs, Examples, Rule


class PromptGrowth(Rule):
    code = "PL105"
    name = "prompt-growth"
    severity = "error"
    scope = "project"  # produced from the baseline after the run (see promptlint/baseline.py)
    summary = "Prompt grew beyond its tokens recorded in the baseline"
    options = {"tolerance-tokens": 0}
    docs = Docs(
        what=(
            "With `promptlint check --baseline FILE`, compares every prompt with the tokens recorded for it by "
            "`--write-baseline FILE` and reports a prompt whose static tokens grew beyond the recorded count plus "
            "the tolerance. A prompt is matched to its record by content (same file, same text: never growth), "
            "else by `path::name` (a named constant or template), else by file + role + call when that is "
            "unique on both sides. New prompts and prompts that cannot be matched are not reported. The allowed "
            "growth is the larger of config `baseline-tolerance` (a fraction of the recorded tokens, default "
            "0.0) and this rule's option `tolerance-tokens` (absolute, default 0)."
        ),
        why=(
            "A baseline freezes today's prompt sizes so that CI fails when a prompt quietly gets longer. "
            "Every added token is paid on every call; growth should be a decision (re-record the baseline), "
            "not an accident."
        ),
        example=(
            "# recorded: SYSTEM_PROMPT = 42 tokens\n"
            'SYSTEM_PROMPT = """<the same prompt plus two new paragraphs: 97 tokens>"""\n'
            "# -> PL105 Prompt SYSTEM_PROMPT grew from 42 to 97 tokens (+55, +131.0%) since the baseline"
        ),
        fix_safety=(
            "No fix: shorten the prompt, or accept the growth on purpose by re-running "
            "`promptlint check --write-baseline FILE` and committing the new baseline."
        ),
    )
    # (recorded text, current text) of one named prompt; run through the real CLI by tests/test_baseline.py.
    examples = Examples(
        valid=[
            ("You are a helpful assistant.", "You are a helpful assistant."),
            ("You are a helpful, friendly and very patient assistant.", "You are a helpful assistant."),
            ("You are a helpful assistant.", "You are a kind assistant."),
        ],
        invalid=[
            ("You are a helpful assistant.", "You are a helpful assistant. Always answer in English and cite sources."),
        ],
    )
    example_host = "baseline"

    def check_project(self, prompts, cfg):
        return []  # needs the baseline: see promptlint.baseline.apply


RULE = PromptGrowth
