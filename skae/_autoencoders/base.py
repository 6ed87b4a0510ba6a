"""BaseAutoencoder: everything the dense autoencoders share.

Python holds what is cheap and needs judgement: parameter and input validation,
the architecture (a layer table handed to the kernel), weight initialisation,
the epoch loop, shuffling, the validation split, early stopping, verbose output
and the fitted attributes. One call to the compiled kernel
(:func:`skae._kernels._network.train_pass`) trains one whole pass over the data.

Training is transactional: ``fit`` and ``partial_fit`` train on copies of the
mutable state (parameters, optimizer moments, curves) and commit them to the
estimator only when the call succeeds, so an error, including a diverging run,
leaves a fitted estimator exactly as it was.
"""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array

from .._core.common import (
    MeanScoreMixin,
    check_fitted,
    check_fitted_width,
    check_integer_params,
    check_unit_interval,
    check_unstored,
    chunk_rows,
    clip_unit_interval,
    fitting_member,
    inference_threads,
    kernel_input,
    missing_fill,
    plain_rows,
    single_threaded_blas,
    transactional,
    validate_input,
)
from .._kernels import _network
from .._kernels.runtime.record import ThreadRecord
from .._core.layers import (
    COLUMN, DENSE, build_table, initial_params, kind_of, layer_row, weighted_layers,
)
from .lbfgs import fit_lbfgs
from .pca_start import pca_start, pca_start_obstacle
from .._core.persistence import VersionedStateMixin
from .._core.training import (
    DIVERGENCE_FACTOR, CallbackSupportMixin, EpochLoop, diverged, end_task, fit_task,
)



# batch_size="auto": min(AUTO_BATCH_SIZE, n_samples), as scikit-learn's MLP.
AUTO_BATCH_SIZE = 200
# Rows used to measure the initial network's loss.
_REFERENCE_ROWS = 1024
# A larger share of saturated first-layer activations at initialisation means
# the input's scale is wrong for the activation (see _warn_if_saturated).
_SATURATED_SHARE = 0.5
# ... when X's values go beyond this, so that scaling X is the remedy.
_UNIT_SCALE = 3.0
# The learning_rate schedules (scikit-learn's MLP names and formulas; see
# _epoch_learning_rate): each epoch's step size from learning_rate_init.
LEARNING_RATES = ("constant", "invscaling", "adaptive")
# "adaptive" divides the step size by this when the loss stops improving, and
# stops training once the step size is at or below _MIN_ADAPTIVE_RATE.
_ADAPTIVE_DIVISOR = 5.0
_MIN_ADAPTIVE_RATE = 1e-6
# Names of the attributes that make up the training state (see transactional).
# _layers, _code_layer, _loss, _huber_delta, _missing (with input_fill_) and
# _solver are the fitted architecture: every method of a fitted model reads
# sizes from them, never from get_params().
_STATE = (
    "_params", "_layers", "_code_layer", "_loss", "_huber_delta", "_missing",
    "input_fill_", "_solver", "_optimizer_state", "_n_steps", "_learning_rate_cuts",
    "_bit_generator",
    "_penalty_state", "_initial_loss",
    "loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_",
    "_no_improvement_count", "n_iter_", "t_", "n_features_in_", "feature_names_in_",
)
# Parameters that must be integers, where Python's bools would pass as ones.
_INTEGER_PARAMS = (
    "n_components", "hidden_layer_sizes", "batch_size", "max_iter", "max_fun",
    "n_iter_no_change", "random_state",
)


