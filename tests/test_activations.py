"""Activation sets: the definitions §5 table against a direct computation, heatmaps per activation,
the save/load round trip, the fingerprint, resuming an interrupted build, and bad input."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from xnaming_widget._activation_store import ActivationFileError, PackedBlobs, pack_blobs
from xnaming_widget.activations import ActivationSet, _targets_per_image, build_activations
from xnaming_widget.data import ImageArrayDataset
from xnaming_widget.heatmaps import XFeatureModel, attribute
from xnaming_widget.models import FeatureExtractor
from xnaming_widget.thumbnails import decode_png, overlay
from xnaming_widget.xnn import fit_class_xnns

CLASSES = ["Sneaker", "NA", "Bag"]  # "NA" checks that a class name never reads back as missing
N_FEATURES = 4


class TinyNet(nn.Module):
    """conv -> ReLU -> flatten -> fc (the explained layer) -> ReLU -> head (3 logits)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 8 * 8, 6)
        self.head = nn.Linear(6, len(CLASSES))

    def forward(self, x):
        features = torch.relu(self.fc(torch.relu(self.conv(x)).flatten(1)))
        return self.head(features)


@pytest.fixture(scope="module")
def setup():
    """(dnn, bank, data): a tiny classifier, its real XNN bank and the images."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XNAMING_PROGRESS", "0")
        torch.manual_seed(0)
        rng = np.random.default_rng(0)
        data = ImageArrayDataset(rng.integers(0, 256, size=(30, 8, 8), dtype=np.uint8),
                                 rng.integers(0, 3, size=30), classes=CLASSES)
        dnn = TinyNet()
        with torch.no_grad():  # centre and spread the layer so that all three classes get predicted
            hidden = torch.relu(dnn.conv(torch.from_numpy(data.images).float().div(255)[:, None])).flatten(1)
            dnn.fc.weight *= 10
            dnn.fc.bias -= dnn.fc(hidden).mean(0)
            dnn.head.weight *= 5
            dnn.head.bias.fill_(-3.0)  # logits below 0: MSX must pick terms to beat the bias
            features = FeatureExtractor(dnn, "fc").extract(data, progress=False)
        bank = fit_class_xnns(features.Z, features.logits, CLASSES, labels=features.labels, method="srae",
                              n_features=N_FEATURES, hidden=(8,), epochs=10, seed=0)
        yield dnn, bank, data


@pytest.fixture(scope="module")
def built(setup):
    """The set built with default arguments (tests must not modify it)."""
    return _build(setup)


def positive(contributions, bias):
    """Significance stand-in: every positive contribution."""
    return contributions > 0


def _build(setup, **kw):
    dnn, bank, data = setup
    kw.setdefault("significance", positive)
    kw.setdefault("chunk_size", 5)
    kw.setdefault("thumb_size", 16)
    return build_activations(dnn, "fc", bank, data, **kw)


def test_table_matches_direct_computation(setup, built):
    dnn, bank, data = setup
    result = built
    table = result.table
    assert list(table.columns) == ["activation_id", "image_id", "category", "xfeature", "value", "weight",
                                   "contribution", "significant", "predicted", "label"]
    x = torch.from_numpy(data.images).float().div(255)[:, None]
    with torch.no_grad():
        Z = dnn.fc(torch.relu(dnn.conv(x)).flatten(1)).numpy()  # the hooked layer's output
        predicted = dnn(x).argmax(1).numpy()
    expected_rows = []
    for c, name in enumerate(CLASSES):  # plain loops: an independent second implementation
        embedding = bank[name].embedding_module()  # the differentiable path heatmaps go through
        for i in np.flatnonzero(predicted == c):
            with torch.no_grad():
                E = embedding(torch.from_numpy(Z[i : i + 1]))[0].double().numpy()
            for k in range(N_FEATURES):
                contribution = E[k] * bank.weights[c, k]
                expected_rows.append((f"{name}/img{i:05d}/x{k}", f"img{i:05d}", name, k, E[k],
                                      bank.weights[c, k], contribution, contribution > 0, name,
                                      CLASSES[data.labels[i]]))
    expected = pd.DataFrame(expected_rows, columns=table.columns)
    pd.testing.assert_frame_equal(table[["activation_id", "image_id", "category", "xfeature", "predicted",
                                         "label", "significant"]],
                                  expected[["activation_id", "image_id", "category", "xfeature", "predicted",
                                            "label", "significant"]], check_dtype=False)
    np.testing.assert_allclose(table[["value", "weight", "contribution"]].to_numpy(dtype=float),
                               expected[["value", "weight", "contribution"]].to_numpy(dtype=float),
                               rtol=1e-5, atol=1e-6)
    assert result.categories == CLASSES and len(result.image_ids) == 30


def test_each_significant_activation_gets_its_own_heatmap_and_thumbnail(setup, built):
    dnn, bank, data = setup
    result = built
    significant = result.table[result.table["significant"]]
    assert len(result.heatmaps) == len(significant) > 0
    totals = result.heatmaps.astype(np.float32).sum(axis=(1, 2))
    assert (result.heatmaps >= 0).all() and (totals > 0).mean() > 0.5  # real, non-degenerate maps
    for row in significant.sample(6, random_state=0).itertuples():
        index = int(row.image_id[3:])
        image = torch.from_numpy(data.images[index : index + 1]).float().div(255)[:, None]
        model = XFeatureModel(dnn, "fc", bank[row.category])  # one target at a time, unbatched
        # 8x8 images: the naming maps are read at the input (heatmaps.map_layer's rule)
        direct = attribute(model, image, method="cmwp", targets=[row.xfeature], layer="input")[0, 0]
        np.testing.assert_allclose(result.heatmap(row.activation_id), direct, rtol=1e-2, atol=1e-4)
        png = decode_png(result.thumbnail(row.activation_id))
        np.testing.assert_array_equal(png, overlay(data.images[index : index + 1],
                                                   result.heatmap(row.activation_id)[None], size=16)[0])
    insignificant = result.table[~result.table["significant"]]["activation_id"].iloc[0]
    assert result.heatmap(insignificant) is None and result.thumbnail(insignificant) is None
    plain = decode_png(result.image_thumbnail("img00003"))
    assert plain.shape == (16, 16, 3)


def test_save_load_round_trip_is_identical(built, tmp_path):
    result = built
    table = result.table.copy()
    table.loc[0, "label"] = np.nan  # a missing label must stay missing
    result = ActivationSet(table, result.image_ids, result.images, result.heatmap_rows,
                           result.heatmaps, result.thumbnails, result.image_thumbnails,
                           categories=result.categories, meta=result.meta)
    loaded = ActivationSet.load(result.save(tmp_path / "set"))
    pd.testing.assert_frame_equal(loaded.table, result.table)
    assert pd.isna(loaded.table.loc[0, "label"]) and (loaded.table["category"] == "NA").any()
    for name in ("images", "heatmaps", "heatmap_rows"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(result, name))
        assert getattr(loaded, name).dtype == getattr(result, name).dtype
    assert loaded.thumbnails == result.thumbnails and loaded.image_thumbnails == result.image_thumbnails
    assert loaded.fingerprint == result.fingerprint and loaded == result
    assert not any(p.suffix in (".pkl", ".pickle") for p in (tmp_path / "set").iterdir())


def test_fingerprint_follows_content(built, tmp_path):
    result = built
    heatmaps = result.heatmaps.copy()
    heatmaps[0, 0, 0] += np.float16(1.0)
    changed_map = ActivationSet(result.table, result.image_ids, result.images, result.heatmap_rows,
                                heatmaps, result.thumbnails, result.image_thumbnails)
    table = result.table.copy()
    table.loc[3, "contribution"] += 1e-9
    changed_table = ActivationSet(table, result.image_ids, result.images, result.heatmap_rows,
                                  result.heatmaps, result.thumbnails, result.image_thumbnails)
    same = ActivationSet(result.table.copy(), list(result.image_ids), result.images.copy(),
                         result.heatmap_rows, result.heatmaps.copy(), result.thumbnails, result.image_thumbnails,
                         descriptors=result.descriptors.copy())
    described = result.descriptors.copy()
    described[0, 0] += np.float16(0.5)
    changed_descriptor = ActivationSet(result.table, result.image_ids, result.images, result.heatmap_rows,
                                       result.heatmaps, result.thumbnails, result.image_thumbnails,
                                       descriptors=described)
    assert len({result.fingerprint, changed_map.fingerprint, changed_table.fingerprint,
                changed_descriptor.fingerprint}) == 4
    assert same.fingerprint == result.fingerprint
    # An edited file on disk is caught when loading.
    folder = result.save(tmp_path / "set")
    np.save(folder / "heatmaps.npy", heatmaps)
    with pytest.raises(ValueError, match="fingerprint"):
        ActivationSet.load(folder)


def test_load_judges_the_table_not_its_bytes(built, tmp_path):
    """The fingerprint is checked on the CSV text as read (fast), and on the table it holds when
    the text was rewritten: every field quoted still loads; an edited value does not."""
    import csv as csv_module
    import io

    folder = built.save(tmp_path / "set")
    csv = folder / "table.csv"
    text = csv.read_text(encoding="utf-8")
    rows = list(csv_module.reader(io.StringIO(text)))
    quoted = io.StringIO()
    csv_module.writer(quoted, quoting=csv_module.QUOTE_ALL, lineterminator="\n").writerows(rows)
    assert quoted.getvalue() != text
    csv.write_text(quoted.getvalue(), encoding="utf-8")
    assert ActivationSet.load(folder).fingerprint == built.fingerprint
    first_value = text.splitlines()[1].split(",")[4]
    edited = text.replace("," + first_value + ",", "," + str(float(first_value) + 1) + ",", 1)
    csv.write_text(edited, encoding="utf-8")
    with pytest.raises(ValueError, match="fingerprint"):
        ActivationSet.load(folder)


def test_for_category_keeps_only_that_category(built):
    result = built
    part = result.for_category("Bag")
    assert set(part.table["category"]) == {"Bag"} and part.categories == ["Bag"]
    assert set(part.image_ids) == set(part.table["image_id"])
    expected = result.table[result.table["category"] == "Bag"]
    assert part.table["activation_id"].tolist() == expected["activation_id"].tolist()
    for aid in part.table.loc[part.table["significant"], "activation_id"]:
        np.testing.assert_array_equal(part.heatmap(aid), result.heatmap(aid))
        assert part.thumbnail(aid) == result.thumbnail(aid)
    with pytest.raises(KeyError, match="no category 'Shoe'"):
        result.for_category("Shoe")


def test_interrupted_build_resumes_without_recomputing(setup, built, tmp_path):
    reference = built
    out = tmp_path / "run"

    def stop_after_two(number, total):
        if number == 1:
            raise KeyboardInterrupt("simulated interruption")

    with pytest.raises(KeyboardInterrupt):
        _build(setup, out_dir=out, on_chunk=stop_after_two)
    assert not (out / "manifest.json").exists()
    computed = []
    resumed = _build(setup, out_dir=out, on_chunk=lambda number, total: computed.append(number))
    n_chunks = len(computed) + 2
    assert computed == list(range(2, n_chunks))  # chunks 0 and 1 were read back, not recomputed
    assert resumed.fingerprint == reference.fingerprint
    assert resumed.thumbnails == reference.thumbnails
    again = []
    loaded = _build(setup, out_dir=out, on_chunk=lambda number, total: again.append(number))
    assert again == [] and loaded == resumed
    with pytest.raises(ValueError, match="other arguments"):
        _build(setup, out_dir=out, method="gradcam")


def test_bad_input_is_explained(setup, built, tmp_path):
    with pytest.raises(ValueError, match="not classes of the XNN bank"):
        _build(setup, categories=["Shoe"])
    with pytest.raises(ValueError, match="has no layer named"):
        dnn, bank, data = setup
        build_activations(dnn, "fc7", bank, data, significance=positive)
    with pytest.raises(ValueError, match="significance must be"):
        _build(setup, significance="largest")
    with pytest.raises(ValueError, match=r"shape \(C, H, W\)"):
        flat = torch.utils.data.TensorDataset(torch.zeros(4, 64), torch.zeros(4, dtype=torch.long))
        build_activations(dnn, "fc", bank, flat, significance=positive)
    with pytest.raises(ValueError, match="thumb_size"):
        _build(setup, thumb_size=0)
    with pytest.raises(FileNotFoundError, match="holds no activation set"):
        ActivationSet.load(tmp_path)
    result = built
    with pytest.raises(KeyError, match="no activation"):
        result.thumbnail("Bag/img99999/x0")
    with pytest.raises(ValueError, match="one entry per table row"):
        ActivationSet(result.table, result.image_ids, result.images, result.heatmap_rows[:-1],
                      result.heatmaps, result.thumbnails, result.image_thumbnails)


class PlainDataset(torch.utils.data.Dataset):
    """Any map-style Dataset of (image tensor, label) with .classes (not an ImageArrayDataset)."""

    def __init__(self, arrays: ImageArrayDataset):
        self.arrays, self.classes = arrays, arrays.classes

    def __len__(self):
        return len(self.arrays)

    def __getitem__(self, index):
        return self.arrays[index]


def test_any_dataset_gives_the_same_set(setup, built):
    dnn, bank, data = setup
    plain = build_activations(dnn, "fc", bank, PlainDataset(data), significance=positive, chunk_size=5,
                              thumb_size=16)
    assert plain.fingerprint == built.fingerprint and plain.thumbnails == built.thumbnails


def _msx_loop(contributions, bias):
    """definitions §3 by hand: add positive terms, largest first (ties by index), until evidence > 0."""
    chosen, evidence = set(), sum(c for c in contributions if c < 0) + bias
    for k in sorted(range(len(contributions)), key=lambda k: (-contributions[k], k)):
        if evidence > 0 or contributions[k] <= 0:
            break
        chosen.add(k)
        evidence += contributions[k]
    return [k in chosen for k in range(len(contributions))]


def _top_fraction_loop(contributions, fraction=0.9):
    positive_total = sum(c for c in contributions if c > 0)
    chosen, total = set(), 0.0
    for k in sorted(range(len(contributions)), key=lambda k: (-contributions[k], k)):
        if contributions[k] <= 0 or (chosen and total >= fraction * positive_total):
            break
        chosen.add(k)
        total += contributions[k]
    return [k in chosen for k in range(len(contributions))]


@pytest.mark.parametrize("rule, msx_bias", [("msx", False), ("msx", True), ("top_fraction", False)])
def test_significance_rules_follow_spec(setup, rule, msx_bias):
    dnn, bank, data = setup
    table = build_activations(dnn, "fc", bank, data, significance=rule, msx_bias=msx_bias, thumb_size=8).table
    bias = dict(zip(bank.classes, bank.bias)) if msx_bias else dict.fromkeys(bank.classes, 0.0)
    for _, rows in table.groupby("image_id", sort=False):
        contributions = rows["contribution"].tolist()
        expected = (_msx_loop(contributions, bias[rows["category"].iat[0]]) if rule == "msx"
                    else _top_fraction_loop(contributions))
        assert rows["significant"].tolist() == expected
    assert table["significant"].any()


def test_category_without_predicted_images_gives_an_empty_set(setup, tmp_path):
    dnn, bank, data = setup
    with torch.no_grad():
        predicted = dnn(torch.from_numpy(data.images).float().div(255)[:, None]).argmax(1).numpy()
    fewest = CLASSES[int(np.bincount(predicted, minlength=3).argmin())]
    few = data.subset(np.flatnonzero(predicted != CLASSES.index(fewest)))
    empty = build_activations(dnn, "fc", bank, few, categories=[fewest], significance=positive)
    assert len(empty) == 0 and empty.categories == [fewest] and len(empty.heatmaps) == 0
    assert ActivationSet.load(empty.save(tmp_path / "empty")) == empty


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4)), min_size=1, max_size=20, unique=True))
def test_targets_per_image_put_every_activation_in_its_own_slot(pairs):
    indices = np.array([i for i, _ in pairs])
    xfeatures = np.array([k for _, k in pairs])
    targets, image_of_row, slot_of_row = _targets_per_image(indices, xfeatures)
    np.testing.assert_array_equal(np.unique(indices)[image_of_row], indices)
    np.testing.assert_array_equal(targets[image_of_row, slot_of_row], xfeatures)
    assert len(set(zip(image_of_row.tolist(), slot_of_row.tolist()))) == len(pairs)
    assert targets.shape == (len(set(indices.tolist())), max(np.bincount(indices)))
    for row, image in enumerate(np.unique(indices)):  # padding repeats the image's own x-features
        assert set(targets[row]) == set(xfeatures[indices == image].tolist())


def test_saved_files_are_readable_by_the_folder_users(built, tmp_path):
    import os
    import stat

    folder = built.save(tmp_path / "shared")
    mask = os.umask(0)
    os.umask(mask)
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path.name


# ------------------------------------------------------------------ losses that used to be silent

def _other_images(data):
    """The same number of images and labels, other pixels."""
    rng = np.random.default_rng(1)
    return ImageArrayDataset(rng.integers(0, 256, size=data.images.shape, dtype=np.uint8), data.labels,
                             classes=data.classes)


def test_another_data_set_of_the_same_size_never_resumes_or_returns_this_set(setup, tmp_path):
    """Regression: the resume key held only the number of images."""
    dnn, bank, data = setup
    finished = tmp_path / "finished"
    _build(setup, out_dir=finished)
    with pytest.raises(ValueError, match="other arguments"):
        _build((dnn, bank, _other_images(data)), out_dir=finished)
    unfinished = tmp_path / "unfinished"

    def stop(number, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _build(setup, out_dir=unfinished, on_chunk=stop)
    with pytest.raises(ValueError, match="unfinished work built with other arguments"):
        _build((dnn, bank, _other_images(data)), out_dir=unfinished)
    other_bank = fit_class_xnns(*(lambda f: (f.Z, f.logits))(FeatureExtractor(dnn, "fc").extract(data, progress=False)),
                                CLASSES, method="srae", n_features=N_FEATURES, hidden=(8,), epochs=2, seed=5)
    with pytest.raises(ValueError, match="other arguments"):
        _build((dnn, other_bank, data), out_dir=finished)


def test_thumbnails_are_covered_by_the_fingerprint(built, tmp_path):
    """Regression: corrupted or reordered thumbnails loaded silently."""
    swapped = list(built.thumbnails)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    reordered = ActivationSet(built.table, built.image_ids, built.images, built.heatmap_rows, built.heatmaps,
                              swapped, built.image_thumbnails)
    assert reordered.fingerprint != built.fingerprint
    folder = built.save(tmp_path / "set")
    data, offsets = np.load(folder / "thumbnails.npy"), np.load(folder / "thumbnails_offsets.npy")
    data = data.copy()
    data[offsets[0] + 20] ^= 0xFF  # one byte inside the first PNG
    np.save(folder / "thumbnails.npy", data)
    with pytest.raises(ValueError, match="fingerprint"):
        ActivationSet.load(folder)


def test_saving_over_another_set_is_refused_unless_asked(built, tmp_path):
    """Regression: ActivationSet.save onto a different set silently replaced it."""
    folder = tmp_path / "set"
    built.save(folder)
    other = built.for_category("Bag")
    with pytest.raises(FileExistsError, match="already holds another activation set"):
        other.save(folder)
    assert ActivationSet.load(folder) == built
    built.save(folder)  # the same set again is fine
    other.save(folder, overwrite=True)
    assert ActivationSet.load(folder).fingerprint == other.fingerprint


@pytest.mark.parametrize("name", ["manifest.json", "table.csv", "heatmaps.npy", "thumbnails_offsets.npy"])
def test_a_truncated_file_gives_an_error_that_names_it(built, tmp_path, name):
    folder = built.save(tmp_path / "set")
    path = folder / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match=name.replace(".", r"\.")):
        ActivationSet.load(folder)


def test_sets_saved_before_thumbnails_were_fingerprinted_still_load(built, tmp_path):
    import json

    from xnaming_widget import _activation_store as store

    built = ActivationSet(built.table, built.image_ids, built.images, built.heatmap_rows, built.heatmaps,
                          built.thumbnails, built.image_thumbnails, categories=built.categories)  # no descriptors then
    folder = built.save(tmp_path / "set")
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["descriptors"]
    old = store.content_fingerprint(built.table, built.image_ids, built.images, built.heatmap_rows,
                                    built.heatmaps, version=1)
    manifest.update(schema_version=1, fingerprint=old)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    loaded = ActivationSet.load(folder)
    assert loaded.fingerprint == old and loaded.thumbnails == built.thumbnails
    again = loaded.save(tmp_path / "copy")  # saved as it was: its namings keep their set
    assert ActivationSet.load(again).fingerprint == old


def test_descriptors_pool_the_layer_features_under_each_heatmap(setup, built, tmp_path):
    """Each significant activation's descriptor, recomputed by hand from its stored heatmap:
    the image's value at the peak over its value range (times COLOUR_WEIGHT), the layer's
    features at the map's hot spot (3x3 cells around the peak; image, maps and layer are all
    8x8 here) minus their image mean, then the x-feature (times XFEATURE_WEIGHT)."""
    from xnaming_widget.assist.descriptors import COLOUR_WEIGHT, XFEATURE_WEIGHT
    from xnaming_widget.metrics import map_peaks

    dnn, bank, data = setup
    layer = built.meta["config"]["descriptor_layer"]
    assert layer == "conv"  # TinyNet's only spatial layer (8x8 maps)
    significant = built.table[built.table["significant"]]
    assert built.descriptors.shape == (len(significant), 1 + 3 + N_FEATURES)  # grey value, 3 channels, one-hot
    for row in significant.head(6).itertuples():
        captured = []
        image = data[int(row.image_id[3:])][0]
        hook = dnn.conv.register_forward_hook(lambda m, i, o: captured.append(o.detach()))
        with torch.no_grad():
            dnn(image[None])
        hook.remove()
        features = captured[0][0].numpy()  # (3, 8, 8)
        heat = built.heatmap(row.activation_id).astype(np.float64)
        (r, c), half = map_peaks(heat), 1  # the hot spot: the peak's cell and its 8 neighbours
        rows, cols = np.ogrid[:heat.shape[0], :heat.shape[1]]
        weights = ((abs(rows - r) <= half) & (abs(cols - c) <= half)).astype(np.float64)
        if r < 0:  # an all-zero map has no hot spot: the plain mean, so nothing particular (a zero vector)
            weights[:] = 1
        weights /= weights.sum()
        pooled = (features * weights).sum(axis=(1, 2))
        particular = pooled - features.mean(axis=(1, 2))  # minus the image's mean
        particular /= max(np.linalg.norm(particular), 0.1 * np.linalg.norm(pooled), 1e-12)
        pixels = image.numpy().astype(np.float64)  # (1, 8, 8)
        colour = pixels[:, r, c] / (pixels.max() - pixels.min()) * COLOUR_WEIGHT if r >= 0 else np.zeros(1)
        expected = np.concatenate([colour, particular, np.eye(N_FEATURES)[row.xfeature] * XFEATURE_WEIGHT])
        index = built.heatmap_rows[built.table.index[built.table["activation_id"] == row.activation_id][0]]
        np.testing.assert_allclose(built.descriptors[index].astype(np.float64), expected, atol=2e-2)
    loaded = ActivationSet.load(built.save(tmp_path / "set"))
    np.testing.assert_array_equal(loaded.descriptors, built.descriptors)
    part = built.for_category("Bag")
    assert len(part.descriptors) == len(part.heatmaps)
    assert _build(setup, descriptors=False).descriptors is None


def test_descriptors_are_read_in_the_heatmaps_own_forward_passes(setup):
    """Descriptors cost no extra pass over the images: the descriptor layer runs as often with
    them as without them when the column's layers are named (a list: no probe), and one image
    more when only the deepest is named (one one-image probe finds the column)."""
    dnn = setup[0]
    calls = []
    hook = dnn.conv.register_forward_hook(lambda m, i, o: calls.append(len(o)))
    try:
        counts = {}
        for descriptors in (["conv"], "conv", False):
            calls.clear()
            built = _build(setup, descriptors=descriptors)
            counts[str(descriptors)] = sum(calls)
            assert (built.descriptors is None) == (descriptors is False)
    finally:
        hook.remove()
    assert counts["['conv']"] == counts["False"] > 0
    assert counts["conv"] == counts["False"] + 1


def test_descriptors_added_afterwards_equal_the_built_ones_and_keep_the_fingerprint(setup, tmp_path, monkeypatch):
    """A set built without descriptors gets them from its stored heatmaps (a plain forward pass):
    the same as those read in the heatmaps' own passes, cached once, fingerprint unchanged."""
    from xnaming_widget.assist import add_descriptors
    from xnaming_widget.assist import on_demand
    from xnaming_widget.widget import NamingWidget

    dnn, _, data = setup
    built_with = _build(setup, descriptors="conv")
    without = _build(setup, descriptors=False)
    fingerprint = without.fingerprint
    bag_ids = without.table[without.table["significant"] & (without.table["category"] == "Bag")]["activation_id"]
    first = NamingWidget(without, category="Bag", annotator="t")
    with pytest.raises(ValueError, match="add_descriptors"):
        first.suggest(first.create_concept("c", list(bag_ids[:2])))
    added = add_descriptors(without, dnn, data, layer="conv", cache=tmp_path)
    np.testing.assert_allclose(added.astype(np.float32), built_with.descriptors.astype(np.float32), atol=2e-2)
    assert without.fingerprint == fingerprint == without._content_fingerprint()
    assert len(list(tmp_path.glob("descriptors-*.npy"))) == 1
    again = _build(setup, descriptors=False)

    def no_compute(*args, **kwargs):
        raise AssertionError("computed again instead of reading the cache")

    monkeypatch.setattr("xnaming_widget.assist.descriptors.describe", no_compute)
    np.testing.assert_array_equal(add_descriptors(again, dnn, data, layer="conv", cache=tmp_path), added)
    bag = again.for_category("Bag")
    ids = bag.table[bag.table["significant"]]["activation_id"].tolist()
    w = NamingWidget(bag, category="Bag", annotator="t")
    concept = w.create_concept("c", ids[:2])
    assert set(w.suggest(concept, k=3)) <= set(ids[2:])
    assert on_demand.descriptors_for_assist(bag) is bag.computed_descriptors

