"""One rule for where a heatmap peaks: the demo's simulated people, parts_under_peak and the
README-image script all follow metrics.map_peaks, so a lone hot pixel never decides a name."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from xnaming_widget.analysis import parts_under_peak
from xnaming_widget.metrics import map_peaks
from xnaming_widget.pipeline import region_truth

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "make_readme_images.py"


def _heatmap():
    """28 x 28: a lone hot pixel in the background corner (the raw maximum) and a warm 3 x 3 patch
    centred at (18, 16) on the object (3.6 of mass in a patch against 2.0): a person sees the patch."""
    heat = np.zeros((28, 28), np.float32)
    heat[0, 27] = 2.0
    heat[17:20, 15:18] = 0.4
    return heat


def test_the_rule_itself():
    heat = _heatmap()
    assert np.unravel_index(heat.argmax(), heat.shape) == (0, 27)  # the raw maximum is the lone pixel
    assert map_peaks(heat).tolist() == [18, 16]


def test_simulated_people_name_the_patch_not_the_pixel():
    image = np.zeros((1, 28, 28, 3), np.uint8)
    image[0, 4:22, 6:20] = 200  # object box rows 4..21 (thirds of 6), cols 6..19 (halves of 7)
    acts = SimpleNamespace(table=pd.DataFrame({"activation_id": ["Bag/img00000/x0"], "image_id": "img00000",
                                               "category": "Bag", "significant": [True]}),
                           heatmaps=_heatmap()[None].astype(np.float16), heatmap_rows=np.array([0]),
                           images=image, image_ids=["img00000"])
    # (18, 16): row 18 - 4 = 14 of 18 -> bottom third; col 16 - 6 = 10 of 14 -> right half
    assert list(region_truth(acts)) == ["bottom right"]


def test_parts_under_peak_takes_the_part_near_the_patch():
    keypoints = np.array([[[1, 26], [18, 15]]], np.float32)   # "corner" part next to the lone pixel
    boxes = np.array([[0, 0, 28, 28]], np.float32)
    truth = parts_under_peak(_heatmap()[None], keypoints, boxes, ["corner", "patch"])
    assert list(truth) == ["patch"]


def test_readme_script_places_the_patch():
    spec = importlib.util.spec_from_file_location("make_readme_images_peak", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = script  # dataclasses look their module up there
    try:
        spec.loader.exec_module(script)
    finally:
        sys.modules.pop(spec.name, None)
    grey = np.zeros((1, 28, 28))
    grey[0, 4:22, 6:20] = 1.0
    peaks = script.heatmap_peaks(_heatmap()[None], grey)
    np.testing.assert_allclose(peaks[0], [(18 - 4) / (21 - 4), (16 - 6) / (19 - 6)])


def test_parts_under_peak_with_a_part_map_takes_the_part_drawn_at_the_peak():
    """With the drawn parts, the truth is the part at the peak pixel, however near another
    part's keypoint is; a peak off the bird is context."""
    keypoints = np.array([[[1, 26], [18, 17]], [[1, 26], [18, 17]]], np.float32)  # "patch" keypoint next to the peak
    boxes = np.array([[0, 0, 28, 28]] * 2, np.float32)
    part_map = np.full((2, 28, 28), -1, np.int8)
    part_map[0, 10:25, 10:20] = 0  # image 0: "corner" drawn under the peak (18, 16)
    part_map[1, 0:5, 0:5] = 1      # image 1: nothing drawn there
    heat = np.stack([_heatmap(), _heatmap()])
    nearest = parts_under_peak(heat, keypoints, boxes, ["corner", "patch"])
    drawn = parts_under_peak(heat, keypoints, boxes, ["corner", "patch"], part_map=part_map)
    assert list(nearest) == ["patch", "patch"]
    assert list(drawn) == ["corner", "context"]
