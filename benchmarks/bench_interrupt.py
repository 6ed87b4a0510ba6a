"""How fast each estimator answers Ctrl-C during fit, on 20,000 x 256 data.

    python benchmarks/bench_interrupt.py [--after 1.0] [--repeats 3]

A timer thread raises KeyboardInterrupt in the main thread (as Ctrl-C does)
``--after`` seconds into ``fit``; the table gives the time from the interrupt
to the moment ``fit`` has re-raised it with the model rolled back to its last
completed pass, the median of ``--repeats``, beside the length of one pass
(the reaction without the kernels' polling). Target (issue 12): about a second.
"""

import _thread
import argparse
import signal
import threading
import time
import warnings

import numpy as np
from sklearn.base import clone

from skae import (
    AutoencoderTransformer,
    BernoulliRBM,
    ContractiveAE,
    DenoisingAE,
    GaussianBernoulliRBM,
    SparseAE,
    StackedAE,
)


def estimators():
    ae = dict(n_components=64, max_iter=1000, tol=0, batch_size=32, random_state=0,
              activation="sigmoid", code_activation="sigmoid", init="random",
              early_stopping=False)
    rbm = dict(n_components=64, n_iter=1000, batch_size=32, random_state=0)
    return [
        AutoencoderTransformer(**ae, hidden_layer_sizes=()),
        DenoisingAE(**ae, hidden_layer_sizes=()),
        SparseAE(**ae, hidden_layer_sizes=(), sparsity="kl", sparsity_weight=0.1),
        ContractiveAE(**ae, hidden_layer_sizes=()),
        StackedAE(**ae, hidden_layer_sizes=(128,), pretraining="autoencoder"),
        BernoulliRBM(**rbm),
        GaussianBernoulliRBM(**rbm, learning_rate=0.001),
    ]


def reaction(estimator, X, after):
    fired = []

    def fire():
        fired.append(time.perf_counter())
        _thread.interrupt_main()

    timer = threading.Timer(after, fire)
    timer.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X)
    except KeyboardInterrupt:
        return time.perf_counter() - fired[0]
    finally:
        timer.cancel()
    raise RuntimeError("fit ended before the interrupt")


def one_pass(estimator, X):
    one = clone(estimator).set_params(
        **({"n_iter": 1} if "n_iter" in estimator.get_params() else {"max_iter": 1}))
    if isinstance(one, StackedAE):
        one.set_params(pretrain_params={"max_iter": 1})
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one.fit(X)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--after", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    # A background job of a non-interactive shell starts with SIGINT ignored,
    # and _thread.interrupt_main() then does nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    X = (np.random.default_rng(0).random((20000, 256)) < 0.3).astype(np.float64)
    print(f"{'estimator':<24} {'reaction s':>10} {'one pass s':>10}")
    for est in estimators():
        times = [reaction(clone(est), X, args.after) for _ in range(args.repeats)]
        print(f"{type(est).__name__:<24} {np.median(times):>10.3f} "
              f"{one_pass(est, X):>10.3f}")


if __name__ == "__main__":
    main()
