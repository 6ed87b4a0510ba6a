"""
Anomaly detection with reconstruction error
===========================================

An autoencoder trained on one kind of image reconstructs others badly, so
``score_samples`` (minus the reconstruction loss) ranks them low. Trained on
MNIST's zeros with 5% of other digits mixed in, and no labels, the
:class:`~skae.OutlierDetector` finds the intruders; its worst-scored images
are shown.

About 5 seconds on 2 cores.
"""

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_auc_score

from skae import OutlierDetector
from skae.plotting import tile_images

DATA = Path(os.environ.get("SKAE_DATA", "../shared/data")) / "mnist.npz"
with np.load(DATA) as d:
    X, y = d["X_train"][:20000] / 255, d["y_train"][:20000]
rng = np.random.default_rng(0)
zeros = np.flatnonzero(y == 0)
others = rng.choice(np.flatnonzero(y != 0), len(zeros) // 19, replace=False)
X = X[np.r_[zeros, others]]
is_outlier = np.r_[np.zeros(len(zeros)), np.ones(len(others))].astype(bool)

detector = OutlierDetector(random_state=0).fit(X)
scores = detector.score_samples(X)
print(f"AUROC {roc_auc_score(is_outlier, -scores):.3f}; "
      f"{(detector.predict(X) == -1).sum()} flagged of {len(X)}")

# %%
worst = np.argsort(scores)[:24]
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.imshow(tile_images(X[worst], (28, 28), n_cols=12), cmap="gray")
ax.set_axis_off()
ax.set_title("the 24 lowest scores (most anomalous first)")
