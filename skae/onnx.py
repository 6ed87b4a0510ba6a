"""Export to ONNX through skl2onnx (the optional extra ``[onnx]``).

Importing this module registers skl2onnx converters for the ``transform`` of
every dense autoencoder (its encoder; a VariationalAE's mean) and RBM
(``P(h|v)``), so that :func:`skl2onnx.to_onnx` converts them alone or inside
a scikit-learn pipeline. :class:`Decoder` exports an ``inverse_transform``.

The graph is built from the fitted layer table, each layer from its kind's
export description: a dense layer is a ``MatMul`` by its matrix (a tied
decoder layer's is its mirror's transpose), an ``Add`` of its bias and the
activation's operator; a convolution, transposed convolution or pooling is
ONNX's ``Conv``, ``ConvTranspose``, ``MaxPool`` or ``AveragePool`` on the rows
reshaped to images (in float64, which onnxruntime lacks for all but
``MaxPool``, a gather of the windows and a ``MatMul``); an upsampling is a
``Gather`` of the entries it repeats; a GRU or LSTM layer is ONNX's ``GRU``
(``linear_before_reset=1``) or ``LSTM`` over the rows read as (steps, rows,
channels), each row's ``sequence_lens`` read from its NaN padding, and the
repeat layer an ``Expand`` (onnxruntime has no float64 ``GRU`` or ``LSTM``: a
recurrent model exports with float32 input). A model with ``missing`` first
replaces each missing entry by its ``input_fill_``, as ``transform`` does:
NaN for "nan"; for "unstored" the graph takes the densified ratings matrix
(ONNX tensors are dense), whose zeros are the entries the CSR did not store. The weights are stored in the type of
the graph's input: a float64 model exported with float32 input runs in
float32.

Examples
--------
>>> import numpy as np
>>> import onnxruntime as ort
>>> from skl2onnx import to_onnx
>>> from sklearn.datasets import load_digits
>>> from skae import DenoisingAE
>>> import skae.onnx
>>> X = (load_digits().data / 16).astype(np.float32)
>>> ae = DenoisingAE(n_components=8, max_iter=5, random_state=0).fit(X)
>>> model = to_onnx(ae, X[:1])
>>> session = ort.InferenceSession(model.SerializeToString(),
...                                providers=["CPUExecutionProvider"])
>>> codes = session.run(None, {session.get_inputs()[0].name: X})[0]
>>> bool(np.allclose(codes, ae.transform(X), atol=1e-5))
True
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "skae.onnx needs skl2onnx and onnx: pip install 'skae[onnx]' (which also "
        "installs onnxruntime to run the exported models)."
    ) from error

from ._autoencoders.base import BaseAutoencoder
from ._autoencoders.dense import AutoencoderTransformer, ContractiveAE, DenoisingAE, SparseAE
from ._autoencoders.stacked import StackedAE
from ._autoencoders.variational import VariationalAE
from ._autoencoders.convolutional import ConvAutoencoder
from ._autoencoders.sequence import SequenceAutoencoder
from ._core.layers import kind_of, layer_row
from ._rbms.rbm import BernoulliRBM, GaussianBernoulliRBM, _BaseRBM

__all__ = ["Decoder", "register_converters"]

_ACTIVATION_OPS = {
    "identity": None,
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "relu": ("Relu", {}),
    "elu": ("Elu", {"alpha": 1.0}),
    "softplus": ("Softplus", {}),
}


class Decoder(TransformerMixin, BaseEstimator):
    """An estimator's ``inverse_transform`` as a ``transform``, for export.

    skl2onnx converts an estimator's ``transform``; wrap a fitted autoencoder
    or RBM in a Decoder to convert its decoder instead: the exported graph maps
    codes (n_samples, n_components) to reconstructions (n_samples,
    n_features).

    Parameters
    ----------
    estimator : fitted skae autoencoder or RBM
        The model whose ``inverse_transform`` to export (not copied).

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from skl2onnx import to_onnx
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.onnx import Decoder
    >>> X = (load_digits().data / 16).astype(np.float32)
    >>> ae = AutoencoderTransformer(n_components=4, max_iter=5, random_state=0).fit(X)
    >>> Z = ae.transform(X)
    >>> model = to_onnx(Decoder(ae), Z[:1])
    >>> session = ort.InferenceSession(model.SerializeToString(),
    ...                                providers=["CPUExecutionProvider"])
    >>> R = session.run(None, {session.get_inputs()[0].name: Z})[0]
    >>> bool(np.allclose(R, ae.inverse_transform(Z), atol=1e-5))
    True
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X=None, y=None):
        """Check that the wrapped estimator is fitted; nothing is trained.

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : object
        """
        _check_exportable(self.estimator, decode=True)
        return self

    def transform(self, X):
        """The wrapped estimator's ``inverse_transform(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
        """
        return self.estimator.inverse_transform(X)

    def __sklearn_is_fitted__(self):
        return True


