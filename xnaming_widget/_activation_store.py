"""Files behind an ActivationSet: the canonical table, packed PNG blobs, atomic numpy/CSV
writes (through :mod:`._files`) and the content fingerprint. numpy, JSON and CSV only;
nothing is ever pickled."""
from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from ._files import replace_atomically, write_json_atomic, write_text_atomic

SCHEMA = "xnaming-widget/activations"
SCHEMA_VERSION = 2  # 2: the fingerprint covers the thumbnails too (1 still loads)
READABLE_VERSIONS = (1, 2)
COLUMNS = ["activation_id", "image_id", "category", "xfeature", "value", "weight",
           "contribution", "significant", "predicted", "label"]
_STRING_COLUMNS = ["activation_id", "image_id", "category", "predicted", "label"]
_FLOAT_COLUMNS = ["value", "weight", "contribution"]

__all__ = ["SCHEMA", "SCHEMA_VERSION", "COLUMNS", "canonical_table", "table_to_csv",
           "table_from_csv", "PackedBlobs", "pack_blobs", "unpack_blobs", "save_npy_atomic", "save_npz_atomic",
           "load_npy", "map_npy", "write_text_atomic", "write_json", "read_json", "content_fingerprint",
           "VERIFIED", "unchanged_since_verified", "record_verified"]


def canonical_table(table: pd.DataFrame, *, from_csv: bool = False, ids_checked: bool = False) -> pd.DataFrame:
    """The table with definitions §5's columns in order, fixed dtypes and index 0..R-1.

    Strings are pandas ``str`` columns with NaN for a missing ``label``; ``xfeature`` int64;
    ``value``/``weight``/``contribution`` float64; ``significant`` bool. Applying this both when
    building and when loading is what makes a save/load round trip exact.

    ``from_csv``: a table :func:`table_from_csv` just parsed (not copied; only ``label`` can be
    missing there). ``ids_checked``: its activation ids are known to be unique (a file unchanged
    since it was checked), so the check is skipped.
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"activation table lacks the columns {missing}; definitions §5 needs {COLUMNS}")
    table = table.loc[:, COLUMNS].reset_index(drop=True)
    if not from_csv:
        table = table.copy()
    for column in _STRING_COLUMNS:
        values = table[column]
        if column != "label" and not from_csv and values.isna().any():
            raise ValueError(f"activation table column {column!r} has missing values; only "
                             "'label' may be missing")
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            table[column] = values.astype("str")  # already text: the same result, without a call per row
        else:
            table[column] = values.map(lambda v: v if pd.isna(v) else str(v)).astype("str")
    table["xfeature"] = table["xfeature"].astype(np.int64)
    for column in _FLOAT_COLUMNS:
        table[column] = table[column].astype(np.float64)
    table["significant"] = table["significant"].astype(bool)
    if not ids_checked and table["activation_id"].duplicated().any():
        duplicates = table.loc[table["activation_id"].duplicated(), "activation_id"].head(3).tolist()
        raise ValueError(f"activation ids must be unique; repeated: {duplicates}")
    return table


def table_to_csv(table: pd.DataFrame) -> str:
    """CSV text of a canonical table; floats are written with round-trip precision."""
    return table.to_csv(index=False, lineterminator="\n")


def table_from_csv(text: str | Path, *, ids_checked: bool = False) -> pd.DataFrame:
    """Read :func:`table_to_csv` text (or the file at a ``Path``) back; only empty cells count as
    missing (never "NA"). ``ids_checked``: see :func:`canonical_table`."""
    dtypes = {c: "str" for c in _STRING_COLUMNS}
    dtypes.update({"xfeature": "int64", **{c: "float64" for c in _FLOAT_COLUMNS}})
    source = text if isinstance(text, Path) else io.StringIO(text)
    table = pd.read_csv(source, dtype=dtypes, encoding="utf-8", keep_default_na=False, na_values={"label": [""]})
    if table["significant"].dtype != bool:  # pandas may have read True/False as text
        table["significant"] = table["significant"].map({"True": True, "False": False, True: True,
                                                         False: False}).astype(bool)
    return canonical_table(table, from_csv=True, ids_checked=ids_checked)


class PackedBlobs(Sequence):
    """A read-only sequence of byte strings kept packed end to end: ``data`` (uint8) and
    ``offsets`` (int64, len + 1); item i is ``bytes(data[offsets[i]:offsets[i + 1]])``.

    This is how an :class:`~xnaming_widget.activations.ActivationSet` holds its PNG thumbnails:
    a loaded set maps ``thumbnails.npy`` into memory and slices one PNG when it is asked for,
    instead of making 100,000 Python ``bytes`` objects at load. Equal to any sequence of the
    same byte strings.
    """

    __slots__ = ("data", "offsets")

    def __init__(self, data: np.ndarray, offsets: np.ndarray):
        self.data = data
        self.offsets = offsets

    @classmethod
    def of(cls, blobs: Sequence[bytes] | "PackedBlobs") -> "PackedBlobs":
        """``blobs`` packed (a PackedBlobs is returned as it is)."""
        if isinstance(blobs, PackedBlobs):
            return blobs
        return cls(*pack_blobs(blobs))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        index = int(index)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"blob index {index} out of range for {n} blobs")
        return self.data[int(self.offsets[index]):int(self.offsets[index + 1])].tobytes()

    def __iter__(self) -> Iterator[bytes]:
        return (self[i] for i in range(len(self)))

    @property
    def lengths(self) -> np.ndarray:
        """The byte length of each blob (int64)."""
        return np.diff(np.asarray(self.offsets, dtype=np.int64))

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """``(data, offsets)`` with offsets starting at 0 and data holding just the blobs."""
        start, end = int(self.offsets[0]) if len(self.offsets) else 0, int(self.offsets[-1]) if len(self.offsets) else 0
        return self.data[start:end], np.asarray(self.offsets, dtype=np.int64) - start

    def take(self, indices: Sequence[int]) -> "PackedBlobs":
        """The blobs at ``indices``, in that order, packed anew."""
        return PackedBlobs.of([self[i] for i in indices])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedBlobs):
            (a, a_offsets), (b, b_offsets) = self.packed(), other.packed()
            return np.array_equal(a_offsets, b_offsets) and np.array_equal(a, b)
        if isinstance(other, (list, tuple)):
            return len(other) == len(self) and all(x == y for x, y in zip(self, other))
        return NotImplemented

    __hash__ = None  # mutable arrays behind it

    def __repr__(self) -> str:
        return f"PackedBlobs({len(self)} blobs, {int(self.lengths.sum()) if len(self) else 0} bytes)"


def pack_blobs(blobs: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Byte strings as one uint8 array and int64 offsets (len + 1), for ``.npy`` storage."""
    if isinstance(blobs, PackedBlobs):
        return blobs.packed()
    lengths = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8).copy()
    return data, offsets


