"""Nothing lost, nothing half-done: the guarantees of the kernels held by the
applications, the helpers and persistence too.

Each test is one finding of the hostile review (issue 34), and fails on the
code before its fix: files that crash the process on a later call, a child of
fork that hangs, NaN codes, refits that leave mixed state when interrupted,
calls that change the caller's data, a false divergence alarm, Ctrl-C not
answered, stale private state, errors that name the wrong cause, and AutoRec's
NaN cross-validation scores.
"""

import _thread
import itertools
import multiprocessing
import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score

import skae
from skae import (
    AutoencoderImputer,
    AutoencoderTransformer,
    AutoRec,
    BernoulliRBM,
    DenoisingAE,
    GaussianBernoulliRBM,
    OutlierDetector,
    VariationalAE,
    fit_out_of_core,
    ratings_to_csr,
    ratings_train_test_split,
)
from skae._core.common import TrainingInterrupted
from skae._kernels.runtime.record import ThreadRecord

from extras import import_extra  # noqa: I001 - the tests' own helper

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _ratings(seed=0, n_users=30, n_items=20, n=300):
    rng = np.random.default_rng(seed)
    pairs = np.unique(np.c_[rng.integers(0, n_users, n), rng.integers(0, n_items, n)],
                      axis=0)
    return ratings_to_csr(pairs[:, 0], pairs[:, 1],
                          rng.integers(1, 6, len(pairs)).astype(float),
                          shape=(n_users, n_items))


def _state(estimator):
    """Every fitted attribute, for comparisons (arrays as copies)."""
    return pickle.dumps(estimator)


# ----------------------------------------------------------- 1. crafted files


@pytest.mark.parametrize("damage", ["past_nnz", "backwards"])
def test_a_damaged_csr_in_a_file_is_refused_on_loading(damage):
    model = AutoRec(n_components=4, max_iter=2, random_state=0).fit(_ratings())
    rows = model._rows.copy()
    indptr = rows.indptr.copy()
    if damage == "past_nnz":
        indptr[3] = rows.nnz + 50   # interior entry past the data: heap corruption
    else:
        indptr[3], indptr[4] = indptr[4] + 1, indptr[3]
    rows.indptr = indptr
    model.__dict__["_rows"] = rows
    with pytest.raises(ValueError, match="'_rows' is not a valid CSR matrix"):
        pickle.loads(pickle.dumps(model))
    sio = import_extra("skops.io", "skops")
    with pytest.raises(ValueError, match="'_rows' is not a valid CSR matrix"):
        sio.loads(sio.dumps(model), trusted=list(skae.SKOPS_TRUSTED_TYPES))


def test_a_file_whose_sizes_disagree_is_refused_on_loading():
    model = AutoRec(n_components=4, max_iter=2, random_state=0).fit(_ratings())
    model.__dict__["user_bias_"] = model.user_bias_[:-3]
    with pytest.raises(ValueError, match="AutoRec.s fitted attributes disagree"):
        pickle.loads(pickle.dumps(model))


def test_a_claimed_canonical_format_is_not_believed():
    model = AutoRec(n_components=4, max_iter=2, random_state=0).fit(_ratings())
    rows = model._rows
    rows.indices[rows.indptr[0]:rows.indptr[1]] = rows.indices[
        rows.indptr[0]:rows.indptr[1]][::-1]
    rows.__dict__["_has_sorted_indices"] = True
    loaded = pickle.loads(pickle.dumps(model))
    assert "_has_sorted_indices" not in loaded._rows.__dict__ or \
        loaded._rows.has_sorted_indices == bool(
            np.all(np.diff(loaded._rows.indices[:rows.indptr[1]]) > 0))


# ----------------------------------------------------------------- 2. fork


def _fork_child(args):
    model, X, seed = args
    codes = model.transform(X)
    AutoencoderTransformer(n_components=4, max_iter=2, batch_size=256,
                           random_state=seed).fit(X)
    return codes


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="no fork on this platform")
def test_fork_children_neither_hang_nor_differ():
    rng = np.random.default_rng(0)
    X = rng.random((3000, 128))
    model = AutoencoderTransformer(n_components=32, max_iter=2, batch_size=256,
                                   random_state=0).fit(X)
    for _ in range(5):  # the parent's team of threads, started and busy
        expected = model.transform(X)
    rbm = BernoulliRBM(n_components=32, n_iter=1, random_state=0).fit(X > 0.5)
    rbm.transform(X > 0.5)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        result = pool.map_async(_fork_child, [(model, X, s) for s in range(10)])
        codes = result.get(timeout=120)
    for c in codes:
        np.testing.assert_array_equal(c, expected)


