"""The command line: ``demo`` (the main job, headless) and ``lab`` (JupyterLab on the quickstart).

One quick demo run (``--quick``, about 15 s on one thread) is made per module; the tests read
what it wrote back with the package's own readers and recompute its results independently.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from xnaming_widget import __main__ as cli

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``python -m xnaming_widget demo --out DIR --quick``, run in this process (one torch thread)."""
    from xnaming_widget.data import load_fashion_mnist

    try:
        load_fashion_mnist(split="test")
    except FileNotFoundError as err:
        pytest.skip(f"Fashion-MNIST not available ({err})")
    cache = tmp_path_factory.mktemp("cache")
    out = tmp_path_factory.mktemp("runs") / "demo-run"
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout):
        patch.setenv("XNAMING_CACHE", str(cache))
        code = cli.main(["demo", "--out", str(out), "--quick"])
    return SimpleNamespace(out=out, code=code, output=stdout.getvalue(), cache=cache)


@pytest.fixture(scope="module")
def activations(quick_run):
    from xnaming_widget.activations import ActivationSet

    return ActivationSet.load(quick_run.out / "activations")


def naming_files(out: Path) -> list[Path]:
    return sorted((out / "namings").glob("*.json"))


# ----------------------------------------------------------------------------- the demo's output

def test_demo_succeeds_and_reports_every_stage(quick_run):
    assert quick_run.code == 0
    lines = quick_run.output.splitlines()
    for i in range(1, 11):
        assert any(line.startswith(f"[{i}/10] ") and line.endswith(" s)") for line in lines), i
    assert f"Report: {quick_run.out / 'report.html'}" in quick_run.output


def test_naming_files_belong_to_the_activation_set_and_open_in_the_widget(quick_run, activations):
    from xnaming_widget.naming.document import naming_table, read_naming_file
    from xnaming_widget.widget import NamingWidget

    files = naming_files(quick_run.out)
    docs = [read_naming_file(f) for f in files]  # validates each file
    assert max(len(d["concepts"]) for d in docs) >= 2, "the simulated people found several regions"
    assert sorted((d["annotator"], d["category"]) for d in docs) == sorted(
        (f"annotator{i}", c) for i in (1, 2, 3) for c in ("Sneaker", "Bag"))
    for path, doc in zip(files, docs):
        assert doc["fingerprint"] == activations.fingerprint
        table = activations.table
        shown = table.loc[(table["category"] == doc["category"]) & table["significant"], "activation_id"]
        placed = [a for c in doc["concepts"] for a in c["members"]] + doc["trash"] + doc["unlabeled"]
        assert sorted(placed) == sorted(shown)
        # every person named through the widget; how many concepts depends on where the heatmaps peak
        assert doc["concepts"] and len(doc["log"]) >= len(doc["concepts"]), "named through the widget"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. "undo history starts afresh" would mean a foreign log
            widget = NamingWidget.load(path, activations)
        try:
            key = ["activation_id"]
            assert widget.naming.sort_values(key).reset_index(drop=True).equals(
                naming_table(doc).sort_values(key).reset_index(drop=True))
        finally:
            widget.close()


def test_simulated_names_follow_the_region_under_the_peak(quick_run, activations):
    """The simulated people start from region_truth: most named activations carry its name."""
    from xnaming_widget.analysis import Namings
    from xnaming_widget.pipeline import region_truth

    truth = region_truth(activations)
    table = Namings(quick_run.out / "namings", activations=activations).table
    named = table[table["status"] == "named"]
    agrees = [t in str(name) for t, name in zip(truth.loc[named["activation_id"]], named["concept"])]
    assert np.mean(agrees) >= 0.8  # 5 % are misnamed on purpose


