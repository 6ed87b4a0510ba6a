"""The layer kinds' descriptors (skae/_core/layers.py) and the kernel's checks of
the layer table they build."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer, VariationalAE
from skae._kernels import _network
from skae._core.layers import (
    COLUMN, DENSE, GAUSSIAN_SAMPLE, build_table, initial_params, kind_of, layer_row,
)


def test_the_table_lays_weights_first_then_biases_and_ties_to_the_mirror():
    layers = [DENSE.layer(6, 4, "relu"), DENSE.layer(4, 2, "identity"),
              DENSE.layer(2, 4, "relu", tied_to=1), DENSE.layer(4, 6, "identity",
                                                                tied_to=0)]
    table, n_params = build_table(layers)
    rows = [layer_row(r) for r in table]
    assert [r["w_offset"] for r in rows] == [0, 24, 24, 0]
    assert [r["transposed"] for r in rows] == [0, 0, 1, 1]
    assert [r["b_offset"] for r in rows] == [32, 36, 38, 42]
    assert n_params == 32 + 4 + 2 + 4 + 6
    assert [(r["in_channels"], r["in_height"], r["in_width"]) for r in rows][1] == (4, 1, 1)
    # The kernel accepts it, and sizes a workspace from it.
    assert _network.workspace_size(table, 5, n_params, True) > 0


def test_a_sampling_layer_has_no_parameters_and_exports_its_mean():
    table, n_params = build_table([DENSE.layer(5, 6, "identity"),
                                   GAUSSIAN_SAMPLE.layer(6),
                                   DENSE.layer(3, 5, "identity")])
    row = layer_row(table[1])
    assert (row["n_in"], row["n_out"], row["w_offset"], row["b_offset"]) == (6, 3, 0, 0)
    assert kind_of(row).export(np.zeros(n_params), row) == ("mean", 3)
    with pytest.raises(ValueError, match="2k inputs"):
        GAUSSIAN_SAMPLE.layer(5)


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
def test_estimators_build_their_tables_from_the_descriptors():
    X = np.random.default_rng(0).normal(size=(40, 7))
    ae = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(5,), max_iter=2,
                                random_state=0).fit(X)
    expected, _ = build_table([DENSE.layer(7, 5, "relu"), DENSE.layer(5, 2, "identity"),
                               DENSE.layer(2, 5, "relu"), DENSE.layer(5, 7, "identity")])
    np.testing.assert_array_equal(ae._layers, expected)
    vae = VariationalAE(n_components=2, hidden_layer_sizes=(5,), max_iter=2,
                        random_state=0).fit(X)
    kinds = [kind_of(layer_row(r)).name for r in vae._layers]
    assert kinds == ["dense", "dense", "gaussian_sample", "dense", "dense"]


def test_initial_weights_follow_glorots_bound_per_layer():
    table, n_params = build_table([DENSE.layer(30, 10, "relu"),
                                   DENSE.layer(10, 30, "sigmoid")])
    params = initial_params(table, n_params, np.float64, np.random.default_rng(0),
                            lambda row: 4.0 if row["activation"] == 1 else 1.0)
    first = kind_of(layer_row(table[0])).weights(params, layer_row(table[0]))
    second = kind_of(layer_row(table[1])).weights(params, layer_row(table[1]))
    bound = np.sqrt(6 / 40)
    assert np.abs(first).max() <= bound and np.abs(first).max() > 0.9 * bound
    assert np.abs(second).max() <= 4 * bound and np.abs(second).max() > 3.6 * bound
    assert not params[600:].any()  # biases start at 0


@pytest.mark.parametrize(("column", "value", "message"), [
    ("in_channels", 3, "products of its geometry"),
    ("out_height", 0, "geometry column"),
    ("kind", 99, "unknown kind code 99"),
    ("activation", 17, "unknown transposition or activation"),
    ("w_offset", 10**6, "outside the"),
])
def test_the_kernel_rejects_a_row_its_kind_cannot_run(column, value, message):
    table, n_params = build_table([DENSE.layer(6, 4, "relu"),
                                   DENSE.layer(4, 6, "identity")])
    table[0, COLUMN[column]] = value
    with pytest.raises(ValueError, match=message):
        _network.workspace_size(table, 5, n_params, True)


def test_the_kernel_rejects_a_layer_whose_input_is_not_the_output_below():
    table, n_params = build_table([DENSE.layer(6, 4, "relu"),
                                   DENSE.layer(4, 6, "identity")])
    # Same width, another geometry: (2, 2, 1) where the layer below gives (4, 1, 1).
    table[1, COLUMN["in_channels"]] = 2
    table[1, COLUMN["in_height"]] = 2
    with pytest.raises(ValueError, match="not the output of the layer below"):
        _network.workspace_size(table, 5, n_params, True)
