"""Timing helpers the benchmark scripts share (each script runs as
``python benchmarks/<script>.py``, so this folder is on its import path)."""

import time

import numpy as np


def best_seconds(call, repeats=3):
    """The shortest of `repeats` timed calls of `call`, after one untimed call
    (which pays for first touches and caches)."""
    call()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_rate(size=2048, repeats=3):
    """Floating-point operations per second of NumPy's float32 product of two
    large square matrices: the machine's best rate for the arithmetic a
    network's epoch is made of."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    return 2 * size ** 3 / best_seconds(lambda: a @ a, repeats)
