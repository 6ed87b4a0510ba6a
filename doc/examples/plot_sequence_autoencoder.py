"""
A recurrent autoencoder on series of different lengths: codes, reconstructions, anomalies
=========================================================================================

A :class:`~skae.SequenceAutoencoder` reads each series step by step with a
GRU (each step a patch of 8 time points of both channels, the default for two
channels), keeps a code of 8 numbers and decodes the whole series from it. The data
are made here: three kinds of two-channel signals (a sine, a square wave and a
chirp) with random frequency, phase and noise, between 60 and 100 steps long.
Shorter series are padded on the right with NaN: the network stops reading
where the padding starts and is never asked to reconstruct it.

Below: reconstructions of series of different lengths, a 2-D map of the codes
coloured by the kind of signal (which the autoencoder never saw), the same
map for PCA on the zero-padded series, and an anomaly score along one long
stream from windows of it. About 6 seconds on 2 cores.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import normalized_mutual_info_score

from skae import SequenceAutoencoder, sliding_windows, timestamp_scores

rng = np.random.default_rng(0)
KINDS = ("sine", "square", "chirp")


def signal(kind, t, freq, phase):
    if kind == "sine":
        return np.sin(2 * np.pi * freq * t + phase)
    if kind == "square":
        return np.sign(np.sin(2 * np.pi * freq * t + phase))
    return np.sin(2 * np.pi * freq * t * (1 + 2 * t) + phase)


n, steps = 600, 100
X = np.full((n, 2, steps), np.nan, dtype=np.float32)
y = rng.integers(0, 3, size=n)
lengths = rng.integers(60, steps + 1, size=n)
for i in range(n):
    t = np.linspace(0, 1, steps)[: lengths[i]]
    freq, phase = rng.uniform(1.5, 3), rng.uniform(0, 2 * np.pi)
    for channel in range(2):
        X[i, channel, : lengths[i]] = (signal(KINDS[y[i]], t, freq, phase + channel)
                                       + 0.05 * rng.normal(size=lengths[i]))

ae = SequenceAutoencoder(n_components=8, hidden_layer_sizes=(32,), max_iter=60,
                         random_state=0)
with warnings.catch_warnings():
    # 60 epochs are enough for the pictures; the loss still falls slowly, and
    # scikit-learn's ConvergenceWarning would say so.
    warnings.simplefilter("ignore", ConvergenceWarning)
    codes = ae.fit(X).transform(X)
print(f"{ae.n_iter_} epochs; {codes.shape[1]} numbers a series of up to "
      f"{2 * steps} values")

# %%
# Four series (one channel shown, solid) and their reconstructions from the
# code (dashed). The decoder writes all 100 points; past a series' end (the
# grey line) its output is not compared with anything.
rebuilt = ae.inverse_transform(codes[:4]).reshape(4, 2, steps)
fig, axes = plt.subplots(1, 4, figsize=(12, 2.5), sharey=True)
for i, ax in enumerate(axes):
    ax.plot(X[i, 0], label="series")
    ax.plot(rebuilt[i, 0], "--", label="reconstruction")
    ax.axvline(lengths[i], color="grey", lw=0.8)
    ax.set_title(f"{KINDS[y[i]]}, {lengths[i]} steps")
axes[0].legend(loc="lower left", fontsize=8)

# %%
# The codes, projected to 2-D by PCA, coloured by the kind of signal, beside
# PCA of the raw series (padding as 0). KMeans with three clusters on each
# gives the normalised mutual information with the kinds in the titles.
raw = np.nan_to_num(X).reshape(n, -1)
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (name, features) in zip(axes, [("SequenceAutoencoder codes", codes),
                                       ("raw series", raw)]):
    clusters = KMeans(3, n_init=10, random_state=0).fit_predict(features)
    nmi = normalized_mutual_info_score(y, clusters)
    points = PCA(2).fit_transform(features)
    for k, kind in enumerate(KINDS):
        ax.scatter(*points[y == k].T, s=8, label=kind)
    ax.set_title(f"{name}: NMI {nmi:.2f}")
    print(f"KMeans on {name}: NMI {nmi:.3f}")
axes[0].legend()

# %%
# Anomalies in one long stream: train on windows of its first, normal third;
# each timestamp's score is the mean reconstruction error of the windows that
# cover it. The stream's frequency jumps for 40 steps at 1,500.
t = np.arange(3000)
stream = np.sin(2 * np.pi * t / 40) + 0.05 * rng.normal(size=3000)
stream[1500:1540] = np.sin(2 * np.pi * t[1500:1540] / 12)
width, step = 48, 4
detector = SequenceAutoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=30,
                               random_state=0)
detector.fit(sliding_windows(stream[:1000], width, step))
errors = -detector.score_samples(sliding_windows(stream, width, step))
scores = timestamp_scores(errors, len(stream), width, step)
fig, axes = plt.subplots(2, 1, figsize=(10, 4), sharex=True)
axes[0].plot(stream, lw=0.6)
axes[0].set_ylabel("stream")
axes[1].plot(scores, color="C3")
axes[1].set_ylabel("anomaly score")
axes[1].axvspan(1500, 1540, color="grey", alpha=0.3)
print(f"most anomalous timestamp: {scores.argmax()}")