def test_descriptors_added_to_a_loaded_set_are_cached_in_its_folder_and_found_by_the_next_load(setup, tmp_path):
    """add_descriptors on a loaded set caches in the set's own folder by default; a later load
    of that folder gives the widget's suggestions the same descriptors with no call at all."""
    from xnaming_widget.assist import add_descriptors
    from xnaming_widget.assist.descriptors import DESCRIPTOR_VERSION
    from xnaming_widget.assist.on_demand import descriptors_for_assist
    from xnaming_widget.widget import NamingWidget

    dnn, _, data = setup
    folder = _build(setup, descriptors=False).save(tmp_path / "set")
    first = ActivationSet.load(folder)
    added = add_descriptors(first, dnn, data)
    assert [p.name for p in folder.glob("descriptors-*.npy")] == [
        f"descriptors-v{DESCRIPTOR_VERSION}-{first.fingerprint[:16]}-conv.npy"]
    later = ActivationSet.load(folder)
    assert later.computed_descriptors is None
    np.testing.assert_array_equal(descriptors_for_assist(later), added)
    ids = later.table[later.table["significant"] & (later.table["category"] == "Bag")]["activation_id"].tolist()
    w = NamingWidget(later, category="Bag", annotator="t")
    assert set(w.suggest(w.create_concept("c", ids[:2]), k=3)) <= set(ids[2:])
    other = _build(setup, descriptors=False)  # not loaded from a folder: nothing to find
    with pytest.raises(ValueError, match="add_descriptors"):
        descriptors_for_assist(other)
    cache = next(folder.glob("descriptors-*.npy"))
    np.save(cache, added[:-1])  # damaged: a row short
    with pytest.raises(ValueError, match="one row per heatmap"):
        descriptors_for_assist(ActivationSet.load(folder))


