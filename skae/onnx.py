"""Export to ONNX through skl2onnx (the optional extra ``[onnx]``).

Importing this module registers skl2onnx converters for the ``transform`` of
every dense autoencoder (its encoder; a VariationalAE's mean) and RBM
(``P(h|v)``), so that :func:`skl2onnx.to_onnx` converts them alone or inside
a scikit-learn pipeline. :class:`Decoder` exports an ``inverse_transform``.

The graph is built from the fitted layer table: per layer a ``MatMul`` by the
layer's matrix (a tied decoder layer's is its mirror's transpose), an ``Add``
of its bias and the activation's operator. A model with ``missing`` first
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
        _check_exportable(self.estimator)
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


def _check_exportable(estimator):
    if not isinstance(estimator, (BaseAutoencoder, _BaseRBM)):
        raise TypeError(
            "skae.onnx exports skae's autoencoders and RBMs; got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    if isinstance(estimator, BaseAutoencoder):
        # Before any node is written: a layer kind without an export raises.
        _layer_steps(estimator, 0, len(estimator._layers) - 1)


class _Graph:
    """Adds nodes to skl2onnx's container in the input's element type."""

    def __init__(self, scope, operator, container):
        self.scope, self.container = scope, container
        self.name = operator.full_name
        double = isinstance(operator.inputs[0].type, DoubleTensorType)
        self.proto = TensorProto.DOUBLE if double else TensorProto.FLOAT
        self.dtype = np.float64 if double else np.float32

    def constant(self, label, values):
        values = np.asarray(values, dtype=self.dtype)
        name = self.scope.get_unique_variable_name(f"{self.name}_{label}")
        self.container.add_initializer(name, self.proto, list(values.shape),
                                       values.ravel().tolist())
        return name

    def node(self, op, inputs, output=None, **attrs):
        output = output or self.scope.get_unique_variable_name(f"{self.name}_{op}")
        self.container.add_node(op, inputs, [output],
                                name=self.scope.get_unique_operator_name(op), **attrs)
        return output

    def affine(self, x, W, b, activation, output=None):
        """activation(x @ W + b), the last node writing output."""
        op = _ACTIVATION_OPS[activation]
        z = self.node("Add", [self.node("MatMul", [x, self.constant("W", W)]),
                              self.constant("b", b)],
                      output=output if op is None else None)
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


def _layer_steps(estimator, first, last):
    """Each layer's export description (its kind's, skae/_core/layers.py) for layers
    first..last of an autoencoder: ("dense", W, b, activation name), or
    ("mean", k) for a sampling layer (at inference it outputs the mean). A kind
    without one raises a ValueError naming it."""
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
    """The network's nodes from x to output."""
    fill = getattr(estimator, "input_fill_", None)
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
    steps = _steps(estimator, decode)
    for i, step in enumerate(steps):
        out = output if i == len(steps) - 1 else None
        if step[0] == "mean":
            # The heads' first n_out columns are the means.
            starts = graph.scope.get_unique_variable_name(f"{graph.name}_starts")
            ends = graph.scope.get_unique_variable_name(f"{graph.name}_ends")
            axes = graph.scope.get_unique_variable_name(f"{graph.name}_axes")
            for name, value in ((starts, 0), (ends, step[1]), (axes, 1)):
                graph.container.add_initializer(name, TensorProto.INT64, [1], [value])
            x = graph.node("Slice", [x, starts, ends, axes], output=out)
        else:
            x = graph.affine(x, *step[1:], output=out)
    return x


def _width(estimator, decode):
    """The output width, from the fitted state (not n_features_in_, assignable)."""
    return estimator._n_features_fitted if decode else estimator._n_features_out


def _shape_calculator(decode):
    def calculate(operator):
        model = operator.raw_operator
        estimator = model.estimator if decode else model
        _check_exportable(estimator)
        input_type = operator.inputs[0].type
        if not isinstance(input_type, (FloatTensorType, DoubleTensorType)):
            raise TypeError(
                f"{type(estimator).__name__} exports with float32 or float64 input; "
                f"got {type(input_type).__name__}."
            )
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
    # ConvAutoencoder is registered so that its conversion reaches its layer
    # kinds, which refuse by name until they have an export.
    return (AutoencoderTransformer, DenoisingAE, SparseAE, ContractiveAE, StackedAE,
            VariationalAE, ConvAutoencoder, BernoulliRBM, GaussianBernoulliRBM)


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
