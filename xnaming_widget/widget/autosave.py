"""The autosave file of a naming widget: checked on open, written atomically after every change.

Nobody should ever lose work, so this module refuses rather than overwrites:

- a file made for another activation set, category or annotator raises ``NamingFileError``
  and is left untouched; so does a corrupt file;
- one file is the autosave of only one open widget per process: a new widget on the file
  (say, the same cell run again) takes it over, and the previous widget refuses every later
  change with a message saying so (nothing is lost: every change was already on disk);
  ``claim`` instead refuses a file that an open widget holds (used by ``save``);
- before each write the file must still be the one this widget wrote last (same inode, size
  and modification time); if anything else changed it, the write is refused.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Mapping

from ..naming_format import NamingFileError, read_naming_file, write_json_atomic


class AutosaveConflictError(RuntimeError):
    """Writing the autosave file would overwrite someone else's work."""


_OPEN_FILES: dict[str, Any] = {}  # resolved path -> owner (a widget) holding it
_LOCK = threading.Lock()


def _file_id(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class AutosaveFile:
    """One naming file owned by one widget for as long as the widget is open."""

    def __init__(self, path: str | os.PathLike, *, fingerprint: str, category: str, annotator: str):
        self.path = Path(path).expanduser().resolve()
        if self.path.is_dir():
            raise ValueError(f"The autosave path {self.path} is a folder; give a file path such as "
                             f"{self.path / 'annotator-category.json'}.")
        self.fingerprint, self.category, self.annotator = fingerprint, category, annotator
        self._expected: tuple[int, int, int] | None = None
        self._owner: Any = None

    def claim(self, owner: Any) -> None:
        """Mark the file as in use by ``owner``; raise if another open widget of this process has it."""
        key = str(self.path)
        with _LOCK:
            holder = _OPEN_FILES.get(key)
            if holder is not None and holder is not owner:
                raise AutosaveConflictError(
                    f"{self.path} is already the autosave file of another open naming widget in this "
                    "kernel. Call .close() on that widget first, or pass a different autosave path."
                )
            _OPEN_FILES[key] = owner
        self._owner = owner

    def take_over(self, owner: Any) -> Any:
        """Make ``owner`` the file's only widget; return the previous holder (or None)."""
        key = str(self.path)
        with _LOCK:
            previous = _OPEN_FILES.get(key)
            _OPEN_FILES[key] = owner
        self._owner = owner
        return None if previous is owner else previous

    def release(self) -> None:
        """Free the file for other widgets (idempotent)."""
        with _LOCK:
            if self._owner is not None and _OPEN_FILES.get(str(self.path)) is self._owner:
                del _OPEN_FILES[str(self.path)]
        self._owner = None

    def read_existing(self) -> dict | None:
        """The naming saved in the file, checked to belong here; None when there is no file yet."""
        self._expected = _file_id(self.path)
        if self._expected is None:
            return None
        doc = read_naming_file(self.path)  # corrupt -> NamingFileError, the file untouched
        check_owner(doc, source=str(self.path), fingerprint=self.fingerprint, category=self.category,
                    annotator=self.annotator)
        return doc

    def write(self, doc: Mapping) -> None:
        """Write ``doc`` atomically, unless the file changed since this widget last wrote or read it."""
        current = _file_id(self.path)
        if current is not None and current != self._expected:
            raise AutosaveConflictError(
                f"{self.path} was changed by someone else (another widget, kernel or program) since this "
                "widget last saved it; nothing was overwritten and the last change was not applied. "
                "Save this naming elsewhere with .save(path), or reopen the file."
            )
        write_json_atomic(self.path, doc)
        self._expected = _file_id(self.path)


def check_owner(doc: Mapping, *, source: str, fingerprint: str, category: str, annotator: str) -> None:
    """Raise ``NamingFileError`` unless the naming ``doc`` belongs to this set, category and person."""
    problems = []
    if doc.get("fingerprint") != fingerprint:
        problems.append(f"another activation set (fingerprint {doc.get('fingerprint')!r}, "
                        f"these activations have {fingerprint!r})")
    if doc.get("category") != category:
        problems.append(f"category {doc.get('category')!r} (not {category!r})")
    if doc.get("annotator") != annotator:
        problems.append(f"annotator {doc.get('annotator')!r} (not {annotator!r})")
    if problems:
        raise NamingFileError(
            f"{source} holds a naming for " + "; ".join(problems) + ". Nothing was overwritten; "
            "choose another autosave path for this naming."
        )
