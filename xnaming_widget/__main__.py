"""Command line: ``python -m xnaming_widget demo --out DIR`` and ``python -m xnaming_widget lab``.

``demo`` runs the main job headless on Fashion-MNIST (see :mod:`xnaming_widget.pipeline`):
classifier, explanation networks, faithfulness, c-MWP activations, simulated people naming
them, and a self-contained HTML report. ``lab`` opens JupyterLab on the quickstart notebook.

Bad arguments print what was wrong and exit with status 2; a failed run exits with status 1.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

QUICKSTART = "01_quickstart.ipynb"
REPO_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _parser() -> argparse.ArgumentParser:
    from .pipeline import DEFAULT_CATEGORIES, DEFAULT_SIGNIFICANCE, SIGNIFICANCE_RULES

    parser = argparse.ArgumentParser(
        prog="python -m xnaming_widget",
        description="xnaming-widget: explain what an image classifier learned, in people's words.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="run the main job headless on Fashion-MNIST and write an HTML report",
        description="Run the whole pipeline on Fashion-MNIST with simulated people instead of the widget: "
                    "classifier (cached), explanation networks, faithfulness, c-MWP heatmaps, naming files, "
                    "global explanations, coverage and agreement, and DIR/report.html. Rerunning into the "
                    "same folder with the same settings reuses the finished work.")
    demo.add_argument("--out", required=True, type=Path, metavar="DIR",
                      help="folder for the results (created; must be new, empty, or an earlier run with the "
                           "same settings)")
    demo.add_argument("--categories", nargs="+", default=list(DEFAULT_CATEGORIES), metavar="CLASS",
                      help=f"Fashion-MNIST classes to explain (default: {' '.join(DEFAULT_CATEGORIES)})")
    demo.add_argument("--annotators", type=_positive_int, default=3, metavar="N",
                      help="number of simulated people (default: 3)")
    demo.add_argument("--seed", type=_non_negative_int, default=0, metavar="S",
                      help="seed of the explanation networks and the simulated people (default: 0)")
    demo.add_argument("--significance", choices=sorted(SIGNIFICANCE_RULES), default=DEFAULT_SIGNIFICANCE,
                      help=f"which x-features of an image are explained (default: {DEFAULT_SIGNIFICANCE})")
    demo.add_argument("--quick", action="store_true",
                      help="reduced setting (fewer images and epochs, tens of seconds) for tests")
    demo.add_argument("--data", type=Path, default=None, metavar="DIR",
                      help="folder with the Fashion-MNIST IDX files (default: the usual places)")
    demo.add_argument("--progress", action="store_true", help="show progress bars inside the stages")

    lab = commands.add_parser(
        "lab", help=f"open JupyterLab on the quickstart notebook ({QUICKSTART})",
        description="Start JupyterLab on the example notebooks. Without --dir it opens the repository's "
                    "notebooks/ folder; with --dir it copies the notebooks into DIR (never overwriting a "
                    "file there) and opens them there, so the repository's copies stay clean.")
    lab.add_argument("--dir", type=Path, default=None, metavar="DIR",
                     help="work in DIR: copy the example notebooks there and start JupyterLab in it")
    lab.add_argument("--no-browser", action="store_true", help="start the server without opening a browser")
    lab.add_argument("--dry-run", action="store_true", help="print the command that would start JupyterLab, "
                                                            "and exit")
    return parser


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


# ----------------------------------------------------------------------------- demo

def _demo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")  # the CLI never opens windows
    from .pipeline import DemoError, run_demo

    try:
        result = run_demo(args.out, categories=args.categories, n_annotators=args.annotators, seed=args.seed,
                          quick=args.quick, significance=args.significance,
                          data_root=args.data, show_progress=args.progress)
    except DemoError as err:
        parser.exit(2, f"{parser.prog} demo: error: {err}\n")
    except FileNotFoundError as err:  # no Fashion-MNIST: the loader says where it looked and how to fix it
        parser.exit(1, f"{parser.prog} demo: error: {err}\n")
    overall = result.faithfulness.loc["overall"]
    print(f"\nFaithfulness on the test images: F_cls {overall['F_cls']:.3f}, F_reg {overall['F_reg']:.3f}, "
          f"xNN accuracy {overall['xnn_accuracy']:.3f} (DNN {overall['dnn_accuracy']:.3f})")
    print("Most frequent global explanations:")
    for (category, annotator), rows in result.top_explanations(2).groupby(["category", "annotator"], sort=True):
        shown = ", ".join(f"{label} {100 * fraction:.1f} %" for label, fraction in zip(rows["label"], rows["fraction"]))
        print(f"  {category}, {annotator}: {shown}")
    print(f"\nReport: {result.report}")
    return 0


# ----------------------------------------------------------------------------- lab

def notebooks_dir() -> Path | None:
    """The example notebooks folder of a source checkout, or None (an installed wheel has none)."""
    return REPO_NOTEBOOKS if (REPO_NOTEBOOKS / QUICKSTART).is_file() else None


def lab_command(workdir: Path, *, no_browser: bool) -> list[str]:
    """The command that starts JupyterLab in ``workdir`` on the quickstart notebook.

    As root (containers, CI machines) Jupyter refuses to start without ``--allow-root``, so it
    is added there.
    """
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workdir}", QUICKSTART]
    if no_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def _copy_notebooks(source: Path, target: Path) -> list[Path]:
    """Copy the example notebooks into ``target``; files already there are kept as they are."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for notebook in sorted(source.glob("*.ipynb")):
        destination = target / notebook.name
        if not destination.exists():
            shutil.copy2(notebook, destination)
            copied.append(destination)
    return copied


