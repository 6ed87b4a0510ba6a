"""OutlierDetector: outlier scores from how badly a model explains a sample.

An autoencoder trained on mostly normal data reconstructs normal samples well
and outliers badly; an RBM gives normal samples a low free energy. The
detector wraps either and follows scikit-learn's outlier detectors
(``IsolationForest``): ``score_samples`` (higher is more normal),
``decision_function`` = score - ``offset_``, ``predict`` +1 / -1 and
``contamination``. Trained on contaminated data, an autoencoder also learns
its outliers; an ensemble of small models on subsamples, each seeing only a
few of them, overfits them less (the remedy of Chen et al., 2017).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .._autoencoders.dense import AutoencoderTransformer
from .._autoencoders.base import BaseAutoencoder
from .._core.common import member_fit, transactional, validate_input
from .._core.training import CallbackSupportMixin, end_task, fit_task, member_task
from .._core.persistence import ConsistentStateMixin, VersionedStateMixin
from .._rbms.rbm import _BaseRBM

# Tukey's fence for contamination="auto": a sample whose score lies more than
# this many interquartile ranges below the lower quartile of the training
# scores is an outlier.
_FENCE = 1.5

# From this many features the default clones all have linear codes (see
# OutlierDetector._default_estimator), and an autoencoder clone scores by its
# own loss, not by errors scaled feature by feature (_feature_scales).
_WIDE_FEATURES = 64
# The percentile of a feature's squared errors over a clone's training rows
# that error_scaling="auto" divides them by.
_ERROR_PERCENTILE = 90


class OutlierDetector(CallbackSupportMixin, ConsistentStateMixin, VersionedStateMixin, OutlierMixin,
                      BaseEstimator):
    """Unsupervised outlier detection with autoencoders or RBMs.

    Fits ``n_estimators`` clones of ``estimator``, each on a random subsample
    of ``max_samples`` rows, and scores a sample by the mean over the clones
    of its standardised score: minus the reconstruction error for an
    autoencoder (see ``error_scaling``), minus the free energy for an RBM,
    each centred on the median and divided by the interquartile range of the
    clone's training scores, so that every clone counts alike.

    Parameters
    ----------
    estimator : skae autoencoder or RBM, or None, default=None
        The model to clone. None uses small single-layer autoencoders with
        the robust loss and early stopping, since the training data hold the
        outliers too: ``AutoencoderTransformer(loss="huber",
        early_stopping=True)`` with ``n_components=max(2, min(16, n_features
        // 4))``, the clones alternately with a sigmoid and a linear code;
        from 64 features, every clone with a linear code of ``min(32,
        n_features // 4)`` units.
    n_estimators : int, default=5
        Clones in the ensemble.
    max_samples : int, float or "auto", default="auto"
        Rows per clone: an int, a share of the rows (float in (0, 1]), or
        "auto" for min(n_samples, max(256, n_samples // 2)). Drawn without
        replacement.
    error_scaling : {"auto", "none"}, default="auto"
        How an autoencoder clone's reconstruction errors add up to its score.
        "auto": on data of fewer than 64 features, each feature's squared
        error is divided by its 90th percentile over the clone's training
        rows before the sum, so that a feature every sample reconstructs
        badly does not drown one that normal samples reconstruct well (a few
        features of large error otherwise decide every score); from 64
        features (images, wide data), and for clones that handle missing
        entries, the clone's own ``score_samples`` (minus its loss). "none":
        always the clone's own ``score_samples``. Chosen on half of the ODDS
        sets in ``benchmarks/bench_outliers.py --odds`` (mean ROC AUC 0.820
        against 0.786 there).
    contamination : "auto" or float, default="auto"
        The share of outliers expected in the training data, in (0, 0.5]:
        ``offset_`` is that quantile of the training scores. "auto" puts it at
        Tukey's fence, the lower quartile minus 1.5 interquartile ranges of the
        training scores.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsamples and the clones.

    Attributes
    ----------
    estimators_ : list of fitted estimators
    offset_ : float
        The threshold on ``score_samples``: ``decision_function`` is
        ``score_samples - offset_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)

    See Also
    --------
    sklearn.ensemble.IsolationForest : The same interface, with random trees.

    References
    ----------
    Chen, J., Sathe, S., Aggarwal, C. and Turaga, D. (2017). Outlier detection
    with autoencoder ensembles. SDM.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import OutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8)) / np.sqrt(8)
    >>> X[:5] += 4 * rng.choice([-1, 1], size=(5, 8))
    >>> detector = OutlierDetector(random_state=0).fit(X)
    >>> scores = detector.score_samples(X)
    >>> bool(scores[:5].max() < np.median(scores))
    True
    >>> detector.predict(X[:5]).tolist()
    [-1, -1, -1, -1, -1]
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"),
                        Interval(Real, 0, 1, closed="right")],
        "error_scaling": [StrOptions({"auto", "none"})],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, n_estimators=5, max_samples="auto",
                 error_scaling="auto", contamination="auto", random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.error_scaling = error_scaling
        self.contamination = contamination
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @staticmethod
    def _default_estimator(n_features, index):
        """Clone ``index`` of the default ensemble: small codes, the robust
        loss and early stopping. Linear codes score images better, sigmoid
        codes narrow tabular sets, so narrow data get both, alternately (the
        trials: benchmarks/bench_outliers.py and doc/user_guide.md)."""
        wide = n_features >= _WIDE_FEATURES
        # The single-layer sigmoid network the trials above chose, written out
        # in full: the autoencoders' own defaults are chosen for features and
        # reconstruction, not for this ensemble.
        return AutoencoderTransformer(
            n_components=max(2, min(32 if wide else 16, n_features // 4)), loss="huber",
            hidden_layer_sizes=(), activation="sigmoid",
            code_activation="identity" if wide or index % 2 else "sigmoid",
            init="random", early_stopping=True, max_iter=200, n_iter_no_change=10,
            tol=1e-3,
        )

    def _n_rows(self, n_samples):
        if self.max_samples == "auto":
            return min(n_samples, max(256, n_samples // 2))
        if isinstance(self.max_samples, Integral):
            return min(n_samples, self.max_samples)
        return max(1, int(self.max_samples * n_samples))

    def _scales_errors(self, estimator, n_features):
        """Whether a clone's score is its feature-scaled squared errors."""
        return (self.error_scaling == "auto" and n_features < _WIDE_FEATURES
                and isinstance(estimator, BaseAutoencoder) and not estimator._missing)

    @staticmethod
    def _squared_errors(estimator, X):
        """(n_samples, n_features) squared reconstruction errors, in float64."""
        X = X.toarray() if hasattr(X, "toarray") else X
        rebuilt = estimator.inverse_transform(estimator.transform(X))
        return (np.asarray(X, dtype=np.float64) - rebuilt) ** 2

    @staticmethod
    def _feature_scales(errors):
        """Each feature's _ERROR_PERCENTILE-th percentile of squared errors,
        floored at a millionth of the largest, so that a feature every
        training row rebuilds exactly (a constant one) stays finite."""
        scales = np.percentile(errors, _ERROR_PERCENTILE, axis=0)
        top = scales.max()
        return np.maximum(scales, 1e-6 * top) if top > 0 else np.ones_like(scales)

    @classmethod
    def _raw_scores(cls, estimator, X, error_scales=None):
        """Higher is more normal: minus the feature-scaled squared errors
        (error_scales given), minus the loss, or minus the free energy."""
        if isinstance(estimator, _BaseRBM):
            return -estimator.free_energy(X)
        if error_scales is not None:
            return -(cls._squared_errors(estimator, X) / error_scales).sum(axis=1)
        return estimator.score_samples(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the ensemble on X (which may hold outliers) and set ``offset_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        if self.estimator is not None and not isinstance(
                self.estimator, (BaseAutoencoder, _BaseRBM)):
            raise TypeError(
                "OutlierDetector wraps a skae autoencoder or RBM (it scores by "
                "reconstruction loss or free energy); got "
                f"{type(self.estimator).__name__}. For other models use "
                "sklearn.ensemble.IsolationForest or LocalOutlierFactor."
            )

        owner = self
        context = fit_task(owner, X, self.n_estimators)

        def run(self):  # the shadow that transactional publishes
            data = validate_input(self, X, reset=True, dtype=[np.float64, np.float32])
            n_samples = data.shape[0]
            if n_samples < 2:
                raise ValueError("OutlierDetector needs at least 2 samples; got "
                                 f"n_samples={n_samples}.")
            rng = check_random_state(self.random_state)
            size = self._n_rows(n_samples)
            self.estimators_, self._centres, self._scales = [], [], []
            self._error_scales = []
            for index in range(self.n_estimators):
                rows = np.sort(rng.choice(n_samples, size, replace=False))
                estimator = (self._default_estimator(data.shape[1], index)
                             if self.estimator is None else clone(self.estimator))
                estimator.set_params(random_state=rng.randint(2**31))
                with member_fit(), member_task(context, f"member {index}", owner,
                                               estimator, data[rows]):
                    try:
                        estimator.fit(data[rows])
                    except ValueError as error:
                        raise ValueError(
                            f"OutlierDetector fits each clone on {size} of the "
                            f"{n_samples} rows (max_samples={self.max_samples!r}), and "
                            f"clone {index} failed: {error} If the subsample is too "
                            "small, raise max_samples."
                        ) from error
                error_scales = None
                if self._scales_errors(estimator, data.shape[1]):
                    error_scales = self._feature_scales(
                        self._squared_errors(estimator, data[rows]))
                raw = self._raw_scores(estimator, data, error_scales)
                low, centre, high = np.percentile(raw, [25, 50, 75])
                self.estimators_.append(estimator)
                self._error_scales.append(error_scales)
                self._centres.append(centre)
                self._scales.append(high - low if high > low else 1.0)
            scores = self._ensemble_scores(data)
            if self.contamination == "auto":
                low, high = np.percentile(scores, [25, 75])
                self.offset_ = float(low - _FENCE * (high - low))
            else:
                self.offset_ = float(np.percentile(scores, 100 * self.contamination))

        # run assigns every fitted attribute anew, so the shadow needs no
        # copies; an interrupted clone leaves the whole ensemble as it was.
        transactional(self, (), run, keep_interrupted=False)
        end_task(owner, context, X, owner)
        return owner

    _fitted_attribute = "estimators_"
    _fitted_state_summary = "clones, their scales, n_features_in_, offset_"

    @staticmethod
    def _fitted_state_agrees(state):
        """The clones, their centres, scales and error scales match one to one,
        the error scales one positive number a feature, and the threshold is a
        finite number."""
        clones = list(state["estimators_"])
        n_features = int(state["n_features_in_"])
        error_scales = list(state.get("_error_scales", [None] * len(clones)))
        return (
            len(clones) >= 1
            and len(state["_centres"]) == len(state["_scales"]) == len(clones)
            and len(error_scales) == len(clones)
            and all(s is None or (np.shape(s) == (n_features,)
                                  and (np.asarray(s, dtype=float) > 0).all()
                                  and np.isfinite(np.asarray(s, dtype=float)).all())
                    for s in error_scales)
            and all(c._n_features_fitted == n_features for c in clones)
            and np.isfinite(np.asarray(state["_centres"], dtype=float)).all()
            and (np.asarray(state["_scales"], dtype=float) > 0).all()
            and np.isfinite(float(state["offset_"]))
        )

    def _ensemble_scores(self, X):
        total = np.zeros(X.shape[0])
        # A detector pickled before error_scaling scores by the clones' losses.
        error_scales = getattr(self, "_error_scales", [None] * len(self.estimators_))
        for estimator, centre, scale, errors in zip(self.estimators_, self._centres,
                                                    self._scales, error_scales):
            total += (self._raw_scores(estimator, X, errors) - centre) / scale
        return total / len(self.estimators_)

    def score_samples(self, X):
        """The normality of each sample: higher is more normal.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The clones' mean standardised score (0 is a typical training
            sample; -1 is one interquartile range worse).
        """
        self._checked_fitted()
        X = validate_input(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._ensemble_scores(X)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return np.where(self.decision_function(X) >= 0, 1, -1)