class BaseAutoencoder(
    CallbackSupportMixin, VersionedStateMixin, MeanScoreMixin,
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator,
):
    """Base class of the dense autoencoders; not meant to be used directly.

    Subclasses declare their ``__init__`` with explicit parameters (scikit-learn
    reads them from the signature) and may extend :meth:`_kernel_config` and
    :meth:`_check_params`.
    """

    # The attributes that fit and partial_fit may change (see common.transactional).
    _state_attributes = _STATE

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(_network.ACTIVATIONS))],
        "code_activation": [StrOptions(set(_network.ACTIVATIONS)), None],
        "output_activation": [StrOptions(set(_network.ACTIVATIONS)), None],
        "loss": [StrOptions(set(_network.LOSSES))],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
        "missing": [StrOptions({"nan", "unstored"}), None],
        "missing_fill": [StrOptions({"mean"}), "array-like"],
        "tied_weights": ["boolean"],
        "solver": [StrOptions(set(_network.SOLVERS) | {"lbfgs"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions(set(LEARNING_RATES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "init": [StrOptions({"auto", "pca", "random"})],
    }

    def __init__(
        self,
        *,
        n_components,
        hidden_layer_sizes,
        activation,
        code_activation,
        output_activation,
        loss,
        huber_delta,
        missing,
        missing_fill,
        tied_weights,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        max_fun,
        tol,
        n_iter_no_change,
        early_stopping,
        validation_fraction,
        shuffle,
        momentum,
        nesterovs_momentum,
        beta_1,
        beta_2,
        epsilon,
        random_state,
        verbose,
        warm_start,
        init,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.code_activation = code_activation
        self.output_activation = output_activation
        self.loss = loss
        self.huber_delta = huber_delta
        self.missing = missing
        self.missing_fill = missing_fill
        self.tied_weights = tied_weights
        self.init = init
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------------ checks

    def _check_params(self):
        """Checks that _parameter_constraints cannot express."""
        check_integer_params(self, _INTEGER_PARAMS)
        sizes = np.asarray(self.hidden_layer_sizes)
        if sizes.ndim != 1 or not all(
            isinstance(s, Integral) and s >= 1 for s in self.hidden_layer_sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        max_hidden = (_network.MAX_DEPTH - 2) // 2
        if len(self.hidden_layer_sizes) > max_hidden:
            raise ValueError(
                f"hidden_layer_sizes has {len(self.hidden_layer_sizes)} layers; at most "
                f"{max_hidden} encoder layers are supported."
            )
        if self.loss == "binary_crossentropy" and self._output_activation() != "sigmoid":
            raise ValueError(
                "loss='binary_crossentropy' needs the sigmoid output activation; got "
                f"output_activation={self._output_activation()!r}."
            )

    def _validate_X(self, X, *, reset, check_range=False):
        """validate_data in the model's dtype, NaN allowed with missing="nan";
        training data of cross-entropy must lie in [0, 1]."""
        if not reset:
            check_fitted_width(self)
        dtype = [np.float64, np.float32] if reset else self._params.dtype
        missing = self._missing_mode() if reset else self._missing
        # With "unstored", a stored NaN gets check_unstored's advice.
        X = validate_input(self, X, reset=reset, dtype=dtype,
                           allow_nan=missing is not None)
        if missing == "unstored":
            check_unstored(X, type(self).__name__)
        loss = self._loss_for_data(X) if reset else self._loss
        if check_range and loss == "binary_crossentropy":
            check_unit_interval(X, "loss='binary_crossentropy'")
        return X

    # ------------------------------------------------------------ architecture

    @property
    def _n_encoder_layers(self):
        return len(self.hidden_layer_sizes) + 1

    def _missing_mode(self):
        """Which entries are missing: ``missing`` (None, "nan" or "unstored")."""
        return self.missing

    def _code_activation(self):
        """The code layer's activation: ``code_activation``, else ``activation``."""
        return self.code_activation or self.activation

    def _huber_threshold(self):
        """The Huber loss's threshold: ``huber_delta``."""
        return self.huber_delta

    def _init_option(self):
        """How the weights start: ``init`` ("auto", "pca" or "random")."""
        return self.init

    def _output_activation(self):
        """The output layer's activation: ``output_activation``, else the
        sigmoid with cross-entropy (targets in [0, 1]) and identity otherwise."""
        if self.output_activation is not None:
            return self.output_activation
        return "sigmoid" if self._chosen_loss() == "binary_crossentropy" else "identity"

    def _layer_table(self, n_features):
        """The layer table and parameter count of the symmetric network.

        Sizes run n_features, *hidden, n_components, *reversed(hidden), n_features.
        Parameters are laid out W0, W1, ..., b0, b1, ...; a tied decoder layer has
        only a bias and points at its mirror encoder layer's matrix, transposed.
        """
        hidden = list(self.hidden_layer_sizes)
        sizes = [n_features, *hidden, self.n_components, *reversed(hidden), n_features]
        n_layers = len(sizes) - 1
        n_enc = self._n_encoder_layers
        layers = []
        for l in range(n_layers):
            if l == n_layers - 1:
                act = self._output_activation()
            elif l == n_enc - 1:
                act = self._code_activation()
            else:
                act = self.activation
            tied = n_layers - 1 - l if self.tied_weights and l >= n_enc else None
            layers.append(DENSE.layer(sizes[l], sizes[l + 1], act, tied))
        return build_table(layers)

    def _initial_params(self, layers, n_params, dtype, generator):
        """Glorot-uniform weights, zero biases.

        The bound is sqrt(6 / (n_in + n_out)), four times that for a layer with
        sigmoid units (Glorot and Bengio, 2010): the sigmoid's slope at zero is
        1/4, so smaller weights shrink the signal at every layer. scikit-learn's
        MLP uses sqrt(2 / (n_in + n_out)) for them, 7 times smaller, and a deep
        sigmoid autoencoder started there sits on the mean image: on digits,
        64-32-10 with cross-entropy stayed at the mean image's loss (27.2)
        where this bound reaches 21.3 in the same 100 epochs.
        """
        sigmoid = _network.ACTIVATIONS["sigmoid"]
        return initial_params(layers, n_params, dtype, generator,
                              lambda row: 4.0 if row["activation"] == sigmoid else 1.0)

    def _dense_layers(self):
        """Indices of the layers with weights (a sampling layer has none)."""
        return weighted_layers(self._layers)

    def _layer_matrix(self, l):
        """View of layer l's weights in the flat parameters ((n_in, n_out) for a
        dense layer; a tied layer's is its mirror's, transposed)."""
        row = layer_row(self._layers[l])
        return kind_of(row).weights(self._params, row)

    @property
    def coefs_(self):
        """list of ndarray: layer l's weight matrix, shape (n_in, n_out).

        Views into the trained parameters; with tied weights a decoder matrix is
        the transpose (a view) of its mirror encoder matrix.
        """
        return [self._layer_matrix(l) for l in self._dense_layers()]

    @property
    def intercepts_(self):
        """list of ndarray: layer l's bias vector, shape (n_out,)."""
        rows = [layer_row(self._layers[l]) for l in self._dense_layers()]
        return [kind_of(row).bias(self._params, row) for row in rows]

    @property
    def components_(self):
        """ndarray of shape (n_units, n_features): the first layer's filters.

        For a single-layer model these are the ``n_components`` encoder filters,
        as in :class:`~sklearn.decomposition.PCA`.
        """
        return self._layer_matrix(0).T

    @property
    def _n_features_out(self):
        # The fitted code width, whatever n_components says now.
        return int(self._layers[self._code_layer, COLUMN["n_out"]])

    @property
    def _n_features_fitted(self):
        # The fitted input width (inverse_transform's output): n_features_in_
        # is assignable.
        return int(self._layers[-1, COLUMN["n_out"]])

    def __sklearn_is_fitted__(self):
        # Not "any attribute ending in _": a user may assign n_features_in_.
        return hasattr(self, "_params")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = self._missing_mode() == "nan"
        return tags

    # ------------------------------------------------------------------ kernel

    def _kernel_config(self):
        """The TrainConfig handed to the kernel: the core every model needs,
        and one part per concern that a variant overrides."""
        return {
            "loss": _network.LOSSES[self._chosen_loss()],
            "huber_delta": float(self._huber_threshold()),
            # L-BFGS steps outside the kernel (lbfgs.py), which only
            # evaluates its objective: any kernel solver code will do.
            "solver": _network.SOLVERS.get(self.solver, _network.SOLVERS["sgd"]),
            "learning_rate": float(self.learning_rate_init),
            "alpha": float(self.alpha),
            "beta_1": float(self.beta_1),
            "beta_2": float(self.beta_2),
            "epsilon": float(self.epsilon),
            "momentum": float(self.momentum),
            "nesterov": bool(self.nesterovs_momentum),
            "max_grad_norm": float(self._max_grad_norm()),
            "input_density_limit": self._input_density_limit(),
            "noise": self._noise_config(),
            "penalty": self._penalty_config(),
            "latent": self._latent_config(),
            "decoder": self._decoder_config(),
            "missing": {"kind": _network.MISSING[self._missing_mode()]},
        }

    def _max_grad_norm(self):
        """Each update's gradient is scaled to at most this norm (0: never)."""
        return 0.0

    def _input_density_limit(self):
        """Minibatches with at most this share of nonzeros skip their zeros in
        the first layer's products (a dense first layer; 0: never)."""
        return _network.INPUT_DENSITY_LIMIT

    def _noise_config(self):
        """TrainConfig.noise: the input corruption (none here)."""
        return dict(_network.NOISE_OFF)

    def _penalty_config(self):
        """TrainConfig.penalty: the penalties on the code layer (none here)."""
        return dict(_network.PENALTY_OFF, code_layer=self._n_encoder_layers - 1)

    def _latent_config(self):
        """TrainConfig.latent: the weight of a sampling layer's KL (none here)."""
        return dict(_network.LATENT_OFF)

    def _decoder_config(self):
        """TrainConfig.decoder: how an autoregressive decoder is fed (none here)."""
        return dict(_network.DECODER_OFF)

    def _inference(self, X, rows, first):
        """What both inference passes take: the rows, the chunk and its
        workspace, and the missing entries' handling (first layer only)."""
        layers, params = self._layers, self._params
        n_rows = X.shape[0] if rows is None else len(rows)
        per_row = _network.workspace_size(layers, 1, params.size, False)
        chunk = chunk_rows(per_row * params.itemsize, n_rows)
        work = np.empty(_network.workspace_size(layers, chunk, params.size, False),
                        dtype=params.dtype)
        missing = _network.MISSING[self._missing] if first == 0 else 0
        return n_rows, chunk, work, missing, self.input_fill_ if missing else None

    def _activations(self, X, first, last, rows=None, row_seeds=None):
        """The activations of layer ``last`` from X (or X[rows]) as the input
        of layer ``first``, in bounded chunks; a sampling layer's noise for
        output row i drawn from the stream of ``row_seeds[i]`` (None: z = mu)."""
        layers, params = self._layers, self._params
        n_rows, chunk, work, missing, fill = self._inference(X, rows, first)
        out = np.empty((n_rows, int(layers[last, COLUMN["n_out"]])), dtype=params.dtype)
        with inference_threads(self) as threads:
            _network.activations(
                *kernel_input(X), rows, n_rows, params, layers, first, last, out, work,
                chunk, self._input_density_limit(), threads, row_seeds, missing,
                fill)
        return out

    def _row_losses(self, X, rows=None, row_seeds=None):
        """Each row's reconstruction loss (plus a sampling layer's KL, its noise
        for row i drawn from the stream of ``row_seeds[i]``), in bounded chunks."""
        layers, params = self._layers, self._params
        n_rows, chunk, work, missing, fill = self._inference(X, rows, 0)
        out = np.empty((n_rows, 1), dtype=params.dtype)
        with inference_threads(self) as threads:
            _network.row_losses(
                *kernel_input(X), rows, n_rows, params, layers,
                _network.LOSSES[self._loss], out, work, chunk,
                self._input_density_limit(), threads, row_seeds, missing, fill,
                float(self._huber_delta))
        return out[:, 0]

    # ---------------------------------------------------------------- training

    def _initialize(self, X):
        """Fresh parameters, optimizer and curves for data like X."""
        seeds = check_random_state(self.random_state).randint(0, 2**32, size=4)
        self._bit_generator = np.random.PCG64(seeds.tolist())
        # First: the layer table's output activation follows the loss.
        self._loss = self._loss_for_data(X)
        self._layers, n_params = self._layer_table(X.shape[1])
        self._code_layer = self._n_encoder_layers - 1
        self._huber_delta = self._huber_threshold()
        self._missing = self._missing_mode()
        self.input_fill_ = self._input_fill(X)
        generator = np.random.Generator(self._bit_generator)
        self._params = self._initial_params(self._layers, n_params, X.dtype, generator)
        # The KL sparsity's running mean code activation, then its count.
        self._penalty_state = np.zeros(self._n_features_out + 1, dtype=X.dtype)
        self._initial_loss = float(np.mean(self._row_losses(X[:_REFERENCE_ROWS])))
        self._warn_if_saturated(X[:_REFERENCE_ROWS])
        self._warn_if_overcomplete(X.shape[1])
        # After _initial_loss: divergence is judged against the random network,
        # whose loss is near that of the mean; PCA's may be near 0.
        if self._init_method(X) == "pca":
            pca_start(self._params, self._layers, X, self.n_components, generator)
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self.n_iter_ = 0
        self.t_ = 0
        self._reset_optimizer()

    def _input_fill(self, X):
        """The value each missing entry enters the network as (see
        ``missing_fill``), or None without missing="nan"."""
        if self._missing_mode() != "nan" or isinstance(self.missing_fill, str):
            return missing_fill(X, self._missing_mode())
        fill = np.array(self.missing_fill, dtype=X.dtype)
        if fill.shape != (X.shape[1],) or not np.isfinite(fill).all():
            raise ValueError(
                f"missing_fill must be 'mean' or {X.shape[1]} finite values, one for "
                f"each feature of X; got an array of shape {fill.shape}"
                + ("" if fill.shape != (X.shape[1],) else " with NaN or infinity") + ".")
        return fill

    def _init_obstacle(self, X):
        """Why this model cannot start at PCA (see _pca_start), or None."""
        if self.n_components >= X.shape[1]:
            return (f"with n_components={self.n_components} >= {X.shape[1]} features "
                    "PCA's start would be the identity")
        if self.n_components > X.shape[0] - 1:
            return (f"PCA needs more than {self.n_components} rows (X has "
                    f"{X.shape[0]})")
        return pca_start_obstacle(self._layers, self.n_components, self.tied_weights,
                                  self._missing_mode())

    def _init_method(self, X):
        """"pca" or "random": ``init``, with "auto" resolved for this model."""
        if self._init_option() == "random":
            return "random"
        obstacle = self._init_obstacle(X)
        if obstacle is None:
            return "pca"
        if self._init_option() == "pca":
            raise ValueError(
                f"init='pca' cannot start this model at PCA's solution: {obstacle}. "
                "Use init='auto' (PCA where it can, random weights elsewhere) or "
                "init='random'."
            )
        return "random"

    def _warn_if_saturated(self, X):
        """Warn when X's scale saturates most of the first layer's sigmoid or
        tanh units at initialisation: their gradients vanish and training
        learns next to nothing (unscaled 0..255 pixels do this), silently."""
        act = int(self._layers[0, COLUMN["activation"]])
        acts = _network.ACTIVATIONS
        if act not in (acts["sigmoid"], acts["tanh"]) or X.shape[0] == 0:
            return
        values = X.data if sp.issparse(X) else X
        if not values.size or not np.nanmax(np.abs(values), initial=0) > _UNIT_SCALE:
            # Data on a unit scale (scaled, standardised, or the codes a
            # StackedAE pretrainer sees): scaling is not the remedy.
            return
        a = self._activations(X, 0, 0)
        saturated = float(np.mean(np.abs(a - 0.5) > 0.49 if act == acts["sigmoid"]
                                  else np.abs(a) > 0.99))
        if saturated > _SATURATED_SHARE:
            warnings.warn(
                f"At initialisation {saturated:.0%} of the first layer's activations "
                f"are saturated (X's values reach {np.nanmax(np.abs(values)):.4g}), so their "
                "gradients vanish and training will learn little. Scale X first, for "
                "example with sklearn.preprocessing.StandardScaler, or MinMaxScaler "
                "for values in [0, 1].",
                UserWarning,
            )

    def _reset_optimizer(self):
        self._solver = self.solver
        # Adam keeps two moments per parameter, SGD a velocity; L-BFGS keeps
        # its history inside one call to scipy.
        n_state = {"adam": 2, "sgd": 1, "lbfgs": 0}[self.solver]
        self._optimizer_state = np.zeros(n_state * self._params.size, self._params.dtype)
        self._n_steps = 0
        self._learning_rate_cuts = 0
        self._no_improvement_count = 0

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is trained in float32, anything else in
            float64. Sparse input is converted to CSR once.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, incremental=False)

    def _has_stochastic_solver(self):
        if self.solver == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for stochastic solvers ('adam', "
                f"'sgd'), not solver={self.solver!r}, which optimises the whole "
                "training set in one call: use fit."
            )
        return True

    @available_if(_has_stochastic_solver)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train one pass over X, continuing from the current state.

        The first call initialises the model; later calls continue the same
        optimizer (Adam moments, step count) and random stream. Early stopping
        does not apply to ``partial_fit``. A call after ``set_params`` changed
        the ``solver`` starts the new solver from a fresh state (as ``fit``
        with ``warm_start`` does); with ``solver="lbfgs"``, which optimises
        the whole training set at once, there is no ``partial_fit`` (as in
        scikit-learn's MLP); one that changed the architecture
        (``n_components``, ``hidden_layer_sizes``, activations, ``loss``,
        ``tied_weights``) raises ValueError: call ``fit`` to train a new model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The estimator.
        """
        return self._fit(X, incremental=True)

    def _fit(self, X, incremental):
        self._check_params()
        reuse = hasattr(self, "_params") and (incremental or self.warm_start)
        owner = self
        n_epochs = 1 if incremental else self.max_iter
        pretrain = not reuse and not incremental
        context = fit_task(owner, X, self._n_fit_tasks(n_epochs, pretrain))

        def run(self):  # the shadow that transactional publishes
            if reuse:
                # Before validation, which reads the fitted missing mode.
                self._check_same_architecture(self._n_features_fitted)
            data = self._validate_X(X, reset=not reuse, check_range=True)
            if reuse:
                if not incremental or self.solver != self._solver:
                    self._reset_optimizer()
            else:
                self._initialize(data)
                if pretrain:
                    self._pretrain(data, context, owner)
            epochs = self._epochs_task(context, n_epochs, pretrain)
            if epochs is not context:
                epochs.call_on_fit_task_begin(estimator=owner, X=data)
            if self.solver == "lbfgs":
                fit_lbfgs(self, data, owner, epochs)
            else:
                self._train(data, n_epochs, incremental, epochs, owner)
            if epochs is not context:
                end_task(owner, epochs, data, self)

        transactional(self, self._state_attributes, run)
        end_task(owner, context, X, owner)
        return owner

    def _n_fit_tasks(self, n_epochs, pretrain):
        """The subtasks of a fit's callback task: its epochs (a model that
        pretrains adds its own)."""
        return n_epochs

    def _epochs_task(self, context, n_epochs, pretrain):
        """The callback task whose subtasks are the epochs: the fit's own
        (another is a subtask of it, which the fit begins and ends)."""
        return context

    # Whether nothing but the code's width keeps the model from learning the
    # identity (no noise, no penalty on the code): see _warn_if_overcomplete.
    _bottleneck_only = False

    def _warn_if_overcomplete(self, n_features):
        """Warn when no layer is narrower than the input in a model that can
        then learn the identity: its codes would say nothing that X does not.
        Not for a member fitted by another estimator, whose shape is that
        estimator's choice."""
        if not self._bottleneck_only:
            return
        narrowest = min([*self.hidden_layer_sizes, self.n_components])
        if narrowest >= n_features and not fitting_member():
            warnings.warn(
                f"{type(self).__name__}: no layer is narrower than the {n_features} "
                f"input features (n_components={self.n_components}, "
                f"hidden_layer_sizes={tuple(self.hidden_layer_sizes)}), so the network "
                "can learn the identity and its codes say nothing X does not. Use "
                f"n_components < {n_features}, or an overcomplete model that cannot "
                "copy its input: DenoisingAE, SparseAE or ContractiveAE.",
                UserWarning,
            )

    def _loss_for_data(self, X):
        """The loss a fit on X trains with: ``loss`` (VariationalAE's "auto"
        chooses it from the data)."""
        return self.loss

    def _chosen_loss(self):
        """The loss the network follows: ``loss``, or the fitted one where
        ``loss`` leaves the choice to the data."""
        return self._loss if self.loss == "auto" else self.loss

    def _check_same_architecture(self, n_features):
        """Raise ValueError if the parameters now describe another network
        than the fitted one (training would otherwise mix the two)."""
        if (self._layers.tolist() != self._layer_table(n_features)[0].tolist()
                or self._chosen_loss() != self._loss
                or self._huber_threshold() != self._huber_delta
                or self._missing_mode() != self._missing
                or self._n_encoder_layers - 1 != self._code_layer):
            raise ValueError(
                "The architecture parameters (n_components, hidden_layer_sizes, "
                "activations, loss, huber_delta, missing, tied_weights) changed since "
                "the model was fitted; call fit without warm_start to train a new "
                "model."
            )

    def _pretrain(self, X, context, owner):
        """Set the initial parameters from the data before ``fit`` trains them
        (``context``: the fit's callback task, or None, of ``owner``).

        The single-network autoencoders start from random weights; StackedAE
        overrides this with greedy layer-wise pretraining.
        """

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(AUTO_BATCH_SIZE, n_samples)
        return min(self.batch_size, n_samples)

    def _train(self, X, n_epochs, incremental, context=None, owner=None):
        """n_epochs passes over X through the one training loop (skae/_core/training.py):
        one kernel call per epoch, then this model's bookkeeping."""
        generator = np.random.Generator(self._bit_generator)
        early_stopping = self.early_stopping and not incremental
        rows = np.arange(X.shape[0], dtype=np.intp)
        stopping = None
        if early_stopping:
            stopping = (self.validation_fraction, self._validation_score, "_params")
        loop = EpochLoop(
            self, X, None, self._epoch_line, owner=owner or self, context=context,
            rows=rows, generator=generator, shuffle=self.shuffle,
            stop_rule=self._record_loss if incremental else self._stop_after,
            early_stopping=stopping,
            warn_unconverged=None if incremental else (
                f"Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet."))
        if early_stopping and self.validation_scores_ is None:
            # The starting weights are a candidate too: a model started at PCA
            # (init="pca") keeps that start unless training improves on it for
            # the validation rows.
            self.validation_scores_ = []
            self.best_validation_score_ = self._validation_score(X, loop.val_rows)
        loop.run_pass = self._pass_runner(X, self._batch_size(len(loop.train_rows)))
        loop.run(n_epochs)

    def _pass_runner(self, X, batch_size):
        """run_pass for the training loop: one compiled pass over X[rows], with
        the buffers of this fit allocated once."""
        config = self._kernel_config()
        kernel_X = kernel_input(X)
        params = self._params
        work = np.empty(
            _network.workspace_size(self._layers, batch_size, params.size, True),
            params.dtype)
        # How the kernel chooses its thread count, kept across this fit's epochs.
        threads = ThreadRecord()

        def run_pass(X, rows, epoch):
            with single_threaded_blas():
                loss, status, n_steps = _network.train_pass(
                    *kernel_X, rows, batch_size, self._params, self._layers,
                    self._epoch_config(config), self._optimizer_state, self._n_steps,
                    self._penalty_state, self._bit_generator, work, threads,
                    self.input_fill_,
                )
            self._n_steps = n_steps
            self._check_divergence(loss, status)
            self.n_iter_ += 1
            self.t_ += len(rows)
            return loss

        return run_pass

    def _epoch_line(self, epoch, loss, seconds):
        return f"Iteration {self.n_iter_}, loss = {loss:.8f} ({seconds:.2f} s)"

    def _validation_score(self, X, rows):
        """Minus the mean loss of X[rows]: early stopping's score."""
        return -float(np.mean(self._row_losses(X, rows)))

    def _record_loss(self, loss, score):
        """partial_fit's rule: never stop, remember the best loss."""
        self.best_loss_ = min(self.best_loss_, float(loss))
        return False

    def _epoch_config(self, config):
        """The TrainConfig of the epoch about to run: the step size of the
        learning_rate schedule (a model with a schedule of its own, such as a
        KL warm-up, extends this)."""
        return dict(config, learning_rate=self._epoch_learning_rate())

    def _epoch_learning_rate(self):
        """The step size of the next epoch, by scikit-learn's MLP formulas:
        "constant", ``learning_rate_init``; "invscaling", ``learning_rate_init
        / (t_ + 1) ** power_t`` with ``t_`` the samples seen so far;
        "adaptive", ``learning_rate_init`` divided by 5 for each time the loss
        stopped improving (see _converged)."""
        if self.learning_rate == "invscaling":
            return float(self.learning_rate_init) / (self.t_ + 1) ** float(self.power_t)
        if self.learning_rate == "adaptive":
            cuts = getattr(self, "_learning_rate_cuts", 0)
            return float(self.learning_rate_init) / _ADAPTIVE_DIVISOR**cuts
        return float(self.learning_rate_init)

    def _check_divergence(self, loss, status):
        """Raise ValueError if the pass diverged (the caller rolls back)."""
        if status != _network.STATUS_OK or not np.isfinite(self._params).all():
            what = "the loss became non-finite"
        # The pass's loss includes the L2 term, the initial loss does not: with
        # a large alpha the term alone can be many times the initial loss.
        elif loss - self._l2_penalty() > DIVERGENCE_FACTOR * self._initial_loss:
            what = (
                f"the mean loss grew to {loss - self._l2_penalty():.4g}, more than "
                f"{DIVERGENCE_FACTOR:g} times that of the initial network "
                f"({self._initial_loss:.4g})"
            )
        else:
            return
        raise diverged(self.n_iter_ + 1, what,
                       f"Lower learning_rate_init (now {self.learning_rate_init}), scale "
                       "the input (for example with StandardScaler or MinMaxScaler) or "
                       "raise alpha.")

    def _l2_penalty(self):
        """alpha / 2 times the sum of the squared weights (each tied matrix
        once), as the kernel adds it to a pass's loss."""
        if not self.alpha:
            return 0.0
        # Not np.dot: on more than 10,000 weights OpenBLAS runs it on its own
        # threads, which then spin through the next epoch beside the kernels'.
        total = sum(float(np.square(w).sum()) for w in (
            self._layer_matrix(l).ravel().astype(np.float64) for l in self._dense_layers()
            if not self._layers[l, COLUMN["transposed"]]))
        return 0.5 * float(self.alpha) * total

    def _stop_after(self, loss, score):
        """fit's rule after each epoch: update the no-improvement count
        (scikit-learn's MLP rule, with a relative tolerance); True to stop.

        An epoch improves when it beats the best loss (or validation score,
        when early stopping gives one) so far by ``tol`` times that best: the
        rule does not depend on X's units or number of features, and a model
        that improves slowly but steadily, as a linear one approaching PCA's
        subspace does, keeps going.
        """
        if score is not None:
            best = self.best_validation_score_
            if score < best + self.tol * abs(best):
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_validation_score_ = max(best, score)
            self.best_loss_ = min(self.best_loss_, loss)
        else:
            best = self.best_loss_
            if np.isfinite(best) and loss > best - self.tol * abs(best):
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, loss)
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if score is not None else "Training loss"
            message = (f"{what} did not improve by more than tol={self.tol} times its "
                       f"best for {self.n_iter_no_change} consecutive epochs.")
            rate = self._epoch_learning_rate()
            if self.learning_rate == "adaptive" and rate > _MIN_ADAPTIVE_RATE:
                # scikit-learn's rule: a fifth of the step size, a fresh count.
                self._learning_rate_cuts = getattr(self, "_learning_rate_cuts", 0) + 1
                self._no_improvement_count = 0
                if self.verbose:
                    print(f"{message} Setting learning rate to "
                          f"{self._epoch_learning_rate():.6g}")
                return False
            if self.verbose:
                print(f"{message} Stopping.")
            return True
        return False

    # --------------------------------------------------------------- inference

    def transform(self, X):
        """Encode X: the activations of the code layer.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_components)
            In the model's dtype (float32 for a model fitted on float32).
        """
        check_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._activations(X, 0, self._code_layer)

    def inverse_transform(self, X):
        """Decode codes back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
            The decoder's output.
        """
        check_fitted(self)
        dtype = self._params.dtype
        Z = X if plain_rows(X, dtype, self._n_features_out) else check_array(
            X, dtype=dtype, order="C")
        if Z.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {Z.shape[1]} features, but {type(self).__name__}."
                f"inverse_transform is expecting {self._n_features_out} features (the "
                "fitted number of components) as input."
            )
        return self._output_rows(
            self._activations(Z, self._code_layer + 1, len(self._layers) - 1))

    def _output_rows(self, Y):
        """The network's outputs as rows of the data it was fitted on (the
        same, unless a model reads its rows in another layout)."""
        return Y

    def score_samples(self, X):
        """Minus the reconstruction loss of each sample, summed over features.

        With ``missing``, the loss of a sample is summed over its observed
        entries and multiplied by ``n_features_in_ / (their number)``: rows with
        different numbers of observed entries compare as the mean loss per
        observed entry, on the scale of a complete row (a row with no observed
        entry scores 0).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-sum_j loss(x_j, reconstruction_j)``; higher is better.

        Notes
        -----
        With ``loss="binary_crossentropy"`` the targets are clipped to [0, 1]
        first: training data must lie in [0, 1], but held-out data scaled by a
        ``MinMaxScaler`` fitted on other rows falls slightly outside, and
        cross-validated searches score it.
        """
        check_fitted(self)
        X = self._validate_X(X, reset=False)
        if self._loss == "binary_crossentropy":
            X = clip_unit_interval(X)
        return -self._row_losses(X)

