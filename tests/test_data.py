"""Tests for xnaming_widget.data: the IDX reader, load_fashion_mnist and make_parts_dataset."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xnaming_widget import data as data_mod
from xnaming_widget._idx import IDXFormatError, read_idx
from xnaming_widget.data import (FASHION_MNIST_CLASSES, ImageArrayDataset, dataset_tensors, load_fashion_mnist,
                                 make_parts_dataset)
from xnaming_widget.parts_data import (BIRD_CLASSES, FINE_GRAINED_ATTRIBUTES, FINE_GRAINED_CLASSES, PART_NAMES,
                                       _C)

# ----------------------------------------------------------------------------- IDX files

_TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """An independent IDX writer: struct-packed header, big-endian payload."""
    code = _TYPE_CODES[array.dtype.type]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_fashion_files(folder, split_prefix, images, labels, compress):
    for kind, arr in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
        raw = idx_bytes(arr)
        name = f"{split_prefix}-{kind}" + (".gz" if compress else "")
        (folder / name).write_bytes(gzip.compress(raw) if compress else raw)


@pytest.fixture
def tiny_images():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8), np.array([0, 9, 3, 3, 7], dtype=np.uint8)


@pytest.fixture
def no_default_dirs(monkeypatch, tmp_path):
    """Hide the system data set, the user cache and $XNAMING_DATA so only ``root`` is searched."""
    monkeypatch.setattr(data_mod, "SYSTEM_FASHION_MNIST_DIR", tmp_path / "no-system-dir")
    monkeypatch.setenv("XNAMING_CACHE", str(tmp_path / "no-cache"))
    monkeypatch.delenv("XNAMING_DATA", raising=False)


@pytest.mark.parametrize("compress", [True, False])
def test_load_fashion_mnist_reads_gz_and_plain_idx(tmp_path, tiny_images, no_default_dirs, compress):
    images, labels = tiny_images
    write_fashion_files(tmp_path, "t10k", images, labels, compress)
    ds = load_fashion_mnist(tmp_path, split="test")
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels.astype(np.int64))
    assert ds.classes == FASHION_MNIST_CLASSES and ds.classes[7] == "Sneaker" and ds.classes[9] == "Ankle boot"
    x, y = ds[1]
    assert x.dtype == torch.float32 and x.shape == (1, 28, 28) and y == 9
    torch.testing.assert_close(x[0], torch.from_numpy(images[1]).float() / 255.0)


def test_xnaming_data_env_is_searched(tmp_path, tiny_images, no_default_dirs, monkeypatch):
    images, labels = tiny_images
    write_fashion_files(tmp_path, "train", images, labels, compress=True)
    monkeypatch.setenv("XNAMING_DATA", str(tmp_path))
    assert len(load_fashion_mnist(split="train")) == 5


def test_missing_files_error_says_how_to_fix(tmp_path, no_default_dirs):
    with pytest.raises(FileNotFoundError) as err:
        load_fashion_mnist(tmp_path, split="test")
    msg = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in msg and "XNAMING_DATA" in msg and "download=True" in msg
    assert str(tmp_path) in msg


def test_bad_split_is_rejected():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_fashion_mnist(split="validation")


def test_corrupt_magic_number(tmp_path, tiny_images, no_default_dirs):
    images, labels = tiny_images
    write_fashion_files(tmp_path, "t10k", images, labels, compress=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    raw = bytearray(path.read_bytes())
    raw[0:4] = b"\x12\x34\x08\x03"
    path.write_bytes(bytes(raw))
    with pytest.raises(IDXFormatError, match="magic number 0x12340803"):
        load_fashion_mnist(tmp_path, split="test")


def test_truncated_and_swapped_files(tmp_path, tiny_images):
    images, labels = tiny_images
    (tmp_path / "short").write_bytes(idx_bytes(images)[:-10])
    with pytest.raises(IDXFormatError, match="truncated"):
        read_idx(tmp_path / "short")
    (tmp_path / "labels").write_bytes(idx_bytes(labels))
    with pytest.raises(IDXFormatError, match="swap"):
        read_idx(tmp_path / "labels", ndim=3)
    (tmp_path / "badgz").write_bytes(gzip.compress(idx_bytes(labels))[:-8])
    with pytest.raises(IDXFormatError, match="gzip"):
        read_idx(tmp_path / "badgz")


@settings(max_examples=30, deadline=None)
@given(dtype=st.sampled_from(list(_TYPE_CODES)), shape=st.lists(st.integers(0, 4), min_size=1, max_size=4),
       compress=st.booleans(), seed=st.integers(0, 2**16))
def test_idx_round_trip_any_type_and_shape(tmp_path_factory, dtype, shape, compress, seed):
    rng = np.random.default_rng(seed)
    array = (rng.normal(size=shape) * 100).astype(dtype)
    raw = idx_bytes(array)
    path = tmp_path_factory.mktemp("idx") / "a.idx"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    out = read_idx(path)
    assert out.shape == array.shape and out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out, array)


def test_real_fashion_subsets(fashion_small):
    train, test = fashion_small.train, fashion_small.test
    assert train.images.shape[1:] == (28, 28) and train.images.dtype == np.uint8
    assert np.bincount(train.labels, minlength=10).tolist() == [300] * 10
    assert len(test) == 2000 and train.classes == FASHION_MNIST_CLASSES
    assert 0 < train.images.mean() < 255  # real pictures, not blank


def test_dataset_tensors_agree_across_input_forms():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(7, 6, 6, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, size=7)
    ds = ImageArrayDataset(images, labels, ["a", "b", "c"])
    x, y = dataset_tensors(ds)
    assert x.shape == (7, 3, 6, 6)
    torch.testing.assert_close(x, torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255)
    generic = torch.utils.data.TensorDataset(x, torch.from_numpy(labels))
    x2, y2 = dataset_tensors(generic)
    torch.testing.assert_close(x2, x)
    assert torch.equal(y2, y)
    x3, y3 = dataset_tensors((x.numpy(), labels))
    torch.testing.assert_close(x3, x)
    assert torch.equal(y3, y)
    assert dataset_tensors(x)[1] is None
    with pytest.raises(ValueError, match="4-d"):
        dataset_tensors(x[0])


def test_image_array_dataset_rejects_bad_arrays():
    with pytest.raises(ValueError, match="uint8"):
        ImageArrayDataset(np.zeros((2, 4, 4), np.float32), np.zeros(2))
    with pytest.raises(ValueError, match="labels"):
        ImageArrayDataset(np.zeros((2, 4, 4), np.uint8), np.zeros(3))


# ----------------------------------------------------------------------------- synthetic birds

def test_parts_dataset_fields(parts_small):
    ds = parts_small
    n, P = len(ds), len(ds.part_names)
    assert n == 120 and ds.part_names == PART_NAMES and ds.classes == list(BIRD_CLASSES)
    assert ds.images.shape == (n, 64, 64, 3) and ds.images.dtype == np.uint8
    assert ds.labels.dtype == np.int64 and np.bincount(ds.labels).tolist() == [20] * 6
    assert ds.keypoints.shape == (n, P, 2) and ds.keypoints.dtype == np.float32
    assert ds.boxes.shape == (n, 4) and ds.boxes.dtype == np.float32
    assert ds.parts_present.shape == (n, P) and ds.parts_present.dtype == bool
    x, y = ds[3]
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32 and y == ds.labels[3]
    # absent parts are NaN, present ones finite; presence follows the class description
    assert np.isnan(ds.keypoints[~ds.parts_present]).all()
    assert np.isfinite(ds.keypoints[ds.parts_present]).all()
    expected = np.array([[p in ds.class_parts[ds.classes[label]] for p in PART_NAMES] for label in ds.labels])
    np.testing.assert_array_equal(ds.parts_present, expected)
    # shared parts: every class has body, head, eye; some parts only in some classes
    assert ds.parts_present[:, :3].all()
    assert 0 < ds.parts_present[:, PART_NAMES.index("crest")].mean() < 1


def test_parts_dataset_is_deterministic():
    a = make_parts_dataset(3, size=32, seed=5)
    b = make_parts_dataset(3, size=32, seed=5)
    c = make_parts_dataset(3, size=32, seed=6)
    for field in ("images", "labels", "keypoints", "boxes", "parts_present"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.images, c.images)


def test_keypoints_lie_in_box_and_on_their_part():
    ds = make_parts_dataset(10, size=64, seed=3, noise=0.0)
    n_idx, p_idx = np.nonzero(ds.parts_present)
    rows, cols = ds.keypoints[n_idx, p_idx, 0], ds.keypoints[n_idx, p_idx, 1]
    boxes = ds.boxes[n_idx]
    assert ((boxes[:, 0] <= rows) & (rows < boxes[:, 2]) & (boxes[:, 1] <= cols) & (cols < boxes[:, 3])).all()
    r, c = rows.astype(int), cols.astype(int)
    assert (ds.part_map[n_idx, r, c] == p_idx).all()
    # independent of part_map: the pixel at the keypoint has the part's class colour
    # (up to the brightness jitter 0.88..1.08 and the per-image colour jitter of +-0.04)
    pixel = ds.images[n_idx, r, c].astype(float) / 255
    nominal = np.array([_C[BIRD_CLASSES[ds.classes[ds.labels[i]]]["colors"][PART_NAMES[p]]]
                        for i, p in zip(n_idx, p_idx)])
    assert (np.abs(pixel - nominal) <= 0.12 * nominal + 0.05).all()


def test_boxes_are_tight_around_the_bird(parts_small):
    ds = parts_small
    bird = ds.part_map >= 0
    rows = np.nonzero(bird.any(2))
    cols = np.nonzero(bird.any(1))
    for i in (0, 17, 119):
        r, c = rows[1][rows[0] == i], cols[1][cols[0] == i]
        assert ds.boxes[i].tolist() == [r.min(), c.min(), r.max() + 1, c.max() + 1]


def test_parts_subset_and_class_choice(parts_small):
    sub = parts_small.subset([4, 2])
    np.testing.assert_array_equal(sub.keypoints, parts_small.keypoints[[4, 2]])
    assert sub.part_names == parts_small.part_names and sub.class_parts == parts_small.class_parts
    two = make_parts_dataset(2, size=32, classes=["Crow", "Flamingo"])
    assert two.classes == ["Crow", "Flamingo"] and set(two.labels.tolist()) == {0, 1}
    with pytest.raises(ValueError, match="Penguin"):
        make_parts_dataset(2, classes=["Penguin"])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(16, 48), clutter=st.integers(0, 4))
def test_keypoint_and_box_invariants_for_any_seed_and_size(seed, size, clutter):
    ds = make_parts_dataset(1, size=size, seed=seed, clutter=clutter)
    bird = ds.part_map >= 0
    assert bird.any(axis=(1, 2)).all(), "every image shows a bird"
    n_idx, p_idx = np.nonzero(ds.parts_present)
    r, c = ds.keypoints[n_idx, p_idx, 0].astype(int), ds.keypoints[n_idx, p_idx, 1].astype(int)
    assert (ds.part_map[n_idx, r, c] == p_idx).all()
    b = ds.boxes[n_idx]
    assert ((b[:, 0] <= r) & (r < b[:, 2]) & (b[:, 1] <= c) & (c < b[:, 3])).all()
    assert ((0 <= ds.boxes) & (ds.boxes <= size)).all()
    # nothing of the bird lies outside its box
    rr, cc = np.mgrid[0:size, 0:size]
    inside = ((rr[None] >= ds.boxes[:, 0, None, None]) & (rr[None] < ds.boxes[:, 2, None, None])
              & (cc[None] >= ds.boxes[:, 1, None, None]) & (cc[None] < ds.boxes[:, 3, None, None]))
    assert not (bird & ~inside).any()


# ----------------------------------------------------------------------------- fine-grained birds

def _measured_attributes(ds) -> np.ndarray:
    """(N, 3) attributes read off the drawing itself: wing is red (vs blue), tail is long, crest drawn."""
    wing = ds.part_map == PART_NAMES.index("wing")
    red = (ds.images[..., 0].astype(float) * wing).sum((1, 2)) > (ds.images[..., 2].astype(float) * wing).sum((1, 2))
    tail_pixels = (ds.part_map == PART_NAMES.index("tail")).sum((1, 2)) / (ds.boxes[:, 3] - ds.boxes[:, 1])
    crest = (ds.part_map == PART_NAMES.index("crest")).any((1, 2))
    long_tail = tail_pixels > np.median(tail_pixels)  # the two lengths split the birds about in half
    return np.stack([~red, long_tail, crest], 1).astype(int)


def test_fine_grained_classes_are_the_attribute_combinations():
    ds = make_parts_dataset(30, size=64, seed=1, fine_grained=True, atypical=0.0)
    combos = {tuple(spec["attributes"][p] for p in FINE_GRAINED_ATTRIBUTES) for spec in FINE_GRAINED_CLASSES.values()}
    values = [v for _, v in FINE_GRAINED_ATTRIBUTES.values()]
    assert len(combos) == len(FINE_GRAINED_CLASSES) == int(np.prod([len(v) for v in values]))  # all, once each
    assert {kind for kind, _ in FINE_GRAINED_ATTRIBUTES.values()} == {"colour", "shape", "presence"}
    # the same parts everywhere, except the one whose presence is the attribute
    present = ds.parts_present.copy()
    present[:, PART_NAMES.index("crest")] = True
    assert present.all()
    # with no atypical birds, what is drawn is the class's combination (read back from the pixels)
    np.testing.assert_array_equal(ds.drawn_labels, ds.labels)
    measured = _measured_attributes(ds)
    expected = np.array([[values[i].index(FINE_GRAINED_CLASSES[ds.classes[k]]["attributes"][p])
                          for i, p in enumerate(FINE_GRAINED_ATTRIBUTES)] for k in ds.labels])
    np.testing.assert_array_equal(measured, expected)


def test_fine_grained_needs_several_parts():
    """No single part tells the classes apart: every part's look is shared by half the classes, and
    the best rule reading only one part (brute force over the drawn attributes) is right for at
    most a quarter of the birds; reading all three parts is right for every bird."""
    ds = make_parts_dataset(20, size=48, seed=2, fine_grained=True, atypical=0.0)
    measured = _measured_attributes(ds)
    for i, part in enumerate(FINE_GRAINED_ATTRIBUTES):
        best = sum(np.bincount(ds.labels[measured[:, i] == v], minlength=8).max() for v in (0, 1))
        assert best / len(ds) <= 0.25 + 1e-9, part
        # pairs of classes that agree on this part are told apart by another part only
        agree = [(a, b) for a in ds.classes for b in ds.classes if a < b
                 and FINE_GRAINED_CLASSES[a]["attributes"][part] == FINE_GRAINED_CLASSES[b]["attributes"][part]]
        assert len(agree) == 12
    keys = [tuple(row) for row in measured]
    rule = {key: ds.labels[[k == key for k in keys]][0] for key in set(keys)}
    assert all(rule[key] == label for key, label in zip(keys, ds.labels))


def test_fine_grained_atypical_birds_cap_the_accuracy():
    rate = 0.1
    ds = make_parts_dataset(200, size=24, seed=3, fine_grained=True, atypical=rate, clutter=0)
    typical = (ds.drawn_labels == ds.labels).mean()
    expected = (1 - rate) ** len(FINE_GRAINED_ATTRIBUTES)
    assert abs(typical - expected) < 4 * np.sqrt(expected * (1 - expected) / len(ds))
    # an atypical bird is drawn as another class: one whose combination differs in some attribute
    odd = np.flatnonzero(ds.drawn_labels != ds.labels)
    for i in odd[:50]:
        a = FINE_GRAINED_CLASSES[ds.classes[ds.labels[i]]]["attributes"]
        b = FINE_GRAINED_CLASSES[ds.classes[ds.drawn_labels[i]]]["attributes"]
        assert sum(a[p] != b[p] for p in a) >= 1


def test_fine_grained_is_deterministic_and_checks_its_arguments():
    a = make_parts_dataset(3, size=32, seed=5, fine_grained=True)
    b = make_parts_dataset(3, size=32, seed=5, fine_grained=True)
    c = make_parts_dataset(3, size=32, seed=6, fine_grained=True)
    for name in ("images", "labels", "drawn_labels", "keypoints", "part_map"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.images, c.images)
    assert a.classes == list(FINE_GRAINED_CLASSES) and len(a) == 3 * 8
    sub = a.subset([2, 0])
    np.testing.assert_array_equal(sub.drawn_labels, a.drawn_labels[[2, 0]])
    with pytest.raises(ValueError, match="fine_grained=True"):
        make_parts_dataset(2, atypical=0.1)
    with pytest.raises(ValueError, match="unknown bird classes"):
        make_parts_dataset(2, fine_grained=True, classes=["Crow"])
    with pytest.raises(ValueError, match="probability"):
        make_parts_dataset(2, fine_grained=True, atypical=0.7)


def test_download_goes_through_torchvision_into_the_user_cache(tmp_path, tiny_images, no_default_dirs, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    images, labels = tiny_images
    calls = []

    class FakeFashionMNIST:
        """Stands in for torchvision's downloader: writes IDX files where torchvision would."""

        def __init__(self, root, train, download):
            calls.append((root, train, download))
            raw = tmp_path / "no-cache" / "fashion-mnist" / "FashionMNIST" / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            write_fashion_files(raw, "train" if train else "t10k", images, labels, compress=False)

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", FakeFashionMNIST)
    with pytest.raises(FileNotFoundError):
        load_fashion_mnist(split="train")
    assert calls == [], "nothing is downloaded unless download=True"
    ds = load_fashion_mnist(split="train", download=True)
    assert calls == [(str(tmp_path / "no-cache" / "fashion-mnist"), True, True)]
    np.testing.assert_array_equal(ds.images, images)


def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    """Each module must import first, alone (a lazy re-export once made parts_data circular)."""
    import pkgutil
    import subprocess
    import sys

    import xnaming_widget

    names = sorted(m.name for m in pkgutil.walk_packages(xnaming_widget.__path__, "xnaming_widget.")
                   if m.name != "xnaming_widget.__main__")
    script = ("import importlib, sys\nfailed = []\n"
              f"for name in {names!r}:\n"
              "    for loaded in [k for k in sys.modules if k.startswith('xnaming_widget')]:\n"
              "        del sys.modules[loaded]\n"
              "    try:\n        importlib.import_module(name)\n"
              "    except Exception as exc:\n        failed.append(f'{name}: {exc!r}')\n"
              "print('\\n'.join(failed))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"modules that fail to import first:\n{result.stdout}"
