"""Time-series clustering with SequenceAutoencoder: KMeans on its codes.

Issue 38's protocol: train and test cases merged, the series as given (no
normalisation; a variable-length set keeps its NaN padding, which the
autoencoder reads as each series' end and which the baselines fill with 0),
KMeans with 10 restarts and as many clusters as classes, normalised mutual
information (NMI) against the classes. Beside it: KMeans on the raw series and
on PCA codes of the same size, and the best autoencoder of Lafabregue et al.
(2021, "End-to-end deep representation learning for time series clustering: a
comparative study"). Then GunPoint: logistic regression on the codes against
on the raw series (train / test split as given).

The defaults were chosen on JapaneseVowels (``--tune`` prints the grid); the
other sets are reported, never tuned on. Each figure is the mean over
``--seeds`` seeds (the autoencoder's and KMeans'), with the spread.

``--decoder-order reversed`` reports the reversed decoder instead of the
default one; ``--decoder autoregressive --teacher-forcing R`` the decoder fed
its previous value (true values on a share R of the training steps);
``--sets`` some of the sets only (GunPoint included by name);
``--patch-length 1`` one time point a recurrent step (the default, "auto",
gives ArrowHead and GunPoint steps of 16 points, BasicMotions of 2).

Usage: python benchmarks/bench_sequence_clustering.py [--tune] [--seeds 3]
       [--decoder-order forward] [--decoder repeat] [--teacher-forcing 1.0]
       [--patch-length auto] [--sets ArrowHead BasicMotions JapaneseVowels GunPoint]
       [--data ../shared/data/timeseries]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import SequenceAutoencoder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "timeseries"
# Lafabregue et al. (2021): the best autoencoder's NMI and which it was.
PUBLISHED = {"ArrowHead": (0.296, "dilated CNN"), "BasicMotions": (0.816, "BiLSTM"),
             "JapaneseVowels": (0.776, "BiGRU")}
GRID = [
    dict(learning_rate_init=1e-3, max_grad_norm=None),
    dict(learning_rate_init=1e-2, max_grad_norm=None),
    dict(learning_rate_init=1e-2, max_grad_norm=5.0),
    dict(learning_rate_init=1e-2, max_grad_norm=5.0, n_components=8),
    dict(learning_rate_init=1e-2, max_grad_norm=5.0, hidden_layer_sizes=(32, 32)),
    dict(learning_rate_init=1e-2, max_grad_norm=5.0, decoder_order="reversed"),
]


def load(folder, name, split=None):
    with np.load(folder / f"{name}.npz") as data:
        if split:
            return data[f"X_{split}"].astype(np.float32), data[f"y_{split}"]
        X = np.concatenate([data["X_train"], data["X_test"]]).astype(np.float32)
        y = np.concatenate([data["y_train"], data["y_test"]])
    return X, y


def kmeans_nmi(Z, y, seed):
    labels = KMeans(len(np.unique(y)), n_init=10, random_state=seed).fit_predict(Z)
    return normalized_mutual_info_score(y, labels)


def codes(X, seed, params):
    return SequenceAutoencoder(random_state=seed, **params).fit(X).transform(X)


def summary(values):
    return f"{np.mean(values):.3f} ({np.max(values) - np.min(values):.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--decoder-order", choices=["forward", "reversed"],
                        default=SequenceAutoencoder().decoder_order)
    parser.add_argument("--decoder", choices=["repeat", "autoregressive"],
                        default=SequenceAutoencoder().decoder)
    parser.add_argument("--teacher-forcing", type=float,
                        default=SequenceAutoencoder().teacher_forcing)
    parser.add_argument("--patch-length", default=SequenceAutoencoder().patch_length,
                        type=lambda v: v if v == "auto" else int(v))
    parser.add_argument("--sets", nargs="+", default=[*PUBLISHED, "GunPoint"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    chosen = {"decoder_order": args.decoder_order, "decoder": args.decoder,
              "teacher_forcing": args.teacher_forcing, "patch_length": args.patch_length}
    warnings.simplefilter("ignore")
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    seeds = range(args.seeds)
    if args.tune:
        X, y = load(args.data, "JapaneseVowels")
        for params in GRID:
            start = time.perf_counter()
            scores = [kmeans_nmi(codes(X, s, {**chosen, **params}), y, s) for s in seeds]
            print(f"JapaneseVowels {summary(scores)}  {time.perf_counter() - start:5.1f} s"
                  f"  {params}")
        return
    print(f"NMI, mean (spread) over seeds; JapaneseVowels chose the defaults; {chosen}\n")
    print("| set | SequenceAutoencoder | raw k-means | PCA k-means | published AE | s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in [name for name in PUBLISHED if name in args.sets]:
        X, y = load(args.data, name)
        start = time.perf_counter()
        ours = [kmeans_nmi(codes(X, s, chosen), y, s) for s in seeds]
        seconds = time.perf_counter() - start
        flat = np.nan_to_num(X).reshape(len(X), -1)
        k = SequenceAutoencoder().n_components
        raw = [kmeans_nmi(flat, y, s) for s in seeds]
        pca = [kmeans_nmi(PCA(k, random_state=s).fit_transform(flat), y, s) for s in seeds]
        published, which = PUBLISHED[name]
        print(f"| {name} | {summary(ours)} | {summary(raw)} | {summary(pca)} | "
              f"{published:.3f} ({which}) | {seconds:.0f} |", flush=True)
    if "GunPoint" not in args.sets:
        return
    (X_train, y_train), (X_test, y_test) = (load(args.data, "GunPoint", split)
                                            for split in ("train", "test"))
    raw = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    raw_accuracy = raw.fit(X_train.reshape(len(X_train), -1), y_train).score(
        X_test.reshape(len(X_test), -1), y_test)
    accuracies = []
    for s in seeds:
        model = make_pipeline(SequenceAutoencoder(random_state=s, **chosen), StandardScaler(),
                              LogisticRegression(max_iter=1000))
        accuracies.append(model.fit(X_train, y_train).score(X_test, y_test))
    print(f"\nGunPoint, logistic regression accuracy: on codes {summary(accuracies)}, "
          f"on the raw series {raw_accuracy:.3f}")


if __name__ == "__main__":
    main()
