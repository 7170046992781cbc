"""The demo pipeline's own pieces: the region ground truth and the run-folder rules."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from xnaming_widget.pipeline import DemoError, region_truth, run_demo


def fake_activations(peaks, box=(4, 6, 22, 14), size=28):
    """One image whose object fills ``box`` (row0, col0, row1, col1, exclusive ends) and one
    significant activation per peak (row, col), plus an insignificant row without a heatmap."""
    image = np.zeros((1, size, size, 3), np.uint8)
    r0, c0, r1, c1 = box
    image[0, r0:r1, c0:c1] = 200
    maps = np.zeros((len(peaks), size, size), np.float16)
    for k, (r, c) in enumerate(peaks):
        maps[k] += 0.01
        maps[k, r, c] = 1.0
    ids = [f"Bag/img00000/x{k}" for k in range(len(peaks))] + ["Bag/img00000/x9"]
    table = pd.DataFrame({"activation_id": ids, "image_id": "img00000", "category": "Bag",
                          "significant": [True] * len(peaks) + [False]})
    return SimpleNamespace(table=table, heatmaps=maps, heatmap_rows=np.array(list(range(len(peaks))) + [-1]),
                           images=image, image_ids=["img00000"])


def test_region_truth_names_the_grid_cell_under_the_peak():
    # box rows 4..21 (18 rows: thirds of 6), cols 6..13 (8 columns: halves of 4), worked out by hand
    peaks = {(4, 6): "top left", (9, 13): "top right", (10, 9): "middle left", (15, 10): "middle right",
             (16, 6): "bottom left", (21, 13): "bottom right", (2, 2): "background", (22, 10): "background",
             (12, 14): "background"}
    truth = region_truth(fake_activations(list(peaks)))
    assert list(truth.index) == [f"Bag/img00000/x{k}" for k in range(len(peaks))]  # significant ones only
    assert list(truth) == list(peaks.values())


def test_region_truth_ignores_dim_pixels_when_finding_the_object():
    acts = fake_activations([(1, 1)], box=(4, 6, 22, 14))
    acts.images[0, 1, 1] = 15  # below 10 % of the brightest pixel (200): not part of the object
    assert list(region_truth(acts)) == ["background"]
    acts.images[0, 1, 1] = 30  # above: the object's box now starts at (1, 1)
    assert list(region_truth(acts)) == ["top left"]


def test_region_truth_of_a_blank_image_is_background():
    acts = fake_activations([(10, 10)])
    acts.images[:] = 0
    assert list(region_truth(acts)) == ["background"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(categories=[]), "at least one category"),
    (dict(categories=["Sneaker", "sneaker"]), "Unknown categories ['sneaker']"),
    (dict(n_annotators=0), "whole number >= 1"),
    (dict(seed=-3), "seed"),
    (dict(significance="top-90"), "Unknown significance rule"),
])
def test_bad_settings_raise_before_touching_the_folder(tmp_path, kwargs, message):
    out = tmp_path / "run"
    with pytest.raises(DemoError, match=message.replace("[", r"\[").replace("]", r"\]")):
        run_demo(out, quick=True, log=None, **kwargs)
    assert not out.exists()


def test_a_damaged_run_file_is_reported(tmp_path):
    (tmp_path / "demo.json").write_text("{not json")
    with pytest.raises(DemoError, match="damaged"):
        run_demo(tmp_path, quick=True, log=None)


def test_a_file_is_not_a_run_folder(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("x")
    with pytest.raises(DemoError, match="is a file"):
        run_demo(target, quick=True, log=None)


def test_settings_are_compared_field_by_field(tmp_path):
    (tmp_path / "demo.json").write_text(json.dumps({"schema": "xnaming-widget/demo-run",
                                                    "settings": {"categories": ["Bag"]}}))
    with pytest.raises(DemoError, match="categories") as err:
        run_demo(tmp_path, quick=True, log=None)
    assert "another --out" in str(err.value)
