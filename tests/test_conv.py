"""ConvAutoencoder and the window layer kinds: gradients by central differences
in float64 for each kind (1-D and 2-D, one and several channels, stride,
padding, dilation), whole networks, input shapes, determinism and bad input."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer, ConvAutoencoder
from skae._core.common import kernel_input
from skae._core.layers import (
    AVERAGE_POOL, CONVOLUTION, DENSE, MAX_POOL, TRANSPOSED_CONVOLUTION, UPSAMPLE,
    build_table,
)
from skae._kernels import _network
from skae._kernels.runtime.record import ThreadRecord

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _objective(layers, params, X, config):
    grad = np.empty_like(params)
    work = np.empty(_network.workspace_size(layers, X.shape[0], params.size, True))
    loss = _network.loss_and_gradient(*kernel_input(X), params, layers, config,
                                      np.zeros(1024), np.random.PCG64(0), grad, work)
    return loss, grad


def _gradient_error(layers, X, loss="squared_error", seed=0):
    """Relative error of the kernel's gradient against central differences."""
    rng = np.random.default_rng(seed)
    params = rng.normal(scale=0.5, size=layers[1])
    table = layers[0]
    config = AutoencoderTransformer(loss=loss, alpha=0.01)._kernel_config()
    config["input_density_limit"] = 0.0
    _, grad = _objective(table, params, X, config)
    numeric = np.empty_like(params)
    for i in range(params.size):
        p = params.copy()
        p[i] += 1e-6
        up = _objective(table, p, X, config)[0]
        p[i] -= 2e-6
        numeric[i] = (up - _objective(table, p, X, config)[0]) / 2e-6
    return np.linalg.norm(numeric - grad) / np.linalg.norm(numeric)


def _conv(shape, filters, kernel, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
          activation="tanh"):
    return CONVOLUTION.layer(shape, filters, kernel, stride, padding, dilation, activation)


def _mirror(conv, activation="identity", tied_to=None):
    w = conv.window
    return TRANSPOSED_CONVOLUTION.layer(conv.output_shape, conv.input_shape, w[0:2],
                                        w[2:4], w[4:6], w[6:8], activation, tied_to)


# (input shape, kernel, stride, padding, dilation): 2-D with one and several
# channels, stride, padding and dilation, asymmetric kernels; 1-D series.
WINDOWS = {
    "2d_plain": ((1, 5, 5), (3, 3), (1, 1), (0, 0), (1, 1)),
    "2d_channels_stride_pad": ((2, 6, 7), (3, 2), (2, 1), (1, 1), (1, 1)),
    "2d_dilated": ((3, 7, 6), (2, 3), (1, 2), (1, 2), (2, 2)),
    "1d_plain": ((1, 1, 9), (1, 3), (1, 1), (0, 0), (1, 1)),
    "1d_channels_dilated_pad": ((3, 1, 11), (1, 3), (1, 2), (0, 2), (1, 2)),
}


@pytest.mark.parametrize("case", WINDOWS)
@pytest.mark.parametrize("filters", [1, 3])
def test_convolution_and_transpose_gradients(case, filters):
    shape, kernel, stride, padding, dilation = WINDOWS[case]
    X = np.random.default_rng(1).uniform(size=(3, int(np.prod(shape))))
    conv = _conv(shape, filters, kernel, stride, padding, dilation)
    assert _gradient_error(build_table([conv, _mirror(conv)]), X) < 1e-7


@pytest.mark.parametrize("case", ["2d_plain", "2d_channels_stride_pad", "1d_plain",
                                  "1d_channels_dilated_pad"])
@pytest.mark.parametrize("pool", [MAX_POOL, AVERAGE_POOL], ids=["max", "average"])
def test_pooling_and_upsampling_gradients(case, pool):
    shape, kernel, stride, padding, dilation = WINDOWS[case]
    X = np.random.default_rng(2).uniform(size=(4, int(np.prod(shape))))
    conv = _conv(shape, 2, kernel, stride, padding, dilation)
    size = (1 if shape[1] == 1 else 2, 2)
    pooled = pool.layer(conv.output_shape, size)
    up = UPSAMPLE.layer(pooled.output_shape, conv.output_shape, size)
    layers = build_table([conv, pooled, up, _mirror(conv)])
    assert _gradient_error(layers, X) < 1e-7


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("loss", ["squared_error", "binary_crossentropy", "huber"])
def test_whole_network_gradients(tied, loss):
    # The estimator's own tables: conv + pool, conv + pool, dense code, mirror.
    output = "sigmoid" if loss == "binary_crossentropy" else None
    for shape in [(2, 6, 6), (2, 10)]:
        est = ConvAutoencoder(n_components=3, input_shape=shape, filters=(2, 3),
                              activation="tanh", tied_weights=tied, loss=loss,
                              output_activation=output)
        X = np.random.default_rng(3).uniform(size=(3, int(np.prod(shape))))
        layers = est._layer_table(X.shape[1])
        assert _gradient_error(layers, X, loss=loss) < 1e-6


