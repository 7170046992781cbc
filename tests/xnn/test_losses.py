"""Each SRAE loss term against a direct numpy computation of definitions §2's formula."""
import numpy as np
import pytest
import torch

from xnaming_widget.xnn import losses


def _numpy_pull_away(E):
    n = E.shape[1]
    total = 0.0
    for l in range(n):
        for m in range(n):
            if l != m:
                cos = E[:, l] @ E[:, m] / (np.linalg.norm(E[:, l]) * np.linalg.norm(E[:, m]))
                total += cos ** 2
    return total / (n * (n - 1))


def test_faithfulness_matches_weighted_mean_squared_error():
    rng = np.random.default_rng(0)
    y_bar, y_hat, w = rng.normal(size=20), rng.normal(size=20), rng.uniform(0, 3, size=20)
    expected = sum(w[i] * (y_bar[i] - y_hat[i]) ** 2 for i in range(20)) / 20
    assert losses.faithfulness(y_bar, y_hat, w) == pytest.approx(expected)
    assert losses.faithfulness(y_bar, y_hat) == pytest.approx(np.mean((y_bar - y_hat) ** 2))


def test_faithfulness_multi_output_and_groups():
    rng = np.random.default_rng(1)
    y_bar, y_hat, w = rng.normal(size=(3, 15, 4)), rng.normal(size=(3, 15, 4)), rng.uniform(size=(3, 15))
    expected = [np.mean(w[g] * np.sum((y_bar[g] - y_hat[g]) ** 2, axis=1)) for g in range(3)]
    np.testing.assert_allclose(losses.faithfulness(y_bar, y_hat, w), expected)
    assert losses.faithfulness(y_bar[0], y_hat[0], w[0]) == pytest.approx(expected[0])


def test_sparse_reconstruction_matches_log_penalty():
    rng = np.random.default_rng(2)
    Z_hat, Z, q = rng.normal(size=(30, 7)), rng.normal(size=(30, 7)), 10.0
    Q = [np.mean([(Z_hat[i, k] - Z[i, k]) ** 2 for i in range(30)]) for k in range(7)]
    expected = np.mean([np.log(1 + q * Qk) for Qk in Q])
    assert losses.sparse_reconstruction(Z_hat, Z, q) == pytest.approx(expected)
    assert losses.mean_squared_reconstruction(Z_hat, Z) == pytest.approx(np.mean(Q))
    with pytest.raises(ValueError, match="q must be > 0"):
        losses.sparse_reconstruction(Z_hat, Z, 0.0)


def test_sparse_reconstruction_tolerates_a_few_unreconstructed_dims_more_than_mse():
    Z = np.zeros((10, 4))
    concentrated = Z.copy(); concentrated[:, 0] = 4.0     # one dimension badly off
    spread = Z.copy(); spread[:, :] = 2.0                  # same total squared error, spread out
    assert losses.mean_squared_reconstruction(concentrated, Z) == pytest.approx(
        losses.mean_squared_reconstruction(spread, Z))
    assert losses.sparse_reconstruction(concentrated, Z, 1.0) < losses.sparse_reconstruction(spread, Z, 1.0)


def test_pull_away_matches_numpy_and_bounds():
    rng = np.random.default_rng(3)
    E = np.abs(rng.normal(size=(25, 5)))
    assert losses.pull_away(E) == pytest.approx(_numpy_pull_away(E))
    groups = np.abs(rng.normal(size=(2, 25, 5)))
    np.testing.assert_allclose(losses.pull_away(groups), [_numpy_pull_away(g) for g in groups])
    disjoint = np.zeros((10, 3)); disjoint[0:3, 0] = 1; disjoint[3:6, 1] = 2; disjoint[6:, 2] = 5
    assert losses.pull_away(disjoint) == pytest.approx(0.0)
    identical = np.tile(rng.uniform(size=(10, 1)), (1, 3))
    assert losses.pull_away(identical) == pytest.approx(1.0)


def test_losses_are_differentiable_torch():
    torch.manual_seed(0)
    E = torch.rand(8, 4, requires_grad=True)
    losses.pull_away(E).backward()
    assert E.grad is not None and torch.isfinite(E.grad).all()
    assert isinstance(losses.faithfulness(torch.zeros(3), torch.ones(3)), torch.Tensor)


@pytest.mark.parametrize("z_shape", [(3, 6, 5), (6, 5)])
def test_reconstruction_gradient_matches_autograd_of_the_formula(z_shape):
    """The hand-written one-pass backward of Q against autograd of ``((Ẑ − Z) ** 2).mean(-2)``,
    with Z per group and Z shared by all groups (broadcast), for both inputs; plus gradcheck."""
    torch.manual_seed(1)
    Z_hat = torch.randn(3, 6, 5, dtype=torch.float64, requires_grad=True)
    Z = torch.randn(*z_shape, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(3, 5, dtype=torch.float64)
    got = torch.autograd.grad((losses.reconstruction_errors(Z_hat, Z) * upstream).sum(), (Z_hat, Z))
    want = torch.autograd.grad((((Z_hat - Z) ** 2).mean(-2) * upstream).sum(), (Z_hat, Z))
    for g, w in zip(got, want):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w)
    assert torch.autograd.gradcheck(losses.reconstruction_errors, (Z_hat, Z))
    Q = losses.reconstruction_errors(Z_hat, Z).detach().numpy()
    direct = ((Z_hat.detach().numpy() - Z.detach().numpy()) ** 2).mean(axis=-2)
    np.testing.assert_allclose(Q, direct, rtol=1e-12)
