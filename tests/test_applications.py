"""AutoencoderImputer, AutoRec and OutlierDetector: behaviour, conventions
and bad input (scikit-learn's own checks are in test_common.py)."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import (
    AutoencoderImputer,
    AutoencoderTransformer,
    AutoRec,
    BernoulliRBM,
    DenoisingAE,
    OutlierDetector,
    SparseAE,
    csr_to_ratings,
    ratings_to_csr,
)


@pytest.fixture(scope="module")
def digits_missing():
    X, y = load_digits(return_X_y=True)
    X, y = X[:500], y[:500]
    hidden = np.random.default_rng(0).uniform(size=X.shape) < 0.3
    return X, np.where(hidden, np.nan, X), hidden, y


# ------------------------------------------------------------------ imputer


def test_imputer_fills_missing_entries_and_keeps_observed_ones(digits_missing):
    X, Xm, hidden, _ = digits_missing
    imputer = AutoencoderImputer(max_iter=60, random_state=0)
    filled = imputer.fit_transform(Xm)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~hidden], X[~hidden])
    mean = SimpleImputer().fit_transform(Xm)
    rmse = np.sqrt(np.mean((filled[hidden] - X[hidden]) ** 2))
    assert rmse < 0.8 * np.sqrt(np.mean((mean[hidden] - X[hidden]) ** 2))
    # transform of the same rows repeats fit_transform exactly.
    np.testing.assert_array_equal(imputer.transform(Xm), filled)


def test_imputer_is_deterministic_and_keeps_float32(digits_missing):
    _, Xm, _, _ = digits_missing
    X32 = Xm.astype(np.float32)
    a = AutoencoderImputer(max_iter=5, random_state=1).fit_transform(X32)
    b = AutoencoderImputer(max_iter=5, random_state=1).fit_transform(X32)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    imputer = AutoencoderImputer(max_iter=5, random_state=1).fit(X32)
    assert imputer.estimator_._params.dtype == np.float32
    again = pickle.loads(pickle.dumps(imputer))
    np.testing.assert_array_equal(again.transform(X32), a)


def test_imputer_in_a_pipeline_and_a_grid_search(digits_missing):
    _, Xm, _, y = digits_missing
    model = make_pipeline(AutoencoderImputer(max_iter=10, random_state=0),
                          LogisticRegression(max_iter=500))
    assert model.fit(Xm, y).score(Xm, y) > 0.8
    search = GridSearchCV(model, {"autoencoderimputer__initial_strategy":
                                  ["mean", "median"]}, cv=2).fit(Xm, y)
    assert search.best_score_ > 0.7


def test_imputer_indicator_empty_features_and_names(digits_missing):
    _, Xm, _, _ = digits_missing
    X = Xm[:, :10].copy()
    X[:, 3] = np.nan  # empty
    with pytest.warns(UserWarning, match="Skipping features without any observed"):
        dropped = AutoencoderImputer(max_iter=3, random_state=0).fit(X)
    assert dropped.transform(X).shape == (len(X), 9)
    assert "x3" not in dropped.get_feature_names_out()
    kept = AutoencoderImputer(max_iter=3, keep_empty_features=True, add_indicator=True,
                              random_state=0).fit(X)
    out = kept.transform(X)
    flagged = np.isnan(X).any(axis=0).sum()
    assert out.shape == (len(X), 10 + flagged)
    assert np.all(out[:, 3] == 0)
    names = kept.get_feature_names_out()
    assert list(names[:10]) == [f"x{j}" for j in range(10)]
    assert names[10] == "missingindicator_x0"
    np.testing.assert_array_equal(out[:, 10:], np.isnan(X)[:, np.isnan(X).any(axis=0)])


def test_imputer_with_another_marker_and_another_autoencoder(digits_missing):
    X, _, hidden, _ = digits_missing
    marked = np.where(hidden, -1.0, X)
    imputer = AutoencoderImputer(SparseAE(n_components=16), missing_values=-1,
                                 max_iter=5, random_state=0)
    filled = imputer.fit_transform(marked)
    assert not np.any(filled == -1)
    assert isinstance(imputer.estimator_, SparseAE)
    assert imputer.estimator_.missing == "nan"
    with pytest.raises(ValueError, match="X contains NaN, but missing_values=-1"):
        imputer.transform(np.where(hidden, np.nan, X))


class _StepRecordingAE(DenoisingAE):
    """A DenoisingAE that records the step size of each partial_fit epoch."""

    def partial_fit(self, X, y=None):
        self.steps_ = [*getattr(self, "steps_", []), self.learning_rate_init]
        return super().partial_fit(X, y)


def test_imputer_decays_the_step_over_the_last_epochs(digits_missing):
    _, Xm, _, _ = digits_missing
    estimator = _StepRecordingAE(n_components=8, learning_rate_init=0.002)
    imputer = AutoencoderImputer(estimator, max_iter=10, random_state=0).fit(Xm)
    # 7 epochs of fit at the estimator's step, then 3 falling to a third of it.
    np.testing.assert_allclose(imputer.estimator_.steps_, [0.002, 0.002 * 2 / 3,
                                                           0.002 / 3])
    assert imputer.n_iter_ == 10
    # The estimator's parameters are its own again.
    assert imputer.estimator_.get_params()["learning_rate_init"] == 0.002
    assert imputer.estimator_.get_params()["max_iter"] == 10
    # L-BFGS has no partial_fit: it trains its max_iter in one fit.
    lbfgs = AutoencoderImputer(DenoisingAE(n_components=8, solver="lbfgs"), max_iter=5,
                               random_state=0).fit(Xm)
    assert lbfgs.estimator_.get_params()["max_iter"] == 5
    assert lbfgs.n_iter_ <= 5


def test_imputer_bad_input(digits_missing):
    _, Xm, _, _ = digits_missing
    with pytest.raises(ValueError, match="no observed entry"):
        AutoencoderImputer(max_iter=2).fit(np.full((5, 3), np.nan))
    with pytest.raises(TypeError, match="needs a skae autoencoder"):
        AutoencoderImputer(BernoulliRBM()).fit(Xm)
    with pytest.raises(ValueError, match="squared_error"):
        AutoencoderImputer(AutoencoderTransformer(loss="binary_crossentropy")).fit(Xm)
    imputer = AutoencoderImputer(max_iter=2, random_state=0).fit(Xm)
    before = imputer.estimator_._params.copy()
    with pytest.raises(ValueError):
        imputer.fit(np.full((5, 64), np.inf))
    with pytest.raises(ValueError, match="features"):
        imputer.transform(Xm[:, :5])
    np.testing.assert_array_equal(imputer.estimator_._params, before)
    # A row with nothing observed is filled, not refused.
    assert np.isfinite(imputer.transform(np.full((1, 64), np.nan))).all()


def test_ridge_on_the_others_equals_one_ridge_per_column():
    # The block-inverse shortcut gives each column's own ridge fit on the
    # others, with the penalty cross-validation picked.
    from skae._applications.impute import _RIDGE_PENALTIES, _ridge_on_the_others

    rng = np.random.default_rng(0)
    Z = rng.normal(size=(120, 6)) @ rng.normal(size=(6, 6)) + rng.normal(size=6)
    observed = rng.uniform(size=Z.shape) > 0.2
    folds = np.arange(len(Z)) % 3
    coef, intercept, penalty = _ridge_on_the_others(Z, observed, folds)
    assert penalty in _RIDGE_PENALTIES
    np.testing.assert_array_equal(np.diag(coef), 0)
    for j in range(Z.shape[1]):
        others = np.delete(Z, j, axis=1)
        ridge = Ridge(alpha=penalty * len(Z)).fit(others, Z[:, j])
        np.testing.assert_allclose(np.delete(coef[:, j], j), ridge.coef_, rtol=1e-9)
        np.testing.assert_allclose(intercept[j], ridge.intercept_, rtol=1e-9, atol=1e-12)
    # The chosen penalty is the one with the least held-out error on the
    # observed entries: refit every penalty by brute force and compare.
    errors = []
    for candidate in _RIDGE_PENALTIES:
        error = 0.0
        for fold in range(3):
            train, test = folds != fold, folds == fold
            centred = Z - Z.mean(axis=0)
            for j in range(Z.shape[1]):
                ridge = Ridge(alpha=candidate * train.sum(), fit_intercept=False).fit(
                    np.delete(centred[train], j, axis=1), centred[train, j])
                residual = ridge.predict(np.delete(centred[test], j, axis=1)) - centred[test, j]
                error += np.sum(residual[observed[test, j]] ** 2)
        errors.append(error)
    assert penalty == _RIDGE_PENALTIES[int(np.argmin(errors))]


def test_imputer_linear_share_blends_a_ridge_fill(digits_missing):
    X, Xm, hidden, _ = digits_missing
    network = AutoencoderImputer(max_iter=20, linear_share=0.0, random_state=0).fit(Xm)
    assert network.linear_coef_ is None and network.linear_share_ is None
    both = AutoencoderImputer(max_iter=20, linear_share=0.7, random_state=0).fit(Xm)
    kept = both._valid.sum()
    assert both.linear_coef_.shape == (kept, kept)
    assert both.linear_intercept_.shape == (kept,)
    assert both.linear_share_ == 0.7
    # The same network (a given share holds nothing out; the linear part is
    # fitted after it); the fill blends the network's and three rounds of the
    # ridge's, observed entries untouched.
    np.testing.assert_array_equal(both.estimator_._params, network.estimator_._params)
    filled, alone = both.transform(Xm), network.transform(Xm)
    np.testing.assert_array_equal(filled[~hidden], X[~hidden])
    assert not np.array_equal(filled[hidden], alone[hidden])
    V = both._standardise(Xm)
    R = both.estimator_.inverse_transform(both.estimator_.transform(V))
    fill = R
    for _ in range(3):  # each round reads the other missing entries' last fill
        linear = np.where(np.isnan(V), fill, V) @ both.linear_coef_ + both.linear_intercept_
        fill = 0.7 * linear + 0.3 * R
    valid = both._valid
    expected = fill * both.scale_[valid] + both.mean_[valid]
    np.testing.assert_allclose(filled[:, valid][hidden[:, valid]],
                               expected[hidden[:, valid]], rtol=1e-12, atol=1e-10)
    # A pickle from before the linear part (no such attributes) imputes with
    # the network alone, as it did.
    old = pickle.loads(pickle.dumps(network))
    for name in ("linear_coef_", "linear_intercept_", "linear_penalty_", "linear_share_"):
        delattr(old, name)
    np.testing.assert_array_equal(old.transform(Xm), alone)
    # A damaged linear part is refused, not used.
    for name, value in [("linear_coef_", both.linear_coef_[:-1]), ("linear_share_", 1.5),
                        ("linear_share_", None)]:
        damaged = pickle.loads(pickle.dumps(both))
        setattr(damaged, name, value)
        with pytest.raises(ValueError, match="fitted attributes disagree"):
            damaged.transform(Xm)


def test_imputer_auto_share_follows_the_data_and_refits_the_network(digits_missing):
    from skae._applications.impute import _SHARES

    _, Xm, _, _ = digits_missing
    auto = AutoencoderImputer(max_iter=20, random_state=0).fit(Xm)
    assert auto.linear_share_ in _SHARES
    # The network that imputes learned from every entry: the one a given
    # share (nothing held out) trains.
    given = AutoencoderImputer(max_iter=20, linear_share=auto.linear_share_,
                               random_state=0).fit(Xm)
    np.testing.assert_array_equal(auto.estimator_._params, given.estimator_._params)
    # Columns that are linear in one another: the regression takes the lead;
    # a column that is a parabola of another (uncorrelated with it): the
    # network keeps it.
    rng = np.random.default_rng(0)
    hide = rng.uniform(size=(400, 6)) < 0.2
    latent = rng.normal(size=(400, 2))
    linear = latent @ rng.normal(size=(2, 6)) + 0.05 * rng.normal(size=(400, 6))
    chosen = AutoencoderImputer(max_iter=40, random_state=0).fit(
        np.where(hide, np.nan, linear)).linear_share_
    assert chosen >= 0.7
    t = rng.uniform(-2, 2, size=(400, 3))
    curved = np.hstack([t, t ** 2]) + 0.05 * rng.normal(size=(400, 6))
    chosen = AutoencoderImputer(max_iter=40, random_state=0).fit(
        np.where(hide, np.nan, curved)).linear_share_
    assert chosen <= 0.3


# ---------------------------------------------------------------- AutoRec


def _ratings(seed=0, n_users=200, n_items=100, share=0.2):
    """Ratings 1..5 from user offsets and rank-3 tastes, a share observed."""
    rng = np.random.default_rng(seed)
    U, V = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    offsets = 0.5 * rng.normal(size=(n_users, 1))
    full = np.clip(np.round(3 + U @ V.T + offsets), 1, 5)
    seen = rng.uniform(size=full.shape) < share
    users, items = np.nonzero(seen)
    return users, items, full[seen], full


def test_ratings_helpers_round_trip():
    users, items, ratings, _ = _ratings()
    R = ratings_to_csr(users, items, ratings)
    back = csr_to_ratings(R)
    order = np.lexsort((items, users))
    for got, want in zip(back, (users[order], items[order], ratings[order])):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="rated more than once"):
        ratings_to_csr([0, 0], [1, 1], [3.0, 4.0])
    with pytest.raises(ValueError, match="stored zeros"):
        ratings_to_csr([0, 1], [1, 2], [0.0, 4.0])
    with pytest.raises(ValueError, match="integers >= 0"):
        ratings_to_csr([-1], [0], [3.0])


@pytest.mark.parametrize("kind", ["item", "user"])
def test_autorec_auto_penalty_and_batch_follow_the_rows(kind):
    # alpha="auto" is a penalty per rating of a training row and
    # batch_size="auto" about 40 steps an epoch, within [16, 256].
    users, items, ratings, full = _ratings(n_users=1200, n_items=100, share=0.1)
    R = ratings_to_csr(users, items, ratings, shape=full.shape)
    model = AutoRec(n_components=4, kind=kind, max_iter=1, random_state=0).fit(R)
    n_rows = full.shape[1] if kind == "item" else full.shape[0]
    assert model.alpha_ == pytest.approx(8e-4 * R.nnz / n_rows)
    assert model.estimator_.alpha == model.alpha_
    assert model.estimator_.batch_size == (16 if kind == "item" else 30)
    fixed = AutoRec(n_components=4, kind=kind, alpha=0.05, batch_size=8, max_iter=1,
                    random_state=0).fit(R)
    assert (fixed.alpha_, fixed.estimator_.batch_size) == (0.05, 8)


@pytest.mark.parametrize("kind", ["item", "user"])
def test_autorec_predicts_held_out_ratings(kind):
    users, items, ratings, full = _ratings()
    test = np.random.default_rng(1).uniform(size=len(ratings)) < 0.2
    R = ratings_to_csr(users[~test], items[~test], ratings[~test], shape=full.shape)
    model = AutoRec(n_components=20, kind=kind, alpha=0.1, max_iter=100,
                    random_state=0).fit(R)
    pred = model.predict(users[test], items[test])
    rmse = np.sqrt(np.mean((pred - ratings[test]) ** 2))
    # The tastes are a product of user and item factors, which biases alone
    # cannot express: the network must beat its own baseline.
    baseline = (model.global_mean_ + model.user_bias_[users[test]]
                + model.item_bias_[items[test]])
    assert rmse < 0.95 * np.sqrt(np.mean((baseline - ratings[test]) ** 2))
    assert pred.min() >= 1 and pred.max() <= 5
    assert model.score(ratings_to_csr(users[test], items[test], ratings[test],
                                      shape=full.shape)) == pytest.approx(-rmse)


def test_autorec_predict_matches_the_full_reconstruction_and_recommend_skips_rated():
    users, items, ratings, full = _ratings()
    R = ratings_to_csr(users, items, ratings, shape=full.shape)
    model = AutoRec(n_components=10, max_iter=5, random_state=0).fit(R)
    assert model.predict([0], [0]).shape == (1,)
    every_u, every_i = np.divmod(np.arange(full.size), full.shape[1])
    table = model.predict(every_u, every_i).reshape(full.shape)
    unclipped = model.set_params(clip=False).predict(every_u, every_i).reshape(full.shape)
    model.set_params(clip=True)
    # Pairs in any order and with repeats give the same values.
    pick = np.random.default_rng(2).integers(0, full.size, 50)
    np.testing.assert_array_equal(model.predict(every_u[pick], every_i[pick]),
                                  table.ravel()[pick])
    top = model.recommend(0, n=5)
    rated = set(items[users == 0])
    assert not rated & set(top.tolist())
    unrated = np.array([i for i in range(full.shape[1]) if i not in rated])
    best = unrated[np.lexsort((unrated, -unclipped[0, unrated]))[:5]]
    np.testing.assert_array_equal(top, best)
    assert len(model.recommend(0, n=1000)) == len(unrated)
    counts = np.bincount(items, minlength=full.shape[1])
    popular = model.recommend(0, n=1000, min_ratings=25)
    assert set(popular.tolist()) == {i for i in unrated if counts[i] >= 25}


def test_autorec_bad_input_leaves_the_model_unchanged():
    users, items, ratings, full = _ratings()
    R = ratings_to_csr(users, items, ratings, shape=full.shape)
    model = AutoRec(n_components=5, max_iter=2, random_state=0).fit(R)
    before = model.estimator_._params.copy()
    with pytest.raises(ValueError, match="outside the fitted"):
        model.predict([0, 200], [1, 2])
    with pytest.raises(ValueError, match="outside the fitted"):
        model.predict([0], [-1])
    with pytest.raises(ValueError, match="lengths"):
        model.predict([0, 1], [1])
    with pytest.raises(TypeError, match="sparse matrix"):
        model.fit(full)
    zeros = R.copy()
    zeros.data[0] = 0
    with pytest.raises(ValueError, match="stored zeros"):
        model.fit(zeros)
    nan = R.copy()
    nan.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(nan)
    with pytest.raises(ValueError, match="outside the fitted"):
        model.recommend(200)
    np.testing.assert_array_equal(model.estimator_._params, before)


def test_autorec_is_deterministic():
    users, items, ratings, full = _ratings()
    R = ratings_to_csr(users, items, ratings, shape=full.shape)
    a = AutoRec(n_components=8, max_iter=3, random_state=4).fit(R)
    b = AutoRec(n_components=8, max_iter=3, random_state=4).fit(R)
    np.testing.assert_array_equal(a.predict(users, items), b.predict(users, items))


# ---------------------------------------------------------- outlier detector


def _contaminated(seed=0):
    """Standardised rank-3 data in 12 dimensions with 5% of rows off it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 12))
    out = np.zeros(400, dtype=bool)
    out[:20] = True
    X[:20] = rng.normal(scale=X.std(), size=(20, 12))
    return StandardScaler().fit_transform(X), out


