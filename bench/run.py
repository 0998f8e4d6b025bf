#!/usr/bin/env python3
"""Benchmark promptlint on a directory (standard tools only: repeated runs, medians, peak memory).

    python bench/run.py DIR [--runs 3] [--one-file PATH] [--no-ruff]
    python bench/run.py --synthetic /tmp/plbench      # generate a 5,400-file / ~41 MB tree first

Times, on DIR:
  cold     `promptlint check DIR --no-cache`            (no cache, all workers)
  warm     `promptlint check DIR` twice, the second timed (cache hit, nothing changed)
  one-file `promptlint check FILE` on one Python file   (what pre-commit does on a small commit)
  ruff     `ruff check --select ALL --no-cache DIR`     (when ruff is installed), and the ratio cold/ruff
Peak memory: the largest resident set size of one promptlint process (getrusage of children) and, on Linux,
the peak of the whole process tree's summed RSS (parent and workers, sampled every 10 ms from /proc).

promptlint's modules are byte-compiled first, as pip does when it installs a wheel (an editable install or
PYTHONDONTWRITEBYTECODE=1 would otherwise make every run compile them from source).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _tree_rss_kb(root_pid):
    """Summed RSS (kB) of a process and its descendants, from /proc; None where /proc is missing."""
    if not os.path.isdir("/proc"):
        return None
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(name))
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, ValueError, IndexError):
            pass
    return total


def timed(cmd, cwd=None, env=None):
    """(wall seconds, largest single-process RSS kB, peak summed tree RSS kB or None)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    tree_peak = None
    done = threading.Event()

    def sample():
        nonlocal tree_peak
        while not done.wait(0.01):
            kb = _tree_rss_kb(p.pid)
            if kb is not None:
                tree_peak = max(tree_peak or 0, kb)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _out, err = p.communicate()
    wall = time.perf_counter() - t
    done.set()
    sampler.join()
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode not in (0, 1):
        sys.exit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    return wall, max(peak, before), tree_peak


def median_of(cmd, runs, **kw):
    walls = []
    peak = 0
    tree = None
    for _ in range(runs):
        w, p, t = timed(cmd, **kw)
        walls.append(w)
        peak = max(peak, p)
        if t is not None:
            tree = max(tree or 0, t)
    return statistics.median(walls), peak, tree


def _mem(peak, tree):
    s = f"peak RSS {peak / 1024:.0f} MB (one process)"
    if tree is not None:
        s += f", {tree / 1024:.0f} MB (all processes)"
    return s


def tree_size(d):
    files = 0
    size = 0
    for root, dirs, names in os.walk(d):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for n in names:
            if n.endswith(".py"):
                files += 1
                size += os.path.getsize(os.path.join(root, n))
    return files, size


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--synthetic", metavar="OUT", help="generate the synthetic tree into OUT and benchmark it")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--one-file", help="file for the one-file run (default: the first Python file with an LLM call)")
    ap.add_argument("--no-ruff", action="store_true")
    args = ap.parse_args(argv)
    if args.synthetic:
        if not os.path.isdir(args.synthetic):
            subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), args.synthetic], check=True)
        args.dir = args.synthetic
    if not args.dir:
        ap.error("give DIR or --synthetic OUT")
    d = os.path.abspath(args.dir)
    exe = [sys.executable, "-m", "promptlint"]
    import compileall

    import promptlint

    compileall.compile_dir(os.path.dirname(promptlint.__file__), quiet=1)  # what pip does on install
    files, size = tree_size(d)
    print(f"tree: {d}: {files:,} Python files, {size / 1e6:.1f} MB; cores: {len(os.sched_getaffinity(0))}; python {sys.version.split()[0]}")
    cache = tempfile.mkdtemp(prefix="plbench-cache-")
    try:
        cold, cold_peak, cold_tree = median_of(exe + ["check", d, "--no-cache", "--exit-zero"], args.runs)
        print(f"cold check (no cache):      {cold:7.2f} s  (median of {args.runs}), {_mem(cold_peak, cold_tree)}")
        timed(exe + ["check", d, "--cache-dir", cache, "--exit-zero"])
        warm, warm_peak, warm_tree = median_of(exe + ["check", d, "--cache-dir", cache, "--exit-zero"], args.runs)
        print(f"warm check (cache, no change): {warm:5.2f} s  (median of {args.runs}), {_mem(warm_peak, warm_tree)}")
        one = args.one_file
        if not one:
            for root, _dirs, names in sorted(os.walk(d)):
                for n in sorted(names):
                    if n.endswith(".py"):
                        p = os.path.join(root, n)
                        with open(p, encoding="utf-8", errors="replace") as fh:
                            if "completions.create" in fh.read():
                                one = p
                                break
                if one:
                    break
        if one:
            o, _, _ = median_of(exe + ["check", one, "--no-cache", "--exit-zero"], max(5, args.runs))
            print(f"one file (no cache):        {o:7.2f} s  (median of {max(5, args.runs)}; {os.path.relpath(one, d)}, {os.path.getsize(one):,} bytes)")
        ruff = shutil.which("ruff") or (os.path.join(os.path.dirname(sys.executable), "ruff") if os.path.exists(os.path.join(os.path.dirname(sys.executable), "ruff")) else None)
        if ruff and not args.no_ruff:
            r, _, _ = median_of([ruff, "check", "--select", "ALL", "--no-cache", "--exit-zero", "-q", d], 1)
            print(f"ruff check --select ALL --no-cache: {r:5.2f} s   ratio promptlint cold / ruff = {cold / r:.2f}")
        else:
            print("ruff not installed: no ratio (pip install ruff)")
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
