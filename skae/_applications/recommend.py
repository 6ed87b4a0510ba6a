"""AutoRec: rating prediction and recommendations from a ratings matrix.

Sedhain et al. (2015): an autoencoder reconstructs each item's column of
ratings (item-based, I-AutoRec) or each user's row (user-based, U-AutoRec),
its loss counting the observed ratings only. Here that is an
AutoencoderTransformer with ``missing="unstored"`` on the CSR matrix (sigmoid
hidden layer, linear output, L2 penalty), trained by the compiled pass; the
prediction of rating (u, i) is an entry of a reconstruction, computed a chunk
of rows at a time.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from .._autoencoders.dense import AutoencoderTransformer, DenoisingAE
from .._core.common import check_count, check_unstored, member_fit, transactional
from .._core.training import CallbackSupportMixin, end_task, fit_task, member_task
from .._core.persistence import ConsistentStateMixin, VersionedStateMixin

# Rows reconstructed at a time by predict and recommend: memory stays at
# _CHUNK * (width of a row), whatever the size of the catalogue.
_CHUNK = 512
# Ridge penalty of the user and item biases of baseline="bias" (the value of
# Koren's (2008) baseline predictors on MovieLens).
_BIAS_REG = 5.0
# Alternating updates of the biases: each is exact given the other.
_BIAS_ROUNDS = 10
# alpha="auto": the L2 penalty per observed rating of a training row. The loss
# is a mean over rows of each row's sum over its ratings, so a penalty that
# keeps one balance between data and prior must grow with the ratings a row
# holds. On the validation split of ml-latest-small (benchmarks/
# bench_recommend.py: 8.3 ratings an item row, 132 a user row) the best fixed
# penalties were 0.007 for item rows and 0.1 for user rows, 8.4e-4 and 7.6e-4
# per rating; 8e-4, between them, gives 0.0075 and 0.119 on the benchmark's
# training splits.
_ALPHA_PER_RATING = 8e-4
# batch_size="auto": about this many Adam steps an epoch, the batch kept within
# _BATCH_RANGE (chosen on ml-latest-small's validation ratings, see batch_size).
_STEPS_PER_EPOCH = 40
_BATCH_RANGE = (16, 256)


def fit_biases(users, items, ratings, n_users, n_items):
    """mu, b_u, b_i of the baseline mu + b_u + b_i, ridge-regularised."""
    mu = float(ratings.mean())
    b_u, b_i = np.zeros(n_users), np.zeros(n_items)
    for _ in range(_BIAS_ROUNDS):
        r = ratings - mu - b_i[items]
        b_u = np.bincount(users, r, n_users) / (_BIAS_REG + np.bincount(users, None, n_users))
        r = ratings - mu - b_u[users]
        b_i = np.bincount(items, r, n_items) / (_BIAS_REG + np.bincount(items, None, n_items))
    return mu, b_u, b_i


def ratings_to_csr(users, items, ratings, *, shape=None, dtype=np.float64):
    """A CSR ratings matrix from (user, item, rating) triples.

    Parameters
    ----------
    users, items : array-like of int, shape (n_ratings,)
        Row and column of each rating, from 0. Map other ids first, for
        example with ``numpy.unique(ids, return_inverse=True)``.
    ratings : array-like of float, shape (n_ratings,)
        The ratings; none may be 0 or NaN (an unstored entry is a missing
        rating, so a stored 0 would be ambiguous).
    shape : (n_users, n_items) or None, default=None
        None: one more than the largest user and item.
    dtype : numpy dtype, default=numpy.float64

    Returns
    -------
    R : scipy.sparse.csr_matrix of shape (n_users, n_items)

    Examples
    --------
    >>> from skae import ratings_to_csr, csr_to_ratings
    >>> R = ratings_to_csr([0, 0, 2], [1, 3, 0], [4.0, 2.5, 5.0])
    >>> R.shape
    (3, 4)
    >>> csr_to_ratings(R)[2].tolist()
    [4.0, 2.5, 5.0]
    """
    users = np.asarray(users)
    items = np.asarray(items)
    values = np.asarray(ratings, dtype=dtype)
    if np.isnan(values).any():
        raise ValueError(
            f"ratings holds {int(np.isnan(values).sum())} NaN values: leave an unknown "
            "rating out of the triples (an unrated pair is simply not listed)."
        )
    if not (users.ndim == items.ndim == values.ndim == 1) or not (
            len(users) == len(items) == len(values)):
        raise ValueError("users, items and ratings must be 1-d and of one length; got "
                         f"lengths {len(users)}, {len(items)}, {len(values)}.")
    for name, ids in (("users", users), ("items", items)):
        if len(ids) and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0):
            raise ValueError(f"{name} must be integers >= 0 (map other ids with "
                             "numpy.unique(ids, return_inverse=True)).")
    if shape is None:
        shape = (int(users.max(initial=-1)) + 1, int(items.max(initial=-1)) + 1)
    elif len(users) and (users.max() >= shape[0] or items.max() >= shape[1]):
        raise ValueError(f"a user or item id is outside shape={shape}.")
    R = sp.csr_matrix((values, (users, items)), shape=shape)
    if R.nnz != len(values):
        raise ValueError("some (user, item) pair is rated more than once; keep one "
                         "rating per pair (for example the latest).")
    check_unstored(R, "ratings_to_csr")
    R.sort_indices()
    return R


def csr_to_ratings(R):
    """The (users, items, ratings) triples of a CSR ratings matrix, row by row.

    Parameters
    ----------
    R : sparse matrix of shape (n_users, n_items)

    Returns
    -------
    users, items : ndarray of int
    ratings : ndarray of float

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> from skae import csr_to_ratings
    >>> users, items, ratings = csr_to_ratings(sp.csr_matrix([[0, 4.0], [3.5, 0]]))
    >>> users.tolist(), items.tolist(), ratings.tolist()
    ([0, 1], [1, 0], [4.0, 3.5])
    """
    R = sp.csr_matrix(R)
    users = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
    return users, R.indices.copy(), R.data.copy()


def ratings_train_test_split(R, *, test_size=0.1, random_state=None):
    """Hold out a share of the stored ratings, keeping the matrix's shape.

    scikit-learn's splitters split rows, i.e. users, and a recommender cannot
    score users it never saw; this splits the ratings themselves, so that the
    two matrices have the same users and items and ``AutoRec().fit(R_train)``
    can be scored with ``score(R_test)``.

    Parameters
    ----------
    R : sparse matrix of shape (n_users, n_items)
        Stored entries are the known ratings.
    test_size : float in (0, 1), default=0.1
        The share of the ratings held out (at least one).
    random_state : int, RandomState instance or None, default=None
        Chooses the held-out ratings.

    Returns
    -------
    R_train, R_test : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The kept and the held-out ratings; every stored rating of R is in
        exactly one of them.

    Examples
    --------
    >>> from skae import ratings_to_csr, ratings_train_test_split
    >>> R = ratings_to_csr([0, 0, 1, 1, 2], [0, 1, 0, 2, 1], [5.0, 3, 4, 1, 2])
    >>> R_train, R_test = ratings_train_test_split(R, test_size=0.4, random_state=0)
    >>> R_train.shape == R_test.shape == R.shape, R_train.nnz, R_test.nnz
    (True, 3, 2)
    """
    if not isinstance(test_size, Real) or not 0 < test_size < 1:
        raise ValueError(f"test_size must be a float in (0, 1); got {test_size!r}.")
    users, items, ratings = csr_to_ratings(R)
    if len(ratings) < 2:
        raise ValueError(f"R stores {len(ratings)} ratings; a split needs at least 2.")
    n_test = min(len(ratings) - 1, max(1, round(test_size * len(ratings))))
    test = np.zeros(len(ratings), dtype=bool)
    test[check_random_state(random_state).permutation(len(ratings))[:n_test]] = True
    return tuple(
        ratings_to_csr(users[part], items[part], ratings[part], shape=R.shape,
                       dtype=ratings.dtype)
        for part in (~test, test)
    )


class AutoRec(CallbackSupportMixin, ConsistentStateMixin, VersionedStateMixin, BaseEstimator):
    """Rating prediction with an autoencoder (AutoRec, Sedhain et al., 2015).

    ``fit(R)`` takes a CSR matrix of ratings, users as rows and items as
    columns, whose stored entries are the known ratings. With
    ``kind="item"`` (I-AutoRec, the paper's better model) each item's column
    of ratings is one training row; with ``kind="user"`` each user's row is.
    The autoencoder's loss counts the known ratings only (``missing="unstored"``
    of :class:`~skae.AutoencoderTransformer`), with an L2 penalty.
    ``predict(users, items)`` reads the reconstructions of those items'
    columns (or users' rows) from the training ratings, clipped to the range
    of the ratings seen in ``fit``.

    Parameters
    ----------
    n_components : int, default=100
        Hidden units (the paper used 500 on MovieLens-1M). On the 100,000
        ratings of ml-latest-small (benchmarks/bench_recommend.py) more did
        not predict better: 300 and 500 units scored a little worse than 100
        after the same epochs.
    kind : {"item", "user"}, default="item"
        What a training row is: an item's ratings or a user's.
    activation : str, default="sigmoid"
        The hidden layer's activation; the output is linear.
    alpha : "auto" or float, default="auto"
        L2 penalty on the weights, ``alpha / 2 * ||W||^2`` against the mean
        loss per training row (the paper's lambda divided by the number of
        rows). "auto": 8e-4 times the mean number of ratings per training
        row, since a row's loss is a sum over its ratings: an item's row
        holds fewer ratings than a user's and wants a smaller penalty (on
        90% of ml-latest-small "auto" is 0.0075 for ``kind="item"`` and 0.119
        for ``kind="user"``; a fixed 0.3 drowned the item rows' data term and
        predicted no better than the bias baseline). The value used is
        ``alpha_``.
    batch_size : "auto" or int, default="auto"
        Rows per Adam step. "auto": about 40 steps an epoch, the number of
        training rows // 40 clipped to [16, 256]. On ml-latest-small's 9,724
        item rows 256 predicted better than 128 and 64 after the same epochs
        (fewer steps overfit less), while its 610 user rows did as well with
        16 to 128 and worse with 256; on a few hundred rows a large batch
        leaves too few steps to learn in 50 epochs.
    learning_rate_init : float, default=1e-3
        Adam's step size.
    max_iter : int, default=50
        Epochs.
    noise_level : float, default=0.15
        Share of each training row's known ratings hidden (masked) per epoch,
        the loss still counting them: the network then practises predicting
        ratings from the others, as it must at test time (a denoising
        AutoRec, as in Wu et al., 2016). 0 is the paper's AutoRec. 0.15
        predicted best among 0 to 0.5 for both kinds on ml-latest-small.
    baseline : {"bias", None}, default="bias"
        "bias": fit the baseline ``mean + b_user + b_item`` (ridge-regularised
        biases) first and train the autoencoder on the residuals, adding the
        baseline back in ``predict``; the network then learns what the
        biases miss (on small data it beats the plain model). None: the
        paper's model, on the raw ratings.
    clip : bool, default=True
        Clip predictions to the range of the training ratings.
    random_state : int, RandomState instance or None, default=None
    verbose : bool, default=False

    Attributes
    ----------
    estimator_ : AutoencoderTransformer
        The fitted autoencoder, on ``R`` (``kind="user"``) or its transpose.
    alpha_ : float
        The L2 penalty used (``alpha``, or what "auto" made of it).
    ratings_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training ratings, the input of every prediction.
    rating_range_ : tuple of float
        The smallest and largest training rating.
    global_mean_ : float
        The mean training rating (0 with ``baseline=None``).
    user_bias_, item_bias_ : ndarray of shape (n_users,), (n_items,)
        The baseline's biases (zeros with ``baseline=None``).
    n_users_, n_items_ : int

    References
    ----------
    Sedhain, S., Menon, A. K., Sanner, S. and Xie, L. (2015). AutoRec:
    autoencoders meet collaborative filtering. WWW.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoRec, ratings_to_csr
    >>> rng = np.random.default_rng(0)
    >>> users, items = rng.integers(0, 50, 600), rng.integers(0, 40, 600)
    >>> pairs = np.unique(np.c_[users, items], axis=0)
    >>> R = ratings_to_csr(pairs[:, 0], pairs[:, 1],
    ...                    rng.integers(1, 6, len(pairs)).astype(float))
    >>> model = AutoRec(n_components=16, max_iter=5, random_state=0).fit(R)
    >>> model.predict([0, 1], [3, 4]).shape
    (2,)
    >>> len(model.recommend(0, n=5))
    5
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "kind": [StrOptions({"item", "user"})],
        "activation": [StrOptions({"sigmoid", "tanh", "relu", "elu", "softplus",
                                   "identity"})],
        "alpha": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}),
                       Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "clip": ["boolean"],
        "noise_level": [Interval(Real, 0, 1, closed="left")],
        "baseline": [StrOptions({"bias"}), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_components=100, *, kind="item", activation="sigmoid",
                 alpha="auto", batch_size="auto", learning_rate_init=1e-3, max_iter=50,
                 noise_level=0.15, baseline="bias", clip=True, random_state=None,
                 verbose=False):
        self.n_components = n_components
        self.kind = kind
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.noise_level = noise_level
        self.baseline = baseline
        self.clip = clip
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @staticmethod
    def _check_ratings(R):
        if not sp.issparse(R):
            raise TypeError(
                "AutoRec needs the ratings as a sparse matrix whose stored entries are "
                "the known ratings (users as rows, items as columns); got "
                f"{type(R).__name__}. Build one with skae.ratings_to_csr(users, items, "
                "ratings)."
            )
        R = sp.csr_matrix(R, dtype=np.float64 if R.dtype != np.float32 else np.float32)
        if not R.has_canonical_format:
            # On a copy: the matrix may share its arrays with the caller's.
            R = R.copy()
            R.sum_duplicates()
        check_unstored(R, "AutoRec")
        if not np.isfinite(R.data).all():
            raise ValueError("AutoRec: the ratings contain infinite values.")
        return R

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, R, y=None):
        """Train on the known ratings of R.

        Parameters
        ----------
        R : sparse matrix of shape (n_users, n_items)
            Stored entries are ratings (nonzero, finite); unstored ones are
            unknown.
        y : None
            Ignored.

        Returns
        -------
        self : object
        """
        R = self._check_ratings(R)
        if R.nnz == 0:
            raise ValueError("AutoRec: R stores no rating to learn from.")

        owner = self
        context = fit_task(owner, R, 1)

        def run(self):  # the shadow that transactional publishes
            users, items, ratings = csr_to_ratings(R)
            if self.baseline == "bias":
                mu, b_u, b_i = fit_biases(users, items, ratings, *R.shape)
            else:
                mu, b_u, b_i = 0.0, np.zeros(R.shape[0]), np.zeros(R.shape[1])
            residual = ratings - (mu + b_u[users] + b_i[items])
            # A residual of exactly 0 would read as unstored (missing).
            residual[residual == 0] = np.finfo(R.dtype).tiny
            target = sp.csr_matrix((residual.astype(R.dtype), R.indices, R.indptr),
                                   shape=R.shape)
            rows = target if self.kind == "user" else target.T.tocsr()
            alpha = (_ALPHA_PER_RATING * rows.nnz / rows.shape[0]
                     if isinstance(self.alpha, str) else float(self.alpha))
            batch_size = (int(np.clip(rows.shape[0] // _STEPS_PER_EPOCH, *_BATCH_RANGE))
                          if isinstance(self.batch_size, str) else self.batch_size)
            denoising = ({"noise": "masking", "noise_level": self.noise_level}
                         if self.noise_level else {})
            # AutoRec's one-hidden-layer network, written out in full: the
            # autoencoders' own defaults are chosen for features and
            # reconstruction of complete rows.
            estimator = (DenoisingAE if denoising else AutoencoderTransformer)(
                **denoising, n_components=self.n_components, hidden_layer_sizes=(),
                activation=self.activation, code_activation=None, init="random",
                early_stopping=False,
                output_activation="identity", loss="squared_error", missing="unstored",
                alpha=alpha, batch_size=batch_size,
                learning_rate_init=self.learning_rate_init, max_iter=self.max_iter,
                tol=0.0, n_iter_no_change=self.max_iter, random_state=self.random_state,
                verbose=self.verbose,
            )
            with member_fit(), member_task(context, "network", owner, estimator, rows):
                estimator.fit(rows)
            self.estimator_ = estimator
            self.alpha_ = alpha
            # A copy: R may share its arrays with the caller's matrix, which
            # may change after fit; the model must not.
            self.ratings_ = R.copy()
            self._rows = rows
            self.rating_range_ = (float(R.data.min()), float(R.data.max()))
            self.global_mean_, self.user_bias_, self.item_bias_ = mu, b_u, b_i
            self.n_users_, self.n_items_ = R.shape
            # The fitted orientation: predict reads it, not the kind parameter
            # (set_params(kind=...) after fit must not turn the rows around).
            self._kind = self.kind

        # run assigns every fitted attribute anew, so the shadow needs no
        # copies; an interrupted network leaves the model as it was.
        transactional(self, (), run, keep_interrupted=False)
        end_task(owner, context, R, owner)
        return owner

    _fitted_attribute = "estimator_"
    _fitted_state_summary = "the numbers of users and items, the orientation, the baseline"

    def _check_loaded_state(self, state):
        # A model saved before the fitted orientation was recorded: its kind
        # parameter is the best record there is.
        if "estimator_" in state:
            state.setdefault("_kind", state.get("kind"))
        super()._check_loaded_state(state)

    @staticmethod
    def _fitted_state_agrees(state):
        """The arrays agree on the numbers of users and items (predict indexes
        one with the other), and the baseline is finite."""
        shape = (int(state["n_users_"]), int(state["n_items_"]))
        rows_shape = shape if state["_kind"] == "user" else shape[::-1]
        user_bias = np.asarray(state["user_bias_"], dtype=float)
        item_bias = np.asarray(state["item_bias_"], dtype=float)
        return (
            state["ratings_"].shape == shape
            and state["_kind"] in ("user", "item")
            and state["_rows"].shape == rows_shape
            and user_bias.shape == (shape[0],) and item_bias.shape == (shape[1],)
            and state["estimator_"]._n_features_fitted == state["_rows"].shape[1]
            and np.isfinite(float(state["global_mean_"]))
            and np.isfinite(user_bias).all() and np.isfinite(item_bias).all()
        )

    def _reconstruct(self, rows, clip=True):
        """Predicted ratings of every entry of the given training rows (items
        or users): the baseline plus the reconstructed residuals, clipped to
        the rating range if clip and self.clip."""
        est = self.estimator_
        R = est.inverse_transform(est.transform(self._rows[rows]))
        own, other = ((self.item_bias_, self.user_bias_) if self._kind == "item"
                      else (self.user_bias_, self.item_bias_))
        R += self.global_mean_ + own[rows, None] + other[None, :]
        if clip and self.clip:
            np.clip(R, *self.rating_range_, out=R)
        return R

    def _check_ids(self, ids, limit, name):
        ids = np.asarray(ids)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise ValueError(f"{name} must be a 1-d array of integer ids.")
        if ids.size and (ids.min() < 0 or ids.max() >= limit):
            bad = ids[(ids < 0) | (ids >= limit)][0]
            raise ValueError(
                f"{name} holds id {bad}, outside the fitted 0..{limit - 1}: AutoRec "
                "predicts for the users and items of the ratings matrix it was fitted "
                "on. Refit with a matrix that includes them (a user or item without "
                "ratings can be an empty row or column)."
            )
        return ids.astype(np.intp, copy=False)

    def predict(self, users, items):
        """Predicted ratings of (user, item) pairs.

        Parameters
        ----------
        users, items : array-like of int, shape (n_pairs,)
            Row and column ids of the ratings matrix.

        Returns
        -------
        ratings : ndarray of shape (n_pairs,)
        """
        self._checked_fitted()
        users = self._check_ids(users, self.n_users_, "users")
        items = self._check_ids(items, self.n_items_, "items")
        if len(users) != len(items):
            raise ValueError(f"users and items have lengths {len(users)} and "
                             f"{len(items)}; pass one user and one item per pair.")
        rows, cols = (items, users) if self._kind == "item" else (users, items)
        out = np.empty(len(rows), dtype=self.estimator_._params.dtype)
        unique, position = np.unique(rows, return_inverse=True)
        # The pairs sorted by their row, so that each chunk of rows takes one
        # contiguous run of pairs (not a scan of all pairs per chunk).
        order = np.argsort(position, kind="stable")
        bounds = np.searchsorted(position[order], np.arange(0, len(unique) + _CHUNK, _CHUNK))
        for c, start in enumerate(range(0, len(unique), _CHUNK)):
            R = self._reconstruct(unique[start:start + _CHUNK])
            here = order[bounds[c]:bounds[c + 1]]
            out[here] = R[position[here] - start, cols[here]]
        return out

    def recommend(self, user, n=10, *, exclude_rated=True, min_ratings=0):
        """The n items with the highest predicted ratings for a user.

        Parameters
        ----------
        user : int
            Row id.
        n : int, default=10
        exclude_rated : bool, default=True
            Leave out the items the user rated in ``fit``.
        min_ratings : int, default=0
            Only items with at least this many ratings in ``fit``: an item
            rated once or twice has an uncertain prediction, and the top of
            a large catalogue fills with them.

        Returns
        -------
        items : ndarray of int, shape (min(n, candidates),)
            Best first (by the predicted rating before clipping); ties by
            item id.
        """
        self._checked_fitted()
        user = int(self._check_ids(np.array([user]), self.n_users_, "user")[0])
        n = check_count(n, "n", 0)
        min_ratings = check_count(min_ratings, "min_ratings", 0)
        # Ranked by the unclipped predictions: clipping would tie every item
        # predicted above the top rating.
        if self._kind == "user":
            scores = self._reconstruct(np.array([user]), clip=False)[0]
        else:
            scores = np.concatenate([
                self._reconstruct(np.arange(s, min(s + _CHUNK, self.n_items_)),
                                  clip=False)[:, user]
                for s in range(0, self.n_items_, _CHUNK)])
        candidates = np.arange(self.n_items_)
        if min_ratings:
            counts = np.bincount(self.ratings_.indices, minlength=self.n_items_)
            candidates = candidates[counts >= min_ratings]
        if exclude_rated:
            rated = self.ratings_.indices[self.ratings_.indptr[user]:
                                          self.ratings_.indptr[user + 1]]
            candidates = np.setdiff1d(candidates, rated)
        order = np.lexsort((candidates, -scores[candidates]))
        return candidates[order[:n]]

    def score(self, R, y=None):
        """Minus the RMSE of the predictions of R's stored ratings.

        Parameters
        ----------
        R : sparse matrix of shape (n_users, n_items)
            Held-out ratings of the fitted users and items.
        y : None
            Ignored.

        Returns
        -------
        score : float
            ``-sqrt(mean((predict - rating)^2))``; higher is better.
        """
        self._checked_fitted()
        R = self._check_ratings(R)
        if R.shape != self.ratings_.shape:
            raise ValueError(
                f"R has shape {R.shape}; the model was fitted on {self.ratings_.shape}. "
                "AutoRec scores held-out ratings of the users and items it was fitted "
                "on, so R must be a matrix of the same shape. scikit-learn's splitters "
                "(cross_val_score, GridSearchCV) split the rows, i.e. the users, which "
                "cannot be scored: hold out ratings instead, with "
                "skae.ratings_train_test_split, and pass its two matrices to fit and "
                "score."
            )
        users, items, ratings = csr_to_ratings(R)
        return -float(np.sqrt(np.mean((self.predict(users, items) - ratings) ** 2)))
