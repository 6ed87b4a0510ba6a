"""ConvAutoencoder: convolution and pooling in the encoder, upsampling and
transposed convolution in the decoder, for images and time series.

The network is a layer table like the dense autoencoders', with the layer kinds
of ``skae/_kernels/layers/`` (convolution, pooling, upsampling, transposed
convolution) around an optional dense code; training, early stopping, warm
starts, interrupts, callbacks and thread choice are BaseAutoencoder's.
"""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .base import _STATE, BaseAutoencoder
from .dense import _fill_doc
from .sample_shapes import SampleShapeMixin
from .._core.common import check_integer_params
from .._core.layers import (
    AVERAGE_POOL, CONVOLUTION, DENSE, MAX_POOL, TRANSPOSED_CONVOLUTION, UPSAMPLE,
    build_table,
)
from .._kernels import _network

_POOLS = {"max": MAX_POOL, "average": AVERAGE_POOL}


def _per_layer(value, name, n_layers):
    """An int for every layer, or one per layer, as a list of ints."""
    values = [value] * n_layers if isinstance(value, Integral) else list(value)
    if len(values) != n_layers or not all(
            isinstance(v, Integral) and not isinstance(v, bool) and v >= 1
            for v in values):
        raise ValueError(f"{name} must be a positive int or one positive int per "
                         f"convolution layer ({n_layers}); got {value!r}.")
    return [int(v) for v in values]


