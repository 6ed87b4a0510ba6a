"""The thread limits users set reach skae's kernels, and the thread count a
pass chooses never changes a result."""

import contextlib
import os
import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest
from joblib import Parallel, delayed
from numpy.testing import assert_array_equal
from sklearn.base import clone
from threadpoolctl import threadpool_info, threadpool_limits

from skae import AutoencoderTransformer, BernoulliRBM, ConvAutoencoder, SequenceAutoencoder
from skae._core.common import _inference_records, single_threaded_blas
from skae._kernels import _network, _rbm
from skae._kernels._network import openmp_threads
from skae._kernels.runtime.record import ThreadRecord

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

needs_two = pytest.mark.skipif(
    openmp_threads() < 2, reason="the kernels have one thread here (no OpenMP, or "
    "OMP_NUM_THREADS=1): there is no limit to check")


@needs_two
@pytest.mark.parametrize("user_api", [None, "openmp"])
def test_threadpool_limits_reach_the_kernels(user_api):
    with threadpool_limits(1, user_api=user_api):
        assert openmp_threads() == 1
    assert openmp_threads() >= 2


@needs_two
def test_omp_num_threads_reaches_the_kernels(tmp_path):
    code = "from skae._kernels._network import openmp_threads; print(openmp_threads())"
    # From a neutral directory: in the repository root the source tree, without
    # compiled kernels unless installed with -e, would shadow the installed package.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS="1"), check=True,
                         cwd=tmp_path)
    assert out.stdout.strip() == "1"


def _worker_threads():
    from skae._kernels._network import openmp_threads
    return openmp_threads()


