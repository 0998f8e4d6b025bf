"""Cache, parallel workers and the pre-filter are optimisations: results must be identical without them."""

import os
import shutil
import subprocess
import sys

import pytest

from promptlint import config as cfgmod
from promptlint.pipeline import run

HERE = os.path.dirname(__file__)
ROOT = os.path.join(HERE, "..")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    d = tmp_path_factory.mktemp("tree")
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "generate.py"), str(d / "synth"), "--files", "60", "--llm-share", "0.4", "--templates", "6", "--seed", "3"], check=True, capture_output=True)
    shutil.copytree(os.path.join(ROOT, "examples"), d / "examples", ignore=shutil.ignore_patterns(".promptlint_cache"))
    return d


def _snapshot(res):
    prompts = sorted((p.path, p.start, p.end, p.text, p.tokens, p.model, p.role, p.call, p.name) for p in res.prompts)
    diags = sorted((d.path, d.start, d.end, d.code, d.message, d.tokens_wasted, repr(d.fix)) for d in res.diagnostics)
    return prompts, diags


def test_prefilter_cache_and_workers_change_nothing(tree, monkeypatch, tmp_path):
    cfg = cfgmod.load([str(tree)], None, {"cache_dir": str(tmp_path / "cache")})
    paths = [str(tree)]
    plain = _snapshot(run(paths, cfg, use_cache=False, jobs=1))
    assert plain[0] and plain[1], "the tree must hold prompts and findings"
    # parallel
    assert _snapshot(run(paths, cfg, use_cache=False, jobs=2)) == plain
    # cache: a cold run that writes it, then a warm run that reads it
    assert _snapshot(run(paths, cfg, use_cache=True, jobs=2)) == plain
    assert os.listdir(tmp_path / "cache")
    assert _snapshot(run(paths, cfg, use_cache=True, jobs=1)) == plain
    # no pre-filter: every Python file goes through full extraction
    import promptlint.extract.prefilter as pf

    monkeypatch.setattr(pf, "maybe_llm_code", lambda text, cfg=None, tree=None: True)
    assert _snapshot(run(paths, cfg, use_cache=False, jobs=1)) == plain


def test_resolved_fixes_are_the_same_cached_and_parallel(tree, monkeypatch, tmp_path):
    """`check` resolves each fix (the encoded edits `fix` would write, verified) per file, in the workers and
    in the cache: the same as resolving after a plain run, and a warm run resolves nothing again."""
    from promptlint import fix, pipeline
    from promptlint.pipeline import read_source

    cfg = cfgmod.load([str(tree)], None, {"cache_dir": str(tmp_path / "cache")})
    paths = [str(tree)]
    raw = run(paths, cfg, use_cache=False, jobs=1)
    serial = []
    for path in sorted({d.path for d in raw.diagnostics}):
        diags = [d for d in raw.diagnostics if d.path == path]
        src = read_source(path, "notebook" if path.endswith(".ipynb") else "python" if path.endswith(".py") else "text")
        if isinstance(src, str) or not any(d.fix for d in diags):
            serial.extend(diags)
        else:
            serial.extend(fix.resolve_file(src, [p for p in raw.prompts if p.path == path], diags, cfg))
    expected = sorted((d.path, d.start, d.end, d.code, d.message, d.tokens_wasted, repr(d.fix)) for d in serial if d.path.endswith(".py"))
    assert any(d.fix is not None and d.fix.edits for d in serial), "the tree must hold fixable findings"

    def py_only(res):
        return [t for t in _snapshot(res)[1] if t[0].endswith(".py")]

    assert py_only(run(paths, cfg, use_cache=False, jobs=1, resolve=True)) == expected
    assert py_only(run(paths, cfg, use_cache=False, jobs=2, resolve=True)) == expected
    assert py_only(run(paths, cfg, use_cache=True, jobs=2, resolve=True)) == expected  # cold: writes the cache

    def no_resolving(*a, **k):
        raise AssertionError("a warm run must not resolve fixes again")

    monkeypatch.setattr(fix, "resolve_file", no_resolving)
    monkeypatch.setattr(pipeline, "lint_source", no_resolving)
    assert py_only(run(paths, cfg, use_cache=True, jobs=1, resolve=True)) == expected  # warm: all from the cache
    # the unresolved results are cached apart (a `report` run never reads `check`'s entries)
    monkeypatch.undo()
    assert _snapshot(run(paths, cfg, use_cache=True, jobs=1)) == _snapshot(raw)


