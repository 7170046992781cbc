"""Every write is whole or absent, shareable, and leaves no temporary files behind."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import torch

from xnaming_widget import _files
from xnaming_widget.xnn import XNNBank, fit_class_xnns


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def test_an_interrupted_bank_save_leaves_the_old_file_loadable(tmp_path, monkeypatch):
    """Regression: interrupting XNNBank.save left a truncated file that broke every later run."""
    rng = np.random.default_rng(0)
    Z, logits = rng.normal(size=(60, 6)).astype(np.float32), rng.normal(size=(60, 3)).astype(np.float32)
    bank = fit_class_xnns(Z, logits, ["a", "b", "c"], n_features=2, hidden=(4,), epochs=1, seed=0)
    path = bank.save(tmp_path / "bank.pt")
    before = path.read_bytes()
    real_save = torch.save

    def killed_mid_write(obj, handle, *args, **kwargs):
        real_save(obj, handle, *args, **kwargs)
        handle.truncate(677)  # what the interrupted save left on disk
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed_mid_write)
    with pytest.raises(KeyboardInterrupt):
        bank.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    np.testing.assert_allclose(XNNBank.load(path).predict(Z), bank.predict(Z), rtol=1e-6)
    assert [p.name for p in tmp_path.iterdir()] == ["bank.pt"]  # no temporary file left


def test_files_get_the_mode_open_would_give_not_0600(tmp_path):
    """Regression: naming files were written 0600 (mkstemp's mode), unreadable to a shared folder."""
    from xnaming_widget.widget import NamingWidget
    import pandas as pd

    table = pd.DataFrame({"activation_id": ["S/img1/x0", "S/img1/x1"], "image_id": "img1", "category": "S",
                          "xfeature": [0, 1], "contribution": 1.0, "significant": True})
    w = NamingWidget(table, category="S", annotator="ana", autosave=tmp_path / "ana-S.json")
    w.create_concept("toe")
    w.close()
    written = [_files.write_json_atomic(tmp_path / "x.json", {"a": 1}), tmp_path / "ana-S.json"]
    for path in written:
        assert _mode(path) == _default_mode(), path.name


def test_stale_temporaries_of_one_file_are_removed_and_only_those(tmp_path):
    for name in (".a.json.123.tmp", ".a.json.x.tmp", ".b.json.1.tmp", "a.json"):
        (tmp_path / name).write_text("")
    removed = _files.remove_stale_temporaries(tmp_path / "a.json")
    assert sorted(p.name for p in removed) == [".a.json.123.tmp", ".a.json.x.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".b.json.1.tmp", "a.json"]
