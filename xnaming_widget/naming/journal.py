"""The autosave file of a naming widget: a snapshot plus an append-only journal, locked.

Each change appends one record (a line of JSON) and fsyncs it before the widget reports the
change done, so the cost of a change does not grow with the session and a crash loses at
most the change in flight. The snapshot is rewritten atomically (*compacted*) when the file
is opened, when it is closed and every ``COMPACT_EVERY`` records, so the file stays small
and readable. Nothing is ever overwritten silently:

- a file made for another activation set, category or annotator, or a damaged one, raises
  :class:`NamingFileError` and is left untouched;
- a file open in a widget of another process raises :class:`NamingFileLockedError` (a lock
  of a process that died is taken over); within one process a new widget takes the file over
  and the previous one refuses further changes;
- if anything else replaced or changed the file since this widget last wrote it, the write is
  refused with :class:`AutosaveConflictError`.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Mapping, Sequence

from .._files import remove_stale_temporaries, write_text_atomic
from .document import check_owner, parse_naming_text, replay, snapshot_text
from .lock import FileLock, NamingFileLockedError
from .rules import NamingFileError

COMPACT_EVERY = 500

__all__ = ["AutosaveConflictError", "NamingFileLockedError", "NamingJournal", "COMPACT_EVERY"]


class AutosaveConflictError(RuntimeError):
    """Writing the autosave file would overwrite someone else's work."""


_HELD: dict[str, "_Holding"] = {}  # resolved path -> this process's lock and current owner
_REGISTRY = threading.Lock()


class _Holding:
    def __init__(self, lock: FileLock):
        self.lock, self.owner = lock, None


class NamingJournal:
    """One naming file, written by one widget for as long as the widget has it open."""

    def __init__(self, path: str | os.PathLike, *, fingerprint: str, category: str, annotator: str):
        self.path = Path(path).expanduser().resolve()
        if self.path.is_dir():
            raise ValueError(f"The autosave path {self.path} is a folder; give a file path such as "
                             f"{self.path / 'annotator-category.json'}.")
        self.fingerprint, self.category, self.annotator = fingerprint, category, annotator
        self._fd: int | None = None
        self._expected: tuple[int, int] | None = None  # (inode, size) this journal last left
        self._owner: Any = None
        self.records_since_compaction = 0

    # ------------------------------------------------------------------ owning
    def open(self, owner: Any) -> tuple[dict | None, Any]:
        """Lock the file for ``owner`` and read the naming in it (None when there is none yet).

        Returns ``(doc, previous)``: ``previous`` is the widget of this process that had the file
        open (it must stop writing), or None. Raises when another process holds the file or
        the file belongs elsewhere; then nothing is held.
        """
        key = str(self.path)
        with _REGISTRY:
            holding = _HELD.get(key)
            fresh = holding is None
            if fresh:
                holding = _Holding(FileLock(self.path))
                holding.lock.acquire()  # raises NamingFileLockedError for a live holder elsewhere
            try:
                doc = self._read()
            except BaseException:
                if fresh:
                    holding.lock.release()
                raise
            previous = holding.owner
            holding.owner = owner
            _HELD[key] = holding
        self._owner = owner
        remove_stale_temporaries(self.path)
        return doc, previous

    def release(self) -> None:
        """Stop writing and free the file, if this journal's owner still holds it (idempotent)."""
        self._close_fd()
        key = str(self.path)
        with _REGISTRY:
            holding = _HELD.get(key)
            if holding is not None and self._owner is not None and holding.owner is self._owner:
                del _HELD[key]
                holding.lock.release()
        self._owner = None

    def disown(self) -> None:
        """Forget the file without freeing it: a newer widget of this process took it over."""
        self._close_fd()
        self._owner = None

    # ------------------------------------------------------------------ reading
    def _read(self) -> dict | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self._expected = None
            return None
        except UnicodeDecodeError as err:
            raise NamingFileError(f"Naming file {self.path} is not UTF-8 text ({err}); it was left as it is.") from None
        self._expected = _file_id(self.path)  # the file is locked: nobody else changes it meanwhile
        snapshot, records = parse_naming_text(text, source=str(self.path))
        check_owner(snapshot, source=str(self.path), fingerprint=self.fingerprint, category=self.category,
                    annotator=self.annotator)
        return replay(snapshot, records, source=str(self.path))

    # ------------------------------------------------------------------ writing
    def compact(self, doc: Mapping) -> None:
        """Rewrite the file as the snapshot ``doc`` alone, atomically."""
        self._check_unchanged()
        self._close_fd()
        write_text_atomic(self.path, snapshot_text(doc))
        self._expected = _file_id(self.path)
        self.records_since_compaction = 0

    def append(self, records: Sequence[Mapping], first_number: int) -> None:
        """Append log records (numbered from ``first_number``) and fsync them.

        On failure the file is cut back to where it was, so a half-written record never stays.
        """
        if not records:
            return
        self._check_unchanged()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        lines = "".join(json.dumps({"n": first_number + i, **r}, ensure_ascii=False, separators=(",", ":")) + "\n"
                        for i, r in enumerate(records)).encode("utf-8")
        size = self._expected[1]
        try:
            view = memoryview(lines)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            _sync_data(self._fd)
        except BaseException:
            try:
                os.ftruncate(self._fd, size)
            finally:
                self._close_fd()
            raise
        self._expected = (self._expected[0], size + len(lines))
        self.records_since_compaction += len(records)

    def _check_unchanged(self) -> None:
        current = _file_id(self.path)
        if current is not None and current != self._expected:
            self._close_fd()
            raise AutosaveConflictError(
                f"{self.path} was changed by someone else (another widget, kernel or program) since this "
                "widget last saved it; nothing was overwritten and the last change was not applied. "
                "Save this naming elsewhere with .save(path), or reopen the file.")
        if current is None and self._expected is not None:
            raise AutosaveConflictError(f"{self.path} was deleted while the widget had it open; the last "
                                        "change was not applied. Save the naming elsewhere with .save(path).")

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _sync_data(fd: int) -> None:
    """Flush appended bytes (and the new size) to disk: fdatasync where there is one, else fsync."""
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size)


def write_naming_copy(path: str | os.PathLike, doc: Mapping) -> Path:
    """Write ``doc`` as a compacted naming file at ``path`` (atomically), unless a widget of
    another process has that file open."""
    from .lock import probe_unlocked

    path = Path(path)
    with _REGISTRY:
        if str(path.expanduser().resolve()) in _HELD:
            raise AutosaveConflictError(
                f"{path} is already the autosave file of an open naming widget in this kernel. Call .close() on "
                "that widget first, or pass a different path.")
    probe_unlocked(path)
    return write_text_atomic(path, snapshot_text(doc))


