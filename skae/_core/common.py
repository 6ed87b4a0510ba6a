"""What the autoencoders (skae/_autoencoders/) and the RBMs (skae/_rbms/) share.

Input validation, the transactional fit, the interrupt rule, the BLAS thread
limit and the record of thread choice around kernel calls, and the label-free
``score``. The two families import
from here and never from each other.
"""

import contextvars
import copy
import threading
import warnings
import weakref
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn import get_config
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import ThreadpoolController

from .._kernels.runtime.record import ThreadRecord

_EMPTY_INDEX = np.empty(0, dtype=np.intp)


# ----------------------------------------------------------------- BLAS threads

_blas_lock = threading.Lock()
_blas_users = 0
_blas_restore = []          # (set function, the limit before the first call)
_blas_limits = None         # [(get function, set function)] per BLAS library
_blas_controlled = []       # the libraries limited through threadpoolctl's controllers


def single_threaded_blas():
    """Limit the BLAS to one thread while at least one kernel call runs.

    The kernels split every product into fixed blocks over their own OpenMP
    threads (see maths/blas.pxd), each block one single-threaded BLAS call; a
    multi-threaded BLAS inside them would oversubscribe the cores and round
    differently for different thread counts.

    The limit is process-wide, so concurrent calls from several Python threads
    share one: the first to enter sets it, the last to leave restores what the
    process had, and the process is left as it was found.

    A one-row transform pays this twice per call, so it is kept to a few
    C calls: OpenBLAS with its own thread pool (the library of NumPy's and
    SciPy's wheels) is read and set through its own functions (see
    _blas_limit_functions); other libraries through threadpoolctl's controller
    of each (read the limit, set 1, set it back), never a ThreadpoolLimiter,
    which reads every library's information first. Only the BLAS libraries:
    OpenMP's limit belongs to each thread, and restoring it from another thread
    would hand one thread's limit to another (tests/test_threads.py checks that
    it does not happen).

    A context manager (a class rather than a generator, which costs a
    one-row call a few microseconds more).
    """
    return _BLAS_LIMIT


class _SingleThreadedBlas:
    """The context manager single_threaded_blas returns (one for the process:
    its state is the module's counters)."""

    def __enter__(self):
        global _blas_users, _blas_limits
        with _blas_lock:
            if _blas_users == 0:
                if _blas_limits is None:
                    _blas_limits = []
                    for library in ThreadpoolController().select(
                            user_api="blas").lib_controllers:
                        functions = _blas_limit_functions(library)
                        if functions is None:
                            functions = (library.get_num_threads, library.set_num_threads)
                            _blas_controlled.append(library)
                        _blas_limits.append(functions)
                for get_limit, set_limit in _blas_limits:
                    limit = get_limit()
                    if limit is not None and limit != 1:
                        set_limit(1)
                        _blas_restore.append((set_limit, limit))
                _release_blas_control(_blas_controlled)
            _blas_users += 1

    def __exit__(self, *exc_info):
        global _blas_users
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                while _blas_restore:
                    set_limit, limit = _blas_restore.pop()
                    set_limit(limit)
                _release_blas_control(_blas_controlled)


_BLAS_LIMIT = _SingleThreadedBlas()


def _blas_limit_functions(library):
    """Functions that read and set the thread limit of one BLAS library (a
    threadpoolctl controller) without threadpoolctl, or None.

    OpenBLAS built with its own thread pool: its ``openblas_get_num_threads``
    and ``openblas_set_num_threads`` (under the library's symbol affixes, as
    threadpoolctl looks for them), called through ctypes: about 0.3 us a call,
    where the controller's methods take several microseconds (they look the
    symbol up each time and, from threadpoolctl 3.8, settle which Python thread
    controls the pool). Measured: a one-row transform of a 784-256 encoder
    spent 27 us of its 87 entering and leaving this limit. Anything else (MKL,
    BLIS, an OpenMP OpenBLAS, whose limit threadpoolctl sets through OpenMP):
    None, and the controller's own methods are used.
    """
    if (library.internal_api == "openblas"
            and getattr(library, "threading_layer", None) == "pthreads"):
        dynlib = getattr(library, "dynlib", None) or getattr(library, "_dynlib", None)
        for prefix in ("", "scipy_"):
            for suffix in ("", "64_", "_64"):
                read = getattr(dynlib, f"{prefix}openblas_get_num_threads{suffix}", None)
                write = getattr(dynlib, f"{prefix}openblas_set_num_threads{suffix}", None)
                if read is not None and write is not None:
                    return read, write
    return None


