"""Atomic writes: a temp file in the same folder, fsync, then rename. A reader (or a crash) sees the old file
or the new one, never half of one. File mode is kept; a symlink is followed (its target is replaced, the link
stays a link)."""

from __future__ import annotations

import os
import stat
import tempfile
from typing import Optional


def atomic_write_bytes(path: str, data: bytes) -> None:
    path = os.path.realpath(path)
    directory = os.path.dirname(path)
    owner = None
    try:
        st = os.stat(path)
        mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
    except FileNotFoundError:
        # a new file gets the mode open() would give it (0666 less the umask), not mkstemp's 0600
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=".promptlint-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if owner is not None and hasattr(os, "chown") and (os.stat(tmp).st_uid, os.stat(tmp).st_gid) != owner:
            try:
                os.chown(tmp, *owner)  # running as root (a CI container): the file keeps its owner and group
            except OSError:
                pass
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _fsync_dir(directory: str) -> None:
    """Make the rename itself durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_text(path: str, text: str, encoding: str = "utf-8") -> None:
    atomic_write_bytes(path, text.encode(encoding))


def read_bytes(path: str) -> Optional[bytes]:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def is_writable(path: str) -> bool:
    """False for a file without write permission for its owner (even when running as root, who could write
    it anyway: a read-only file is a deliberate choice to respect)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return bool(st.st_mode & stat.S_IWUSR) and os.access(path, os.W_OK)


def text_reader():
    """A memoized ``path -> text`` for reports that quote source lines (UTF-8, BOM dropped, None if unreadable)."""
    cache = {}

    def text_of(path):
        if path not in cache:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
                if data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]
                cache[path] = data.decode("utf-8", "surrogateescape")
            except OSError:
                cache[path] = None
        return cache[path]

    return text_of
