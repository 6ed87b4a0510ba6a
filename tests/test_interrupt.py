"""Ctrl-C during training, for every estimator.

A timer thread raises KeyboardInterrupt in the main thread (as Ctrl-C does)
while ``fit`` runs. Every estimator must react within about a second, even in
the middle of a long epoch (the kernels poll for signals between minibatches);
keep exactly the state after its last completed pass, so that it equals a
fresh fit of that many passes bit for bit; warn; and raise the
KeyboardInterrupt again, so that a loop of ``partial_fit`` calls stops.
"""

import _thread
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skae import (
    AutoencoderTransformer,
    BernoulliRBM,
    ContractiveAE,
    DenoisingAE,
    GaussianBernoulliRBM,
    SparseAE,
    StackedAE,
)
from classic import classic
from skae._core.training import EpochLoop

# Slow enough that an epoch takes a good fraction of a second on 2 cores.
_N_ROWS, _N_FEATURES = 20000, 256
# The test's limit for the reaction; the kernels poll every 50 ms, so this
# leaves room for a loaded CI machine.
_REACTION_LIMIT = 2.0


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return (rng.random((_N_ROWS, _N_FEATURES)) < 0.3).astype(np.float64)


def _estimators():
    common = dict(n_components=64, random_state=0)
    ae = dict(common, max_iter=1000, tol=0, batch_size=32)
    rbm = dict(common, n_iter=1000, batch_size=32)
    return [
        classic(AutoencoderTransformer, **ae),
        classic(DenoisingAE, **ae),
        classic(SparseAE, **ae),
        classic(ContractiveAE, **ae),
        classic(StackedAE, **ae, hidden_layer_sizes=(128,), pretraining=None),
        BernoulliRBM(**rbm),
        GaussianBernoulliRBM(**rbm, learning_rate=0.001),
    ]


