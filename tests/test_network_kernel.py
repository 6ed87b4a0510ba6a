"""The compiled dense-network kernel against finite differences and NumPy.

Gradients: central differences in float64 for every activation x loss x tied or
untied weights x encoder depth x dense or CSR input x dense or zero-skipping
first layer, through ``_network.loss_and_gradient`` (the code one training step
runs). The zero-skipping products are also checked against the dense ones at
sizes that reach every tile of maths/nonzeros.h, in float32 and float64.
Optimizer: one ``train_pass`` against a NumPy loop that applies Adam or SGD to the
kernel's own minibatch gradients, visiting rows in the same order.
"""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer
from skae._core.common import kernel_input as _kernel_input
from skae._kernels import _network
from skae._kernels.runtime.record import ThreadRecord
from classic import classic

ACTIVATIONS = sorted(_network.ACTIVATIONS)


def _network_for(n_features, seed, dtype=np.float64, **params):
    """Layer table and random parameters (biases included) of an estimator."""
    est = classic(AutoencoderTransformer, **params)
    layers, n_params = est._layer_table(n_features)
    rng = np.random.default_rng(seed)
    return est, layers, rng.normal(scale=0.5, size=n_params).astype(dtype)


def _data(n_samples, n_features, seed, sparse):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n_samples, n_features))
    X[rng.uniform(size=X.shape) < 0.3] = 0  # exact zeros, for the CSR case
    return sp.csr_matrix(X) if sparse else X


# input_density_limit values: never skip the input's zeros, always skip them.
DENSE, SKIP_ZEROS = 0.0, 1.0


def _objective_and_gradient(est, layers, params, X, penalty_state=None, seed=0,
                            density_limit=None, target=None, mask=None):
    """Objective and gradient; noise, if any, drawn afresh from PCG64(seed).
    density_limit (None: the default) chooses the first layer's products;
    target and mask (None: the input, ones) what the loss compares."""
    grad = np.empty_like(params)
    n_rows = X.shape[0]
    work = np.empty(_network.workspace_size(layers, n_rows, params.size, True), params.dtype)
    if penalty_state is None:
        penalty_state = np.zeros(est.n_components + 1, dtype=params.dtype)
    config = est._kernel_config()
    if density_limit is not None:
        config["input_density_limit"] = density_limit
    loss = _network.loss_and_gradient(
        *_kernel_input(X), params, layers, config, penalty_state,
        np.random.PCG64(seed), grad, work, target, mask,
    )
    return loss, grad


def _relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


def _finite_difference_gradient(est, layers, params, X, eps=1e-6, **kwargs):
    numeric = np.empty_like(params)
    for i in range(params.size):
        p = params.copy()
        p[i] += eps
        up = _objective_and_gradient(est, layers, p, X, **kwargs)[0]
        p[i] -= 2 * eps
        down = _objective_and_gradient(est, layers, p, X, **kwargs)[0]
        numeric[i] = (up - down) / (2 * eps)
    return numeric


CASES = list(
    itertools.product(
        ACTIVATIONS,
        ["squared_error", "binary_crossentropy"],
        [False, True],  # tied weights
        [(), (4,)],  # encoder depth 1 and 2
        [False, True],  # CSR input
        [DENSE, SKIP_ZEROS],  # the first layer's products
    )
)


@pytest.mark.parametrize("activation, loss, tied, hidden, sparse, limit", CASES)
def test_gradient_matches_central_differences(activation, loss, tied, hidden, sparse,
                                              limit):
    output = activation if loss == "squared_error" else None
    est, layers, params = _network_for(
        6, seed=0, n_components=3, hidden_layer_sizes=hidden, activation=activation,
        output_activation=output, loss=loss, tied_weights=tied, alpha=0.01,
    )
    X = _data(7, 6, seed=1, sparse=sparse)
    loss_value, grad = _objective_and_gradient(est, layers, params, X,
                                               density_limit=limit)
    assert np.isfinite(loss_value)
    numeric = _finite_difference_gradient(est, layers, params, X, density_limit=limit)
    assert _relative_error(grad, numeric) < 1e-6


