"""One epoch of a convolutional autoencoder on MNIST: skae against PyTorch.

The network (issue 36): conv(16, 3x3, same) + ReLU + max pool 2, conv(32, 3x3,
same) + ReLU + max pool 2, dense code of 32, then the mirror: dense back to
32 x 7 x 7 + ReLU, nearest upsampling 2, transposed conv(16, 3x3) + ReLU,
upsampling 2, transposed conv(1, 3x3); sigmoid output with binary
cross-entropy summed over pixels, Adam, float32, MNIST /255. Measured side by
side in one run with the same number of threads:

- skae's ConvAutoencoder: one ``partial_fit`` pass (after a warm-up pass);
- the same network in PyTorch on the CPU (oneDNN), when torch is importable
  (never a dependency of skae; ``pip install torch==2.13.0``);

each in a process of its own, the two taking turns ``--repeats`` times, and
each one's fastest epoch reported (the host's speed drifts within minutes).
In one process the two would share an OpenMP runtime: imported first, torch
brings its own libgomp, which skae's kernels then bind to, and after
``torch.set_num_threads`` skae's epoch measured 30% slower (4.9 s against
3.7 s on 20,000 rows at batch 128);
- the GEMM floor: NumPy's float32 time for the epoch's own products (each
  convolution's forward, weight-gradient and input-gradient GEMM over a
  minibatch of im2col matrices, and the dense layers'), the arithmetic skae
  cannot avoid. At these thin shapes NumPy's single large GEMMs run far below
  the machine's rate, so a second floor divides the epoch's multiply-adds by
  the rate of a large square float32 GEMM (2048^3) measured in the same run:
  the time the arithmetic alone would take at the machine's best.

With ``--epochs N`` both libraries also train N epochs from the same kind of
start and their test reconstruction errors (mean cross-entropy per image on
MNIST's 10,000 test rows) are printed, beside a dense AutoencoderTransformer
with the same code size trained for the same wall time as skae's network.

Usage: python benchmarks/bench_conv.py [--threads 2] [--batch-sizes 32 128]
       [--rows 60000] [--repeats 2] [--epochs 0] [--data ../shared/data/mnist.npz]
"""

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from timing import best_seconds, gemm_rate

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
FILTERS = (16, 32)
CODE = 32


def load_mnist(path, rows):
    with np.load(path) as data:
        X = data["X_train"][:rows].astype(np.float32) / 255.0
        X_test = data["X_test"].astype(np.float32) / 255.0
    return X, X_test


def skae_model(batch_size, **params):
    from skae import ConvAutoencoder
    return ConvAutoencoder(
        n_components=CODE, input_shape=(1, 28, 28), filters=FILTERS, kernel_size=3,
        pooling="max", loss="binary_crossentropy", alpha=0.0, batch_size=batch_size,
        random_state=0, **params)


def torch_model():
    import torch
    from torch import nn
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, CODE),
        nn.Linear(CODE, 32 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (32, 7, 7)),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.ConvTranspose2d(32, 16, 3, padding=1), nn.ReLU(),
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.ConvTranspose2d(16, 1, 3, padding=1),
    )


def torch_epoch(model, optimizer, X, batch_size, generator):
    import torch
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
    order = torch.randperm(X.shape[0], generator=generator)
    for start in range(0, X.shape[0], batch_size):
        xb = X[order[start:start + batch_size]]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), xb) / xb.shape[0]
        loss.backward()
        optimizer.step()


def torch_test_loss(model, X):
    import torch
    with torch.inference_mode():
        logits = torch.cat([model(X[i:i + 1000]) for i in range(0, X.shape[0], 1000)])
        return float(torch.nn.functional.binary_cross_entropy_with_logits(
            logits, X, reduction="sum") / X.shape[0])


def epoch_flops(n_rows):
    """Floating-point operations of one epoch's products: per convolution the
    forward, the filter gradient and (but for the first) the input gradient,
    each 2 * C_out * C_in * 9 * positions a row; per dense layer three
    products of 2 * n_in * n_out a row."""
    convs = [(1, 16, 28, False), (16, 32, 14, True), (32, 16, 14, True),
             (16, 1, 28, True)]
    per_row = sum((3 if input_grad else 2) * 2 * c_in * c_out * 9 * side * side
                  for c_in, c_out, side, input_grad in convs)
    per_row += 2 * 3 * 2 * 32 * 7 * 7 * CODE
    return per_row * n_rows


def gemm_floor(n_rows, batch_size, repeats=3):
    """Seconds of NumPy float32 GEMMs for one epoch's products."""
    rng = np.random.default_rng(0)
    # (channels in, channels out, map side) of each convolution, encoder then
    # decoder; the first has no input gradient.
    convs = [(1, 16, 28, False), (16, 32, 14, True), (32, 16, 14, True), (16, 1, 28, True)]
    total = 0.0
    b = batch_size
    for c_in, c_out, side, input_grad in convs:
        # A minibatch's products as single large GEMMs of the same flops: the
        # rate no split into rows can beat.
        k, n = c_in * 9, side * side * b
        W = rng.random((c_out, k), dtype=np.float32)
        cols = rng.random((k, n), dtype=np.float32)
        d = rng.random((c_out, n), dtype=np.float32)
        out, grad, delta = (np.empty((c_out, n), np.float32), np.empty((c_out, k), np.float32),
                            np.empty((k, n), np.float32))
        products = [lambda: np.matmul(W, cols, out=out),
                    lambda: np.matmul(d, cols.T, out=grad)]
        if input_grad:
            products.append(lambda: np.matmul(W.T, d, out=delta))
        total += sum(best_seconds(product, repeats) for product in products)
    for n_in, n_out in [(32 * 7 * 7, CODE), (CODE, 32 * 7 * 7)]:
        A = rng.random((b, n_in), dtype=np.float32)
        W = rng.random((n_in, n_out), dtype=np.float32)
        D = rng.random((b, n_out), dtype=np.float32)
        for product in (lambda: A @ W, lambda: A.T @ D, lambda: D @ W.T):
            product()
            start = time.perf_counter()
            for _ in range(repeats):
                product()
            total += (time.perf_counter() - start) / repeats
    return total * n_rows / batch_size


