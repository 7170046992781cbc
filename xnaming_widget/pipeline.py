"""The main job, headless, on the built-in default: ``python -m xnaming_widget demo --out DIR``.

:func:`run_demo` runs the whole pipeline of definitions §1 on Fashion-MNIST without a browser:

1. load Fashion-MNIST (train and test splits);
2. the demo classifier (``models.demo_classifier``: a DemoCNN, trained once and cached);
3. ``fc6`` features of a seeded sample of training images (to fit the XNNs) and of the test
   images (to measure faithfulness on images the XNNs never saw);
4. one SRAE XNN per class, 5 x-features each (``fit_class_xnns``), saved in the run folder;
5. the faithfulness table (F_reg, RMSE, F_cls, xNN vs DNN accuracy) on the test images;
6. the activation set of the chosen categories with c-MWP heatmaps, built chunk by chunk into
   ``DIR/activations`` (an interrupted run resumes from the finished chunks);
7. simulated people instead of the widget (``analysis.simulate_annotators``): each one names
   the significant activations starting from a ground-truth concept (see :func:`region_truth`)
   with some skipping, trash, wrong names, splits and merges. Their namings are written by the
   naming widget itself, driven through its Python API with autosave, so the files in
   ``DIR/namings`` are exactly what a person's widget writes and open in ``NamingWidget.load``;
8. the namings read back from those files (``analysis.Namings``) -> global explanations,
   coverage, named-by-n, purity and agreement tables between the people;
9. the figures of ``plots`` (PNG files in ``DIR/figures``) and the tables (CSV in ``DIR/tables``);
10. a self-contained HTML report, ``DIR/report.html``, that opens offline.

Every stage prints one line with what it did and how long it took. A second run into the same
folder with the same settings reuses the finished work (model cache, XNN bank, activation set,
naming files) and only redoes the cheap analysis; other settings are refused, so a folder
never mixes two runs.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from ._files import replace_atomically, write_text_atomic

__all__ = ["DemoError", "DemoResult", "DemoScale", "DEFAULT_CATEGORIES", "DEFAULT_SIGNIFICANCE", "FULL", "QUICK",
           "SIGNIFICANCE_RULES", "region_truth", "run_demo"]

DEFAULT_CATEGORIES = ("Sneaker", "Bag")
SIGNIFICANCE_RULES = {
    "top_fraction": "the fewest x-features carrying 90 % of the positive evidence (top-fraction)",
    "msx": "the minimal sufficient explanation (MSX: the fewest positive terms outweighing the negative ones)",
}
DEFAULT_SIGNIFICANCE = "top_fraction"
LAYER = "fc6"
N_XFEATURES = 5
REGION_ROWS = ("top", "middle", "bottom")
REGION_COLS = ("left", "right")
BACKGROUND = "background"
OBJECT_THRESHOLD = 0.1  # a pixel belongs to the object when brighter than 10 % of the image's maximum
# how the simulated people stray from the truth (analysis.simulate_annotators' probabilities)
SIMULATED_PEOPLE = {"skip": 0.1, "trash": 0.02, "noise": 0.05, "split": 0.1, "merge": 0.05}
RUN_FILE = "demo.json"
RUN_SCHEMA = "xnaming-widget/demo-run"


class DemoError(ValueError):
    """The demo cannot run as asked (bad settings, or a run folder holding another run)."""


@dataclass(frozen=True)
class DemoScale:
    """How much data each stage of the demo uses.

    ``model_train_per_class``: training images per class for the classifier (None: the whole
    train split through ``models.demo_classifier``, the cached built-in model);
    ``model_epochs``: its epochs; ``n_xnn_fit``: training images whose features fit the XNNs;
    ``xnn_epochs``: XNN epochs; ``n_test``: first test images for the faithfulness table
    (None: all 10 000); ``n_explain``: first test images whose predictions are explained
    (their heatmaps are drawn and named).
    """

    model_train_per_class: int | None
    model_epochs: int
    n_xnn_fit: int
    xnn_epochs: int
    n_test: int | None
    n_explain: int


FULL = DemoScale(model_train_per_class=None, model_epochs=5, n_xnn_fit=10_000, xnn_epochs=20, n_test=None,
                 n_explain=1_000)
QUICK = DemoScale(model_train_per_class=300, model_epochs=2, n_xnn_fit=2_000, xnn_epochs=5, n_test=1_000,
                  n_explain=200)


@dataclass
class DemoResult:
    """What :func:`run_demo` made: the paths of its files and the key tables.

    ``global_explanations`` is long: one row per (category, annotator, explanation) with
    ``explanation`` (tuple of concept names), ``label`` (the names joined with " + "),
    ``count`` and ``fraction``. ``timings`` maps each stage to its seconds; ``work`` counts
    what each stage computed rather than reused (model trained, XNNs fitted, heatmap chunks
    computed, naming files written), so a resumed run shows zeros there.
    """

    out_dir: Path
    report: Path
    activations_dir: Path
    namings_dir: Path
    figures: dict[str, Path]
    faithfulness: pd.DataFrame
    activation_summary: pd.DataFrame
    global_explanations: pd.DataFrame
    coverage: pd.DataFrame
    named_by_n: pd.DataFrame
    purity: pd.DataFrame
    pairwise: pd.DataFrame | None
    timings: dict[str, float] = field(default_factory=dict)
    work: dict[str, int] = field(default_factory=dict)

    def top_explanations(self, k: int = 3) -> pd.DataFrame:
        """The ``k`` most frequent global explanations of every (category, annotator)."""
        return (self.global_explanations.groupby(["category", "annotator"], sort=True, group_keys=False)
                .head(k).reset_index(drop=True))


# ----------------------------------------------------------------------------- progress lines

class _Stages:
    """Prints ``[i/n] stage: what happened (seconds)`` for each stage and keeps the timings."""

    def __init__(self, total: int, log: Callable[[str], None] | None):
        self.total, self.log, self.count = total, log, 0
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[list[str]]:
        """Time a stage; whatever the body appends to the yielded list becomes its message."""
        self.count += 1
        notes: list[str] = []
        start = time.perf_counter()
        yield notes
        seconds = time.perf_counter() - start
        self.timings[name] = seconds
        if self.log is not None:
            detail = f": {'; '.join(notes)}" if notes else ""
            self.log(f"[{self.count}/{self.total}] {name}{detail} ({seconds:.1f} s)")


def _print_line(line: str) -> None:
    print(line, flush=True)


# ----------------------------------------------------------------------------- ground truth

def region_truth(activations) -> pd.Series:
    """The true concept of each significant activation: the object region under its heatmap's peak.

    Fashion-MNIST has no part annotations, so the demo's simulated people name a heatmap after
    *where* it points. The object is the box around the image's pixels brighter than 10 % of its
    maximum; the box is cut into a 3 × 2 grid (rows top / middle / bottom, columns left /
    right), and the concept is the cell holding the heatmap's peak, e.g. ``"bottom left"``;
    a peak outside the box is ``"background"``. Where a heatmap peaks is
    ``metrics.map_peaks``, the project's one rule (the hottest small patch, as a person sees
    it). Returns a Series activation_id -> concept name.
    """
    from .metrics.object_maps import map_peaks

    table = activations.table
    rows = np.flatnonzero(table["significant"].to_numpy(dtype=bool))
    ids = table["activation_id"].to_numpy()[rows].astype(str)
    if len(rows) == 0:
        return pd.Series([], index=pd.Index([], name="activation_id"), dtype=object, name="truth")
    maps = activations.heatmaps[activations.heatmap_rows[rows]].astype(np.float32)          # (S, H, W)
    image_row = pd.Index(activations.image_ids).get_indexer(table["image_id"].to_numpy()[rows])
    pixels = activations.images.max(axis=-1).astype(np.float32)[image_row]                 # (S, H, W)
    S, H, W = maps.shape
    on_object = pixels > OBJECT_THRESHOLD * pixels.reshape(S, -1).max(axis=1)[:, None, None]
    row_any, col_any = on_object.any(axis=2), on_object.any(axis=1)                         # (S, H), (S, W)
    has_object = row_any.any(axis=1)
    top, bottom = row_any.argmax(axis=1), H - row_any[:, ::-1].argmax(axis=1)               # [top, bottom)
    left, right = col_any.argmax(axis=1), W - col_any[:, ::-1].argmax(axis=1)
    r, c = map_peaks(maps).T
    inside = has_object & (r >= 0) & (r >= top) & (r < bottom) & (c >= left) & (c < right)
    cell_r = np.clip((r - top) * len(REGION_ROWS) // np.maximum(bottom - top, 1), 0, len(REGION_ROWS) - 1)
    cell_c = np.clip((c - left) * len(REGION_COLS) // np.maximum(right - left, 1), 0, len(REGION_COLS) - 1)
    names = np.array([f"{a} {b}" for a in REGION_ROWS for b in REGION_COLS], dtype=object)
    truth = np.where(inside, names[cell_r * len(REGION_COLS) + cell_c], BACKGROUND)
    return pd.Series(truth, index=pd.Index(ids, name="activation_id"), name="truth")


# ----------------------------------------------------------------------------- run folder

def _settings(categories, n_annotators, seed, quick, significance, scale: DemoScale) -> dict:
    return {"categories": list(categories), "n_annotators": int(n_annotators), "seed": int(seed),
            "quick": bool(quick), "significance": significance, "scale": asdict(scale), "layer": LAYER,
            "n_xfeatures": N_XFEATURES, "heatmaps": "cmwp",
            "truth": "object region under the heatmap peak (3 x 2 grid)"}


def _claim_run_folder(out: Path, settings: dict) -> bool:
    """Create ``out`` or check that it holds a run with the same settings; True when resuming."""
    run_file = out / RUN_FILE
    if out.exists() and not out.is_dir():
        raise DemoError(f"--out {out} is a file; give a folder for the demo's results.")
    if run_file.is_file():
        try:
            saved = json.loads(run_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise DemoError(f"{run_file} is damaged; delete the folder {out} or choose another --out.") from None
        if saved.get("settings") != settings:
            differ = sorted(k for k in settings if saved.get("settings", {}).get(k) != settings[k])
            raise DemoError(f"{out} holds a demo run with other settings ({', '.join(differ)} differ). "
                            "Choose another --out, or delete that folder to start over.")
        return True
    if out.is_dir() and any(out.iterdir()):
        raise DemoError(f"{out} is not empty and holds no demo run ({RUN_FILE} is missing). "
                        "Choose a new or empty folder for --out.")
    from ._files import write_json_atomic

    write_json_atomic(run_file, {"schema": RUN_SCHEMA, "settings": settings})
    return False


# ----------------------------------------------------------------------------- stages

def _check_arguments(categories, n_annotators, seed, significance) -> list[str]:
    from .data import FASHION_MNIST_CLASSES

    categories = [str(c) for c in categories]
    if not categories:
        raise DemoError("Give at least one category to explain, e.g. --categories Sneaker Bag.")
    unknown = [c for c in categories if c not in FASHION_MNIST_CLASSES]
    if unknown:
        raise DemoError(f"Unknown categories {unknown}; Fashion-MNIST's classes are {FASHION_MNIST_CLASSES} "
                        "(quote names with a slash or space, e.g. 'T-shirt/top').")
    if len(set(categories)) != len(categories):
        raise DemoError(f"Categories repeat: {categories}; give each once.")
    if not isinstance(n_annotators, (int, np.integer)) or n_annotators < 1:
        raise DemoError(f"The number of simulated annotators must be a whole number >= 1, got {n_annotators!r}.")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DemoError(f"The seed must be a whole number >= 0, got {seed!r}.")
    if significance not in SIGNIFICANCE_RULES:
        raise DemoError(f"Unknown significance rule {significance!r}; use one of {sorted(SIGNIFICANCE_RULES)}.")
    return categories


def _classifier(train, test, scale: DemoScale, data_root, cache_dir, show: bool):
    """The built-in classifier (full) or a small one trained on a class-balanced sample (quick)."""
    from .models import demo_classifier, train_classifier

    if scale.model_train_per_class is None:
        return demo_classifier(root=data_root, epochs=scale.model_epochs, seed=0, cache_dir=cache_dir,
                               progress=show)
    rng = np.random.default_rng(0)
    picks = np.concatenate([rng.choice(np.flatnonzero(train.labels == c), scale.model_train_per_class,
                                       replace=False) for c in range(len(train.classes))])
    return train_classifier(train.subset(rng.permutation(picks)), test, epochs=scale.model_epochs, seed=0,
                            cache_dir=cache_dir, progress=show)


def _write_namings(activations, truth: pd.Series, namings_dir: Path, n_annotators: int, seed: int) -> int:
    """Simulated people name each category in the naming widget (autosaving); return files written.

    A naming file already there for this activation set (same fingerprint) is kept: it is the
    same simulated naming from an earlier run, or a person's own work. A file of another set is
    refused rather than overwritten. Each naming is made in ``namings/.unfinished`` and moved
    into ``namings/`` only when complete, so an interrupted run never leaves a half naming
    that a rerun would take for a finished one.
    """
    from .analysis import simulate_annotators
    from .naming.document import read_naming_file
    from .widget import NamingWidget

    simulated = simulate_annotators(activations, truth, n_annotators, seed=seed, **SIMULATED_PEOPLE)
    unfinished = namings_dir / ".unfinished"  # a naming is made here and moved in only when complete
    shutil.rmtree(unfinished, ignore_errors=True)  # what an interrupted run left half done
    written = 0
    for (annotator, category), rows in simulated.groupby(["annotator", "category"], sort=True):
        path = namings_dir / f"{annotator}-{category.replace('/', '_')}.json"
        if path.exists():
            doc = read_naming_file(path)
            if doc.get("fingerprint") != activations.fingerprint:
                raise DemoError(f"{path} is a naming of another activation set; move it away (it may be "
                                "someone's work) or choose another --out.")
            continue
        work = unfinished / path.name
        widget = NamingWidget(activations, category=category, annotator=annotator, autosave=work)
        try:
            named = rows[rows["status"] == "named"]
            for concept_id, members in named.groupby("concept_id", sort=True):
                widget.create_concept(str(members["concept"].iloc[0]), list(members["activation_id"]))
            trash = list(rows.loc[rows["status"] == "trash", "activation_id"])
            if trash:
                widget.move(trash, "trash")
        finally:
            widget.close()
        os.replace(work, path)  # complete: only now does the naming join the run
        written += 1
    shutil.rmtree(unfinished, ignore_errors=True)
    return written


def _global_explanations(namings, activations) -> pd.DataFrame:
    from .analysis import global_explanation

    parts = []
    for annotator, category, table in namings.pairs():
        part = global_explanation(table, activations)
        part.insert(0, "annotator", annotator)
        part.insert(0, "category", category)
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    out.insert(3, "label", out["explanation"].map(" + ".join))
    return out


def _activation_summary(activations) -> pd.DataFrame:
    table = activations.table
    sig = table["significant"].to_numpy(dtype=bool)
    frame = pd.DataFrame({"category": table["category"].to_numpy(), "image_id": table["image_id"].to_numpy(),
                          "significant": sig,
                          "correct": (table["predicted"].astype(str) == table["label"].astype(str)).to_numpy()})
    grouped = frame.groupby("category", sort=False)
    per_image = frame.drop_duplicates(["category", "image_id"]).groupby("category", sort=False)
    summary = pd.DataFrame({
        "images": per_image.size(),
        "correctly_predicted": per_image["correct"].mean(),
        "activations": grouped.size(),
        "significant": grouped["significant"].sum().astype(int),
    })
    summary["significant_per_image"] = summary["significant"] / summary["images"]
    # where the significant maps land (metrics.on_object, the garment = pixels brighter than 0.05):
    # people can only name maps that sit on the object
    from .metrics.object_maps import activation_set_on_object

    landing = activation_set_on_object(activations).groupby("category", sort=False)
    for column in ("mass_on_object", "peak_on_object", "peak_at_border"):
        summary[column] = landing[column].mean()
    return summary


def _figures(result_tables: dict, namings, activations, categories, figures_dir: Path) -> dict:
    """Draw the report's figures and save each as a PNG; returns name -> (Figure, path)."""
    import matplotlib.pyplot as plt

    from . import plots
    from .analysis import dfamily_agreement

    figures_dir.mkdir(parents=True, exist_ok=True)
    global_table = result_tables["global"]
    annotators = namings.annotators
    drawn: dict[str, object] = {}
    for category in categories:
        fig, axes = plt.subplots(len(annotators), 1, squeeze=False, figsize=(7.5, 2.6 * len(annotators)))
        for ax, annotator in zip(axes[:, 0], annotators):
            rows = global_table[(global_table["category"] == category) & (global_table["annotator"] == annotator)]
            plots.plot_global_explanation(rows.reset_index(drop=True), ax=ax, title=f"{category}: {annotator}")
        drawn[f"global-{category}"] = fig
    drawn["coverage"] = plots.plot_coverage(result_tables["coverage"])
    drawn["named-by-n"] = plots.plot_named_by_n(result_tables["named_by_n"])
    if result_tables["pairwise"] is not None:
        drawn["agreement"] = plots.plot_pairwise_table(result_tables["pairwise"])
        first, second = annotators[:2]
        category = categories[0]
        match = dfamily_agreement(namings.get(first, category), namings.get(second, category), D=2,
                                  activations=activations)
        drawn["matching"] = plots.plot_matching(match, label_a=first, label_b=second)
    try:
        drawn["gallery"] = plots.plot_gallery(namings.get(annotators[0], categories[0]), activations.thumbnail,
                                              activations=activations)
    except ValueError:  # no concept large enough to show
        pass
    saved = {}
    for name, fig in drawn.items():
        path = figures_dir / f"{name.replace('/', '_')}.png"
        replace_atomically(path, lambda handle, fig=fig: fig.savefig(handle, format="png", dpi=110,
                                                                      bbox_inches="tight"))
        saved[name] = (fig, path)
    return saved


