"""One epoch of a 784-256-784 sigmoid autoencoder on MNIST: skae vs its peers.

The model: sigmoid hidden layer of 256 units, identity output, squared error,
Adam, float32, the 60,000 MNIST training rows scaled to [0, 1]. Measured side by
side in one run, each with the same number of threads:

- skae's AutoencoderTransformer (one ``partial_fit`` pass, after a warm-up);
- scikit-learn's ``MLPRegressor(hidden_layer_sizes=(256,), activation="logistic",
  solver="adam", max_iter=1)`` fit on (X, X) (batch 128 only: it is the slow one);
- the same model in PyTorch on the CPU, when torch is importable (never a
  dependency of skae: ``pip install torch==2.13.0`` gives the CPU build).

81% of MNIST's pixels are zero, so skae's first layer skips them (see
skae/_kernels/_nonzeros.pxd); skae is also timed with that switched off
(``no-skip``), which is what any dense input would cost. It also prints the
machine's float32 GEMM rate for the model's shapes and skae's achieved rate in
dense-equivalent GFLOP/s (the five GEMMs' flops over the epoch time, zeros
included), and measures the resident memory that ``fit`` adds on top of the
loaded input, in a fresh subprocess.

``--deep`` times instead one fine-tuning epoch of the deep autoencoder
784-1000-500-250-30 and its mirror (sigmoid, linear code and output, Adam,
batch 128), untied and tied, against the same network in PyTorch (issue 37's
target: <= 0.6x).

Usage: python benchmarks/bench_autoencoder.py [--threads 2] [--repeats 5] [--deep]
       [--data ../shared/data/mnist.npz]
"""

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

N_HIDDEN = 256
BATCH_SIZES = (32, 128, 512)
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


def load_mnist(path):
    with np.load(path) as data:
        X = data["X_train"].astype(np.float32)
    X /= 255.0
    return X


def epoch_flops(n_samples, n_features, n_hidden):
    """Five GEMMs per minibatch: two forward, two weight gradients, one delta."""
    return 5 * 2 * n_samples * n_features * n_hidden


def gemm_rate(n_features, n_hidden, batch, repeats=50):
    """float32 GFLOP/s of the model's forward products at this batch size."""
    rng = np.random.default_rng(0)
    A = rng.random((batch, n_features), dtype=np.float32)
    W = rng.random((n_features, n_hidden), dtype=np.float32)
    H = rng.random((batch, n_hidden), dtype=np.float32)
    A @ W
    start = time.perf_counter()
    for _ in range(repeats):
        A @ W
        H @ W.T
    elapsed = time.perf_counter() - start
    return 2 * 2 * batch * n_features * n_hidden * repeats / elapsed / 1e9


# Each peer is set up by an *_epochs function, which returns a function that
# trains one epoch (one fit for MLPRegressor) and returns its time. main() calls
# the peers in turn, round after round, and keeps each one's fastest: the host's
# speed drifts over minutes, and interleaving exposes every peer to the same drift.


def skae_epochs(X, batch_size, skip_zeros=True):
    from skae import AutoencoderTransformer
    from skae._kernels import _network

    # The one-layer sigmoid network PyTorch's row runs, written out in full.
    ae = AutoencoderTransformer(
        N_HIDDEN, hidden_layer_sizes=(), activation="sigmoid", code_activation="sigmoid",
        loss="squared_error", solver="adam", init="random", early_stopping=False,
        batch_size=batch_size, random_state=0,
    )

    def epoch(rows=X):
        default_limit = _network.INPUT_DENSITY_LIMIT
        if not skip_zeros:
            _network.INPUT_DENSITY_LIMIT = 0.0
        try:
            start = time.perf_counter()
            ae.partial_fit(rows)
            elapsed = time.perf_counter() - start
        finally:
            _network.INPUT_DENSITY_LIMIT = default_limit
        assert np.isfinite(ae.loss_curve_[-1])
        return elapsed

    epoch(X[:2000])  # warm-up: initialisation, first calls
    return epoch


