"""SequenceAutoencoder and its layer kinds: the GRU and LSTM
(layers/recurrent.pxd), the repeat, reverse and feedback layers
(layers/repeat.pxd, reverse.pxd, feedback.pxd), variable lengths by NaN
padding."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from skae import SequenceAutoencoder
from skae._core.common import kernel_input
from skae._core.layers import (
    BIDIRECTIONAL_GRU, BIDIRECTIONAL_LSTM, COLUMN, CONVOLUTION, DENSE, FEEDBACK, GRU,
    LSTM, REPEAT, REVERSE, build_table,
)
from skae._kernels import _network
from skae._autoencoders.sequence import auto_patch_length, from_patches, to_patches
from skae._kernels.runtime.record import ThreadRecord

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FILL = 0.3


def _config(loss="squared_error", teacher_forcing=1.0):
    config = SequenceAutoencoder(loss=loss, alpha=0.01,
                                 teacher_forcing=teacher_forcing)._kernel_config()
    config["input_density_limit"] = 0.0
    return config


def _objective(table, params, X, config):
    grad = np.empty_like(params)
    work = np.empty(_network.workspace_size(table, X.shape[0], params.size, True))
    loss = _network.loss_and_gradient(*kernel_input(X), params, table, config,
                                      np.zeros(1024), np.random.PCG64(0), grad, work,
                                      fill=np.full(X.shape[1], FILL))
    return loss, grad


def _gradient_error(network, X, loss="squared_error", seed=0):
    """Relative error of the kernel's gradient against central differences,
    missing entries (NaN) entering as FILL and padding ending rows."""
    table, n_params = network
    params = np.random.default_rng(seed).normal(scale=0.5, size=n_params)
    config = _config(loss)
    _, grad = _objective(table, params, X, config)
    numeric = np.empty_like(params)
    for i in range(params.size):
        p = params.copy()
        p[i] += 1e-6
        up = _objective(table, p, X, config)[0]
        p[i] -= 2e-6
        numeric[i] = (up - _objective(table, p, X, config)[0]) / 2e-6
    return np.linalg.norm(numeric - grad) / np.linalg.norm(numeric)


# (encoder kind, decoder kind): one way, and both ways in the encoder.
CELLS = {"gru": (GRU, GRU), "lstm": (LSTM, LSTM),
         "bidirectional_gru": (BIDIRECTIONAL_GRU, GRU),
         "bidirectional_lstm": (BIDIRECTIONAL_LSTM, LSTM)}


def _network_of(channels, steps, encoder, code=2, output="identity", cell="gru",
                reverse=False, decoder="repeat"):
    """Recurrent layers (the last giving its last state), a tanh code, the
    repeat (or feedback) layer, the decoder's recurrent layers (and a reverse
    layer) and a 1 x 1 convolution, as the estimator builds them."""
    reader, cell = CELLS[cell]
    layers, shape = [], (channels, 1, steps)
    for k, units in enumerate(encoder):
        layers.append(reader.layer(shape, units, sequences=k < len(encoder) - 1))
        shape = layers[-1].output_shape
    layers.append(DENSE.layer(shape, code, "tanh"))
    if decoder == "autoregressive":
        depth = len(encoder) + reverse + 1
        layers.append(FEEDBACK.layer(code, channels, steps, depth))
    else:
        layers.append(REPEAT.layer(code, steps))
    shape = layers[-1].output_shape
    for units in reversed(encoder):
        layers.append(cell.layer(shape, units))
        shape = layers[-1].output_shape
    if reverse:
        layers.append(REVERSE.layer(shape))
    layers.append(CONVOLUTION.layer(shape, channels, (1, 1), (1, 1), (0, 0), (1, 1),
                                    output))
    return build_table(layers)


def _series(n, channels, steps, seed=0, padded=(), missing=()):
    """n rows of channels x steps values in [0, 1]; row i of `padded` ends
    after padded[i] steps (NaN after), and (row, channel, step) of `missing`
    is NaN."""
    X = np.random.default_rng(seed).uniform(size=(n, channels, steps))
    for i, length in padded:
        X[i, :, length:] = np.nan
    for i, c, t in missing:
        X[i, c, t] = np.nan
    return X.reshape(n, -1)


@pytest.mark.parametrize(("channels", "encoder"), [(1, (3,)), (3, (3,)), (2, (3, 4))],
                         ids=["one_channel", "channels", "stacked"])
@pytest.mark.parametrize("gaps", [False, True], ids=["whole", "padded_and_missing"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_recurrent_network_gradients(channels, encoder, gaps, cell):
    steps = 5
    padded = [(0, 3), (2, 1)] if gaps else []
    missing = [(1, channels - 1, 2), (3, 0, 0)] if gaps else []
    X = _series(4, channels, steps, padded=padded, missing=missing)
    assert _gradient_error(_network_of(channels, steps, encoder, cell=cell), X) < 1e-7


@pytest.mark.parametrize("cell", ["gru", "bidirectional_lstm"])
def test_reversed_decoder_gradients(cell):
    X = _series(4, 2, 5, padded=[(0, 3), (2, 1)], missing=[(1, 1, 2), (3, 0, 4)])
    network = _network_of(2, 5, (3,), cell=cell, reverse=True)
    assert _gradient_error(network, X) < 1e-7


@pytest.mark.parametrize(("channels", "encoder"), [(1, (3,)), (2, (3, 4))],
                         ids=["one_channel", "stacked"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_autoregressive_decoder_gradients(channels, encoder, reverse, cell):
    # Teacher forcing: the decoder is fed the input's previous values.
    X = _series(4, channels, 5, padded=[(0, 3), (2, 1)],
                missing=[(1, channels - 1, 2), (3, 0, 0)])
    network = _network_of(channels, 5, encoder, cell=cell, reverse=reverse,
                          decoder="autoregressive")
    assert _gradient_error(network, X) < 1e-7


def _fed_and_rebuilt(table, params, X, feedback_layer, code):
    """What the feedback layer feeds (rows, channels, steps) and the network's
    output, on an inference pass (the decoder fed its own outputs)."""
    n, channels = X.shape[0], table[0, COLUMN["in_channels"]]
    fed, _ = _run(table, params, X, feedback_layer, table[feedback_layer, 1])
    out, _ = _run(table, params, X, len(table) - 1, X.shape[1])
    return (fed.reshape(n, code + channels, -1)[:, code:],
            out.reshape(n, channels, -1))


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_a_decoder_fed_its_own_outputs_is_fed_what_it_outputs(cell, reverse):
    # Without a teacher, the layers above the feedback layer run step by step
    # (layers/stepping.pxd) and are then run layer by layer on what it fed
    # them: each fed value must be the output of the step before, 0 at the
    # first step and past a row's end; for a reversed decoder, the step before
    # in its order (step L - k of the series at its step k).
    channels, encoder, code = 2, (3, 4), 2
    table, n_params = _network_of(channels, 6, encoder, code=code, cell=cell,
                                  reverse=reverse, decoder="autoregressive")
    params = np.random.default_rng(1).normal(scale=0.5, size=n_params)
    X = _series(11, channels, 6, padded=[(1, 4), (9, 1)], missing=[(2, 1, 3)])
    fed, out = _fed_and_rebuilt(table, params, X, len(encoder) + 1, code)
    lengths = np.full(11, 6)
    lengths[[1, 9]] = 4, 1
    for i, length in enumerate(lengths):
        for k in range(6):
            expected = (np.zeros(channels) if k == 0 or k >= length
                        else out[i, :, length - k] if reverse else out[i, :, k - 1])
            assert_allclose(fed[i, :, k], expected, rtol=1e-12, atol=1e-14)
    assert np.abs(fed).max() > 0.1


def test_teacher_forcing_decides_between_true_and_own_values():
    # One training pass's objective: fed the true values (1.0), its own (0.0),
    # or a mix (0.5), which differs from both and is the same for the same
    # bit generator.
    table, n_params = _network_of(1, 6, (3,), decoder="autoregressive")
    params = np.random.default_rng(2).normal(scale=0.5, size=n_params)
    X = _series(16, 1, 6, padded=[(3, 4)])

    def objective(ratio):
        return _objective(table, params, X, _config(teacher_forcing=ratio))[0]

    true, own, mixed = objective(1.0), objective(0.0), objective(0.5)
    assert len({true, own, mixed}) == 3
    assert objective(0.5) == mixed


def test_the_reverse_layer_reverses_each_rows_steps_and_keeps_its_padding():
    # Two channels of 5 steps; row 1 ends after 3 (NaN after): its 3 steps
    # reverse, its padding (the recurrent layers' zeros) stays where it is.
    table, n_params = build_table([REVERSE.layer((2, 1, 5)),
                                   CONVOLUTION.layer((2, 1, 5), 2, (1, 1), (1, 1), (0, 0),
                                                     (1, 1), "identity")])
    params = np.zeros(n_params)
    params[:4] = np.eye(2).ravel()                      # the identity convolution
    X = np.arange(20, dtype=float).reshape(2, 10)
    X[1, [3, 4, 8, 9]] = np.nan
    out, _ = _run(table, params, X, 1, 10)
    assert_allclose(out[0], [4, 3, 2, 1, 0, 9, 8, 7, 6, 5])
    assert_allclose(out[1], [12, 11, 10, FILL, FILL, 17, 16, 15, FILL, FILL])
    # Reversing twice is the identity.
    twice, _ = build_table([REVERSE.layer((2, 1, 5)), REVERSE.layer((2, 1, 5)),
                            CONVOLUTION.layer((2, 1, 5), 2, (1, 1), (1, 1), (0, 0),
                                              (1, 1), "identity")])
    out, _ = _run(twice, params, X, 2, 10)
    assert_allclose(out, np.where(np.isnan(X), FILL, X))


@pytest.mark.parametrize(("loss", "cell", "bidirectional", "decoder"), [
    ("huber", "gru", False, {}), ("binary_crossentropy", "gru", True, {}),
    ("squared_error", "lstm", True, {}),
    ("binary_crossentropy", "gru", False, {"decoder": "autoregressive"}),
    ("squared_error", "lstm", True, {"decoder": "autoregressive",
                                     "decoder_order": "reversed"})])
def test_estimator_table_gradients(loss, cell, bidirectional, decoder):
    output = "sigmoid" if loss == "binary_crossentropy" else None
    est = SequenceAutoencoder(n_components=2, input_shape=(2, 4), cell=cell,
                              bidirectional=bidirectional, hidden_layer_sizes=(3, 2),
                              loss=loss, output_activation=output, **decoder)
    X = _series(3, 2, 4, seed=1, padded=[(1, 2)])
    assert _gradient_error(est._layer_table(X.shape[1]), X, loss=loss) < 1e-6


def _run(table, params, X, last, out_width):
    """Layers 0..last on X (missing entries as FILL), and each row's loss."""
    state = ThreadRecord()
    fill = np.full(X.shape[1], FILL, dtype=X.dtype)
    out = np.empty((X.shape[0], out_width), dtype=X.dtype)
    work = np.empty(_network.workspace_size(table, X.shape[0], params.size, False),
                    dtype=X.dtype)
    _network.activations(*kernel_input(X), None, X.shape[0], params, table, 0, last, out,
                         work, X.shape[0], 0.0, state, None, _network.MISSING["nan"], fill)
    losses = np.empty((X.shape[0], 1), dtype=X.dtype)
    _network.row_losses(*kernel_input(X), None, X.shape[0], params, table,
                        _network.LOSSES["squared_error"], losses, work, X.shape[0], 0.0,
                        state, None, _network.MISSING["nan"], fill)
    return out, losses[:, 0]