def _write_tables(tables_dir: Path, tables: dict[str, pd.DataFrame | None]) -> None:
    tables_dir.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if table is not None:
            write_text_atomic(tables_dir / f"{name}.csv", table.to_csv())


def _report(path: Path, *, settings, model, faithfulness, summary, figures, tables, timings) -> Path:
    from .analysis import format_pairwise_table
    from .report import Report

    report = Report("xnaming-widget demo: what the Fashion-MNIST classifier looks at")
    scale = settings["scale"]
    report.add(
        "The run",
        f"Categories {', '.join(settings['categories'])}; {settings['n_annotators']} simulated annotators; "
        f"seed {settings['seed']}; {'quick (reduced) setting' if settings['quick'] else 'full setting'}. "
        f"Made with Python {platform.python_version()} on {platform.machine()}.",
        "Seconds per stage (this run; a resumed run reuses the classifier, the XNNs, the activations and the "
        "naming files):",
        pd.DataFrame({"seconds": pd.Series(timings)}).rename_axis("stage"),
    )
    report.add(
        "The classifier and its explanation networks",
        f"DemoCNN, test accuracy {model.test_accuracy:.3f}. One SRAE explanation network per class with "
        f"{N_XFEATURES} x-features at layer {LAYER}, fitted on the features of {scale['n_xnn_fit']} training "
        "images and measured here on test images they never saw. F_reg: mean |ȳ − ŷ|; F_cls: share of "
        "images whose predicted class stays the same when the class score is replaced by the XNN's; "
        "xNN accuracy: accuracy when every class score is replaced (the overall row), beside the DNN's.",
        faithfulness,
    )
    report.add(
        "Activations",
        f"The first {scale['n_explain']} test images; each category's images are those the classifier "
        f"predicts as it. The significant x-features of an image are "
        f"{SIGNIFICANCE_RULES[settings['significance']]}; each gets a contrastive excitation-backprop "
        "(c-MWP) heatmap, read where build_activations reads it by default (at the pixels for images this "
        "small). The last three columns say where those maps land, the garment being its pixels brighter "
        "than 0.05: the share of each map's mass on it, how often the map's peak is on it, and how often "
        "the peak lies within 2 px of the image's border.",
        summary,
    )
    report.add(
        "How the simulated people name",
        "Fashion-MNIST has no part annotations, so each significant heatmap's true concept is where it "
        "points: the cell of a 3 × 2 grid (top / middle / bottom × left / right) over the object's bounding "
        "box that holds the heatmap's peak (the centre of its hottest 3 × 3 patch), or 'background' outside "
        "the box. Each simulated person starts "
        f"from that truth, skips {SIMULATED_PEOPLE['skip']:.0%} of the activations, trashes "
        f"{SIMULATED_PEOPLE['trash']:.0%}, misnames {SIMULATED_PEOPLE['noise']:.0%}, splits "
        f"{SIMULATED_PEOPLE['split']:.0%} of the concepts and merges {SIMULATED_PEOPLE['merge']:.0%}, and names "
        "in the naming widget (its autosave files are in namings/).",
    )
    global_table = tables["global"]
    shown = global_table.drop(columns=["explanation"])
    report.add("Global explanations",
               "How often each abstract local explanation (the concepts of an image's significant activations; "
               "'other' for unnamed ones) occurs over the category's images, per annotator.",
               *[figures[k][0] for k in figures if k.startswith("global-")], shown)
    report.add("Coverage", "Share of the significant activations each person named (concepts of at least 3 "
               "members), and images with at least one (partial) or all (complete) activations named.",
               figures["coverage"][0], tables["coverage"])
    report.add("Named by n annotators", figures["named-by-n"][0], tables["named_by_n"])
    if tables["pairwise"] is not None:
        report.add("Agreement between annotators",
                   "Jaccard of the named sets and D-family agreement (D = 1: one-to-one matching of concepts; "
                   "D = 2: many-to-many blocks) over annotator pairs.",
                   figures["agreement"][0], format_pairwise_table(tables["pairwise"]), figures["matching"][0])
    report.add("Purity", "CX: share of named activations whose x-feature is their concept's majority x-feature; "
               "XC: the converse.", tables["purity"])
    if "gallery" in figures:
        report.add("One naming, concept by concept", figures["gallery"][0])
    return report.write(path)


