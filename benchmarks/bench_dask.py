"""Dask: a grid search on a LocalCluster, and Incremental against fit in memory.

1. GridSearchCV(make_pipeline(DenoisingAE(), LogisticRegression()), grid,
   cv=3, n_jobs=-1) on the first 10,000 MNIST training images (../shared/
   data/mnist.npz), under the default (loky) backend and under joblib's dask
   backend on a LocalCluster of 1 worker (2 threads) and of 2 workers (1
   thread each): wall time, best parameters and test accuracy (the 10,000
   test images). Times exclude the cluster's start (about 2 s).
2. A DenoisingAE on the 60,000 training images: dask_ml's Incremental over a
   dask array of 10 row blocks (one partial_fit per block, --epochs passes,
   on a 2-worker cluster) against fit on the in-memory array for the same
   epochs: wall time, test reconstruction error (squared error per image) and
   the test accuracy of a LogisticRegression on the codes.

Usage: python benchmarks/bench_dask.py [--epochs 5] [--data ../shared/data/mnist.npz]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import dask.array as da
import joblib
import numpy as np
from dask_ml.wrappers import Incremental
from distributed import Client, LocalCluster
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import skae.dask
from skae import DenoisingAE

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
# The one-layer masking network the published tables were measured with,
# written out (the defaults are deeper now).
ONE_LAYER = dict(hidden_layer_sizes=(), activation="sigmoid", code_activation="sigmoid",
                 noise="masking", noise_level=0.25, init="random", early_stopping=False)
GRID = {"denoisingae__noise_level": [0.1, 0.3], "denoisingae__n_components": [32, 64]}


def cluster(n_workers):
    return LocalCluster(n_workers=n_workers, threads_per_worker=2 // n_workers,
                        processes=True, dashboard_address=None)


def search(X, y, X_test, y_test, backend, n_workers):
    pipe = make_pipeline(DenoisingAE(max_iter=10, random_state=0, **ONE_LAYER),
                         LogisticRegression(max_iter=300))
    grid = GridSearchCV(pipe, GRID, cv=3, n_jobs=-1)
    # The fit's time only: a cluster starts in about 2 s, once per session.
    if backend == "dask":
        with cluster(n_workers) as c, Client(c), joblib.parallel_backend("dask"):
            start = time.perf_counter()
            grid.fit(X, y)
            seconds = time.perf_counter() - start
    else:
        start = time.perf_counter()
        grid.fit(X, y)
        seconds = time.perf_counter() - start
    best = ", ".join(f"{k.split('__')[1]}={v}" for k, v in grid.best_params_.items())
    return seconds, best, grid.score(X_test, y_test)


def quality(ae, X, y, X_test, y_test):
    error = float(np.mean(np.sum((ae.inverse_transform(ae.transform(X_test)) - X_test)
                                 ** 2, axis=1)))
    clf = LogisticRegression(max_iter=500).fit(ae.transform(X[:10000]), y[:10000])
    return error, clf.score(ae.transform(X_test), y_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with np.load(args.data) as d:
        X = (d["X_train"] / 255).astype(np.float32)
        y = d["y_train"]
        X_test = (d["X_test"] / 255).astype(np.float32)
        y_test = d["y_test"]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")

    print("\n1. GridSearchCV over 4 settings x 3 folds, 10,000 rows")
    print(f"{'backend':<28}{'wall s':>8}  {'best':<32}{'test acc':>9}")
    for backend, workers in (("loky", 0), ("dask", 1), ("dask", 2)):
        seconds, best, acc = search(X[:10000], y[:10000], X_test, y_test, backend, workers)
        label = "default (loky, n_jobs=-1)" if backend == "loky" else \
            f"dask, {workers} worker{'s' if workers > 1 else ''}"
        print(f"{label:<28}{seconds:>8.1f}  {best:<32}{acc:>9.4f}", flush=True)

    print(f"\n2. DenoisingAE(n_components=64), 60,000 rows, {args.epochs} epochs")
    print(f"{'how':<34}{'wall s':>8}{'test sq. err':>14}{'codes acc':>11}")
    start = time.perf_counter()
    ae = DenoisingAE(n_components=64, max_iter=args.epochs, tol=0, random_state=0,
                     **ONE_LAYER).fit(X)
    seconds = time.perf_counter() - start
    error, acc = quality(ae, X, y, X_test, y_test)
    print(f"{'fit, in memory':<34}{seconds:>8.1f}{error:>14.2f}{acc:>11.4f}", flush=True)
    dX = skae.dask.check_blocks(da.from_array(X, chunks=(6000, X.shape[1])))
    with cluster(2) as c, Client(c):
        start = time.perf_counter()
        inc = Incremental(DenoisingAE(n_components=64, random_state=0, **ONE_LAYER),
                          random_state=0)
        for _ in range(args.epochs):
            inc.partial_fit(dX)
        seconds = time.perf_counter() - start
    error, acc = quality(inc.estimator_, X, y, X_test, y_test)
    print(f"{'Incremental, 10 blocks, 2 workers':<34}{seconds:>8.1f}{error:>14.2f}"
          f"{acc:>11.4f}", flush=True)


if __name__ == "__main__":
    main()