@_fill_doc(own=("hidden_layer_sizes", "tied_weights", "code_activation", "batch_size"))
class ConvAutoencoder(SampleShapeMixin, BaseAutoencoder):
    """Convolutional autoencoder for images and time series, as a transformer.

    The encoder is a stack of convolutions, each followed by a pooling, then
    an optional dense code of ``n_components`` units; the decoder mirrors it
    with nearest upsampling (undoing each pooling) and transposed convolutions
    (each the adjoint of its mirror convolution, optionally sharing its
    filters). ``transform`` returns the code, ``inverse_transform`` decodes it
    and ``score`` is minus the mean reconstruction loss, as for
    :class:`AutoencoderTransformer`.

    Rows are what scikit-learn passes everywhere: each row is one image or
    series laid out channel after channel (``load_digits().data``, MNIST rows),
    read with ``input_shape``. A 3-D array ``(n_samples, n_channels,
    n_timepoints)`` (aeon's layout) or a 4-D array ``(n_samples, channels,
    height, width)`` is accepted too and read as rows of that shape.

    Parameters
    ----------
    n_components : int or None, default=32
        Units of the dense code layer; None leaves it out, and the code is the
        last feature maps, flattened.
    input_shape : tuple of int or None, default=None
        How a row is read: ``(channels, height, width)`` for images (2-D
        convolutions) or ``(channels, length)`` for series (1-D convolutions).
        None: the shape of a 3-D or 4-D ``X``'s samples, else one series of
        ``n_features`` points a row.
    filters : tuple of int, default=(16, 32)
        Filters of each convolution layer of the encoder, in order.
    kernel_size : int or tuple of int, default=3
        Kernel length along each axis (images: ``k x k``), for all layers or
        one per layer.
    strides : int or tuple of int, default=1
        Stride of each convolution, for all layers or one per layer.
    padding : {"same", "valid"}, default="same"
        "same" pads with zeros so that a stride-1 convolution keeps the map's
        size (needs ``dilation * (kernel_size - 1)`` even); "valid" does not pad.
    dilation : int or tuple of int, default=1
        Spacing of each kernel's taps, for all layers or one per layer
        (``(1, 2, 4)`` grows the receptive field of a series exponentially).
    pooling : {"max", "average"} or None, default="max"
        The pooling after each convolution; None for none.
    pool_size : int, default=2
        Window and stride of each pooling, along every axis at least that long
        (a shorter axis is not pooled).
    tied_weights : bool, default=False
        Whether each transposed convolution (and the dense decoder layer) uses
        its mirror's weights: half the filters, the decoder the encoder's
        adjoint.
    code_activation : str or None, default="identity"
        Activation of the dense code layer; None uses ``activation``. Unused
        without a dense code.
    batch_size : int or "auto", default=32
        Minibatch size; "auto" is ``min(200, n_samples)``. A convolution runs
        one product per row, so an epoch costs about the same at 32 as at 200
        rows a step, and 32 takes six times the steps: on 10,000 MNIST rows, 5
        epochs reached a test cross-entropy of 67.1 at 32, 71.4 at 64 and 87.8
        at "auto", in the same 25-29 seconds.
    <shared parameters>
    Attributes
    ----------
    input_shape_ : tuple of int
        The shape rows were read with, ``(channels, length)`` or ``(channels,
        height, width)``.
    <shared attributes>
    See Also
    --------
    AutoencoderTransformer : The dense autoencoder.

    Notes
    -----
    ``coefs_`` holds each layer's weights in its own shape: a convolution's
    ``(filters, channels, kh, kw)``, a transposed convolution's ``(channels in,
    channels out, kh, kw)``, a dense layer's ``(n_in, n_out)``; ``components_``
    the first layer's filters as rows (``filters, channels * kh * kw``), for
    :func:`skae.plotting.plot_filters`. Each row is one GEMM per convolution
    layer (im2col), rows are split over threads; results do not depend on the
    thread count.

    The decoder undoes a pooling by nearest upsampling, not by max-unpooling
    through the positions the encoder's maxima came from: those positions are
    not in the code, so a decoder that used them would reconstruct from more
    than the code, and ``inverse_transform`` of a code alone would have none
    (the user guide gives the measurement).

    References
    ----------
    Masci, J., Meier, U., Ciresan, D. and Schmidhuber, J. (2011). Stacked
    convolutional auto-encoders for hierarchical feature extraction. ICANN.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import ConvAutoencoder
    >>> X = load_digits().data / 16
    >>> ae = ConvAutoencoder(n_components=10, input_shape=(1, 8, 8), filters=(8,),
    ...                      max_iter=5, random_state=0).fit(X)
    >>> ae.transform(X).shape
    (1797, 10)
    >>> ae.inverse_transform(ae.transform(X[:2])).shape
    (2, 64)
    """

    _parameter_constraints: dict = {
        **{name: constraint
           for name, constraint in BaseAutoencoder._parameter_constraints.items()
           if name not in ("hidden_layer_sizes", "init", "n_components")},
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "input_shape": ["array-like", None],
        "filters": ["array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "strides": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "padding": [StrOptions({"same", "valid"})],
        "dilation": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "pooling": [StrOptions(set(_POOLS)), None],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
    }
    _state_attributes = (*_STATE, "input_shape_")

    def __init__(
        self,
        n_components=32,
        *,
        input_shape=None,
        filters=(16, 32),
        kernel_size=3,
        strides=1,
        padding="same",
        dilation=1,
        pooling="max",
        pool_size=2,
        activation="relu",
        code_activation="identity",
        output_activation=None,
        loss="squared_error",
        huber_delta=1.0,
        missing=None,
        missing_fill="mean",
        tied_weights=False,
        solver="adam",
        alpha=1e-4,
        batch_size=32,
        learning_rate="constant",
        learning_rate_init=1e-3,
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
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.dilation = dilation
        self.pooling = pooling
        self.pool_size = pool_size
        self.activation = activation
        self.code_activation = code_activation
        self.output_activation = output_activation
        self.loss = loss
        self.huber_delta = huber_delta
        self.missing = missing
        self.missing_fill = missing_fill
        self.tied_weights = tied_weights
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
                                    "n_iter_no_change", "random_state", "pool_size"))
        filters = self._filters()
        for name in ("kernel_size", "strides", "dilation"):
            _per_layer(getattr(self, name), name, len(filters))
        self._check_input_shape()
        depth = len(filters) * (2 if self.pooling else 1) * 2 + 2
        if depth > _network.MAX_DEPTH:
            raise ValueError(f"{len(filters)} convolution layers make a network of "
                             f"{depth} layers; at most {_network.MAX_DEPTH} are supported.")
        if self.loss == "binary_crossentropy" and self._output_activation() != "sigmoid":
            raise ValueError(
                "loss='binary_crossentropy' needs the sigmoid output activation; got "
                f"output_activation={self._output_activation()!r}.")

    def _filters(self):
        filters = list(self.filters) if np.ndim(self.filters) == 1 else None
        if not filters or not all(isinstance(f, Integral) and not isinstance(f, bool)
                                  and f >= 1 for f in filters):
            raise ValueError("filters must be a non-empty sequence of positive ints (one "
                             f"per convolution layer); got {self.filters!r}.")
        return [int(f) for f in filters]

    def _encoder(self, n_features):
        """The encoder's convolution and pooling layers, then the dense code.
        A series' windows span one row of height (kernel, stride and dilation 1
        along it, no padding)."""
        geometry = self._geometry(n_features)
        series = len(self._row_shape() or (1, n_features)) == 2
        filters = self._filters()
        kernels, strides, dilations = (
            _per_layer(getattr(self, name), name, len(filters))
            for name in ("kernel_size", "strides", "dilation"))
        def axis(value, flat):
            """(height, width) of a window setting: a series' height axis has
            the flat value (1, or 0 for padding)."""
            return (flat, value) if series else (value, value)

        layers, shape = [], geometry
        for f, k, s, d in zip(filters, kernels, strides, dilations):
            if self.padding == "same" and d * (k - 1) % 2:
                raise ValueError(
                    f"padding='same' needs dilation * (kernel_size - 1) even; got "
                    f"kernel_size={k}, dilation={d}. Use an odd kernel_size or "
                    "padding='valid'.")
            pad = d * (k - 1) // 2 if self.padding == "same" else 0
            conv = CONVOLUTION.layer(shape, f, axis(k, 1), axis(s, 1), axis(pad, 0),
                                     axis(d, 1), self.activation)
            layers.append(conv)
            shape = conv.output_shape
            if self.pooling is not None:
                size = tuple(self.pool_size if n >= self.pool_size else 1
                             for n in shape[1:])
                pool = _POOLS[self.pooling].layer(shape, size)
                layers.append(pool)
                shape = pool.output_shape
        if self.n_components is not None:
            layers.append(DENSE.layer(shape, self.n_components, self._code_activation()))
        return layers

    @property
    def _n_encoder_layers(self):
        per_conv = 2 if self.pooling is not None else 1
        return len(self._filters()) * per_conv + (self.n_components is not None)

    def _layer_table(self, n_features):
        """The encoder, then its mirror: the dense decoder layer (back to the
        last feature maps), and for each convolution from the last, an
        upsampling undoing its pooling and a transposed convolution back to its
        input's shape; the last one has the output activation."""
        encoder = self._encoder(n_features)
        n_enc = len(encoder)
        decoder = []
        if self.n_components is not None:
            code = encoder[-1]
            decoder.append(DENSE.layer(code.n_out, code.input_shape, self.activation,
                                       n_enc - 1 if self.tied_weights else None))
        for j in range(n_enc - 1 - (self.n_components is not None), -1, -1):
            layer = encoder[j]
            window = layer.window
            if layer.kind == CONVOLUTION.name:
                activation = self._output_activation() if j == 0 else self.activation
                decoder.append(TRANSPOSED_CONVOLUTION.layer(
                    layer.output_shape, layer.input_shape, window[0:2], window[2:4],
                    window[4:6], window[6:8], activation,
                    j if self.tied_weights else None))
            else:
                decoder.append(UPSAMPLE.layer(layer.output_shape, layer.input_shape,
                                              window[2:4]))
        return build_table(encoder + decoder)

    def _init_option(self):
        """Random weights: PCA's solution is no convolution's start."""
        return "random"

    def _input_density_limit(self):
        """0: the first layer is a convolution, which reads every entry."""
        return 0.0

    @property
    def components_(self):
        """ndarray of shape (filters, channels * kh * kw): the first
        convolution's filters, one a row."""
        weights = self._layer_matrix(0)
        return weights.reshape(weights.shape[0], -1)
