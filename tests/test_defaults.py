"""The defaults earn their place: each dense autoencoder, constructed with only
``n_components``, reconstructs held-out rows better than PCA with as many
components, and a linear one finds PCA's subspace.

The margins are wide on purpose (digits: 0.55-0.7x PCA's error at 8 and 16
components in benchmarks/bench_defaults.py); the full table, on MNIST and
make_* data too, is in doc/benchmarks.md.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from skae import (
    AutoencoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
    StackedAE,
)


def _split(X):
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    scaler = MinMaxScaler(clip=True).fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def _ratio(model, X_train, X_test, k):
    """Held-out reconstruction error of model over PCA's with k components."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train)
    pca = PCA(k).fit(X_train)

    def error(m):
        return np.mean((m.inverse_transform(m.transform(X_test)) - X_test) ** 2)

    return error(model) / error(pca)


@pytest.fixture(scope="module")
def digits():
    return _split(load_digits().data)


@pytest.mark.parametrize("cls", [AutoencoderTransformer, DenoisingAE, SparseAE,
                                 ContractiveAE, StackedAE])
def test_defaults_beat_pca_on_digits(digits, cls):
    assert _ratio(cls(8, random_state=0), *digits, 8) < 0.9


def test_a_linear_autoencoder_finds_pcas_subspace(digits):
    linear = AutoencoderTransformer(16, hidden_layer_sizes=(), activation="identity",
                                    code_activation="identity", random_state=0)
    assert _ratio(linear, *digits, 16) <= 1.0 + 1e-6


def test_where_pca_is_best_the_default_keeps_pcas_solution():
    # Gaussian clusters and noise features: a linear code is the best there,
    # and the network started at PCA keeps that start.
    X, _ = make_classification(n_samples=1500, n_features=60, n_informative=20,
                               n_redundant=10, random_state=0)
    model = AutoencoderTransformer(8, random_state=0)
    assert _ratio(model, *_split(X), 8) <= 1.0 + 1e-6
