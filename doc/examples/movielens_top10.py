"""Top-10 movie recommendations for one user of MovieLens (ml-latest-small).

Fits a user-based AutoRec on all 100,836 ratings and prints the ten movies it
predicts the user would rate highest among those they have not rated (and
that at least 20 users rated), with their titles from movies.csv.

The data (../shared/data/movielens-small/, GroupLens): F. Maxwell Harper and
Joseph A. Konstan, 2015, "The MovieLens Datasets: History and Context", ACM
TiiS 5(4). Research use only; see its README.txt.

Usage: python doc/examples/movielens_top10.py [--user 1] [--data DIR]
"""

import argparse
import csv
from pathlib import Path

import numpy as np

from skae import AutoRec, ratings_to_csr

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "movielens-small"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--user", type=int, default=1, help="a MovieLens userId")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    data = Path(args.data)
    raw = np.loadtxt(data / "ratings.csv", delimiter=",", skiprows=1)
    # MovieLens ids are not contiguous: rows and columns are their ranks.
    user_ids, users = np.unique(raw[:, 0].astype(int), return_inverse=True)
    movie_ids, items = np.unique(raw[:, 1].astype(int), return_inverse=True)
    R = ratings_to_csr(users, items, raw[:, 2])
    with open(data / "movies.csv", newline="", encoding="utf-8") as f:
        titles = {int(row["movieId"]): row["title"] for row in csv.DictReader(f)}

    model = AutoRec(kind="user", noise_level=0.15, alpha=0.1, max_iter=40,
                    random_state=0).fit(R)
    user = int(np.searchsorted(user_ids, args.user))
    rated = R[user].indices
    best = R[user].data.argsort()[::-1][:5]
    print(f"User {args.user} rated {len(rated)} movies; their favourites:")
    for i in best:
        print(f"  {R[user].data[i]:.1f}  {titles[movie_ids[rated[i]]]}")
    top = model.recommend(user, n=10, min_ratings=20)
    predicted = model.predict(np.full(len(top), user), top)
    print("Top 10 recommendations among movies with 20 ratings or more "
          "(predicted rating):")
    for item, rating in zip(top, predicted):
        print(f"  {rating:.2f}  {titles[movie_ids[item]]}")


if __name__ == "__main__":
    main()