@needs_two
def test_joblib_workers_limit_the_kernels():
    # What GridSearchCV(n_jobs=2) does: each of 2 workers gets cores // 2 threads.
    counts = Parallel(n_jobs=2, backend="loky")(delayed(_worker_threads)() for _ in range(2))
    assert counts == [max(1, os.cpu_count() // 2)] * 2


def _hold_in_another_thread(context):
    """Start a thread that enters ``context()`` and stays inside; returns a
    function that lets it leave and joins it (safe to call twice)."""
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with context():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert inside.wait(10)

    def release():
        leave.set()
        thread.join()

    return release


@contextlib.contextmanager
def _call_on_one_openmp_thread():
    with threadpool_limits(1, user_api="openmp"), single_threaded_blas():
        yield


@needs_two
def test_a_call_leaves_other_threads_openmp_limits_alone():
    # OpenMP's limit belongs to each thread. A skae call that starts in a
    # thread whose limit is 1 and ends after a call of the main thread began
    # must not hand its limit to the main thread when the last one restores
    # the BLAS limit.
    release = _hold_in_another_thread(_call_on_one_openmp_thread)
    try:
        with single_threaded_blas():
            release()
    finally:
        release()
    assert openmp_threads() >= 2


def _blas_limits():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _calls():
    for _ in range(500):
        with single_threaded_blas():
            pass


@contextlib.contextmanager
def _after_calls():
    _calls()
    yield


def test_calls_from_several_threads_leave_the_blas_limits_as_they_were():
    # The BLAS limit is process-wide: the first call in sets it, the last out
    # restores it, often another thread; and a thread that once ran a call
    # must not keep threadpoolctl's control of OpenBLAS from the others.
    before = _blas_limits()
    threads = [threading.Thread(target=_calls) for _ in range(3)]
    for thread in threads:
        thread.start()
    _calls()
    for thread in threads:
        thread.join()
    assert _blas_limits() == before
    release = _hold_in_another_thread(_after_calls)
    try:
        with threadpool_limits(1, user_api="blas"):
            assert set(_blas_limits()) <= {1}
    finally:
        release()
    assert _blas_limits() == before


@needs_two
@pytest.mark.parametrize(("make", "kernel"), [
    (lambda: AutoencoderTransformer(n_components=16, max_iter=3, batch_size=8,
                                    random_state=0), _network),
    (lambda: BernoulliRBM(n_components=16, n_iter=3, batch_size=8, random_state=0),
     _rbm),
    # Each row a series of 40 points: convolution, pooling and their mirrors.
    (lambda: ConvAutoencoder(n_components=4, filters=(4, 8), max_iter=2, batch_size=8,
                             random_state=0), _network),
    # Each row 4 channels of 10 steps: two GRU layers each way.
    (lambda: SequenceAutoencoder(n_components=4, input_shape=(4, 10),
                                 hidden_layer_sizes=(6, 5), max_iter=2, batch_size=8,
                                 random_state=0), _network),
], ids=["autoencoder", "rbm", "convolutional", "sequence"])
def test_thread_choices_never_change_results(make, kernel):
    # Small minibatches: a fit measures one thread against the team and may
    # keep either (one thread throughout, on a busy machine); with the driver
    # alternating, every other step runs on the team. Each fit must equal the
    # one-thread fit bit for bit.
    X = np.random.default_rng(0).random((3000, 40))
    with threadpool_limits(1):
        before = kernel.team_steps()
        single = make().fit(X)
        assert kernel.team_steps() == before
    expected = single.transform(X)
    measured = make().fit(X)
    assert_array_equal(measured.transform(X), expected)
    before = kernel.team_steps()
    kernel.alternate_threads(True)
    try:
        mixed = make().fit(X)
        assert kernel.team_steps() > before, "no step of the fit ran on the team"
        assert_array_equal(mixed.transform(X), expected)
    finally:
        kernel.alternate_threads(False)
    assert_array_equal(mixed.transform(X), expected)


@pytest.mark.parametrize("make", [
    lambda: AutoencoderTransformer(n_components=8, max_iter=2, random_state=0),
    lambda: BernoulliRBM(n_components=8, n_iter=2, random_state=0),
], ids=["autoencoder", "rbm"])
def test_inference_thread_record_stays_in_its_process(make):
    # The record of the kernels' thread choice is a measurement of this
    # process, kept beside the estimator: transform leaves __dict__ alone,
    # pickles and clones start without one, a pickled record comes back
    # unused, and whatever it holds (another model's measurements, a team
    # that chose one thread) changes nothing but speed.
    X = np.random.default_rng(1).random((2000, 20))
    est = make().fit(X)
    before = dict(est.__dict__)
    expected = est.transform(X)
    assert est.__dict__.keys() == before.keys()
    record = _inference_records[est]
    assert isinstance(record, ThreadRecord)
    assert record.team_size >= 1
    assert repr(pickle.loads(pickle.dumps(record))) == "ThreadRecord(unused)"
    assert pickle.loads(pickle.dumps(est)) not in _inference_records
    assert clone(est) not in _inference_records
    other = make().set_params(random_state=1).fit(X[:, :10])
    other.transform(X[:50, :10])
    for borrowed in (_inference_records[other], ThreadRecord(), record.copy()):
        _inference_records[est] = borrowed
        assert_array_equal(est.transform(X), expected)


def _spin_counts(tmp_path, **settings):
    """GOMP_SPINCOUNT as each libgomp in a process that imports skae reports it,
    with the OpenMP wait settings given and no others."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", "import skae"], capture_output=True,
                         text=True, check=True, cwd=tmp_path,
                         env=dict(env, OMP_DISPLAY_ENV="VERBOSE", **settings))
    return [line.split("'")[1] for line in out.stderr.splitlines()
            if line.strip().startswith("GOMP_SPINCOUNT")]


@needs_two
def test_idle_threads_spin_briefly_unless_the_user_says_otherwise(tmp_path):
    from skae._kernels import SPIN_COUNT

    counts = _spin_counts(tmp_path)
    if not counts:
        pytest.skip("skae's kernels do not run on GNU's libgomp here")
    # The last runtime to load is the one skae's kernels link (scikit-learn's
    # wheels load their own copy first, before skae sets anything).
    assert counts[-1] == SPIN_COUNT
    assert set(_spin_counts(tmp_path, GOMP_SPINCOUNT="7")) == {"7"}
    assert SPIN_COUNT not in _spin_counts(tmp_path, OMP_WAIT_POLICY="active")
