"""Each method behaves as definitions §2 says: SRAE's pull-away, NN without decoder, SAE, CAE's least
squares head, Lasso's selected dimensions."""
import numpy as np
import pytest
from sklearn.linear_model import Lasso as SkLasso

from xnaming_widget.xnn import XNN, losses

from .conftest import FAST


def test_pull_away_falls_as_eta_grows(synthetic):
    Z, y = synthetic
    params = dict(FAST, n_features=4, epochs=8, beta=0.0, seed=2)
    measured = [float(losses.pull_away(XNN("srae", eta=eta, **params).fit(Z, y[:, 0]).transform(Z)))
                for eta in (0.0, 1.0, 100.0)]
    assert measured[0] > measured[1] > measured[2]


def test_nn_has_no_decoder_and_ignores_beta(synthetic):
    Z, y = synthetic
    a = XNN("nn", beta=0.0, seed=1, **FAST).fit(Z, y[:, 0])
    b = XNN("nn", beta=5.0, seed=1, **FAST).fit(Z, y[:, 0])
    assert a._core.decoder is None
    np.testing.assert_array_equal(a.predict(Z), b.predict(Z))


def test_srae_and_sae_differ_only_in_the_reconstruction_penalty(synthetic):
    Z, y = synthetic
    srae = XNN("srae", beta=1.0, seed=1, **FAST).fit(Z, y[:, 0])
    sae = XNN("sae", beta=1.0, seed=1, **FAST).fit(Z, y[:, 0])
    assert srae._core.decoder is not None and sae._core.decoder is not None
    assert not np.allclose(srae.predict(Z), sae.predict(Z))
    same_without_reconstruction = [XNN(m, beta=0.0, seed=1, **FAST).fit(Z, y[:, 0]).predict(Z) for m in ("srae", "sae")]
    np.testing.assert_allclose(*same_without_reconstruction, rtol=1e-6)


def test_cae_head_is_the_least_squares_fit_on_its_features(synthetic):
    Z, y = synthetic
    cae = XNN("cae", n_features=3, **FAST).fit(Z, y)
    E = cae.transform(Z)
    design = np.hstack([E, np.ones((len(E), 1))])
    solution = np.linalg.lstsq(design.astype(np.float64), y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(cae.predict(Z), design @ solution, rtol=1e-3, atol=1e-3)
    # and its embedding never saw the targets: a different y gives the same x-features
    other = XNN("cae", n_features=3, **FAST).fit(Z, -3 * y)
    np.testing.assert_allclose(other.transform(Z), E, rtol=1e-6)


def test_lasso_features_are_its_non_zero_coefficients(synthetic):
    Z, y = synthetic
    alpha = 0.05
    lasso = XNN("lasso", alpha=alpha, progress=False).fit(Z, y[:, 0])
    zs = (Z - Z.mean(0)) / Z.std(0)
    reference = SkLasso(alpha=alpha).fit(zs.astype(np.float64), y[:, 0].astype(np.float64))
    support = np.flatnonzero(reference.coef_)
    assert sorted(lasso.support()) == sorted(support)
    np.testing.assert_allclose(lasso.predict(Z), reference.predict(zs), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(np.abs(lasso.weights), 1.0)  # v = sign(coef), |coef| lives in E
    E = lasso.transform(Z)
    for j, d in enumerate(lasso.support()):
        np.testing.assert_allclose(E[:, j], np.abs(reference.coef_[d]) * Z[:, d] / Z.std(0)[d], rtol=1e-3, atol=1e-4)


def test_lasso_picks_at_most_n_features_and_works_in_a_bank(synthetic):
    from xnaming_widget.xnn import fit_class_xnns

    Z, y = synthetic
    lasso = XNN("lasso", n_features=3, progress=False).fit(Z, y[:, 1])
    used = lasso.support()
    assert lasso.n_features == 3 and 1 <= (used >= 0).sum() <= 3
    logits = np.concatenate([y, -y[:, :1]], axis=1)
    bank = fit_class_xnns(Z, logits, method="lasso", n_features=3, progress=False)
    np.testing.assert_allclose(bank.predict(Z)[:, 1], XNN("lasso", n_features=3, progress=False)
                               .fit(Z, logits[:, 1], sample_weight=bank_weights(logits)[1]).predict(Z), rtol=1e-4, atol=1e-4)


def bank_weights(logits):
    from xnaming_widget.xnn import balanced_weights, class_positives

    return balanced_weights(class_positives(logits))


@pytest.mark.parametrize("method", ["srae", "nn", "sae", "cae", "lasso"])
def test_save_load_round_trip_gives_identical_predictions(method, synthetic, tmp_path):
    Z, y = synthetic
    params = dict(progress=False) if method == "lasso" else dict(FAST, n_features=3)
    xnn = XNN(method, **params).fit(Z, y)
    path = xnn.save(tmp_path / f"{method}.pt")
    loaded = XNN.load(path)
    assert type(loaded) is type(xnn) and loaded.params == xnn.params
    np.testing.assert_array_equal(loaded.predict(Z), xnn.predict(Z))
    np.testing.assert_array_equal(loaded.transform(Z), xnn.transform(Z))
