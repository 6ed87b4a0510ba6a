"""``python -m skae``: compare skae's autoencoders with PCA as features for a classifier.

Each model is a pipeline ``MinMaxScaler -> model -> LogisticRegression`` trained
on the same split; the table shows test accuracy, test reconstruction error
(mean squared error per pixel, for the models that reconstruct) and fit time.
By default it runs on scikit-learn's bundled digits (no download, a few
seconds); ``--data`` points it at your own ``.npz``, ``.npy`` or ``.csv`` file.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from . import AutoencoderTransformer, DenoisingAE, __version__


def load_data(path, label_column=None):
    """Load (X_train, X_test, y_train, y_test) from a file; y may be None.

    - ``.npz``: ``X_train``/``X_test`` (with ``y_train``/``y_test`` if present),
      or ``X`` (and ``y``), or else its first array;
    - ``.npy``: a 2-D array;
    - ``.csv``: numbers separated by commas, an optional header line.

    For ``.npy`` and ``.csv``, ``label_column`` (an index, e.g. -1) names the
    column that holds the labels.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path) as data:
            keys = set(data.files)
            if {"X_train", "X_test"} <= keys:
                y_train = data["y_train"] if "y_train" in keys else None
                y_test = data["y_test"] if "y_test" in keys else None
                return data["X_train"], data["X_test"], y_train, y_test
            X = data["X"] if "X" in keys else data[data.files[0]]
            y = data["y"] if "y" in keys else None
    elif suffix == ".npy":
        X, y = np.load(path), None
    elif suffix == ".csv":
        with open(path) as f:
            first = f.readline()
        has_header = any(c.isalpha() for c in first.replace("e", "").replace("E", ""))
        X, y = np.loadtxt(path, delimiter=",", skiprows=int(has_header), ndmin=2), None
    else:
        raise ValueError(f"{path}: expected a .npz, .npy or .csv file, got {suffix!r}.")
    if X.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array of samples, got shape {X.shape}.")
    if label_column is not None and y is None:
        y = X[:, label_column]
        X = np.delete(X, label_column, axis=1)
    if y is not None:
        return train_test_split(X, y, test_size=0.25, random_state=0,
                                stratify=y if len(np.unique(y)) < len(y) / 2 else None)
    X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
    return X_train, X_test, None, None


def _models(n_components, max_iter, random_state):
    return {
        f"PCA({n_components})": PCA(n_components, random_state=random_state),
        f"AutoencoderTransformer({n_components})": AutoencoderTransformer(
            n_components, max_iter=max_iter, random_state=random_state
        ),
        f"DenoisingAE({n_components})": DenoisingAE(
            n_components, max_iter=max_iter, random_state=random_state
        ),
    }


def run(X_train, X_test, y_train, y_test, n_components, max_iter, random_state=0,
        out=None):
    """Fit every model, print the table (to ``out``, default stdout), return its rows."""
    out = sys.stdout if out is None else out
    # Everything in float32, as skae keeps it end to end.
    X_train = np.asarray(X_train, dtype=np.float32)
    X_test = np.asarray(X_test, dtype=np.float32)
    supervised = y_train is not None
    rows = []
    candidates = {"raw features": None, **_models(n_components, max_iter, random_state)}
    for name, model in candidates.items():
        if model is None and not supervised:
            continue
        scaler = MinMaxScaler().fit(X_train)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if supervised:
                steps = [MinMaxScaler()] + ([model] if model is not None else [])
                pipe = make_pipeline(*steps, LogisticRegression(max_iter=1000))
                pipe.fit(X_train, y_train)
            else:
                model.fit(scaler.transform(X_train))
        fit_time = time.perf_counter() - start
        accuracy = pipe.score(X_test, y_test) if supervised else None
        error = None
        if model is not None:
            fitted = pipe[1] if supervised else model
            Xs = np.clip(scaler.transform(X_test), 0, 1).astype(np.float32)
            recon = fitted.inverse_transform(fitted.transform(Xs))
            error = float(np.mean((recon - Xs) ** 2))
        rows.append((name, accuracy, error, fit_time))

    header = f"{'model':<30} {'test accuracy':>13} {'test recon. MSE':>16} {'fit s':>7}"
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, accuracy, error, fit_time in rows:
        acc = "-" if accuracy is None else f"{accuracy:.4f}"
        err = "-" if error is None else f"{error:.5f}"
        print(f"{name:<30} {acc:>13} {err:>16} {fit_time:7.2f}", file=out)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skae",
        description="Autoencoder features vs PCA features for LogisticRegression.",
    )
    parser.add_argument("--data", type=Path,
                        help="a .npz, .npy or .csv file (default: scikit-learn's digits)")
    parser.add_argument("--label-column", type=int, default=None,
                        help="for .npy/.csv: index of the column holding the labels")
    parser.add_argument("--n-components", type=int, default=32)
    parser.add_argument("--max-iter", type=int, default=None,
                        help="autoencoder epochs (default: 200 on digits, 10 on a file)")
    parser.add_argument("--max-samples", type=int, default=None,
                        help="use at most this many training samples")
    args = parser.parse_args(argv)

    if args.data is None:
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y
        )
        source = "scikit-learn's digits (8x8 images, 10 classes)"
        max_iter = args.max_iter or 200
    else:
        X_train, X_test, y_train, y_test = load_data(args.data, args.label_column)
        source = str(args.data)
        max_iter = args.max_iter or 10
    if args.max_samples is not None:
        X_train = X_train[: args.max_samples]
        y_train = None if y_train is None else y_train[: args.max_samples]

    print(f"skae {__version__}: {source}; {X_train.shape[0]} training and "
          f"{X_test.shape[0]} test samples, {X_train.shape[1]} features; "
          f"{args.n_components} components; autoencoder epochs: {max_iter}\n")
    run(X_train, X_test, y_train, y_test, args.n_components, max_iter)
    print(
        "\nEach row is MinMaxScaler -> model -> LogisticRegression (reconstruction "
        "error on the scaled test set).\nNext: help(skae.DenoisingAE), SparseAE, "
        "ContractiveAE; "
        "your own data with --data FILE (e.g. ../shared/data/mnist.npz);\n"
        "speed against PyTorch and scikit-learn: python benchmarks/bench_autoencoder.py"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
