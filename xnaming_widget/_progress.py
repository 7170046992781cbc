"""One progress bar for all long work, so that users can switch them off in one place."""
from __future__ import annotations

import os
from typing import Iterable, TypeVar

T = TypeVar("T")


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str | None = None,
             disable: bool | None = None, leave: bool = False) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar (notebook-aware). ``XNAMING_PROGRESS=0`` turns bars off."""
    if disable is None:
        disable = os.environ.get("XNAMING_PROGRESS", "1") == "0"
    if disable:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=leave)
