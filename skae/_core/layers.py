"""Layer kinds as Python sees them: the descriptors that build the layer table.

The compiled network reads a *layer table*, one row of integers per layer
(``skae/_kernels/layers/table.pxd``). Python never writes its columns by
position: an estimator describes its network as a list of :class:`Layer`
records, each made by its kind (``DENSE.layer(...)``), and :func:`build_table`
lays their parameters out (all weights, then all biases) and writes the rows.

Each kind is a :class:`LayerKind` registered in ``KINDS`` and owns, for a layer
of its kind:

- ``layer(...)``: the record, its output shape computed from its input shape;
- ``n_weights`` and ``n_biases``: its parameter count;
- ``fans``: its fan-in and fan-out, from which the estimators draw its
  initial weights (Glorot's bound);
- ``weights`` and ``bias``: views of its parameters in the flat vector;
- ``export``: what ``skae.onnx`` turns into ONNX nodes (a kind that cannot be
  exported raises a clear error there, never a wrong graph).

Its compiled side is its own ``.pxd`` file in ``skae/_kernels/layers/``
(forward, backward, scratch, checks) and one line in each function of
``skae/_kernels/layers/registry.pxd``.
"""

from dataclasses import dataclass

import numpy as np

from .._kernels import _network

COLUMNS = _network.LAYER_COLUMNS
COLUMN = {name: i for i, name in enumerate(COLUMNS)}
ACTIVATION_NAMES = {code: name for name, code in _network.ACTIVATIONS.items()}
# A kind without a sliding window leaves its window columns at 0.
NO_WINDOW = (0,) * 8


@dataclass(frozen=True)
class Layer:
    """One layer of a network, before its parameters are laid out.

    ``input_shape`` and ``output_shape`` are (channels, height, width), the
    layout of a row channel-major (a dense layer's are (n, 1, 1)); ``tied_to``
    is the index of the layer whose weights this one uses, transposed (a tied
    decoder layer); ``window`` is a sliding window's kernel, stride, padding and
    dilation, (height, width) each.
    """

    kind: str
    input_shape: tuple
    output_shape: tuple
    activation: str = "identity"
    tied_to: int | None = None
    window: tuple = NO_WINDOW

    @property
    def n_in(self):
        return int(np.prod(self.input_shape))

    @property
    def n_out(self):
        return int(np.prod(self.output_shape))


def layer_row(row):
    """One row of a layer table as {column name: int}."""
    return dict(zip(COLUMNS, (int(v) for v in row)))


def flat_shape(width):
    """The geometry of a plain row of ``width`` values."""
    return (int(width), 1, 1)


def _shape(width_or_shape):
    """A width (a plain row) or a (channels, height, width) geometry."""
    if np.ndim(width_or_shape) == 0:
        return flat_shape(width_or_shape)
    return tuple(int(v) for v in width_or_shape)