def test_max_pooling_takes_the_first_maximum_and_a_nan():
    # The pooling layer of a (1x1 convolution, pooling) network, fed directly.
    conv = _conv((1, 2, 2), 1, (1, 1))
    layers, n = build_table([conv, MAX_POOL.layer(conv.output_shape, (2, 2))])
    inf = np.inf
    X = np.array([[1.0, 3.0, 3.0, 2.0], [1.0, np.nan, 5.0, 2.0], [np.nan, 5.0, 1.0, 2.0],
                  [-1.0, inf, -inf, 0.0], [-inf, -inf, -inf, -inf]])
    out = np.empty((len(X), 1))
    work = np.empty(_network.workspace_size(layers, len(X), n, False))
    _network.activations(*kernel_input(X), None, len(X), np.zeros(n), layers, 1, 1, out,
                         work, len(X), 0.0,
                         ThreadRecord(), None, 0, None)
    assert_array_equal(out[:, 0], [3.0, np.nan, np.nan, inf, -inf])


def test_a_network_without_parameters_is_refused():
    # Only layers without weights: nothing to train, and no parameter vector
    # to point at (the debug build's bounds checks found the empty one).
    layers, n = build_table([MAX_POOL.layer((1, 2, 2), (2, 2))])
    assert n == 0
    with pytest.raises(ValueError, match="at least one parameter"):
        _network.workspace_size(layers, 2, n, False)


def _digits():
    return load_digits().data[:300] / 16


def test_fit_transform_inverse_transform_shapes():
    X = _digits()
    ae = ConvAutoencoder(n_components=6, input_shape=(1, 8, 8), filters=(4, 8),
                         max_iter=3, random_state=0).fit(X)
    assert ae.transform(X).shape == (300, 6)
    assert ae.inverse_transform(ae.transform(X)).shape == (300, 64)
    assert ae.components_.shape == (4, 9)
    assert [c.shape for c in ae.coefs_][:2] == [(4, 1, 3, 3), (8, 4, 3, 3)]
    maps = ConvAutoencoder(n_components=None, input_shape=(1, 8, 8), filters=(4, 8),
                           max_iter=2, random_state=0).fit(X)
    # Two poolings: 8 x 8 -> 4 x 4 -> 2 x 2, eight maps.
    assert maps.transform(X).shape == (300, 8 * 2 * 2)


def test_training_lowers_the_loss_below_the_mean_image():
    X = load_digits().data / 16
    train, test = X[:1400], X[1400:]
    ae = ConvAutoencoder(n_components=16, input_shape=(1, 8, 8), batch_size=32,
                         max_iter=15, early_stopping=False, random_state=0).fit(train)
    mean_loss = np.sum((test - train.mean(axis=0)) ** 2, axis=1).mean()
    assert -ae.score(test) < 0.3 * mean_loss


@pytest.mark.parametrize("layout", ["series", "images"])
def test_arrays_of_samples_train_as_their_rows(layout):
    rng = np.random.default_rng(0)
    shape = (2, 12) if layout == "series" else (2, 6, 6)
    X = rng.uniform(size=(40, *shape))
    rows = X.reshape(40, -1)
    small = dict(filters=(3,), n_components=4, max_iter=3, random_state=0)
    from_array = ConvAutoencoder(**small).fit(X)
    from_rows = ConvAutoencoder(input_shape=shape, **small).fit(rows)
    assert from_array.input_shape_ == shape
    assert_array_equal(from_array.transform(X), from_rows.transform(rows))
    assert_array_equal(from_array.transform(rows), from_rows.transform(rows))
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        from_array.transform(rng.uniform(size=(3, 4, *shape[1:])))