def _numpy_objective(layers, params, X, target, mask, loss, alpha):
    """The masked objective computed in NumPy from the layer table (tanh hidden
    layers; identity or sigmoid output)."""
    a, n_weights = X, 0
    columns = [_network.LAYER_COLUMNS.index(c)
               for c in ("n_in", "n_out", "w_offset", "b_offset", "transposed")]
    for l, (n_in, n_out, w, b, transposed) in enumerate(layers[:, columns]):
        W = params[w:w + n_in * n_out]
        W = W.reshape(n_out, n_in).T if transposed else W.reshape(n_in, n_out)
        n_weights = max(n_weights, w + n_in * n_out)
        z = a @ W + params[b:b + n_out]
        a = np.tanh(z) if l < len(layers) - 1 else z
    if loss == "binary_crossentropy":
        p = 1 / (1 + np.exp(-a))
        entries = -target * np.log(p) - (1 - target) * np.log(1 - p)
    else:
        sigmoid_out = (layers[-1, _network.LAYER_COLUMNS.index("activation")]
                       == _network.ACTIVATIONS["sigmoid"])
        out = 1 / (1 + np.exp(-a)) if sigmoid_out else a
        entries = (out - target) ** 2
    return (mask * entries).sum() / len(X) + alpha / 2 * (params[:n_weights] ** 2).sum()


@pytest.mark.parametrize("loss, output", [("squared_error", None),
                                          ("squared_error", "sigmoid"),
                                          ("binary_crossentropy", None)])
@pytest.mark.parametrize("tied", [False, True])
def test_masked_loss_against_a_separate_target(loss, output, tied):
    # What imputation needs: the loss of chosen entries (mask 1, others 0 or
    # weighted) against a target that is not the input.
    est, layers, params = _network_for(
        6, seed=0, n_components=3, hidden_layer_sizes=(4,), activation="tanh",
        output_activation=output, loss=loss, tied_weights=tied, alpha=0.01,
    )
    rng = np.random.default_rng(3)
    X = _data(7, 6, seed=1, sparse=False)
    target = rng.uniform(size=X.shape)
    mask = (rng.uniform(size=X.shape) < 0.6) * rng.uniform(0.5, 2, size=X.shape)
    value, grad = _objective_and_gradient(est, layers, params, X, target=target,
                                          mask=mask)
    expected = _numpy_objective(layers, params, X, target, mask, loss, 0.01)
    assert value == pytest.approx(expected, rel=1e-12)
    numeric = _finite_difference_gradient(est, layers, params, X, target=target,
                                          mask=mask)
    assert _relative_error(grad, numeric) < 1e-6
    # A mask of ones and the input as target are the unmasked objective.
    plain = _objective_and_gradient(est, layers, params, X)
    ones = _objective_and_gradient(est, layers, params, X, target=X,
                                   mask=np.ones_like(X))
    assert ones[0] == pytest.approx(plain[0], rel=1e-12)
    np.testing.assert_allclose(ones[1], plain[1], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="mask's width"):
        _objective_and_gradient(est, layers, params, X, mask=mask[:, :-1].copy())


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("zero_below", [0.6, 0.985])
def test_zero_skipping_products_match_dense_ones(dtype, rtol, tied, zero_below):
    """Sizes that reach every path of maths/nonzeros.h: 200 features and 150 rows
    span several 96-row panels; 150 code units give blocks of 75 columns, which
    take the 8-vector tile, the 1-vector tile and scalar columns, in float32
    (64 + 8 + 3) and float64 (2 x 32 + 2 x 4 + 3). With 28% nonzeros both
    products copy their other operand into panels; with 1% they read it in place."""
    est, layers, params = _network_for(
        200, seed=20, dtype=dtype, n_components=150, activation="tanh", tied_weights=tied,
        alpha=0.01,
    )
    params *= 0.1
    X = _data(150, 200, seed=21, sparse=False).astype(dtype)
    X[X < zero_below] = 0
    n_terms = (X != 0).sum()
    # Panels pay when a row of the other operand serves >= 4 terms (maths/nonzeros.h).
    assert (n_terms >= 4 * 200) == (n_terms >= 4 * 150) == (zero_below == 0.6)
    assert (X != 0).mean() < _network.INPUT_DENSITY_LIMIT
    dense = _objective_and_gradient(est, layers, params, X, density_limit=DENSE)
    skipping = _objective_and_gradient(est, layers, params, X, density_limit=SKIP_ZEROS)
    default = _objective_and_gradient(est, layers, params, X)
    np.testing.assert_allclose(skipping[0], dense[0], rtol=rtol)
    np.testing.assert_allclose(skipping[1], dense[1], rtol=rtol,
                               atol=rtol * np.abs(dense[1]).max())
    # The default limit takes the zero-skipping path on data this sparse.
    assert default[0] == skipping[0]
    np.testing.assert_array_equal(default[1], skipping[1])


