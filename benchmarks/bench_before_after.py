"""The epochs of bench_autoencoder.py, bench_rbm.py and bench_vae.py, from two
source trees of skae, interleaved: did a change of the engine change its speed?

Each tree is a checkout with its kernels built in place (``python setup.py
build_ext --inplace``), for example the commit before a change in a git worktree
beside this one. Every measurement runs in a fresh interpreter that imports skae
and the benchmark modules from one tree, so each tree times its own code with
its own copy of the workload; the trees take turns, workload by workload, for
``--rounds`` rounds, so that the machine's drift falls on both alike. Each run
keeps the best of ``--repeats`` epochs after a warm-up, as the benchmarks do.

The workloads (each benchmark's skae row; MNIST's 60,000 training rows):

- ``autoencoder-B``: one epoch of bench_autoencoder.py's 784-256-784 sigmoid
  autoencoder, Adam, float32, batch B (32, 128, 512);
- ``rbm-B``: one epoch of PCD-1 with 256 hidden units, batch B (10, 128);
- ``vae``: one epoch of bench_vae.py's 784-500-500-20 VAE, batch 100.

Prints each workload's times per round and the median over rounds of the
ratio after / before (below 1: faster after).

Usage: python benchmarks/bench_before_after.py --before ../old --after .
       [--rounds 5] [--repeats 3] [--threads 2] [--data ../shared/data/mnist.npz]
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
WORKLOADS = ["autoencoder-32", "autoencoder-128", "autoencoder-512", "rbm-10", "rbm-128",
             "vae"]

# What one fresh interpreter runs: the tree's own benchmark helpers, so each
# tree builds the workload exactly as its benchmarks do.
WORKER = r"""
import json, sys, time, warnings
import numpy as np
from threadpoolctl import threadpool_limits
tree, workload, data, repeats, threads = sys.argv[1:6]
sys.path[:0] = [tree, tree + "/benchmarks"]
repeats, threads = int(repeats), int(threads)
kind, _, batch = workload.partition("-")
warnings.simplefilter("ignore")
with threadpool_limits(threads):
    if kind == "autoencoder":
        import bench_autoencoder as bench
        X = bench.load_mnist(data)
        epoch = bench.skae_epochs(X, int(batch))
        times = [epoch() for _ in range(repeats)]
    elif kind == "rbm":
        import bench_rbm as bench
        from skae import BernoulliRBM
        with np.load(data) as d:
            X = (d["X_train"] / 255.0).astype(np.float32)
        bench.time_fit(BernoulliRBM(n_components=256, batch_size=int(batch), n_iter=1,
                                    random_state=0), X[:2000])
        times = [bench.time_fit(BernoulliRBM(n_components=256, batch_size=int(batch),
                                             n_iter=1, random_state=0), X)
                 for _ in range(repeats)]
    else:
        import bench_vae as bench
        train, _ = bench.binarised_mnist(data)
        vae = bench.skae_model(seed=0)
        vae.partial_fit(train[:2000])
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            vae.partial_fit(train)
            times.append(time.perf_counter() - start)
import skae
print(json.dumps({"file": skae.__file__, "best": min(times)}))
"""


def measure(tree, workload, args):
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", WORKER, str(tree), workload, str(args.data),
         str(args.repeats), str(args.threads)],
        capture_output=True, text=True, env=env, cwd=tree, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["file"]).resolve().is_relative_to(Path(tree).resolve()):
        raise RuntimeError(f"{tree}: imported skae from {result['file']}")
    return result["best"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    args = parser.parse_args()

    def commit(tree):
        out = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True)
        return out.stdout.strip() or "?"

    print(f"before: {args.before} ({commit(args.before)}); after: {args.after} "
          f"({commit(args.after)}); {args.threads} threads, {os.cpu_count()} cores; "
          f"best of {args.repeats} epochs a run, {args.rounds} rounds; load average "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    ratios = {w: [] for w in args.workloads}
    for r in range(args.rounds):
        for workload in args.workloads:
            # Alternate which tree goes first, so neither always runs on a
            # machine the other just warmed.
            order = [args.before, args.after][:: 1 if r % 2 == 0 else -1]
            t = {tree: measure(tree, workload, args) for tree in order}
            ratios[workload].append(t[args.after] / t[args.before])
            print(f"round {r + 1} {workload:>16}: before {t[args.before]:7.3f} s, after "
                  f"{t[args.after]:7.3f} s, ratio {ratios[workload][-1]:.3f}", flush=True)
    print(f"\nload average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'workload':>16} | median after/before | min  | max")
    for workload, values in ratios.items():
        print(f"{workload:>16} | {np.median(values):19.3f} | {min(values):.3f} | "
              f"{max(values):.3f}")


if __name__ == "__main__":
    main()
