"""Inference: ``transform`` against onnxruntime, PCA and PyTorch, from one row to 10,000.

Two fitted encoders (issue 37; the weights' values do not change the time, so
each is fitted briefly on MNIST rows scaled to [0, 1], float32):

- ``784-256``: AutoencoderTransformer with one sigmoid code layer of 256 units
  (bench_autoencoder.py's network);
- ``784-1000-500-250-30``: StackedAE of Hinton and Salakhutdinov's deep
  autoencoder, sigmoid hidden layers and a linear code (one epoch of
  pretraining and of fine-tuning).

For each, rows per second of ``transform`` at batches of 1, 10, 100, 1,000 and
10,000 rows; beside it onnxruntime's CPU provider running the graph
``skae.onnx`` exports, ``PCA(n_components).transform`` of the same width
(fitted on the same rows) and the same layers in PyTorch under
``torch.inference_mode()`` when torch is importable (never a dependency of
skae). Everything runs on ``--threads`` threads. Each figure is the best of
``--repeats`` loops of calls of at least half a second each.

Targets (issue 37): skae at least onnxruntime's rate at 1,000 and 10,000 rows,
at least 0.5x onnxruntime at one row, one row within 1.3x of PCA's time.

Usage: python benchmarks/bench_inference.py [--threads 2] [--repeats 5]
       [--data ../shared/data/mnist.npz]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from skae import AutoencoderTransformer, StackedAE

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
BATCHES = (1, 10, 100, 1000, 10000)


def best_rate(call, n_rows, repeats, min_seconds=0.5):
    """Rows per second of call(), the best of repeats loops of >= min_seconds."""
    call()
    best = 0.0
    for _ in range(repeats):
        loops, start = 0, time.perf_counter()
        while True:
            call()
            loops += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = max(best, loops * n_rows / elapsed)
    return best


def models(X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shallow = AutoencoderTransformer(
            256, hidden_layer_sizes=(), activation="sigmoid", code_activation="sigmoid",
            init="random", max_iter=1, random_state=0).fit(X[:5000])
        deep = StackedAE(
            30, hidden_layer_sizes=(1000, 500, 250), activation="sigmoid",
            code_activation="identity", pretrain_params={"max_iter": 1}, max_iter=1,
            random_state=0).fit(X[:5000])
    return {"784-256": (shallow, ["sigmoid"]),
            "784-1000-500-250-30": (deep, ["sigmoid", "sigmoid", "sigmoid", "identity"])}


def onnx_session(model, X, threads):
    try:
        import onnxruntime as ort
        from skl2onnx import to_onnx

        import skae.onnx  # noqa: F401  (registers the converters)
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(to_onnx(model, X[:1]).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda rows: session.run(None, {name: rows})


def torch_encoder(model, activations, threads):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    layers = []
    for W, b, act in zip(model.coefs_, model.intercepts_, activations):
        linear = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            linear.bias.copy_(torch.from_numpy(np.asarray(b)))
        layers += [linear] + ([torch.nn.Sigmoid()] if act == "sigmoid" else [])
    net = torch.nn.Sequential(*layers).eval()

    def run(rows):
        with torch.inference_mode():
            return net(torch.from_numpy(rows)).numpy()
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    with np.load(args.data) as data:
        X = (data["X_train"][:10000] / 255).astype(np.float32)
    print(f"cores: {os.cpu_count()}, threads: {args.threads}, load average: "
          f"{os.getloadavg()[0]:.2f}; MNIST rows, float32; rows per second, best of "
          f"{args.repeats}")
    for name, (model, activations) in models(X).items():
        width = model.transform(X[:1]).shape[1]
        assert len(activations) == model._code_layer + 1
        peers = {"onnxruntime": onnx_session(model, X, args.threads),
                 "PCA": PCA(width, random_state=0).fit(X[:5000]).transform,
                 "torch": torch_encoder(model, activations, args.threads)}
        peers = {k: v for k, v in peers.items() if v is not None}
        if "torch" in peers:
            np.testing.assert_allclose(peers["torch"](X[:100]), model.transform(X[:100]),
                                       rtol=1e-4, atol=1e-4)
        print(f"\n{name} encoder")
        print("| batch | skae rows/s | " + " | ".join(f"{p} rows/s" for p in peers)
              + " | " + " | ".join(f"skae/{p}" for p in peers) + " |")
        print("| ---: " * (2 + 2 * len(peers)) + "|")
        with threadpool_limits(args.threads):
            for batch in BATCHES:
                rows = X[:batch]
                ours = best_rate(lambda: model.transform(rows), batch, args.repeats)
                theirs = {p: best_rate(lambda call=call: call(rows), batch, args.repeats)
                          for p, call in peers.items()}
                print(f"| {batch} | {ours:,.0f} | "
                      + " | ".join(f"{r:,.0f}" for r in theirs.values()) + " | "
                      + " | ".join(f"{ours / r:.2f}" for r in theirs.values()) + " |",
                      flush=True)


if __name__ == "__main__":
    main()
