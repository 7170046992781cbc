"""The shared interface: factory, shapes, x-features, contributions, embedding module, errors."""
import numpy as np
import pytest
import torch

from xnaming_widget.xnn import XNN, ExplanationNetwork, available_methods

from .conftest import FAST


def test_factory_returns_each_registered_method():
    assert available_methods() == ["cae", "lasso", "nn", "sae", "srae"]
    for method in available_methods():
        xnn = XNN(method=method)
        assert isinstance(xnn, ExplanationNetwork) and xnn.method == method
    with pytest.raises(ValueError, match=r"unknown XNN method 'sare'.*srae"):
        XNN(method="sare")


def test_single_output_shapes_and_identities(synthetic):
    Z, y = synthetic
    xnn = XNN("srae", n_features=4, **FAST).fit(Z, y[:, 0])
    E, pred, contrib = xnn.transform(Z), xnn.predict(Z), xnn.contributions(Z)
    assert E.shape == (300, 4) and pred.shape == (300,) and contrib.shape == (300, 4)
    assert xnn.weights.shape == (4,) and isinstance(xnn.bias, float)
    assert (E >= 0).all()
    np.testing.assert_allclose(contrib, E * xnn.weights, rtol=1e-6)
    np.testing.assert_allclose(contrib.sum(1) + xnn.bias, pred, rtol=1e-4, atol=1e-4)