# ------------------------------------------------------ 3. VAE's posterior mean


def test_variational_transform_is_finite_far_outside_the_training_range():
    X = load_digits().data / 16
    vae = VariationalAE(random_state=0).fit(X)
    for scale in (1e3, 1e4, 1e6):
        codes = vae.transform(X[:200] * scale)
        assert np.isfinite(codes).all(), scale
        assert np.isfinite(vae.score_samples(X[:200] * scale)).all(), scale
        assert np.isfinite(vae.log_likelihood(X[:50] * scale, n_samples=5,
                                              random_state=0)).all(), scale


# ------------------------------------------------- 4. interrupted refits


def _interrupt_member_fit(monkeypatch, cls, on_call):
    """Make the on_call-th fit of cls (a member model) end as Ctrl-C after a
    completed epoch does: TrainingInterrupted, the member keeping its state."""
    calls = []
    original = cls.fit

    def fit(self, X, y=None):
        calls.append(1)
        if len(calls) == on_call:
            original(self, X)
            raise TrainingInterrupted("the estimator keeps the state after 1 epoch.")
        return original(self, X, y)

    monkeypatch.setattr(cls, "fit", fit)


def test_outlier_detector_refit_interrupted_keeps_the_previous_fit(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    detector = OutlierDetector(n_estimators=3, random_state=0).fit(X)
    before, flagged = _state(detector), detector.predict(X)
    _interrupt_member_fit(monkeypatch, AutoencoderTransformer, on_call=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(KeyboardInterrupt):
            detector.fit(rng.normal(size=(200, 6)) * 3)
    assert not [w for w in caught if "keeps the state" in str(w.message)]
    assert _state(detector) == before
    np.testing.assert_array_equal(detector.predict(X), flagged)


def test_imputer_refit_interrupted_keeps_the_previous_fit(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    X[rng.random(X.shape) < 0.2] = np.nan
    imputer = AutoencoderImputer(max_iter=10, random_state=0).fit(X)
    before, filled = _state(imputer), imputer.transform(X)
    from skae import DenoisingAE

    _interrupt_member_fit(monkeypatch, DenoisingAE, on_call=1)
    with pytest.raises(KeyboardInterrupt):
        imputer.fit(X * 10 + 5)
    assert _state(imputer) == before
    np.testing.assert_array_equal(imputer.transform(X), filled)


def test_imputer_fresh_fit_interrupted_is_cleanly_unfitted(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    X[0, 0] = np.nan
    from skae import DenoisingAE

    _interrupt_member_fit(monkeypatch, DenoisingAE, on_call=1)
    imputer = AutoencoderImputer(max_iter=5, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        imputer.fit(X)
    assert not [k for k in vars(imputer) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        imputer.transform(X)


def test_autorec_refit_interrupted_says_what_it_keeps(monkeypatch):
    model = AutoRec(n_components=4, max_iter=3, random_state=0).fit(_ratings(0))
    before = _state(model)
    # The default AutoRec's network is a DenoisingAE (noise_level=0.15).
    _interrupt_member_fit(monkeypatch, DenoisingAE, on_call=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(KeyboardInterrupt):
            model.fit(_ratings(1))
    assert not [w for w in caught if "keeps the state" in str(w.message)]
    assert _state(model) == before


# -------------------------------------------------- 5. the caller's data


def test_out_of_core_keeps_the_callers_edits_of_a_copy_on_write_map(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, np.zeros((2000, 16)))
    X = np.load(path, mmap_mode="c")
    X[:] = np.random.default_rng(0).random(X.shape)  # private edits, not in the file
    edited = np.array(X)
    model = AutoencoderTransformer(n_components=2, random_state=0)
    fit_out_of_core(model, X, n_epochs=2, block_rows=250, random_state=0)
    np.testing.assert_array_equal(X, edited)
    # Trained on the edited values (the file holds zeros only).
    reference = AutoencoderTransformer(n_components=2, random_state=0)
    fit_out_of_core(reference, edited, n_epochs=2, block_rows=250, random_state=0)
    np.testing.assert_array_equal(model._params, reference._params)


def test_autorec_leaves_the_callers_matrix_alone():
    data = np.array([1.0, 2.0, 3.0, 4.0])
    indices = np.array([2, 0, 2, 1])  # unsorted, with a duplicate in row 0
    indptr = np.array([0, 3, 4, 4])
    R = sp.csr_matrix((data, indices, indptr), shape=(3, 3))
    copies = R.data.copy(), R.indices.copy(), R.indptr.copy()
    model = AutoRec(n_components=2, max_iter=2, random_state=0).fit(R)
    for now, then in zip((R.data, R.indices, R.indptr), copies):
        np.testing.assert_array_equal(now, then)
    R.data[:] = 5.0  # and the model does not follow later edits of it
    assert model.ratings_.data.max() < 5
    canonical = _ratings()
    model.fit(canonical)
    canonical.data[:] = 5.0
    assert model.ratings_.data.min() < 5


# ------------------------------------------------------- 6. false alarm


def test_a_large_alpha_is_no_divergence():
    X = load_digits().data / 16
    model = AutoencoderTransformer(alpha=10, max_iter=5, random_state=0).fit(X)
    assert np.isfinite(model.loss_curve_).all()


# --------------------------------------------------- 7. Ctrl-C answered


@pytest.fixture
def _python_handles_sigint():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("_python_handles_sigint")
def test_rbm_inverse_transform_answers_ctrl_c():
    rng = np.random.default_rng(0)
    rbm = BernoulliRBM(n_components=256, n_iter=1, random_state=0).fit(
        rng.random((100, 784)) < 0.3)
    H = rng.random((60000, 256))
    start = time.perf_counter()
    rbm.inverse_transform(H[:2000])
    per_row = (time.perf_counter() - start) / 2000
    timer = threading.Timer(0.1, _thread.interrupt_main)
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            rbm.inverse_transform(H)
            time.sleep(5)  # not interrupted inside: the timer's interrupt lands here
        elapsed = time.perf_counter() - start
    finally:
        timer.cancel()
    full = per_row * len(H)
    assert elapsed < min(0.1 + 0.5 * full, 0.1 + 1.0), (elapsed, full)


@pytest.mark.usefixtures("_python_handles_sigint")
def test_rbm_gibbs_on_many_rows_answers_ctrl_c():
    """gibbs polled once per step over all rows: one step on 150,000 rows of 784
    features could not be interrupted."""
    rng = np.random.default_rng(0)
    rbm = BernoulliRBM(n_components=256, n_iter=1, random_state=0).fit(
        rng.random((100, 784)) < 0.3)
    V = (rng.random((150000, 784)) < 0.3).astype(np.float64)
    # The kernel's part (what gibbs runs after validating and copying V, which
    # numpy does without polling).
    start = time.perf_counter()
    rbm._gibbs(V[:2000].copy(), 1)
    full = (time.perf_counter() - start) / 2000 * len(V)
    timer = threading.Timer(0.1, _thread.interrupt_main)
    timer.start()
    start = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            rbm._gibbs(V, 1)
            time.sleep(5)
        elapsed = time.perf_counter() - start
    finally:
        timer.cancel()
    assert elapsed < min(0.1 + 0.5 * full, 0.1 + 1.0), (elapsed, full)


def test_gibbs_does_not_depend_on_the_chunk():
    from skae._kernels import _rbm

    rng = np.random.default_rng(0)
    rbm = BernoulliRBM(n_components=7, n_iter=1, random_state=0).fit(
        rng.random((60, 9)) < 0.5)
    V0 = (rng.random((50, 9)) < 0.5).astype(np.float64)
    out = []
    for chunk in (512, 7, 1):
        V = V0.copy()
        _rbm.gibbs_chain(V, 3, rbm.components_, rbm.intercept_hidden_,
                         rbm.intercept_visible_, _rbm.UNITS["bernoulli"],
                         _rbm.UNITS["bernoulli"], np.random.PCG64(5),
                         ThreadRecord(), chunk)
        out.append(V)
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_array_equal(out[0], out[2])


# ----------------------------------------------------- 8. stale private state


def _exact_log_partition(rbm):
    W, b_h, b_v = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    v = np.array(list(itertools.product([0.0, 1.0], repeat=W.shape[1])))
    minus_free_energy = v @ b_v + np.logaddexp(0, v @ W.T + b_h).sum(axis=1)
    return float(np.logaddexp.reduce(minus_free_energy))


def test_log_partition_after_assigning_weights_of_another_width():
    rng = np.random.default_rng(0)
    rbm = BernoulliRBM(n_components=4, n_iter=2, random_state=0).fit(
        rng.random((50, 6)) < 0.5)
    rbm.components_ = rng.normal(size=(3, 8))
    rbm.intercept_hidden_ = rng.normal(size=3)
    rbm.intercept_visible_ = rng.normal(size=8)
    estimate = rbm.log_partition_function(random_state=0)
    assert estimate == pytest.approx(_exact_log_partition(rbm), abs=0.05)


def test_gaussian_rbm_partial_fit_after_assigning_weights_of_another_width():
    rng = np.random.default_rng(0)
    rbm = GaussianBernoulliRBM(n_components=4, n_iter=2, random_state=0).fit(
        rng.normal(size=(50, 6)))
    rbm.components_ = rng.normal(size=(4, 8)) * 0.01
    rbm.intercept_hidden_ = np.zeros(4)
    rbm.intercept_visible_ = np.zeros(8)
    rbm.n_features_in_ = 8
    rbm.partial_fit(rng.normal(size=(50, 8)))
    assert rbm.components_.shape == (4, 8)


# ------------------------------------------------- 9. errors naming the cause


def test_assigned_n_features_in_is_named():
    X = np.random.default_rng(0).random((60, 5))
    model = AutoencoderTransformer(n_components=2, max_iter=2, random_state=0).fit(X)
    model.n_features_in_ = 9
    with pytest.raises(ValueError, match="n_features_in_ is 9, but its fitted weights"):
        model.transform(np.zeros((3, 9)))
    rbm = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X > 0.5)
    rbm.n_features_in_ = 9
    with pytest.raises(ValueError, match="n_features_in_ is 9, but its fitted weights"):
        rbm.transform(np.zeros((3, 9)))


def test_ratings_to_csr_names_nan_ratings():
    with pytest.raises(ValueError, match="NaN") as error:
        ratings_to_csr([0, 1], [0, 1], [4.0, np.nan])
    assert "missing=" not in str(error.value)


def test_outlier_detector_blames_max_samples():
    X = np.random.default_rng(0).normal(size=(100, 4))
    with pytest.raises(ValueError, match="max_samples=1"):
        OutlierDetector(max_samples=1, random_state=0).fit(X)


def test_transform_racing_a_refit_sees_one_whole_model():
    """A refit builds its state aside: another thread's transform meanwhile
    gives the previous model's codes, never a half-built or half-trained one."""
    rng = np.random.default_rng(0)
    X_small, X_wide = rng.random((500, 20)), rng.random((4000, 20))
    model = AutoencoderTransformer(n_components=3, max_iter=1, random_state=0).fit(
        X_small)
    before = model.transform(X_small[:50])
    model.set_params(n_components=7, max_iter=20, tol=0)
    errors, seen = [], []

    def fit():
        try:
            model.fit(X_wide)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    thread = threading.Thread(target=fit)
    thread.start()
    while thread.is_alive():
        try:
            seen.append(model.transform(X_small[:50]))
        except Exception as error:
            errors.append(error)
    thread.join()
    after = model.transform(X_small[:50])
    assert not errors, errors[:3]
    assert len(seen) > 1
    for codes in seen:
        assert (codes.shape == before.shape and np.array_equal(codes, before)) or (
            codes.shape == after.shape and np.array_equal(codes, after))


# ----------------------------------------------- 10. AutoRec and validation


def test_autorec_in_cross_val_score_says_how_to_validate():
    R = _ratings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = cross_val_score(AutoRec(n_components=4, max_iter=2, random_state=0),
                                 R, cv=3)
    assert np.isnan(scores).all()
    assert any("ratings_train_test_split" in str(w.message) for w in caught)


def test_ratings_train_test_split_scores():
    R = _ratings()
    R_train, R_test = ratings_train_test_split(R, test_size=0.2, random_state=0)
    assert R_train.shape == R_test.shape == R.shape
    assert R_train.nnz + R_test.nnz == R.nnz
    assert (R_train.multiply(R_test)).nnz == 0
    np.testing.assert_array_equal((R_train + R_test).toarray(), R.toarray())
    score = AutoRec(n_components=4, max_iter=5, random_state=0).fit(R_train).score(R_test)
    assert np.isfinite(score) and score < 0


def test_autorec_predicts_from_its_fitted_orientation():
    """set_params(kind=...) after fit changes the next fit, not the fitted
    model's predictions (fitted methods read the fitted state)."""
    R = _ratings()
    model = AutoRec(n_components=4, max_iter=2, random_state=0).fit(R)
    users, items = np.array([0, 5, 29]), np.array([3, 19, 0])
    before = model.predict(users, items)
    top = model.recommend(2, n=5)
    model.set_params(kind="user")
    np.testing.assert_array_equal(model.predict(users, items), before)
    np.testing.assert_array_equal(model.recommend(2, n=5), top)
