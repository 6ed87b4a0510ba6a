"""Transform throughput: skae against onnxruntime running skae's exported graph.

A DenoisingAE 784-512-128 (ReLU, untied; fitted on the first 5,000 MNIST
training images for 2 epochs: the weights' values do not change the time),
float32; rows per second of ``transform`` at batch 1 and batch 1,000, skae's
kernel against onnxruntime's CPU provider on the graph ``skae.onnx`` exports,
both on the same threads (--threads, default all cores). Each figure is the
best of --repeats timings of a loop of calls.

Usage: python benchmarks/bench_onnx.py [--threads N] [--repeats 5]
       [--data ../shared/data/mnist.npz]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
from skl2onnx import to_onnx
from threadpoolctl import threadpool_limits

import skae.onnx  # noqa: F401  (registers the converters)
from bench_inference import best_rate
from skae import DenoisingAE

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    X = (np.load(args.data)["X_train"][:5000] / 255).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae = DenoisingAE(n_components=128, hidden_layer_sizes=(512,), activation="relu",
                         code_activation="relu", max_iter=2, random_state=0).fit(X)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(to_onnx(ae, X[:1]).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    print(f"cores: {os.cpu_count()}, threads: {args.threads}, load average: "
          f"{os.getloadavg()[0]:.2f}; DenoisingAE 784-512-128 relu, float32")
    print(f"{'batch':>6}{'skae rows/s':>14}{'onnxruntime rows/s':>20}{'skae / ort':>12}")
    with threadpool_limits(args.threads):
        for batch in (1, 1000):
            rows = X[:batch]
            ours = best_rate(lambda rows=rows: ae.transform(rows), batch, args.repeats)
            theirs = best_rate(lambda rows=rows: session.run(None, {name: rows}), batch,
                               args.repeats)
            print(f"{batch:>6}{ours:>14,.0f}{theirs:>20,.0f}{ours / theirs:>12.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