def _digits_with_outliers(inlier=0, outlier=1, n_out=9):
    X, y = load_digits(return_X_y=True)
    data = np.vstack([X[y == inlier], X[y == outlier][:n_out]]) / 16
    out = np.r_[np.zeros((y == inlier).sum()), np.ones(n_out)].astype(bool)
    return data, out


def test_detector_finds_other_digits_among_zeros():
    X, out = _digits_with_outliers()
    detector = OutlierDetector(random_state=0).fit(X)
    assert roc_auc_score(out, -detector.score_samples(X)) > 0.95
    np.testing.assert_allclose(detector.decision_function(X),
                               detector.score_samples(X) - detector.offset_)
    labels = detector.predict(X)
    assert set(labels.tolist()) <= {-1, 1}
    assert np.mean(labels[out] == -1) > 0.8 and np.mean(labels[~out] == 1) > 0.9


def test_detector_contamination_sets_the_share_flagged():
    X, _ = _contaminated()
    detector = OutlierDetector(n_estimators=2, contamination=0.1, random_state=0).fit(X)
    assert np.mean(detector.predict(X) == -1) == pytest.approx(0.1, abs=0.01)


def test_detector_wraps_an_rbm_by_free_energy():
    data, out = _digits_with_outliers()
    rbm = BernoulliRBM(n_components=16, n_iter=30, learning_rate=0.05)
    detector = OutlierDetector(rbm, n_estimators=2, random_state=0).fit(data)
    assert roc_auc_score(out, -detector.score_samples(data)) > 0.9


