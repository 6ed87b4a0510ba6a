"""sliding_windows and timestamp_scores: one long series as windows and back."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skae import SequenceAutoencoder, sliding_windows, timestamp_scores


@pytest.mark.parametrize(("n", "width", "step"), [(10, 4, 1), (10, 4, 3), (9, 9, 2),
                                                  (11, 3, 3)])
def test_windows_cover_every_point_and_read_the_series(n, width, step):
    series = np.arange(2 * n, dtype=np.float32).reshape(2, n)
    windows = sliding_windows(series, width, step)
    assert windows.dtype == np.float32
    starts = [w[0] for w in windows[:, :width]]
    assert starts[0] == 0 and starts[-1] == n - width
    assert all(0 < b - a <= step for a, b in zip(starts, starts[1:]))
    for row, start in zip(windows, starts):
        s = int(start)
        assert_array_equal(row.reshape(2, width), series[:, s : s + width])
    # each point's score is the mean over its windows: constant scores stay
    assert_allclose(timestamp_scores(np.full(len(windows), 2.5), n, width, step), 2.5)


def test_timestamp_scores_average_the_covering_windows():
    scores = timestamp_scores([1.0, 3.0, 5.0], n_timepoints=5, width=3, step=1)
    assert_allclose(scores, [1, 2, 3, 4, 5])


def test_the_callers_series_is_left_alone_and_windows_are_copies():
    series = np.arange(8.0)
    windows = sliding_windows(series, 4, 2)
    windows[:] = -1
    assert_array_equal(series, np.arange(8.0))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: sliding_windows(np.zeros((2, 3, 4)), 2), "1-D"),
    (lambda: sliding_windows(np.zeros(5), 6), "longer than the series"),
    (lambda: sliding_windows(np.zeros(5), 0), "width must be a positive int"),
    (lambda: sliding_windows(np.zeros(5), 2, step=1.5), "step must be a positive int"),
    (lambda: sliding_windows(np.zeros(9), 3, step=4), "step=4 is longer than width=3"),
    (lambda: timestamp_scores([1.0, 2.0], 10, 4, 2), "has 2 values, but .* 4 windows"),
])
def test_bad_arguments_are_refused_with_the_fix(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_anomaly_in_a_long_series_scores_highest_where_it_is():
    # A sine with a burst of noise at 700..720; windows of the normal first
    # 400 points train the autoencoder.
    rng = np.random.default_rng(0)
    t = np.arange(1000)
    series = np.sin(2 * np.pi * t / 50) + 0.05 * rng.normal(size=1000)
    series[700:720] += rng.normal(scale=1.0, size=20)
    ae = SequenceAutoencoder(n_components=4, hidden_layer_sizes=(16,), max_iter=30,
                             random_state=0).fit(sliding_windows(series[:400], 32, 4))
    windows = sliding_windows(series, 32, 4)
    scores = timestamp_scores(-ae.score_samples(windows), len(series), 32, 4)
    assert 680 <= scores.argmax() <= 740