# ------------------------------------------------------------------ loading without re-reading everything

def _count_hashes(monkeypatch):
    """Count full content hashes (ActivationSet.load's expensive check)."""
    from xnaming_widget import _activation_store as store

    calls = []
    real = store.content_fingerprint
    monkeypatch.setattr(store, "content_fingerprint", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    return calls


def test_load_maps_the_arrays_and_hashes_only_files_changed_since_their_last_check(built, tmp_path, monkeypatch):
    folder = built.save(tmp_path / "set")
    hashes = _count_hashes(monkeypatch)
    loaded = ActivationSet.load(folder)
    assert hashes == [] and loaded.fingerprint == built.fingerprint and loaded == built
    assert isinstance(loaded.heatmaps.base, np.memmap) or isinstance(loaded.heatmaps, np.memmap)
    assert not loaded.images.flags.writeable  # read-only views of the files
    assert loaded.thumbnail(built.table["activation_id"][built.heatmap_rows >= 0].iloc[0]).startswith(b"\x89PNG")
    # the same bytes written again: the file changed as far as anyone can tell, so it is hashed once
    (folder / "heatmaps.npy").write_bytes((folder / "heatmaps.npy").read_bytes())
    assert ActivationSet.load(folder) == built and len(hashes) == 1
    assert ActivationSet.load(folder) == built and len(hashes) == 1  # and recorded as checked
    # a copied folder (modification times kept, as cp -p and rsync -a do) is hashed once too
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert ActivationSet.load(copy) == built and len(hashes) == 2
    assert ActivationSet.load(copy) == built and len(hashes) == 2
    assert ActivationSet.load(copy, verify=True) == built and len(hashes) == 3  # asked: always hashed


def test_an_edit_that_keeps_size_and_modification_time_is_still_caught(built, tmp_path):
    """Only a file whose size, mtime, ctime and inode are all unchanged is trusted; ctime cannot be
    set back, so restoring the mtime after an edit does not hide it."""
    folder = built.save(tmp_path / "set")
    path = folder / "heatmaps.npy"
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # the last heatmap's last value
    with open(path, "r+b") as handle:  # in place: same inode, same size
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(ValueError, match="fingerprint"):
        ActivationSet.load(folder)
    # verify=False trusts the manifest (documented: for read-only copies); verify() still finds it
    trusted = ActivationSet.load(folder, verify=False)
    assert trusted.fingerprint == built.fingerprint
    with pytest.raises(ValueError, match="no longer matches"):
        trusted.verify()


def test_a_loaded_set_can_be_verified_later(built, tmp_path):
    folder = built.save(tmp_path / "set")
    loaded = ActivationSet.load(folder)
    loaded.verify()  # unchanged: nothing to say
    offsets = np.load(folder / "thumbnails_offsets.npy")
    with open(folder / "thumbnails.npy", "r+b") as handle:  # the disk changes under the mapped file
        handle.seek(-1 - (int(offsets[-1]) - int(offsets[-2])) // 2, os.SEEK_END)
        handle.write(b"\x00")
    with pytest.raises(ValueError, match="no longer matches"):
        loaded.verify()


@pytest.mark.parametrize("name", ["images.npy", "thumbnails.npy"])
def test_bytes_appended_to_an_array_file_are_named(built, tmp_path, name):
    folder = built.save(tmp_path / "set")
    with open(folder / name, "ab") as handle:
        handle.write(b"\x00" * 16)
    with pytest.raises(ActivationFileError, match=name.replace(".", r"\.")):
        ActivationSet.load(folder)


def test_offsets_that_do_not_fit_their_data_are_named(built, tmp_path):
    folder = built.save(tmp_path / "set")
    offsets = np.load(folder / "image_thumbnails_offsets.npy")
    offsets[-1] -= 1
    np.save(folder / "image_thumbnails_offsets.npy", offsets)
    with pytest.raises(ActivationFileError, match=r"image_thumbnails_offsets\.npy"):
        ActivationSet.load(folder)


def test_a_set_changed_in_place_is_not_saved_under_its_old_fingerprint(built, tmp_path):
    changed = ActivationSet(built.table, built.image_ids, built.images.copy(), built.heatmap_rows,
                            built.heatmaps.copy(), built.thumbnails, built.image_thumbnails)
    changed.heatmaps[0, 0, 0] += np.float16(1.0)
    with pytest.raises(ValueError, match="no longer matches"):
        changed.save(tmp_path / "set")
    assert not (tmp_path / "set" / "manifest.json").exists()


def test_packed_thumbnails_behave_like_a_list_of_bytes():
    blobs = [b"a", b"", b"xyz", b"\x00\x01"]
    packed = PackedBlobs.of(blobs)
    assert len(packed) == 4 and list(packed) == blobs and packed == blobs and blobs == packed
    assert packed[-1] == b"\x00\x01" and packed[1:3] == [b"", b"xyz"] and packed.take([2, 0]) == [b"xyz", b"a"]
    assert packed != [b"a"] and PackedBlobs.of(packed) is packed and packed == PackedBlobs.of(list(blobs))
    with pytest.raises(IndexError):
        packed[4]
    data, offsets = pack_blobs(packed.take([3, 2]))
    assert data.tobytes() == b"\x00\x01xyz" and offsets.tolist() == [0, 2, 5]