class _Tables(HTMLParser):
    """Every <table> of a page as a list of rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_report_global_explanations_equal_a_recomputation_from_the_naming_files(quick_run, activations):
    from xnaming_widget.analysis import global_explanation
    from xnaming_widget.naming.document import naming_table, read_naming_file

    expected = []
    for path in naming_files(quick_run.out):
        doc = read_naming_file(path)
        table = global_explanation(naming_table(doc), activations)
        expected += [[doc["category"], doc["annotator"], " + ".join(e), str(n), f"{f:.3f}"]
                     for e, n, f in zip(table["explanation"], table["count"], table["fraction"])]
    parser = _Tables()
    parser.feed((quick_run.out / "report.html").read_text(encoding="utf-8"))
    found = [t for t in parser.tables if t and t[0][1:] == ["category", "annotator", "label", "count", "fraction"]]
    assert len(found) == 1
    shown = [row[1:] for row in found[0][1:]]  # drop the index column
    assert sorted(shown) == sorted(expected)
    for category in ("Sneaker", "Bag"):
        for annotator in ("annotator1", "annotator2", "annotator3"):
            fractions = [float(r[4]) for r in shown if r[0] == category and r[1] == annotator]
            assert sum(fractions) == pytest.approx(1, abs=1e-2)


def test_report_is_self_contained_and_shows_the_figures(quick_run):
    page = (quick_run.out / "report.html").read_text(encoding="utf-8")
    links = [v for k, v in _attributes(page) if k in ("src", "href")]
    assert links and all(v.startswith("data:image/png;base64,") for v in links)
    figures = sorted((quick_run.out / "figures").glob("*.png"))
    names = {f.stem for f in figures}
    assert {"global-Sneaker", "global-Bag", "coverage", "named-by-n", "agreement", "matching"} <= names
    assert len(links) == len(figures)
    for link in links:
        assert base64.b64decode(link.split(",", 1)[1])[:8] == PNG_MAGIC
    for figure in figures:
        assert figure.read_bytes()[:8] == PNG_MAGIC


def _attributes(page: str) -> list[tuple[str, str]]:
    found = []

    class Attributes(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend((k, v or "") for k, v in attrs)

    Attributes().feed(page)
    return found


def test_tables_on_disk_match_the_naming_files(quick_run, activations):
    from xnaming_widget.analysis import Namings, coverage

    recomputed = coverage(Namings(quick_run.out / "namings", activations=activations), activations)
    saved = pd.read_csv(quick_run.out / "tables" / "coverage.csv", index_col=0)
    pd.testing.assert_frame_equal(saved.reset_index(drop=True), recomputed.reset_index(drop=True),
                                  check_dtype=False)
    faithfulness = pd.read_csv(quick_run.out / "tables" / "faithfulness.csv", index_col=0)
    overall = faithfulness.loc["overall"]
    assert 0.5 < overall["F_cls"] <= 1 and 0 < overall["dnn_accuracy"] <= 1


def test_rerun_resumes_without_recomputing(quick_run, monkeypatch):
    from xnaming_widget.pipeline import run_demo

    monkeypatch.setenv("XNAMING_CACHE", str(quick_run.cache))
    kept = sorted((quick_run.out / "activations").iterdir()) + naming_files(quick_run.out) + [
        quick_run.out / "xnn-bank.pt"]
    before = {p: p.stat().st_mtime_ns for p in kept}
    first = pd.read_csv(quick_run.out / "tables" / "global_explanations.csv", index_col=0)
    lines: list[str] = []
    result = run_demo(quick_run.out, quick=True, log=lines.append)
    assert result.work == {"classifier_trained": 0, "xnns_fitted": 0, "heatmap_chunks_computed": 0,
                           "naming_files_written": 0}
    assert {p: p.stat().st_mtime_ns for p in kept} == before
    assert "resuming" in lines[0]
    again = result.global_explanations.drop(columns=["explanation"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(again, first.reset_index(drop=True), check_dtype=False)


def test_a_run_folder_refuses_other_settings(quick_run, capsys):
    before = (quick_run.out / "demo.json").read_bytes()
    with pytest.raises(SystemExit) as stop:
        cli.main(["demo", "--out", str(quick_run.out), "--quick", "--seed", "7"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "seed" in err and "another --out" in err
    assert (quick_run.out / "demo.json").read_bytes() == before


def test_a_folder_with_other_files_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as stop:
        cli.main(["demo", "--out", str(tmp_path), "--quick"])
    assert stop.value.code == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ----------------------------------------------------------------------------- arguments

@pytest.mark.parametrize("argv, message", [
    (["demo"], "--out"),
    (["demo", "--out", "x", "--annotators", "0"], "at least 1"),
    (["demo", "--out", "x", "--annotators", "three"], "whole number"),
    (["demo", "--out", "x", "--seed", "-1"], "0 or more"),
    (["demo", "--out", "x", "--categories", "Shoe"], "Unknown categories ['Shoe']"),
    (["demo", "--out", "x", "--categories", "Bag", "Bag"], "repeat"),
    (["demo", "--out", "x", "--significance", "top-90"], "invalid choice"),
    (["serve"], "invalid choice"),
    ([], "COMMAND"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_module_runs_as_a_program():
    ok = subprocess.run([sys.executable, "-m", "xnaming_widget", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "demo" in ok.stdout and "lab" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "xnaming_widget", "demo", "--annotators", "2"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--out" in bad.stderr


# ----------------------------------------------------------------------------- lab

@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """A notebooks folder standing in for the repository's, and a recorder instead of exec."""
    notebooks = tmp_path / "repo" / "notebooks"
    notebooks.mkdir(parents=True)
    for name in ("01_quickstart.ipynb", "02_your_own_model.ipynb"):
        (notebooks / name).write_text(json.dumps({"name": name}))
    monkeypatch.setattr(cli, "REPO_NOTEBOOKS", notebooks)
    calls = []
    monkeypatch.setattr(cli.os, "execv", lambda path, argv: calls.append((path, list(argv), Path.cwd())))
    monkeypatch.setattr(cli.subprocess, "call", lambda argv, cwd: calls.append((argv[0], list(argv), cwd)) or 0)
    monkeypatch.chdir(tmp_path)
    return SimpleNamespace(notebooks=notebooks, calls=calls, root=tmp_path)