def test_cache_notices_changed_files(tmp_path):
    f = tmp_path / "a.py"
    f.write_text('msgs = [{"role": "user", "content": "Say hello to the user."}]\n')
    cfg = cfgmod.load([str(tmp_path)], None, {"cache_dir": str(tmp_path / ".cache")})
    first = run([str(tmp_path)], cfg, use_cache=True)
    assert [p.text for p in first.prompts] == ["Say hello to the user."]
    f.write_text('msgs = [{"role": "user", "content": "Say goodbye to the user, in order to leave."}]\n')
    second = run([str(tmp_path)], cfg, use_cache=True)
    assert [p.text for p in second.prompts] == ["Say goodbye to the user, in order to leave."]
    assert any(d.rule == "verbose-phrase" for d in second.diagnostics)


def test_prefilter_rules_out_plain_code_but_not_llm_code():
    from promptlint.extract.prefilter import maybe_llm_code

    plain = 'import os\n\ndef main():\n    """Docs."""\n    return os.path.join("a", "b")\n'
    assert not maybe_llm_code(plain)
    # a prompt-like name bound to a value that holds no string is not a trace of a prompt
    for code in ["event_prompt: Optional[str] = None", "system_id = 0", "PROMPTS = []  # filled later", "def f(prompt: str = None): pass"]:
        assert not maybe_llm_code(code), code
    for code in [
        'client.chat.completions.create(model="gpt-4o", messages=m)',
        'x = {"role": "user", "content": c}',
        "SYSTEM_PROMPT = 'You are nice.'",
        "llm = ChatOpenAI(model='gpt-4o')",
        "chain.invoke(x)",
        "agent = Agent(llm=my_llm)",
        "event_prompt: Optional[str] = None\nevent_prompt = 'You are nice.'",
        "SYSTEM = (\n    'You are nice.'\n)",
        "PROMPT = HEADER + 'Answer briefly.'",
    ]:
        assert maybe_llm_code(code), code


def test_unchanged_prompts_need_no_vocabulary(tmp_path, monkeypatch):
    """A second run whose prompts did not change (only code around them did) counts from the saved counts."""
    from promptlint import tokens

    f = tmp_path / "a.py"
    f.write_text('msgs = [{"role": "user", "content": "Summarize the ticket for the on-call engineer."}]\n')
    cfg = cfgmod.load([str(tmp_path)], None, {"cache_dir": str(tmp_path / ".cache")})
    tokens.count_encoding.cache_clear()  # as in a fresh process: counts are remembered when first computed
    tokens._known.clear()
    first = run([str(tmp_path)], cfg, use_cache=True, jobs=1)
    f.write_text("import os\n" + f.read_text())  # code changed, prompt text did not
    tokens.count_encoding.cache_clear()
    tokens._known.clear()

    def no_vocab(name):
        raise AssertionError("vocabulary loaded although every count was known")

    monkeypatch.setattr(tokens, "get_encoding", no_vocab)
    second = run([str(tmp_path)], cfg, use_cache=True, jobs=1)
    assert [p.tokens for p in second.prompts] == [p.tokens for p in first.prompts]
    tokens.count_encoding.cache_clear()


