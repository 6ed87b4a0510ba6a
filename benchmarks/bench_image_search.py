"""Image search in a code space: precision at 10 of nearest neighbours.

The lectures' application of a convolutional autoencoder: encode a database of
images, then answer a query image with the database images whose codes are
nearest (Euclidean). Precision at 10 is the share of the 10 answers that have
the query's label (labels are never used for training). Compared, each with a
code of the same size where it has one: raw pixels, PCA, the dense
AutoencoderTransformer and ConvAutoencoder.

- ``load_digits`` (8 x 8): the database is the first 1,200 images, the queries
  the other 597.
- ``--mnist``: the database is ``--rows`` training images, the queries the
  10,000 test images (``../shared/data/mnist.npz``).

Usage: python benchmarks/bench_image_search.py [--mnist] [--rows 20000]
       [--epochs 10] [--code 32] [--data ../shared/data/mnist.npz]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from skae import AutoencoderTransformer, ConvAutoencoder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


def precision_at_10(database, db_labels, queries, query_labels):
    index = NearestNeighbors(n_neighbors=10).fit(database)
    neighbours = index.kneighbors(queries, return_distance=False)
    return float(np.mean(db_labels[neighbours] == query_labels[:, None]))


def data(args):
    if not args.mnist:
        X, y = load_digits(return_X_y=True)
        X = (X / 16).astype(np.float32)
        return X[:1200], y[:1200], X[1200:], y[1200:], (1, 8, 8), (8, 16)
    with np.load(args.data) as d:
        X = d["X_train"][:args.rows].astype(np.float32) / 255
        y = d["y_train"][:args.rows]
        Xq = d["X_test"].astype(np.float32) / 255
        yq = d["y_test"]
    return X, y, Xq, yq, (1, 28, 28), (16, 32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", action="store_true")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--code", type=int, default=32)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y, Xq, yq, shape, filters = data(args)
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; database {len(X)}, "
          f"queries {len(Xq)}, code {args.code}")
    common = dict(n_components=args.code, max_iter=args.epochs, batch_size=32,
                  random_state=0)
    methods = {
        "raw pixels": None,
        f"PCA({args.code})": PCA(args.code, random_state=0),
        "AutoencoderTransformer": AutoencoderTransformer(**common),
        "ConvAutoencoder": ConvAutoencoder(input_shape=shape, filters=filters, **common),
    }
    for name, model in methods.items():
        start = time.perf_counter()
        if model is None:
            database, queries = X, Xq
        else:
            database = model.fit(X).transform(X)
            queries = model.transform(Xq)
        score = precision_at_10(database, y, queries, yq)
        print(f"{name:24s} {score:.3f}   ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
