"""Anomaly location on one long series: windowed reconstruction errors.

The UCR anomaly archive's protocol (Wu and Keogh, 2021) on the series in
``../shared/data/timeseries/`` (135_UCR_Anomaly_InternalBleeding16): fit on
the training part (its first 1,200 points, normal), score every timestamp of
the whole series by the mean reconstruction error of the windows covering it
(``skae.sliding_windows`` / ``skae.timestamp_scores``), and call the detector
right when its single most anomalous timestamp falls within 100 points of the
labelled region. Side by side: SequenceAutoencoder, the 1-D ConvAutoencoder
and a dense AutoencoderTransformer on the same windows, each at its defaults
apart from the window's shape, and over ``--seeds`` seeds.

Usage: python benchmarks/bench_anomaly_series.py [--width 64] [--seeds 3]
       [--data ../shared/data/timeseries]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.preprocessing import StandardScaler

from skae import (
    AutoencoderTransformer, ConvAutoencoder, SequenceAutoencoder, sliding_windows,
    timestamp_scores,
)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "timeseries"
NAME = "135_UCR_Anomaly_InternalBleeding16"
TOLERANCE = 100


def load(folder, split):
    table = np.loadtxt(folder / f"{NAME}_{split}.csv", delimiter=",", skiprows=1)
    return table[:, 1], table[:, 2].astype(bool)


def models(width, seed):
    return {
        "SequenceAutoencoder": SequenceAutoencoder(input_shape=(1, width),
                                                   random_state=seed),
        "ConvAutoencoder 1-D": ConvAutoencoder(input_shape=(1, width), random_state=seed),
        "AutoencoderTransformer": AutoencoderTransformer(n_components=16,
                                                         random_state=seed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--step", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    train, _ = load(args.data, "TRAIN")
    series, labels = load(args.data, "TEST")
    region = np.flatnonzero(labels)
    scaler = StandardScaler().fit(train[:, None])
    train, series = (scaler.transform(s[:, None]).ravel() for s in (train, series))
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {len(series)} points, "
          f"anomaly at {region[0]}..{region[-1]}, right within {TOLERANCE}; windows of "
          f"{args.width}, step {args.step}")
    windows = sliding_windows(train, args.width, args.step)
    test_windows = sliding_windows(series, args.width, args.step)
    print("| model | seed | most anomalous point | distance | right | s |")
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    for seed in range(args.seeds):
        for name, model in models(args.width, seed).items():
            start = time.perf_counter()
            model.fit(windows)
            scores = timestamp_scores(-model.score_samples(test_windows), len(series),
                                      args.width, args.step)
            seconds = time.perf_counter() - start
            where = int(scores.argmax())
            distance = max(region[0] - where, where - region[-1], 0)
            print(f"| {name} | {seed} | {where} | {distance} | "
                  f"{'yes' if distance <= TOLERANCE else 'no'} | {seconds:.1f} |",
                  flush=True)


if __name__ == "__main__":
    main()
