"""
Top-10 movie recommendations with AutoRec
=========================================

A user-based :class:`~skae.AutoRec` fitted on all 100,836 ratings of
MovieLens (ml-latest-small), then the ten movies it predicts user 1 would
rate highest among those they have not rated (and that at least 20 users
rated), with their titles from movies.csv, beside the user's own favourites.

The data (../shared/data/movielens-small/, GroupLens): F. Maxwell Harper and
Joseph A. Konstan, 2015, "The MovieLens Datasets: History and Context", ACM
TiiS 5(4). Research use only; see its README.txt.

About 5 seconds on 2 cores. Run it by hand with ``python
doc/examples/plot_movielens_recommendations.py`` from the clone's root; set
``SKAE_USER`` to another userId.
"""

# %%
import csv
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skae import AutoRec, ratings_to_csr

DATA = Path(os.environ.get("SKAE_DATA", "../shared/data")) / "movielens-small"
USER = int(os.environ.get("SKAE_USER", "1"))

raw = np.loadtxt(DATA / "ratings.csv", delimiter=",", skiprows=1)
# MovieLens ids are not contiguous: rows and columns are their ranks.
user_ids, users = np.unique(raw[:, 0].astype(int), return_inverse=True)
movie_ids, items = np.unique(raw[:, 1].astype(int), return_inverse=True)
R = ratings_to_csr(users, items, raw[:, 2])
with open(DATA / "movies.csv", newline="", encoding="utf-8") as f:
    titles = {int(row["movieId"]): row["title"] for row in csv.DictReader(f)}

model = AutoRec(kind="user", noise_level=0.15, alpha=0.1, max_iter=40,
                random_state=0).fit(R)

# %%
user = int(np.searchsorted(user_ids, USER))
rated = R[user].indices
best = R[user].data.argsort()[::-1][:5]
print(f"User {USER} rated {len(rated)} movies; their favourites:")
for i in best:
    print(f"  {R[user].data[i]:.1f}  {titles[movie_ids[rated[i]]]}")
top = model.recommend(user, n=10, min_ratings=20)
predicted = model.predict(np.full(len(top), user), top)
print("Top 10 recommendations among movies with 20 ratings or more "
      "(predicted rating):")
for item, rating in zip(top, predicted):
    print(f"  {rating:.2f}  {titles[movie_ids[item]]}")

# %%
fig, ax = plt.subplots(figsize=(8, 4))
ax.barh([titles[movie_ids[i]] for i in top][::-1], predicted[::-1])
ax.set_xlim(0, 5)
ax.set_xlabel("predicted rating")
ax.set_title(f"AutoRec's top 10 for user {USER}")
fig.tight_layout()
