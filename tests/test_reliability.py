"""Reliability: promptlint survives any input and never damages a file.

A pre-commit hook runs on every file a team touches, so every bad input below must end as a one-line
diagnostic (the run goes on; exit 2 is only for usage and configuration errors) and ``fix`` must leave every
file either as it was or fully fixed, with its bytes (encoding, BOM, newlines) and metadata (mode, owner,
symlinks) intact, even when interrupted or when the disk refuses the write.

Cases that could take the interpreter down (native parser crashes, hangs on FIFOs, signals) run the CLI in a
subprocess with a timeout; the rest run in-process.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from promptlint import config as cfgmod
from promptlint import fix as fixmod
from promptlint import pipeline

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

# A Python prompt with one safe (trailing spaces) and one unsafe (verbose phrase) finding.
PY_PROMPT = (
    "from openai import OpenAI\n"
    "client = OpenAI()\n"
    'SYSTEM = """You are a helpful assistant.   \n'
    "Please note that you should answer briefly.\n"
    '"""\n'
    'client.chat.completions.create(model="gpt-4o", max_tokens=50, messages=[{"role": "system", "content": SYSTEM}])\n'
)
PY_FIXED_TEXT = "You are a helpful assistant.\nYou should answer briefly.\n"

# The same prompt in every kind of prompt file.
HOSTS = {
    "app.py": PY_PROMPT,
    "sys.prompt.txt": "You are a helpful assistant.   \nPlease note that you should answer briefly.\n",
    "sys.j2": "You are {{ role }}.   \nPlease note that you should answer briefly.\n",
    "sys.prompt.yaml": "system_prompt: |\n  You are a helpful assistant.   \n  Please note that you should answer briefly.\n",
    "sys.json": '{"system_prompt": "You are a helpful assistant.   \\nPlease note that you should answer briefly."}\n',
}


# ============================================================================================== helpers


def pl(*args, cwd=None, timeout=120, env=None):
    """Run ``promptlint ARGS`` in a subprocess (for inputs that could crash or hang the interpreter)."""
    e = dict(os.environ, PROMPTLINT_NO_CACHE="1")
    e.pop("PROMPTLINT_DEBUG", None)
    e.update(env or {})
    r = subprocess.run([sys.executable, "-m", "promptlint", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=e)
    return r.returncode, r.stdout, r.stderr


def check_json(run_cli, *paths, cwd=None):
    r = run_cli("check", "--format", "json", "--no-cache", *map(str, paths), cwd=cwd)
    return r.exit_code, r.json(), r.stderr


def by_path(doc) -> dict:
    out = {}
    for d in doc["diagnostics"]:
        out.setdefault(os.path.basename(d["path"]), []).append(d)
    return out


def assert_one_line(message: str):
    assert message and "\n" not in message and "Traceback" not in message, message


def write_good(tmp_path):
    """A healthy file next to the bad ones: the run must go on and still find its prompt."""
    p = tmp_path / "good.py"
    p.write_text(PY_PROMPT, encoding="utf-8")
    return p


def assert_good_found(doc):
    assert any(os.path.basename(p["path"]) == "good.py" for p in doc["prompts"]), "the run stopped at the bad file"
    assert any(os.path.basename(d["path"]) == "good.py" and d["code"] == "PL301" for d in doc["diagnostics"])


def no_temp_files(root) -> list:
    return [os.path.join(d, f) for d, _ds, fs in os.walk(root) for f in fs if f.startswith(".promptlint-") and f.endswith(".tmp")]


# ============================================================================================ bad inputs

_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    + "system_prompt: *i\n"
)

BAD_FILES = [
    # (file name, bytes, code, message pattern)
    ("invalid_utf8.py", b'x = "caf\xe9"\n', "PL002", r"^not valid utf-8 \(byte 0xe9 at line 1\); skipped$"),
    ("invalid_utf8_late.py", b"# ok\n# ok\nx = 1\ny = '\xff'\n", "PL002", r"^not valid utf-8 \(byte 0xff at line 4\); skipped$"),
    ("invalid.prompt.txt", b"You are helpful.\nAnswer \xc3\x28 briefly.\n", "PL002", r"^not valid utf-8 \(byte 0xc3 at line 2\)"),
    ("invalid.j2", b"Hello {{ name }} \xff\n", "PL002", r"^not valid utf-8"),
    ("cookie_unknown.py", b"# -*- coding: klingon -*-\nx = 1\n", "PL002", r"^unknown encoding 'klingon' in the coding declaration; skipped$"),
    ("cookie_bom_conflict.py", b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "PL002", r"encoding"),
    ("nul.py", b"x = 1\x00\ny = 2\n", "PL002", r"^binary file \(contains NUL bytes\); skipped$"),
    ("binary.j2", bytes(range(256)), "PL002", r"^binary file"),
    ("image.prompt.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PL002", r"^binary file"),
    ("utf16.prompt.txt", "You are helpful.".encode("utf-16"), "PL002", r"^binary file"),
    ("broken.ipynb", b'{"cells": [ {"cell_type": "code", ', "PL001", r"^notebook is not valid JSON: .+"),
    ("list.ipynb", b"[1, 2, 3]", "PL001", r"^not a Jupyter notebook"),
    ("nocells.ipynb", b'{"metadata": {}, "cells": 5}', "PL001", r"^not a Jupyter notebook"),
    ("unclosed.j2", b"Hello {% if x %} world\n{{ y \n", "PL001", r"^Jinja syntax error: "),
    ("stray_endif.j2", b"Hello\n{% endif %}\n", "PL001", r"^Jinja syntax error: "),
    ("bomb.prompt.yaml", _BOMB.encode(), "PL001", r"alias bomb"),
    ("broken.prompt.yaml", b"system_prompt: |\n  You are helpful.\n bad: [unclosed\n", "PL001", r"."),
    ("syntax.py", b"SYSTEM_PROMPT = 'You are terse.'\ndef f(:\n    pass\n", "PL001", r"^syntax error: "),
]