def test_reruns_and_dtypes():
    X = _digits()
    make = lambda: ConvAutoencoder(n_components=4, input_shape=(1, 8, 8),  # noqa: E731
                                   filters=(4,), max_iter=3, random_state=0)
    a, b = make().fit(X), make().fit(X)
    assert_array_equal(a.transform(X), b.transform(X))
    X32 = X.astype(np.float32)
    c = make().fit(X32)
    assert c.transform(X32).dtype == np.float32
    assert c.inverse_transform(c.transform(X32)).dtype == np.float32
    assert_allclose(c.transform(X32), a.transform(X), atol=1e-3)


def test_partial_fit_warm_start_and_missing_entries():
    X = _digits()
    ae = ConvAutoencoder(n_components=4, input_shape=(1, 8, 8), filters=(4,),
                         random_state=0)
    ae.partial_fit(X)
    ae.partial_fit(X)
    assert ae.n_iter_ == 2
    ae.set_params(warm_start=True, max_iter=2).fit(X)
    assert ae.n_iter_ == 4
    Xn = X.copy()
    Xn[np.random.default_rng(0).uniform(size=X.shape) < 0.1] = np.nan
    filled = ConvAutoencoder(n_components=4, input_shape=(1, 8, 8), filters=(4,),
                             missing="nan", max_iter=2, random_state=0).fit(Xn)
    assert np.isfinite(filled.transform(Xn)).all()


@pytest.mark.parametrize(("params", "message"), [
    (dict(input_shape=(1, 7, 9)), r"holds 1 x 7 x 9 = 63 values a row, but X has 64"),
    (dict(input_shape=(1, 8, 8), kernel_size=9, padding="valid"), "does not fit"),
    (dict(input_shape=(1, 8, 8), filters=(4, 4, 4, 4), kernel_size=3,
          padding="valid"), "does not fit"),
    (dict(input_shape=(1, 8, 8), kernel_size=2), "dilation \\* \\(kernel_size - 1\\) even"),
    (dict(input_shape=(0, 8, 8)), "input_shape must be"),
    (dict(input_shape=(64,)), "input_shape must be"),
    (dict(filters=(4, 0)), "filters must be"),
    (dict(filters=()), "filters must be"),
    (dict(filters=(4, 4), strides=(1, 2, 3)), "strides must be"),
    (dict(kernel_size=0), "kernel_size"),
])
def test_bad_shapes_are_refused_and_leave_a_fitted_model_unchanged(params, message):
    X = _digits()
    ae = ConvAutoencoder(n_components=4, input_shape=(1, 8, 8), filters=(4,),
                         max_iter=2, random_state=0).fit(X)
    before = ae.transform(X)
    state = dict(ae.__dict__)
    with pytest.raises(ValueError, match=message):
        ae.set_params(**params).fit(X)
    assert ae.__dict__.keys() == state.keys()
    assert_array_equal(ae.transform(X), before)


def test_a_series_per_row_by_default():
    X = np.random.default_rng(0).normal(size=(50, 20))
    with pytest.warns(ConvergenceWarning):
        ae = ConvAutoencoder(n_components=3, filters=(2, 2), max_iter=2,
                             random_state=0).fit(X)
    assert ae.input_shape_ == (1, 20)
    # 1-D windows: kernels (1, 3), pooling (1, 2).
    assert ae.coefs_[0].shape == (2, 1, 1, 3)
    assert ae.transform(X).shape == (50, 3)


def test_the_dense_layer_kind_takes_shapes():
    layer = DENSE.layer((2, 3, 3), 4, "relu")
    assert layer.n_in == 18 and layer.output_shape == (4, 1, 1)


def test_outlier_detector_with_convolutional_members():
    # Digits whose pixels were shuffled keep every pixel's values but lose the
    # strokes a convolution learns: an ensemble of ConvAutoencoders scores
    # them as the least normal, and the detector pickles like any other.
    from sklearn.metrics import roc_auc_score

    from skae import OutlierDetector

    X = load_digits().data / 16
    scrambled = X[400:420][:, np.random.default_rng(0).permutation(64)]
    data = np.vstack([X[:400], scrambled])
    member = ConvAutoencoder(input_shape=(1, 8, 8), filters=(8,), n_components=8,
                             max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        detector = OutlierDetector(member, n_estimators=3, random_state=0).fit(data)
    scores = detector.score_samples(data)
    assert roc_auc_score(np.r_[np.ones(400), np.zeros(20)], scores) > 0.95
    assert (detector.predict(scrambled) == -1).mean() > 0.8
    assert_array_equal(pickle.loads(pickle.dumps(detector)).score_samples(data), scores)