def test_multi_output_shapes(synthetic):
    Z, y = synthetic
    xnn = XNN("srae", n_features=7, **FAST).fit(torch.tensor(Z), torch.tensor(y))
    assert xnn.predict(Z).shape == (300, 3)
    assert xnn.contributions(Z).shape == (300, 3, 7)
    assert xnn.weights.shape == (3, 7) and xnn.bias.shape == (3,)
    np.testing.assert_allclose(xnn.contributions(Z).sum(-1) + xnn.bias, xnn.predict(Z), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("final, last_type", [("softplus", torch.nn.Softplus), ("relu", torch.nn.ReLU)])
def test_embedding_module_is_a_plain_mlp_on_raw_features(synthetic, final, last_type):
    Z, y = synthetic
    xnn = XNN("nn", n_features=3, final_activation=final, **FAST).fit(Z, y[:, 1])
    module = xnn.embedding_module()
    assert isinstance(module, torch.nn.Sequential)
    assert all(isinstance(m, (torch.nn.Linear, torch.nn.ReLU)) for m in module[:-1])
    assert type(module[-1]) is last_type and isinstance(module[-2], torch.nn.Linear)
    assert (xnn.transform(Z) >= 0).all()
    batch = torch.tensor(Z[:20], requires_grad=True)
    out = module(batch)
    np.testing.assert_allclose(out.detach().numpy(), xnn.transform(Z[:20]), rtol=1e-5, atol=1e-5)
    out[:, 0].sum().backward()
    assert batch.grad is not None


def test_training_reduces_the_error(synthetic):
    Z, y = synthetic
    short = XNN("nn", n_features=3, **dict(FAST, epochs=1)).fit(Z, y[:, 0])
    longer = XNN("nn", n_features=3, **dict(FAST, epochs=15, lr=1e-2)).fit(Z, y[:, 0])
    err = lambda m: np.abs(m.predict(Z) - y[:, 0]).mean()
    assert err(longer) < 0.5 * err(short)
    assert longer.history.shape == (15, 1) and longer.history[-1, 0] < longer.history[0, 0]


def test_seeded_runs_are_reproducible(synthetic):
    Z, y = synthetic
    a = XNN("srae", seed=3, **FAST).fit(Z, y[:, 0]).predict(Z)
    b = XNN("srae", seed=3, **FAST).fit(Z, y[:, 0]).predict(Z)
    c = XNN("srae", seed=4, **FAST).fit(Z, y[:, 0]).predict(Z)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_clear_errors_for_bad_input(synthetic):
    Z, y = synthetic
    xnn = XNN("srae", **FAST)
    with pytest.raises(RuntimeError, match="not fitted"):
        xnn.transform(Z)
    bad = Z.copy()
    bad[[3, 7], 0] = np.nan
    bad[9, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or inf values in 3 of 300 rows"):
        xnn.fit(bad, y[:, 0])
    with pytest.raises(ValueError, match="300 rows but y has 299"):
        xnn.fit(Z, y[:-1, 0])
    with pytest.raises(ValueError, match="must be 2-D"):
        xnn.fit(Z[:, :, None], y[:, 0])
    with pytest.raises(ValueError, match=r"\(N,\) one class score or \(N, K\)"):
        xnn.fit(Z, y[:, :, None])
    with pytest.raises(ValueError, match="n_features"):
        XNN("srae", n_features=0)
    fitted = XNN("nn", **FAST).fit(Z, y[:, 0])
    with pytest.raises(ValueError, match="has 5 features but this XNN was fitted on 12"):
        fitted.predict(Z[:, :5])


def test_files_saved_before_final_activation_load_as_relu_networks(synthetic, tmp_path):
    """Older files carry ``final_relu`` in the network config and no ``final_activation`` param."""
    import json

    Z, y = synthetic
    xnn = XNN("srae", final_activation="relu", **FAST).fit(Z, y[:, 0])
    blob = torch.load(xnn.save(tmp_path / "new.pt"), weights_only=True)
    config = json.loads(blob["config"])
    del config["network"]["final_activation"], config["params"]["final_activation"]
    config["network"]["final_relu"] = True
    torch.save(dict(blob, config=json.dumps(config)), tmp_path / "old.pt")
    old = ExplanationNetwork.load(tmp_path / "old.pt")
    assert old.params["final_activation"] == "relu"
    assert isinstance(old.embedding_module()[-1], torch.nn.ReLU)
    np.testing.assert_allclose(old.predict(Z), xnn.predict(Z), rtol=1e-6, atol=1e-6)


def test_final_activation_must_keep_x_features_non_negative():
    with pytest.raises(ValueError, match="final_activation must be 'softplus' or 'relu'"):
        XNN("srae", final_activation="none")


def test_head_weights_start_at_equal_magnitudes_with_alternating_signs():
    """No x-feature starts with a larger |v_k| (which would hand it most of every update)."""
    from xnaming_widget.xnn._core import BatchedXNN

    core = BatchedXNN(3, 6, (4,), 5, 2, (4,), seed=7)
    expected = np.array([1.0, -1.0, 1.0, -1.0, 1.0]) / np.sqrt(5)
    np.testing.assert_allclose(core.v.detach().numpy(), np.broadcast_to(expected, (3, 2, 5)), rtol=1e-6)


@pytest.mark.parametrize("final, can_recover", [("softplus", True), ("relu", False)])
def test_a_silenced_x_feature_recovers_only_with_softplus(synthetic, final, can_recover):
    """Push x-feature 0's pre-activation to -20 or below on every image: a ReLU feature then gets
    no gradient at all (it is dead for good), a softplus feature still gets one (Adam rescales
    small gradients, so it can come back)."""
    Z, y = synthetic
    xnn = XNN("srae", final_activation=final, **FAST).fit(Z, y[:, 0])
    core = xnn._core
    last = core.encoder.layers[-1]
    with torch.no_grad():
        core.encoder.final_activation = "none"
        pre = core.encode(torch.as_tensor(Z))[..., 0]
        core.encoder.final_activation = final
        last.bias[0, 0] -= float(pre.max()) + 20.0
    e = core.encode(torch.as_tensor(Z))
    assert float(e[..., 0].detach().max()) < 1e-6
    loss = ((core.head(e)[..., 0] - torch.as_tensor(y[:, 0])) ** 2).mean()
    core.zero_grad(set_to_none=False)
    loss.backward()
    gradient = last.weight.grad[0, :, 0].abs().sum()
    assert (float(gradient) > 0) == can_recover
