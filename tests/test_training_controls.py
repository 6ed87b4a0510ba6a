"""The training controls: learning-rate schedules, solver="lbfgs", the RBMs'
momentum, learning-rate and k schedules, StackedAE's nested parameters.

Each schedule is checked step by step against its formula computed here in
NumPy: a fit under the schedule must equal, bit for bit, epochs run one at a
time with the step size the formula gives.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

import skae._rbms.rbm
from skae import (
    AutoencoderTransformer,
    BernoulliRBM,
    DenoisingAE,
    SparseAE,
    StackedAE,
    VariationalAE,
)
from skae._core.common import kernel_input
from skae._kernels import _network
from skae._kernels.runtime.record import ThreadRecord
from classic import classic


@pytest.fixture(scope="module")
def digits():
    return (load_digits().data[:400] / 16).astype(np.float64)


def _no_early_stop(**params):
    # tol=0 and a long patience: every epoch runs, none stops the fit.
    return dict(tol=0.0, n_iter_no_change=1000, random_state=0, **params)


def _epoch_by_epoch(X, rates, **params):
    """partial_fit once per epoch, each with its step size given."""
    ae = classic(AutoencoderTransformer, **params)
    for rate in rates:
        ae.set_params(learning_rate_init=rate).partial_fit(X)
    return ae


# ------------------------------------------------------- learning_rate schedules


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_invscaling_follows_its_formula_epoch_by_epoch(digits, solver):
    lr0, power_t, n_epochs = 0.05 if solver == "sgd" else 0.01, 0.3, 4
    params = _no_early_stop(n_components=8, solver=solver, batch_size=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = classic(AutoencoderTransformer, learning_rate="invscaling", learning_rate_init=lr0,
                                    power_t=power_t, max_iter=n_epochs, **params).fit(digits)
    # t, the samples seen before each epoch: 0, n, 2n, ...
    seen = np.arange(n_epochs) * digits.shape[0]
    rates = lr0 / (seen + 1.0) ** power_t
    reference = _epoch_by_epoch(digits, rates, **params)
    np.testing.assert_array_equal(ae._params, reference._params)
    assert ae.t_ == n_epochs * digits.shape[0]


def _adaptive_rates(lr0, n_epochs, patience):
    """scikit-learn's adaptive rule when no epoch after the first improves:
    the step size of each epoch run, until the rule stops training."""
    rates, count, cuts = [], 0, 0
    for epoch in range(n_epochs):
        rates.append(lr0 / 5.0**cuts)
        count += epoch > 0
        if count > patience:
            if lr0 / 5.0**cuts <= 1e-6:
                break
            cuts, count = cuts + 1, 0
    return rates


@pytest.mark.parametrize("lr0, n_epochs", [(1e-2, 9), (1e-5, 40)])
def test_adaptive_divides_by_five_then_stops(digits, lr0, n_epochs):
    # A tol no improvement can meet: every epoch after the first counts.
    params = dict(n_components=8, solver="sgd", batch_size=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = classic(AutoencoderTransformer, learning_rate="adaptive", learning_rate_init=lr0,
                                    tol=1e3, n_iter_no_change=1, max_iter=n_epochs,
                                    **params).fit(digits)
    rates = _adaptive_rates(lr0, n_epochs, 1)
    assert ae.n_iter_ == len(rates)
    if lr0 == 1e-5:
        assert len(rates) < n_epochs  # stopped by the 1e-6 floor
    reference = _epoch_by_epoch(digits, rates, **params)
    np.testing.assert_array_equal(ae._params, reference._params)


def test_constant_schedule_is_the_default_and_unchanged(digits):
    params = _no_early_stop(n_components=8, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = classic(AutoencoderTransformer, **params).fit(digits)
        b = classic(AutoencoderTransformer, learning_rate="constant", **params).fit(digits)
    np.testing.assert_array_equal(a._params, b._params)


def test_variational_schedule_keeps_the_kl_warmup(digits):
    # The VAE extends _epoch_config: both the step size and beta are scheduled.
    vae = VariationalAE(n_components=2, hidden_layer_sizes=(16,), kl_warmup=4,
                        learning_rate="invscaling", random_state=0)
    vae._initialize(digits)
    config = vae._epoch_config(vae._kernel_config())
    assert config["learning_rate"] == pytest.approx(1e-3)
    assert config["latent"]["beta"] == pytest.approx(0.25)
    vae.t_, vae.n_iter_ = 99, 1
    config = vae._epoch_config(vae._kernel_config())
    assert config["learning_rate"] == pytest.approx(1e-3 / 100**0.5)
    assert config["latent"]["beta"] == pytest.approx(0.5)


# --------------------------------------------------------------------- lbfgs


def _pca_error(X, n_components):
    pca = PCA(n_components).fit(X)
    return float(np.mean(((pca.inverse_transform(pca.transform(X)) - X) ** 2).sum(1)))


def _error(ae, X):
    return float(np.mean(((ae.inverse_transform(ae.transform(X)) - X) ** 2).sum(1)))


@pytest.mark.parametrize("solver, max_iter", [("lbfgs", 2000), ("adam", 1000)])
def test_linear_autoencoder_reaches_pca(digits, solver, max_iter):
    # A linear autoencoder's optimum spans PCA's subspace (Baldi and Hornik,
    # 1989): both solvers must reach PCA's error within 0.1%.
    X = load_digits().data / 16
    X -= X.mean(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = classic(AutoencoderTransformer, 8, activation="identity", solver=solver, alpha=0.0,
                                    max_iter=max_iter, tol=1e-8, random_state=0).fit(X)
    assert _error(ae, X) <= 1.001 * _pca_error(X, 8)


def test_lbfgs_records_its_iterations_and_is_repeatable(digits):
    params = dict(n_components=8, solver="lbfgs", max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = classic(DenoisingAE, noise_level=0.3, **params).fit(digits)
        b = classic(DenoisingAE, noise_level=0.3, **params).fit(digits)
        with threadpool_limits(1):
            c = classic(DenoisingAE, noise_level=0.3, **params).fit(digits)
    np.testing.assert_array_equal(a._params, b._params)
    np.testing.assert_array_equal(a._params, c._params)
    assert a.n_iter_ == len(a.loss_curve_) == 15
    # L-BFGS-B never accepts a step that raises the objective.
    assert np.all(np.diff(a.loss_curve_) <= 1e-12)
    assert a.t_ == 15 * digits.shape[0]


def test_lbfgs_warns_when_it_stops_early_and_not_when_it_converges(digits):
    X = digits - digits.mean(axis=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        classic(AutoencoderTransformer, 4, activation="identity", solver="lbfgs",
                               max_iter=3, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ae = classic(AutoencoderTransformer, 4, activation="identity", solver="lbfgs",
                                    max_iter=5000, tol=1e-3, random_state=0).fit(X)
    assert ae.n_iter_ < 5000


def test_lbfgs_keeps_float32_and_sparse_input(digits):
    X = sp.csr_matrix(np.where(digits > 0.5, digits, 0).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae = classic(SparseAE, n_components=8, solver="lbfgs", max_iter=10, random_state=0).fit(X)
    assert ae._params.dtype == np.float32
    assert ae.transform(X).dtype == np.float32
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]


def test_lbfgs_has_no_partial_fit_and_says_why():
    ae = classic(AutoencoderTransformer, solver="lbfgs")
    assert not hasattr(ae, "partial_fit")
    with pytest.raises(AttributeError) as error:
        _ = ae.partial_fit
    # scikit-learn's available_if names the method; the reason comes as the cause.
    assert "stochastic solvers" in str(error.value) + str(error.value.__cause__)
    assert hasattr(ae.set_params(solver="adam"), "partial_fit")


def test_lbfgs_fine_tunes_a_stacked_autoencoder(digits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sae = classic(StackedAE, n_components=8, hidden_layer_sizes=(32,), solver="lbfgs",
                        pretrain_params={"solver": "adam", "max_iter": 5},
                        max_iter=20, random_state=0).fit(digits)
    assert sae.n_iter_ == 20
    assert [est.solver for est in sae.pretrained_layers_] == ["adam", "adam"]
    assert sae.loss_curve_[-1] < sae.loss_curve_[0]


def _objective(model, X, params, batch_size, seed):
    grad = np.empty_like(params)
    work = np.empty(_network.workspace_size(model._layers, batch_size, params.size, True))
    config = model._epoch_config(model._kernel_config())
    loss, status = _network.objective_pass(
        *kernel_input(X), np.arange(X.shape[0], dtype=np.intp), batch_size, params,
        model._layers, config, np.zeros_like(model._penalty_state),
        np.random.PCG64(seed), grad, work,
        ThreadRecord(), model.input_fill_,
    )
    assert status == _network.STATUS_OK
    return loss, grad


@pytest.mark.parametrize("make, sparse", [
    (lambda: classic(DenoisingAE, 6, hidden_layer_sizes=(9,), noise_level=0.3, alpha=1e-2), False),
    (lambda: classic(SparseAE, 6, sparsity_weight=0.5), True),
    (lambda: VariationalAE(2, hidden_layer_sizes=(7,), alpha=1e-3), False),
    (lambda: classic(AutoencoderTransformer, 5, tied_weights=True, activation="tanh",
                                    missing="nan"), False),
])
def test_objective_pass_gradient_matches_central_differences(digits, make, sparse):
    # float64, the noise held fixed by re-seeding; 23 rows in chunks of 10 so
    # the chunks' weighting is under test too.
    X = digits[:23, :20].copy()
    model = make().set_params(random_state=0)
    if getattr(model, "missing", None) == "nan":
        X[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    X = sp.csr_matrix(X) if sparse else X
    model._check_params()
    model._initialize(model._validate_X(X, reset=True))
    params = model._params.copy()
    _, grad = _objective(model, X, params, 10, seed=7)
    rng = np.random.default_rng(1)
    h = 1e-6
    for i in rng.choice(params.size, size=25, replace=False):
        up, down = params.copy(), params.copy()
        up[i] += h
        down[i] -= h
        numeric = (_objective(model, X, up, 10, 7)[0]
                   - _objective(model, X, down, 10, 7)[0]) / (2 * h)
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_objective_pass_does_not_depend_on_the_chunk_size(digits):
    # Without per-chunk penalties or noise, chunks only bound memory.
    model = classic(AutoencoderTransformer, 6, hidden_layer_sizes=(9,), random_state=0)
    X = digits[:57]
    model._check_params()
    model._initialize(model._validate_X(X, reset=True))
    whole = _objective(model, X, model._params, 57, 0)
    chunked = _objective(model, X, model._params, 8, 0)
    assert chunked[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-10, atol=1e-14)


def test_objective_pass_checks_its_buffers(digits):
    model = classic(AutoencoderTransformer, 6, random_state=0)
    model._check_params()
    model._initialize(model._validate_X(digits, reset=True))
    with pytest.raises(ValueError, match="work"):
        _network.objective_pass(
            *kernel_input(digits), np.arange(10, dtype=np.intp), 10, model._params,
            model._layers, model._kernel_config(), model._penalty_state,
            np.random.PCG64(0), np.empty_like(model._params), np.empty(3),
            ThreadRecord())
    with pytest.raises(ValueError, match="grad"):
        _network.objective_pass(
            *kernel_input(digits), np.arange(10, dtype=np.intp), 10, model._params,
            model._layers, model._kernel_config(), model._penalty_state,
            np.random.PCG64(0), np.empty(2), np.empty(10**6),
            ThreadRecord())


# ------------------------------------------------------------- RBM schedules


# The position of the configuration among the RBM kernel's arguments.
_RBM_CONFIG = 14


def _recorded_configs(monkeypatch, model, X):
    configs = []
    kernel = skae._rbms.rbm._rbm.train_pass

    def recording(*args):
        configs.append(dict(args[_RBM_CONFIG]))
        return kernel(*args)

    monkeypatch.setattr(skae._rbms.rbm._rbm, "train_pass", recording)
    model.fit(X)
    return configs


def test_rbm_schedules_follow_their_formulas_pass_by_pass(monkeypatch, digits):
    X = (digits > 0.5).astype(np.float64)
    rbm = BernoulliRBM(n_components=16, n_iter=7, learning_rate=0.1,
                       learning_rate_decay=0.5, initial_momentum=0.5, momentum=0.9,
                       momentum_warmup=3, k=1, k_final=4, random_state=0)
    configs = _recorded_configs(monkeypatch, rbm, X)
    t = np.arange(7)
    np.testing.assert_allclose([c["learning_rate"] for c in configs], 0.1 / (1 + 0.5 * t),
                               rtol=1e-15)
    assert [c["momentum"] for c in configs] == [0.5] * 3 + [0.9] * 4
    assert [c["k"] for c in configs] == list(1 + (3 * t) // 6)
    assert configs[-1]["k"] == 4


def test_rbm_schedules_change_training_and_default_to_none(digits):
    X = (digits > 0.5).astype(np.float64)
    base = dict(n_components=16, n_iter=4, random_state=0, momentum=0.9)
    plain = BernoulliRBM(**base).fit(X).components_
    # A warm-up at the same momentum, a zero decay, k_final == k: no change.
    same = BernoulliRBM(initial_momentum=0.9, learning_rate_decay=0.0, k_final=1,
                        **base).fit(X).components_
    np.testing.assert_array_equal(plain, same)
    for change in ({"initial_momentum": 0.5}, {"learning_rate_decay": 1.0},
                   {"k_final": 3}):
        other = BernoulliRBM(**base, **change).fit(X).components_
        assert not np.array_equal(plain, other), change


def test_rbm_partial_fit_uses_the_parameters_as_given(monkeypatch, digits):
    X = (digits > 0.5).astype(np.float64)
    rbm = BernoulliRBM(n_components=8, learning_rate=0.2, learning_rate_decay=3.0,
                       initial_momentum=0.5, momentum=0.7, k=2, k_final=9,
                       random_state=0)
    configs = []
    kernel = skae._rbms.rbm._rbm.train_pass
    monkeypatch.setattr(skae._rbms.rbm._rbm, "train_pass",
                        lambda *a: configs.append(dict(a[_RBM_CONFIG])) or kernel(*a))
    rbm.partial_fit(X).partial_fit(X)
    assert [(c["learning_rate"], c["momentum"], c["k"]) for c in configs] == [
        (0.2, 0.7, 2), (0.2, 0.7, 2)]


# ------------------------------------------- StackedAE's nested parameters


def test_nested_pretraining_parameters_round_trip_through_clone():
    sae = classic(StackedAE, hidden_layer_sizes=(32, 16), pretrain_params={"max_iter": 20})
    sae.set_params(pretrain_params__learning_rate_init=1e-2,
                   pretrain_params__0__momentum=0.5, pretrain_params__0__max_iter=7)
    expected = [{"max_iter": 7, "learning_rate_init": 1e-2, "momentum": 0.5},
                {"max_iter": 20, "learning_rate_init": 1e-2},
                {"max_iter": 20, "learning_rate_init": 1e-2}]
    assert sae.pretrain_params == expected
    copy = clone(sae)
    assert copy.pretrain_params == expected
    assert copy.pretrain_params is not sae.pretrain_params
    deep = copy.get_params(deep=True)
    assert deep["pretrain_params__0__max_iter"] == 7
    assert deep["pretrain_params__2__learning_rate_init"] == 1e-2
    # Every deep parameter can be set back, and changes nothing.
    again = clone(sae).set_params(**deep)
    assert again.pretrain_params == expected
    # A dict stays a dict under layer-wide settings.
    flat = classic(StackedAE).set_params(pretrain_params__max_iter=3)
    assert flat.pretrain_params == {"max_iter": 3}
    assert flat.get_params()["pretrain_params__max_iter"] == 3


def test_nested_parameters_never_change_the_callers_dict():
    given = {"max_iter": 20}
    sae = classic(StackedAE, hidden_layer_sizes=(8,), pretrain_params=given)
    sae.set_params(pretrain_params__max_iter=5, pretrain_params__1__alpha=0.1)
    assert given == {"max_iter": 20}


@pytest.mark.parametrize("key, match", [
    ("pretrain_params__5__max_iter", "numbered 0 to 1"),
    ("pretrain_params__a__b", "Invalid parameter"),
])
def test_bad_nested_parameters_are_named(key, match):
    with pytest.raises(ValueError, match=match):
        classic(StackedAE, hidden_layer_sizes=(8,)).set_params(**{key: 1})


def test_grid_search_over_a_layers_pretraining(digits):
    sae = classic(StackedAE, n_components=4, hidden_layer_sizes=(16,), max_iter=2,
                    pretrain_params={"max_iter": 2}, random_state=0)
    grid = {"pretrain_params__0__learning_rate_init": [1e-3, 1e-2],
            "pretrain_params__max_iter": [1, 3]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(sae, grid, cv=2).fit(digits[:120])
    best = search.best_estimator_
    assert best.pretrain_params[0]["learning_rate_init"] == (
        search.best_params_["pretrain_params__0__learning_rate_init"])
    assert [est.max_iter for est in best.pretrained_layers_] == [
        search.best_params_["pretrain_params__max_iter"]] * 2
