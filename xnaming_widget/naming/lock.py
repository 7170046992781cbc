"""An exclusive, cross-process lock on a naming file, held for as long as a widget has it open.

The lock is an OS file lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on a small
side file ``.<name>.lock`` that says who holds it. The OS drops the lock when its process
dies, so a lock left by a killed kernel is simply taken over by the next opener; the side
file is removed when the holder closes.
"""
from __future__ import annotations

import getpass
import json
import os
import socket
import threading
from pathlib import Path

from .state import now_iso

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
    import msvcrt


class NamingFileLockedError(RuntimeError):
    """The naming file is open in another live process; the message says which."""


def lock_path_for(path: str | os.PathLike) -> Path:
    """The side file that carries the lock of naming file ``path``."""
    path = Path(path)
    return path.parent / f".{path.name}.lock"


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _holder_text(lock_file: Path) -> str:
    try:
        info = json.loads(lock_file.read_text(encoding="utf-8"))
        return (f"process {info.get('pid')} of user {info.get('user')!r} on host {info.get('host')!r}, "
                f"open since {info.get('since')}")
    except (OSError, ValueError, AttributeError):
        return "another process (it did not say which)"


class FileLock:
    """Hold the lock of one naming file; ``release()`` frees it (also done by the OS at exit)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.lock_file = lock_path_for(self.path)
        self._fd: int | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock now or raise :class:`NamingFileLockedError` saying who holds it."""
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(10):  # retried only when a holder removed the side file meanwhile
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                raise NamingFileLockedError(
                    f"{self.path} is open in a naming widget of {_holder_text(self.lock_file)}. Two "
                    "processes writing one naming file would lose work, so this one did not open it: "
                    "close that widget (w.close()) or stop its kernel, or give this widget another file. "
                    "If that process is gone, its lock is released by the system and opening works.")
            try:  # the side file may have been removed (and made anew) between open and lock
                same = os.fstat(fd).st_ino == os.stat(self.lock_file).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            info = {"pid": os.getpid(), "host": socket.gethostname(), "user": _user(), "since": now_iso()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
            self._fd = fd
            return
        raise NamingFileLockedError(f"Could not lock {self.path}: its lock file keeps changing.")  # pragma: no cover

    def release(self) -> None:
        """Free the lock and remove the side file (idempotent)."""
        with self._guard:
            fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.unlink(self.lock_file)  # while still locked, so no one else holds this inode
        except FileNotFoundError:  # pragma: no cover
            pass
        os.close(fd)  # closing drops the OS lock

    def __del__(self):  # pragma: no cover - the OS frees it at exit anyway
        try:
            self.release()
        except Exception:
            pass


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no user name in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def probe_unlocked(path: str | os.PathLike) -> None:
    """Raise :class:`NamingFileLockedError` when another process holds ``path``'s lock; hold nothing."""
    lock = FileLock(path)
    if not lock.lock_file.exists():
        return
    lock.acquire()
    lock.release()
