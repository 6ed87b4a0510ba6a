"""StackedAE: pretrainers, unrolling, fine-tuning, the MLP hand-off, errors."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import (
    AutoencoderTransformer,
    BernoulliRBM,
    ContractiveAE,
    DenoisingAE,
    GaussianBernoulliRBM,
    SparseAE,
    StackedAE,
)
from skae._rbms.rbm import _GaussianHiddenRBM
from classic import classic

# Fast pretraining for tests: a few epochs per layer.
FEW_EPOCHS = {
    "autoencoder": {"max_iter": 5},
    "denoising": {"max_iter": 5},
    "sparse": {"max_iter": 5, "sparsity": "kl"},
    "rbm": {"n_iter": 3},
    None: None,
}


@pytest.fixture(scope="module")
def X_digits():
    return load_digits().data[:600] / 16.0


@pytest.fixture(autouse=True)
def _quiet_convergence():
    # Tests train for a few epochs on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _stack(pretraining="autoencoder", **params):
    defaults = dict(
        n_components=6, hidden_layer_sizes=(20, 12), pretraining=pretraining,
        loss="binary_crossentropy", pretrain_params=FEW_EPOCHS[pretraining],
        max_iter=0, random_state=0,
    )
    if pretraining == "rbm":
        defaults["code_activation"] = "identity"
    return classic(StackedAE, **{**defaults, **params})


def _layer_weights(estimator):
    """(encoder W, encoder b, decoder W, decoder b) of a single-layer estimator."""
    if isinstance(estimator, BernoulliRBM | GaussianBernoulliRBM):
        W = estimator.components_
        return W.T, estimator.intercept_hidden_, W, estimator.intercept_visible_
    (W, W_dec), (b, b_dec) = estimator.coefs_, estimator.intercepts_
    return W, b, W_dec, b_dec


# ------------------------------------------------------ pretraining and unrolling


@pytest.mark.parametrize("pretraining", ["autoencoder", "denoising", "sparse", "rbm"])
@pytest.mark.parametrize("tied", [False, True])
def test_unrolled_network_is_the_stack_of_pretrained_layers(X_digits, pretraining, tied):
    sae = _stack(pretraining, tied_weights=tied).fit(X_digits)
    layers = sae.pretrained_layers_
    assert len(layers) == 3
    assert [est.n_components for est in layers] == [20, 12, 6]
    # Each layer's weights sit in the unrolled network, the decoder mirrored.
    for l, est in enumerate(layers):
        W, b, W_dec, b_dec = _layer_weights(est)
        np.testing.assert_array_equal(sae.coefs_[l], W)
        np.testing.assert_array_equal(sae.intercepts_[l], b)
        np.testing.assert_array_equal(sae.coefs_[5 - l], W_dec)
        np.testing.assert_array_equal(sae.intercepts_[5 - l], b_dec)
    # Before fine-tuning the network computes exactly the stacked codes, and
    # decodes exactly as the stacked decoders.
    codes = X_digits
    for est in layers:
        codes = est.transform(codes)
    np.testing.assert_allclose(sae.transform(X_digits), codes, rtol=1e-12, atol=1e-12)
    decoded = codes
    for est in reversed(layers):
        decoded = est.inverse_transform(decoded)
    np.testing.assert_allclose(sae.inverse_transform(codes), decoded, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("pretraining", ["autoencoder", "denoising", "sparse"])
def test_pretrainers_are_the_single_layer_estimators(X_digits, pretraining):
    sae = _stack(pretraining, activation="sigmoid").fit(X_digits)
    cls = {"autoencoder": AutoencoderTransformer, "denoising": DenoisingAE,
           "sparse": SparseAE}[pretraining]
    first, second, top = sae.pretrained_layers_
    assert all(type(est) is cls for est in sae.pretrained_layers_)
    # The first reconstructs X with the stack's loss; the others reconstruct
    # sigmoid codes, with cross-entropy; each decoder has the activation its
    # mirror layer has in the unrolled network.
    assert (first.loss, first.output_activation) == ("binary_crossentropy", "sigmoid")
    assert (second.loss, second.output_activation) == ("binary_crossentropy", "sigmoid")
    assert first.n_features_in_ == 64 and second.n_features_in_ == 20
    assert top.n_features_in_ == 12 and top.n_components == 6
    assert all(est.max_iter == 5 and est.n_iter_ == 5 for est in sae.pretrained_layers_)
    # A single-layer estimator fitted by hand on the same codes is the same model.
    again = cls(**second.get_params()).fit(first.transform(X_digits))
    np.testing.assert_array_equal(again.coefs_[0], second.coefs_[0])


def test_rbm_units_follow_the_unrolled_activations(X_digits):
    sae = _stack("rbm").fit(X_digits)
    assert [type(e) for e in sae.pretrained_layers_] == [
        BernoulliRBM, BernoulliRBM, _GaussianHiddenRBM]
    X_std = StandardScaler().fit_transform(X_digits)
    sae = _stack("rbm", loss="squared_error", code_activation="sigmoid").fit(X_std)
    assert [type(e) for e in sae.pretrained_layers_] == [
        GaussianBernoulliRBM, BernoulliRBM, BernoulliRBM]
    assert sae.pretrained_layers_[0].n_iter == 3
    with pytest.raises(ValueError, match="activation='sigmoid'"):
        _stack("rbm", activation="relu").fit(X_digits)
    # A single identity layer would be Gaussian on both sides.
    with pytest.raises(ValueError, match="not both Gaussian"):
        _stack("rbm", hidden_layer_sizes=(), loss="squared_error").fit(X_std)


def test_pretrain_params_per_layer_and_errors(X_digits):
    per_layer = [{"max_iter": 2}, {"max_iter": 3}, {"max_iter": 4}]
    sae = _stack(pretrain_params=per_layer).fit(X_digits)
    assert [est.n_iter_ for est in sae.pretrained_layers_] == [2, 3, 4]
    with pytest.raises(ValueError, match="one dict per encoder"):
        _stack(pretrain_params=[{}, {}]).fit(X_digits)
    with pytest.raises(ValueError, match="cannot set"):
        _stack(pretrain_params={"n_components": 3}).fit(X_digits)
    with pytest.raises(ValueError, match="Invalid parameter"):
        _stack(pretrain_params={"no_such_parameter": 3}).fit(X_digits)
    with pytest.raises(ValueError, match="sigmoid codes"):
        _stack("sparse", code_activation="identity").fit(X_digits)
    # The L1 penalty works on a linear code: it shrinks the top layer's codes.
    def top_codes(weight):
        layers = [{"max_iter": 2}, {"max_iter": 2},
                  {"max_iter": 10, "learning_rate_init": 0.02, "sparsity": "l1",
                   "sparsity_weight": weight}]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            stack = _stack("sparse", code_activation="identity",
                           pretrain_params=layers).fit(X_digits)
        top = stack.pretrained_layers_[-1]
        assert top.sparsity == "l1" and top.activation == "identity"
        below = stack.pretrained_layers_[1].transform(
            stack.pretrained_layers_[0].transform(X_digits))
        return np.abs(top.transform(below)).mean()

    assert top_codes(1.0) < 0.5 * top_codes(1e-6)


def test_pretraining_none_fine_tunes_from_random_weights(X_digits):
    sae = _stack(None, max_iter=3).fit(X_digits)
    assert sae.pretrained_layers_ == []
    plain = classic(AutoencoderTransformer, 
        n_components=6, hidden_layer_sizes=(20, 12), loss="binary_crossentropy",
        max_iter=3, random_state=0).fit(X_digits)
    np.testing.assert_array_equal(sae._params, plain._params)


def test_fine_tuning_improves_on_the_pretrained_network(X_digits):
    sae = _stack("rbm").fit(X_digits)
    before = sae.score(X_digits)
    sae.set_params(max_iter=20, warm_start=True).fit(X_digits)
    assert sae.score(X_digits) > before
    # warm_start fine-tunes further and does not pretrain again.
    assert len(sae.pretrained_layers_) == 3 and sae.n_iter_ == 20


def test_partial_fit_never_pretrains(X_digits):
    sae = _stack().partial_fit(X_digits)
    assert sae.pretrained_layers_ == [] and sae.n_iter_ == 1
    fitted = _stack().fit(X_digits)
    weights = fitted.coefs_[0].copy()
    fitted.partial_fit(X_digits)
    assert fitted.n_iter_ == 1 and not np.array_equal(fitted.coefs_[0], weights)


# ----------------------------------------------- contract: determinism, dtypes


@pytest.mark.parametrize("pretraining", ["denoising", "rbm"])
def test_same_seed_same_model_and_pickle(X_digits, pretraining):
    a = _stack(pretraining, max_iter=2).fit(X_digits)
    b = _stack(pretraining, max_iter=2).fit(X_digits)
    np.testing.assert_array_equal(a._params, b._params)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.transform(X_digits), a.transform(X_digits))
    assert _stack(pretraining, random_state=1, max_iter=2).fit(X_digits).coefs_[0][0, 0] \
        != a.coefs_[0][0, 0]


def test_float32_end_to_end_and_sparse_input(X_digits):
    X32 = X_digits.astype(np.float32)
    sae = _stack("rbm", max_iter=1).fit(X32)
    assert sae.transform(X32).dtype == np.float32
    assert all(est.components_.dtype == np.float32 for est in sae.pretrained_layers_)
    dense = _stack(max_iter=1).fit(X_digits)
    sparse = _stack(max_iter=1).fit(sp.csr_matrix(X_digits))
    np.testing.assert_allclose(sparse._params, dense._params, rtol=1e-9, atol=1e-12)


def test_failed_pretraining_leaves_the_estimator_as_it_was(X_digits):
    sae = _stack("denoising").fit(X_digits)
    state = pickle.dumps(sae)
    # Layer 1's DenoisingAE rejects its noise level after layer 0 trained.
    sae.set_params(pretrain_params=[{}, {"noise": "masking", "noise_level": 2.0}, {}])
    with pytest.raises(ValueError, match="Pretraining encoder layer 1 .*noise_level"):
        sae.fit(X_digits)
    sae.set_params(pretrain_params=FEW_EPOCHS["denoising"])
    assert pickle.dumps(sae) == state
    with pytest.raises(ValueError, match="NaN"):
        sae.fit(np.full_like(X_digits, np.nan))
    assert pickle.dumps(sae) == state


def test_grid_search_reaches_pretrain_params(X_digits):
    y = load_digits().target[:600]
    model = make_pipeline(_stack(max_iter=2), LogisticRegression(max_iter=200))
    grid = {"stackedae__pretrain_params": [{"max_iter": 1}, {"max_iter": 4}],
            "stackedae__pretraining": ["autoencoder", "denoising"]}
    search = GridSearchCV(model, grid, cv=2).fit(X_digits, y)
    assert len(search.cv_results_["params"]) == 4
    grid = [{"pretraining": [None]},
            {"pretraining": ["rbm"], "pretrain_params": [{"n_iter": 2}],
             "code_activation": ["identity"]}]
    unsupervised = GridSearchCV(_stack(max_iter=2), grid, cv=2).fit(X_digits)
    assert np.isfinite(unsupervised.best_score_)


# -------------------------------------------------------------- to_mlp


def test_to_mlp_classifier_starts_from_the_encoder(X_digits):
    y = load_digits().target[:600]
    sae = _stack("denoising").fit(X_digits)
    clf = sae.to_mlp("classifier", classes=np.arange(10), max_iter=1,
                     learning_rate_init=1e-12, random_state=0)
    assert isinstance(clf, MLPClassifier)
    assert clf.hidden_layer_sizes == (20, 12, 6) and clf.activation == "logistic"
    assert [c.shape for c in clf.coefs_] == [(64, 20), (20, 12), (12, 6), (6, 10)]
    for l in range(3):
        np.testing.assert_array_equal(clf.coefs_[l], sae.coefs_[l])
        np.testing.assert_array_equal(clf.intercepts_[l], sae.intercepts_[l])
    # fit trains those weights (a negligible step here), not fresh random ones.
    clf.fit(X_digits, y)
    np.testing.assert_allclose(clf.coefs_[0], sae.coefs_[0], atol=1e-9)
    assert clf.n_iter_ == 1 and clf.predict(X_digits).shape == (600,)
    # With a real learning rate it learns the labels from the pretrained encoder.
    clf = sae.to_mlp("classifier", classes=np.arange(10), max_iter=300,
                     learning_rate_init=0.01, random_state=0)
    assert clf.fit(X_digits, y).score(X_digits, y) > 0.8


def test_to_mlp_regressor_binary_and_errors(X_digits):
    y = load_digits().target[:600]
    sae = _stack("autoencoder").fit(X_digits)
    reg = sae.to_mlp("regressor", n_outputs=2, max_iter=2)
    assert isinstance(reg, MLPRegressor) and reg.coefs_[-1].shape == (6, 2)
    reg.fit(X_digits, np.c_[y, -y])
    binary = sae.to_mlp(classes=[0, 1], max_iter=2).fit(X_digits, y % 2)
    assert binary.coefs_[-1].shape == (6, 1)
    with pytest.raises(ValueError, match="needs classes"):
        sae.to_mlp()
    with pytest.raises(ValueError, match="fixed by the encoder"):
        sae.to_mlp(classes=[0, 1], activation="relu")
    linear = _stack("rbm").fit(X_digits)
    with pytest.raises(ValueError, match="include_code_layer=False"):
        linear.to_mlp(classes=[0, 1], include_code_layer=True)
    for include in ("auto", False):  # "auto" leaves the linear code out
        clf = linear.to_mlp(classes=[0, 1], include_code_layer=include)
        assert clf.hidden_layer_sizes == (20, 12)
    # ... and keeps a code whose activation is the hidden layers'.
    assert sae.to_mlp(classes=[0, 1]).hidden_layer_sizes == (20, 12, 6)
    with pytest.raises(ValueError, match="no 'elu' activation"):
        _stack(activation="elu").fit(X_digits).to_mlp(classes=[0, 1])


def _digits_split():
    return train_test_split(load_digits().data / 16, test_size=0.25, random_state=0)


def _cross_entropy(X, R):
    R = np.clip(R, 1e-7, 1 - 1e-7)
    return float(np.mean(-(X * np.log(R) + (1 - X) * np.log(1 - R)).sum(axis=1)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("hidden", [(64,), (64, 32)], ids=["2 layers", "3 layers"])
@pytest.mark.parametrize("pretraining", [None, "autoencoder", "denoising", "sparse", "rbm"])
def test_deep_stacks_learn_beyond_the_mean_image(pretraining, hidden):
    # Held-out digits, 10 codes, cross-entropy per image. Measured: 0.70-0.80 of
    # the mean image's loss and 1.01-1.15 of PCA(10)'s for every choice here;
    # before the sigmoid layers got Glorot's bound and the RBMs their own batch
    # size, None and "rbm" stayed at the mean image (ratio 1.00).
    X_train, X_test = _digits_split()
    mean_image = _cross_entropy(X_test, np.tile(X_train.mean(axis=0), (len(X_test), 1)))
    pca = PCA(10).fit(X_train)
    pca_loss = _cross_entropy(X_test, pca.inverse_transform(pca.transform(X_test)))
    extra = {"code_activation": "identity"} if pretraining == "rbm" else {}
    stack = classic(StackedAE, 10, hidden_layer_sizes=hidden, loss="binary_crossentropy",
                      max_iter=100, pretraining=pretraining, random_state=0,
                      **extra).fit(X_train)
    loss = _cross_entropy(X_test, stack.inverse_transform(stack.transform(X_test)))
    assert loss < 0.85 * mean_image
    assert loss < 1.25 * pca_loss


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls", [AutoencoderTransformer, DenoisingAE, SparseAE,
                                 ContractiveAE, StackedAE], ids=lambda c: c.__name__)
def test_default_estimators_learn_beyond_the_mean_image(cls):
    # Defaults (32 codes), squared error per held-out image. Measured: 0.10-0.29
    # of the mean image's error, and 2.7 (StackedAE) to 7.8 times PCA(32)'s: the
    # single-layer defaults undertrain on 1,347 rows (about 1,200 Adam steps at
    # batch 200), which the user guide says; these bounds keep them from
    # sliding back to the mean image.
    X_train, X_test = _digits_split()
    error = lambda R: float(((X_test - R) ** 2).sum(axis=1).mean())
    mean_image = error(np.tile(X_train.mean(axis=0), (len(X_test), 1)))
    pca = PCA(32).fit(X_train)
    model = cls(random_state=0).fit(X_train)
    loss = error(model.inverse_transform(model.transform(X_test)))
    assert loss < 0.35 * mean_image
    assert loss < (3.5 if cls is StackedAE else 9.0) * error(
        pca.inverse_transform(pca.transform(X_test)))


def test_to_mlp_reads_the_input_width_from_the_fitted_layers():
    # Found by the call-sequence state machine: an assigned n_features_in_
    # reached scikit-learn's initialisation as a layer size.
    X = np.random.default_rng(0).random((20, 5))
    stack = classic(StackedAE, 2, hidden_layer_sizes=(3,), max_iter=1, pretraining=None,
                      random_state=0).fit(X)
    stack.n_features_in_ = np.array([np.nan])
    mlp = stack.to_mlp("classifier", classes=[0, 1], include_code_layer=False)
    assert mlp.coefs_[0].shape == (5, 3) and mlp.n_features_in_ == 5


def test_verbose_reports_each_layer_then_the_fine_tuning(capsys):
    X = load_digits().data[:200] / 16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classic(StackedAE, hidden_layer_sizes=(16,), n_components=4, max_iter=2, verbose=True,
                  random_state=0).fit(X)
    lines = capsys.readouterr().out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Pretraining layer")]
    assert [lines[i][:22] for i in starts] == ["Pretraining layer 1 of", "Pretraining layer 2 of"]
    tuning = lines.index("Fine-tuning the unrolled network 64-16-4-16-64 for up to 2 epochs")
    assert tuning > starts[-1]
    epochs = [line for line in lines[tuning + 1:] if line.startswith("Iteration ")]
    assert len(epochs) == 2 and all(line.endswith(" s)") for line in epochs)


def test_to_mlp_pretraining_survives_clone_and_searches(X_digits):
    """A clone (GridSearchCV, cross_val_score) of to_mlp's MLP fits from the
    pretrained encoder too, not from random weights."""
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    y = load_digits().target[: len(X_digits)]
    sae = _stack().fit(X_digits)
    mlp = sae.to_mlp("classifier", classes=np.arange(10), max_iter=1,
                     learning_rate_init=1e-12, random_state=0)
    copy = clone(mlp)
    assert not hasattr(copy, "coefs_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        copy.fit(X_digits, y)
    for l in range(len(sae.coefs_) // 2):
        np.testing.assert_allclose(copy.coefs_[l], sae.coefs_[l], atol=1e-9)
    pickle.loads(pickle.dumps(copy))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(sae.to_mlp("classifier", classes=np.arange(10),
                                            max_iter=300, learning_rate_init=0.01,
                                            random_state=0),
                                 X_digits, y, cv=3)
    assert scores.mean() > 0.7
    with pytest.raises(ValueError, match="hidden_layer_sizes was changed"):
        clone(mlp).set_params(hidden_layer_sizes=(7,)).fit(X_digits, y)
