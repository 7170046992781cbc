"""One progress bar for all long work, so that users can switch them off in one place.

In a terminal or a notebook, bars nest as tqdm draws them. Anywhere else (a log file, a pipe,
CI) a bar cannot be redrawn in place: each one leaves a line, so only the outermost bar is
shown and it is kept (one line per step); bars opened inside it, such as the per-chunk heatmap
bars inside the activation-set bar, are skipped instead of leaving stale "0 %" lines.
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_open_bars = 0  # bars being iterated now (outermost first)


def _interactive() -> bool:
    """True in a terminal or a Jupyter kernel, where a bar is redrawn in place."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and "IPKernelApp" in shell.config:
            return True
    except ImportError:
        pass
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class _Tracked:
    """A tqdm bar that counts itself as open while it is being iterated."""

    def __init__(self, bar) -> None:
        self.bar = bar

    def __iter__(self) -> Iterator:
        global _open_bars
        _open_bars += 1
        try:
            yield from self.bar
        finally:
            _open_bars -= 1

    def __len__(self) -> int:
        return len(self.bar)

    def __getattr__(self, name: str):
        return getattr(self.bar, name)


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str | None = None,
             disable: bool | None = None, leave: bool = False) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar (notebook-aware). ``XNAMING_PROGRESS=0`` turns bars off.

    Outside a terminal or notebook, a bar inside another is skipped and the outer one is kept.
    """
    if disable is None:
        disable = os.environ.get("XNAMING_PROGRESS", "1") == "0"
    if disable:
        return iterable
    interactive = _interactive()
    if _open_bars and not interactive:
        return iterable
    from tqdm.auto import tqdm

    return _Tracked(tqdm(iterable, total=total, desc=desc, leave=leave or not interactive))