def time_epoch(library, batch, args):
    """Seconds of one epoch of `library` at `batch`, after a warm-up pass on
    2,000 rows (run in a process of its own, see the module's docstring)."""
    X, _ = load_mnist(args.data, args.rows)
    with threadpool_limits(args.threads):
        if library == "skae":
            model = skae_model(batch).partial_fit(X[:2000])
            start = time.perf_counter()
            model.partial_fit(X)
            return time.perf_counter() - start
        import torch
        torch.set_num_threads(args.threads)
        X_torch = torch.from_numpy(X).reshape(-1, 1, 28, 28)
        net = torch_model()
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        generator = torch.Generator().manual_seed(0)
        torch_epoch(net, optimizer, X_torch[:2000], batch, generator)
        start = time.perf_counter()
        torch_epoch(net, optimizer, X_torch, batch, generator)
        return time.perf_counter() - start


def epoch_in_process(library, batch, args):
    command = [sys.executable, __file__, "--worker", library, "--batch-sizes", str(batch),
               "--threads", str(args.threads), "--rows", str(args.rows), "--data",
               str(args.data)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(result.stdout.split()[-1])


def torch_importable():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--worker", choices=["skae", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.worker:
        print(time_epoch(args.worker, args.batch_sizes[0], args))
        return
    has_torch = torch_importable()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, {args.threads} threads,"
          f" {args.rows} rows, each library's best of {args.repeats} epochs, in turns")
    if not has_torch:
        print("torch is not importable: skae and the floor only")
    with threadpool_limits(args.threads):
        rate = gemm_rate()
    peak_floor = epoch_flops(args.rows) / rate
    print(f"the epoch's products: {epoch_flops(args.rows) / 1e9:.1f} GFLOP; large float32 "
          f"GEMM {rate / 1e9:.1f} GFLOP/s, so {peak_floor:.2f} s at that rate")
    print("batch   skae s  torch s  floor s  skae/torch  skae/floor  skae/peak")
    for batch in args.batch_sizes:
        skae_s = torch_s = np.inf
        for _ in range(args.repeats):
            skae_s = min(skae_s, epoch_in_process("skae", batch, args))
            if has_torch:
                torch_s = min(torch_s, epoch_in_process("torch", batch, args))
        with threadpool_limits(args.threads):
            floor = gemm_floor(args.rows, batch)
        torch_s = torch_s if has_torch else np.nan
        print(f"{batch:5d}  {skae_s:7.2f}  {torch_s:7.2f}  {floor:7.2f}  "
              f"{skae_s / torch_s:10.2f}  {skae_s / floor:10.2f}  "
              f"{skae_s / peak_floor:9.2f}")
    if args.epochs:
        X, X_test = load_mnist(args.data, args.rows)
        with threadpool_limits(args.threads):
            compare_quality(X, X_test, args.epochs, has_torch)


def compare_quality(X, X_test, epochs, has_torch):
    """Test cross-entropy after `epochs` epochs at batch 128: skae's network,
    a dense AutoencoderTransformer trained for the same wall time, then
    PyTorch's network (imported last, so that skae runs on its own OpenMP
    runtime)."""
    from skae import AutoencoderTransformer
    batch = 128
    start = time.perf_counter()
    model = skae_model(batch, max_iter=epochs, early_stopping=False).fit(X)
    seconds = time.perf_counter() - start
    print(f"\n{epochs} epochs at batch {batch}: test cross-entropy per image")
    print(f"skae ConvAutoencoder   {-model.score(X_test):8.2f}   ({seconds:.0f} s)")
    dense = AutoencoderTransformer(n_components=CODE, loss="binary_crossentropy",
                                   batch_size=batch, early_stopping=False, max_iter=1,
                                   random_state=0, warm_start=True)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        dense.partial_fit(X) if n else dense.fit(X)
        n += 1
    print(f"dense AE, same time    {-dense.score(X_test):8.2f}   ({n} epochs)")
    if has_torch:
        import torch
        net = torch_model()
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        generator = torch.Generator().manual_seed(0)
        X_torch = torch.from_numpy(X).reshape(-1, 1, 28, 28)
        start = time.perf_counter()
        for _ in range(epochs):
            torch_epoch(net, optimizer, X_torch, batch, generator)
        torch_s = time.perf_counter() - start
        loss = torch_test_loss(net, torch.from_numpy(X_test).reshape(-1, 1, 28, 28))
        print(f"PyTorch                {loss:8.2f}   ({torch_s:.0f} s)")


if __name__ == "__main__":
    main()
