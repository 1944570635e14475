"""Crash-safe writes of small private files (profiles, run history).

A reader never sees a half-written file: the data goes to a temporary file in the
same directory, is fsynced, then renamed over the target (rename is atomic on POSIX).
Private files are created 0600 and directories 0700 because they may hold credentials
or details of production hosts; files meant to be shared (exports) get the mode the
user's umask gives any new file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_NEW_FILE_MODE = 0o666  # what open() asks for; the umask takes bits away


def umask_file_mode() -> int:
    """The mode a new file gets under the process's umask (like `touch` would)."""
    try:  # Linux: readable without changing the umask (which is process-wide)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return _NEW_FILE_MODE & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    current = os.umask(0o077)
    os.umask(current)
    return _NEW_FILE_MODE & ~current


def ensure_private_dir(directory: Path) -> None:
    """Create `directory` (and parents) if missing; new directories are 0700, the parents
    too (Path.mkdir(parents=True) would give them the umask's mode, e.g. 0755)."""
    missing = []
    while not directory.exists() and directory.parent != directory:
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by another process
            path.mkdir(mode=PRIVATE_DIR_MODE)


def atomic_write_bytes(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Replace `path` with `data` atomically; the result has permissions `mode`."""
    ensure_private_dir(path.parent)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; harmless where directories cannot be opened.
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an advisory lock on `path` + ".lock" for a read-modify-write cycle.

    Two processes (say `rds-tui lab up` and `rds-tui profiles add`) updating the same
    file would otherwise lose one of the two updates.
    """
    ensure_private_dir(path.parent)
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