def test_detector_is_deterministic_and_bad_input_is_refused():
    X, _ = _contaminated()
    a = OutlierDetector(n_estimators=2, random_state=3).fit(X).score_samples(X)
    b = OutlierDetector(n_estimators=2, random_state=3).fit(X).score_samples(X)
    np.testing.assert_array_equal(a, b)
    for bad in (0.0, 0.6, -0.1):
        with pytest.raises(ValueError, match="contamination"):
            OutlierDetector(contamination=bad).fit(X)
    with pytest.raises(TypeError, match="wraps a skae autoencoder or RBM"):
        OutlierDetector(LogisticRegression()).fit(X)
    detector = OutlierDetector(n_estimators=1, random_state=0).fit(X)
    offset = detector.offset_
    with pytest.raises(ValueError):
        detector.fit(np.full((5, 12), np.nan))
    assert detector.offset_ == offset
    with pytest.raises(ValueError, match="features"):
        detector.score_samples(X[:, :3])
    assert detector.fit(sp.csr_matrix(X)).predict(sp.csr_matrix(X[:5])).shape == (5,)


@pytest.mark.parametrize("kind", ["item", "user"])
def test_autorec_predict_in_many_chunks_equals_one(kind, monkeypatch):
    import skae._applications.recommend as recommend

    users, items, ratings, full = _ratings()
    R = ratings_to_csr(users, items, ratings, shape=full.shape)
    model = AutoRec(n_components=8, kind=kind, max_iter=3, random_state=0).fit(R)
    rng = np.random.default_rng(0)
    u, i = rng.integers(0, full.shape[0], 3000), rng.integers(0, full.shape[1], 3000)
    whole = model.predict(u, i)
    monkeypatch.setattr(recommend, "_CHUNK", 7)
    # Equal to rounding, not bit for bit: a BLAS may take another kernel for a
    # product of 7 rows than for 512 (OpenBLAS on an AMD EPYC differs in the
    # last bit for 0.5% of the predictions).
    np.testing.assert_allclose(model.predict(u, i), whole, rtol=1e-12, atol=1e-12)