def test_lab_starts_jupyterlab_on_the_quickstart(fake_repo):
    assert cli.main(["lab", "--no-browser"]) == 0
    [(path, argv, cwd)] = fake_repo.calls
    assert path == sys.executable and Path(cwd) == fake_repo.notebooks
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={fake_repo.notebooks}" in argv
    assert "01_quickstart.ipynb" in argv and "--no-browser" in argv
    assert ("--allow-root" in argv) == (os.geteuid() == 0)


def test_lab_dir_copies_the_notebooks_without_overwriting(fake_repo):
    work = fake_repo.root / "work"
    work.mkdir()
    (work / "01_quickstart.ipynb").write_text("my edited copy")
    assert cli.main(["lab", "--dir", str(work)]) == 0
    assert (work / "01_quickstart.ipynb").read_text() == "my edited copy"
    assert (work / "02_your_own_model.ipynb").read_text() == (fake_repo.notebooks / "02_your_own_model.ipynb").read_text()
    [(_, argv, cwd)] = fake_repo.calls
    assert Path(cwd) == work.resolve() and f"--ServerApp.root_dir={work.resolve()}" in argv
    assert "--no-browser" not in argv


def test_lab_dry_run_prints_the_command_and_starts_nothing(fake_repo, capsys):
    assert cli.main(["lab", "--dry-run", "--dir", str(fake_repo.root / "elsewhere")]) == 0
    out = capsys.readouterr().out
    assert "-m jupyterlab" in out and "01_quickstart.ipynb" in out
    assert fake_repo.calls == [] and not (fake_repo.root / "elsewhere").exists()


