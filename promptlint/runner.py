"""Running the pipeline over many files: content-hash cache and a process pool.

Cache: one pickle per (promptlint build, config, rule set) in ``cache-dir`` (default ``.promptlint_cache``
next to the config file, or in the working directory). An entry is keyed by the file's absolute path and
holds (size, mtime_ns, sha256 of the bytes, FileResult). A file whose size and mtime are unchanged is not even
read; one whose stat changed is hashed and reused when its bytes are the same. Results are identical with or
without the cache and with any number of workers (tests check both).

Workers: files left after the cache are linted in a process pool (``--jobs``, default: all cores), in
chunks, each worker building its own rule set from the (picklable) config.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from typing import Optional

from .types import FileResult

CACHE_FORMAT = 1
_WORKER = {}


def _code_fingerprint() -> str:
    """Changes when promptlint's code or data changes (a version bump is not needed during development)."""
    from . import __version__

    h = hashlib.sha256(f"{__version__}:{CACHE_FORMAT}".encode())
    base = os.path.dirname(os.path.abspath(__file__))
    for root, _dirs, files in os.walk(base):
        for name in sorted(files):
            if name.endswith((".py", ".yaml", ".yml")):
                try:
                    st = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                h.update(f"{os.path.relpath(os.path.join(root, name), base)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _rules_fingerprint(rules, cfg) -> str:
    h = hashlib.sha256()
    for r in rules:
        h.update(f"{r.code}:{r.name}:{r.severity}:{sorted(r.opts.items())!r}:{r.origin}".encode())
    for d in cfg.rule_dirs:
        p = d if os.path.isabs(d) else os.path.join(cfg.root, d)
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                try:
                    with open(os.path.join(p, name), "rb") as fh:
                        h.update(name.encode() + hashlib.sha256(fh.read()).digest())
                except OSError:
                    pass
    return h.hexdigest()[:16]


class Cache:
    def __init__(self, cfg, rules, resolve: bool = False):
        from .config import fingerprint

        base = cache_base(cfg)
        self.dir = base
        key = hashlib.sha256(f"{_code_fingerprint()}:{fingerprint(cfg)}:{_rules_fingerprint(rules, cfg)}:{os.getcwd()}:{resolve}".encode()).hexdigest()[:20]
        self.path = os.path.join(base, f"results-{key}.pickle")
        self.entries = {}
        self.dirty = False
        try:
            with open(self.path, "rb") as fh:
                data = pickle.load(fh)
            if isinstance(data, dict) and data.get("format") == CACHE_FORMAT:
                self.entries = data["entries"]
        except Exception:
            self.entries = {}

    def lookup(self, path: str) -> Optional[FileResult]:
        ap = os.path.abspath(path)
        e = self.entries.get(ap)
        if e is None:
            return None
        size, mtime, sha, fr = e
        try:
            st = os.stat(path)
        except OSError:
            return None
        import stat

        if not stat.S_ISREG(st.st_mode):
            return None
        if fr.path != path:
            return None
        if st.st_size == size and st.st_mtime_ns == mtime:
            return fr
        if st.st_size != size:
            return None
        try:
            with open(path, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
        except OSError:
            return None
        if digest == sha:
            self.entries[ap] = (size, st.st_mtime_ns, sha, fr)
            self.dirty = True
            return fr
        return None

    def store(self, path: str, fr: FileResult, stat_before):
        if stat_before is None:
            return
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            st = os.stat(path)
        except OSError:
            return
        if st.st_size != stat_before[0] or st.st_mtime_ns != stat_before[1]:
            return  # changed while we linted it: do not cache
        self.entries[os.path.abspath(path)] = (st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest(), fr)
        self.dirty = True

    def save(self):
        if not self.dirty:
            return
        try:
            os.makedirs(self.dir, exist_ok=True)
            gi = os.path.join(self.dir, ".gitignore")
            if not os.path.exists(gi):
                with open(gi, "w") as fh:
                    fh.write("# created by promptlint\n*\n")
            from .fsutil import atomic_write_bytes

            atomic_write_bytes(self.path, pickle.dumps({"format": CACHE_FORMAT, "entries": self.entries}, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # a read-only tree still gets linted


def _stat(path):
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None  # a FIFO or device: never opened here (a read would wait), never cached
    return (st.st_size, st.st_mtime_ns)


def _init_worker(cfg, resolve=False):
    import signal

    from .rules import enabled_rules

    # Ctrl-C reaches the whole process group: the parent decides (it stops the pool); SIGTERM from the
    # parent stops a worker at once (it may have inherited the CLI's SIGTERM handler)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER["cfg"] = cfg
    _WORKER["rules"] = enabled_rules(cfg)
    _WORKER["resolve"] = resolve


def _work(chunk):
    from .pipeline import lint_file

    cfg = _WORKER["cfg"]
    rules = _WORKER["rules"]
    resolve = _WORKER["resolve"]
    from . import tokens

    tokens.new_known_counts()  # counts inherited from the parent by fork are the parent's already
    done = [(i, lint_file(path, kind, cfg, rules, resolve)) for i, path, kind in chunk]
    return done, tokens.new_known_counts()


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Pool:
    """A process pool that, when the run is interrupted (Ctrl-C, SIGTERM, an error), cancels the queued chunks
    and stops its workers at once instead of finishing every chunk first."""

    def __init__(self, workers, ctx, cfg, resolve=False):
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(cfg, resolve))

    def __enter__(self):
        return self

    def submit_all(self, fn, args) -> list:
        """Submit every task. Workers are forked while tasks are submitted: a Ctrl-C (or a SIGTERM to the
        process group) that lands before a new worker has set its own handling would print a traceback from
        it, so those signals are held back meanwhile and delivered here right after."""
        import signal
        import threading

        sigs = [getattr(signal, n) for n in ("SIGINT", "SIGTERM") if hasattr(signal, n)]
        if threading.current_thread() is not threading.main_thread():
            return [self.pool.submit(fn, a) for a in args]
        held = []
        previous = {sig: signal.signal(sig, lambda signum, _frame: held.append(signum)) for sig in sigs}
        try:
            futures = [self.pool.submit(fn, a) for a in args]
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
            for sig in dict.fromkeys(held):
                signal.raise_signal(sig)
        return futures

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.pool.shutdown(wait=True)
            return False
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            try:
                p.terminate()
            except Exception:
                pass
        for p in procs:
            try:
                p.join(2)
            except Exception:
                pass
        return False


def _retry_lost(lost, cfg, ctx, jobs, results, resolve=False):
    """Files whose worker died (a native crash, the OOM killer): lint them again in a fresh pool. When that
    pool breaks too, the files that were running (the first unfinished ones, at most one per worker plus one
    queued) are each retried alone; the rest go on in parallel. Only a file that kills its own process is
    left out, as a one-line finding."""
    from concurrent.futures.process import BrokenProcessPool

    from . import tokens

    def attempt(group, workers):
        failed = []
        with _Pool(workers, ctx, cfg, resolve) as pool:
            futures = list(zip(group, pool.submit_all(_work, [[item] for item in group])))
            for item, fut in futures:
                try:
                    done, counts = fut.result()
                    results[item[0]] = done[0][1]
                    tokens.add_known_counts(counts)
                except BrokenProcessPool:
                    failed.append(item)
        return failed

    _init_worker(cfg, resolve)  # warm this process once: each fresh pool forks it with imports and tokenizers loaded
    try:
        from .pipeline import lint_source
        from .types import SourceFile

        warm = 'import openai\nopenai.chat.completions.create(model="%s", messages=[{"role": "user", "content": "Hi"}])\n'
        lint_source(SourceFile("warm-up.py", "python", warm % cfg.model), cfg, _WORKER["rules"])
    except Exception:
        pass
    group = list(lost)
    while group:
        failed = attempt(group, max(1, min(jobs, len(group))))
        suspects, group = failed[: jobs + 1], failed[jobs + 1 :]
        for item in suspects:
            if attempt([item], 1):
                results[item[0]] = _crashed(item[1], cfg)


def _crashed(path, cfg) -> FileResult:
    from .pipeline import _file_level
    from .rules import enabled_rules

    if not any(r.name == "syntax-error" for r in enabled_rules(cfg)):
        return FileResult(path)
    return FileResult(path, (), (_file_level(path, "syntax-error", "the analysis crashed on this file (its worker process died); not analysed", cfg=cfg),))


def lint_files(files, cfg, rules, use_cache=True, jobs=None, resolve=False) -> list:
    """FileResults for [(path, kind)], in the same order."""
    from .pipeline import lint_file

    results: list = [None] * len(files)
    lost = []
    from . import tokens

    cache = Cache(cfg, rules, resolve) if use_cache else None
    if cache is not None:
        tokens.load_known_counts(counts_file(cfg))
    todo = []
    stats = {}
    for i, (path, kind) in enumerate(files):
        if cache is not None:
            hit = cache.lookup(path)
            if hit is not None:
                results[i] = hit
                continue
            stats[i] = _stat(path)
        todo.append((i, path, kind))
    jobs = jobs or cfg.jobs or _default_jobs()
    # a worker pool pays for itself only with enough work: ~4 files per worker at least
    if jobs > 1 and len(todo) >= 8:
        import multiprocessing as mp

        try:
            ctx = mp.get_context("fork")
        except ValueError:  # pragma: no cover - platforms without fork
            ctx = mp.get_context("spawn")
        from concurrent.futures.process import BrokenProcessPool

        size = max(1, min(32, len(todo) // (jobs * 4) or 1))
        chunks = [todo[k : k + size] for k in range(0, len(todo), size)]
        with _Pool(min(jobs, len(chunks)), ctx, cfg, resolve) as pool:
            futures = list(zip(chunks, pool.submit_all(_work, chunks)))
            for chunk, fut in futures:
                try:
                    done, counts = fut.result()
                except BrokenProcessPool:
                    lost.extend(chunk)  # a worker died (a native crash, the OOM killer): retry its files alone
                    continue
                for i, fr in done:
                    results[i] = fr
                tokens.add_known_counts(counts)
        if lost:
            _retry_lost(lost, cfg, ctx, jobs, results, resolve)
    else:
        for i, path, kind in todo:
            results[i] = lint_file(path, kind, cfg, rules, resolve)
    if cache is not None:
        retried = {item[0] for item in lost}  # a crash may be the machine's (out of memory): not cached
        for i, path, _kind in todo:
            if i not in retried:
                cache.store(path, results[i], stats.get(i))
        cache.save()
    return results


def cache_base(cfg) -> str:
    return cfg.cache_dir if os.path.isabs(cfg.cache_dir) else os.path.join(cfg.root, cfg.cache_dir)


def counts_file(cfg) -> str:
    """Token counts remembered across runs (by text hash): a run whose prompts did not change needs no
    vocabulary. Saved by ``pipeline.run`` after the project-wide rules, which count too."""
    return os.path.join(cache_base(cfg), "token-counts.pickle")


def save_counts(cfg) -> None:
    from . import tokens

    if os.path.isdir(cache_base(cfg)):
        tokens.save_known_counts(counts_file(cfg))
