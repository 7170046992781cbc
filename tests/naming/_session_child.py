"""A naming session in a child process, for the crash and lock tests (not collected by pytest).

``python _session_child.py PATH SEED N_OPS [COMPACT_EVERY]``: opens a NamingWidget autosaving
into PATH over the fixture's activations, applies N_OPS random operations (parity.py's
generator) and prints ``done <i>`` after operation i returned, i.e. after it was reported
saved. ``... PATH hold`` opens the file, prints ``holding <pid>`` and waits for stdin to close.
"""
from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pandas as pd

_spec = importlib.util.spec_from_file_location("naming_parity", Path(__file__).with_name("parity.py"))
parity = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(parity)

from xnaming_widget.naming import NamingError  # noqa: E402
from xnaming_widget.widget import NamingWidget, naming_widget  # noqa: E402

IDS = [f"Sneaker/img{i:05d}/x{k}" for i in range(40) for k in range(5)]


def activation_table() -> pd.DataFrame:
    return pd.DataFrame({
        "activation_id": IDS, "image_id": [a.split("/")[1] for a in IDS], "category": "Sneaker",
        "xfeature": [int(a[-1]) for a in IDS], "contribution": 1.0, "significant": True,
    })


class _Adapter:
    """Lets parity's operation generator drive a widget as it drives a NamingState."""

    def __init__(self, widget):
        self.widget = widget

    def __getattr__(self, name):
        return getattr(self.widget._naming, name)


def ops(seed: int, state, n: int):
    rng = random.Random(seed)
    for i in range(n):
        yield i, parity._random_op(rng, state, IDS)


def main() -> None:
    path = Path(sys.argv[1])
    widget = NamingWidget(activation_table(), category="Sneaker", annotator="ana", autosave=path)
    if sys.argv[2] == "hold":
        print(f"holding {__import__('os').getpid()}", flush=True)
        sys.stdin.read()
        return
    seed, n_ops = int(sys.argv[2]), int(sys.argv[3])
    if len(sys.argv) > 4:
        naming_widget.COMPACT_EVERY = int(sys.argv[4])
    print("ready", flush=True)
    for i, op in ops(seed, _Adapter(widget), n_ops):
        try:
            parity._apply(widget, op)  # the widget has NamingState's method names
        except NamingError:
            pass
        print(f"done {i}", flush=True)
    widget.close()


if __name__ == "__main__":
    main()
