"""Every estimator at its defaults against PCA: one table, one run.

For each data set, each estimator is constructed with ``n_components`` set and
nothing else (the RBMs: scikit-learn's BernoulliRBM at the same defaults
beside skae's), fitted on a training split, and judged on the held-out rows:

- reconstruction: the held-out mean squared error of ``inverse_transform(
  transform(X))`` over PCA's with the same number of components (< 1 beats
  PCA); for the RBMs, E[v | P(h|v)] against scikit-learn's RBM's;
- features: the held-out accuracy of ``LogisticRegression`` on the codes over
  its accuracy on PCA's codes (> 1 beats PCA).

Every estimator gets the data scaled to [0, 1] per feature (MinMaxScaler
fitted on the training rows), which every skae model accepts; PCA and the
classifier see the same. The targets of issue 33: reconstruction <= 1.0x PCA
everywhere for the dense autoencoders (the linear one within 1%), accuracy >=
PCA's at 8 and 16 components.

Data: ``digits`` (scikit-learn's), ``mnist`` (the first 10,000 training rows of
``SKAE_DATA``'s mnist.npz, pixels / 255), ``blobs`` (make_classification, 40
informative features of 100) and ``moons`` (a 2-D manifold made of make_moons,
embedded in 30 features by a random linear map, plus a sine).

Usage: python benchmarks/bench_defaults.py [--datasets digits,blobs,moons,mnist]
       [--components 8,16,32] [--estimators all] [--seed 0]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.special import expit
from sklearn.datasets import load_digits, make_classification, make_moons
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM as SklearnRBM
from sklearn.preprocessing import MinMaxScaler

import skae

DATA = Path(os.environ.get("SKAE_DATA", Path(__file__).resolve().parents[2] / "shared"
                           / "data"))
ESTIMATORS = ["AutoencoderTransformer", "DenoisingAE", "SparseAE", "ContractiveAE",
              "VariationalAE", "StackedAE", "BernoulliRBM"]


def load(name, seed):
    rng = np.random.default_rng(seed)
    if name == "digits":
        return load_digits(return_X_y=True)
    if name == "mnist":
        with np.load(DATA / "mnist.npz") as d:
            return d["X_train"][:10000] / 255.0, d["y_train"][:10000]
    if name == "blobs":
        return make_classification(n_samples=3000, n_features=100, n_informative=40,
                                   n_redundant=20, n_classes=5, random_state=seed)
    if name == "moons":
        Z, y = make_moons(n_samples=3000, noise=0.1, random_state=seed)
        M = rng.normal(size=(2, 30))
        X = Z @ M + np.sin(3 * Z @ rng.normal(size=(2, 30))) + 0.05 * rng.normal(
            size=(3000, 30))
        return X, y
    raise SystemExit(f"unknown dataset {name!r}")


def mse(model, X):
    """Held-out mean squared reconstruction error; for scikit-learn's RBM, which
    has no inverse_transform, E[v | P(h|v)] as skae's RBM computes it."""
    if isinstance(model, SklearnRBM):
        recon = expit(model.transform(X) @ model.components_ + model.intercept_visible_)
    else:
        recon = model.inverse_transform(model.transform(X))
    return float(np.mean((recon - X) ** 2))


def accuracy(model, X_train, y_train, X_test, y_test):
    clf = LogisticRegression(max_iter=2000)
    return float(clf.fit(model.transform(X_train), y_train).score(model.transform(X_test),
                                                                   y_test))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,blobs,moons,mnist")
    parser.add_argument("--components", default="8,16,32")
    parser.add_argument("--estimators", default="all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    names = ESTIMATORS if args.estimators == "all" else args.estimators.split(",")
    print(f"# {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, "
          f"{time.strftime('%Y-%m-%d')}")
    print("| data | k | estimator | reconstruction / PCA | accuracy / PCA | fit s |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for data in args.datasets.split(","):
        X, y = load(data, args.seed)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=args.seed, stratify=y)
        scaler = MinMaxScaler(clip=True).fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        for k in map(int, args.components.split(",")):
            if k >= X.shape[1]:
                continue  # no bottleneck: PCA is exact there
            pca = PCA(k, random_state=args.seed).fit(X_train)
            pca_mse = mse(pca, X_test)
            pca_acc = accuracy(pca, X_train, y_train, X_test, y_test)
            sk = SklearnRBM(n_components=k, random_state=args.seed).fit(X_train)
            for name in names:
                model = getattr(skae, name)(n_components=k, random_state=args.seed)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    warnings.simplefilter("ignore", UserWarning)
                    try:
                        model.fit(X_train)
                    except ValueError as error:
                        print(f"| {data} | {k} | {name} | failed: {error} | | |")
                        continue
                seconds = time.perf_counter() - start
                reference = sk if name == "BernoulliRBM" else pca
                ref_mse = mse(sk, X_test) if name == "BernoulliRBM" else pca_mse
                ref_acc = (accuracy(sk, X_train, y_train, X_test, y_test)
                           if name == "BernoulliRBM" else pca_acc)
                label = name + (" (vs scikit-learn's)" if reference is sk else "")
                print(f"| {data} | {k} | {label} | {mse(model, X_test) / ref_mse:.3f} | "
                      f"{accuracy(model, X_train, y_train, X_test, y_test) / ref_acc:.3f}"
                      f" | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