def _check_exportable(estimator, decode):
    if not isinstance(estimator, (BaseAutoencoder, _BaseRBM)):
        raise TypeError(
            "skae.onnx exports skae's autoencoders and RBMs; got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    if isinstance(estimator, BaseAutoencoder):
        # Before any node is written: a layer kind without an export raises
        # (only the half exported: an encoder exports whatever its decoder).
        _steps(estimator, decode)


class _Graph:
    """Adds nodes to skl2onnx's container in the input's element type."""

    def __init__(self, scope, operator, container):
        self.scope, self.container = scope, container
        # Each row's length (int32, n) for the recurrent layers: set by _emit
        # from the input's padding; None: every row is whole.
        self.lengths = None
        self.name = operator.full_name
        double = isinstance(operator.inputs[0].type, DoubleTensorType)
        self.proto = TensorProto.DOUBLE if double else TensorProto.FLOAT
        self.dtype = np.float64 if double else np.float32

    def constant(self, label, values):
        """A constant in the graph's element type (weights, biases, fills)."""
        return self._initializer(label, np.asarray(values, dtype=self.dtype), self.proto)

    def integers(self, label, values):
        """An int64 constant (shapes, indices)."""
        return self._initializer(label, np.asarray(values, dtype=np.int64),
                                 TensorProto.INT64)

    def _initializer(self, label, values, proto):
        name = self.scope.get_unique_variable_name(f"{self.name}_{label}")
        self.container.add_initializer(name, proto, list(values.shape),
                                       values.ravel().tolist())
        return name

    def node(self, op, inputs, output=None, **attrs):
        return self.node_outputs(op, inputs, [output], **attrs)[0]

    def node_outputs(self, op, inputs, outputs, **attrs):
        """A node with several outputs (None: a fresh name); their names."""
        outputs = [name or self.scope.get_unique_variable_name(f"{self.name}_{op}")
                   for name in outputs]
        self.container.add_node(op, inputs, outputs,
                                name=self.scope.get_unique_operator_name(op), **attrs)
        return outputs

    def affine(self, x, W, b, activation, output=None):
        """activation(x @ W + b), the last node writing output."""
        z = self.node("Add", [self.node("MatMul", [x, self.constant("W", W)]),
                              self.constant("b", b)],
                      output=output if _ACTIVATION_OPS[activation] is None else None)
        return self.activate(z, activation, output)

    def activate(self, z, activation, output=None):
        """The activation's node on z, writing output; z itself for the
        identity (whose caller then wrote output already, or passes none)."""
        op = _ACTIVATION_OPS[activation]
        if op is None:
            return z
        if activation == "elu" and self.dtype == np.float64:
            # onnxruntime has no float64 Elu: z if z > 0 else exp(z) - 1 (the
            # branch not taken may overflow to inf; Where drops it).
            positive = self.node("Greater", [z, self.constant("zero", 0.0)])
            below = self.node("Sub", [self.node("Exp", [z]), self.constant("one", 1.0)])
            return self.node("Where", [positive, z, below], output=output)
        if activation == "softplus" and self.dtype == np.float64:
            # Nor a float64 Softplus: max(z, 0) + log(1 + exp(-|z|)), as the kernel.
            tail = self.node("Log", [self.node("Add", [
                self.constant("one", 1.0),
                self.node("Exp", [self.node("Neg", [self.node("Abs", [z])])])])])
            return self.node("Add", [self.node("Relu", [z]), tail], output=output)
        return self.node(op[0], [z], output=output, **op[1])

    def images(self, x, shape):
        """Rows (n, c * h * w) as images (n, c, h, w); a series is an image of
        height 1, as in the kernels."""
        return self.node("Reshape", [x, self.integers("shape", (-1, *shape))])

    def rows(self, x, shape, output=None):
        """Images (n, c, h, w) as rows (n, c * h * w), channel after channel."""
        return self.node("Reshape", [x, self.integers("shape", (-1, int(np.prod(shape))))],
                         output=output)


# Each step of an export description (the layer kinds' ``export``,
# skae/_core/layers.py) as nodes: writer(graph, x, step, output) -> the
# step's output, written to ``output`` if given.

def _write_dense(graph, x, step, output):
    _, W, b, activation = step
    return graph.affine(x, W, b, activation, output=output)


def _write_mean(graph, x, step, output):
    # A sampling layer outputs its mean at inference: the heads' first k columns.
    starts, ends, axes = (graph.integers(label, [value]) for label, value in
                          (("starts", 0), ("ends", step[1]), ("axes", 1)))
    return graph.node("Slice", [x, starts, ends, axes], output=output)


def _window_attributes(window):
    """ONNX's attributes of a window (symmetric zero padding)."""
    return dict(kernel_shape=list(window["kernel"]), strides=list(window["stride"]),
                pads=list(window["padding"]) * 2, dilations=list(window["dilation"]))


def _window_index(positions, image, window, transposed):
    """index (n_positions, channels * kh * kw): the flattened entry of the
    image (channels, height, width) that each window position reads at each
    tap, or channels * height * width (a zero appended to the row) where it
    reads padding.

    A convolution's window over ``positions`` (oh, ow) reads image entry
    iy = oy * sh - ph + ky * dh (columns alike). A transposed convolution's
    windows slide over its output, so output position y gathers, at tap ky,
    the input position iy with iy * sh - ph + ky * dh = y, if there is one
    (layers/window.pxd)."""
    (c, h, w), (kh, kw) = image, window["kernel"]
    (sh, sw), (ph, pw), (dh, dw) = window["stride"], window["padding"], window["dilation"]

    def axis(n_out, n_in, k, s, p, d):
        out, tap = np.arange(n_out)[:, None], np.arange(k)[None, :]
        if transposed:
            reach = out + p - tap * d
            at = np.where(reach % s == 0, reach // s, -1)
        else:
            at = out * s - p + tap * d
        return np.where((at >= 0) & (at < n_in), at, -1)  # (n_out, k), -1 padding

    ys, xs = axis(positions[0], h, kh, sh, ph, dh), axis(positions[1], w, kw, sw, pw, dw)
    y = ys[:, None, None, :, None]  # (oh, 1, channel, ky, kx) against (1, ow, ...)
    x = xs[None, :, None, None, :]
    channel = np.arange(c)[None, None, :, None, None]
    index = np.where((y >= 0) & (x >= 0), channel * (h * w) + y * w + x, c * h * w)
    return index.reshape(positions[0] * positions[1], c * kh * kw)


def _gathered_product(graph, x, index, W, b):
    """Rows x (n, k) with a zero appended; their entries gathered by ``index``
    (positions, taps) times W (taps, channels), plus b: the output maps
    (n, channels, positions)."""
    padded = graph.node("Pad", [x, graph.integers("pads", [0, 0, 0, 1])])
    windows = graph.node("Gather", [padded, graph.integers("index", index)], axis=1)
    z = graph.node("Add", [graph.node("MatMul", [windows, graph.constant("W", W)]),
                           graph.constant("b", b)])
    return graph.node("Transpose", [z], perm=[0, 2, 1])


# onnxruntime runs Conv, ConvTranspose and AveragePool in float32 only: a
# float64 graph computes them as gathers of each window's entries and a
# product (the kernels' own im2col), in float64 like the model.

def _write_convolution(graph, x, step, output):
    _, W, b, activation, shape_in, shape_out, window = step
    if graph.dtype == np.float64:
        index = _window_index(shape_out[1:], shape_in, window, transposed=False)
        z = _gathered_product(graph, x, index, W.reshape(len(W), -1).T, b)
    else:
        z = graph.node("Conv", [graph.images(x, shape_in), graph.constant("W", W),
                                graph.constant("b", b)], **_window_attributes(window))
    return graph.rows(graph.activate(z, activation), shape_out, output)


def _write_transposed_convolution(graph, x, step, output):
    _, W, b, activation, shape_in, shape_out, window = step
    if graph.dtype == np.float64:
        index = _window_index(shape_out[1:], shape_in, window, transposed=True)
        # W (in, out, kh, kw) -> (in * kh * kw, out), the index's tap order.
        z = _gathered_product(graph, x, index,
                              W.transpose(0, 2, 3, 1).reshape(-1, W.shape[1]), b)
    else:
        # The stored output size undoes a stride's rounding: ONNX's
        # output_padding is what the size leaves beyond the windows' reach
        # (less than the stride).
        reach = [s * (n - 1) + d * (k - 1) + 1 - 2 * p for n, k, s, p, d in zip(
            shape_in[1:], window["kernel"], window["stride"], window["padding"],
            window["dilation"])]
        z = graph.node("ConvTranspose", [graph.images(x, shape_in),
                                         graph.constant("W", W), graph.constant("b", b)],
                       output_padding=[n - r for n, r in zip(shape_out[1:], reach)],
                       **_window_attributes(window))
    return graph.rows(graph.activate(z, activation), shape_out, output)


def _pooling_writer(op):
    def write(graph, x, step, output):
        _, shape_in, shape_out, window = step
        if op == "AveragePool" and graph.dtype == np.float64:
            # Each channel's windows on its own: (channels * positions, taps).
            c, h, w = shape_in
            one = (1, h, w)
            index = np.concatenate([
                _window_index(shape_out[1:], one, window, transposed=False) + k * h * w
                for k in range(c)])
            windows = graph.node("Gather", [x, graph.integers("index", index)], axis=1)
            return graph.node("ReduceMean", [windows, graph.integers("axes", [2])],
                              output=output, keepdims=0)
        attributes = _window_attributes(window)
        del attributes["dilations"], attributes["pads"]  # 1 and 0 (layers.py)
        z = graph.node(op, [graph.images(x, shape_in)], **attributes)
        return graph.rows(z, shape_out, output)
    return write


def _write_gather(graph, x, step, output):
    return graph.node("Gather", [x, graph.integers("index", step[1])], output=output,
                      axis=1)


def _write_recurrent(graph, x, step, output):
    """ONNX's GRU or LSTM over rows (n, C * T) read as (T, n, C), each row
    stopping at its length; the states back as rows (n, D * H * T), or the
    last states (n, D * H), D the directions (ONNX's "bidirectional" stacks
    them as skae's channels do: forward, then backward)."""
    kind, W, b, (c, _, t), (channels, _, t_out) = step
    directions = len(W)
    series = graph.node("Transpose", [graph.images(x, (c, t))], perm=[2, 0, 1])
    inputs = [series, graph.constant("W", W[:, :, :c]), graph.constant("R", W[:, :, c:]),
              graph.constant("B", b)]
    if graph.lengths is not None:
        inputs.append(graph.lengths)        # sequence_lens; omitted: every row whole
    attributes = {"hidden_size": int(channels // directions),
                  "direction": "bidirectional" if directions == 2 else "forward"}
    if kind == "gru":
        attributes["linear_before_reset"] = 1
    states, last = graph.node_outputs(kind.upper(), inputs, [None, None], **attributes)
    if t_out == 1:     # (D, n, H) -> (n, D, H)
        return graph.rows(graph.node("Transpose", [last], perm=[1, 0, 2]), (channels,),
                          output)
    # (T, D, n, H) -> (n, D, H, T)
    return graph.rows(graph.node("Transpose", [states], perm=[2, 1, 3, 0]),
                      (channels, t), output)


def _write_repeat(graph, x, step, output):
    """A code (n, k) given to each of T steps: rows (n, k * T)."""
    steps = step[1]
    code = graph.node("Unsqueeze", [x, graph.integers("axes", [2])])
    repeated = graph.node("Expand", [code, graph.integers("shape", [1, 1, steps])])
    return graph.node("Reshape", [repeated, graph.integers("shape", [0, -1])],
                      output=output)


def _write_reverse(graph, x, step, output):
    """Each row's steps in reverse order. It ends a reversed decoder, which the
    export feeds codes: no lengths, so every row has its T steps (as in the
    kernels' inverse_transform)."""
    channels, steps = step[1]
    if graph.lengths is not None:
        raise ValueError("skae.onnx exports a reverse layer only in a decoder fed "
                         "codes (every row whole), not over series with lengths.")
    series = graph.images(x, (channels, steps))            # (n, C, T)
    reversed_ = graph.node("Slice", [series, graph.integers("starts", [-1]),
                                     graph.integers("ends", [-(steps + 1)]),
                                     graph.integers("axes", [2]),
                                     graph.integers("steps", [-1])])
    return graph.rows(reversed_, (channels, steps), output)


def _recurrent_step(graph, x, step, weights, ones, state):
    """One step of a one-direction GRU or LSTM on x (n, C) from state (its
    h, and c for an LSTM; None: zeros), ones each row's length (int32, n):
    (its new h (n, H), its new state)."""
    kind, _, _, _, (units, _, _) = step
    inputs = [graph.node("Unsqueeze", [x, graph.integers("axes", [0])]), *weights, ones]
    inputs += state or []
    attributes = {"hidden_size": int(units), "direction": "forward"}
    if kind == "gru":
        attributes["linear_before_reset"] = 1
    outputs = graph.node_outputs(kind.upper(), inputs,
                                 [None] * (3 if kind == "lstm" else 2), **attributes)
    state = outputs[1:]                                       # (1, n, H) each
    return graph.node("Squeeze", [state[0], graph.integers("axes", [0])]), state


def _write_autoregressive(graph, code, step, above, output):
    """A decoder fed its own previous output, unrolled: at each of T steps the
    layers above the feedback layer (recurrent layers carrying their states,
    the 1 x 1 output convolution as a product) run on [code | the previous
    step's output] (0 at the first); a reversed decoder's steps are the
    series' last to first. A graph of T steps, the weights stored once."""
    _, (k, channels, steps) = step
    reverse = any(s[0] == "reverse" for s in above)
    layers = [s for s in above if s[0] != "reverse"]
    weights = []
    for s in layers:
        if s[0] in _RECURRENT:
            c = s[3][0]
            weights.append([graph.constant("W", s[1][:, :, :c]),
                            graph.constant("R", s[1][:, :, c:]),
                            graph.constant("B", s[2])])
        else:                                                 # ("convolution", W, b, ...)
            weights.append([graph.constant("W", s[1].reshape(len(s[1]), -1).T),
                            graph.constant("b", s[2])])
    fed = graph.node("MatMul", [code, graph.constant("zeros", np.zeros((k, channels)))])
    # Each row's length, one step (int32, n), for the input before the states.
    ones = graph.node("Cast", [graph.node("ReduceMax", [
        graph.node("Add", [fed, graph.constant("one", 1.0)]),
        graph.integers("axes", [1])], keepdims=0)], to=TensorProto.INT32)
    states = [None] * len(layers)
    outputs = []
    for _ in range(steps):
        x = graph.node("Concat", [code, fed], axis=1)
        for j, s in enumerate(layers):
            if s[0] in _RECURRENT:
                x, states[j] = _recurrent_step(graph, x, s, weights[j], ones, states[j])
            else:
                x = graph.activate(graph.node("Add", [graph.node("MatMul", [x, weights[j][0]]),
                                                      weights[j][1]]), s[3])
        outputs.append(x)
        fed = x
    if reverse:
        outputs.reverse()
    series = graph.node("Concat", [graph.node("Unsqueeze", [o, graph.integers("axes", [2])])
                                   for o in outputs], axis=2)   # (n, C, T)
    return graph.rows(series, (channels, steps), output)


def _sequence_lengths(graph, x, channels, steps):
    """Each row's steps up to its last observed one (int32, n): NaN
    right-padding ends a series, as in the kernels."""
    observed = graph.node("Cast", [graph.node("Not", [graph.node("IsNaN", [x])])],
                          to=graph.proto)
    per_step = graph.node("ReduceMax", [graph.images(observed, (channels, steps)),
                                        graph.integers("axes", [1])], keepdims=0)
    ends = graph.node("Mul", [per_step, graph.constant("ends", np.arange(1, steps + 1))])
    last = graph.node("ReduceMax", [ends, graph.integers("axes", [1])], keepdims=0)
    return graph.node("Cast", [last], to=TensorProto.INT32)


_WRITERS = {
    "dense": _write_dense,
    "mean": _write_mean,
    "convolution": _write_convolution,
    "transposed_convolution": _write_transposed_convolution,
    "max_pool": _pooling_writer("MaxPool"),
    "average_pool": _pooling_writer("AveragePool"),
    "gather": _write_gather,
    "gru": _write_recurrent,
    "lstm": _write_recurrent,
    "repeat": _write_repeat,
    "reverse": _write_reverse,
}
_RECURRENT = ("gru", "lstm")


def _layer_steps(estimator, first, last):
    """Each layer's export description (its kind's, skae/_core/layers.py) for layers
    first..last of an autoencoder, e.g. ("dense", W, b, activation name), or
    ("mean", k) for a sampling layer (at inference it outputs the mean); _WRITERS
    turns each into nodes. A kind without one raises a ValueError naming it."""
    rows = [layer_row(estimator._layers[l]) for l in range(first, last + 1)]
    return [kind_of(row).export(estimator._params, row) for row in rows]


def _rbm_step(estimator, decode):
    W, b_h, b_v = estimator._weights()
    if decode:
        units = estimator._visible
        return ("dense", W, b_v, "sigmoid" if units == "bernoulli" else "identity")
    units = estimator._hidden
    return ("dense", W.T, b_h, "sigmoid" if units == "bernoulli" else "identity")


def _steps(estimator, decode):
    if isinstance(estimator, _BaseRBM):
        return [_rbm_step(estimator, decode)]
    if decode:
        return _layer_steps(estimator, estimator._code_layer + 1,
                            len(estimator._layers) - 1)
    return _layer_steps(estimator, 0, estimator._code_layer)


def _emit(graph, estimator, x, output, decode):
    """The model's nodes from x to output: a SequenceAutoencoder's network
    reads and writes rows of patches (its patch_length_), the others' rows as
    they are."""
    patch = getattr(estimator, "patch_length_", 1)
    if patch == 1:
        return _emit_network(graph, estimator, x, output, decode)
    channels, length = estimator.input_shape_
    if not decode:
        patches = _to_patches(graph, x, channels, length, patch)
        return _emit_network(graph, estimator, patches, output, decode)
    y = _emit_network(graph, estimator, x, None, decode)
    return _from_patches(graph, y, channels, length, patch, output)


def _to_patches(graph, x, channels, length, patch):
    """Rows of series (n, C T) as the network's rows of patches (n, C p S),
    as skae/_autoencoders/sequence.py's to_patches: NaN past the series' end."""
    steps = -(-length // patch)
    pads = graph.integers("pads", [0, 0, 0, 0, 0, steps * patch - length])
    padded = graph.node("Pad", [graph.images(x, (channels, length)), pads,
                                graph.constant("nan", np.nan)])
    shape = graph.integers("shape", (-1, channels, steps, patch))
    cut = graph.node("Reshape", [padded, shape])
    return graph.rows(graph.node("Transpose", [cut], perm=[0, 1, 3, 2]),
                      (channels, patch, steps))


def _from_patches(graph, y, channels, length, patch, output):
    """The network's rows of patches back to rows of series (from_patches)."""
    steps = -(-length // patch)
    cut = graph.node("Reshape", [y, graph.integers("shape", (-1, channels, patch, steps))])
    series = graph.node("Reshape", [graph.node("Transpose", [cut], perm=[0, 1, 3, 2]),
                                    graph.integers("shape", (-1, channels, steps * patch))])
    kept = graph.node("Slice", [series, graph.integers("starts", [0]),
                                graph.integers("ends", [length]),
                                graph.integers("axes", [2])])
    return graph.rows(kept, (channels, length), output)


def _emit_network(graph, estimator, x, output, decode):
    """The network's nodes from x to output."""
    fill = getattr(estimator, "input_fill_", None)
    steps = _steps(estimator, decode)
    if not decode and steps[0][0] in _RECURRENT:
        (channels, _, length) = steps[0][3]
        graph.lengths = _sequence_lengths(graph, x, channels, length)
    if not decode and isinstance(estimator, BaseAutoencoder) and estimator._missing \
            and (fill is not None or estimator._missing == "nan"):
        # As the kernel: a missing entry enters the network as its fill value
        # (no fill: 0, which an unstored entry of the dense matrix already is).
        if estimator._missing == "nan":
            missing = graph.node("IsNaN", [x])
        else:
            missing = graph.node("Equal", [x, graph.constant("zero", 0.0)])
        fill = np.zeros(estimator.n_features_in_) if fill is None else fill
        x = graph.node("Where", [missing, graph.constant("fill", fill), x])
    for i, step in enumerate(steps):
        if step[0] == "feedback":
            # It drives the layers above it, to the output, step by step.
            return _write_autoregressive(graph, x, step, steps[i + 1:], output)
        x = _WRITERS[step[0]](graph, x, step, output if i == len(steps) - 1 else None)
    return x


def _width(estimator, decode):
    """The output width, from the fitted state (not n_features_in_, assignable)."""
    return estimator._n_features_fitted if decode else estimator._n_features_out


def _shape_calculator(decode):
    def calculate(operator):
        model = operator.raw_operator
        estimator = model.estimator if decode else model
        _check_exportable(estimator, decode)
        input_type = operator.inputs[0].type
        if not isinstance(input_type, (FloatTensorType, DoubleTensorType)):
            raise TypeError(
                f"{type(estimator).__name__} exports with float32 or float64 input; "
                f"got {type(input_type).__name__}."
            )
        if isinstance(input_type, DoubleTensorType) and any(
                step[0] in _RECURRENT for step in _steps(estimator, decode)):
            raise TypeError(
                f"{type(estimator).__name__}'s recurrent layers export with float32 "
                "input only (onnxruntime has no float64 GRU or LSTM): pass "
                "X[:1].astype(np.float32) to to_onnx; the weights are then stored "
                "in float32.")
        n_rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = type(input_type)([n_rows, _width(estimator, decode)])
    return calculate


def _converter(decode):
    def convert(scope, operator, container):
        model = operator.raw_operator
        estimator = model.estimator if decode else model
        graph = _Graph(scope, operator, container)
        _emit(graph, estimator, operator.inputs[0].full_name,
              operator.outputs[0].full_name, decode)
    return convert


def _exportable_classes():
    return (AutoencoderTransformer, DenoisingAE, SparseAE, ContractiveAE, StackedAE,
            VariationalAE, ConvAutoencoder, SequenceAutoencoder, BernoulliRBM,
            GaussianBernoulliRBM)


def register_converters():
    """Register skae's converters with skl2onnx (done on import; idempotent).

    Call it again after a module reload, or to restore the converters after
    another library registered its own for skae's classes.

    Examples
    --------
    >>> from skae.onnx import register_converters
    >>> register_converters()
    """
    for cls in _exportable_classes():
        update_registered_converter(cls, f"Skae{cls.__name__}", _shape_calculator(False),
                                    _converter(False), overwrite=True)
    update_registered_converter(Decoder, "SkaeDecoder", _shape_calculator(True),
                                _converter(True), overwrite=True)


register_converters()
