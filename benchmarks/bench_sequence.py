"""Epoch time of SequenceAutoencoder against a PyTorch GRU autoencoder of the
same shape, in one run.

The network of issue 38: one GRU layer of 64 units, a code of 16, the code
repeated at every step, one GRU layer of 64 units decoding, each step's state
mapped to the channels (skae: a 1 x 1 convolution; PyTorch: a Linear), Adam,
squared error, one time point a step (``patch_length=1``: the default cuts
ArrowHead into 16 steps of 16 points, which is another network than PyTorch's
below). Data: BasicMotions (6 channels, 100 steps) and ArrowHead (1
channel, 251 steps), train and test merged, float32, batch 16 and 64. Each
figure is the median of ``--epochs`` timed epochs after one untimed epoch
(skae: ``partial_fit``, one epoch each; PyTorch: one pass over shuffled
minibatches with ``torch.set_num_threads`` at the machine's cores).

The floor column is the epoch's matrix products (forward, backward through
time and the weight gradients of both GRU layers, the code layer and the
output layer; 2 flops a multiply-add) at NumPy's float32 GEMM rate on this
machine (a 2048 x 2048 product, all cores): the time an epoch would take if
every product ran at the rate of a large square one, which these thin
products cannot.

``--decoder autoregressive`` times the decoder fed its previous value instead,
true on half the steps (``teacher_forcing=0.5``, drawn per series and step),
its own output on the others: skae's feedback layer, and in PyTorch a
``GRUCell`` stepped in Python (the way such a decoder is written there: each
step's input needs the step before's output), fed outputs detached.

Usage: python benchmarks/bench_sequence.py [--epochs 5] [--decoder repeat]
       [--data ../shared/data/timeseries]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

from skae import SequenceAutoencoder
from timing import gemm_rate

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "timeseries"
HIDDEN, CODE = 64, 16


def epoch_flops(n_rows, channels, steps, decoder="repeat"):
    """Multiply-adds x 2 of one epoch's products: per row, each GRU layer's
    input projection, step products, their backward and weight gradients
    (3 gates: 3H rows), the code layer and the 1 x 1 output layer. An
    autoregressive decoder reads the channels beside the code, and runs its
    forward products twice (step by step for the fed values, then layer by
    layer for the pass)."""
    gates = 3 * HIDDEN

    def gru(inputs):
        forward = steps * gates * (inputs + HIDDEN)          # projection + steps
        backward = steps * gates * HIDDEN                    # the state's delta
        weights = steps * gates * (inputs + HIDDEN)          # dW, dR
        delta_below = steps * gates * inputs                 # W.T dG
        return forward + backward + weights + delta_below

    code = 3 * HIDDEN * CODE                                 # forward, dW, delta
    output = 3 * steps * HIDDEN * channels
    if decoder == "repeat":
        return 2 * n_rows * (gru(channels) + gru(CODE) + code + output)
    inputs = CODE + channels
    stepped = steps * gates * (inputs + HIDDEN) + steps * HIDDEN * channels
    return 2 * n_rows * (gru(channels) + gru(inputs) + code + output + stepped)


def load(folder, name):
    with np.load(folder / f"{name}.npz") as data:
        X = np.concatenate([data["X_train"], data["X_test"]]).astype(np.float32)
    return np.nan_to_num(X)


TEACHER_FORCING = 0.5


def skae_epochs(X, batch, epochs, decoder):
    ae = SequenceAutoencoder(n_components=CODE, hidden_layer_sizes=(HIDDEN,),
                             patch_length=1, batch_size=batch, decoder=decoder,
                             teacher_forcing=TEACHER_FORCING, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae.partial_fit(X)
        times = []
        for _ in range(epochs):
            start = time.perf_counter()
            ae.partial_fit(X)
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def torch_epochs(X, batch, epochs, decoder):
    import torch
    from torch import nn

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    channels, steps = X.shape[1], X.shape[2]

    class GRUAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.GRU(channels, HIDDEN, batch_first=True)
            self.code = nn.Linear(HIDDEN, CODE)
            self.decoder = nn.GRU(CODE, HIDDEN, batch_first=True)
            self.output = nn.Linear(HIDDEN, channels)

        def forward(self, x):                      # x: (batch, steps, channels)
            _, h = self.encoder(x)
            z = self.code(h[-1])
            states, _ = self.decoder(z[:, None, :].expand(-1, steps, -1))
            return self.output(states)

    class AutoregressiveGRUAutoencoder(GRUAutoencoder):
        def __init__(self):
            super().__init__()
            self.decoder = nn.GRUCell(CODE + channels, HIDDEN)

        def forward(self, x):
            _, h = self.encoder(x)
            z = self.code(h[-1])
            state = torch.zeros(len(x), HIDDEN)
            fed = torch.zeros(len(x), channels)
            outputs = []
            for t in range(steps):
                state = self.decoder(torch.cat([z, fed], dim=1), state)
                outputs.append(self.output(state))
                true = torch.rand(len(x), 1) < TEACHER_FORCING
                fed = torch.where(true, x[:, t], outputs[-1].detach())
            return torch.stack(outputs, dim=1)

    model = (AutoregressiveGRUAutoencoder() if decoder == "autoregressive"
             else GRUAutoencoder())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 2, 1)))

    def epoch():
        for rows in torch.randperm(len(data)).split(batch):
            x = data[rows]
            optimizer.zero_grad()
            loss = ((model(x) - x) ** 2).sum(dim=(1, 2)).mean()
            loss.backward()
            optimizer.step()

    epoch()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--decoder", choices=["repeat", "autoregressive"],
                        default="repeat")
    args = parser.parse_args()
    rate = gemm_rate()
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; NumPy float32 GEMM "
          f"{rate / 1e9:.0f} GFLOP/s; {args.decoder} decoder")
    print("| set | rows | batch | skae s/epoch | torch s/epoch | skae/torch | floor s "
          "| skae/floor |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in ("BasicMotions", "ArrowHead"):
        X = load(args.data, name)
        floor = epoch_flops(*X.shape, args.decoder) / rate
        for batch in (16, 64):
            ours = skae_epochs(X, batch, args.epochs, args.decoder)
            theirs = torch_epochs(X, batch, args.epochs, args.decoder)
            print(f"| {name} {X.shape[1]}x{X.shape[2]} | {len(X)} | {batch} | "
                  f"{ours:.4f} | {theirs:.4f} | {ours / theirs:.2f} | {floor:.4f} | "
                  f"{ours / floor:.1f} |", flush=True)


if __name__ == "__main__":
    main()