@pytest.mark.parametrize("name,data,code,pattern", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_is_one_diagnostic_and_the_run_goes_on(tmp_path, run_cli, name, data, code, pattern):
    import re

    (tmp_path / name).write_bytes(data)
    write_good(tmp_path)
    rc, doc, err = check_json(run_cli, ".", cwd=tmp_path)
    assert rc == 1, err  # findings, not a usage error
    assert "internal error" not in err and "Traceback" not in err
    diags = by_path(doc).get(name, [])
    assert [d["code"] for d in diags] == [code], diags
    assert_one_line(diags[0]["message"])
    assert re.search(pattern, diags[0]["message"]), diags[0]["message"]
    assert diags[0]["line"] >= 1 and diags[0]["column"] >= 1
    assert_good_found(doc)


def test_jinja_syntax_error_points_at_its_line(tmp_path, run_cli):
    (tmp_path / "t.j2").write_text("Line one.\nLine two.\n{% for x in xs %}\n{{ x }\n", encoding="utf-8")
    rc, doc, _err = check_json(run_cli, "t.j2", cwd=tmp_path)
    (d,) = doc["diagnostics"]
    assert d["code"] == "PL001" and d["line"] == 4, d


def test_notebook_broken_json_names_line_and_column(tmp_path, run_cli):
    (tmp_path / "nb.ipynb").write_text('{\n  "cells": [\n    {"cell_type": "code" "source": []}\n  ]\n}\n', encoding="utf-8")
    rc, doc, _err = check_json(run_cli, "nb.ipynb", cwd=tmp_path)
    (d,) = doc["diagnostics"]
    assert d["code"] == "PL001" and (d["line"], d["column"]) == (3, 26), d


def test_yaml_python_tags_are_never_constructed(tmp_path, run_cli):
    marker = tmp_path / "pwned"
    (tmp_path / "evil.prompt.yaml").write_text(
        f'system_prompt: !!python/object/apply:os.system ["touch {marker}"]\n'
        "other_prompt: !!python/object/new:builtins.exec [\"open('x','w')\"]\n",
        encoding="utf-8",
    )
    rc, doc, _err = check_json(run_cli, ".", cwd=tmp_path)
    assert not marker.exists() and not (tmp_path / "x").exists()
    (d,) = doc["diagnostics"]
    assert d["code"] == "PL001" and "python/object" in d["message"] and "safely" in d["message"], d


def test_yaml_alias_bomb_is_bounded(tmp_path, run_cli):
    (tmp_path / "bomb.prompt.yaml").write_text(_BOMB, encoding="utf-8")
    t = time.monotonic()
    rc, doc, _err = check_json(run_cli, ".", cwd=tmp_path)
    assert time.monotonic() - t < 20
    (d,) = doc["diagnostics"]
    assert d["code"] == "PL001" and "alias" in d["message"]


@pytest.mark.parametrize("name", ["empty.py", "empty.j2", "empty.prompt.txt", "empty.prompt.yaml", "empty.json", "empty.ipynb", "empty.prompt", "empty.prompty", "blank.py"])
def test_empty_files_are_fine(tmp_path, run_cli, name):
    (tmp_path / name).write_bytes(b"\n\n  \n" if name.startswith("blank") else b"")
    rc, doc, err = check_json(run_cli, name, cwd=tmp_path)
    assert rc == 0, (doc, err)
    assert doc["files_scanned"] == 1 and doc["diagnostics"] == [] and doc["prompts"] == []
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", name, cwd=tmp_path)
    assert r.exit_code == 0 and (tmp_path / name).read_bytes() in (b"", b"\n\n  \n")


@pytest.mark.parametrize("layout", ["cr", "mixed"])
def test_lone_cr_line_endings(tmp_path, run_cli, layout):
    """Python ends lines at a lone CR too (old Mac files, stray CRs): ast's line numbers count them. Mapping
    them with a LF-only line index crashed the whole run (IndexError)."""
    src = PY_PROMPT.replace("\n", "\r") if layout == "cr" else "import os\r" + PY_PROMPT.replace("client = OpenAI()\n", "client = OpenAI()\r")
    p = tmp_path / "mac.py"
    p.write_bytes(src.encode("utf-8"))
    rc, doc, err = check_json(run_cli, "mac.py", cwd=tmp_path)
    assert rc == 1 and "internal error" not in err, err
    (prompt,) = doc["prompts"]
    assert prompt["tokens"] > 0
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", "mac.py", cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
    fixed = p.read_bytes().decode("utf-8")
    assert fixed == src.replace("assistant.   ", "assistant.").replace("Please note that you", "You")
    ast_value = [n.value for n in ast.walk(ast.parse(fixed)) if isinstance(n, ast.Constant) and isinstance(n.value, str) and "briefly" in n.value]
    assert ast_value == [PY_FIXED_TEXT]


def test_latin1_cookie_is_read_and_fixed_in_latin1(tmp_path, run_cli):
    src = PY_PROMPT.replace("You are a helpful assistant.", "Vous êtes un assistant utile, très poli.")
    data = ("# -*- coding: latin-1 -*-\n" + src).encode("latin-1")
    p = tmp_path / "fr.py"
    p.write_bytes(data)
    rc, doc, _err = check_json(run_cli, "fr.py", cwd=tmp_path)
    (prompt,) = doc["prompts"]
    assert prompt["line"] == 4 and prompt["tokens"] > 0
    src_obj = pipeline.read_source(str(p), "python")
    assert src_obj.encoding == "iso-8859-1" and "êtes" in src_obj.text
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", "fr.py", cwd=tmp_path)
    assert r.exit_code == 0, r.output + r.stderr
    after = p.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        after.decode("utf-8")  # still latin-1 on disk
    text = after.decode("latin-1")
    assert text.startswith("# -*- coding: latin-1 -*-\n")
    assert 'SYSTEM = """Vous êtes un assistant utile, très poli.\nYou should answer briefly.\n"""' in text


# --------------------------------------------------------------------------------------------- 50 MB


_MEASURED = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nPEAK-RSS-KB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "from promptlint.cli import main\n"
    "main(sys.argv[1:])\n"
)