@pytest.fixture(autouse=True)
def _python_handles_sigint():
    """Python's own SIGINT handler for the test: a process started in the
    background by a non-interactive shell (as CI scripts start jobs) inherits
    SIGINT ignored, and then _thread.interrupt_main() does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _interrupt_after(seconds):
    """Start a timer that raises KeyboardInterrupt in the main thread; returns
    a list that receives the time it fired."""
    fired = []

    def fire():
        fired.append(time.perf_counter())
        _thread.interrupt_main()

    timer = threading.Timer(seconds, fire)
    timer.start()
    return timer, fired


def _interrupted_fit(estimator, X):
    """Fit, interrupted halfway through the pass after the first one (whatever
    the machine's speed); returns the reaction time."""
    # Every estimator's epochs run in the one training loop (skae/_core/training.py).
    cls, method = EpochLoop, "_epoch"
    original, own = getattr(cls, method), method in vars(cls)
    timers, fired = [], []  # the timer, and the list it records its firing in

    def first_pass_arms_the_timer(self, *args, **kwargs):
        start = time.perf_counter()
        result = original(self, *args, **kwargs)
        if not timers:
            timer, when = _interrupt_after(0.5 * (time.perf_counter() - start))
            timers.append(timer)
            fired.append(when)
        return result

    setattr(cls, method, first_pass_arms_the_timer)
    try:
        with pytest.warns(UserWarning, match="training interrupted"):
            with pytest.raises(KeyboardInterrupt):
                estimator.fit(X)
        reacted = time.perf_counter()
    finally:
        for timer in timers:
            timer.cancel()
        if own:
            setattr(cls, method, original)
        else:
            delattr(cls, method)
    assert fired and fired[0], "fit ended before the interrupt"
    return reacted - fired[0][0]


def _completed(estimator):
    return estimator.n_iter_ if hasattr(estimator, "n_iter_") else None


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_fit_reacts_to_ctrl_c_and_keeps_the_last_completed_pass(estimator, data):
    is_rbm = hasattr(estimator, "n_iter")
    # Count the passes through a callback-free route: a second fit of exactly
    # the completed number of passes must give the same model, bit for bit.
    reaction = _interrupted_fit(estimator, data)
    assert reaction < _REACTION_LIMIT, f"reacted after {reaction:.2f} s"
    if is_rbm:
        # RBMs count passes in no attribute: find it from the random stream.
        reference = clone(estimator)
        for n_iter in range(1, 200):
            reference.set_params(n_iter=n_iter).fit(data)
            if np.array_equal(reference.components_, estimator.components_):
                break
        else:
            pytest.fail("the interrupted model matches no whole number of passes")
        assert np.array_equal(reference.h_samples_, estimator.h_samples_)
        return
    n_done = estimator.n_iter_
    assert n_done >= 1 and len(estimator.loss_curve_) == n_done
    assert estimator.t_ == n_done * len(data)
    reference = clone(estimator).set_params(max_iter=n_done)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(data)
    assert np.array_equal(reference._params, estimator._params)
    assert np.array_equal(reference._optimizer_state, estimator._optimizer_state)
    assert reference._n_steps == estimator._n_steps
    assert reference._bit_generator.state == estimator._bit_generator.state
    # It goes on as the uninterrupted model would.
    reference.partial_fit(data)
    estimator.partial_fit(data)
    assert np.array_equal(reference._params, estimator._params)


def _long_pass_estimators():
    # Wide enough that one pass takes seconds: a reaction within a second then
    # proves that the kernel polls for signals inside the pass.
    common = dict(random_state=0, batch_size=64)
    return [
        classic(AutoencoderTransformer, n_components=64, hidden_layer_sizes=(2048,),
                               max_iter=1, **common),
        classic(ContractiveAE, n_components=2048, max_iter=1, **common),
        BernoulliRBM(n_components=4096, n_iter=1, **common),
    ]


@pytest.mark.parametrize("estimator", _long_pass_estimators(),
                         ids=lambda e: type(e).__name__)
def test_ctrl_c_reaches_a_pass_in_progress(estimator, data):
    timer, fired = _interrupt_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            estimator.fit(data)
        reaction = time.perf_counter() - fired[0]
    finally:
        timer.cancel()
    assert reaction < 1.0, f"reacted after {reaction:.2f} s"
    # The only pass was interrupted: nothing completed, nothing was kept.
    assert not hasattr(estimator, "n_features_in_")
    # The same pass, uninterrupted, takes much longer than the reaction.
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clone(estimator).fit(data)
    assert time.perf_counter() - start > 2 * reaction


@pytest.mark.parametrize("estimator", _estimators()[:1] + _estimators()[-2:-1],
                         ids=lambda e: type(e).__name__)
def test_interrupt_stops_a_loop_of_partial_fit(estimator, data):
    calls = 0
    timer, fired = _interrupt_after(0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in range(1000):
                estimator.partial_fit(data)
                calls += 1
    finally:
        timer.cancel()
    assert fired and calls < 1000


def test_stacked_ae_stops_during_pretraining(data):
    stack = classic(StackedAE, n_components=16, hidden_layer_sizes=(64, 32),
                      pretraining="autoencoder", max_iter=1000, tol=0, batch_size=32,
                      random_state=0)
    timer, fired = _interrupt_after(1.0)
    try:
        start = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            stack.fit(data)
        elapsed = time.perf_counter() - start
    finally:
        timer.cancel()
    assert fired and elapsed < 1.0 + _REACTION_LIMIT
    # Nothing of the stack completed: it is as it was before fit.
    assert not hasattr(stack, "_params")


def test_interrupt_before_the_first_pass_leaves_a_fitted_model_as_it_was(data):
    ae = classic(AutoencoderTransformer, n_components=8, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae.fit(data[:500])
    before = ae._params.copy()
    ae.set_params(max_iter=1000, tol=0, batch_size=32)
    timer, fired = _interrupt_after(0.05)
    try:
        with pytest.raises(KeyboardInterrupt):
            # partial_fit trains one pass: interrupted, nothing completed.
            ae.partial_fit(np.tile(data, (3, 1)))
    finally:
        timer.cancel()
    assert fired
    assert np.array_equal(ae._params, before) and ae.n_iter_ == 2
