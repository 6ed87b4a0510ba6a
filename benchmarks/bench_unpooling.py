"""Which unpooling for ConvAutoencoder's decoder: the evidence behind the default.

Issue 36 offers two ways to undo a max pooling in the decoder: nearest
upsampling (each pooled value repeated over its window; what skae does) or
max-unpooling (each value put back where the encoder's maximum was, zeros
elsewhere: the "switches" the encoder records). This script trains the network
of ``bench_conv.py`` both ways, in PyTorch (``MaxUnpool2d`` takes the
switches), and prints each one's test reconstruction error (binary
cross-entropy per image, MNIST /255), and for the max-unpooling decoder, the
error when the code of one image is decoded with the switches of another, and
the other way around.

Max-unpooling needs the switches of the image being decoded: they are not in
the code. A decoder that uses them reconstructs from the code *and* the
switches (two 14 x 14 and 7 x 7 maps of positions per image, more numbers than
a code of 32), so its error measures the pair, not the code; and
``inverse_transform`` of a code alone, or of a code from elsewhere (a
generative use, a nearest-neighbour search result), has no switches to use.

torch is not a dependency of skae: ``pip install torch==2.13.0``.

Usage: python benchmarks/bench_unpooling.py [--rows 10000] [--epochs 5]
       [--threads 2] [--data ../shared/data/mnist.npz]
"""

import argparse
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
CODE = 32


def build(torch, unpool):
    """The encoder and decoder of bench_conv.py's network; ``unpool`` picks
    max-unpooling by the encoder's switches over nearest upsampling."""
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3,
                                                                               padding=1)
            self.pool = nn.MaxPool2d(2, return_indices=True)
            self.code, self.back = nn.Linear(32 * 7 * 7, CODE), nn.Linear(CODE, 32 * 7 * 7)
            self.deconv2 = nn.ConvTranspose2d(32, 16, 3, padding=1)
            self.deconv1 = nn.ConvTranspose2d(16, 1, 3, padding=1)
            self.unpool = nn.MaxUnpool2d(2) if unpool else None
            self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

        def encode(self, x):
            h, s1 = self.pool(torch.relu(self.conv1(x)))
            h, s2 = self.pool(torch.relu(self.conv2(h)))
            return self.code(h.flatten(1)), (s1, s2)

        def decode(self, z, switches):
            h = torch.relu(self.back(z)).unflatten(1, (32, 7, 7))
            s1, s2 = switches
            h = self.unpool(h, s2) if self.unpool else self.upsample(h)
            h = torch.relu(self.deconv2(h))
            h = self.unpool(h, s1) if self.unpool else self.upsample(h)
            return self.deconv1(h)

        def forward(self, x):
            z, switches = self.encode(x)
            return self.decode(z, switches)

    torch.manual_seed(0)
    return Net()


def train(torch, model, X, epochs, batch_size=32):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss(reduction="sum")
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=generator).split(batch_size):
            optimizer.zero_grad()
            batch = X[idx]
            loss = loss_fn(model(batch), batch) / len(idx)
            loss.backward()
            optimizer.step()


def cross_entropy(torch, logits, X):
    return float(torch.nn.functional.binary_cross_entropy_with_logits(
        logits, X, reduction="sum")) / len(X)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    with np.load(args.data) as data:
        X = torch.from_numpy(data["X_train"][:args.rows].astype(np.float32) / 255)
        X_test = torch.from_numpy(data["X_test"].astype(np.float32) / 255)
    X, X_test = X.reshape(-1, 1, 28, 28), X_test.reshape(-1, 1, 28, 28)
    print(f"MNIST: {args.rows} training rows, {len(X_test)} test rows, {args.epochs} "
          f"epochs, batch 32, Adam, {args.threads} threads; test cross-entropy per image")
    for unpool in (False, True):
        model = build(torch, unpool)
        start = time.perf_counter()
        train(torch, model, X, args.epochs)
        elapsed = time.perf_counter() - start
        with torch.no_grad():
            z, switches = model.encode(X_test)
            own = cross_entropy(torch, model.decode(z, switches), X_test)
            name = "max-unpooling (switches)" if unpool else "nearest upsampling"
            print(f"{name:>26}: {own:7.2f}  ({elapsed:.0f} s)")
            if not unpool:
                # The reference for what a code of another image gives.
                print(f"{'code of another':>26}: "
                      f"{cross_entropy(torch, model.decode(z.roll(1, 0), switches), X_test):7.2f}")
            else:
                # Each test image's code with the next image's switches, and
                # the next image's code with each image's own switches.
                other = tuple(s.roll(1, 0) for s in switches)
                print(f"{'code, switches of another':>26}: "
                      f"{cross_entropy(torch, model.decode(z, other), X_test):7.2f}")
                print(f"{'switches, code of another':>26}: "
                      f"{cross_entropy(torch, model.decode(z.roll(1, 0), switches), X_test):7.2f}")


if __name__ == "__main__":
    main()
