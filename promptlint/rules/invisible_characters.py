"""invisible-characters: zero-width, non-breaking, bidi and tag characters inside prompts."""

from __future__ import annotations

import re
import unicodedata

from ._text import overlaps_opaque, saved_tokens, translatable
from .base import SAFE, Docs, Examples, Finding, Rule, TextEdit

# Characters removed by the fix (they render as nothing) and characters replaced by a plain space.
_REMOVE = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_SPACE = "\u00a0\u202f\u2007\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u205f\u3000"
_RX = re.compile("[" + re.escape(_REMOVE + _SPACE) + "]|[\U000e0000-\U000e007f]")


def _is_emoji(ch: str) -> bool:
    return bool(ch) and (ord(ch) >= 0x1F000 or unicodedata.category(ch) == "So")


class InvisibleCharacters(Rule):
    code = "PL203"
    name = "invisible-characters"
    severity = "warning"
    summary = "Invisible characters inside a prompt"
    fix = SAFE
    docs = Docs(
        what=(
            "Finds zero-width characters (U+200B..U+200D, U+2060, BOM U+FEFF), soft hyphens, bidirectional "
            "controls, Unicode tag characters (U+E0000..U+E007F) and non-breaking or typographic spaces inside a "
            "prompt. A zero-width joiner between emoji (family and profession emoji) is left alone."
        ),
        why=(
            "They cost tokens without showing in review, and tag characters and bidi controls are used to smuggle "
            "instructions into prompts that humans cannot see."
        ),
        example='PROMPT = "Answer\\u200b briefly.\\u00a0Be polite."',
        fix_safety="Safe: invisible characters are removed and unusual spaces become plain spaces; the visible text is unchanged.",
    )
    examples = Examples(
        valid=["Answer briefly. Be polite.", "Family: \U0001F468\u200d\U0001F469\u200d\U0001F467"],
        invalid=["Answer\u200b briefly.", "Answer\u00a0briefly.", "Answer briefly.\U000e0049\U000e0067"],
        fixed=[
            ("Answer\u200b briefly.", "Answer briefly."),
            ("Answer\u00a0briefly.", "Answer briefly."),
        ],
    )

    def check(self, prompt, ctx):
        text = prompt.text
        edits = []
        names = []
        for m in _RX.finditer(text):
            ch = m.group(0)
            i = m.start()
            if ch == "\u200d" and _is_emoji(text[i - 1 : i]) and _is_emoji(text[i + 1 : i + 2]):
                continue
            if i == 0 and ch == "\ufeff" and prompt.source == "template":
                continue  # a file BOM, not prompt text
            if overlaps_opaque(prompt, i, i + 1):
                continue
            edits.append(TextEdit(i, i + 1, " " if ch in _SPACE else ""))
            names.append(f"U+{ord(ch):04X}")
        if not edits:
            return []
        saved = saved_tokens(prompt, ctx, edits)
        fixable = translatable(prompt, edits)
        kinds = ", ".join(sorted(set(names)))
        return [
            Finding(
                edits[0].start,
                edits[0].end,
                f"{len(edits)} invisible character{'s' if len(edits) != 1 else ''} ({kinds}) cost {saved} token{'s' if saved != 1 else ''} per call",
                tokens_wasted=saved,
                fix_applicability=SAFE if fixable else None,
                fix_message="Remove invisible characters",
                edits=tuple(fixable),
            )
        ]


RULE = InvisibleCharacters