def _release_blas_control(libraries):
    """Let any thread set OpenBLAS's limit again.

    threadpoolctl 3.8 lets only the first thread that sets a process-wide
    OpenBLAS limit change it while that thread lives (other threads' calls do
    nothing) until the thread leaves a ``threadpool_limits`` block. The limit
    here is set by the first call to enter and restored by the last to leave,
    which may be another thread, and without a block to leave: unreleased,
    the restore did nothing (BLAS stayed on one thread) and a user's own
    limits in another thread did nothing either. Older threadpoolctl has no
    such control, and nothing to release."""
    for library in libraries:
        clear = getattr(library, "clear_controlling_thread", None)
        if clear is not None:
            clear(force=True)


# Each estimator's record of the kernels' thread choice for inference, beside
# the estimator rather than in it: it is a measurement of this process and
# machine, not part of the model, so pickles and clones leave it behind and
# transform leaves the estimator's __dict__ as it was (scikit-learn's rule).
_inference_records = weakref.WeakKeyDictionary()


class inference_threads:
    """Single-threaded BLAS, and the estimator's ThreadRecord of the kernels'
    thread choice for inference (runtime/record.pyx) to pass to them:
    ``with inference_threads(estimator) as record: ...``.

    The record carries what the last calls measured (a small transform should
    not pay for probing the team from scratch each time). Each call works on a
    copy and stores it back when it succeeds, so that calls from several
    Python threads at once never share one; the last to finish is kept.
    """

    __slots__ = ("_estimator", "_record")

    def __init__(self, estimator):
        self._estimator = estimator

    def __enter__(self):
        record = _inference_records.get(self._estimator)
        self._record = ThreadRecord() if record is None else record.copy()
        _BLAS_LIMIT.__enter__()
        return self._record

    def __exit__(self, exc_type, exc, traceback):
        _BLAS_LIMIT.__exit__(exc_type, exc, traceback)
        if exc_type is None:
            _inference_records[self._estimator] = self._record


# ------------------------------------------------------------ transactional fit


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training, raised once the estimator is consistent.

    The epoch loops catch KeyboardInterrupt, roll the interrupted pass back
    and raise this (a KeyboardInterrupt, so user code that catches Ctrl-C
    sees it as one) when at least one pass of the call completed: the
    estimator then keeps the state after its last completed pass.
    """


# Inference runs in chunks of rows, each one step of the kernels' pass driver (a
# choice of thread count and a poll for Ctrl-C): at most MAX_CHUNK_ROWS rows,
# which keep the products as fast per row as whole-set ones, and fewer when a
# chunk's scratch would exceed scikit-learn's working_memory
# (sklearn.set_config(working_memory=...)), as scikit-learn's own chunked
# computations do.
MAX_CHUNK_ROWS = 512


def chunk_rows(bytes_per_row, n_rows):
    """Rows per chunk of an inference pass over n_rows rows whose scratch takes
    bytes_per_row bytes a row (at least 1)."""
    budget = int(get_config()["working_memory"] * 2**20 // max(int(bytes_per_row), 1))
    return max(1, min(budget, MAX_CHUNK_ROWS, n_rows))


def copy_state(estimator, state):
    """Deep copies of the estimator's attributes named in ``state``, to put back
    with ``estimator.__dict__.update``."""
    return {k: copy.deepcopy(v) for k, v in estimator.__dict__.items() if k in state}


# Set while an application (OutlierDetector, AutoencoderImputer, AutoRec) or a
# StackedAE fits its member models: an interrupted member is discarded with
# the whole fit, so its own "keeps the state" warning would mislead, and the
# member's shape is the owner's choice, not the user's.
_fitting_member = contextvars.ContextVar("skae_fitting_member", default=False)


def fitting_member():
    """Whether the fit under way is an application's member (see member_fit)."""
    return _fitting_member.get()


