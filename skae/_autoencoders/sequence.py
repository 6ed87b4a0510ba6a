"""SequenceAutoencoder: a recurrent (GRU or LSTM) autoencoder for series, as a transformer.

The network is a layer table like every other autoencoder's, with the layer
kinds of ``skae/_kernels/layers/``: stacked GRU or LSTM layers read the series, a dense
layer projects the last state to the code, a repeat layer gives the code to
every step, stacked recurrent layers decode it and a 1 x 1 convolution maps each
step's state back to the channels. Training, early stopping, warm starts,
interrupts, callbacks and thread choice are BaseAutoencoder's; variable lengths
come from the data (NaN right-padding, read by the kernels as each row's
length).
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, StrOptions

from .base import _STATE, BaseAutoencoder
from .dense import _fill_doc
from .sample_shapes import SampleShapeMixin, geometry
from .._core.common import check_integer_params
from .._core.layers import (
    BIDIRECTIONAL_GRU, BIDIRECTIONAL_LSTM, CONVOLUTION, DENSE, FEEDBACK, GRU, LSTM,
    REPEAT, REVERSE, build_table,
)
from .._kernels import _network

_NOT_PARAMETERS = ("activation", "missing", "tied_weights", "init")
_CELLS = {"gru": GRU, "lstm": LSTM}
_BIDIRECTIONAL = {"gru": BIDIRECTIONAL_GRU, "lstm": BIDIRECTIONAL_LSTM}
MAX_GRAD_NORM = 5.0
# patch_length="auto": about this many values a recurrent step reads (a single
# channel's recurrence otherwise runs hundreds of steps on one number each and
# its repeat decoder learns little but the mean shape) ...
PATCH_VALUES = 16
# ... while keeping at least this many steps.
PATCH_MIN_STEPS = 8


def auto_patch_length(channels, length):
    """patch_length="auto" for series of ``channels`` x ``length``: steps of
    about PATCH_VALUES values (16 // channels time points, 1 from 16 channels
    on), and at least PATCH_MIN_STEPS steps."""
    return max(1, min(PATCH_VALUES // channels, length // PATCH_MIN_STEPS))


def to_patches(X, channels, length, patch):
    """Rows of (channels, length) series as rows of (channels * patch,
    ceil(length / patch)) series: step s of channel (c, j) is time point
    s * patch + j of channel c; the last step's points past the end are NaN
    (missing values, which the loss leaves out). A copy."""
    steps = -(-length // patch)
    out = np.full((X.shape[0], channels, steps * patch), np.nan, dtype=X.dtype)
    out[:, :, :length] = X.reshape(X.shape[0], channels, length)
    out = out.reshape(X.shape[0], channels, steps, patch).transpose(0, 1, 3, 2)
    return np.ascontiguousarray(out).reshape(X.shape[0], -1)


def from_patches(Y, channels, length, patch):
    """The inverse of to_patches: rows of (channels, length) series."""
    steps = -(-length // patch)
    Y = Y.reshape(Y.shape[0], channels, patch, steps).transpose(0, 1, 3, 2)
    Y = Y.reshape(Y.shape[0], channels, steps * patch)[:, :, :length]
    return np.ascontiguousarray(Y).reshape(Y.shape[0], -1)


@_fill_doc(own=("hidden_layer_sizes", "code_activation", "batch_size", "max_iter",
                "learning_rate_init",
                *_NOT_PARAMETERS))
class SequenceAutoencoder(SampleShapeMixin, BaseAutoencoder):
    """Recurrent (GRU or LSTM) autoencoder for time series, as a transformer.

    The encoder is a stack of GRU (or LSTM) layers that reads each series step
    by step; its last state is projected to a code of ``n_components`` values.
    The decoder gives the code to every step ("repeat vector"), or the code and
    the series' previous value ("autoregressive"), runs its own stack of
    recurrent layers (the encoder's sizes, reversed) and maps each step's
    state to the channels. ``transform`` returns the code, ``inverse_transform`` decodes
    it and ``score`` is minus the mean reconstruction loss, as for
    :class:`AutoencoderTransformer`.

    Rows are what scikit-learn passes everywhere: each row is one series laid
    out channel after channel, read with ``input_shape=(n_channels,
    n_timepoints)`` (the convention of :class:`ConvAutoencoder`'s series). A
    3-D array ``(n_samples, n_channels, n_timepoints)`` (aeon's layout) is
    read as rows of that shape.

    **Variable lengths.** A series shorter than the others is padded on the
    right with NaN (tslearn's convention): the recurrence stops where the
    padding starts, the loss counts only the real steps, and a padded series
    gets the code it would get alone. NaN inside a series is a missing value:
    it enters the network as ``missing_fill`` and the loss leaves it out.

    Parameters
    ----------
    n_components : int, default=16
        Size of the code.
    input_shape : tuple of int or None, default=None
        ``(n_channels, n_timepoints)``: how a row is read. None: the shape of
        a 3-D ``X``'s samples, else one channel of ``n_features`` steps.
    patch_length : int or "auto", default="auto"
        Time points each recurrent step reads, per channel: the series is cut
        into patches of ``patch_length`` consecutive points, and a step reads
        one patch of every channel (a series of 251 points in patches of 16
        runs 16 steps of 16 values). The decoder rebuilds the series a patch
        a step; ``transform`` and ``inverse_transform`` take and give the
        series as they are. A last patch that runs past a series' end is
        padded (missing values, left out of the loss). "auto": about 16 values
        a step, ``16 // n_channels`` points (1 from 16 channels on), keeping
        at least 8 steps. One recurrent step per point loses on long series
        of one channel: on ArrowHead (251 points) and GunPoint (150) the
        codes of ``patch_length=1`` cluster near chance, those of 16 as well
        as PCA's or better (``benchmarks/bench_sequence_clustering.py``).
    cell : {"gru", "lstm"}, default="gru"
        The recurrent layers' cell: PyTorch's (and ONNX's) GRU, or an LSTM
        with a forget gate and no peepholes. A GRU has three gates to the
        LSTM's four: a quarter fewer products a step.
    bidirectional : bool, default=False
        Whether each encoder layer also reads the series backwards, from its
        last step (a second recurrence of ``units`` units, whose states follow
        the forward ones): the code then sees both ends of a series. The
        decoder reads forward.
    decoder : {"repeat", "autoregressive"}, default="repeat"
        What the decoder reads at each step: the code ("repeat vector",
        Srivastava et al., 2015), or the code and the series' previous value
        (its value one step back in the decoder's order, 0 at the first step).
        An autoregressive decoder is fed the true previous values in training
        ("teacher forcing", on the share ``teacher_forcing`` of the steps) and
        its own previous output otherwise: ``inverse_transform``,
        ``score_samples``, ``score`` and early stopping's validation rebuild
        each series from its code alone, step by step. ``skae.onnx`` exports
        it unrolled: a graph of ``n_timepoints`` steps, the weights stored once.
    teacher_forcing : float, default=0.5
        With ``decoder="autoregressive"``, the share of training steps at
        which the decoder is fed the true previous value; at the others (drawn
        per series and step from ``random_state``) it is fed its own output
        (scheduled sampling, Bengio et al., 2015; the gradient treats the fed
        values as inputs). 1.0 is plain teacher forcing, 0.0 trains the
        decoder as it is used. 0.5 was chosen on JapaneseVowels (NMI 0.88,
        against 0.82 at 1.0 and 0.87 at 0.0). Ignored by the repeat decoder.
    decoder_order : {"forward", "reversed"}, default="forward"
        The order in which the decoder rebuilds a series: from its first step,
        or from its last, as Srivastava et al. (2015) trained theirs ("reverse
        the target"). The reconstruction is returned in the series' order
        either way. ``inverse_transform`` knows codes only, not lengths: a
        reversed decoder gives a padded series' reconstruction ending at the
        last step of the row (shifted right by its padding), a forward one
        starting at the first.
    hidden_layer_sizes : tuple of int, default=(64,)
        Units of each recurrent layer of the encoder, from the input; the
        decoder's run in reverse order.
    code_activation : str, default="identity"
        Activation of the code layer.
    batch_size : int or "auto", default=16
        Minibatch size; "auto" is ``min(200, n_samples)``. Each series is its
        own chain of products through time, so small batches cost little more
        per epoch and take more steps.
    learning_rate_init : float, default=1e-2
        Step size of the optimizer. Ten times the dense autoencoders': chosen
        on JapaneseVowels (KMeans on the codes, normalised mutual information
        0.90 at 1e-2 against 0.85 at 1e-3; ``benchmarks/bench_sequence_clustering.py``).
    max_iter : int, default=100
        Maximum number of epochs of ``fit``.
    max_grad_norm : float or None, default=5.0
        Before each update, the minibatch gradient is scaled down to this
        Euclidean norm if it is longer (Pascanu et al., 2013): a recurrent
        network's gradient can explode over many steps. None never clips.
        5.0 was chosen with the step size (NMI 0.91 on JapaneseVowels against
        0.90 without clipping).
    <shared parameters>
    Attributes
    ----------
    input_shape_ : tuple of int
        ``(n_channels, n_timepoints)``, the shape rows were read with.
    patch_length_ : int
        The time points a recurrent step reads per channel
        (``patch_length``, "auto" resolved).
    coefs_ : list of ndarray
        Each layer's weights: a recurrent layer's ``(gates * units, inputs +
        units)`` matrix (gate rows in ONNX's order, z, r, n for a GRU and i, o,
        f, c for an LSTM, each ``[input weights | recurrent weights]``), the code layer's ``(units, n_components)``, the output
        layer's ``(n_channels, units, 1, 1)``.
    intercepts_ : list of ndarray
        Each layer's biases (a recurrent layer's ``[input | recurrent]``,
        ``2 * gates * units``).
    loss_curve_ : list of float
        Mean training loss per sample after each epoch (L2 penalty included).
    best_loss_ : float
        Lowest value of ``loss_curve_``.
    validation_scores_ : list of float or None
        With ``early_stopping``, the validation score after each epoch.
    best_validation_score_ : float or None
        Best validation score, that of the starting weights included.
    input_fill_ : ndarray of shape (n_network_inputs,)
        The value a missing entry enters the network as, for each of the
        network's ``n_channels * patch_length_ * n_steps`` inputs: channel
        ``c``'s point ``j`` of a patch at index
        ``(c * patch_length_ + j) * n_steps + step`` (``n_features`` values
        in the series' own order with ``patch_length_`` 1).
    n_iter_ : int
        Number of epochs trained.
    t_ : int
        Number of training samples seen.
    n_features_in_ : int
        Number of features seen during ``fit`` (``n_channels * n_timepoints``).
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``, when they are all strings.

    See Also
    --------
    ConvAutoencoder : Convolutions over series or images.
    AutoencoderTransformer : The dense autoencoder.

    Notes
    -----
    The GRU is PyTorch's (ONNX's with ``linear_before_reset=1``), and so is
    the LSTM (ONNX's without peepholes). Each row's input projection for all
    steps is one product, each step one product of a block of rows' states
    with the recurrent weights of all gates, and the backward pass keeps each
    step's gate deltas so that the weight gradients are single products after
    the time loop. Blocks of rows are split over threads; results do not
    depend on the thread count.

    ``score_samples`` scales a padded series' loss to the full width (the
    mean loss per observed value times ``n_features_in_``), so series of
    different lengths compare.

    References
    ----------
    Cho, K. et al. (2014). Learning phrase representations using RNN
    encoder-decoder for statistical machine translation. EMNLP.

    Srivastava, N., Mansimov, E. and Salakhutdinov, R. (2015). Unsupervised
    learning of video representations using LSTMs. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import SequenceAutoencoder
    >>> t = np.linspace(0, 2 * np.pi, 30)
    >>> X = np.sin(t + np.random.default_rng(0).uniform(0, 6, size=(100, 1)))
    >>> ae = SequenceAutoencoder(n_components=2, hidden_layer_sizes=(8,),
    ...                          max_iter=5, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (100, 2)
    >>> X_short = X.copy()
    >>> X_short[0, 20:] = np.nan        # a series of 20 steps
    >>> ae.inverse_transform(ae.transform(X_short[:1])).shape
    (1, 30)
    """

    _parameter_constraints: dict = {
        **{name: constraint
           for name, constraint in BaseAutoencoder._parameter_constraints.items()
           if name not in _NOT_PARAMETERS},
        "input_shape": ["array-like", None],
        "patch_length": [Interval(Integral, 1, None, closed="left"),
                         StrOptions({"auto"})],
        # No None: there is no `activation` to fall back on.
        "code_activation": [StrOptions(set(_network.ACTIVATIONS))],
        "cell": [StrOptions(set(_CELLS))],
        "bidirectional": ["boolean"],
        "decoder": [StrOptions({"repeat", "autoregressive"})],
        "teacher_forcing": [Interval(Real, 0, 1, closed="both")],
        "decoder_order": [StrOptions({"forward", "reversed"})],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
    }
    _state_attributes = (*_STATE, "input_shape_", "patch_length_")
    _sample_ranks = (2,)

    def __init__(
        self,
        n_components=16,
        *,
        input_shape=None,
        patch_length="auto",
        cell="gru",
        bidirectional=False,
        decoder="repeat",
        teacher_forcing=0.5,
        decoder_order="forward",
        hidden_layer_sizes=(64,),
        code_activation="identity",
        output_activation=None,
        loss="squared_error",
        huber_delta=1.0,
        missing_fill="mean",
        max_grad_norm=MAX_GRAD_NORM,
        solver="adam",
        alpha=1e-4,
        batch_size=16,
        learning_rate="constant",
        learning_rate_init=1e-2,
        power_t=0.5,
        max_iter=100,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=True,
        validation_fraction=0.1,
        shuffle=True,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        random_state=None,
        verbose=False,
        warm_start=False,
    ):
        self.n_components = n_components
        self.input_shape = input_shape
        self.patch_length = patch_length
        self.cell = cell
        self.bidirectional = bidirectional
        self.decoder = decoder
        self.teacher_forcing = teacher_forcing
        self.decoder_order = decoder_order
        self.hidden_layer_sizes = hidden_layer_sizes
        self.code_activation = code_activation
        self.output_activation = output_activation
        self.loss = loss
        self.huber_delta = huber_delta
        self.missing_fill = missing_fill
        self.max_grad_norm = max_grad_norm
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
        check_integer_params(self, ("n_components", "batch_size", "max_iter", "max_fun",
                                    "n_iter_no_change", "random_state"))
        sizes = (list(self.hidden_layer_sizes) if np.ndim(self.hidden_layer_sizes) == 1
                 else None)
        if not sizes or not all(isinstance(s, Integral) and not isinstance(s, bool)
                                and s >= 1 for s in sizes):
            raise ValueError("hidden_layer_sizes must be a non-empty sequence of "
                             "positive ints (the units of each recurrent layer); got "
                             f"{self.hidden_layer_sizes!r}.")
        if 2 * len(sizes) + 4 > _network.MAX_DEPTH:
            raise ValueError(f"{len(sizes)} recurrent layers make too deep a network; at most "
                             f"{(_network.MAX_DEPTH - 4) // 2} are supported.")
        self._check_input_shape()
        if self.loss == "binary_crossentropy" and self._output_activation() != "sigmoid":
            raise ValueError(
                "loss='binary_crossentropy' needs the sigmoid output activation; got "
                f"output_activation={self._output_activation()!r}.")

    def _validate_X(self, X, *, reset, check_range=False):
        """Series as rows; NaN marks padding and missing values, but every
        series needs one observed value."""
        if sp.issparse(X):
            raise TypeError("SequenceAutoencoder does not support sparse input: it reads "
                            "dense series. Pass X.toarray() (NaN, not an unstored "
                            "entry, marks a missing value).")
        X = super()._validate_X(X, reset=reset, check_range=check_range)
        empty = np.flatnonzero(np.isnan(X).all(axis=1))
        if empty.size:
            raise ValueError(
                f"{empty.size} series of X (rows {empty[:5].tolist()}"
                f"{', ...' if empty.size > 5 else ''}) hold only NaN: a series needs "
                "at least one observed value. Drop those rows.")
        channels, length = self.input_shape_
        if reset:
            self.patch_length_ = self._patch_for(channels, length)
        patch = self.patch_length_
        return X if patch == 1 else to_patches(X, channels, length, patch)

    # ----------------------------------------------------------------- patches
    #
    # The network reads rows of patches (to_patches); fit and the fitted
    # methods convert on the way in (_validate_X) and out (_output_rows),
    # and scale the row losses back to the series' own width.

    def _patch_for(self, channels, length):
        """patch_length for series of channels x length, "auto" resolved."""
        if self.patch_length == "auto":
            return auto_patch_length(channels, length)
        return int(self.patch_length)

    @property
    def _n_features_fitted(self):
        """The series' width, n_channels * n_timepoints: that of the rows the
        network reads with patches of one point, else of input_shape_."""
        if self.patch_length_ == 1:
            return super()._n_features_fitted
        return int(np.prod(self.input_shape_))

    def __setstate__(self, state):
        # A model saved before patches read one point a step: it keeps doing
        # so (and get_params, clone and warm starts find the parameter).
        state = dict(state)
        state.setdefault("patch_length", 1)
        if "_params" in state:
            state.setdefault("patch_length_", 1)
        super().__setstate__(state)

    def _check_same_architecture(self, n_features):
        fitted, asked = self.patch_length_, self._patch_for(*self.input_shape_)
        if asked != fitted:
            raise ValueError(
                f"patch_length={self.patch_length!r} makes patches of {asked} points, but "
                f"the model was fitted with patches of {fitted} (patch_length_); call "
                "fit without warm_start to train a new model.")
        super()._check_same_architecture(n_features)

    def _input_fill(self, X):
        if self.patch_length_ == 1 or isinstance(self.missing_fill, str):
            return super()._input_fill(X)
        # missing_fill given per feature of the series: checked at that width,
        # then laid out as the network reads it (0 for the padding's inputs).
        channels, length = self.input_shape_
        fill = super()._input_fill(np.empty((0, channels * length), dtype=X.dtype))
        patched = to_patches(fill[np.newaxis], channels, length, self.patch_length_)
        return np.nan_to_num(patched[0], nan=0.0)

    def _row_losses(self, X, rows=None, row_seeds=None):
        """The kernel scales a row's loss to the network's width, which
        counts the last patch's padding: back to the series' width."""
        losses = super()._row_losses(X, rows, row_seeds)
        if self.patch_length_ == 1:
            return losses
        return losses * (self._n_features_fitted / X.shape[1])

    def _output_rows(self, Y):
        """The decoder's rows of patches as series."""
        patch = self.patch_length_
        if patch == 1:
            return Y
        channels, length = self.input_shape_
        return from_patches(Y, channels, length, patch)

    def _max_grad_norm(self):
        return 0.0 if self.max_grad_norm is None else self.max_grad_norm

    def _decoder_config(self):
        return {"teacher_forcing": float(self.teacher_forcing)}

    def _missing_mode(self):
        """NaN is always missing here: padding at a series' end, a missing
        value inside it."""
        return "nan"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    # ------------------------------------------------------------ architecture

    @property
    def _n_encoder_layers(self):
        return len(self.hidden_layer_sizes) + 1

    def _code_activation(self):
        return self.code_activation

    def _init_option(self):
        """Random weights: PCA's solution is no recurrent network's start."""
        return "random"

    def _input_density_limit(self):
        """0: the first layer is recurrent and reads every entry."""
        return 0.0

    def _layer_table(self, n_features):
        """Recurrent layers (the last giving its last state), the dense code,
        the repeat (or feedback) layer, the decoder's recurrent layers (then,
        for a reversed decoder, the reverse layer) and the 1 x 1 convolution
        back to the channels, with the output activation. The convolution acts
        on each step alone, so reversing before it is reversing the
        reconstruction, and the output layer stays the last (the losses read
        its activation)."""
        channels, _, length = geometry(self._row_shape() or (1, n_features))
        patch = self._patch_for(channels, length)
        channels, steps = channels * patch, -(-length // patch)
        sizes = [int(s) for s in self.hidden_layer_sizes]
        cell = _CELLS[self.cell]
        encoder = _BIDIRECTIONAL[self.cell] if self.bidirectional else cell
        layers, shape = [], (channels, 1, steps)
        for k, units in enumerate(sizes):
            layers.append(encoder.layer(shape, units, sequences=k < len(sizes) - 1))
            shape = layers[-1].output_shape
        layers.append(DENSE.layer(shape, self.n_components, self._code_activation()))
        if self.decoder == "autoregressive":
            # It steps through the decoder's layers, the reverse and output ones.
            depth = len(sizes) + (self.decoder_order == "reversed") + 1
            layers.append(FEEDBACK.layer(self.n_components, channels, steps, depth))
        else:
            layers.append(REPEAT.layer(self.n_components, steps))
        shape = layers[-1].output_shape
        for units in reversed(sizes):
            layers.append(cell.layer(shape, units))
            shape = layers[-1].output_shape
        if self.decoder_order == "reversed":
            layers.append(REVERSE.layer(shape))
        layers.append(CONVOLUTION.layer(shape, channels, (1, 1), (1, 1), (0, 0), (1, 1),
                                        self._output_activation()))
        return build_table(layers)

    @property
    def components_(self):
        raise AttributeError(
            "SequenceAutoencoder has no components_: its first layer is recurrent. "
            "Its weights are coefs_[0].")
