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


def _thread_limits():
    """The kernels' OpenMP limit in this thread, and each loaded thread pool's
    limit by library file."""
    from threadpoolctl import threadpool_info

    from skae._kernels._network import openmp_threads

    return openmp_threads(), {(lib["filepath"], lib["user_api"]): lib["num_threads"]
                              for lib in threadpool_info()}


@pytest.fixture(autouse=True)
def _thread_limits_kept():
    """Every test leaves the thread limits as it found them. A leak fails the
    test that caused it, not a thread test far later: the Dask nanny's
    OMP_NUM_THREADS, a BLAS limit restored from the wrong thread, an OpenMP
    limit handed between threads all surfaced that way before."""
    openmp, pools = _thread_limits()
    yield
    openmp_after, pools_after = _thread_limits()
    changed = {name: (pools[name], pools_after[name]) for name in pools
               if name in pools_after and pools_after[name] != pools[name]}
    assert openmp_after == openmp and not changed, (
        f"the test changed thread limits: kernels' OpenMP {openmp} -> {openmp_after}, "
        f"pools {changed}")
