"""``python -m skae``: where an autoencoder earns its place beside PCA, and where not.

Three comparisons on the same train/test split, each printed as a table with
fit times:

1. Reconstruction of held-out images from a small code (2, 4, 8 numbers):
   PCA against an autoencoder with one hidden layer (a nonlinear map can bend
   to the data where PCA's plane cannot).
2. The same codes as features for LogisticRegression (with labels).
3. Denoising: test images with 40% of their pixels zeroed, restored by PCA's
   projection and by a DenoisingAE trained to undo that corruption.

The closing lines state what the numbers showed, PCA's wins included (it fits
in milliseconds, needs no tuning, and its codes are as good once there are
enough of them). By default it runs on scikit-learn's bundled digits (no
download, under a minute on 2 cores); ``--data`` points it at your own
``.npz``, ``.npy`` or ``.csv`` file, scaled to [0, 1] column by column.
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


def _autoencoder(cls, n_components, max_iter, random_state, **params):
    """The estimator at its defaults: only the code size, the epoch cap, the
    seed and what the task itself fixes (the denoising task's noise) set."""
    return cls(n_components, max_iter=max_iter, random_state=random_state, **params)


def _timed_fit(model, X):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return time.perf_counter() - start


def _reconstruction_error(model, X, target=None):
    """Mean squared error per value of model's reconstruction of X (against
    target, default X), the reconstruction clipped to [0, 1] like the data."""
    recon = np.clip(model.inverse_transform(model.transform(X)), 0, 1)
    return float(np.mean((recon - (X if target is None else target)) ** 2))


def _accuracy(model, X_train, X_test, y_train, y_test):
    clf = LogisticRegression(max_iter=2000)
    return clf.fit(model.transform(X_train), y_train).score(model.transform(X_test), y_test)


def run(X_train, X_test, y_train, y_test, sizes=(2, 4, 8), max_iter=500,
        noise_level=0.4, denoising_size=16, random_state=0, out=None):
    """Fit every model, print the tables (to ``out``, default stdout), return
    {"codes": rows, "denoising": row, "raw_accuracy": float or None}; X must
    lie in [0, 1]."""
    out = sys.stdout if out is None else out
    # float32 end to end, as skae keeps it.
    X_train = np.asarray(X_train, dtype=np.float32)
    X_test = np.asarray(X_test, dtype=np.float32)
    supervised = y_train is not None

    print("1-2. Small codes: test reconstruction error (mean squared error per value)"
          + (" and LogisticRegression accuracy on the codes" if supervised else ""),
          file=out)
    header = (f"{'code size':>9} {'PCA error':>10} {'AE error':>9} {'AE/PCA':>7}"
              + (f" {'PCA acc.':>9} {'AE acc.':>8}" if supervised else "")
              + f" {'PCA fit s':>10} {'AE fit s':>9}")
    print(header, file=out)
    rows = []
    for k in sizes:
        pca, ae = PCA(k, random_state=random_state), _autoencoder(
            AutoencoderTransformer, k, max_iter, random_state)
        t_pca, t_ae = _timed_fit(pca, X_train), _timed_fit(ae, X_train)
        row = {"size": k, "pca_error": _reconstruction_error(pca, X_test),
               "ae_error": _reconstruction_error(ae, X_test),
               "pca_time": t_pca, "ae_time": t_ae}
        if supervised:
            row["pca_accuracy"] = _accuracy(pca, X_train, X_test, y_train, y_test)
            row["ae_accuracy"] = _accuracy(ae, X_train, X_test, y_train, y_test)
        rows.append(row)
        print(f"{k:>9} {row['pca_error']:>10.4f} {row['ae_error']:>9.4f} "
              f"{row['ae_error'] / row['pca_error']:>7.2f}"
              + (f" {row['pca_accuracy']:>9.3f} {row['ae_accuracy']:>8.3f}"
                 if supervised else "")
              + f" {t_pca:>10.3f} {t_ae:>9.2f}", file=out)
    raw = None
    if supervised:
        raw = LogisticRegression(max_iter=2000).fit(X_train, y_train).score(X_test, y_test)
        print(f"{'all':>9} (raw features, {X_train.shape[1]} of them): accuracy "
              f"{raw:.3f}", file=out)

    k = min(denoising_size, X_train.shape[1])
    noisy = X_test * (np.random.default_rng(random_state).random(X_test.shape)
                      >= noise_level).astype(np.float32)
    pca = PCA(k, random_state=random_state)
    dae = _autoencoder(DenoisingAE, k, max_iter, random_state, noise="masking",
                       noise_level=noise_level)
    t_pca, t_dae = _timed_fit(pca, X_train), _timed_fit(dae, X_train)
    denoising = {"size": k, "noisy_error": float(np.mean((noisy - X_test) ** 2)),
                 "pca_error": _reconstruction_error(pca, noisy, X_test),
                 "dae_error": _reconstruction_error(dae, noisy, X_test),
                 "pca_time": t_pca, "dae_time": t_dae}
    print(f"\n3. Denoising: {noise_level:.0%} of each test image's values zeroed; error "
          "against the clean image", file=out)
    print(f"{'corrupted':>10} {f'PCA({k})':>9} {f'DenoisingAE({k})':>16} "
          f"{'PCA fit s':>10} {'DAE fit s':>10}", file=out)
    print(f"{denoising['noisy_error']:>10.4f} {denoising['pca_error']:>9.4f} "
          f"{denoising['dae_error']:>16.4f} {t_pca:>10.3f} {t_dae:>10.2f}", file=out)
    return {"codes": rows, "denoising": denoising, "raw_accuracy": raw}


def verdict(results):
    """What the numbers showed, in sentences (computed, not canned)."""
    rows, den = results["codes"], results["denoising"]
    lines = []
    wins = [r for r in rows if r["ae_error"] < r["pca_error"]]
    if wins:
        best = min(wins, key=lambda r: r["ae_error"] / r["pca_error"])
        lines.append(
            f"- Reconstruction: the autoencoder beat PCA at code sizes "
            f"{', '.join(str(r['size']) for r in wins)} (at {best['size']}, "
            f"{best['ae_error'] / best['pca_error']:.2f}x PCA's error).")
    else:
        lines.append("- Reconstruction: PCA was as good as the autoencoder here.")
    if "ae_accuracy" in rows[0]:
        better = [r for r in rows if r["ae_accuracy"] > r["pca_accuracy"] + 0.005]
        lines.append(
            "- Features: the autoencoder's codes classified better at code sizes "
            + ", ".join(f"{r['size']} ({r['ae_accuracy']:.3f} vs {r['pca_accuracy']:.3f})"
                        for r in better) + "."
            if better else "- Features: PCA's codes classified as well as the "
            "autoencoder's.")
    if den["dae_error"] < den["pca_error"]:
        lines.append(
            f"- Denoising: the DenoisingAE left {den['dae_error'] / den['pca_error']:.2f}"
            f"x PCA's error ({den['dae_error']:.4f} against {den['pca_error']:.4f}).")
    slowest = max(r["ae_time"] / max(r["pca_time"], 1e-6) for r in rows)
    line = (f"- Where PCA is enough: it fitted up to {slowest:.0f}x faster, has no "
            "parameters to tune and its solution is exact; the autoencoder's edge "
            "is at small codes.")
    raw = results.get("raw_accuracy")
    if raw is not None and raw >= max(r["ae_accuracy"] for r in rows):
        line += (f" For a linear classifier alone, the raw features ({raw:.3f}) beat "
                 "every small code.")
    lines.append(line)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skae",
        description="Where an autoencoder beats PCA, and where it does not.",
    )
    parser.add_argument("--data", type=Path,
                        help="a .npz, .npy or .csv file (default: scikit-learn's digits)")
    parser.add_argument("--label-column", type=int, default=None,
                        help="for .npy/.csv: index of the column holding the labels")
    parser.add_argument("--max-iter", type=int, default=500,
                        help="most autoencoder epochs (early stopping ends sooner)")
    parser.add_argument("--max-samples", type=int, default=None,
                        help="use at most this many training samples")
    args = parser.parse_args(argv)

    if args.data is None:
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y
        )
        source = "scikit-learn's digits (8x8 images, 10 classes)"
    else:
        if not args.data.is_file():
            parser.error(
                f"--data {args.data}: no such file. To try MNIST, save it once with "
                "scikit-learn: X, y = sklearn.datasets.fetch_openml('mnist_784', "
                "return_X_y=True, as_frame=False); numpy.savez('mnist.npz', X=X, y=y)"
            )
        try:
            X_train, X_test, y_train, y_test = load_data(args.data, args.label_column)
        except (OSError, ValueError) as error:
            parser.error(f"--data {args.data}: {error}")
        source = str(args.data)
    if args.max_samples is not None:
        X_train = X_train[: args.max_samples]
        y_train = None if y_train is None else y_train[: args.max_samples]
    # Columns to [0, 1] (cross-entropy needs it); clip: held-out rows may fall outside.
    scaler = MinMaxScaler(clip=True).fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    print(f"skae {__version__}: {source}; {X_train.shape[0]} training and "
          f"{X_test.shape[0]} test samples, {X_train.shape[1]} features\n")
    start = time.perf_counter()
    results = run(X_train, X_test, y_train, y_test, max_iter=args.max_iter)
    print(f"\nWhat this run showed ({time.perf_counter() - start:.1f} s in all):")
    print("\n".join(verdict(results)))
    print(
        "\nNext: help(skae.DenoisingAE), SparseAE, ContractiveAE, StackedAE, "
        "BernoulliRBM; your own data with --data FILE;\nthe user guide, "
        "doc/user_guide.md; speed against PyTorch and scikit-learn: benchmarks/."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