def _noisy_features_and_broken_rows(n=1000, seed=0):
    """Six features from one latent one (little noise) beside two of noise
    that nothing rebuilds; the first 20 rows break the six's structure by
    amounts the noise features' errors dwarf."""
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.normal(size=(n, 1)) @ rng.normal(size=(1, 6))
                   + 0.05 * rng.normal(size=(n, 6)), rng.normal(size=(n, 2))])
    X[:20, :6] += rng.normal(scale=0.3, size=(20, 6))
    out = np.zeros(n, dtype=bool)
    out[:20] = True
    return StandardScaler().fit_transform(X), out


def test_detector_scales_each_features_errors_on_narrow_data():
    # error_scaling="auto" divides each feature's squared error by its 90th
    # percentile over the clone's rows: the rows that break the structure of
    # features rebuilt well rank first, where the sum of raw errors ranks the
    # noise features' tails first.
    X, out = _noisy_features_and_broken_rows()
    auc = {scaling: roc_auc_score(out, -OutlierDetector(
        error_scaling=scaling, random_state=0).fit(X).score_samples(X))
        for scaling in ("auto", "none")}
    assert auc["auto"] > 0.95 and auc["auto"] > auc["none"] + 0.05   # 0.973, 0.883
    # From 64 features the clones score by their own loss: both the same.
    wide = np.hstack([X] * 8)
    scores = [OutlierDetector(n_estimators=2, error_scaling=scaling, random_state=0)
              .fit(wide).score_samples(wide) for scaling in ("auto", "none")]
    np.testing.assert_array_equal(*scores)


def test_detector_refuses_error_scales_that_disagree_with_its_clones():
    X, _ = _noisy_features_and_broken_rows(n=100)
    detector = OutlierDetector(n_estimators=2, random_state=0).fit(X)
    assert [s.shape for s in detector._error_scales] == [(8,), (8,)]
    for damage in (lambda s: s[:1], lambda s: [s[0], -s[1]], lambda s: [s[0][:3], s[1]]):
        state = detector.__getstate__()
        state["_error_scales"] = damage(state["_error_scales"])
        with pytest.raises(ValueError, match="fitted attributes disagree"):
            OutlierDetector().__setstate__(state)