def window_positions(size, kernel, stride, padding, dilation):
    """How many positions a sliding window takes along an axis of ``size``
    (layers/window.pxd); 0 when none fits."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    return span // stride + 1 if span >= 0 else 0


def _window(kernel, stride, padding, dilation):
    """The window columns (kernel, stride, padding, dilation; height, width each)."""
    return (*kernel, *stride, *padding, *dilation)


def _geometry(row):
    """A layer-table row's (input shape, output shape, window) for an export:
    shapes (channels, height, width); the window's kernel, stride, padding and
    dilation, each (height, width)."""
    def pair(name):
        return row[f"{name}_height"], row[f"{name}_width"]

    window = {name: pair(name) for name in ("kernel", "stride", "padding", "dilation")}
    return ((row["in_channels"], row["in_height"], row["in_width"]),
            (row["out_channels"], row["out_height"], row["out_width"]), window)


class LayerKind:
    """What every kind of layer provides (see the module's docstring)."""

    name = None
    has_weights = False

    @property
    def code(self):
        return _network.LAYER_KINDS[self.name]

    def n_weights(self, layer):
        return 0

    def n_biases(self, layer):
        return 0

    def fans(self, row):
        """(fan_in, fan_out) of its weights, for their initial scale."""
        raise NotImplementedError(f"a {self.name} layer has no weights")

    def weights(self, params, row):
        return None

    def bias(self, params, row):
        return None

    def export(self, params, row):
        """A description of the layer for ``skae.onnx``."""
        raise ValueError(
            f"skae.onnx cannot export a layer of kind {self.name!r}; transform with "
            "the estimator itself, or open an issue asking for its ONNX export.")


class DenseKind(LayerKind):
    """A fully connected layer: activation(x @ W + b), W of shape (n_in, n_out)
    (a tied decoder layer reads the transpose of its mirror's matrix)."""

    name = "dense"
    has_weights = True

    def layer(self, inputs, outputs, activation, tied_to=None):
        """``inputs``, ``outputs``: widths, or (channels, height, width) shapes
        where the layer flattens a feature map or makes one (the matrix is the
        same; the geometry tells the layers around it how to read the row)."""
        return Layer(self.name, _shape(inputs), _shape(outputs), activation, tied_to)

    def n_weights(self, layer):
        return layer.n_in * layer.n_out

    def n_biases(self, layer):
        return layer.n_out

    def fans(self, row):
        return row["n_in"], row["n_out"]

    def weights(self, params, row):
        n_in, n_out, w = row["n_in"], row["n_out"], row["w_offset"]
        block = params[w : w + n_in * n_out]
        return block.reshape(n_out, n_in).T if row["transposed"] else block.reshape(
            n_in, n_out)

    def bias(self, params, row):
        return params[row["b_offset"] : row["b_offset"] + row["n_out"]]

    def export(self, params, row):
        return ("dense", self.weights(params, row), self.bias(params, row),
                ACTIVATION_NAMES[row["activation"]])


class GaussianSampleKind(LayerKind):
    """The reparameterised Gaussian sample of a variational autoencoder:
    [mu | log sigma^2] (2k values) in, z (k values) out; no parameters. At
    inference (and in an export) it outputs the posterior mean mu."""

    name = "gaussian_sample"

    def layer(self, input_width):
        if input_width % 2:
            raise ValueError(f"a sampling layer takes 2k inputs; got {input_width}.")
        return Layer(self.name, flat_shape(input_width), flat_shape(input_width // 2))

    def export(self, params, row):
        return ("mean", row["n_out"])


class ConvolutionKind(LayerKind):
    """A convolution: ``filters`` filters of shape (channels, kh, kw) slide over
    the input (channels, height, width) with a stride, zero padding and
    dilation per axis; weights (filters, channels, kh, kw), one bias a filter."""

    name = "convolution"
    has_weights = True

    def layer(self, input_shape, filters, kernel, stride, padding, dilation, activation):
        c, h, w = input_shape
        out = [window_positions(size, k, s, p, d) for size, k, s, p, d in
               zip((h, w), kernel, stride, padding, dilation)]
        if min(out) < 1:
            raise ValueError(
                f"a convolution with kernel {tuple(kernel)}, dilation {tuple(dilation)} "
                f"and padding {tuple(padding)} does not fit a feature map of "
                f"{h} x {w}: use smaller kernels, padding='same', or fewer layers.")
        return Layer(self.name, (c, h, w), (int(filters), *out), activation,
                     window=_window(kernel, stride, padding, dilation))

    @staticmethod
    def _filter_size(row):
        return row["in_channels"] * row["kernel_height"] * row["kernel_width"]

    def n_weights(self, layer):
        return layer.output_shape[0] * layer.input_shape[0] * layer.window[0] * layer.window[1]

    def n_biases(self, layer):
        return layer.output_shape[0]

    def fans(self, row):
        area = row["kernel_height"] * row["kernel_width"]
        return row["in_channels"] * area, row["out_channels"] * area

    def weights(self, params, row):
        shape = (row["out_channels"], row["in_channels"], row["kernel_height"],
                 row["kernel_width"])
        return params[row["w_offset"] : row["w_offset"] + int(np.prod(shape))].reshape(shape)

    def bias(self, params, row):
        return params[row["b_offset"] : row["b_offset"] + row["out_channels"]]

    def export(self, params, row):
        return (self.name, self.weights(params, row), self.bias(params, row),
                ACTIVATION_NAMES[row["activation"]], *_geometry(row))


class TransposedConvolutionKind(ConvolutionKind):
    """A transposed convolution: from a map shaped like a convolution's output
    back to one shaped like its input (``output_shape``, stored: a stride's
    rounding is undone); weights (in channels, out channels, kh, kw), the
    layout of its mirror convolution's, so ``tied_to`` shares them."""

    name = "transposed_convolution"

    def layer(self, input_shape, output_shape, kernel, stride, padding, dilation,
              activation, tied_to=None):
        positions = [window_positions(size, k, s, p, d) for size, k, s, p, d in
                     zip(output_shape[1:], kernel, stride, padding, dilation)]
        if positions != list(input_shape[1:]):
            raise ValueError(f"a transposed convolution cannot map {input_shape} to "
                             f"{output_shape} with this window.")
        return Layer(self.name, tuple(input_shape), tuple(output_shape), activation,
                     tied_to, _window(kernel, stride, padding, dilation))

    def n_weights(self, layer):
        return layer.input_shape[0] * layer.output_shape[0] * layer.window[0] * layer.window[1]

    def n_biases(self, layer):
        return layer.output_shape[0]

    def weights(self, params, row):
        shape = (row["in_channels"], row["out_channels"], row["kernel_height"],
                 row["kernel_width"])
        return params[row["w_offset"] : row["w_offset"] + int(np.prod(shape))].reshape(shape)


class PoolingKind(LayerKind):
    """Max or average pooling over windows of ``size`` with stride ``size``
    per axis, each channel on its own; no parameters."""

    def __init__(self, name):
        self.name = name

    def layer(self, input_shape, size):
        c, h, w = input_shape
        out = [window_positions(n, k, k, 0, 1) for n, k in zip((h, w), size)]
        if min(out) < 1:
            raise ValueError(f"a pooling of {tuple(size)} does not fit a feature map of "
                             f"{h} x {w}.")
        return Layer(self.name, (c, h, w), (c, *out),
                     window=_window(size, size, (0, 0), (1, 1)))

    def export(self, params, row):
        return (self.name, *_geometry(row))


class UpsampleKind(LayerKind):
    """Nearest-neighbour upsampling by ``factors`` to ``output_shape`` (the
    last row and column repeated where a pooling rounded down)."""

    name = "upsample"

    def layer(self, input_shape, output_shape, factors):
        return Layer(self.name, tuple(input_shape), tuple(output_shape),
                     window=_window((1, 1), factors, (0, 0), (1, 1)))

    def export(self, params, row):
        """("gather", index): output entry j of a row is input entry index[j]
        (layers/upsampling.pxd's rule, over the flattened row)."""
        (c, h, w), (_, oh, ow), window = _geometry(row)
        (sh, sw) = window["stride"]
        ys = np.minimum(np.arange(oh) // sh, h - 1)
        xs = np.minimum(np.arange(ow) // sw, w - 1)
        index = (np.arange(c)[:, None, None] * (h * w) + ys[None, :, None] * w
                 + xs[None, None, :])
        return ("gather", index.ravel())


class RecurrentKind(LayerKind):
    """A recurrent layer over a series (channels, 1, steps): ``units`` hidden
    units a direction, every state as output (directions * units, 1, steps)
    or, with ``sequences=False``, the last (directions * units, 1, 1). Per
    direction one weight matrix (gates * units, channels + units), each gate
    row [input weights | recurrent weights], gates in ONNX's order, and biases
    [input | recurrent], gates * units each (skae/_kernels/layers/recurrent.pxd)."""

    has_weights = True

    def __init__(self, name, gates, directions=1):
        self.name = name
        self.gates = gates
        self.directions = directions

    def layer(self, input_shape, units, sequences=True):
        c, h, t = input_shape
        if h != 1:
            raise ValueError(f"a recurrent layer reads series (channels, 1, steps); got "
                             f"{tuple(input_shape)}.")
        return Layer(self.name, (c, 1, t),
                     (self.directions * int(units), 1, t if sequences else 1))

    def _units(self, row_or_layer_channels):
        return row_or_layer_channels // self.directions

    def n_weights(self, layer):
        units = self._units(layer.output_shape[0])
        return self.directions * self.gates * units * (layer.input_shape[0] + units)

    def n_biases(self, layer):
        return self.directions * 2 * self.gates * self._units(layer.output_shape[0])

    def fans(self, row):
        units = self._units(row["out_channels"])
        return row["in_channels"] + units, self.gates * units

    def weights(self, params, row):
        """(directions * gates * units, channels + units): the directions'
        matrices one above the other."""
        units = self._units(row["out_channels"])
        shape = (self.directions * self.gates * units, row["in_channels"] + units)
        return params[row["w_offset"] : row["w_offset"] + shape[0] * shape[1]].reshape(shape)

    def bias(self, params, row):
        size = self.directions * 2 * self.gates * self._units(row["out_channels"])
        return params[row["b_offset"] : row["b_offset"] + size]

    def export(self, params, row):
        """(cell, weights (directions, gates * units, channels + units), biases
        (directions, 2 * gates * units), input shape, output shape): ONNX's GRU
        (with linear_before_reset=1) and LSTM share the gate order and bias
        layout, and stack directions the same way."""
        shape_in, shape_out, _ = _geometry(row)
        d = self.directions
        return (self.name.removeprefix("bidirectional_"),
                self.weights(params, row).reshape(d, -1, shape_in[0] + shape_out[0] // d),
                self.bias(params, row).reshape(d, -1), shape_in, shape_out)


class RepeatKind(LayerKind):
    """A code (k, 1, 1) given to each of ``steps`` steps, (k, 1, steps): the
    input of a recurrent decoder; no parameters."""

    name = "repeat"

    def layer(self, width, steps):
        return Layer(self.name, flat_shape(width), (int(width), 1, int(steps)))

    def export(self, params, row):
        return (self.name, row["out_width"])


class ReverseKind(LayerKind):
    """A series (channels, 1, steps) with each row's first L steps in reverse
    order, L its length (the steps before its NaN padding), the padding as it
    was: a decoder that rebuilds the series backwards ends with it. No
    parameters."""

    name = "reverse"

    def layer(self, input_shape):
        c, h, t = input_shape
        if h != 1:
            raise ValueError(f"a reverse layer reads series (channels, 1, steps); got "
                             f"{tuple(input_shape)}.")
        return Layer(self.name, (c, 1, t), (c, 1, t))

    def export(self, params, row):
        """(name, (channels, steps))."""
        shape_in, _, _ = _geometry(row)
        return (self.name, (shape_in[0], shape_in[2]))


class FeedbackKind(LayerKind):
    """The input of an autoregressive decoder: a code (k, 1, 1) given to each
    of ``steps`` steps beside the series' previous value (channels of them),
    (k + channels, 1, steps): the true one in training (on the share of steps
    the teacher forcing ratio gives), the decoder's own output otherwise. The
    ``depth`` layers above it, to the output, run a step at a time when it
    feeds them their own outputs (skae/_kernels/layers/feedback.pxd); the
    kernel reads ``depth`` from the kernel-height column. No parameters. Its
    ONNX export unrolls the steps of the layers above it (skae/onnx.py)."""

    name = "feedback"

    def layer(self, width, channels, steps, depth):
        return Layer(self.name, flat_shape(width),
                     (int(width) + int(channels), 1, int(steps)),
                     window=(int(depth),) + NO_WINDOW[1:])

    def export(self, params, row):
        """(name, (code units, channels fed back, steps)): skae.onnx writes the
        layers above it one step at a time, each step's output fed to the next."""
        return (self.name, (row["n_in"], row["out_channels"] - row["n_in"],
                            row["out_width"]))


DENSE = DenseKind()
GAUSSIAN_SAMPLE = GaussianSampleKind()
CONVOLUTION = ConvolutionKind()
TRANSPOSED_CONVOLUTION = TransposedConvolutionKind()
MAX_POOL = PoolingKind("max_pool")
AVERAGE_POOL = PoolingKind("average_pool")
UPSAMPLE = UpsampleKind()
# GRU: gates z, r, n, the reset after the recurrent product (linear_before_reset=1);
# LSTM: gates i, o, f, c, no peepholes.
GRU = RecurrentKind("gru", 3)
LSTM = RecurrentKind("lstm", 4)
BIDIRECTIONAL_GRU = RecurrentKind("bidirectional_gru", 3, directions=2)
BIDIRECTIONAL_LSTM = RecurrentKind("bidirectional_lstm", 4, directions=2)
REPEAT = RepeatKind()
REVERSE = ReverseKind()
FEEDBACK = FeedbackKind()
# The registry: kind code -> descriptor.
KINDS = {kind.code: kind for kind in (DENSE, GAUSSIAN_SAMPLE, CONVOLUTION,
                                      TRANSPOSED_CONVOLUTION, MAX_POOL, AVERAGE_POOL,
                                      UPSAMPLE, GRU, LSTM, BIDIRECTIONAL_GRU,
                                      BIDIRECTIONAL_LSTM, REPEAT, REVERSE, FEEDBACK)}


def kind_of(row):
    """The descriptor of a layer-table row (a dict from layer_row)."""
    return KINDS[row["kind"]]


def build_table(layers):
    """The layer table (intp array, one row per layer) and the parameter count
    of a network given as a list of Layer records.

    The weights of every layer that has its own come first, in layer order (one
    contiguous range, which the kernel's optimizer step penalises in the same
    pass); a tied layer points at the weights of the layer it is tied to. The
    biases follow, in layer order.
    """
    n_layers = len(layers)
    if not 1 <= n_layers <= _network.MAX_DEPTH:
        raise ValueError(f"A network has 1 to {_network.MAX_DEPTH} layers; got {n_layers}.")
    registry = {kind.name: kind for kind in KINDS.values()}
    kinds = [registry[layer.kind] for layer in layers]
    w_offsets, offset = [], 0
    for layer, kind in zip(layers, kinds):
        if layer.tied_to is not None:
            w_offsets.append(w_offsets[layer.tied_to])
        else:
            w_offsets.append(offset if kind.n_weights(layer) else 0)
            offset += kind.n_weights(layer)
    rows = []
    for layer, kind, w in zip(layers, kinds, w_offsets):
        n_biases = kind.n_biases(layer)
        rows.append((layer.n_in, layer.n_out, w, offset if n_biases else 0,
                     int(layer.tied_to is not None),
                     _network.ACTIVATIONS[layer.activation], kind.code,
                     *layer.input_shape, *layer.output_shape, *layer.window))
        offset += n_biases
    return np.array(rows, dtype=np.intp).reshape(n_layers, len(COLUMNS)), offset


def weighted_layers(table):
    """Indices of the layers that have weights of their own or tied ones."""
    return [l for l in range(len(table)) if kind_of(layer_row(table[l])).has_weights]


def initial_params(table, n_params, dtype, generator, gain):
    """Weights drawn uniformly within Glorot's bound sqrt(6 / (fan_in +
    fan_out)) times ``gain(row)``, layer by layer (tied layers share their
    mirror's), biases 0."""
    params = np.zeros(n_params, dtype=dtype)
    for l in weighted_layers(table):
        row = layer_row(table[l])
        if row["transposed"]:
            continue
        fan_in, fan_out = kind_of(row).fans(row)
        bound = np.sqrt(6.0 / (fan_in + fan_out)) * gain(row)
        n = kind_of(row).weights(params, row).size
        params[row["w_offset"] : row["w_offset"] + n] = generator.uniform(-bound, bound, n)
    return params
