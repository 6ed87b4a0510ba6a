"""BernoulliRBM's samplers: exactness on enumerable models, and epoch time.

1. Exactness (issue 39, item 1): on random RBMs of 6 visible and 4 hidden
   units and on a two-mode model (all units off / all on, 0.48 of the mass
   each), each sampler runs 20,000 chains (per temperature) from zero for a
   number of updates with the learning rate at 0, so the model stays fixed
   (FPCD's fast weights, at a step of 1e-3, still move), and the frequencies
   of the hidden states of the temperature-1 chains are compared with the
   exact P(h) by enumeration: total variation, and the gradient estimate's
   largest error against the exact gradient (k = 100 from zero chains).
   Sampling noise alone gives a total variation of about 0.01 here.
2. Speed (item 3): one pass over binarised MNIST (60,000 images, 500 hidden
   units, batch 100, k = 1) for each sampler (and PCD-1 with the centred
   gradient) against PCD-1, float32 and float64, in one run.

Usage: python benchmarks/bench_rbm_samplers.py [--threads 2] [--rows 60000]
       [--data ../shared/data/mnist.npz]
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from scipy.special import expit, logsumexp
from threadpoolctl import threadpool_limits

from skae import BernoulliRBM
from skae._kernels import _rbm
from skae._kernels.runtime.record import ThreadRecord

# Run as a script, benchmarks/ is on the path.
from bench_rbm_recipe import binarised_mnist

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
EMPTY = np.empty(0, dtype=np.intp)
SAMPLERS = [
    ("PCD-1 (gibbs)", dict(sampler="gibbs")),
    ("PCD-1, centred gradient", dict(sampler="gibbs", centering=True)),
    ("FPCD", dict(sampler="fpcd")),
    ("PT, 4 temperatures", dict(sampler="pt", n_temperatures=4)),
    ("PT, 10 temperatures", dict(sampler="pt", n_temperatures=10)),
]


def config(sampler, n_temperatures=1, fast_learning_rate=0.0, k=1):
    return dict(visible=0, hidden=0, k=k, persistent=True, learning_rate=0.0,
                momentum=0.0, weight_decay=0.0, sampler=_rbm.SAMPLERS[sampler],
                n_temperatures=n_temperatures, fast_learning_rate=fast_learning_rate,
                fast_decay=0.95, centering=False, offset_rate=0.01)


def states(n):
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)


def exact_hidden(W, b_h, b_v):
    H = states(W.shape[0])
    log_p = H @ b_h + np.logaddexp(0, H @ W + b_v).sum(axis=1)
    return np.exp(log_p - logsumexp(log_p))


def chain_frequencies(model, cfg, n_chains, n_updates, seed):
    W, b_h, b_v = (a.copy() for a in model)
    n_hidden, n_visible = W.shape
    n_rows = n_chains * cfg["n_temperatures"]
    chains = np.zeros((n_rows, n_hidden))
    size = W.size + n_hidden + n_visible
    work = np.empty(_rbm.workspace_size(n_visible, n_hidden, 1, n_rows, cfg["sampler"]))
    _rbm.train_pass(np.zeros(n_visible), EMPTY, EMPTY, False, n_visible,
                    np.zeros(n_updates, dtype=np.intp), 1, W, b_h, b_v, chains,
                    np.zeros(size), np.zeros(size), np.empty(0), cfg, np.random.PCG64(seed), work,
                    ThreadRecord())
    codes = (chains[:n_chains] @ (2 ** np.arange(n_hidden))).astype(int)
    return np.bincount(codes, minlength=2**n_hidden) / n_chains


def gradient_error(model, cfg, seed):
    W, b_h, b_v = model
    rng = np.random.default_rng(seed)
    V = (rng.uniform(size=(8, W.shape[1])) < 0.4).astype(float)
    S = states(W.shape[1])
    log_p = S @ b_v + np.logaddexp(0, S @ W.T + b_h).sum(axis=1)
    p = np.exp(log_p - logsumexp(log_p))
    h_data, h_model = expit(V @ W.T + b_h), expit(S @ W.T + b_h)
    exact = h_data.T @ V / len(V) - (h_model * p[:, None]).T @ S
    n_chains = 40000
    cfg = dict(cfg, k=100)
    chains = np.zeros((n_chains * cfg["n_temperatures"], W.shape[0]))
    got = _rbm.gradient(np.repeat(V, n_chains // len(V), axis=0), W.copy(), b_h.copy(),
                        b_v.copy(), chains, cfg, np.random.PCG64(seed),
                        np.zeros(W.size + b_h.size + b_v.size))
    return np.abs(got[0] - exact).max()


def exactness():
    print("\nExactness: total variation of the temperature-1 chains' hidden states "
          "from the exact P(h)\n(20,000 chains, learning rate 0; noise alone ~0.01), "
          "and the largest error of the weight gradient (k = 100)\n")
    samplers = [("gibbs", config("gibbs")), ("fpcd, fast step 1e-3",
                                             config("fpcd", fast_learning_rate=1e-3)),
                ("pt, 4 temperatures", config("pt", 4))]
    print(f"{'sampler':24s} {'random, 200 updates (3 models)':>32s} "
          f"{'two modes, 100 updates':>23s} {'gradient error':>15s}")
    n_hidden, n_visible = 4, 8
    bimodal = (np.full((n_hidden, n_visible), 1.5), np.full(n_hidden, -0.75 * n_visible),
               np.full(n_visible, -0.75 * n_hidden))
    for name, cfg in samplers:
        tvs = []
        for seed in range(3):
            rng = np.random.default_rng(seed)
            W = rng.normal(scale=1.5, size=(4, 6))
            model = (W, rng.normal(scale=0.75, size=4), -0.5 * W.sum(axis=0))
            got = chain_frequencies(model, cfg, 20000, 200, seed)
            tvs.append(0.5 * np.abs(got - exact_hidden(*model)).sum())
        got = chain_frequencies(bimodal, cfg, 20000, 100, 0)
        tv_two = 0.5 * np.abs(got - exact_hidden(*bimodal)).sum()
        rng = np.random.default_rng(3)
        W = rng.normal(scale=0.7, size=(4, 6))
        error = gradient_error((W, rng.normal(scale=0.35, size=4), -0.5 * W.sum(axis=0)),
                               cfg, 0)
        print(f"{name:24s} {' / '.join(f'{t:.3f}' for t in tvs):>32s} "
              f"{tv_two:23.3f} {error:15.4f}")


def speed(X, threads):
    print(f"\nSpeed: one pass over {X.shape[0]:,} binarised MNIST images, 500 hidden "
          f"units, batch 100, k = 1, {threads} threads (best of 2)\n")
    print(f"{'sampler':24s} {'float32 s':>10s} {'x PCD-1':>8s} {'float64 s':>10s} "
          f"{'x PCD-1':>8s}")
    base = {}
    for name, params in SAMPLERS:
        cells = []
        for dtype in (np.float32, np.float64):
            data = X.astype(dtype)
            best = np.inf
            for _ in range(2):
                model = BernoulliRBM(500, batch_size=100, n_iter=1, learning_rate=0.01,
                                     random_state=0, **params)
                start = time.perf_counter()
                model.fit(data)
                best = min(best, time.perf_counter() - start)
            base.setdefault(dtype, best)
            cells.append(f"{best:10.2f} {best / base[dtype]:8.2f}")
        print(f"{name:24s} {' '.join(cells)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, threads: {args.threads}, load average: "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    with threadpool_limits(args.threads):
        exactness()
        train, _ = binarised_mnist(args.data)
        speed(train[:args.rows], args.threads)


if __name__ == "__main__":
    main()
