"""One long series as windows, and per-timestamp scores back from the windows'.

An autoencoder trained on windows of a sensor stream's normal stretch
reconstructs normal windows well and anomalous ones badly; each timestamp's
anomaly score is then the mean reconstruction error of the windows that cover
it (the usual reading of windowed detectors, e.g. in the UCR anomaly archive's
baselines). ``sliding_windows`` makes the rows any skae autoencoder takes
(``SequenceAutoencoder``, ``ConvAutoencoder`` with ``input_shape``, a dense
one); ``timestamp_scores`` spreads their scores back over the series.
"""

from numbers import Integral

import numpy as np


def _as_series(series):
    """(n_channels, n_timepoints) float array of a 1-D or 2-D series."""
    values = np.asarray(series)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise ValueError(
            f"series must be 1-D (n_timepoints,) or 2-D (n_channels, n_timepoints); got "
            f"an array of shape {values.shape}.")
    if not np.issubdtype(values.dtype, np.number):
        raise TypeError(f"series must hold numbers; got dtype {values.dtype}.")
    return values


def _check_window(width, step, n_timepoints):
    for name, value in (("width", width), ("step", step)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}.")
    if step > width:
        raise ValueError(f"step={step} is longer than width={width}: the points between "
                         "windows would have no score. Use a step of at most the width.")
    if width > n_timepoints:
        raise ValueError(f"width={width} is longer than the series ({n_timepoints} "
                         "points): use a shorter window.")


def _starts(n_timepoints, width, step):
    """Each window's first index: every ``step``, and one ending at the last
    point if the steps leave a tail."""
    starts = list(range(0, n_timepoints - width + 1, step))
    if starts[-1] + width < n_timepoints:
        starts.append(n_timepoints - width)
    return np.array(starts)


def sliding_windows(series, width, step=1):
    """Windows of a long series, as rows for an autoencoder.

    Parameters
    ----------
    series : array-like of shape (n_timepoints,) or (n_channels, n_timepoints)
        One series (several channels: one a row).
    width : int
        Points a window.
    step : int, default=1
        Points between the starts of consecutive windows, at most ``width``.
        Where the steps leave a tail, one more window ends at the last point,
        so that every point is in a window.

    Returns
    -------
    windows : ndarray of shape (n_windows, n_channels * width)
        One window a row, its channels one after the other (the rows
        ``SequenceAutoencoder`` and ``ConvAutoencoder`` read with
        ``input_shape=(n_channels, width)``); a copy, in the series' float
        dtype.

    See Also
    --------
    timestamp_scores : The windows' scores spread back over the series.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import sliding_windows
    >>> sliding_windows(np.arange(6.0), width=4, step=2)
    array([[0., 1., 2., 3.],
           [2., 3., 4., 5.]])
    >>> sliding_windows(np.arange(10.0).reshape(2, 5), width=3, step=2).shape
    (2, 6)
    """
    values = _as_series(series)
    channels, n_timepoints = values.shape
    _check_window(width, step, n_timepoints)
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
    starts = _starts(n_timepoints, width, step)
    index = starts[:, None] + np.arange(width)[None, :]
    windows = values.astype(dtype, copy=False)[:, index]     # (channels, n, width)
    return np.ascontiguousarray(windows.transpose(1, 0, 2)).reshape(len(starts),
                                                                    channels * width)


def timestamp_scores(window_scores, n_timepoints, width, step=1):
    """Each timestamp's score: the mean of the scores of the windows that
    cover it.

    Parameters
    ----------
    window_scores : array-like of shape (n_windows,)
        A score for each window of :func:`sliding_windows` (same ``width`` and
        ``step``), e.g. an autoencoder's reconstruction error,
        ``-ae.score_samples(windows)`` (higher: more anomalous).
    n_timepoints : int
        The series' length.
    width, step : int
        The windows' width and step.

    Returns
    -------
    scores : ndarray of shape (n_timepoints,)
        ``scores.argmax()`` is the most anomalous timestamp.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import timestamp_scores
    >>> timestamp_scores([1.0, 3.0], n_timepoints=6, width=4, step=2)
    array([1., 1., 2., 2., 3., 3.])
    """
    _check_window(width, step, n_timepoints)
    starts = _starts(n_timepoints, width, step)
    scores = np.asarray(window_scores, dtype=np.float64).ravel()
    if scores.shape != starts.shape:
        raise ValueError(
            f"window_scores has {scores.size} values, but a series of {n_timepoints} "
            f"points has {starts.size} windows of width {width} and step {step}: pass "
            "the scores of sliding_windows(series, width, step).")
    total = np.zeros(n_timepoints)
    count = np.zeros(n_timepoints)
    for start, score in zip(starts, scores):
        total[start : start + width] += score
        count[start : start + width] += 1
    return total / count
