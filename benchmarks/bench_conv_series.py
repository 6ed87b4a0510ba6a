"""Time-series clustering with a 1-D ConvAutoencoder: KMeans on its codes.

The protocol of Lafabregue et al. (2021, "End-to-end deep representation
learning for time series clustering: a comparative study", Data Mining and
Knowledge Discovery): train and test cases merged, each series z-normalised
per channel, KMeans with as many clusters as classes on the codes, normalised
mutual information (NMI) against the classes. Beside it: KMeans on the raw
series, and the paper's figures for its dilated-CNN autoencoder and raw k-means.

Configurations are chosen on JapaneseVowels (``--tune``: a small grid, one
line each; its NaN padding is filled with zeros after normalising) and reported
on ArrowHead and BasicMotions, which the choice never sees. (GunPoint is no
tuning set: every method, raw k-means included, scores an NMI of 0 there.)
Each figure is the mean over ``--seeds`` seeds (the autoencoder's and KMeans'
seed), with the spread (max - min).

Usage: python benchmarks/bench_conv_series.py [--tune] [--seeds 3]
       [--data ../shared/data/timeseries]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from skae import ConvAutoencoder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "timeseries"
# Lafabregue et al. (2021), NMI: the dilated-CNN autoencoder and k-means on the
# raw series.
PUBLISHED = {"ArrowHead": (0.296, 0.272), "BasicMotions": (0.761, 0.120)}
# The configuration chosen with --tune on JapaneseVowels (the last line of GRID:
# 0.329 with a spread of 0.003 over 3 seeds, against 0.310 (0.040) with early
# stopping on a tenth of the series, 2026-12-07).
CHOSEN = dict(filters=(32, 32, 32), kernel_size=5, dilation=(1, 2, 4), pooling="max",
              n_components=16, early_stopping=False, max_iter=300)
GRID = [
    dict(filters=(16, 32), kernel_size=5, dilation=1, pooling="max", n_components=16),
    dict(filters=(32, 32, 32), kernel_size=5, dilation=(1, 2, 4), pooling=None,
         n_components=16),
    dict(filters=(32, 32, 32), kernel_size=5, dilation=(1, 2, 4), pooling="max",
         n_components=16),
    dict(filters=(32, 32, 32), kernel_size=3, dilation=(1, 2, 4), pooling="average",
         n_components=8),
    # The third line trained for a fixed number of epochs instead of stopping
    # early on a tenth of the series (8 of BasicMotions' 80).
    dict(filters=(32, 32, 32), kernel_size=5, dilation=(1, 2, 4), pooling="max",
         n_components=16, early_stopping=False, max_iter=100),
    dict(filters=(32, 32, 32), kernel_size=5, dilation=(1, 2, 4), pooling="max",
         n_components=16, early_stopping=False, max_iter=300),
]


def load(folder, name):
    with np.load(folder / f"{name}.npz") as data:
        X = np.concatenate([data["X_train"], data["X_test"]]).astype(np.float32)
        y = np.concatenate([data["y_train"], data["y_test"]])
    mean = np.nanmean(X, axis=2, keepdims=True)
    std = np.nanstd(X, axis=2, keepdims=True)
    # A variable-length set's padding (NaN) ends as zeros: the normalised mean.
    return np.nan_to_num((X - mean) / np.where(std > 0, std, 1)), y


def nmi_of_codes(X, y, params, seed):
    ae = ConvAutoencoder(**{"max_iter": 200, "batch_size": 16, "random_state": seed,
                            **params})
    codes = ae.fit(X).transform(X)
    labels = KMeans(len(np.unique(y)), n_init=10, random_state=seed).fit_predict(codes)
    return normalized_mutual_info_score(y, labels), ae.n_iter_


def nmi_raw(X, y, seed):
    labels = KMeans(len(np.unique(y)), n_init=10, random_state=seed).fit_predict(
        X.reshape(len(X), -1))
    return normalized_mutual_info_score(y, labels)


def summary(values):
    return f"{np.mean(values):.3f} (spread {np.max(values) - np.min(values):.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    seeds = range(args.seeds)
    if args.tune:
        X, y = load(args.data, "JapaneseVowels")
        print(f"JapaneseVowels (tuning): raw k-means {summary([nmi_raw(X, y, s) for s in seeds])}")
        for params in GRID:
            start = time.perf_counter()
            scores = [nmi_of_codes(X, y, params, s)[0] for s in seeds]
            print(f"  {summary(scores)}  {time.perf_counter() - start:5.1f} s  {params}")
        return
    print(f"configuration: {CHOSEN}")
    print("data set       ConvAutoencoder       raw k-means           published AE / raw")
    for name in PUBLISHED:
        X, y = load(args.data, name)
        start = time.perf_counter()
        scores = [nmi_of_codes(X, y, CHOSEN, s)[0] for s in seeds]
        seconds = time.perf_counter() - start
        raw = [nmi_raw(X, y, s) for s in seeds]
        print(f"{name:13s}  {summary(scores)}  {summary(raw)}  "
              f"{PUBLISHED[name][0]:.3f} / {PUBLISHED[name][1]:.3f}   ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
