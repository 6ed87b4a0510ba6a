"""
Tuning the noise level in a pipeline with GridSearchCV
======================================================

A :class:`~skae.DenoisingAE` is a scikit-learn transformer, so a pipeline
with a classifier after it tunes like any other: here the masking noise's
level and the code size, by 3-fold cross-validated accuracy of a
``LogisticRegression`` on the codes of scikit-learn's digits.

About 5 seconds on 2 cores.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skae import DenoisingAE

X, y = load_digits(return_X_y=True)
X = X / 16
pipe = make_pipeline(DenoisingAE(noise="masking", max_iter=60, random_state=0),
                     LogisticRegression(max_iter=1000))
noise_levels = [0.0, 0.1, 0.2, 0.3, 0.5, 0.7]
grid = GridSearchCV(pipe, {"denoisingae__noise_level": noise_levels,
                           "denoisingae__n_components": [16, 32]}, cv=3)
grid.fit(X, y)
print("best:", grid.best_params_, f"accuracy {grid.best_score_:.3f}")

# %%
scores = grid.cv_results_["mean_test_score"].reshape(len(noise_levels), 2)
fig, ax = plt.subplots()
for j, size in enumerate([16, 32]):
    ax.plot(noise_levels, scores[:, j], marker="o", label=f"n_components={size}")
ax.set_xlabel("noise_level (share of pixels erased)")
ax.set_ylabel("3-fold accuracy")
ax.legend()
ax.set_title("DenoisingAE codes for LogisticRegression")