def _lab(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    source = notebooks_dir()
    if source is None:
        if (REPO_NOTEBOOKS.parent / "pyproject.toml").is_file():  # a source checkout without the notebook
            problem = f"{REPO_NOTEBOOKS / QUICKSTART} is missing from this checkout; restore it (git checkout)"
        else:
            problem = (f"the example notebooks are not installed with the package (looked for "
                       f"{REPO_NOTEBOOKS / QUICKSTART}). They live in the repository's notebooks/ folder: clone "
                       "the repository, install it with `pip install -e .` and run this command there")
        parser.exit(2, f"{parser.prog} lab: error: {problem}.\n")
    workdir = source
    if args.dir is not None:
        workdir = args.dir.expanduser().resolve()
        if workdir.exists() and not workdir.is_dir():
            parser.exit(2, f"{parser.prog} lab: error: --dir {workdir} is a file; give a folder.\n")
        if not args.dry_run:
            for path in _copy_notebooks(source, workdir):
                print(f"copied {path.name} to {workdir}")
    if importlib.util.find_spec("jupyterlab") is None:
        parser.exit(2, f"{parser.prog} lab: error: JupyterLab is not installed; "
                       "`pip install 'xnaming-widget[notebooks]'` installs it.\n")
    command = lab_command(workdir, no_browser=args.no_browser)
    if args.dry_run:
        print(" ".join(command))
        print(f"(in {workdir})")
        return 0
    return _launch(command, workdir)


def _launch(command: list[str], cwd: Path) -> int:
    """Start JupyterLab. On POSIX this process becomes JupyterLab (``exec``), so Ctrl-C, its
    shutdown question and signals reach the server itself and no orphan is left behind."""
    if os.name == "posix":
        os.chdir(cwd)
        os.execv(command[0], command)
        return 0  # not reached: execv does not return (only when a test stands in for it)
    return subprocess.call(command, cwd=cwd)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m xnaming_widget`` and of the ``xnaming-widget`` script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args, parser)
    return _lab(args, parser)


if __name__ == "__main__":
    sys.exit(main())
