"""What an export killed at any instant leaves behind: nothing a reader trips on, nothing kept.

- Staging folders: an export holds an exclusive ``flock`` on a lock file beside its staging
  folder for as long as it runs, so the next export can tell a dead export's leftover (lock
  free, or no lock file) from a live concurrent one (lock held) and removes only the former
  (:func:`remove_stale`). Readers never look at hidden entries anyway.
- Replacing a plain artifact folder: two renames (old away, new in) leave the path missing if
  the process dies between them. :func:`exchange` swaps the two folders in one atomic
  ``renameat2(RENAME_EXCHANGE)`` on Linux, so the path always names a complete artifact; where
  that call is missing it returns False and the caller falls back to two renames.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
LOCK_SUFFIX = ".lock"


def exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths of one filesystem; False where the OS cannot do it."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (38, 22, 95):  # ENOSYS, EINVAL, EOPNOTSUPP: this kernel or filesystem cannot
        return False
    raise OSError(errno, os.strerror(errno), str(first))


@contextlib.contextmanager
def held_lock(folder: Path) -> Iterator[None]:
    """Hold the lock of staging folder ``folder`` while the block runs (created before it)."""
    lock_path = folder.with_name(folder.name + LOCK_SUFFIX)
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            lock_path.unlink()


def _owner_alive(folder: Path) -> bool:
    lock_path = folder.with_name(folder.name + LOCK_SUFFIX)
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def remove_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove the staging folders ``parent/prefix*`` whose export is no longer running (and
    their lock files); returns what was removed."""
    removed = []
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        if not entry.name.startswith(prefix) or entry.name.endswith(LOCK_SUFFIX):
            continue
        if entry.is_symlink() or not entry.is_dir() or _owner_alive(entry):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            entry.with_name(entry.name + LOCK_SUFFIX).unlink()
        removed.append(entry)
    return removed
