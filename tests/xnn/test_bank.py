"""The batched one-vs-all bank: equal to per-class training, faithful on real demo features, clear errors."""
import numpy as np
import pytest
import torch

from xnaming_widget.metrics.faithfulness import f_cls, xnn_accuracy
from xnaming_widget.xnn import XNN, XNNBank, balanced_weights, class_positives, fit_class_xnns

from .conftest import FAST


def _logits(synthetic):
    Z, y = synthetic
    return Z, np.concatenate([y, -y[:, :1]], axis=1)  # 4 classes, each predicted somewhere


def test_balanced_weights_by_hand():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    positives = class_positives(logits, labels=np.array([0, 1, 1, 1]))
    assert positives.tolist() == [[True, False, False, True], [False, True, True, True]]
    weights = balanced_weights(positives)
    np.testing.assert_allclose(weights[0], [1.0, 1.0, 1.0, 1.0])              # p = 1/2
    np.testing.assert_allclose(weights[1], [2.0, 2 / 3, 2 / 3, 2 / 3])       # p = 3/4
    np.testing.assert_allclose(weights.mean(axis=1), 1.0)


def test_seeded_bank_matches_per_class_training(synthetic):
    Z, logits = _logits(synthetic)
    params = dict(FAST, n_features=3, seed=11)
    bank = fit_class_xnns(Z, logits, ["a", "b", "c", "d"], **params)
    weights = balanced_weights(class_positives(logits))
    for c in range(4):
        alone = XNN("srae", **dict(params, seed=11 + c, batch_seed=11)).fit(Z, logits[:, c], sample_weight=weights[c])
        np.testing.assert_allclose(bank.predict(Z)[:, c], alone.predict(Z), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(bank.transform(Z)[:, c], alone.transform(Z), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(bank.weights[c], alone.weights, rtol=1e-3, atol=1e-4)
        # the view carries the parameters that retrain it alone
        view = bank[c]
        assert view.params["seed"] == 11 + c and view.params["batch_seed"] == 11
        np.testing.assert_allclose(view.predict(Z), bank.predict(Z)[:, c], rtol=1e-6, atol=1e-6)


def test_bank_shapes_views_and_embedding(synthetic):
    Z, logits = _logits(synthetic)
    bank = fit_class_xnns(Z, logits, ["a", "b", "c", "d"], n_features=2, **FAST)
    assert bank.transform(Z).shape == (300, 4, 2) and bank.predict(Z).shape == (300, 4)
    assert bank.weights.shape == (4, 2) and bank.bias.shape == (4,)
    np.testing.assert_allclose(bank.contributions(Z).sum(-1) + bank.bias, bank.predict(Z), rtol=1e-4, atol=1e-4)
    module = bank["c"].embedding_module()
    assert isinstance(module, torch.nn.Sequential)
    np.testing.assert_allclose(module(torch.tensor(Z)).detach().numpy(), bank.transform(Z)[:, 2],
                               rtol=1e-5, atol=1e-5)
    assert bank.index(-1) == 3
    with pytest.raises(KeyError, match="unknown class 'z'"):
        bank["z"]


def test_bank_errors(synthetic):
    Z, logits = _logits(synthetic)
    never = logits.copy()
    never[:, 1] = -100.0  # nobody is predicted as class "b"
    with pytest.raises(ValueError, match=r"no examples of class\(es\) \['b'\]"):
        fit_class_xnns(Z, never, ["a", "b", "c", "d"], **FAST)
    with pytest.raises(ValueError, match="300 rows but logits has 299"):
        fit_class_xnns(Z, logits[:-1], **FAST)
    with pytest.raises(ValueError, match="one name per logit column"):
        fit_class_xnns(Z, logits, ["a", "b"], **FAST)
    with pytest.raises(ValueError, match="unknown XNN method"):
        fit_class_xnns(Z, logits, method="pca", **FAST)
    bad = Z.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf values in 1 of 300 rows"):
        fit_class_xnns(bad, logits, **FAST)


def test_bank_save_load_round_trip(synthetic, tmp_path):
    Z, logits = _logits(synthetic)
    bank = fit_class_xnns(Z, logits, ["a", "b", "c", "d"], n_features=2, **FAST)
    path = bank.save(tmp_path / "bank.pt")
    torch.load(path, weights_only=True)  # loadable without unpickling arbitrary objects
    loaded = XNNBank.load(path)
    assert loaded.classes == bank.classes and loaded.method == "srae"
    np.testing.assert_array_equal(loaded.predict(Z), bank.predict(Z))
    np.testing.assert_array_equal(loaded.contributions(Z), bank.contributions(Z))
    with pytest.raises(ValueError, match="not a xnaming-widget/xnn-bank file"):
        XNNBank.load(bank["a"].save(tmp_path / "one.pt"))


def test_bank_on_demo_features_is_faithful(demo_features):
    """Reduced setting (8 epochs) on the demo CNN's fc6 features of real Fashion-MNIST."""
    features = demo_features
    bank = fit_class_xnns(features.Z, features.logits, features.classes, labels=features.labels,
                          epochs=8, seed=0, progress=False, device="cpu")
    y_bar = bank.predict(features.Z)
    assert f_cls(features.logits, y_bar).min() >= 0.99
    dnn = xnn_accuracy(features.logits, features.labels)
    assert abs(xnn_accuracy(y_bar, features.labels) - dnn) <= 0.01
