"""The README-image script's helpers: argument checks, heatmap peaks relative to the object box,
and the naming plan (grouping, names, unlabeled small groups, trash). The slow parts (pipeline,
browser) are not run here."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_readme_images.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("make_readme_images", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_arguments_default_to_docs_images_and_reject_bad_values(script, capsys):
    args = script.parse_args([])
    assert args.out == SCRIPT.parents[1] / "docs" / "images" and args.category == "Sneaker"
    assert script.parse_args(["--out", "x", "--category", "Bag"]).out == Path("x")
    for bad, words in ((["--category", "Sock"], "Fashion-MNIST class"), (["--n-images", "0"], "--n-images"),
                       (["--width", "100"], "--width"), (["--thumb-size", "8"], "--thumb-size")):
        with pytest.raises(SystemExit):
            script.parse_args(bad)
        assert words in capsys.readouterr().err


def test_heatmap_peak_is_relative_to_the_object_box_and_ignores_a_lone_hot_pixel(script):
    images = np.zeros((2, 10, 10))
    images[0, 2:7, 1:9] = 1.0   # box rows 2..6, cols 1..8
    heat = np.zeros((2, 10, 10))
    heat[0, 0, 0] = 5.0          # a lone hot pixel: blurred, 5 over its 3 x 3 neighbourhood
    heat[0, 5:8, 6:9] = 1.0      # a 3 x 3 blob centred at (6, 7): blurred, 9 at its centre
    heat[1, 4, 5] = 2.0          # no ink at all: the box is the whole image
    peaks = script.heatmap_peaks(heat, images)
    np.testing.assert_allclose(peaks[0], [(6 - 2) / (6 - 2), (7 - 1) / (8 - 1)])
    np.testing.assert_allclose(peaks[1], [4 / 9, 5 / 9])


def test_place_of_splits_the_box_into_thirds(script):
    assert script.place_of(0.1, 0.9) == ("top", "right")
    assert script.place_of(0.5, 0.34) == ("middle", "middle")
    assert script.place_of(1.0, 0.0) == ("bottom", "left")  # the far edges belong to the last third
    assert script.place_of(-0.05, 1.05) == ("top", "right")  # just outside the box, within the margin
    assert script.place_of(0.5, 1.5) is None and script.place_of(-0.3, 0.5) is None


def _table(xfeatures, labels):
    ids = [f"Sneaker/img{i:05d}/x{k}" for i, k in enumerate(xfeatures)]
    return pd.DataFrame({"activation_id": ids, "xfeature": xfeatures, "label": labels})


def test_plan_names_by_place_merges_same_names_and_keeps_small_groups_and_wrong_images_apart(script):
    xfeatures = [4] * 44
    labels = ["Sneaker"] * 44
    labels[0], labels[15], labels[16] = "Sandal", "Ankle boot", pd.NA   # two wrong, one unknown (kept)
    # 14 at the toe (middle-left), 7 bottom-right + 6 middle-right (both "heel"), 5 off the box, 12 toe again
    peaks = np.array([[0.5, 0.1]] * 14 + [[0.9, 0.9]] * 7 + [[0.5, 0.9]] * 6 + [[0.5, 2.0]] * 5 + [[0.1, 0.05]] * 12)
    table = _table(xfeatures, labels)
    plan = script.plan_naming(table, peaks, "Sneaker", min_group=12, n_trash=4)
    ids = table["activation_id"].tolist()
    assert plan.trash == [ids[0], ids[15]]
    assert [name for name, _ in plan.concepts] == ["toe", "heel"]   # largest first
    by_name = dict(plan.concepts)
    assert by_name["toe"] == ids[1:14] + ids[32:44]
    assert by_name["heel"] == ids[14:15] + ids[16:27]
    assert plan.unlabeled == ids[27:32]                      # "background": 5 < 12 members
    placed = sorted(plan.trash + plan.unlabeled + [i for _, m in plan.concepts for i in m])
    assert placed == sorted(ids)                             # every activation in exactly one place


def test_plan_uses_xfeature_numbers_for_categories_without_words(script):
    table = _table([4] * 12 + [1] * 12, ["Shirt"] * 24)
    plan = script.plan_naming(table, np.full((24, 2), 0.5), "Shirt")
    ids = table["activation_id"].tolist()
    assert dict(plan.concepts) == {"x-feature 4": ids[:12], "x-feature 1": ids[12:]} and plan.trash == []
    with pytest.raises(ValueError, match="one peak per row"):
        script.plan_naming(table, np.zeros((3, 2)), "Shirt")