@pytest.mark.parametrize("code_activation", ["identity", "tanh"])
def test_gradient_with_distinct_code_activation(code_activation):
    est, layers, params = _network_for(
        5, seed=3, n_components=2, hidden_layer_sizes=(4, 3), activation="elu",
        code_activation=code_activation, tied_weights=True,
    )
    X = _data(9, 5, seed=4, sparse=False)
    grad = _objective_and_gradient(est, layers, params, X)[1]
    numeric = _finite_difference_gradient(est, layers, params, X)
    assert _relative_error(grad, numeric) < 1e-6


def test_objective_matches_numpy_forward_pass():
    """Loss value against a direct NumPy evaluation of the same network."""
    est, layers, params = _network_for(
        6, seed=5, n_components=3, hidden_layer_sizes=(4,), activation="tanh",
        loss="binary_crossentropy", alpha=0.1,
    )
    X = _data(8, 6, seed=6, sparse=False)
    est._layers, est._params = layers, params
    est._missing, est.input_fill_, est._huber_delta = None, None, 1.0
    a = X
    for l, W in enumerate(est.coefs_):
        z = a @ W + est.intercepts_[l]
        a = np.tanh(z) if l < len(layers) - 1 else z
    p = 1 / (1 + np.exp(-a))
    bce = -(X * np.log(p) + (1 - X) * np.log(1 - p)).sum(axis=1).mean()
    l2 = 0.05 * sum((W**2).sum() for W in est.coefs_)
    loss = _objective_and_gradient(est, layers, params, X)[0]
    np.testing.assert_allclose(loss, bce + l2, rtol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("tied", [False, True])
def test_small_minibatches_multiply_a_row_at_a_time_and_agree(dtype, rtol, tied):
    """Up to GEMV_ROWS rows, a dense layer runs one gemv a row (layers/dense.pxd);
    above, one GEMM. Both against NumPy, on either side of the switch, with a
    first layer of 601 columns (four column blocks, the last one narrower) on
    dense input, so that no product skips zeros."""
    est = AutoencoderTransformer(n_components=7, hidden_layer_sizes=(601,),
                                 activation="tanh", code_activation="tanh",
                                 tied_weights=tied, max_iter=1, random_state=0)
    X = np.random.default_rng(1).uniform(0.1, 1, size=(20, 50)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    expected = X
    for W, b in zip(est.coefs_[:2], est.intercepts_[:2]):
        expected = np.tanh(expected.astype(np.float64) @ W + b)
    for n_rows in (1, 2, 8, 9, 20):
        codes = est.transform(X[:n_rows])
        assert codes.dtype == dtype
        np.testing.assert_allclose(codes, expected[:n_rows], rtol=rtol,
                                   atol=rtol)


def test_binary_crossentropy_is_stable_when_units_saturate():
    est, layers, params = _network_for(
        4, seed=0, n_components=2, loss="binary_crossentropy"
    )
    params *= 1e4  # logits of order 1e4: a naive log(sigmoid) gives inf/NaN
    X = (_data(5, 4, seed=2, sparse=False) > 0.5).astype(float)
    loss, grad = _objective_and_gradient(est, layers, params, X)
    assert np.isfinite(loss) and np.isfinite(grad).all()


def test_float32_binary_crossentropy_matches_float64_over_the_logits_range():
    """float32's cross-entropy has its own exp, log1p and sigmoid (maths/vecmath.h).
    With zero weights the logits are the output biases, set here; targets 1
    where a logit is >= 0 (0 below) leave each loss term log1p(e^-|z|) alone,
    and zero targets make the output-bias gradient the sigmoid itself."""
    z = np.linspace(-87, 87, 34801).astype(np.float32).astype(np.float64)
    est, layers, params = _network_for(z.size, seed=0, n_components=1,
                                       loss="binary_crossentropy", alpha=0)
    bias = slice(layers[1, 3], layers[1, 3] + z.size)
    params = np.zeros(params.size, dtype=np.float32)
    worst = 0.0
    for low in np.arange(-87, 87, 1.0):
        # One range of logits at a time, the rest at 87 (a term of e^-87):
        # the sum's relative error is then that of the range's terms.
        logits = np.where((z >= low) & (z < low + 1), z, 87)
        params[bias] = logits
        target = (logits >= 0).astype(np.float32)[None]
        loss = _objective_and_gradient(est, layers, params, target)[0]
        exact = np.log1p(np.exp(-np.abs(logits))).sum()
        worst = max(worst, abs(loss - exact) / exact)
    assert worst < 2.4e-7  # 2 ulp
    params[bias] = z
    grad = _objective_and_gradient(est, layers, params, np.zeros((1, z.size), np.float32))[1]
    np.testing.assert_allclose(grad[bias], 1 / (1 + np.exp(-z)), rtol=3e-7, atol=0)


def _numpy_optimizer_pass(est, layers, params, X, rows, batch_size):
    """Reference: the kernel's minibatch gradients, NumPy's Adam/SGD updates."""
    params = params.copy()
    m = np.zeros_like(params)
    v = np.zeros_like(params)
    cfg = est._kernel_config()
    losses = []
    for t, start in enumerate(range(0, len(rows), batch_size), start=1):
        batch = X[rows[start : start + batch_size]]
        loss, g = _objective_and_gradient(est, layers, params, batch)
        losses.append(loss * batch.shape[0])
        if est.solver == "adam":
            m = cfg["beta_1"] * m + (1 - cfg["beta_1"]) * g
            v = cfg["beta_2"] * v + (1 - cfg["beta_2"]) * g**2
            step = (
                cfg["learning_rate"] * np.sqrt(1 - cfg["beta_2"] ** t)
                / (1 - cfg["beta_1"] ** t)
            )
            params -= step * m / (np.sqrt(v) + cfg["epsilon"])
        else:
            m = cfg["momentum"] * m - cfg["learning_rate"] * g
            if cfg["nesterov"]:
                params += cfg["momentum"] * m - cfg["learning_rate"] * g
            else:
                params += m
    return params


@pytest.mark.parametrize(
    "solver, nesterov", [("adam", True), ("sgd", True), ("sgd", False)]
)
@pytest.mark.parametrize("sparse", [False, True])
def test_train_pass_matches_numpy_reference(solver, nesterov, sparse):
    est, layers, params = _network_for(
        6, seed=7, n_components=3, hidden_layer_sizes=(5,), activation="sigmoid",
        solver=solver, nesterovs_momentum=nesterov, learning_rate_init=0.05, alpha=0.01,
    )
    X = _data(23, 6, seed=8, sparse=sparse)
    rows = np.random.default_rng(9).permutation(23).astype(np.intp)
    expected = _numpy_optimizer_pass(est, layers, params, X, rows, batch_size=5)

    trained = params.copy()
    state = np.zeros((2 if solver == "adam" else 1) * params.size)
    work = np.empty(_network.workspace_size(layers, 5, params.size, True))
    _, status, steps = _network.train_pass(
        *_kernel_input(X), rows, 5, trained, layers, est._kernel_config(), state, 0,
        np.zeros(4), np.random.PCG64(0), work, ThreadRecord(),
    )
    assert status == _network.STATUS_OK and steps == 5
    np.testing.assert_allclose(trained, expected, rtol=1e-10, atol=1e-12)



def test_train_pass_reports_nonfinite_loss_before_updating():
    est, layers, params = _network_for(4, seed=0, n_components=2)
    params[:] = np.inf
    X = _data(6, 4, seed=0, sparse=False)
    state = np.zeros(2 * params.size)
    work = np.empty(_network.workspace_size(layers, 3, params.size, True))
    rows = np.arange(6, dtype=np.intp)
    _, status, steps = _network.train_pass(
        *_kernel_input(X), rows, 3, params, layers, est._kernel_config(), state, 0,
        np.zeros(3), np.random.PCG64(0), work, ThreadRecord(),
    )
    assert status == _network.STATUS_NONFINITE and steps == 0
    assert not state.any()


# ------------------------------------------------------ regularised variants

from skae import ContractiveAE, DenoisingAE, SparseAE  # noqa: E402

PENALTIES = [
    (SparseAE, {"sparsity": "kl", "sparsity_target": 0.2, "sparsity_weight": 0.7}),
    (SparseAE, {"sparsity": "l1", "sparsity_weight": 0.3, "activation": "tanh"}),
    (ContractiveAE, {"contraction_weight": 0.4}),
    (ContractiveAE, {"contraction_weight": 0.4, "activation": "tanh"}),
]


def _variant_network(cls, n_features, seed, **params):
    est = classic(cls, **params)
    layers, n_params = est._layer_table(n_features)
    rng = np.random.default_rng(seed)
    return est, layers, rng.normal(scale=0.5, size=n_params)


@pytest.mark.parametrize("cls, penalty", PENALTIES)
@pytest.mark.parametrize("loss", ["squared_error", "binary_crossentropy"])
@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("hidden", [(), (4,)])
@pytest.mark.parametrize("limit", [DENSE, SKIP_ZEROS])
def test_penalty_gradient_matches_central_differences(cls, penalty, loss, tied, hidden,
                                                      limit):
    est, layers, params = _variant_network(
        cls, 6, seed=10, n_components=3, loss=loss, tied_weights=tied,
        hidden_layer_sizes=hidden, alpha=0.01, **penalty,
    )
    X = _data(8, 6, seed=11, sparse=False)
    loss_value, grad = _objective_and_gradient(est, layers, params, X,
                                               density_limit=limit)
    numeric = _finite_difference_gradient(est, layers, params, X, density_limit=limit)
    assert _relative_error(grad, numeric) < 1e-6
    # The penalty is really in the objective: switching it off changes it.
    plain = classic(AutoencoderTransformer, 
        n_components=3, loss=loss, tied_weights=tied, hidden_layer_sizes=hidden,
        alpha=0.01, activation=penalty.get("activation", "sigmoid"),
    )
    assert loss_value > _objective_and_gradient(plain, layers, params, X)[0] + 1e-6


@pytest.mark.parametrize("decay", [0.0, 0.9])
def test_running_average_kl_gradient(decay):
    """With a running mean in the state, rho_hat = decay * running + (1 - decay) *
    batch mean; the gradient through the batch is exact for that estimate."""
    est, layers, params = _variant_network(
        SparseAE, 5, seed=12, n_components=4, sparsity_target=0.1,
        sparsity_weight=2.0, sparsity_decay=decay,
    )
    X = _data(9, 5, seed=13, sparse=True)
    state = np.array([0.3, 0.05, 0.6, 0.2, 7.0])  # running means, then a count
    grad = _objective_and_gradient(est, layers, params, X, penalty_state=state)[1]
    numeric = _finite_difference_gradient(est, layers, params, X, penalty_state=state)
    assert _relative_error(grad, numeric) < 1e-6
    assert state[-1] == 7.0  # loss_and_gradient reads the state, never updates it


@pytest.mark.parametrize("noise, level", [("masking", 0.3), ("gaussian", 0.2),
                                          ("salt_and_pepper", 0.2)])
@pytest.mark.parametrize("loss", ["squared_error", "binary_crossentropy"])
@pytest.mark.parametrize("limit", [DENSE, SKIP_ZEROS])
def test_denoising_gradient_with_fixed_corruption(noise, level, loss, limit):
    """Same seed, same corruption: the objective is a function of the weights."""
    est, layers, params = _variant_network(
        DenoisingAE, 6, seed=14, n_components=3, noise=noise, noise_level=level,
        loss=loss, tied_weights=True,
    )
    X = _data(8, 6, seed=15, sparse=False)
    grad = _objective_and_gradient(est, layers, params, X, seed=3, density_limit=limit)[1]
    numeric = _finite_difference_gradient(est, layers, params, X, seed=3,
                                          density_limit=limit)
    assert _relative_error(grad, numeric) < 1e-6
    # And the loss really is measured against the clean input.
    clean = _objective_and_gradient(
        classic(AutoencoderTransformer, 3, loss=loss, tied_weights=True), layers, params, X
    )[0]
    assert not np.isclose(clean, _objective_and_gradient(est, layers, params, X)[0])


# --------------------------------------------------------------------------------
# Subnormal floats are flushed to zero inside the kernels (runtime/fpmode.h), on every
# thread, and only there.

SUBNORMAL_PRODUCT = 1e-20  # squared: 1e-40, below float32's smallest normal 1.2e-38


@pytest.mark.parametrize("dense_first_layer", [True, False])
def test_kernels_flush_subnormals_on_every_thread(dense_first_layer):
    """In a linear network with weights and inputs of 1e-20, every product is
    1e-40: flushed to zero in each column block, of the 8-wide code and of the
    784-wide output, whichever of two threads computes it. The caller's own
    arithmetic keeps its subnormals after the call."""
    from threadpoolctl import threadpool_limits

    n_features = 784
    est, layers, params = _network_for(
        n_features, seed=0, dtype=np.float32, n_components=8, activation="identity",
    )
    n_weights = layers[:, 3].min()  # the biases follow the weights (column COL_B)
    est._layers = layers
    est._missing, est.input_fill_, est._huber_delta = None, None, 1.0
    est._params = np.full_like(params, SUBNORMAL_PRODUCT)
    est._params[n_weights:] = 0
    X = np.full((5, n_features), SUBNORMAL_PRODUCT, dtype=np.float32)
    if not dense_first_layer:
        X[:, 1:] = 0  # sparse enough for the zero-skipping first layer
    with threadpool_limits(2):
        code = est._activations(X, 0, 0)
        out = est._activations(np.full_like(code, SUBNORMAL_PRODUCT), 1, len(layers) - 1)
    assert code.shape == (5, 8) and out.shape == (5, n_features)
    assert not code.any() and not out.any()
    x = np.float32(SUBNORMAL_PRODUCT)
    assert x * x > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_rows", [3, 40])  # M read in place; M copied into panels
def test_zero_skipping_sums_in_a_fixed_order(monkeypatch, dtype, n_rows):
    """The skipping product adds each row's terms in increasing column order, one
    rounding per multiply and per add, whichever tile width (AVX-512, AVX2, one
    vector, one column) the CPU and the layer's width lead to: equal, bit for bit,
    to that sum computed by NumPy."""
    monkeypatch.setattr(_network, "INPUT_DENSITY_LIMIT", 1.0)
    n_features, n_code = 100, 300  # blocks of 150 columns: 128 + 16 + 6, 2*64 + 2*8 + 6
    est, layers, params = _network_for(
        n_features, seed=3, dtype=dtype, n_components=n_code, activation="identity",
    )
    est._layers, est._params = layers, params
    est._missing, est.input_fill_, est._huber_delta = None, None, 1.0
    X = _data(n_rows, n_features, seed=4, sparse=False).astype(dtype)
    X[X < 0.5] = 0
    W, b = est.coefs_[0], est.intercepts_[0]
    expected = np.empty((n_rows, n_code), dtype=dtype)
    for i, x in enumerate(X):
        expected[i] = b
        for k in np.flatnonzero(x):
            expected[i] += x[k] * W[k]
    np.testing.assert_array_equal(est._activations(X, 0, 0), expected)