@contextmanager
def member_fit():
    """Fit an application's member model: ConvergenceWarning silenced (the
    application's defaults choose the budget), and an interrupt reported by
    the application, not by the member."""
    token = _fitting_member.set(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            yield
    finally:
        _fitting_member.reset(token)


def transactional(estimator, state, run, *, keep_interrupted=True):
    """Train with ``run(work)`` on a shadow of the estimator, then publish.

    The shadow is a new instance of the estimator's class sharing its
    attributes, with deep copies of those named in ``state`` (training mutates
    them in place). The estimator itself is not touched while ``run`` works:
    another thread calling ``transform`` meanwhile sees the previous fitted
    state, whole. At the end the shadow's attributes replace the estimator's in
    one assignment of ``__dict__``.

    If run raises, the estimator stays exactly as it was and the exception
    propagates. A :class:`TrainingInterrupted` (Ctrl-C after at least one
    completed pass) publishes the state after the last completed pass, warns
    and propagates; with ``keep_interrupted=False`` (an application, whose
    state is several models that only make sense together) it publishes
    nothing and a plain KeyboardInterrupt propagates.
    """
    work = object.__new__(type(estimator))
    work.__dict__.update(estimator.__dict__)
    work.__dict__.update(copy_state(estimator, state))
    try:
        run(work)
    except TrainingInterrupted as interrupt:
        if not keep_interrupted:
            raise KeyboardInterrupt() from None
        estimator.__dict__ = work.__dict__
        if not _fitting_member.get():
            warnings.warn(
                f"{type(estimator).__name__}: training interrupted; {interrupt} The "
                "KeyboardInterrupt is raised again.",
                UserWarning,
            )
        raise
    estimator.__dict__ = work.__dict__
    return estimator


def interrupted(completed, unit="epochs"):
    """The exception for Ctrl-C after ``completed`` passes of this call: a
    TrainingInterrupted that keeps them, or a plain KeyboardInterrupt (the
    transactional call restores the estimator) when none completed."""
    if completed == 0:
        return KeyboardInterrupt()
    return TrainingInterrupted(
        f"the estimator keeps the state after the {completed} {unit} this call "
        "completed."
    )


# ------------------------------------------------------------------ validation


def validate_input(estimator, X, *, reset, dtype, copy=False, accept_sparse="csr",
                   allow_nan=False):
    """validate_data in C order, with CSR input in canonical form; NaN passes
    only with allow_nan (infinities never do).

    Duplicate entries of a CSR matrix are summed (on a copy, the caller's
    matrix is untouched), so that range checks see the values the kernels see
    (they add duplicates up).

    A fitted model's input that validate_data would return as it is (see
    _valid_as_it_is) skips it: its checks cost 60-70 us a call, more than the
    kernels take for a row, and a model that serves rows one at a time pays
    them on every call.
    """
    if not reset and not copy and _valid_as_it_is(estimator, X, dtype, allow_nan):
        return X
    X = validate_data(
        estimator, X, reset=reset, accept_sparse=accept_sparse, dtype=dtype,
        order="C", copy=copy, ensure_all_finite="allow-nan" if allow_nan else True,
    )
    if sp.issparse(X) and not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _valid_as_it_is(estimator, X, dtype, allow_nan):
    """Whether validate_data(estimator, X, reset=False, ...) would return X
    itself without a warning: plain rows of the fitted width (plain_rows) and
    no feature names to compare (a model fitted on a DataFrame warns about an
    array). Anything else goes through validate_data, which says what is
    wrong."""
    return (plain_rows(X, dtype, getattr(estimator, "n_features_in_", -1), allow_nan)
            and not hasattr(estimator, "feature_names_in_"))


def plain_rows(X, dtype, width, allow_nan=False):
    """Whether check_array(X, dtype=dtype, order="C") would return X itself:
    a C-ordered 2-D ndarray (not a subclass) of that dtype (or one of those
    dtypes), with at least a row and ``width`` columns, and no infinity (nor
    NaN unless allowed). Fitted methods skip scikit-learn's checks for such
    input (they cost 45-70 us a call, more than a one-row kernel call)."""
    if (type(X) is not np.ndarray or X.ndim != 2 or not X.flags.c_contiguous
            or X.shape[0] < 1 or X.shape[1] != width):
        return False
    if X.dtype not in (dtype if isinstance(dtype, (list, tuple)) else (dtype,)):
        return False
    if allow_nan:
        return not np.isinf(X).any()
    # As scikit-learn's check: a finite sum means finite entries (an overflow
    # to inf of finite ones falls back to the entrywise check).
    with np.errstate(over="ignore"):
        return bool(np.isfinite(X.sum()))


def check_fitted(estimator):
    """check_is_fitted for an estimator that defines ``__sklearn_is_fitted__``:
    the same verdict and error, without building the estimator's tags first
    (4 us of a one-row transform's time) when it is fitted."""
    if not estimator.__sklearn_is_fitted__():
        check_is_fitted(estimator)


def check_fitted_width(estimator):
    """Raise ValueError if ``n_features_in_`` disagrees with the width of the
    fitted weights (one of them was assigned after fit): input validated
    against the one would reach a kernel sized by the other."""
    expected = getattr(estimator, "n_features_in_", None)
    fitted = estimator._n_features_fitted
    if expected is not None and expected != fitted:
        raise ValueError(
            f"{type(estimator).__name__}.n_features_in_ is {expected}, but its fitted "
            f"weights take {fitted} features: one of them was assigned after fit. Set "
            f"n_features_in_ = {fitted} to use the weights, or call fit to train a "
            f"model on {expected} features."
        )


def check_unit_interval(X, what):
    """Raise ValueError unless every value of X lies in [0, 1]."""
    values = X.data if sp.issparse(X) else X
    low, high = (np.nanmin(values), np.nanmax(values)) if values.size else (0, 0)
    if values.size and (low < 0 or high > 1):
        fix = (
            "For sparse counts, scale with sklearn.preprocessing.MaxAbsScaler (for "
            "non-negative data) or binarise with sklearn.preprocessing.Binarizer."
            if sp.issparse(X) else
            "Scale X with sklearn.preprocessing.MinMaxScaler(clip=True): with clip, "
            "held-out data stays in [0, 1] too."
        )
        raise ValueError(
            f"{what} needs X with values in [0, 1]; got values in "
            f"[{low:.4g}, {high:.4g}]. {fix}"
        )


def check_unstored(X, owner):
    """What missing="unstored" needs: a CSR matrix whose stored entries are
    the observed values, none of them zero or NaN."""
    if not sp.issparse(X):
        raise TypeError(
            f"{owner} with missing='unstored' reads the entries a sparse matrix does "
            "not store as missing, so it needs a CSR matrix; got a dense array. Pass "
            "scipy.sparse.csr_matrix(X) of the observed values, or use missing='nan' "
            "with NaN marking the missing entries of a dense array."
        )
    if X.nnz and not np.all(X.data != 0):
        raise ValueError(
            f"{owner} with missing='unstored' got {int(np.sum(X.data == 0))} stored "
            "zeros: a stored entry is an observed value, and zero is what "
            "the network reads for a missing one. If they mark missing entries, "
            "drop them with X.eliminate_zeros(); if zero is a real value (a rating "
            "scale with 0), shift the values so that none is zero."
        )
    if X.nnz and np.isnan(X.data).any():
        raise ValueError(
            f"{owner} with missing='unstored' got NaN among the stored entries: leave "
            "missing entries unstored instead (or use missing='nan')."
        )


def missing_fill(X, missing):
    """The value each missing entry enters the network as: with missing="nan",
    each feature's mean over its observed entries (0 for a feature with none),
    as scikit-learn's SimpleImputer would fill it; None otherwise (missing
    entries of missing="unstored" enter as 0, as in AutoRec)."""
    if missing != "nan":
        return None
    if sp.issparse(X):
        nan = np.isnan(X.data)
        total = np.bincount(X.indices[~nan], weights=X.data[~nan], minlength=X.shape[1])
        count = X.shape[0] - np.bincount(X.indices[nan], minlength=X.shape[1])
    else:
        total = np.nansum(X, axis=0, dtype=np.float64)
        count = X.shape[0] - np.isnan(X).sum(axis=0)
    fill = np.divide(total, count, out=np.zeros(X.shape[1]), where=count > 0)
    return fill.astype(X.dtype)


def clip_unit_interval(X):
    """X with its values clipped to [0, 1] (a copy when any value is outside):
    held-out data scaled by a scaler fitted elsewhere falls slightly outside."""
    values = X.data if sp.issparse(X) else X
    if not values.size or (values.min() >= 0 and values.max() <= 1):
        return X
    X = X.copy()
    if sp.issparse(X):
        np.clip(X.data, 0, 1, out=X.data)
    else:
        np.clip(X, 0, 1, out=X)
    return X


def check_integer_params(estimator, names):
    """Reject bools where an integer is expected: ``True`` is an Integral to
    Python, but ``hidden_layer_sizes=(True,)`` or ``random_state=True`` is a
    mistake, not a size or a seed."""
    for name in names:
        value = getattr(estimator, name)
        values = value if isinstance(value, (tuple, list, np.ndarray)) else [value]
        if any(isinstance(v, (bool, np.bool_)) for v in values):
            raise ValueError(
                f"{name} must be an integer (or a sequence of them), not a bool; got "
                f"{name}={value!r}."
            )


def kernel_input(X):
    """The arguments that describe X to the kernels (no copy of dense data)."""
    if sp.issparse(X):
        return (
            X.data,
            X.indices.astype(np.intp, copy=False),
            X.indptr.astype(np.intp, copy=False),
            True,
            X.shape[1],
        )
    return X.reshape(-1), _EMPTY_INDEX, _EMPTY_INDEX, False, X.shape[1]


def check_count(value, name, minimum):
    """A positive integer argument of a method, or a clear ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) \
            or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def mix64(z):
    """SplitMix64's finaliser, elementwise on uint64 arrays (wrapping arithmetic):
    spreads every input bit over the output, so that values whose bit patterns
    end in many zeros (k / 16, say) still hash apart."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def row_hashes(X, seed, chunk=2048):
    """A seeded 64-bit hash of each row's values (dense or CSR, float32 or
    float64), for noise that must repeat for equal rows.

    Wrapping integer sums are associative, so a row's hash depends on its
    values alone, not on chunking or on the other rows; a stored zero of a CSR
    row hashes as a dense zero, and -0.0 as 0.0.
    """
    n, d = X.shape
    multipliers = np.random.default_rng(seed).integers(
        1, 2**63, size=d, dtype=np.uint64) | np.uint64(1)
    bits = np.uint64 if X.dtype == np.float64 else np.uint32
    out = np.empty(n, dtype=np.uint64)
    for start in range(0, n, chunk):
        rows = X[start : start + chunk]
        rows = rows.toarray() if sp.issparse(rows) else rows
        # + 0.0 turns -0.0 into 0.0: equal values must hash alike.
        rows = np.ascontiguousarray(rows) + rows.dtype.type(0)
        words = mix64(rows.view(bits).astype(np.uint64))
        out[start : start + len(rows)] = mix64(
            (words * multipliers).sum(axis=1, dtype=np.uint64))
    return out


class MeanScoreMixin:
    """``score`` as the mean of ``score_samples`` (higher is better), so that
    ``GridSearchCV`` can select an unsupervised model without labels."""

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` over the samples of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        score : float
            The mean score; higher is better.

        Examples
        --------
        >>> import numpy as np
        >>> from skae import AutoencoderTransformer
        >>> X = np.random.default_rng(0).random((50, 4))
        >>> model = AutoencoderTransformer(n_components=2, max_iter=5,
        ...                                random_state=0).fit(X)
        >>> bool(model.score(X) < 0)
        True
        """
        return float(np.mean(self.score_samples(X)))