def unpack_blobs(data: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    """The inverse of :func:`pack_blobs`."""
    raw = np.asarray(data, dtype=np.uint8).tobytes()
    return [raw[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def save_npy_atomic(path: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` that leaves either the old or the new file, never half of one."""
    array = np.ascontiguousarray(array)
    if array.dtype == object:
        raise TypeError(f"refusing to save an object array to {path}: it would need pickle")
    replace_atomically(Path(path), lambda handle: np.save(handle, array, allow_pickle=False))


def save_npz_atomic(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """``np.savez`` of several arrays (no object arrays) into a file that appears only complete."""
    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise TypeError(f"refusing to save object array {name!r} to {path}: it would need pickle")
    replace_atomically(Path(path), lambda handle: np.savez(handle, **arrays))


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """``np.load`` with pickle refused."""
    return np.load(path, allow_pickle=False)


def map_npy(path: str | os.PathLike) -> np.ndarray:
    """A ``.npy`` file mapped read-only into memory (pages are read when touched), pickle refused.

    The file's size must be exactly its header plus the array: a truncated file or one with
    bytes appended raises ``ValueError`` (which :func:`read_checked` turns into an error naming it).
    """
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if isinstance(array, np.memmap):
        expected = array.offset + array.nbytes
        size = os.path.getsize(path)
        if size != expected:
            raise ValueError(f"the file has {size} bytes where its header says {expected}")
    return array


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically and readable by the folder's users."""
    write_json_atomic(path, obj)


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class ActivationFileError(ValueError):
    """A file of a saved activation set that is missing, truncated or damaged; the message names it."""


def content_fingerprint(table: pd.DataFrame, image_ids: Sequence[str], images: np.ndarray,
                        heatmap_rows: np.ndarray, heatmaps: np.ndarray,
                        thumbnails: Sequence[Sequence[bytes]] | None = None, version: int = SCHEMA_VERSION, *,
                        table_csv: str | None = None, descriptors: np.ndarray | None = None) -> str:
    """SHA-256 (first 16 hex digits) of the ids and contents of an activation set.

    Covers the table, the image ids and pixels, the heatmaps (with which row each belongs to)
    and, from version 2 on, every thumbnail in order (``thumbnails``: the heatmap and image
    thumbnail lists), so a damaged or reordered thumbnail cannot show another activation's
    picture unnoticed. Version 1 fingerprints (sets saved before) are computed without them.
    Descriptors, when the set has them, are covered too (a set without them hashes as before).
    ``table_csv``: the table's CSV text when the caller has it already (``table_to_csv(table)``,
    e.g. the file just read), which saves writing it again.
    """
    digest = hashlib.sha256()
    digest.update(f"{SCHEMA}/{1 if version == 1 else SCHEMA_VERSION}\n".encode())
    digest.update((table_to_csv(table) if table_csv is None else table_csv).encode("utf-8"))
    digest.update(json.dumps(list(image_ids)).encode("utf-8"))
    for array in (images, heatmap_rows, heatmaps):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array.reshape(-1).view(np.uint8)))  # the bytes of tobytes(), not copied
    if descriptors is not None:
        array = np.ascontiguousarray(descriptors)
        digest.update(f"descriptors{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array.reshape(-1).view(np.uint8)))
    if version != 1:
        for blobs in thumbnails or ():
            if isinstance(blobs, PackedBlobs):  # the same bytes as below, in two updates
                data, offsets = blobs.packed()
                digest.update(np.diff(offsets).astype(np.int64).tobytes())
                digest.update(memoryview(np.ascontiguousarray(data)))
                continue
            digest.update(np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs)).tobytes())
            for blob in blobs:  # each PNG as it is: no packed copy of them all
                digest.update(blob)
    return digest.hexdigest()[:16]


def read_checked(path: Path, read):
    """``read(path)``, with any failure turned into an :class:`ActivationFileError` naming the file."""
    try:
        return read(path)
    except FileNotFoundError:
        raise ActivationFileError(f"{path} is missing from the activation set; build the set again "
                                  "(or copy the whole folder).") from None
    except (ValueError, EOFError, OSError, KeyError, json.JSONDecodeError, pd.errors.ParserError) as err:
        raise ActivationFileError(f"{path} is truncated or damaged ({type(err).__name__}: {err}); build "
                                  "the set again or restore the folder from a copy.") from None


# ---------------------------------------------------------------- verified files
#
# Recomputing the fingerprint means reading and hashing every byte of the set (about 1 GB at
# 100,000 activations). So the folder remembers, in VERIFIED, the size, mtime, ctime, inode and
# device of each file as they were when its content was last hashed and found to match the
# manifest (by save(), or by a load that had to hash). A later load hashes again only if any of
# these changed: any write, replacement, copy or restore of a file changes its ctime or inode,
# which no user can set back. The file is a cache, not an authority: a missing, stale or
# unreadable one only costs a full hash.

VERIFIED = "verified.json"
_VERIFIED_SCHEMA = "xnaming-widget/activations-verified"


def _stat_record(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def unchanged_since_verified(directory: Path, names: Sequence[str], fingerprint: str) -> bool:
    """Whether every file in ``names`` is as it was when the folder's content was last hashed and
    matched ``fingerprint`` (see above). False whenever in doubt.

    A file whose ctime is not strictly older than the record itself is in doubt: it may have
    been changed within the file system's clock tick in which it was recorded (git's "racily
    clean" entries).
    """
    path = directory / VERIFIED
    try:
        recorded_at = path.stat().st_mtime_ns
        record = read_json(path)
        files = record["files"]
        if record.get("schema") != _VERIFIED_SCHEMA or record.get("fingerprint") != fingerprint \
                or sorted(files) != sorted(names):
            return False
        for name in names:
            now = _stat_record(directory / name)
            if now != files[name] or now[2] >= recorded_at:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


def record_verified(directory: Path, names: Sequence[str], fingerprint: str,
                    stats: dict[str, list[int]] | None = None) -> bool:
    """Write VERIFIED for ``names`` (``stats``: taken before their content was hashed; default
    now). Best effort: a folder that cannot be written to just keeps no record (False).

    When a file's ctime falls in the same clock tick as the record, the record is written again
    a few milliseconds later, so that the next load can trust it.
    """
    stats = stats if stats is not None else stat_records(directory, names)
    if stats is None:
        return False
    try:
        newest = max((record[2] for record in stats.values()), default=0)
        for _ in range(5):
            write_json(directory / VERIFIED, {"schema": _VERIFIED_SCHEMA, "fingerprint": fingerprint,
                                              "files": stats})
            if (directory / VERIFIED).stat().st_mtime_ns > newest:
                return True
            time.sleep(0.005)
    except OSError:
        return False
    return False


def stat_records(directory: Path, names: Sequence[str]) -> dict[str, list[int]] | None:
    """The stat records of ``names`` now, or None if any cannot be read."""
    try:
        return {name: _stat_record(directory / name) for name in names}
    except OSError:
        return None
