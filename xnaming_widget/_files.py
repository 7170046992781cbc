"""Every file the package writes goes through here: whole or not at all, and shareable.

A write goes to a temporary file in the target's folder, is flushed and fsync'ed, gets the
permissions a plain ``open()`` would give (0666 less the umask: ``mkstemp``'s own 0600 would
hide files in shared folders), and is renamed over the target, which is atomic on POSIX and
Windows; the folder is fsync'ed last so the rename itself survives a power cut. A reader,
or a process killed half-way, sees the old file or the new one, never half of one.
Temporary files are named ``.<name>.<random>.tmp``; :func:`remove_stale_temporaries` clears
the ones a killed writer left behind.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

__all__ = ["replace_atomically", "write_bytes_atomic", "write_text_atomic", "write_json_atomic",
           "save_torch_atomic", "shareable_mode", "fsync_folder", "remove_stale_temporaries"]


def shareable_mode() -> int:
    """The mode ``open()`` would give a new file: rw for everyone the umask allows."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_folder(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename or a new file) to disk, where the platform allows."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def replace_atomically(path: str | os.PathLike, write: Callable[[BinaryIO], Any]) -> Path:
    """Make ``path`` hold what ``write(handle)`` writes to a binary handle, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, shareable_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_folder(path.parent)
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes atomically."""
    return replace_atomically(path, lambda handle: handle.write(data))


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented UTF-8 JSON (non-ASCII kept as is), atomically."""
    return write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=1) + "\n")


def save_torch_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` into a file that appears only complete (an interrupted save leaves the old one)."""
    import torch

    return replace_atomically(path, lambda handle: torch.save(obj, handle))


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes of ``path`` left; return them.

    Call it only while holding the file (a lock), so no live writer's temporary is removed.
    """
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except FileNotFoundError:  # pragma: no cover - removed meanwhile
            pass
    return removed