def test_counts_made_in_workers_and_project_rules_are_remembered(tmp_path, monkeypatch):
    """Workers hand their counts to the parent, and the project-wide rules' counts are saved too: a second
    run over changed code (same prompts) in a pool loads no vocabulary at all."""
    from promptlint import tokens

    shared = (
        "You are a careful assistant for Acme Outdoor Supply, an online store for camping, hiking and climbing gear. "
        "Never make up order numbers, tracking numbers, delivery dates or prices; if something is not in the context, "
        "say that you do not know and offer to hand the ticket to a human agent. Keep every answer short and polite."
    )
    for i in range(12):
        (tmp_path / f"m{i}.py").write_text(
            f'msgs = [{{"role": "system", "content": "{shared}"}}, {{"role": "user", "content": "Summarize ticket {i} for the on-call engineer."}}]\n'
        )
    cfg = cfgmod.load([str(tmp_path)], None, {"cache_dir": str(tmp_path / ".cache")})
    tokens.count_encoding.cache_clear()
    tokens._known.clear()
    first = run([str(tmp_path)], cfg, use_cache=True, jobs=2)
    assert any(d.rule == "repeated-block" for d in first.diagnostics), "the project-wide rule must count something"
    for i in range(12):
        f = tmp_path / f"m{i}.py"
        f.write_text("import os\n" + f.read_text())
    tokens.count_encoding.cache_clear()
    tokens._known.clear()

    def no_vocab(name):
        raise AssertionError("vocabulary loaded although every count was known")

    monkeypatch.setattr(tokens, "get_encoding", no_vocab)  # inherited by the forked workers
    second = run([str(tmp_path)], cfg, use_cache=True, jobs=2)
    assert sorted(p.tokens for p in second.prompts) == sorted(p.tokens for p in first.prompts)
    def blocks(res):  # the files gained a line: compare what was found, not where
        return sorted((os.path.basename(d.path), d.message.split(" is also in ")[0]) for d in res.diagnostics if d.rule == "repeated-block")

    assert blocks(second) == blocks(first)
    tokens.count_encoding.cache_clear()


def test_phrase_prefilter_finds_what_the_full_alternation_finds():
    """Substitution rules compile only the phrases that can occur in a prompt: the matches are the same as
    with every phrase in the alternation, in ASCII text (the pre-check) and non-ASCII text (all phrases)."""
    import random
    import re

    from promptlint.lexical import LexicalRule, load_builtin

    rules = [r for r in load_builtin() if issubclass(r, LexicalRule) and r.kind == "substitution"]
    assert rules
    rng = random.Random(7)
    for cls in rules:
        inst = cls.__new__(cls)
        phrases = sorted(cls.data["swap"], key=len, reverse=True)
        flags = re.I if cls.data.get("ignorecase", True) else 0
        full = re.compile(r"(?<![\w'’-])(?:" + "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in phrases) + r")(?![\w'’-])", flags)
        texts = []
        for _ in range(300):
            picked = rng.sample(phrases, 3)
            parts = []
            for p in picked:
                words = p.split()
                seps = [rng.choice([" ", "  ", "\n", " \n\t"]) for _ in words[1:]]
                w = [rng.choice([x, x.upper(), x.capitalize()]) for x in words]
                parts.append("".join(a + b for a, b in zip(w, seps + [""])))
            glue = [rng.choice([" ", ", ", ".\n", " (", "-", "x", " we "]) for _ in parts]
            t = "Please " + "".join(g + p for g, p in zip(glue, parts)) + rng.choice([".", "", "s", " now"])
            texts.append(t)
            texts.append(t.replace(" ", " é ", 1))  # non-ASCII: every phrase
        texts.append("Nothing to see here.")
        for t in texts:
            rx = inst._compiled_swap(t)
            got = [] if rx is None else [(m.start(), m.end()) for m in rx.finditer(t)]
            assert got == [(m.start(), m.end()) for m in full.finditer(t)], (cls.name, t)


def test_shipped_rules_parsed_once_into_the_user_cache(tmp_path, monkeypatch):
    """The shipped YAML rules are parsed once; later runs read the parsed form (keyed by the files' text), and
    a damaged cache file is ignored."""
    import glob

    import yaml

    from promptlint import lexical

    monkeypatch.setenv("PROMPTLINT_VOCAB_CACHE", str(tmp_path))
    lexical.load_builtin.cache_clear()
    first = lexical.load_builtin()
    (cached,) = glob.glob(str(tmp_path / "rules-*.marshal"))
    lexical.load_builtin.cache_clear()

    def no_yaml(*a, **k):
        raise AssertionError("parsed the YAML again")

    monkeypatch.setattr(yaml, "load", no_yaml)
    second = lexical.load_builtin()
    assert [(r.code, r.name, r.data) for r in second] == [(r.code, r.name, r.data) for r in first]
    monkeypatch.undo()
    monkeypatch.setenv("PROMPTLINT_VOCAB_CACHE", str(tmp_path))
    with open(cached, "wb") as fh:
        fh.write(b"\x00damaged")
    lexical.load_builtin.cache_clear()
    assert [(r.code, r.data) for r in lexical.load_builtin()] == [(r.code, r.data) for r in first]
    lexical.load_builtin.cache_clear()