@pytest.mark.parametrize("decoder", ["repeat", "autoregressive"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_a_padded_series_gives_what_it_gives_alone(cell, reverse, decoder):
    # The same weights on series of 9 and of 4 steps: a 4-step series padded to
    # 9 gets the code and the summed loss it gets alone, whatever the padding
    # sits beside (the other rows of its batch).
    channels, encoder = 2, (3, 4)
    long = _network_of(channels, 9, encoder, cell=cell, reverse=reverse, decoder=decoder)
    short = _network_of(channels, 4, encoder, cell=cell, reverse=reverse,
                        decoder=decoder)
    assert long[1] == short[1]
    params = np.random.default_rng(0).normal(scale=0.5, size=long[1])
    X = _series(3, channels, 9, padded=[(1, 4)], missing=[(1, 1, 2)])
    alone = X.reshape(3, channels, 9)[1:2, :, :4].reshape(1, -1)
    code_long, loss_long = _run(long[0], params, X, len(encoder), 2)
    code_short, loss_short = _run(short[0], params, alone, len(encoder), 2)
    assert_allclose(code_long[1], code_short[0], rtol=1e-12)
    # row_losses scales a row's loss to the full width: n_features / observed.
    observed = np.isfinite(X[1]).sum()
    assert_allclose(loss_long[1] * observed / X.shape[1],
                    loss_short[0] * observed / alone.shape[1], rtol=1e-12)


def _waves(n=120, channels=2, steps=24, seed=0):
    """Noisy sines whose phase and frequency vary by row, channels shifted."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, steps)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    freq = rng.uniform(1, 3, size=(n, 1, 1))
    shift = np.arange(channels)[None, :, None]
    X = np.sin(2 * np.pi * freq * t[None, None, :] + phase + shift)
    return X + 0.05 * rng.normal(size=X.shape)


def test_training_reconstructs_better_than_the_mean_series():
    X = _waves().reshape(120, -1)
    ae = SequenceAutoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=150,
                             learning_rate_init=1e-2, early_stopping=False,
                             random_state=0).fit(X)
    mean_error = np.sum((X - X.mean(axis=0)) ** 2, axis=1).mean()
    error = np.sum((ae.inverse_transform(ae.transform(X)) - X) ** 2, axis=1).mean()
    assert error < 0.25 * mean_error    # measured: 0.17
    assert_allclose(-ae.score(X), error, rtol=1e-6)


def test_arrays_of_samples_train_as_their_rows():
    X3 = _waves(n=40)
    rows = SequenceAutoencoder(n_components=3, input_shape=(2, 24),
                               hidden_layer_sizes=(4,), max_iter=3,
                               random_state=0).fit(X3.reshape(40, -1))
    samples = SequenceAutoencoder(n_components=3, hidden_layer_sizes=(4,), max_iter=3,
                                  random_state=0).fit(X3)
    assert samples.input_shape_ == (2, 24)
    assert_array_equal(samples.transform(X3), rows.transform(X3.reshape(40, -1)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reruns_are_identical_and_float32_stays_float32(dtype):
    X = _waves(n=60).reshape(60, -1).astype(dtype)
    X[3, :, ] = np.where(np.arange(48) % 24 >= 10, np.nan, X[3])
    fits = [SequenceAutoencoder(n_components=3, hidden_layer_sizes=(5,), max_iter=3,
                                random_state=1).fit(X) for _ in range(2)]
    codes = [f.transform(X) for f in fits]
    assert codes[0].dtype == dtype and fits[0].coefs_[0].dtype == dtype
    assert_array_equal(codes[0], codes[1])
    assert_array_equal(fits[0].inverse_transform(codes[0]),
                       fits[1].inverse_transform(codes[1]))


@pytest.mark.parametrize(("cell", "bidirectional", "decoder"), [
    ("gru", False, {}), ("lstm", True, {}),
    ("gru", False, {"decoder": "autoregressive", "teacher_forcing": 0.5}),
    ("lstm", False, {"decoder": "autoregressive", "teacher_forcing": 0.5,
                     "decoder_order": "reversed"})])
def test_one_and_two_threads_give_identical_fits_with_padding(cell, bidirectional,
                                                              decoder):
    X = _waves(n=200).reshape(200, -1)
    X[::3, 30:] = np.nan              # a third of the series end early...
    X[1::3, 5] = np.nan               # ...and a third miss one value
    X[::3, 6:24] = np.nan             # (channel 0 ends with channel 1's padding)
    fits = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            fits.append(SequenceAutoencoder(n_components=3, hidden_layer_sizes=(8, 6),
                                            cell=cell, bidirectional=bidirectional,
                                            max_iter=2, batch_size=32,
                                            random_state=0, **decoder).fit(X))
    assert_array_equal(fits[0].transform(X), fits[1].transform(X))
    assert_array_equal(fits[0].score_samples(X), fits[1].score_samples(X))


def test_partial_fit_warm_start_and_pickle():
    X = _waves(n=50).reshape(50, -1)
    ae = SequenceAutoencoder(n_components=3, hidden_layer_sizes=(4,), random_state=0)
    ae.partial_fit(X)
    ae.partial_fit(X)
    assert ae.n_iter_ == 2
    loaded = pickle.loads(pickle.dumps(ae))
    assert_array_equal(loaded.transform(X), ae.transform(X))
    warm = SequenceAutoencoder(n_components=3, hidden_layer_sizes=(4,), max_iter=2,
                               warm_start=True, early_stopping=False,
                               random_state=0).fit(X)
    first = warm.coefs_[0].copy()
    warm.fit(X)
    assert warm.n_iter_ == 4 and not np.array_equal(first, warm.coefs_[0])


def test_patches_lay_each_steps_points_out_as_channels():
    # Two channels of 5 points in patches of 2: 3 steps, the last padded.
    X = np.arange(10.0).reshape(1, 10)
    P = to_patches(X, 2, 5, 2)
    # Channel (c, j) holds point j of each patch of channel c, step after step.
    assert_array_equal(P.reshape(4, 3), [[0, 2, 4], [1, 3, np.nan],
                                         [5, 7, 9], [6, 8, np.nan]])
    assert_array_equal(from_patches(P, 2, 5, 2), X)
    assert P.dtype == X.dtype
    assert to_patches(X.astype(np.float32), 2, 5, 2).dtype == np.float32


@pytest.mark.parametrize(("channels", "length", "patch"), [
    (1, 251, 16), (1, 150, 16), (1, 20, 2), (1, 7, 1), (6, 100, 2), (12, 29, 1),
    (20, 500, 1)])
def test_auto_patches_hold_about_16_values_and_keep_8_steps(channels, length, patch):
    assert auto_patch_length(channels, length) == patch


@pytest.mark.parametrize("decoder", ["repeat", "autoregressive"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_patches_are_the_network_of_one_point_steps_on_rows_of_patches(dtype, decoder):
    # patch_length=5 trains and runs exactly the network that patch_length=1
    # trains on the rows to_patches makes (23 points: the last patch padded,
    # read as missing values), and gives series back in their own layout.
    X = _waves(n=40, steps=23).astype(dtype)
    X[3, :, 15:] = np.nan          # a series of 15 points
    X[5, 1, 4] = np.nan            # a missing value
    X = X.reshape(40, -1)
    params = dict(n_components=3, hidden_layer_sizes=(4,), decoder=decoder, max_iter=3,
                  random_state=0)
    patched = SequenceAutoencoder(input_shape=(2, 23), patch_length=5, **params).fit(X)
    P = to_patches(X, 2, 23, 5)
    plain = SequenceAutoencoder(input_shape=(10, 5), patch_length=1, **params).fit(P)
    assert patched.patch_length_ == 5 and patched.n_features_in_ == 46
    assert_array_equal(patched.coefs_[0], plain.coefs_[0])
    Z = patched.transform(X)
    assert Z.dtype == dtype
    assert_array_equal(Z, plain.transform(P))
    decoded = patched.inverse_transform(Z)
    assert decoded.shape == (40, 46) and decoded.dtype == dtype
    assert_array_equal(decoded, from_patches(plain.inverse_transform(Z), 2, 23, 5))
    # Scores on the series' width (46 values), not the padded rows' (50).
    assert_allclose(patched.score_samples(X), plain.score_samples(P) * 46 / 50,
                    rtol=1e-6)


def test_patches_take_a_fill_per_feature_and_refuse_a_changed_length_on_warm_start():
    X = _waves(n=30, steps=21).reshape(30, -1)
    X[2, 7] = np.nan
    fill = np.linspace(-1, 1, 42)
    ae = SequenceAutoencoder(n_components=2, input_shape=(2, 21), patch_length=4,
                             hidden_layer_sizes=(3,), missing_fill=fill, max_iter=2,
                             warm_start=True, random_state=0).fit(X)
    # Laid out as the network reads it; 0 for the last patch's padding.
    assert_array_equal(ae.input_fill_,
                       np.nan_to_num(to_patches(fill[None], 2, 21, 4)[0], nan=0.0))
    before = ae.coefs_[0].copy()
    with pytest.raises(ValueError, match="patches of 3 points, but the model was fitted "
                                         "with patches of 4"):
        ae.set_params(patch_length=3).fit(X)
    assert_array_equal(ae.coefs_[0], before)
    assert ae.patch_length_ == 4
    with pytest.raises(ValueError, match="42 finite values"):
        SequenceAutoencoder(input_shape=(2, 21), patch_length=4,
                            missing_fill=fill[:40]).fit(X)


def test_a_model_saved_before_patches_loads_as_one_point_a_step():
    X = _waves(n=30).reshape(30, -1)
    ae = SequenceAutoencoder(n_components=2, patch_length=1, hidden_layer_sizes=(3,),
                             max_iter=2, random_state=0).fit(X)
    state = ae.__getstate__()
    del state["patch_length"], state["patch_length_"]
    old = SequenceAutoencoder.__new__(SequenceAutoencoder)
    with pytest.warns(UserWarning, match="version"):
        old.__setstate__(dict(state, _skae_version="0.1"))
    assert old.get_params()["patch_length"] == 1 and old.patch_length_ == 1
    assert_array_equal(old.transform(X), ae.transform(X))
    old.partial_fit(X)
    assert old.n_iter_ == ae.n_iter_ + 1


def _fitted():
    X = _waves(n=40).reshape(40, -1)
    return SequenceAutoencoder(n_components=3, input_shape=(2, 24),
                               hidden_layer_sizes=(4,), max_iter=2,
                               random_state=0).fit(X), X


@pytest.mark.parametrize(("make_X", "message"), [
    (lambda X: X[:, :40], "expecting 48 features"),
    (lambda X: np.vstack([X[:3], np.full((1, 48), np.nan)]), r"rows \[3\]\) hold only NaN"),
    (lambda X: [list(X[0, :24]), list(X[1, :20])], "different lengths.*Pad each series"),
    (lambda X: X.reshape(40, 2, 24).transpose(0, 2, 1), r"X.transpose\(0, 2, 1\)"),
    (lambda X: X.reshape(40, 4, 12), "fitted on samples of shape"),
], ids=["width", "all_nan_row", "ragged_lists", "swapped_layout", "other_shape"])
def test_bad_input_is_refused_and_leaves_the_model_unchanged(make_X, message):
    ae, X = _fitted()
    before = ae.transform(X)
    state = {k: (v.copy() if isinstance(v, np.ndarray) else v)
             for k, v in ae.__dict__.items()}
    for call in (ae.transform, ae.score_samples, ae.partial_fit):
        with pytest.raises(ValueError, match=message):
            call(make_X(X))
    assert ae.__dict__.keys() == state.keys()
    assert_array_equal(ae.transform(X), before)


def test_a_fit_on_an_all_nan_series_and_sparse_input_are_refused():
    import scipy.sparse as sp

    X = _waves(n=20).reshape(20, -1)
    X[4] = np.nan
    with pytest.raises(ValueError, match=r"rows \[4\]"):
        SequenceAutoencoder(max_iter=1).fit(X)
    with pytest.raises(TypeError, match="sparse"):
        SequenceAutoencoder(max_iter=1).fit(sp.csr_matrix(np.nan_to_num(X)))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        SequenceAutoencoder(hidden_layer_sizes=()).fit(np.nan_to_num(X))
    # Found by the hostile call sequences: None has no activation to fall back on.
    with pytest.raises(ValueError, match="code_activation"):
        SequenceAutoencoder(code_activation=None).fit(np.nan_to_num(X))


def test_the_fit_leaves_the_callers_array_alone():
    X = _waves(n=30).reshape(30, -1)
    X[0, 10:24] = np.nan
    copy = X.copy()
    ae = SequenceAutoencoder(n_components=2, input_shape=(2, 24), hidden_layer_sizes=(3,),
                             max_iter=2, random_state=0).fit(X)
    ae.transform(X)
    ae.score_samples(X)
    assert_array_equal(X, copy)


def test_convergence_warning_is_the_only_warning_of_a_short_fit():
    X = _waves(n=30).reshape(30, -1)
    with pytest.warns(ConvergenceWarning):
        SequenceAutoencoder(n_components=2, hidden_layer_sizes=(3,), max_iter=1,
                            early_stopping=False, random_state=0).fit(X)


@pytest.mark.parametrize("cell", list(CELLS))
def test_float32_steps_follow_float64(cell):
    # float32 runs its own gate loops (maths/vecmath.h: a vectorised tanh and
    # sigmoid); the codes and reconstructions follow float64's.
    channels, encoder = 3, (8, 6)
    table, n_params = _network_of(channels, 12, encoder, cell=cell)
    params = np.random.default_rng(0).normal(scale=0.5, size=n_params)
    X = _series(20, channels, 12, padded=[(0, 5), (3, 1)], missing=[(2, 1, 4)])
    last = len(table) - 1
    for width, upto in ((2, len(encoder)), (X.shape[1], last)):
        wide, _ = _run(table, params, X, upto, width)
        narrow, _ = _run(table, params.astype(np.float32), X.astype(np.float32), upto,
                         width)
        assert_allclose(narrow, wide, rtol=1e-4, atol=1e-5)


def test_max_grad_norm_bounds_each_update():
    # One SGD step over the whole set (no momentum, no L2): at step sizes 1 and
    # 2 from the same start, the updates differ by the step at size 1, whose
    # length is the clipped gradient's, max_grad_norm; unclipped it is longer.
    X = _waves(n=24).reshape(24, -1)

    def params_after_one_step(lr, clip):
        ae = SequenceAutoencoder(n_components=3, hidden_layer_sizes=(4,), solver="sgd",
                                 momentum=0.0, alpha=0.0, learning_rate_init=lr,
                                 batch_size=24, early_stopping=False, shuffle=False,
                                 max_grad_norm=clip, random_state=0)
        return ae.partial_fit(X)._params.copy()

    step = params_after_one_step(2.0, 1e-3) - params_after_one_step(1.0, 1e-3)
    assert_allclose(np.linalg.norm(step), 1e-3, rtol=1e-9)
    free = params_after_one_step(2.0, None) - params_after_one_step(1.0, None)
    assert np.linalg.norm(free) > 0.1


def test_the_kernel_refuses_feedback_tables_it_cannot_step():
    # Crafted tables (as from a tampered pickle) are refused before any work:
    # the wrong depth, a layer above that cannot step, a decoder that does not
    # rebuild the input's shape.
    def table_of(decoder_kind, depth, channels_out=2):
        layers = [GRU.layer((2, 1, 5), 3, sequences=False), DENSE.layer(3, 2, "tanh"),
                  FEEDBACK.layer(2, 2, 5, depth), decoder_kind.layer((4, 1, 5), 3),
                  CONVOLUTION.layer((3, 1, 5), channels_out, (1, 1), (1, 1), (0, 0),
                                    (1, 1), "identity")]
        if decoder_kind is BIDIRECTIONAL_GRU:
            layers[-1] = CONVOLUTION.layer((6, 1, 5), channels_out, (1, 1), (1, 1),
                                           (0, 0), (1, 1), "identity")
        return build_table(layers)

    X = _series(3, 2, 5)
    for (table, n_params), message in [
            (table_of(GRU, 1), "must step through the 2 layers"),
            (table_of(BIDIRECTIONAL_GRU, 2), "cannot run a step at a time"),
            (table_of(GRU, 2, channels_out=1), "must read and rebuild series")]:
        params = np.zeros(n_params)
        with pytest.raises(ValueError, match=message):
            _run(table, params, X, len(table) - 1, table[-1, 1])