# ----------------------------------------------------------------------------- the main job

def run_demo(out_dir: str | os.PathLike, *, categories: Sequence[str] = DEFAULT_CATEGORIES, n_annotators: int = 3,
             seed: int = 0, quick: bool = False, significance: str = DEFAULT_SIGNIFICANCE, data_root: str | os.PathLike | None = None,
             cache_dir: str | os.PathLike | None = None, log: Callable[[str], None] | None = _print_line,
             show_progress: bool | None = False) -> DemoResult:
    """Run the main job on Fashion-MNIST into ``out_dir`` and return its tables and file paths.

    ``categories``: the classes whose predictions are explained and named; ``n_annotators``:
    simulated people; ``seed``: the XNNs' and the simulated people's seed (the classifier is
    always the built-in one, seed 0, so its cache is shared); ``quick``: the reduced
    :data:`QUICK` scale (tens of seconds, for tests) instead of :data:`FULL` (a few minutes on
    two cores, plus about 100 CPU-seconds the first time to train the classifier);
    ``significance``: which x-features of an image are explained, ``"top_fraction"`` (default)
    or ``"msx"``. The demo defaults to top-fraction because the SRAE's class score here is
    dominated by one large positive term, so MSX keeps one x-feature for almost every image
    and each local explanation is a single concept; with top-fraction an image typically has
    two, and the global explanation shows which concepts occur together;
    ``data_root``: where the Fashion-MNIST IDX files are (default: the usual places, see
    ``load_fashion_mnist``); ``cache_dir``: the model cache (default ``~/.cache/xnaming-widget/models``);
    ``log``: called with one line per stage (None: silent); ``show_progress``: progress bars
    inside the stages (None: unless ``XNAMING_PROGRESS=0``).

    Raises :class:`DemoError` for bad settings or an ``out_dir`` holding another run.
    """
    import matplotlib.pyplot as plt

    from .activations import build_activations
    from .analysis import Namings, coverage, named_by_n, pairwise_table, purity_table
    from .data import load_fashion_mnist
    from .metrics.faithfulness import faithfulness_table
    from .models import FeatureExtractor
    from .xnn import XNNBank, fit_class_xnns

    categories = _check_arguments(categories, n_annotators, seed, significance)
    scale = QUICK if quick else FULL
    out = Path(out_dir).expanduser()
    settings = _settings(categories, n_annotators, seed, quick, significance, scale)
    resumed = _claim_run_folder(out, settings)
    show = show_progress is not False
    stages = _Stages(10, log)
    work: dict[str, int] = {}
    if log is not None:
        log(f"xnaming-widget demo into {out} ({'resuming an earlier run' if resumed else 'new run'}; "
            f"{'quick' if quick else 'full'} setting)")

    with stages.stage("data") as note:
        train = load_fashion_mnist(data_root, split="train")
        test = load_fashion_mnist(data_root, split="test")
        if scale.n_test is not None:
            test = test.subset(slice(0, scale.n_test))
        note.append(f"Fashion-MNIST, {len(train)} training and {len(test)} test images")

    with stages.stage("classifier") as note:
        model = _classifier(train, test, scale, data_root, cache_dir, show)
        work["classifier_trained"] = int(not model.loaded_from_cache)
        note.append(f"DemoCNN {'loaded from cache' if model.loaded_from_cache else 'trained'}, "
                    f"test accuracy {model.test_accuracy:.3f}")

    with stages.stage("features") as note:
        rng = np.random.default_rng(seed)
        fit_rows = np.sort(rng.choice(len(train), size=min(scale.n_xnn_fit, len(train)), replace=False))
        extractor = FeatureExtractor(model, LAYER)
        fit_features = extractor.extract(train.subset(fit_rows), progress=show)
        test_features = extractor.extract(test, progress=show)
        note.append(f"{LAYER} features {fit_features.Z.shape[1]}-d of {len(fit_rows)} training and "
                    f"{len(test)} test images")

    bank_path = out / "xnn-bank.pt"
    with stages.stage("explanation networks") as note:
        if bank_path.is_file():
            bank = XNNBank.load(bank_path)
            work["xnns_fitted"] = 0
            note.append(f"loaded {bank_path.name}")
        else:
            bank = fit_class_xnns(fit_features.Z, fit_features.logits, model.classes, method="srae",
                                  n_features=N_XFEATURES, epochs=scale.xnn_epochs, seed=seed, progress=show)
            bank.save(bank_path)
            work["xnns_fitted"] = 1
            note.append(f"fitted {len(bank.classes)} classes × {N_XFEATURES} x-features (SRAE)")

    with stages.stage("faithfulness") as note:
        faithfulness = faithfulness_table(bank, test_features.Z, test_features.logits, test_features.labels)
        overall = faithfulness.loc["overall"]
        note.append(f"F_cls {overall['F_cls']:.3f}, F_reg {overall['F_reg']:.3f}, xNN accuracy "
                    f"{overall['xnn_accuracy']:.3f} vs DNN {overall['dnn_accuracy']:.3f}")

    activations_dir = out / "activations"
    with stages.stage("activations") as note:
        chunks = []
        activations = build_activations(model, LAYER, bank, test.subset(slice(0, scale.n_explain)), categories,
                                        method="cmwp", significance=significance, out_dir=activations_dir, show_progress=show,
                                        on_chunk=lambda i, n: chunks.append(i))
        work["heatmap_chunks_computed"] = len(chunks)
        summary = _activation_summary(activations)
        note.append(f"{int(summary['significant'].sum())} significant of {len(activations)} activations in "
                    f"{int(summary['images'].sum())} images; {len(chunks)} heatmap chunks computed")
    significant = summary["significant"].reindex(categories, fill_value=0)
    empty = list(significant.index[significant == 0])
    if empty:
        raise DemoError(f"No significant activations for {empty} among the first {scale.n_explain} test images; "
                        "choose other categories.")

    namings_dir = out / "namings"
    with stages.stage("simulated naming") as note:
        truth = region_truth(activations)
        work["naming_files_written"] = _write_namings(activations, truth, namings_dir, n_annotators, seed)
        note.append(f"{n_annotators} annotators × {len(categories)} categories, "
                    f"{work['naming_files_written']} naming files written")

    with stages.stage("analysis") as note:
        namings = Namings(namings_dir, activations=activations)
        tables = {
            "global": _global_explanations(namings, activations),
            "coverage": coverage(namings, activations),
            "named_by_n": named_by_n(namings, activations),
            "purity": purity_table(namings, activations),
            "pairwise": pairwise_table(namings, activations) if len(namings.annotators) > 1 else None,
        }
        _write_tables(out / "tables", {"faithfulness": faithfulness, "activations": summary,
                                       "global_explanations": tables["global"].drop(columns=["explanation"]),
                                       "coverage": tables["coverage"], "named_by_n": tables["named_by_n"],
                                       "purity": tables["purity"], "pairwise": tables["pairwise"]})
        note.append(f"{len(namings)} namings by {len(namings.annotators)} annotators")

    with stages.stage("figures") as note:
        figures = _figures(tables, namings, activations, categories, out / "figures")
        note.append(f"{len(figures)} figures in figures/")

    with stages.stage("report") as note:
        report = _report(out / "report.html", settings=settings, model=model, faithfulness=faithfulness,
                         summary=summary, figures=figures, tables=tables, timings=dict(stages.timings))
        for fig, _ in figures.values():
            plt.close(fig)
        note.append(str(report))

    return DemoResult(out_dir=out, report=report, activations_dir=activations_dir, namings_dir=namings_dir,
                      figures={k: p for k, (_, p) in figures.items()}, faithfulness=faithfulness,
                      activation_summary=summary, global_explanations=tables["global"],
                      coverage=tables["coverage"], named_by_n=tables["named_by_n"], purity=tables["purity"],
                      pairwise=tables["pairwise"], timings=dict(stages.timings), work=work)
