"""Shared fixtures: the MNIST file of ../shared/data for the slow quality checks."""

import os
from pathlib import Path

import numpy as np
import pytest

# The repository is cloned beside ../shared (CI does the same); SKAE_MNIST overrides.
MNIST_PATH = Path(
    os.environ.get(
        "SKAE_MNIST", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
    )
)


@pytest.fixture(scope="session")
def mnist():
    """(X_train, y_train, X_test, y_test), X float32 in [0, 1]."""
    if not MNIST_PATH.exists():
        pytest.fail(f"slow tests need MNIST at {MNIST_PATH} (or set SKAE_MNIST)")
    with np.load(MNIST_PATH) as data:
        X_train = data["X_train"].astype(np.float32) / 255
        X_test = data["X_test"].astype(np.float32) / 255
        return X_train, data["y_train"], X_test, data["y_test"]
