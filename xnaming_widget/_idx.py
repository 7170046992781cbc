"""Reader for the IDX files that MNIST and Fashion-MNIST ship in (plain or gzip-compressed).

Format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic number ``0x00 0x00 <type> <ndim>``,
then ``ndim`` big-endian uint32 dimension sizes, then the data in row-major order, big-endian.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

# IDX type byte -> numpy dtype (big-endian where it matters).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXFormatError(ValueError):
    """An IDX file is corrupt, truncated or not the kind of IDX file that was expected."""


def read_idx_bytes(raw: bytes, *, ndim: int | None = None, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of one (uncompressed) IDX file into a native-endian numpy array.

    ``ndim`` (if given) is the number of dimensions the caller expects: images are 3-d
    (magic 2051 for uint8), labels 1-d (magic 2049).
    """
    if len(raw) < 4:
        raise IDXFormatError(f"{source}: {len(raw)} bytes is too short for an IDX file "
                             "(it needs at least a 4-byte magic number); the file is truncated.")
    zero0, zero1, type_code, n_dims = raw[0], raw[1], raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES:
        raise IDXFormatError(
            f"{source}: bad IDX magic number 0x{magic:08x}; expected 0x0000TTDD with a type byte TT "
            f"in {sorted(hex(t) for t in _IDX_DTYPES)}. The file is corrupt or not an IDX file; "
            "delete it and fetch it again.")
    if ndim is not None and n_dims != ndim:
        raise IDXFormatError(
            f"{source}: IDX magic number 0x{magic:08x} says {n_dims} dimension(s), expected {ndim} "
            "(images have 3, labels 1). Did you swap the image and label files?")
    header_size = 4 + 4 * n_dims
    if len(raw) < header_size:
        raise IDXFormatError(f"{source}: truncated header ({len(raw)} bytes, needs {header_size}).")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=n_dims, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(raw) - header_size
    if payload != expected:
        raise IDXFormatError(
            f"{source}: the header announces shape {shape} ({expected} data bytes) but the file "
            f"holds {payload} data bytes; the file is truncated or corrupt. Fetch it again.")
    data = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike, *, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file from disk; gzip compression is detected from the content, not the name."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise IDXFormatError(f"{path}: the gzip stream is corrupt ({err}). Fetch the file again.") from err
    return read_idx_bytes(raw, ndim=ndim, source=str(path))
