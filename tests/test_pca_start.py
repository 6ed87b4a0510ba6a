"""init="pca": the network starts as PCA, exactly where its units allow."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer, DenoisingAE, StackedAE, VariationalAE

X = load_digits().data[:400] / 16


def started(estimator, data):
    """The estimator initialised on data and not trained."""
    estimator._check_params()
    estimator._initialize(estimator._validate_X(data, reset=True, check_range=True))
    return estimator


def pca_reconstruction(k, data):
    pca = PCA(k).fit(data)
    return pca.inverse_transform(pca.transform(data))


@pytest.mark.parametrize("activation, code_activation, hidden", [
    ("relu", "identity", (64,)),
    ("relu", "relu", ()),
    ("elu", "identity", (32, 16)),
    ("softplus", "elu", (16,)),
    ("identity", "identity", ()),
])
def test_the_start_is_pcas_reconstruction(activation, code_activation, hidden):
    model = started(AutoencoderTransformer(
        8, hidden_layer_sizes=hidden, activation=activation,
        code_activation=code_activation, init="pca", random_state=0), X)
    recon = model.inverse_transform(model.transform(X))
    # softplus is linear within 5e-5 where its carriers sit; the others exactly.
    atol = 1e-4 if "softplus" in (activation, code_activation) else 1e-10
    np.testing.assert_allclose(recon, pca_reconstruction(8, X), atol=atol)


def test_a_single_layer_tied_model_starts_at_pca():
    model = started(AutoencoderTransformer(8, hidden_layer_sizes=(),
                                           code_activation="identity",
                                           activation="identity", tied_weights=True,
                                           init="pca"), X)
    np.testing.assert_allclose(model.inverse_transform(model.transform(X)),
                               pca_reconstruction(8, X), atol=1e-10)


def test_dense_and_sparse_input_start_alike():
    def model():
        return AutoencoderTransformer(8, hidden_layer_sizes=(32,), activation="relu",
                                      code_activation="identity", init="pca",
                                      random_state=0)

    params = [started(model(), data)._params for data in (X, sp.csr_matrix(X))]
    np.testing.assert_allclose(params[0], params[1], atol=1e-10)


def test_the_extra_units_learn_and_early_stopping_never_ends_above_pca():
    # Trained from the PCA start, the model's validation loss starts at PCA's
    # and only what improves on it is kept.
    model = AutoencoderTransformer(8, hidden_layer_sizes=(64,), activation="relu",
                                   code_activation="identity", init="pca",
                                   early_stopping=True, max_iter=60, tol=0,
                                   n_iter_no_change=60, random_state=0)
    with pytest.warns(Warning):  # max_iter reached
        model.fit(X)
    assert model.best_validation_score_ >= max(model.validation_scores_)
    error = np.mean((model.inverse_transform(model.transform(X)) - X) ** 2)
    assert error < 0.9 * np.mean((pca_reconstruction(8, X) - X) ** 2)


@pytest.mark.parametrize("model, reason", [
    (AutoencoderTransformer(8, activation="sigmoid", init="pca"), "piecewise linear"),
    (AutoencoderTransformer(8, activation="relu", code_activation="identity",
                            hidden_layer_sizes=(4,), init="pca"), "narrower"),
    (AutoencoderTransformer(64, activation="relu", init="pca"), "identity"),
    (AutoencoderTransformer(8, activation="relu", loss="binary_crossentropy",
                            init="pca"), "output activation"),
    (StackedAE(8, hidden_layer_sizes=(16,), activation="relu", init="pca"),
     "pretraining"),
])
@pytest.mark.filterwarnings("ignore:AutoencoderTransformer. no layer is narrower")
def test_pca_start_refused_with_the_reason(model, reason):
    with pytest.raises(ValueError, match=reason):
        model.fit(X)


def test_auto_falls_back_to_random_where_pca_cannot_start():
    auto = AutoencoderTransformer(8, activation="sigmoid", init="auto", max_iter=2,
                                  random_state=0)
    random = AutoencoderTransformer(8, activation="sigmoid", init="random", max_iter=2,
                                    random_state=0)
    with pytest.warns(Warning):
        np.testing.assert_array_equal(auto.fit(X)._params, random.fit(X)._params)
    # A sampling layer between encoder and decoder: the VAE has no init.
    assert "init" not in VariationalAE().get_params()
    assert VariationalAE()._init_option() == "random"


def test_the_divergence_check_is_not_fooled_by_a_perfect_start():
    # A start that reconstructs almost exactly (63 of 64 components) must not
    # make the first epoch's ordinary loss look like divergence.
    model = DenoisingAE(63, init="pca", max_iter=2, random_state=0)
    with pytest.warns(Warning):
        model.fit(X)