def mlp_epochs(X, batch_size):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    def epoch():
        mlp = MLPRegressor(
            hidden_layer_sizes=(N_HIDDEN,), activation="logistic", solver="adam",
            batch_size=batch_size, max_iter=1, random_state=0, shuffle=True,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(X, X)
        return time.perf_counter() - start

    return epoch


def torch_epochs(X, batch_size, threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    n_features = X.shape[1]
    model = torch.nn.Sequential(
        torch.nn.Linear(n_features, N_HIDDEN), torch.nn.Sigmoid(),
        torch.nn.Linear(N_HIDDEN, n_features),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt = torch.from_numpy(X)

    def epoch(n_rows=X.shape[0]):
        start = time.perf_counter()
        order = torch.randperm(n_rows)
        for first in range(0, n_rows, batch_size):
            batch = Xt[order[first : first + batch_size]]
            opt.zero_grad(set_to_none=True)
            loss = ((model(batch) - batch) ** 2).sum(dim=1).mean()
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    epoch(2000)  # warm-up
    return epoch


DEEP = (1000, 500, 250)
DEEP_CODE = 30


def deep_skae_epochs(X, tied):
    """One fine-tuning epoch of the deep autoencoder 784-1000-500-250-30 and its
    mirror (Hinton and Salakhutdinov, 2006), sigmoid hidden layers, linear code
    and output, squared error, Adam, batch 128."""
    from skae import AutoencoderTransformer

    ae = AutoencoderTransformer(
        DEEP_CODE, hidden_layer_sizes=DEEP, activation="sigmoid",
        code_activation="identity", tied_weights=tied, loss="squared_error",
        solver="adam", init="random", early_stopping=False, batch_size=128,
        random_state=0,
    )

    def epoch(rows=X):
        start = time.perf_counter()
        ae.partial_fit(rows)
        elapsed = time.perf_counter() - start
        assert np.isfinite(ae.loss_curve_[-1])
        return elapsed

    epoch(X[:2000])
    return epoch


def deep_torch_epochs(X, tied, threads):
    """The same network in PyTorch; tied: each decoder layer uses its mirror's
    weight matrix transposed, with biases of its own."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    sizes = (X.shape[1], *DEEP, DEEP_CODE)

    class Deep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = torch.nn.ModuleList(
                torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
            if tied:
                self.dec_bias = torch.nn.ParameterList(
                    torch.nn.Parameter(torch.zeros(a)) for a in reversed(sizes[:-1]))
            else:
                self.dec = torch.nn.ModuleList(
                    torch.nn.Linear(b, a) for a, b in zip(reversed(sizes[:-1]),
                                                          reversed(sizes[1:])))

        def forward(self, x):
            for k, layer in enumerate(self.enc):
                x = layer(x)
                x = torch.sigmoid(x) if k < len(self.enc) - 1 else x
            n = len(self.enc)
            for k in range(n):
                if tied:
                    x = torch.nn.functional.linear(x, self.enc[n - 1 - k].weight.t(),
                                                   self.dec_bias[k])
                else:
                    x = self.dec[k](x)
                x = torch.sigmoid(x) if k < n - 1 else x
            return x

    model = Deep()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt = torch.from_numpy(X)

    def epoch(n_rows=X.shape[0]):
        start = time.perf_counter()
        order = torch.randperm(n_rows)
        for first in range(0, n_rows, 128):
            batch = Xt[order[first : first + 128]]
            opt.zero_grad(set_to_none=True)
            loss = ((model(batch) - batch) ** 2).sum(dim=1).mean()
            loss.backward()
            opt.step()
        return time.perf_counter() - start

    epoch(2000)
    return epoch


def deep_rows(X, threads, repeats):
    """The deep row of issue 37: skae against PyTorch, untied and tied, batch
    128, each peer's best of ``repeats`` epochs, peers taking turns."""
    print(f"\ndeep autoencoder 784-{'-'.join(map(str, (*DEEP, DEEP_CODE)))} and mirror, "
          "sigmoid, squared error, Adam, batch 128")
    print("weights | skae s | torch s | skae/torch")
    with threadpool_limits(threads):
        for tied in (False, True):
            peers = {"skae": deep_skae_epochs(X, tied),
                     "torch": deep_torch_epochs(X, tied, threads)}
            best = {}
            for _ in range(repeats):
                for name, epoch in peers.items():
                    if epoch is not None:
                        best[name] = min(best.get(name, np.inf), epoch())
            torch_s = best.get("torch")
            print(f"{'tied' if tied else 'untied':>7} | {best['skae']:6.2f} | "
                  + ("      - |          -" if torch_s is None else
                     f"{torch_s:7.2f} | {best['skae'] / torch_s:10.2f}"), flush=True)


MEMORY_PROBE = r"""
import json, sys, warnings
import numpy as np
from skae import AutoencoderTransformer

def rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])

with np.load(sys.argv[1]) as data:
    X = data["X_train"].astype(np.float32)
X /= 255.0
ONE_LAYER = dict(hidden_layer_sizes=(), activation="sigmoid", code_activation="sigmoid",
                 init="random", early_stopping=False)
ae = AutoencoderTransformer(256, batch_size=128, max_iter=1, random_state=0, **ONE_LAYER)
ae.partial_fit(X[:10])          # load the kernels and the BLAS before measuring
del ae
before = rss_kb("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                 # reset the peak (VmHWM) to the current RSS
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    AutoencoderTransformer(256, batch_size=128, max_iter=2, random_state=0,
                           **ONE_LAYER).fit(X)
print(json.dumps({"before_mb": before / 1024, "peak_mb": rss_kb("VmHWM:") / 1024,
                  "input_mb": X.nbytes / 2**20}))
"""


def measure_memory(data_path):
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(data_path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-mlp", action="store_true", help="skip MLPRegressor")
    parser.add_argument("--deep", action="store_true",
                        help="only the deep autoencoder's row (issue 37)")
    args = parser.parse_args()

    X = load_mnist(args.data)
    if args.deep:
        deep_rows(X, args.threads, args.repeats)
        return
    n_samples, n_features = X.shape
    flops = epoch_flops(n_samples, n_features, N_HIDDEN)
    print(f"MNIST {n_samples} x {n_features} float32 ({(X != 0).mean():.1%} nonzero); "
          f"784-{N_HIDDEN}-784 sigmoid AE, squared error, Adam; {args.threads} threads; "
          f"{os.cpu_count()} cores; each peer's best of {args.repeats} epochs (MLPRegressor: "
          f"fits of max_iter=1), the peers taking turns")

    rows = []
    with threadpool_limits(args.threads):
        for batch_size in BATCH_SIZES:
            peers = {
                "skae": skae_epochs(X, batch_size),
                "no-skip": skae_epochs(X, batch_size, skip_zeros=False),
                "torch": torch_epochs(X, batch_size, args.threads),
                "mlp": (mlp_epochs(X, batch_size)
                        if batch_size == 128 and not args.no_mlp else None),
            }
            best = {name: None for name in peers}
            for _ in range(args.repeats):
                for name, epoch in peers.items():
                    if epoch is not None:
                        t = epoch()
                        best[name] = t if best[name] is None else min(best[name], t)
            rows.append((batch_size, best["skae"], best["no-skip"], best["torch"],
                         best["mlp"], gemm_rate(n_features, N_HIDDEN, batch_size)))

    def fmt(t):
        return "      -" if t is None else f"{t:7.3f}"

    def ratio(a, b):
        return "    -" if b is None else f"{a / b:5.2f}"

    print()
    print("batch | skae s | no-skip s | torch s | MLPReg s | skae/torch | skae/MLP | "
          "no-skip/torch | no-skip/MLP | GEMM GFLOP/s | skae GFLOP/s | no-skip GFLOP/s")
    for batch_size, skae_t, dense_t, torch_t, mlp_t, rate in rows:
        print(f"{batch_size:5d} | {skae_t:6.3f} | {dense_t:9.3f} | {fmt(torch_t)} | "
              f"{fmt(mlp_t):>8} | {ratio(skae_t, torch_t):>10} | {ratio(skae_t, mlp_t):>8} | "
              f"{ratio(dense_t, torch_t):>13} | {ratio(dense_t, mlp_t):>11} | "
              f"{rate:12.1f} | {flops / skae_t / 1e9:12.1f} | {flops / dense_t / 1e9:15.1f}")
    targets = {32: 0.5, 128: 0.75, 512: 1.0}
    print()
    for batch_size, skae_t, _, torch_t, mlp_t, _ in rows:
        if torch_t is not None:
            ok = skae_t / torch_t <= targets[batch_size]
            print(f"target skae/torch <= {targets[batch_size]:.2f} at batch {batch_size}: "
                  f"{'met' if ok else 'NOT met'} ({skae_t / torch_t:.2f})")
        if mlp_t is not None:
            ok = skae_t / mlp_t <= 0.4
            print(f"target skae/MLPRegressor <= 0.40 at batch 128: "
                  f"{'met' if ok else 'NOT met'} ({skae_t / mlp_t:.2f})")

    mem = measure_memory(args.data)
    added = mem["peak_mb"] - mem["before_mb"]
    print()
    print(f"memory: input {mem['input_mb']:.0f} MB; fit adds {added:.1f} MB of resident "
          f"memory at its peak (target < 150 MB): {'met' if added < 150 else 'NOT met'}")


if __name__ == "__main__":
    main()