def test_lab_without_notebooks_says_where_they_are(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "REPO_NOTEBOOKS", tmp_path / "site-packages" / "notebooks")
    with pytest.raises(SystemExit) as stop:
        cli.main(["lab"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "not installed with the package" in err and "clone the repository" in err


def test_lab_finds_this_checkout_s_notebooks():
    repo = Path(__file__).resolve().parents[1]
    if not (repo / "notebooks" / "01_quickstart.ipynb").is_file():
        pytest.skip("this checkout has no notebooks/01_quickstart.ipynb yet")
    assert cli.notebooks_dir() == repo / "notebooks"


def test_a_naming_file_of_another_activation_set_is_never_overwritten(quick_run, tmp_path, monkeypatch):
    import shutil

    from xnaming_widget.pipeline import DemoError, run_demo

    monkeypatch.setenv("XNAMING_CACHE", str(quick_run.cache))
    copy = tmp_path / "run"
    shutil.copytree(quick_run.out, copy)
    foreign = naming_files(copy)[0]
    doc = json.loads(foreign.read_text(encoding="utf-8"))
    doc["fingerprint"] = "someone-else"
    foreign.write_text(json.dumps(doc), encoding="utf-8")
    before = foreign.read_bytes()
    with pytest.raises(DemoError, match="another activation set"):
        run_demo(copy, quick=True, log=None)
    assert foreign.read_bytes() == before


def test_an_interrupted_naming_stage_is_redone_not_taken_for_finished(quick_run, tmp_path, monkeypatch):
    """Regression: a run stopped while the simulated people named left half-written naming files
    that the next run kept, and its report showed coverage 0 where a clean run has more."""
    import shutil

    from xnaming_widget.naming.document import naming_table as table_of
    from xnaming_widget.naming.document import read_naming_file
    from xnaming_widget.pipeline import run_demo
    from xnaming_widget.widget import NamingWidget

    monkeypatch.setenv("XNAMING_CACHE", str(quick_run.cache))
    copy = tmp_path / "run"
    shutil.copytree(quick_run.out, copy)
    for path in naming_files(copy):
        path.unlink()
    real_move, calls = NamingWidget.move, []

    def interrupted_move(self, *args):  # Ctrl-C while the second person is naming
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_move(self, *args)

    monkeypatch.setattr(NamingWidget, "move", interrupted_move)
    columns = ["activation_id", "concept", "status"]

    def assert_complete(files):  # each naming file equals the clean run's
        for ours in files:
            clean = quick_run.out / "namings" / ours.name
            pd.testing.assert_frame_equal(table_of(read_naming_file(ours))[columns],
                                          table_of(read_naming_file(clean))[columns])

    with pytest.raises(KeyboardInterrupt):
        run_demo(copy, quick=True, log=None)
    assert len(naming_files(copy)) < len(naming_files(quick_run.out))
    assert_complete(naming_files(copy))  # only namings that were finished joined the run
    monkeypatch.setattr(NamingWidget, "move", real_move)
    run_demo(copy, quick=True, log=None)
    assert [p.name for p in naming_files(copy)] == [p.name for p in naming_files(quick_run.out)]
    assert_complete(naming_files(copy))
    assert (copy / "tables" / "coverage.csv").read_text() == (quick_run.out / "tables" / "coverage.csv").read_text()
    assert not (copy / "namings" / ".unfinished").exists()


def test_report_tables_say_where_the_maps_land(quick_run, activations):
    """tables/activations.csv carries each category's mass on the garment (pixels > 0.05 of the
    saved display images), recomputed here from the activation set, and the default maps land."""
    summary = pd.read_csv(quick_run.out / "tables" / "activations.csv", index_col=0)
    table = activations.table[activations.table["significant"]]
    for category, rows in table.groupby("category"):
        maps = np.stack([activations.heatmap(a) for a in rows["activation_id"]]).astype(np.float64)
        garment = np.stack([activations.image(i).max(axis=-1) / 255.0 > 0.05 for i in rows["image_id"]])
        mass = np.mean((maps * garment).sum(axis=(1, 2)) / maps.sum(axis=(1, 2)))
        assert summary.loc[category, "mass_on_object"] == pytest.approx(mass, abs=1e-3)
        assert mass >= 0.85 and summary.loc[category, "peak_on_object"] >= 0.9
    assert "mass_on_object" in (quick_run.out / "report.html").read_text(encoding="utf-8")