def _run_measured(args, cwd, timeout=300):
    """(exit code, stdout, stderr, seconds, peak RSS in MB) of ``promptlint ARGS`` run in one process."""
    env = dict(os.environ, PROMPTLINT_NO_CACHE="1")
    t = time.monotonic()
    r = subprocess.run([sys.executable, "-c", _MEASURED, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    elapsed = time.monotonic() - t
    err, _, peak = r.stderr.rpartition("PEAK-RSS-KB ")
    return r.returncode, r.stdout, err, elapsed, int(peak.split()[0]) / 1024


@pytest.mark.skipif(sys.platform == "win32", reason="resource module")
def test_50_mb_files_finish_fast_in_bounded_memory(tmp_path):
    """A 50 MB generated module without LLM code is skipped (ast alone would need ~7 GB); 50 MB of Python with
    LLM code, of prompt text or of notebook code is a one-line 'too large' finding; a notebook whose 50 MB are
    cell outputs (images) is analysed as usual."""
    mb = 50 * 1024 * 1024
    (tmp_path / "data.py").write_text("DATA = [" + ", ".join(str(i) for i in range(mb // 7)) + "]\n", encoding="utf-8")
    unit = PY_PROMPT.split("SYSTEM = ")[1]
    (tmp_path / "calls.py").write_text(PY_PROMPT + ("SYSTEM = " + unit) * (mb // len(unit) + 1), encoding="utf-8")
    line = "You are a helpful assistant. Please note that you should answer briefly.   \n"
    (tmp_path / "huge.prompt.txt").write_text(line * (mb // len(line) + 1), encoding="utf-8")
    cell = {"cell_type": "code", "metadata": {}, "execution_count": 1}
    png = "iVBORw0KGgo" * (mb // 11 // 10 + 1)
    nb = {
        "cells": [dict(cell, source=PY_PROMPT, outputs=[{"output_type": "display_data", "metadata": {}, "data": {"image/png": png}}]) for _ in range(10)],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "outputs.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    nb["cells"] = [dict(cell, source="x = 1\n" * (mb // 6), outputs=[])]
    (tmp_path / "code.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert all(os.path.getsize(tmp_path / f) >= mb for f in os.listdir(tmp_path))
    rc, out, err, seconds, rss = _run_measured(["check", "--format", "json", "-j", "1", "."], tmp_path)
    assert rc == 1, err
    doc = json.loads(out)
    diags = by_path(doc)
    assert "data.py" not in diags and "code.ipynb" not in diags  # no LLM code: nothing to say
    for name in ("calls.py", "huge.prompt.txt"):
        (d,) = diags[name]
        assert d["code"] == "PL002" and d["message"].startswith("too large to analyse (5"), d
    assert sum(1 for p in doc["prompts"] if p["path"] == "outputs.ipynb") == 10
    print(f"\n50 MB files x5: {seconds:.1f} s, peak RSS {rss:.0f} MB")
    assert seconds < 120, seconds
    assert rss < 1500, rss
    # fix does not trip over the one with LLM code either (and leaves it alone)
    before = (tmp_path / "calls.py").stat().st_mtime_ns
    rc, out, err, seconds, rss = _run_measured(["fix", "--unsafe-fixes", "calls.py"], tmp_path)
    assert rc == 1 and "Traceback" not in err and "too large to analyse" in out, err[-1000:]
    assert (tmp_path / "calls.py").stat().st_mtime_ns == before
    assert seconds < 60 and rss < 1000, (seconds, rss)


# ---------------------------------------------------------------------------------------- deep nesting

# each file holds a trace of a prompt (files without one are not parsed at all)
_TRACE = 'SYSTEM_PROMPT = "You are terse."\n'
DEEP = {
    "parens.py": _TRACE + "x = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n",
    "plus_chain.py": _TRACE + "x = " + " + ".join(['"a"'] * 100_000) + "\n",
    "nots.py": _TRACE + "x = " + "not " * 10_000 + "1\n",
    "negs.py": _TRACE + "x = " + "-" * 20_000 + "1\n",
    "attrs.py": _TRACE + "x = a" + ".b" * 50_000 + "\n",
    "calls.py": _TRACE + "x = " + "f(" * 5_000 + ")" * 5_000 + "\n",
    "lists.py": _TRACE + "x = " + "[" * 5_000 + "]" * 5_000 + "\n",
    "indent.py": _TRACE + "".join(" " * i + "if x:\n" for i in range(150)) + " " * 150 + "pass\n",
    # a real syntax error first (ast gives up there), then nesting that would crash libcst's native parser
    "mixed.py": _TRACE + "def f(:\n    pass\nx = " + "not " * 10_000 + "1\n",
    "mixed_parens.py": _TRACE + "def f(:\n    pass\nx = " + "(" * 3_000 + ")" * 3_000 + "\n",
}


def test_deep_nesting_is_a_diagnostic_not_a_crash(tmp_path):
    for name, src in DEEP.items():
        (tmp_path / name).write_text(src, encoding="utf-8")
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    nb = {
        "cells": [dict(cell, source="x = " + "(" * 5_000 + ")" * 5_000), dict(cell, source=PY_PROMPT)],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "deep.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    write_good(tmp_path)
    t = time.monotonic()
    rc, out, err = pl("check", "--format", "json", "-j", "1", ".", cwd=tmp_path, timeout=300)
    elapsed = time.monotonic() - t
    assert rc == 1, (rc, err[-2000:])  # a crash of the native parser would be rc -11
    assert "Traceback" not in err and "RecursionError" not in out + err and "internal error" not in err
    doc = json.loads(out)
    diags = by_path(doc)
    for name in DEEP:
        codes = [d["code"] for d in diags.get(name, [])]
        assert codes == ["PL001"], (name, diags.get(name))
        assert_one_line(diags[name][0]["message"])
    nb_diags = diags["deep.ipynb"]
    assert [(d["code"], d["cell"]) for d in nb_diags if d["code"] == "PL001"] == [("PL001", 1)]
    assert any(p["path"].endswith("deep.ipynb") and p.get("cell") == 2 for p in doc["prompts"])
    assert_good_found(doc)
    assert elapsed < 120, elapsed
    # and fix walks past them too
    rc, out, err = pl("fix", "--unsafe-fixes", "-j", "1", ".", cwd=tmp_path, timeout=300)
    assert rc in (0, 1) and "Traceback" not in err and "internal error" not in err, err[-2000:]
    assert (tmp_path / "good.py").read_text(encoding="utf-8") != PY_PROMPT
    for name, src in DEEP.items():
        assert (tmp_path / name).read_text(encoding="utf-8") == src


def test_libcst_guard_allows_what_cpython_allows():
    """The guard in front of libcst refuses only what CPython itself refuses (or nearly): it must not turn
    ordinary big files into findings."""
    from promptlint.extract.cstguard import too_complex

    ok = [
        "x = " + "(" * 200 + ")" * 200,
        "x = [" + ", ".join(str(-i) for i in range(20_000)) + "]",  # a big data list: many unary minus, commas between
        "x = " + " + ".join(["a"] * 2_000),
        "".join(" " * i + "if x:\n" for i in range(99)) + " " * 99 + "pass\n",
        'x = f"{a["b"]}"\n',  # 3.12 syntax
        "x = '((((((((' * 1000\n" * 100,  # brackets inside strings do not nest
    ]
    for src in ok:
        assert too_complex(src) is None, src[:60]
    for src in DEEP.values():
        assert too_complex(src) is not None


# ------------------------------------------------------------------------------ links, FIFOs, permissions


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlink_loops_and_dangling_links(tmp_path, run_cli):
    (tmp_path / "pkg").mkdir()
    os.symlink("..", tmp_path / "pkg" / "up")  # a directory loop
    os.symlink("loop_b.py", tmp_path / "loop_a.py")
    os.symlink("loop_a.py", tmp_path / "loop_b.py")
    os.symlink("missing.py", tmp_path / "dangling.py")
    write_good(tmp_path)
    (tmp_path / "pkg" / "inner.py").write_text(PY_PROMPT, encoding="utf-8")
    rc, out, err = pl("check", "--format", "json", ".", cwd=tmp_path, timeout=60)  # a walk that loops would hang
    assert rc == 1, err
    doc = json.loads(out)
    diags = by_path(doc)
    assert [d["message"] for d in diags["loop_a.py"]] == ["symbolic link loop; skipped"]
    assert [d["message"] for d in diags["loop_b.py"]] == ["symbolic link loop; skipped"]
    assert [d["message"] for d in diags["dangling.py"]] == ["broken symbolic link (its target does not exist)"]
    # the looping folder is walked once: inner.py is found once, not through pkg/up/pkg/...
    assert sum(1 for p in doc["prompts"] if p["path"].endswith("inner.py")) == 1
    assert_good_found(doc)
    # named explicitly
    rc, doc, err = check_json(run_cli, "loop_a.py", "dangling.py", "good.py", cwd=tmp_path)
    assert rc == 1 and sorted(by_path(doc)) == ["dangling.py", "good.py", "loop_a.py"]
    assert_good_found(doc)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_fifo_is_skipped_not_waited_on(tmp_path):
    """A FIFO named like a Python file must not block the run (open() would wait for a writer forever), nor
    the results cache (which reads files to hash them)."""
    os.mkfifo(tmp_path / "pipe.py")
    write_good(tmp_path)
    rc, out, err = pl("check", "--format", "json", "--cache-dir", tmp_path / "cache", ".", cwd=tmp_path, timeout=60, env={"PROMPTLINT_NO_CACHE": "0"})
    assert rc == 1, err
    doc = json.loads(out)
    assert [d["message"] for d in by_path(doc)["pipe.py"]] == ["not a regular file (a FIFO, socket or device); skipped"]
    assert_good_found(doc)
    rc, out, err = pl("fix", "pipe.py", "good.py", cwd=tmp_path, timeout=60)  # named explicitly
    assert rc == 1 and "pipe.py:1:1: PL002 not a regular file" in out and "Traceback" not in err


def test_unreadable_file_simulated(tmp_path, run_cli, monkeypatch):
    """EACCES on open (simulated: the tests may run as root, for whom chmod 000 changes nothing)."""
    secret = tmp_path / "secret.py"
    secret.write_text(PY_PROMPT, encoding="utf-8")
    write_good(tmp_path)
    real_open = os.open

    def deny(path, flags, *a, **kw):
        if str(path).endswith("secret.py"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *a, **kw)

    monkeypatch.setattr(os, "open", deny)
    rc, doc, err = check_json(run_cli, ".", cwd=tmp_path)
    assert rc == 1
    assert [(d["code"], d["message"]) for d in by_path(doc)["secret.py"]] == [("PL002", "cannot read file: Permission denied")]
    assert_good_found(doc)
    r = run_cli("fix", "--no-cache", ".", cwd=tmp_path)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert secret.read_text(encoding="utf-8") == PY_PROMPT


@pytest.mark.skipif(ROOT, reason="runs as root: permissions do not apply (see test_unreadable_file_simulated)")
def test_unreadable_file_chmod_000(tmp_path, run_cli):
    secret = tmp_path / "secret.py"
    secret.write_text(PY_PROMPT, encoding="utf-8")
    secret.chmod(0)
    write_good(tmp_path)
    try:
        rc, doc, _err = check_json(run_cli, ".", cwd=tmp_path)
    finally:
        secret.chmod(0o644)
    assert [d["message"] for d in by_path(doc)["secret.py"]] == ["cannot read file: Permission denied"]
    assert_good_found(doc)


def test_directory_named_like_a_source_file(tmp_path, run_cli, monkeypatch):
    """A folder called x.py is walked as a folder; a file that becomes a folder after discovery is reported."""
    (tmp_path / "x.py").mkdir()
    (tmp_path / "x.py" / "inner.py").write_text(PY_PROMPT, encoding="utf-8")
    rc, doc, _err = check_json(run_cli, ".", "x.py", cwd=tmp_path)
    assert [p["path"] for p in doc["prompts"]] == [os.path.join("x.py", "inner.py")]
    target = tmp_path / "later.py"
    target.write_text(PY_PROMPT, encoding="utf-8")
    write_good(tmp_path)
    _swap_after_discovery(monkeypatch, lambda: (target.unlink(), target.mkdir()))
    rc, doc, err = check_json(run_cli, "later.py", "good.py", cwd=tmp_path)
    assert rc == 1
    assert [d["message"] for d in by_path(doc)["later.py"]] == ["is a directory"]
    assert_good_found(doc)


def _swap_after_discovery(monkeypatch, action):
    """Run ``action`` right after discovery (the file list is made, nothing read yet)."""
    from promptlint import discover as discmod

    real = discmod.discover

    def wrapped(*a, **kw):
        files = list(real(*a, **kw))
        action()
        return iter(files)

    monkeypatch.setattr(discmod, "discover", wrapped)


def test_file_deleted_during_check_and_fix(tmp_path, run_cli, monkeypatch):
    gone = tmp_path / "gone.py"
    gone.write_text(PY_PROMPT, encoding="utf-8")
    write_good(tmp_path)
    _swap_after_discovery(monkeypatch, lambda: gone.exists() and gone.unlink())
    rc, doc, err = check_json(run_cli, ".", cwd=tmp_path)
    assert rc == 1
    assert [(d["code"], d["message"]) for d in by_path(doc)["gone.py"]] == [("PL002", "file vanished before it could be read")]
    assert_good_found(doc)
    gone.write_text(PY_PROMPT, encoding="utf-8")
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", ".", cwd=tmp_path)
    assert r.exit_code == 1 and "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert not gone.exists()
    assert PY_FIXED_TEXT.split("\n")[1] in (tmp_path / "good.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("what", ["deleted", "modified"])
def test_file_changed_between_fixing_and_writing_is_not_overwritten(tmp_path, run_cli, monkeypatch, what):
    p = tmp_path / "app.py"
    p.write_text(PY_PROMPT, encoding="utf-8")
    real = fixmod.fix_source

    def racing(source, *a, **kw):
        out = real(source, *a, **kw)
        if what == "deleted":
            p.unlink()
        else:
            p.write_text(PY_PROMPT + "# edited meanwhile\n", encoding="utf-8")
        return out

    monkeypatch.setattr(fixmod, "fix_source", racing)
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", "app.py", cwd=tmp_path)
    assert "changed on disk during the run; not written" in r.stderr
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    if what == "deleted":
        assert not p.exists()
    else:
        assert p.read_text(encoding="utf-8") == PY_PROMPT + "# edited meanwhile\n"
    assert not no_temp_files(tmp_path)


# ----------------------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    "toml,expected",
    [
        ('[tool.promptlint]\nmodel = "gpt-4o"\nselect = [PL201]\n', r"pyproject\.toml:3:\d+: invalid TOML \(key 'select'\): Invalid value"),
        ('[tool.promptlint]\nmodel = "gpt-4o"\nselect = [\n  "PL201",\n  PL3\n]\n', r"pyproject\.toml:5:\d+: invalid TOML \(key 'select'\)"),
        ('[tool.promptlint]\nmodel = "gpt-4o"\nfail-on = "warning\n', r"pyproject\.toml:3:\d+: invalid TOML \(key 'fail-on'\)"),
        ('[tool.promptlint]\nmodel = "gpt-4o"\nselct = ["PL201"]\n', r"pyproject\.toml:3: unknown key 'selct' in \[tool\.promptlint\] \(did you mean 'select'\?\)"),
        ('[tool.promptlint]\nmodel = "gpt-4o"\n\nfail-on = 3\n', r"pyproject\.toml:4: \[tool\.promptlint\]: 'fail-on' must be one of"),
        ('[tool.promptlint]\nselect = ["PL201",\n  "PL999"]\n', r"pyproject\.toml:3: 'select' names unknown rule 'PL999'"),
        ('[tool.promptlint]\nmodel = "gpt-4o"\n[tool.promptlint.rules.whitespace-waste]\nfoo = 1\n', r"pyproject\.toml:4: unknown option 'foo' for rule 'whitespace-waste'"),
        ('[tool.promptlint]\nmodel = "gpt-4o"\n[tool.promptlint.rules.no-such-rule]\nfoo = 1\n', r"pyproject\.toml:3: 'rules' names unknown rule 'no-such-rule'"),
    ],
)
def test_invalid_toml_config_names_file_line_and_key(tmp_path, run_cli, toml, expected):
    import re

    (tmp_path / "pyproject.toml").write_text(toml, encoding="utf-8")
    write_good(tmp_path)
    r = run_cli("check", "good.py", cwd=tmp_path)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("promptlint: error: "), r.stderr
    assert re.search(expected, lines[0]), lines[0]
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


@pytest.mark.parametrize(
    "rule_yaml,expected",
    [
        ("code: PL901\nname: x-y\nkind: substitution\n  swap: {a: b}\n", r"bad\.yaml:4: invalid YAML \(key 'swap'\): mapping values are not allowed"),
        ("code: PL901\nname: x-y\nkind: substitution\nswapp: {a: b}\n", r"bad\.yaml:4: unknown key 'swapp' for a substitution rule"),
        ("code: PL901\nname: x-y\nkind: substitution\nseverity: loud\nswap: {a: b}\n", r"bad\.yaml:4: 'severity' must be info, warning or error"),
        ('x: !!python/object/apply:os.system ["echo hi"]\n', r"bad\.yaml:1: invalid YAML \(key 'x'\): could not determine a constructor"),
        (b"code: PL901\nname: \xff\n", r"bad\.yaml: not valid UTF-8 \(byte 0xff"),
    ],
)
def test_invalid_yaml_rule_file_names_file_line_and_key(tmp_path, run_cli, rule_yaml, expected):
    import re

    (tmp_path / "pyproject.toml").write_text('[tool.promptlint]\nrule-dirs = ["myrules"]\n', encoding="utf-8")
    (tmp_path / "myrules").mkdir()
    data = rule_yaml if isinstance(rule_yaml, bytes) else rule_yaml.encode()
    (tmp_path / "myrules" / "bad.yaml").write_bytes(data)
    write_good(tmp_path)
    r = run_cli("check", "good.py", cwd=tmp_path)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(expected, lines[0]), r.stderr
    assert "internal error" not in r.stderr


# ================================================================================== worker pool faults


def test_a_worker_crash_costs_one_file_not_the_run(tmp_path, monkeypatch):
    """A native crash (simulated SIGSEGV) in one worker: every other file still gets its results and the
    crashing file gets a one-line finding (the pool is rebuilt; suspects are retried alone)."""
    for i in range(24):
        (tmp_path / f"m{i:02}.py").write_text(PY_PROMPT.replace("briefly", f"briefly {i}"), encoding="utf-8")
    real = pipeline.lint_file

    def crashing(path, kind, cfg, rules, *rest):
        if path.endswith(("m05.py", "m17.py")):
            import faulthandler

            faulthandler.disable()  # pytest's handler would print the (expected) crash
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(path, kind, cfg, rules, *rest)

    monkeypatch.setattr(pipeline, "lint_file", crashing)  # inherited by the forked workers
    cfg = cfgmod.load([str(tmp_path)])
    t = time.monotonic()
    res = pipeline.run([str(tmp_path)], cfg, use_cache=False, jobs=2)
    assert time.monotonic() - t < 60
    assert res.files_scanned == 24 and len(res.prompts) == 22
    crashed = sorted(os.path.basename(d.path) for d in res.diagnostics if d.code == "PL001")
    assert crashed == ["m05.py", "m17.py"]
    assert all("crashed" in d.message for d in res.diagnostics if d.code == "PL001")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bug_of_ours_costs_one_file_not_the_run(tmp_path, run_cli, monkeypatch, jobs):
    """An unexpected exception while analysing or fixing one file is a one-line finding for that file; the
    other files are checked and fixed (PROMPTLINT_DEBUG=1 would raise it)."""
    from promptlint.rules.whitespace_waste import WhitespaceWaste

    for i in range(10):
        (tmp_path / f"m{i}.py").write_text(PY_PROMPT, encoding="utf-8")
    real = WhitespaceWaste.check

    def buggy(self, prompt, ctx):
        if prompt.path.endswith("m3.py"):
            raise IndexError("list index out of range")
        return real(self, prompt, ctx)

    monkeypatch.setattr(WhitespaceWaste, "check", buggy)
    monkeypatch.delenv("PROMPTLINT_DEBUG", raising=False)
    rc, doc, err = check_json(run_cli, "-j", jobs, ".", cwd=tmp_path)
    assert rc == 1 and "internal error:" not in err
    (d,) = by_path(doc)["m3.py"]
    assert d["code"] == "PL002" and d["message"] == "internal error while analysing this file (IndexError: list index out of range); skipped, please report it"
    assert len(doc["prompts"]) == 9
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", ".", cwd=tmp_path)
    assert r.exit_code == 1 and "promptlint: warning: m3.py: internal error while fixing this file (IndexError" in r.stderr
    assert (tmp_path / "m3.py").read_text(encoding="utf-8") == PY_PROMPT
    assert all(PY_FIXED_TEXT in (tmp_path / f"m{i}.py").read_text(encoding="utf-8") for i in range(10) if i != 3)


def _many_files(root, n, body=PY_PROMPT):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"mod{i:03}.py").write_text(body.replace("briefly", f"briefly, case {i}"), encoding="utf-8")


def _spawn(args, cwd):
    def pre():
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # a shell may start us with SIGINT ignored
        os.setsid()

    env = dict(os.environ, PROMPTLINT_NO_CACHE="1")
    env.pop("PROMPTLINT_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "promptlint", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=pre, env=env)


@pytest.mark.skipif(not hasattr(os, "setsid"), reason="POSIX only")
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupting_a_parallel_check_stops_at_once(tmp_path, sig):
    """Ctrl-C reaches the whole process group: the workers must not keep linting the queued files."""
    _many_files(tmp_path / "src", 400)
    p = _spawn(["check", "-j", "2", "."], tmp_path)
    time.sleep(1.5)
    if p.poll() is not None:
        pytest.skip("the run finished before the signal")
    os.killpg(p.pid, getattr(signal, sig))
    t = time.monotonic()
    out, err = p.communicate(timeout=60)
    assert time.monotonic() - t < 10
    assert p.returncode == (130 if sig == "SIGINT" else 143), err
    assert err.strip().splitlines()[-1] == ("promptlint: interrupted" if sig == "SIGINT" else "promptlint: terminated")
    assert "Traceback" not in err
    left = subprocess.run(["pgrep", "-g", str(p.pid)], capture_output=True, text=True).stdout.split()
    assert not left


# ============================================================================================ fix safety


def _fixed_copy(src_dir, dst_dir, *extra):
    shutil.copytree(src_dir, dst_dir)
    rc, out, err = pl("fix", "--unsafe-fixes", *extra, ".", cwd=dst_dir, timeout=600)
    assert rc == 0, err
    return {p: (dst_dir / p).read_bytes() for p in os.listdir(dst_dir)}


@pytest.mark.skipif(not hasattr(os, "setsid"), reason="POSIX only")
def test_signals_during_fix_leave_each_file_original_or_fully_fixed(tmp_path):
    n = 24
    body = PY_PROMPT.replace("answer briefly.", "answer briefly.   \n\n\n\n\nIn order to help, please note that you should be concise.")
    _many_files(tmp_path / "orig", n, body)
    originals = {p: (tmp_path / "orig" / p).read_bytes() for p in os.listdir(tmp_path / "orig")}
    fixed = _fixed_copy(tmp_path / "orig", tmp_path / "fixed")
    assert all(fixed[p] != originals[p] for p in originals)
    interrupted_midway = 0
    trials = [("SIGINT", 1), ("SIGTERM", 2), ("SIGINT", n // 2), ("SIGTERM", n - 4), ("SIGTERM", 0)]
    for k, (sig, after) in enumerate(trials):
        work = tmp_path / f"run{k}"
        shutil.copytree(tmp_path / "orig", work)
        p = _spawn(["fix", "--unsafe-fixes", "."], work)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            done = sum(1 for f in originals if (work / f).read_bytes() != originals[f])
            if done >= after:
                break
            time.sleep(0.002)
        os.kill(p.pid, getattr(signal, sig))
        out, err = p.communicate(timeout=120)
        states = []
        for f in originals:
            data = (work / f).read_bytes()
            assert data in (originals[f], fixed[f]), f"{sig} after {after}: {f} is neither original nor fully fixed"
            states.append(data == fixed[f])
        assert not no_temp_files(work), f"temp files left behind after {sig}"
        assert "Traceback" not in err
        if p.returncode in (130, 143):
            assert err.strip().splitlines()[-1] in ("promptlint: interrupted", "promptlint: terminated")
            if any(states) and not all(states):
                interrupted_midway += 1
        elif p.returncode == -signal.SIGTERM:  # killed while the interpreter was starting: nothing written yet
            assert after == 0 and not any(states)
        else:
            assert p.returncode == 0 and all(states), (p.returncode, err[-500:])
    assert interrupted_midway >= 2, "no trial interrupted the run between files: the test proves nothing"


def test_read_only_file_is_reported_not_crashed_on(tmp_path, run_cli):
    ro = tmp_path / "ro.py"
    ro.write_text(PY_PROMPT, encoding="utf-8")
    ro.chmod(0o444)
    write_good(tmp_path)
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", ".", cwd=tmp_path)
    assert r.exit_code == 1, r.stderr
    assert "promptlint: warning: ro.py: read-only file; not written" in r.stderr
    assert ro.read_text(encoding="utf-8") == PY_PROMPT and stat.S_IMODE(ro.stat().st_mode) == 0o444
    assert "You should answer briefly." in (tmp_path / "good.py").read_text(encoding="utf-8")
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


@pytest.mark.skipif(ROOT, reason="runs as root: a read-only folder does not stop root (see the os.replace test)")
def test_file_in_read_only_folder(tmp_path, run_cli):
    d = tmp_path / "locked"
    d.mkdir()
    (d / "app.py").write_text(PY_PROMPT, encoding="utf-8")
    d.chmod(0o555)
    try:
        r = run_cli("fix", "--unsafe-fixes", "--no-cache", "locked", cwd=tmp_path)
    finally:
        d.chmod(0o755)
    assert r.exit_code == 1 and "not written" in r.stderr
    assert (d / "app.py").read_text(encoding="utf-8") == PY_PROMPT


@pytest.mark.parametrize("err", [errno.EACCES, errno.EROFS, errno.ENOSPC])
def test_failed_replace_is_reported_and_leaves_no_temp_file(tmp_path, run_cli, monkeypatch, err):
    """As root a read-only folder does not stop the write; simulate the disk refusing the final rename."""
    p = tmp_path / "app.py"
    p.write_text(PY_PROMPT, encoding="utf-8")
    write_good(tmp_path)
    real = os.replace

    def refuse(a, b, *args, **kw):
        if str(b).endswith("app.py"):
            raise OSError(err, os.strerror(err), str(b))
        return real(a, b, *args, **kw)

    monkeypatch.setattr(os, "replace", refuse)
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", ".", cwd=tmp_path)
    assert r.exit_code == 1
    assert f"promptlint: warning: app.py: cannot write: {os.strerror(err)}; not written" in r.stderr
    assert p.read_text(encoding="utf-8") == PY_PROMPT
    assert "You should answer briefly." in (tmp_path / "good.py").read_text(encoding="utf-8")
    assert not no_temp_files(tmp_path)


def _expected_after_fix(run_cli, tmp_path, name, content):
    """What ``fix --unsafe-fixes`` writes for a plain UTF-8/LF copy of the file."""
    ref = tmp_path / "ref"
    ref.mkdir(exist_ok=True)
    (ref / name).write_bytes(content.encode("utf-8"))
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", name, cwd=ref)
    assert r.exit_code == 0, r.stderr
    fixed = (ref / name).read_bytes().decode("utf-8")
    assert fixed != content
    return fixed


@pytest.mark.parametrize("name", sorted(HOSTS))
def test_fix_keeps_bom_crlf_and_mode(tmp_path, run_cli, name):
    content = HOSTS[name]
    expected = _expected_after_fix(run_cli, tmp_path, name, content)
    cases = {
        "bom": (b"\xef\xbb\xbf" + content.encode("utf-8"), b"\xef\xbb\xbf" + expected.encode("utf-8")),
        "crlf": (content.replace("\n", "\r\n").encode("utf-8"), expected.replace("\n", "\r\n").encode("utf-8")),
        "bom+crlf": (b"\xef\xbb\xbf" + content.replace("\n", "\r\n").encode("utf-8"), b"\xef\xbb\xbf" + expected.replace("\n", "\r\n").encode("utf-8")),
    }
    for case, (before, after) in cases.items():
        d = tmp_path / case
        d.mkdir()
        p = d / name
        p.write_bytes(before)
        p.chmod(0o754)
        r = run_cli("fix", "--unsafe-fixes", "--no-cache", name, cwd=d)
        assert r.exit_code == 0, (case, r.output, r.stderr)
        assert p.read_bytes() == after, case
        assert stat.S_IMODE(p.stat().st_mode) == 0o754, case
        r = run_cli("fix", "--unsafe-fixes", "--no-cache", name, cwd=d)
        assert r.exit_code == 0 and p.read_bytes() == after, f"{case}: second fix changed the file"


def test_fix_keeps_executable_bit_symlink_and_owner(tmp_path, run_cli):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "app.py"
    target.write_text("#!/usr/bin/env python3\n" + PY_PROMPT, encoding="utf-8")
    target.chmod(0o755)
    link = tmp_path / "link.py"
    os.symlink(target, link)
    owner = None
    if ROOT:
        os.chown(target, 65534, 65534)  # as root, the rewritten file must keep its owner (not become root's)
        owner = (65534, 65534)
    r = run_cli("fix", "--unsafe-fixes", "--no-cache", "link.py", cwd=tmp_path)
    assert r.exit_code == 0, r.stderr
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert "You should answer briefly." in target.read_text(encoding="utf-8")
    st = target.stat()
    assert stat.S_IMODE(st.st_mode) == 0o755
    if owner:
        assert (st.st_uid, st.st_gid) == owner
    assert not no_temp_files(tmp_path)
