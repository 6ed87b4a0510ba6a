"""AutoencoderImputer: missing values filled by a denoising autoencoder.

The imputer follows scikit-learn's imputers (``SimpleImputer``,
``IterativeImputer``): ``missing_values``, ``initial_strategy``,
``add_indicator``, ``keep_empty_features``; ``transform`` returns X with the
missing entries filled and the observed ones untouched. The autoencoder does
the work: it trains with ``missing="nan"`` (the loss counts observed entries
only, in the compiled pass) and, as a DenoisingAE, hides a share of the
observed entries each epoch and learns to reconstruct them from the others,
which is imputation rehearsed on entries whose values are known.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    MissingValues,
    StrOptions,
)
from sklearn.utils.validation import _check_feature_names_in

from .._autoencoders.dense import DenoisingAE
from .._autoencoders.base import BaseAutoencoder
from .._core.common import member_fit, missing_fill, transactional, validate_input
from .._core.training import CallbackSupportMixin, end_task, fit_task, member_task
from .._core.persistence import ConsistentStateMixin, VersionedStateMixin

# The share of the training epochs whose step size decays linearly to zero.
_DECAY_SHARE = 0.3

# The ridge penalties the linear part tries, per training row (on standardised
# features), and the folds of the cross-validation that picks one.
_RIDGE_PENALTIES = np.logspace(-3, 1, 9)
_RIDGE_FOLDS = 3
# Rounds of the linear fill: each reads the other missing entries as the
# previous round filled them (the first, as the network did).
_LINEAR_ROUNDS = 3
# With linear_share="auto": the share of the observed entries held out of
# training, and the shares tried on them.
_HELD_OUT_SHARE = 0.1
_SHARES = np.round(np.linspace(0, 1, 11), 1)
# From this many kept features "auto" takes _WIDE_SHARE instead of training a
# second network to choose: wide data trains long (MNIST's 10,000 x 784: about
# 250 s a network), and on it 0.5 was the best share tried (10% missing: RMSE
# 0.0816 against 0.0845 for the network alone; 0.3: 0.0821, 0.7: 0.0821).
_CHOICE_MAX_FEATURES = 200
_WIDE_SHARE = 0.5
# Above this many kept features the linear part is skipped: its n_features^2
# matrices and their eigendecompositions would outgrow the network's cost.
_LINEAR_MAX_FEATURES = 2048


def _is_nan(value):
    return isinstance(value, float) and bool(np.isnan(value))


def _linear_fill(V, missing, network, coef, intercept, share):
    """The fill of the linear part (standardised units): _LINEAR_ROUNDS rounds
    of the ridge regression ``coef``, ``intercept``, each reading the other
    missing entries as the round before filled them (the first, as the
    network did), each blended with the network's reconstruction at
    ``share``. Observed entries of the result are meaningless."""
    fill = network
    for _ in range(_LINEAR_ROUNDS):
        linear = np.where(missing, fill, V) @ coef + intercept
        fill = share * linear + (1 - share) * network
    return fill


def _ridge_on_the_others(Z, observed, folds):
    """Ridge regression of every column of Z on all the other columns at once.

    For M = Z_c' Z_c + lam I (Z_c centred), the ridge coefficients of column j
    on the others are -M^-1[k, j] / M^-1[j, j] (k != j): the block inverse of
    M, whose off-diagonal blocks the penalty does not touch. One eigen-
    decomposition per fold then scores every penalty of _RIDGE_PENALTIES at
    the cost of a product, not an inversion. The penalty is chosen by the
    squared error on the observed entries of held-out rows (``folds`` gives
    each row's fold; a fold without held-out rows is skipped).

    Returns ``(coef, intercept, penalty)`` with ``Z @ coef + intercept`` the
    prediction of each column from the others (``coef`` has a zero diagonal)
    and ``penalty`` the chosen one per row.
    """
    n, p = Z.shape
    mean = Z.mean(axis=0)
    Zc = Z - mean
    errors = np.zeros(len(_RIDGE_PENALTIES))
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        if not train.any():
            continue
        spectrum, U = np.linalg.eigh(Zc[train].T @ Zc[train])
        projected = Zc[test] @ U
        for k, penalty in enumerate(_RIDGE_PENALTIES):
            inverse = 1.0 / (np.maximum(spectrum, 0) + penalty * train.sum())
            # x - (x M^-1) / diag(M^-1) is x's prediction from its other columns.
            predicted = Zc[test] - ((projected * inverse) @ U.T) / ((U * U) @ inverse)
            errors[k] += np.sum((predicted - Zc[test])[observed[test]] ** 2)
    penalty = _RIDGE_PENALTIES[int(np.argmin(errors))]
    spectrum, U = np.linalg.eigh(Zc.T @ Zc)
    inverse_M = (U / (np.maximum(spectrum, 0) + penalty * n)) @ U.T
    coef = -inverse_M / np.diag(inverse_M)
    np.fill_diagonal(coef, 0.0)
    return coef, mean - mean @ coef, float(penalty)


class AutoencoderImputer(CallbackSupportMixin, ConsistentStateMixin, VersionedStateMixin, TransformerMixin,
                         BaseEstimator):
    """Impute missing values with a denoising autoencoder.

    Each feature is standardised with the mean and standard deviation of its
    observed values; an autoencoder with ``missing="nan"`` is trained on the
    result, its loss counting observed entries only; a missing entry enters
    the network as the ``initial_strategy`` statistic. With the default
    estimator, a :class:`~skae.DenoisingAE`, every epoch also hides a share of
    the observed entries (``noise_level``) the same way, so the network learns
    to predict hidden entries from the observed ones. ``transform`` fills each
    missing entry with the network's reconstruction; observed entries are
    returned as they were.

    Parameters
    ----------
    estimator : skae autoencoder or None, default=None
        The autoencoder to train (cloned; its ``missing`` is set to "nan").
        None uses a DenoisingAE sized from the data: ``n_components`` of
        n_features clipped to [16, 256], one hidden layer of 4 * n_features
        clipped to [128, 512], ``activation="relu"``, ``loss="huber"``,
        ``noise_level`` 0.5 (0.15 from 200 features), ``alpha=1e-2``, batch
        32 (64 from 5,000 rows) and 2.5 * 10^6 / n_samples epochs clipped to
        [20, 500]. A DenoisingAE with masking noise hides observed entries as
        missing ones look; other autoencoders learn from the observed entries
        alone. Whatever the estimator, the last 30% of its epochs lower the
        step size linearly towards zero (see Notes).
    missing_values : int, float or np.nan, default=np.nan
        The placeholder of the missing values: every occurrence is imputed.
    initial_strategy : {"mean", "median", "most_frequent", "constant"}, \
            default="mean"
        The statistic a missing (or hidden) entry enters the network as, as in
        :class:`~sklearn.impute.SimpleImputer`.
    fill_value : float, default=0
        The value of ``initial_strategy="constant"``.
    max_iter : int or None, default=None
        Maximum number of training epochs; None keeps the estimator's
        ``max_iter``.
    linear_share : "auto" or float in [0, 1], default="auto"
        The weight of a linear prediction in each imputed value. After
        training, every feature is regressed (ridge, one penalty for all,
        chosen by 3-fold cross-validation on observed entries) on all the
        others over the data the network completed; a missing entry is then
        filled with ``linear_share_`` times that regression plus
        ``1 - linear_share_`` times the network's reconstruction, in three
        rounds, each regression reading the other missing entries as the
        round before filled them. "auto" holds 10% of the observed entries
        out of a first network and regression, picks the share of
        0, 0.1, ..., 1 that fills them best, then trains the network that
        imputes on every entry (twice the training time); from 200 features
        it takes 0.5 without choosing. A float is used as given; 0 uses the
        network alone. The linear part is what IterativeImputer does well on
        narrow, correlated tables, the network what it does well on wide ones
        (see Notes). It costs one eigendecomposition of an n_features-square
        matrix per fold in ``fit`` and three products with one in
        ``transform``, and is skipped above 2,048 features (``linear_coef_``
        is then None).
    add_indicator : bool, default=False
        Append a :class:`~sklearn.impute.MissingIndicator`'s columns (the
        features that had missing values in ``fit``) to the output.
    keep_empty_features : bool, default=False
        Keep the features with no observed value in ``fit`` in the output,
        filled with 0 (``fill_value`` with "constant"), as scikit-learn's
        imputers do; by default they are dropped, with a warning.
    random_state : int, RandomState instance or None, default=None
        Seeds the estimator (its weights, row order and hidden entries).

    Attributes
    ----------
    estimator_ : skae autoencoder
        The fitted autoencoder, on the standardised non-empty features.
    statistics_ : ndarray of shape (n_features,)
        The ``initial_strategy`` statistic of each feature (NaN for an empty
        feature, as in SimpleImputer).
    mean_, scale_ : ndarray of shape (n_features,)
        The standardisation of each feature's observed values.
    indicator_ : MissingIndicator or None
        The indicator of ``add_indicator``.
    linear_coef_ : ndarray of shape (n_kept, n_kept) or None
        The ridge coefficients of the linear part on the standardised kept
        features: column j predicts feature j from the others (zero diagonal);
        None when ``linear_share`` is 0 or above 2,048 features.
    linear_intercept_ : ndarray of shape (n_kept,) or None
        Its intercepts.
    linear_penalty_ : float or None
        The ridge penalty cross-validation chose, per training row.
    linear_share_ : float or None
        The share of the linear part in each fill: chosen on the held-out
        entries with ``linear_share="auto"``, else ``linear_share``.
    n_iter_ : int
        Epochs the autoencoder trained.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``, when they are all strings.

    See Also
    --------
    sklearn.impute.SimpleImputer : One statistic per feature.
    sklearn.impute.KNNImputer : The mean of the nearest rows.
    sklearn.impute.IterativeImputer : Each feature regressed on the others, in
        rounds.

    Notes
    -----
    Training runs in two phases: ``fit`` of the estimator for 70% of its
    ``max_iter`` epochs at its own step size, then the other 30% as
    ``partial_fit`` epochs whose ``learning_rate_init`` falls linearly from
    the estimator's towards zero (restored afterwards); the optimizer's state
    carries over. The noisy denoising gradient keeps a constant step hovering
    around a minimum; the decay settles it there (MNIST, 10% missing: RMSE
    0.100 against 0.106 for the same 100 epochs). An estimator with
    ``solver="lbfgs"`` has no ``partial_fit`` and trains its ``max_iter``
    epochs in one ``fit``.

    The linear part and ``linear_share="auto"`` were chosen on the features
    of eight tabular sets of the ODDS collection (annthyroid, arrhythmia,
    ionosphere, letter, musk, pima, thyroid, vowels; at most 1,500 rows
    each), with 10%, 30% and 50% of the entries removed, standardised RMSE:
    the chosen share beat the network alone on all 24 (by 6.0% on average,
    in logs; fixed shares of 0.3 to 1 gave 2.9% to 5.4%) and IterativeImputer
    on 23 (ionosphere at 10%: 0.763 against 0.849 for the network alone and
    0.845 for IterativeImputer). ``benchmarks/bench_impute.py`` reports on
    other sets; doc/benchmarks.md has the tables.

    Rows with no observed entry are filled with the network's reconstruction
    of a row of initial statistics. Training reads X in place (one
    standardised copy, made once, and with ``linear_share="auto"`` below 200
    features a second for the network that chooses the share); imputation
    runs in bounded chunks.

    References
    ----------
    Gondara, L. and Wang, K. (2018). MIDA: Multiple imputation using denoising
    autoencoders. PAKDD.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderImputer
    >>> X = load_digits().data
    >>> rng = np.random.default_rng(0)
    >>> X_missing = np.where(rng.uniform(size=X.shape) < 0.2, np.nan, X)
    >>> imputer = AutoencoderImputer(max_iter=30, random_state=0)
    >>> X_filled = imputer.fit_transform(X_missing)
    >>> bool(np.isnan(X_filled).any())
    False
    >>> observed = ~np.isnan(X_missing)
    >>> bool((X_filled[observed] == X_missing[observed]).all())
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "transform", "inverse_transform"]), None],
        "missing_values": [MissingValues(numeric_only=True)],
        "initial_strategy": [StrOptions({"mean", "median", "most_frequent", "constant"})],
        "fill_value": [Interval(Real, None, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "linear_share": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        missing_values=np.nan,
        initial_strategy="mean",
        fill_value=0,
        max_iter=None,
        linear_share="auto",
        add_indicator=False,
        keep_empty_features=False,
        random_state=None,
    ):
        self.estimator = estimator
        self.missing_values = missing_values
        self.initial_strategy = initial_strategy
        self.fill_value = fill_value
        self.max_iter = max_iter
        self.linear_share = linear_share
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = _is_nan(self.missing_values)
        return tags

    # ---------------------------------------------------------------- input

    def _missing_as_nan(self, X, *, reset):
        """Validated float X (a copy) with every missing entry NaN."""
        nan_marker = _is_nan(self.missing_values)
        dtype = [np.float64, np.float32] if reset else self._dtype
        X = validate_input(self, X, reset=reset, dtype=dtype, copy=True,
                           accept_sparse=False, allow_nan=True)
        if not nan_marker:
            if np.isnan(X).any():
                raise ValueError(
                    f"X contains NaN, but missing_values={self.missing_values!r}: NaN "
                    "would be neither observed nor missing. Set missing_values=np.nan "
                    "if NaN marks the missing entries, or replace the NaN first."
                )
            X[X == self.missing_values] = np.nan
        return X

    @staticmethod
    def _default_estimator(n_samples, n_features):
        """The default DenoisingAE, sized from the data: an overcomplete
        network (imputation is prediction, not compression) that hides a share
        of the observed entries each epoch, with a firm L2 penalty, the Huber
        loss and about 2.5 million row visits of training (at most 500 epochs).

        The Huber loss, because a standardised feature that is rarely nonzero
        takes huge values, which the squared error chases; more entries
        hidden on narrow data than on wide, redundant data (the trials:
        benchmarks/bench_impute.py and doc/user_guide.md)."""
        epochs = int(np.clip(2_500_000 // max(n_samples, 1), 20, 500))
        return DenoisingAE(
            n_components=int(np.clip(n_features, 16, 256)),
            hidden_layer_sizes=(int(np.clip(4 * n_features, 128, 512)),),
            activation="relu",
            code_activation="relu",
            init="random",
            loss="huber",
            noise="masking",
            noise_level=0.5 if n_features < 200 else 0.15,
            early_stopping=False,
            alpha=1e-2,
            batch_size=32 if n_samples < 5000 else 64,
            max_iter=epochs,
            # A fixed budget: the denoising loss is noisy, and stopping on its
            # plateaus cost digits 4% of RMSE (2.46 against 2.36 at 30%).
            tol=0.0,
            n_iter_no_change=epochs,
        )

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the autoencoder on the observed entries of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries (``missing_values``).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        # _fit assigns every fitted attribute anew (it mutates none in place),
        # so the shadow needs no copies; an interrupted member leaves the
        # imputer as it was: its statistics and its network go together.
        # Subtasks: the network, and before it the one that chooses the share.
        context = fit_task(self, X, 2 if self.linear_share == "auto" else 1)
        transactional(self, (), lambda work: work._fit(X, self, context),
                      keep_interrupted=False)
        end_task(self, context, X, self)
        return self

    def _fit(self, X, owner, context):
        if self.estimator is not None and not isinstance(self.estimator, BaseAutoencoder):
            raise TypeError(
                "AutoencoderImputer needs a skae autoencoder (AutoencoderTransformer, "
                "DenoisingAE, SparseAE, ContractiveAE, StackedAE or VariationalAE), "
                f"which can read missing entries; got {type(self.estimator).__name__}."
            )
        X = self._missing_as_nan(X, reset=True)
        if X.shape[0] < 2:
            raise ValueError("AutoencoderImputer needs at least 2 samples to learn "
                             f"from; got n_samples={X.shape[0]}.")
        self._dtype = X.dtype.name  # a string: skops then trusts it as data
        missing = np.isnan(X)
        if self.add_indicator:
            self.indicator_ = MissingIndicator(error_on_new=False).fit(X)
        else:
            self.indicator_ = None
        observed = (~missing).sum(axis=0)
        self._valid = observed > 0
        if not self._valid.any():
            raise ValueError(
                "X has no observed entry: every value is missing, so there is nothing "
                "to learn the imputation from."
            )
        if not self._valid.all() and not self.keep_empty_features:
            empty = np.flatnonzero(~self._valid)
            if hasattr(self, "feature_names_in_"):
                empty = self.feature_names_in_[empty]
            warnings.warn(
                f"Skipping features without any observed values: {empty}. At least one "
                "non-missing value is needed for imputation; set "
                "keep_empty_features=True to keep them (filled with 0)."
            )
        count = np.maximum(observed, 1)
        self.mean_ = missing_fill(X, "nan").astype(np.float64)
        spread = np.where(missing, 0, X - self.mean_) ** 2
        scale = np.sqrt(spread.sum(axis=0) / count)
        self.scale_ = np.where(scale > 0, scale, 1)
        self.statistics_ = self._statistics(X)
        if self.estimator is not None and self.estimator.get_params().get(
                "loss") == "binary_crossentropy":
            raise ValueError(
                "AutoencoderImputer standardises each feature, so its estimator needs "
                "loss='squared_error' (or 'huber'), not binary cross-entropy."
            )
        V = self._standardise(X)
        linear = self.linear_share != 0 and V.shape[1] <= _LINEAR_MAX_FEATURES
        rng = check_random_state(self.random_state)
        share = self.linear_share
        if linear and share == "auto":
            share = (self._choose_share(V, rng, owner, context)
                     if V.shape[1] < _CHOICE_MAX_FEATURES else _WIDE_SHARE)
        estimator = self._fit_network(V, owner, context, "network")
        self.estimator_ = estimator
        self.n_iter_ = estimator.n_iter_
        self.linear_coef_ = self.linear_intercept_ = None
        self.linear_penalty_ = self.linear_share_ = None
        if linear:
            reconstruction = estimator.inverse_transform(estimator.transform(V))
            (self.linear_coef_, self.linear_intercept_,
             self.linear_penalty_) = self._fit_linear(V, np.isnan(V), reconstruction, rng)
            self.linear_share_ = float(share)
        return self

    def _fit_network(self, V, owner, context, task):
        """The estimator (the default or a clone of the given one), trained on
        the standardised V as the subtask ``task`` of the fit."""
        estimator = (self._default_estimator(*V.shape) if self.estimator is None
                     else clone(self.estimator))
        # Missing entries enter the network as the initial_strategy's values,
        # in the standardised units the network sees.
        fill = (self.statistics_[self._valid] - self.mean_[self._valid]) / self.scale_[
            self._valid]
        estimator.set_params(missing="nan", missing_fill=fill,
                             random_state=self.random_state)
        if self.max_iter is not None:
            estimator.set_params(max_iter=self.max_iter)
        with member_fit(), member_task(context, task, owner, estimator, V):
            self._train(estimator, V)
        return estimator

    @staticmethod
    def _fit_linear(V, missing, reconstruction, rng):
        """The ridge regression of each feature of V on the others, over V
        completed by the network's ``reconstruction``: ``(coef, intercept,
        penalty)``."""
        completed = np.where(missing, reconstruction, V)
        folds = rng.permutation(len(V)) % _RIDGE_FOLDS
        coef, intercept, penalty = _ridge_on_the_others(
            completed.astype(np.float64), ~missing, folds)
        return coef.astype(V.dtype), intercept.astype(V.dtype), penalty

    def _choose_share(self, V, rng, owner, context):
        """linear_share="auto": hide _HELD_OUT_SHARE of the observed entries,
        train a network and the regression without them, and return the share
        of _SHARES that fills them best (the first of equals; 0.5 when nothing
        could be held out). The network that imputes is trained afterwards on
        every entry: holding a tenth of the data out of it cost more than the
        share gained (arrhythmia at 10% missing: 0.789 against 0.758)."""
        held_out = ~np.isnan(V) & (rng.uniform(size=V.shape) < _HELD_OUT_SHARE)
        if not held_out.any():
            return 0.5
        trial = V.copy()
        trial[held_out] = np.nan
        network = self._fit_network(trial, owner, context, "share selection")
        missing = np.isnan(trial)
        reconstruction = network.inverse_transform(network.transform(trial))
        coef, intercept, _ = self._fit_linear(trial, missing, reconstruction, rng)
        errors = [np.sum((_linear_fill(trial, missing, reconstruction, coef, intercept,
                                       share)[held_out] - V[held_out]) ** 2)
                  for share in _SHARES]
        return float(_SHARES[int(np.argmin(errors))])

    @staticmethod
    def _train(estimator, V):
        """Train for the estimator's max_iter epochs, the last _DECAY_SHARE of
        them with a step size falling linearly towards zero (see Notes)."""
        total = estimator.max_iter
        decay = 0 if estimator.solver == "lbfgs" else round(_DECAY_SHARE * total)
        estimator.set_params(max_iter=total - decay)
        step = estimator.learning_rate_init
        try:
            estimator.fit(V)  # at least one epoch: decay < total
            for k in range(decay):
                # The step of epoch k of the decay: (decay - k) / decay of the
                # estimator's, the last one 1 / decay of it.
                estimator.set_params(learning_rate_init=step * (decay - k) / decay)
                estimator.partial_fit(V)
        finally:
            estimator.set_params(max_iter=total, learning_rate_init=step)

    def _statistics(self, X):
        """The initial_strategy statistic of each feature, NaN where empty."""
        stats = np.full(X.shape[1], np.nan)
        columns = np.flatnonzero(self._valid)
        imputer = SimpleImputer(strategy=self.initial_strategy,
                                fill_value=self.fill_value, keep_empty_features=True)
        stats[columns] = imputer.fit(X[:, columns]).statistics_
        return stats

    def _standardise(self, X):
        """The non-empty features of X, standardised, NaN where missing."""
        valid = self._valid
        return ((X[:, valid] - self.mean_[valid]) / self.scale_[valid]).astype(
            self._dtype, copy=False)

    # ------------------------------------------------------------ transform

    _fitted_attribute = "estimator_"
    _fitted_state_summary = ("n_features_in_, mean_, scale_, statistics_, "
                             "linear_coef_ and the network's width")

    @staticmethod
    def _fitted_state_agrees(state):
        """One statistic per input feature, one network input per kept
        feature, a finite, positive scaling, and a finite linear part over
        the kept features, if any (a model pickled before it had none)."""
        n_features = int(state["n_features_in_"])
        valid = np.asarray(state["_valid"])
        mean = np.asarray(state["mean_"], dtype=float)
        scale = np.asarray(state["scale_"], dtype=float)
        coef, intercept = state.get("linear_coef_"), state.get("linear_intercept_")
        share = state.get("linear_share_")
        kept = int(valid.sum())
        linear_agrees = (coef is None and intercept is None) or (
            np.shape(coef) == (kept, kept) and np.shape(intercept) == (kept,)
            and np.isfinite(coef).all() and np.isfinite(intercept).all()
            and 0 <= float(share) <= 1)
        return (
            linear_agrees and
            valid.dtype == bool and valid.shape == (n_features,)
            and mean.shape == scale.shape == (n_features,)
            and np.shape(state["statistics_"]) == (n_features,)
            and state["estimator_"]._n_features_fitted == kept
            and np.isfinite(mean).all() and np.isfinite(scale).all()
            and (scale > 0).all()
        )

    def transform(self, X):
        """Fill the missing entries of X with the autoencoder's reconstruction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries (``missing_values``).

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_out)
            X with every missing entry filled (observed entries untouched),
            without the empty features unless ``keep_empty_features``, then the
            indicator's columns with ``add_indicator``.
        """
        self._checked_fitted()
        X = self._missing_as_nan(X, reset=False)
        missing = np.isnan(X)
        flags = None if self.indicator_ is None else self.indicator_.transform(X)
        V = self._standardise(X)
        R = self.estimator_.inverse_transform(self.estimator_.transform(V))
        valid = self._valid
        if getattr(self, "linear_coef_", None) is not None:
            R = _linear_fill(V, missing[:, valid], R, self.linear_coef_,
                             self.linear_intercept_, self.linear_share_)
        filled = R * self.scale_[valid] + self.mean_[valid]
        out = X
        out[:, valid] = np.where(missing[:, valid], filled, X[:, valid])
        if self.keep_empty_features:
            empty_fill = self.fill_value if self.initial_strategy == "constant" else 0
            out[:, ~valid] = np.where(missing[:, ~valid], empty_fill, X[:, ~valid])
        else:
            out = out[:, valid]
        if flags is not None:
            out = np.hstack([out, flags.astype(out.dtype)])
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: the kept inputs, then the indicator's.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; None uses ``feature_names_in_`` or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        self._checked_fitted()
        names = _check_feature_names_in(self, input_features)
        out = names if self.keep_empty_features else names[self._valid]
        if self.indicator_ is not None:
            flagged = names[self.indicator_.features_]
            out = np.concatenate([out, np.array([f"missingindicator_{n}" for n in flagged],
                                                dtype=object)])
        return out
