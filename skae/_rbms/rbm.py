"""Restricted Boltzmann machines: BernoulliRBM and GaussianBernoulliRBM.

``BernoulliRBM`` is a drop-in replacement for
:class:`sklearn.neural_network.BernoulliRBM`: the same parameters, defaults,
fitted attributes, methods and verbose output, with training in compiled
kernels (:mod:`skae._kernels._rbm`), plus CD-k/PCD-k, fast persistent
contrastive divergence and parallel tempering (``sampler``), momentum, weight
decay, ``inverse_transform``, ``sample``, ``free_energy`` and log-likelihoods
by annealed importance sampling.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array

from .._core.common import (
    MeanScoreMixin,
    check_count,
    check_fitted,
    check_fitted_width,
    check_integer_params,
    check_unit_interval,
    chunk_rows,
    inference_threads,
    kernel_input,
    plain_rows,
    row_hashes,
    single_threaded_blas,
    transactional,
    validate_input,
)
from .._kernels import _rbm
from .._kernels.runtime.record import ThreadRecord
from .._core.persistence import VersionedStateMixin
from .._core.training import (
    DIVERGENCE_FACTOR, CallbackSupportMixin, EpochLoop, diverged, end_task, fit_task,
)

# FPCD's fast weights lose this share of themselves at every update: 19/20
# kept, as Tieleman and Hinton (2009).
_FAST_DECAY = 0.95
# Centering's hidden offsets slide towards the data's mean P(h | v) at this
# rate per update (Melchior, Fischer and Wiskott, 2016, use 0.01).
_OFFSET_RATE = 0.01

# Rows of the training data kept to watch for divergence.
_REFERENCE_ROWS = 256
# A pass after which the mean reconstruction error of the reference rows exceeds
# DIVERGENCE_FACTOR times the initial model's has diverged. Bernoulli visible
# units bound the error (by n_features, about 4 times the initial model's), so
# only unbounded (Gaussian) units can reach it.
# A hidden unit is dead (see _collapsed) when its probability stays within
# _SATURATED of 0 or of 1 over the reference rows (numerically off or on), or
# varies by no more than _CONSTANT_SPREAD (far below what initial weights of
# scale 0.01 give).
_SATURATED = 1e-6
_CONSTANT_SPREAD = 1e-9
# ... judged only on reference rows of which some feature has at least this
# standard deviation: rows that are all alike cannot tell a dead unit.
_DIVERSE_STD = 1e-3


class _BaseRBM(
    CallbackSupportMixin, VersionedStateMixin, MeanScoreMixin,
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator,
):
    """What Bernoulli and Gaussian visible units share; not for direct use."""

    # The units of each layer; subclasses set them.
    _visible = "bernoulli"
    _hidden = "bernoulli"
    # What score_samples computes, for the verbose line.
    _score_name = "pseudo-likelihood"
    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "k": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "initial_momentum": [Interval(Real, 0, 1, closed="left"), None],
        "momentum_warmup": [Interval(Integral, 0, None, closed="left")],
        "learning_rate_decay": [Interval(Real, 0, None, closed="left")],
        "k_final": [Interval(Integral, 1, None, closed="left"), None],
        "sampler": [StrOptions(set(_rbm.SAMPLERS))],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "n_temperatures": [Interval(Integral, 2, None, closed="left")],
        "fast_learning_rate": [Interval(Real, 0, None, closed="left"), None],
        "centering": ["boolean"],
    }

    def __init__(self, n_components, learning_rate, batch_size, n_iter, verbose,
                 random_state, k, persistent, momentum, weight_decay,
                 initial_momentum, momentum_warmup, learning_rate_decay, k_final,
                 sampler, n_chains, n_temperatures, fast_learning_rate, centering):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.initial_momentum = initial_momentum
        self.momentum_warmup = momentum_warmup
        self.learning_rate_decay = learning_rate_decay
        self.k_final = k_final
        self.sampler = sampler
        self.n_chains = n_chains
        self.n_temperatures = n_temperatures
        self.fast_learning_rate = fast_learning_rate
        self.centering = centering

    # ------------------------------------------------------------------ checks

    def _validated(self, X, *, reset=False, for_training=False, accept_sparse="csr",
                   copy=False):
        """validate_data in the model's dtype; training data of Bernoulli visible
        units must lie in [0, 1]. Every method validates its input here."""
        if not reset:
            check_fitted_width(self)
        dtype = [np.float64, np.float32] if reset else self._weights()[0].dtype
        X = validate_input(self, X, accept_sparse=accept_sparse, dtype=dtype,
                           reset=reset, copy=copy)
        if for_training and self._visible == "bernoulli":
            check_unit_interval(X, type(self).__name__)
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self._weights()[0].shape[0]

    @property
    def _n_features_fitted(self):
        # The fitted visible width (inverse_transform's output).
        return self._weights()[0].shape[1]

    def __sklearn_is_fitted__(self):
        # Not "any attribute ending in _": a user may assign n_features_in_.
        return hasattr(self, "components_")

    # ---------------------------------------------------------------- training

    # The attributes that fit and partial_fit may change (see _transactional).
    _state_attributes = (
        "components_", "intercept_hidden_", "intercept_visible_", "h_samples_",
        "_velocity", "_fast_weights", "_offsets", "_bit_generator", "_score_seed",
        "_data_mean", "_n_seen", "_reference", "_initial_error", "n_features_in_", "feature_names_in_",
    )

    def _check_params(self):
        check_integer_params(self, ("n_components", "batch_size", "n_iter", "k",
                                    "random_state", "momentum_warmup", "k_final",
                                    "n_chains", "n_temperatures"))
        if self.sampler != "gibbs" and not self.persistent:
            raise ValueError(
                f"sampler={self.sampler!r} runs persistent chains, but persistent=False "
                "asks for chains restarted from the data (CD-k); set persistent=True, "
                "or sampler='gibbs' for CD-k."
            )
        if self.sampler == "pt" and (self._visible, self._hidden) != ("bernoulli",
                                                                      "bernoulli"):
            raise ValueError(
                f"sampler='pt' (parallel tempering) needs binary units on both layers; "
                f"{type(self).__name__} has {self._visible} visible and {self._hidden} "
                "hidden units. Use sampler='gibbs' or 'fpcd'."
            )

    def _initialize(self, X):
        for name in ("_bit_generator", "h_samples_", "_velocity", "_fast_weights",
                     "_offsets", "_data_mean", "_reference"):
            self.__dict__.pop(name, None)
        generator = np.random.Generator(self._random_stream())
        n_features = X.shape[1]
        self.components_ = generator.normal(
            0, 0.01, (self.n_components, n_features)
        ).astype(X.dtype)
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=X.dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=X.dtype)
        self._training_state(X)

    def _random_stream(self):
        """The estimator's bit generator, seeded from random_state the first
        time (fit seeds afresh; weights assigned by a user come without one)."""
        if not hasattr(self, "_bit_generator"):
            seeds = check_random_state(self.random_state).randint(0, 2**32, size=5)
            self._bit_generator = np.random.PCG64(seeds[:4].tolist())
            self._score_seed = int(seeds[4])
        return self._bit_generator

    def _config(self, epoch=None):
        """The kernel's configuration for pass ``epoch`` (0-based) of fit, its
        schedules applied; None (partial_fit) is the parameters as given."""
        return {
            "visible": _rbm.UNITS[self._visible],
            "hidden": _rbm.UNITS[self._hidden],
            "k": self._scheduled_k(epoch),
            "persistent": bool(self.persistent),
            "learning_rate": self._scheduled_learning_rate(epoch),
            "momentum": self._scheduled_momentum(epoch),
            "weight_decay": float(self.weight_decay),
            "sampler": _rbm.SAMPLERS[self.sampler],
            "n_temperatures": self._n_temperatures(),
            "fast_learning_rate": float(self.learning_rate
                                        if self.fast_learning_rate is None
                                        else self.fast_learning_rate),
            "fast_decay": _FAST_DECAY,
            "centering": bool(self.centering),
            "offset_rate": _OFFSET_RATE,
        }

    def _n_temperatures(self):
        """Temperature blocks of the chains: n_temperatures for tempering."""
        return int(self.n_temperatures) if self.sampler == "pt" else 1

    def _chain_rows(self, existing):
        """Rows h_samples_ needs, given the rows it has (None: no chains yet):
        n_chains per temperature (None: batch_size), times the temperatures.
        Without tempering and without n_chains, existing chains keep their
        count, as scikit-learn's do when batch_size changes."""
        if self.n_chains is None and self.sampler != "pt" and existing is not None:
            return existing
        per_temperature = self.batch_size if self.n_chains is None else self.n_chains
        return int(per_temperature) * self._n_temperatures()

    def _scheduled_learning_rate(self, epoch):
        """``learning_rate / (1 + learning_rate_decay * epoch)``."""
        if epoch is None:
            return float(self.learning_rate)
        return float(self.learning_rate) / (1 + float(self.learning_rate_decay) * epoch)

    def _scheduled_momentum(self, epoch):
        """``initial_momentum`` for the first ``momentum_warmup`` passes, then
        ``momentum`` (Hinton's practical guide: 0.5, then 0.9)."""
        if (epoch is not None and self.initial_momentum is not None
                and epoch < self.momentum_warmup):
            return float(self.initial_momentum)
        return float(self.momentum)

    def _scheduled_k(self, epoch):
        """k rising linearly to k_final over the n_iter passes: ``k +
        floor((k_final - k) * epoch / (n_iter - 1))``."""
        if epoch is None or self.k_final is None:
            return int(self.k)
        span = max(int(self.n_iter) - 1, 1)
        return int(self.k) + (int(self.k_final) - int(self.k)) * min(epoch, span) // span

    def _weights(self):
        """components_ and the biases as C-contiguous arrays in the model's dtype
        (views when they already are: users may assign their own, e.g.
        scikit-learn's Fortran-ordered components_).

        The model's sizes and dtype are those of components_; biases of other
        lengths, or a components_ that is not a 2-D float array, are a
        ValueError, never a kernel call.
        """
        W = np.asarray(self.components_)
        if W.ndim != 2 or W.size == 0 or W.dtype.kind not in "fiub":
            raise ValueError(
                f"components_ must be a non-empty 2-D float array; got shape {W.shape} "
                f"and dtype {W.dtype}."
            )
        dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.float64
        n_hidden, n_visible = W.shape
        weights = [np.ascontiguousarray(W, dtype=dtype)]
        for name, size in (("intercept_hidden_", n_hidden),
                           ("intercept_visible_", n_visible)):
            if not hasattr(self, name):
                raise ValueError(
                    f"The model has components_ but no {name}: assign all of "
                    "components_, intercept_hidden_ and intercept_visible_."
                )
            bias = np.ascontiguousarray(getattr(self, name), dtype=dtype)
            if bias.shape != (size,):
                raise ValueError(
                    f"{name} has shape {bias.shape}, but components_ of shape "
                    f"{W.shape} needs ({size},). Assign fitted attributes that agree."
                )
            weights.append(bias)
        return tuple(weights)

    def _training_state(self, X):
        """Make the trained attributes contiguous in the model's dtype, once,
        since the kernel updates them in place, and fill in what weights
        assigned by a user come without: chains at zero, momentum from zero,
        the running data mean and the rows that watch for divergence from X."""
        self.components_, self.intercept_hidden_, self.intercept_visible_ = (
            self._weights()
        )
        n_hidden, n_visible = self.components_.shape
        dtype = self.components_.dtype
        if n_visible != X.shape[1]:
            raise ValueError(
                f"components_ has {n_visible} visible units but X has {X.shape[1]} "
                "features."
            )
        self._random_stream()
        # Weights of another width assigned since: the data mean and the
        # reference rows describe the old visible units.
        if getattr(self, "_data_mean", np.zeros(n_visible)).shape != (n_visible,):
            del self._data_mean
        reference = getattr(self, "_reference", None)
        if reference is not None and (reference.shape[1] != n_visible
                                      or reference.dtype != dtype):
            del self._reference
        if not hasattr(self, "_data_mean"):
            self._data_mean = np.zeros(n_visible)
            self._n_seen = 0
        if not hasattr(self, "_reference"):
            # A few rows to watch for divergence (see _check_divergence).
            self._reference = X[:_REFERENCE_ROWS].copy()
            self._initial_error = 0.0
            if self._visible == "gaussian":
                self._initial_error = self._reconstruction_error(self._reference)
        if not hasattr(self, "h_samples_"):
            self.h_samples_ = np.zeros((self._chain_rows(None), n_hidden), dtype=dtype)
        chains = np.ascontiguousarray(self.h_samples_, dtype=dtype)
        if chains.ndim != 2 or chains.shape[0] < 1 or chains.shape[1] != n_hidden:
            raise ValueError(
                f"h_samples_ has shape {chains.shape}, but components_ of shape "
                f"{self.components_.shape} needs (n_chains, {n_hidden})."
            )
        rows = self._chain_rows(chains.shape[0])
        if chains.shape[0] != rows:
            # Another number of chains or temperatures since: new chains, at
            # zero as the first fit's.
            chains = np.zeros((rows, n_hidden), dtype=dtype)
        self.h_samples_ = chains
        size = n_hidden * n_visible + n_hidden + n_visible
        velocity = getattr(self, "_velocity", None)
        if velocity is None or velocity.shape != (size,) or velocity.dtype != dtype:
            self._velocity = np.zeros(size, dtype=dtype)
        fast = getattr(self, "_fast_weights", None)
        if fast is None or fast.shape != (size,) or fast.dtype != dtype:
            self._fast_weights = np.zeros(size, dtype=dtype)
        offsets = getattr(self, "_offsets", None)
        if (offsets is None or offsets.shape != (n_visible + n_hidden,)
                or offsets.dtype != dtype):
            # Centering's offsets: the visible ones at the mean of the first
            # data trained on, the hidden ones at 1/2 (then sliding).
            mean = np.asarray(X.mean(axis=0), dtype=dtype).ravel()
            self._offsets = np.concatenate([mean, np.full(n_hidden, 0.5, dtype=dtype)])

    def _pass_runner(self, X, batch_size):
        """run_pass for the training loop (skae/_core/training.py): one compiled pass
        over X[rows] (epoch: its index in fit, for the schedules; None for
        partial_fit); raises ValueError if it diverged."""
        # How the kernel chooses its thread count, kept across this fit's passes.
        threads = ThreadRecord()

        def run_pass(X, rows, epoch):
            self._training_state(X)
            n_neg = self.h_samples_.shape[0] if self.persistent else batch_size
            config = self._config(epoch)
            work = np.empty(
                _rbm.workspace_size(X.shape[1], self.components_.shape[0], batch_size,
                                    n_neg, config["sampler"]),
                dtype=self.components_.dtype,
            )
            with single_threaded_blas():
                finite = _rbm.train_pass(
                    *kernel_input(X), rows, batch_size, self.components_,
                    self.intercept_hidden_, self.intercept_visible_, self.h_samples_,
                    self._velocity, self._fast_weights, self._offsets, config,
                    self._bit_generator, work, threads,
                )
            self._check_divergence(finite)
            # Running mean of the data seen (every call passes all of X's rows),
            # for the base rates of annealed importance sampling.
            total = np.asarray(X.sum(axis=0, dtype=np.float64)).ravel()
            n = self._n_seen + X.shape[0]
            self._data_mean = (self._n_seen * self._data_mean + total) / n
            self._n_seen = n

        return run_pass

    def _epoch_line(self, X):
        """The verbose line of scikit-learn's BernoulliRBM after pass epoch."""
        def line(epoch, loss, seconds):
            return "[%s] Iteration %d, %s = %.2f, time = %.2fs" % (
                type(self).__name__, epoch + 1, self._score_name,
                self.score_samples(X).mean(), seconds)
        return line

    def _train(self, X, n_passes, batch_size, owner, context, incremental):
        """n_passes passes over X through the one training loop."""
        loop = EpochLoop(self, X, self._pass_runner(X, batch_size), self._epoch_line(X),
                         owner=owner, context=context,
                         rows=np.arange(X.shape[0], dtype=np.intp))
        if incremental:
            # partial_fit: the parameters as given, no schedule (epoch None).
            runner = loop.run_pass
            loop.run_pass = lambda X, rows, epoch: runner(X, rows, None)
        loop.run(n_passes)

    def _reconstruction_error(self, X):
        """Mean over rows of the squared error of E[v | P(h|v)], in float64."""
        recon = self.inverse_transform(self._evaluate(X, "hidden_probabilities"))
        dense = X.toarray() if sp.issparse(X) else X
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.mean(((recon - dense).astype(np.float64) ** 2).sum(axis=1)))

    def _collapsed(self):
        """Whether every (Bernoulli) hidden unit of a BernoulliRBM is dead on the
        reference rows: off (or on) for all of them, within _SATURATED of 0
        (or 1), or giving all of them one probability. A step size far too
        large does that (BernoulliRBM(learning_rate=10) on load_digits), and
        transform then returns one code for every row. The bound is tight on
        purpose: early in training on MNIST every unit of a 16-unit RBM can sit
        at 0.998 to 1 for every row and still train as scikit-learn's does."""
        rows = self._reference
        # Gaussian visible units have their own watch (the reconstruction
        # error): on unscaled data their hidden units saturate from the start.
        if (self._visible != "bernoulli" or self._hidden != "bernoulli" or rows is None
                or rows.shape[0] < 2):
            # Gaussian hidden units (a StackedAE's linear code) are means, not
            # probabilities: never "off" or "on".
            return False
        dense = rows.toarray() if sp.issparse(rows) else rows
        if not dense.std(axis=0).max() > _DIVERSE_STD:
            # Rows (nearly) all alike, as a StackedAE's saturated codes can be.
            return False
        H = self._evaluate(rows, "hidden_probabilities").astype(np.float64)
        off = H.max(axis=0) < _SATURATED
        on = H.min(axis=0) > 1 - _SATURATED
        constant = np.ptp(H, axis=0) <= _CONSTANT_SPREAD
        return bool((off | on | constant).all())

    def _check_divergence(self, finite):
        """Raise ValueError (the caller rolls back) if the pass made the weights
        non-finite or the reconstruction error of the reference rows grow past
        DIVERGENCE_FACTOR times the initial model's."""
        what = None
        if not finite or not np.isfinite(self.components_).all():
            what = "the parameters became non-finite"
        elif self._collapsed():
            what = ("every hidden unit is now off, on, or constant for every row, so "
                    "transform would return one code for all of them")
        elif self._visible == "gaussian" and self._initial_error > 0:
            error = self._reconstruction_error(self._reference)
            if not error <= DIVERGENCE_FACTOR * self._initial_error:
                what = (
                    f"the reconstruction error grew to {error:.4g}, more than "
                    f"{DIVERGENCE_FACTOR:g} times the initial model's "
                    f"({self._initial_error:.4g})"
                )
        if what is not None:
            raise diverged(None, what, f"Lower learning_rate (now {self.learning_rate})"
                           + (" or standardise X" if self._visible == "gaussian" else "")
                           + ".")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to X, ``n_iter`` passes in minibatches of ``batch_size``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (in [0, 1] for Bernoulli visible units).
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted model.
        """

        self._check_params()

        owner = self
        context = fit_task(owner, X, self.n_iter)

        def run(self):  # the shadow that transactional publishes
            data = self._validated(X, reset=True, for_training=True)
            self._initialize(data)
            self._train(data, self.n_iter, min(self.batch_size, data.shape[0]), owner,
                        context, incremental=False)

        transactional(self, self._state_attributes, run)
        end_task(owner, context, X, owner)
        return owner


    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One update with X as the minibatch, as scikit-learn's BernoulliRBM.

        The first call initialises the model and its persistent chains
        (``n_chains``, or ``batch_size``, per temperature), which later calls
        continue.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted model.
        """

        self._check_params()

        owner = self
        context = fit_task(owner, X, 1)

        def run(self):  # the shadow that transactional publishes
            first = not hasattr(self, "components_")
            data = self._validated(X, reset=first, for_training=True)
            if first:
                self._initialize(data)
            elif self._weights()[0].shape[0] != self.n_components:
                raise ValueError(
                    f"n_components is {self.n_components}, but the fitted model has "
                    f"{self._weights()[0].shape[0]} hidden units; call fit to train a "
                    "new model (partial_fit continues the fitted one)."
                )
            self._train(data, 1, data.shape[0], owner, context, incremental=True)

        transactional(self, self._state_attributes, run)
        end_task(owner, context, X, owner)
        return owner


    # --------------------------------------------------------------- inference

    def _evaluate(self, X, what, flip=None):
        weights = self._weights()
        n = X.shape[0]
        width = weights[0].shape[0] if what == "hidden_probabilities" else 1
        out = np.empty((n, width), dtype=weights[0].dtype)
        if n == 0:
            return out
        if flip is None:
            flip = np.zeros(n, dtype=np.intp)
        with inference_threads(self) as threads:
            _rbm.evaluate(
                *kernel_input(X), n, *weights, _rbm.UNITS[self._visible],
                _rbm.UNITS[self._hidden], _rbm.EVALUATIONS[what], flip, out,
                self._chunk(n), threads,
            )
        return out

    def _chunk(self, n_rows):
        """Rows per chunk of an inference call: each chunk is a step of the
        kernel's choice of thread count (runtime/threads.pxd), which needs
        several a call, and its scratch (a row's hidden and visible units)
        stays within scikit-learn's working_memory (chunk_rows). Results do
        not depend on it: rows are independent, each with its own stream."""
        W = self._weights()[0]
        return chunk_rows(W.itemsize * (W.shape[0] + W.shape[1]), max(n_rows, 1))

    def transform(self, X):
        """Hidden layer activation probabilities, P(h=1|v=X).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to be transformed.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Latent representations of the data, in the model's dtype.
        """
        check_fitted(self)
        X = self._validated(X)
        return self._evaluate(X, "hidden_probabilities")

    def inverse_transform(self, X):
        """Visible expectations given hidden states or probabilities: E[v|h=X].

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Hidden states or probabilities, for example from ``transform``.

        Returns
        -------
        v : ndarray of shape (n_samples, n_features)
            P(v=1|h) for Bernoulli visible units, the Gaussian means otherwise.
        """
        check_fitted(self)
        W, _, b_v = self._weights()
        H = X if plain_rows(X, W.dtype, W.shape[0]) else check_array(
            X, dtype=W.dtype, order="C")
        if H.shape[1] != W.shape[0]:
            raise ValueError(
                f"X has {H.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {W.shape[0]} features (the fitted "
                "number of components) as input."
            )
        out = np.empty((H.shape[0], W.shape[1]), W.dtype)
        with inference_threads(self) as threads:
            _rbm.visible_expectations(H, W, b_v, _rbm.UNITS[self._visible], out,
                                      self._chunk(H.shape[0]), threads)
        return out

    def free_energy(self, X):
        """The free energy F(v) of each sample: p(v) = exp(-F(v)) / Z.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible states.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
        """
        check_fitted(self)
        X = self._validated(X)
        return self._evaluate(X, "free_energy")[:, 0]

    def gibbs(self, v):
        """Perform one Gibbs sampling step: h ~ P(h|v), then v ~ P(v|h).

        Parameters
        ----------
        v : ndarray of shape (n_samples, n_features)
            Values of the visible layer to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Values of the visible layer after one Gibbs step, in the model's
            dtype (scikit-learn's BernoulliRBM returns them as bools).
        """
        check_fitted(self)
        V = self._validated(v, accept_sparse=False, copy=True)
        return self._gibbs(V, 1)

    def _gibbs(self, V, n_steps):
        with inference_threads(self) as threads:
            _rbm.gibbs_chain(V, n_steps, *self._weights(), _rbm.UNITS[self._visible],
                             _rbm.UNITS[self._hidden], self._random_stream(), threads,
                             self._chunk(V.shape[0]))
        return V

    def sample(self, n_samples=1, n_steps=1000):
        """Draw samples from the model by running independent Gibbs chains.

        Each chain starts from the visible biases' own distribution (Bernoulli
        of sigmoid(b_v), or N(b_v, 1)) and runs ``n_steps`` steps of block Gibbs
        sampling; draws come from the estimator's random stream.

        Parameters
        ----------
        n_samples : int, default=1
            Number of chains, hence of samples.
        n_steps : int, default=1000
            Gibbs steps per chain.

        Returns
        -------
        v : ndarray of shape (n_samples, n_features)
            The chains' final visible states.
        """
        check_fitted(self)
        n_samples = check_count(n_samples, "n_samples", 1)
        n_steps = check_count(n_steps, "n_steps", 0)
        generator = np.random.Generator(self._random_stream())
        b_v = self._weights()[2].astype(np.float64)
        if self._visible == "bernoulli":
            V = generator.uniform(size=(n_samples, b_v.size)) < expit(b_v)
        else:
            V = b_v + generator.standard_normal((n_samples, b_v.size))
        return self._gibbs(np.ascontiguousarray(V, dtype=self._weights()[0].dtype),
                           n_steps)

    # ---------------------------------------------- annealed importance sampling

    def log_partition_function(self, n_runs=100, n_betas=10000, random_state=None):
        """Estimate log Z by annealed importance sampling (AIS).

        Anneals from a base-rate model (no weights; visible biases from the mean
        of the training data) to this model through ``n_betas`` intermediate
        distributions, with ``n_runs`` independent runs (Salakhutdinov and
        Murray, 2008). The estimate is unbiased for Z, so slightly biased low
        for log Z; more betas tighten it.

        Parameters
        ----------
        n_runs : int, default=100
            Number of AIS runs.
        n_betas : int, default=10000
            Number of inverse temperatures from 0 to 1.
        random_state : int, RandomState instance or None, default=None
            Seeds the runs; None draws from the estimator's random stream.

        Returns
        -------
        log_z : float
            The estimate of log Z.
        """
        check_fitted(self)
        n_runs = check_count(n_runs, "n_runs", 1)
        n_betas = check_count(n_betas, "n_betas (the first is 0, the last 1)", 2)
        if random_state is None:
            generator = np.random.Generator(self._random_stream())
        else:
            generator = np.random.default_rng(
                check_random_state(random_state).randint(0, 2**32, size=4)
            )
        W, b_h, b_v = (w.astype(np.float64) for w in self._weights())
        return _ais_log_partition(
            W, b_h, b_v, self._base_visible_bias(),
            self._visible, self._hidden, n_runs, np.linspace(0, 1, n_betas), generator,
        )

    def _base_visible_bias(self):
        visible_bias = self._weights()[2].astype(np.float64)
        data_mean = getattr(self, "_data_mean", None)
        if (getattr(self, "_n_seen", 0) == 0 or data_mean is None
                or data_mean.shape != visible_bias.shape):
            # No data seen, or weights of another width assigned by a user
            # since: the model's own visible biases make the base-rate model.
            return visible_bias
        if self._visible == "bernoulli":
            mean = np.clip(self._data_mean, 1e-3, 1 - 1e-3)
            return np.log(mean) - np.log1p(-mean)
        return self._data_mean.copy()

    def log_likelihood(self, X, log_z=None, **ais_params):
        """Log-likelihood of each sample, log p(v) = -F(v) - log Z.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible states.
        log_z : float or None, default=None
            log Z, if known (for example from ``log_partition_function``);
            None estimates it by AIS with ``ais_params``.
        **ais_params : dict
            Passed to ``log_partition_function``.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        if log_z is None:
            log_z = self.log_partition_function(**ais_params)
        return -self.free_energy(X).astype(np.float64) - log_z


def _ais_log_partition(W, b_h, b_v, base, visible, hidden, n_runs, betas, generator):
    """AIS estimate of log Z for an RBM (float64, NumPy).

    The intermediate models scale the weights and hidden biases by beta and
    blend the visible biases from a = base to b_v, so with the hidden units
    summed out p_beta(v) ~ exp(v.((1 - beta) a + beta b_v)) prod_j
    (1 + exp(beta (W v + b_h)_j)), times exp(-|v|^2 / 2) for Gaussian visible
    units; Gaussian hidden units give exp(beta^2 |W v + b_h|^2 / 2) in place of
    the product. p_0 factorises and p_1 is the model.
    """
    n_hidden, n_visible = W.shape
    gaussian = visible == "gaussian"
    gaussian_hidden = hidden == "gaussian"

    def log_p(V, act, beta):
        lin = V @ ((1 - beta) * base + beta * b_v)
        if gaussian_hidden:
            out = lin + 0.5 * ((beta * act) ** 2).sum(axis=1)
        else:
            out = lin + np.logaddexp(0, beta * act).sum(axis=1)
        if gaussian:
            out -= 0.5 * (V**2).sum(axis=1)
        return out

    # Summing out the hidden units of p_0 (no weights) gives this factor.
    log_z0 = 0.5 * n_hidden * np.log(2 * np.pi) if gaussian_hidden else n_hidden * np.log(2)

    if gaussian:
        V = base + generator.standard_normal((n_runs, n_visible))
        log_z0 += 0.5 * n_visible * np.log(2 * np.pi) + 0.5 * base @ base
    else:
        V = (generator.uniform(size=(n_runs, n_visible)) < expit(base)).astype(float)
        log_z0 += np.logaddexp(0, base).sum()
    log_w = np.zeros(n_runs)
    for prev, beta in zip(betas[:-1], betas[1:]):
        act = V @ W.T + b_h
        log_w += log_p(V, act, beta) - log_p(V, act, prev)
        # One Gibbs transition leaving p_beta invariant.
        if gaussian_hidden:
            H = beta * act + generator.standard_normal(act.shape)
        else:
            H = (generator.uniform(size=act.shape) < expit(beta * act)).astype(float)
        mean = (1 - beta) * base + beta * (H @ W + b_v)
        if gaussian:
            V = mean + generator.standard_normal(mean.shape)
        else:
            V = (generator.uniform(size=mean.shape) < expit(mean)).astype(float)
    return float(log_z0 + logsumexp(log_w) - np.log(n_runs))


class BernoulliRBM(_BaseRBM):
    """Bernoulli restricted Boltzmann machine, trained in compiled kernels.

    A drop-in replacement for :class:`sklearn.neural_network.BernoulliRBM`:
    the same parameters and defaults, fitted attributes, methods and verbose
    output, so code written for scikit-learn's class runs unchanged. Training
    (sampling, positive and negative statistics, update) runs as one call per
    pass with the GIL released, in float32 or float64.

    Beyond scikit-learn's: ``k`` Gibbs steps per update (CD-k / PCD-k),
    ``persistent`` (PCD as scikit-learn, or CD from the data), the samplers
    of the literature that make training less fragile (``sampler``: fast
    persistent contrastive divergence, parallel tempering; ``n_chains``),
    ``momentum``,
    ``weight_decay``, ``inverse_transform``, ``sample``, ``free_energy``, a
    repeatable pseudo-likelihood, and log-likelihoods by annealed importance
    sampling (``log_partition_function``, ``log_likelihood``).

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.1
        Learning rate of the updates (highly recommended to tune).
    batch_size : int, default=10
        Number of examples per minibatch (and of persistent chains, unless
        ``n_chains`` says otherwise).
    n_iter : int, default=10
        Number of passes over the training data.
    verbose : int, default=0
        Print the pseudo-likelihood after every pass.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the Gibbs sampling and the pseudo-likelihood's
        corruption. The same seed and data give bit-identical results for any
        number of threads.
    k : int, default=1
        Gibbs steps per update.
    persistent : bool, default=True
        Keep the negative chains across updates (PCD-k, Tieleman 2008, as
        scikit-learn); False restarts them from the data (CD-k).
    momentum : float, default=0.0
        Momentum of the updates.
    weight_decay : float, default=0.0
        L2 penalty on the weights (not the biases; Hinton's guide suggests
        2e-4).
    initial_momentum : float or None, default=None
        Momentum of the first ``momentum_warmup`` passes of ``fit``, before
        ``momentum`` takes over (Hinton's practical guide: 0.5, then 0.9);
        None uses ``momentum`` throughout.
    momentum_warmup : int, default=5
        Number of passes with ``initial_momentum``.
    learning_rate_decay : float, default=0.0
        Pass ``t`` of ``fit`` (from 0) uses ``learning_rate / (1 +
        learning_rate_decay * t)``.
    k_final : int or None, default=None
        With an int, the Gibbs steps rise linearly over the passes of ``fit``,
        pass ``t`` using ``k + floor((k_final - k) * t / (n_iter - 1))``: from
        ``k`` to ``k_final`` (Salakhutdinov and Murray's CD-25 rose from 1 to
        25). ``partial_fit``, which makes no passes, uses ``learning_rate``,
        ``momentum`` and ``k`` as given.
    sampler : {"gibbs", "fpcd", "pt"}, default="gibbs"
        How the persistent chains sample the model in the negative phase.
        "gibbs": ``k`` steps of block Gibbs sampling (PCD-k, or CD-k with
        ``persistent=False``). "fpcd": fast persistent contrastive divergence
        (Tieleman and Hinton, 2009): the chains sample with the weights plus
        fast weights, which take every update's gradient with step
        ``fast_learning_rate`` and keep 19/20 of themselves per update, so
        the chains leave the modes they have just visited. "pt": parallel
        tempering (Desjardins et al., 2010; Cho, Raiko and Ilin, 2010):
        ``n_temperatures`` sets of chains sample the model at inverse
        temperatures ``1 - t / n_temperatures``, t = 0, ..., n_temperatures - 1,
        and after every Gibbs step each chain offers its state to the chain one
        temperature up (Metropolis swaps on the energy E(v, h)); the negative
        statistics come from the chains at temperature 1. Both need
        ``persistent=True``.
    n_chains : int or None, default=None
        Number of persistent chains (per temperature with ``sampler="pt"``);
        None uses ``batch_size``, as scikit-learn. More chains than rows per
        minibatch lower the variance of the negative statistics.
    n_temperatures : int, default=10
        Number of temperatures of ``sampler="pt"`` (at least 2).
    fast_learning_rate : float or None, default=None
        Step of the fast weights of ``sampler="fpcd"``; None uses
        ``learning_rate`` (unscheduled).
    centering : bool, default=False
        Take the centred gradient (Montavon and Mueller, 2012; Melchior et
        al., 2016): the gradient of the model written with its units'
        means subtracted (the visible ones' from the data, the hidden ones'
        sliding over the updates), carried back to ``components_`` and the
        biases. The model is the same; the steps are better conditioned, so
        the learning rate matters less.

    Attributes
    ----------
    intercept_hidden_ : array-like of shape (n_components,)
        Biases of the hidden units.
    intercept_visible_ : array-like of shape (n_features,)
        Biases of the visible units.
    components_ : array-like of shape (n_components, n_features)
        Weight matrix, where `n_features` is the number of visible units.
    h_samples_ : array-like of shape (n_chains, n_components)
        Hidden states of the persistent chains (``batch_size`` of them by
        default); with ``sampler="pt"``, ``n_temperatures`` blocks of
        ``n_chains`` rows, temperature 1 first.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The NumPy original.
    GaussianBernoulliRBM : Real-valued visible units.

    Notes
    -----
    One update costs about ``2 * (k + 2) * batch_size * n_features *
    n_components`` floating-point operations, in BLAS GEMMs split into fixed
    column blocks over threads. Like scikit-learn's, ``fit`` visits the rows in
    order and ``partial_fit`` makes one update with all of X as the minibatch.
    The negative statistics are averaged over the chains (scikit-learn divides
    them by the minibatch size, which differs on a last, shorter minibatch).

    References
    ----------
    Hinton, G. E., Osindero, S. and Teh, Y. (2006). A fast learning algorithm
    for deep belief nets. Neural Computation 18, 1527-1554.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. Proceedings of ICML.

    Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of
    deep belief networks. Proceedings of ICML.

    Tieleman, T. and Hinton, G. (2009). Using fast weights to improve
    persistent contrastive divergence. Proceedings of ICML.

    Desjardins, G., Courville, A., Bengio, Y., Vincent, P. and Delalleau, O.
    (2010). Tempered Markov chain Monte Carlo for training of restricted
    Boltzmann machines. Proceedings of AISTATS.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    """

    def __init__(self, n_components=256, *, learning_rate=0.1, batch_size=10,
                 n_iter=10, verbose=0, random_state=None, k=1, persistent=True,
                 momentum=0.0, weight_decay=0.0, initial_momentum=None,
                 momentum_warmup=5, learning_rate_decay=0.0, k_final=None,
                 sampler="gibbs", n_chains=None, n_temperatures=10,
                 fast_learning_rate=None, centering=False):
        super().__init__(n_components, learning_rate, batch_size, n_iter, verbose,
                         random_state, k, persistent, momentum, weight_decay,
                         initial_momentum, momentum_warmup, learning_rate_decay, k_final,
                         sampler, n_chains, n_temperatures, fast_learning_rate,
                         centering)

    def score_samples(self, X):
        """Pseudo-likelihood of each sample, as scikit-learn's BernoulliRBM.

        The free energy of X is compared with that of X with one pseudo-randomly
        chosen feature flipped per sample. Unlike scikit-learn's, the choice is
        a seeded hash of the sample itself (seeded at fit): scores are the same
        on every call and do not depend on the other samples or their order.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values of the visible layer (binary).

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
        """
        check_fitted(self)
        X = self._validated(X)
        return self._evaluate(X, "pseudo_likelihood", self._flip_features(X))[:, 0]

    def _flip_features(self, X):
        """The feature flipped in each row: a seeded hash of the row's bits.

        Wrapping integer sums are associative, so a row's choice depends on its
        values alone, not on chunking or on the other rows (a stored zero of a
        CSR row hashes as a dense zero).
        """
        self._random_stream()
        hashes = row_hashes(X, self._score_seed, self._chunk(X.shape[0]))
        return (hashes % np.uint64(X.shape[1])).astype(np.intp)


class GaussianBernoulliRBM(_BaseRBM):
    """RBM with real-valued (Gaussian, unit-variance) visible units.

    v | h ~ N(h W + b_v, I) and P(h=1 | v) = sigmoid(W v + b_h): the model
    for continuous data, and the usual first layer of a deep belief network.
    Standardise the input first (e.g. with StandardScaler): the variance of
    every visible unit is fixed to 1. Same API and kernel as BernoulliRBM.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.01
        Learning rate; Gaussian units need a smaller one than binary units.
    batch_size : int, default=10
        Number of examples per minibatch (and of persistent chains, unless
        ``n_chains`` says otherwise).
    n_iter : int, default=10
        Number of passes over the training data.
    verbose : int, default=0
        Print the score after every pass.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights and the Gibbs sampling.
    k : int, default=1
        Gibbs steps per update.
    persistent : bool, default=True
        PCD-k (True) or CD-k (False).
    momentum : float, default=0.0
        Momentum of the updates.
    weight_decay : float, default=0.0
        L2 penalty on the weights.
    initial_momentum : float or None, default=None
        Momentum of the first ``momentum_warmup`` passes of ``fit``, before
        ``momentum`` takes over (Hinton's practical guide: 0.5, then 0.9);
        None uses ``momentum`` throughout.
    momentum_warmup : int, default=5
        Number of passes with ``initial_momentum``.
    learning_rate_decay : float, default=0.0
        Pass ``t`` of ``fit`` (from 0) uses ``learning_rate / (1 +
        learning_rate_decay * t)``.
    k_final : int or None, default=None
        With an int, the Gibbs steps rise linearly over the passes of ``fit``,
        pass ``t`` using ``k + floor((k_final - k) * t / (n_iter - 1))``: from
        ``k`` to ``k_final`` (Salakhutdinov and Murray's CD-25 rose from 1 to
        25). ``partial_fit``, which makes no passes, uses ``learning_rate``,
        ``momentum`` and ``k`` as given.
    sampler : {"gibbs", "fpcd"}, default="gibbs"
        How the persistent chains sample the model: block Gibbs (PCD-k / CD-k)
        or fast persistent contrastive divergence, as :class:`BernoulliRBM`'s.
        Parallel tempering ("pt") needs binary visible units and is refused.
    n_chains : int or None, default=None
        Number of persistent chains; None uses ``batch_size``.
    n_temperatures : int, default=10
        Unused (parallel tempering is for binary units); kept for a uniform
        API.
    fast_learning_rate : float or None, default=None
        Step of the fast weights of ``sampler="fpcd"``; None uses
        ``learning_rate``.
    centering : bool, default=False
        Take the centred gradient, as :class:`BernoulliRBM`'s.

    Attributes
    ----------
    intercept_hidden_ : array-like of shape (n_components,)
        Biases of the hidden units.
    intercept_visible_ : array-like of shape (n_features,)
        Means of the visible units when all hidden units are off.
    components_ : array-like of shape (n_components, n_features)
        Weight matrix.
    h_samples_ : array-like of shape (batch_size, n_components)
        Hidden states of the persistent chains.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    BernoulliRBM : Binary visible units.

    Notes
    -----
    ``score_samples`` is minus the squared error of the mean-field
    reconstruction E[v | P(h|v)], a label-free score for model selection (the
    pseudo-likelihood is defined for binary units only). ``log_likelihood``
    gives the true log-likelihood through annealed importance sampling.

    References
    ----------
    Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality
    of data with neural networks. Science, 313(5786), 504-507.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skae import GaussianBernoulliRBM
    >>> X = StandardScaler().fit_transform(load_digits().data)
    >>> rbm = GaussianBernoulliRBM(n_components=32, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (1797, 32)
    """

    _visible = "gaussian"
    _score_name = "minus reconstruction error"

    def __init__(self, n_components=256, *, learning_rate=0.01, batch_size=10,
                 n_iter=10, verbose=0, random_state=None, k=1, persistent=True,
                 momentum=0.0, weight_decay=0.0, initial_momentum=None,
                 momentum_warmup=5, learning_rate_decay=0.0, k_final=None,
                 sampler="gibbs", n_chains=None, n_temperatures=10,
                 fast_learning_rate=None, centering=False):
        super().__init__(n_components, learning_rate, batch_size, n_iter, verbose,
                         random_state, k, persistent, momentum, weight_decay,
                         initial_momentum, momentum_warmup, learning_rate_decay, k_final,
                         sampler, n_chains, n_temperatures, fast_learning_rate,
                         centering)

    def score_samples(self, X):
        """Minus the squared error of each sample's mean-field reconstruction.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Standardised data.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_fitted(self)
        X = self._validated(X)
        recon = self.inverse_transform(self._evaluate(X, "hidden_probabilities"))
        dense = X.toarray() if sp.issparse(X) else X
        return -((recon - dense) ** 2).sum(axis=1)


class _GaussianHiddenRBM(BernoulliRBM):
    """Bernoulli visible units, Gaussian (linear) hidden units of unit variance.

    h | v ~ N(W v + b_h, I) and P(v=1 | h) = sigmoid(h W + b_v): the top layer
    of the deep autoencoder of Hinton and Salakhutdinov (2006), whose linear
    code units can use continuous values. ``transform`` returns E[h | v] =
    W v + b_h. :class:`StackedAE` fits one for a linear code layer under
    ``pretraining="rbm"``; it is private because it exists for that role. The
    parameters and methods are BernoulliRBM's, and the free energy, the
    pseudo-likelihood and annealed importance sampling integrate the Gaussian
    hidden units out exactly.

    Parameters
    ----------
    n_components : int, default=256
        Number of linear hidden units.
    learning_rate : float, default=0.001
        Learning rate; the unbounded hidden units need a much smaller one than
        binary units (the 2006 paper used 0.001).
    batch_size, n_iter, verbose, random_state, k, persistent, momentum, \
weight_decay, initial_momentum, momentum_warmup, learning_rate_decay, k_final, \
sampler, n_chains, n_temperatures, fast_learning_rate, centering
        As :class:`BernoulliRBM` (``sampler="pt"`` needs binary hidden units, so
        is refused here).
    """

    _hidden = "gaussian"

    def __init__(self, n_components=256, *, learning_rate=0.001, batch_size=10,
                 n_iter=10, verbose=0, random_state=None, k=1, persistent=True,
                 momentum=0.0, weight_decay=0.0, initial_momentum=None,
                 momentum_warmup=5, learning_rate_decay=0.0, k_final=None,
                 sampler="gibbs", n_chains=None, n_temperatures=10,
                 fast_learning_rate=None, centering=False):
        super().__init__(n_components, learning_rate=learning_rate,
                         batch_size=batch_size, n_iter=n_iter, verbose=verbose,
                         random_state=random_state, k=k, persistent=persistent,
                         momentum=momentum, weight_decay=weight_decay,
                         initial_momentum=initial_momentum,
                         momentum_warmup=momentum_warmup,
                         learning_rate_decay=learning_rate_decay, k_final=k_final,
                         sampler=sampler, n_chains=n_chains,
                         n_temperatures=n_temperatures,
                         fast_learning_rate=fast_learning_rate,
                         centering=centering)
