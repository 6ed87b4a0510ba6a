"""Fits whose weights are recorded, to prove that a refactoring changes nothing.

Every estimator, each variant of it (noise kinds, sparsity penalties, tied and
untied weights, depth 1 and 2, both solvers, both losses, CD and PCD), on dense
and CSR input in float32 and float64, trained for two epochs with fixed seeds.
``tests/test_golden.py`` refits each case and compares the result with
``golden_fits.npz`` bit for bit.

    python tests/golden_cases.py --record

rewrites the file from the code as it is: do it only for a change that is
meant to change results, and say so in the commit. The record holds the
platform it was made on: BLAS kernels round differently on other CPUs, where
the test compares within a tolerance instead.
"""

import argparse
import json
import platform
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

from skae import (
    AutoencoderTransformer,
    BernoulliRBM,
    ContractiveAE,
    ConvAutoencoder,
    SequenceAutoencoder,
    DenoisingAE,
    GaussianBernoulliRBM,
    SparseAE,
    StackedAE,
    VariationalAE,
)
from classic import classic

RECORD = Path(__file__).with_name("golden_fits.npz")

_AE = {"n_components": 4, "max_iter": 2, "batch_size": 16, "random_state": 0}
_BCE = {"loss": "binary_crossentropy"}
_RBM = {"n_components": 6, "n_iter": 2, "batch_size": 16, "random_state": 0}

# name -> (estimator factory, data kind): "unit" data in [0, 1], "centred"
# data for Gaussian visible units.
MODELS = {
    "ae": (lambda: classic(AutoencoderTransformer, **_AE), "unit"),
    "ae_tied_bce": (lambda: classic(AutoencoderTransformer, tied_weights=True, **_BCE, **_AE),
                    "unit"),
    "ae_deep_sgd": (lambda: classic(AutoencoderTransformer, hidden_layer_sizes=(8,), solver="sgd",
                                                   **_AE), "unit"),
    "ae_deep_tied_relu": (lambda: classic(AutoencoderTransformer, 
        hidden_layer_sizes=(8,), tied_weights=True, activation="relu", alpha=1e-3, **_AE),
        "unit"),
    "denoising_masking": (lambda: classic(DenoisingAE, noise="masking", **_BCE, **_AE), "unit"),
    "denoising_gaussian": (lambda: classic(DenoisingAE, noise="gaussian", noise_level=0.2, **_AE),
                           "unit"),
    "denoising_salt_and_pepper": (lambda: classic(DenoisingAE, 
        noise="salt_and_pepper", tied_weights=True, **_AE), "unit"),
    "sparse_kl": (lambda: classic(SparseAE, sparsity="kl", sparsity_weight=0.5, **_AE), "unit"),
    "sparse_l1_deep": (lambda: classic(SparseAE, sparsity="l1", sparsity_weight=1e-3,
                                        hidden_layer_sizes=(8,), **_AE), "unit"),
    "contractive": (lambda: classic(ContractiveAE, contraction_weight=0.1, **_AE), "unit"),
    "contractive_tied": (lambda: classic(ContractiveAE, contraction_weight=0.1, tied_weights=True,
                                               **_BCE, **_AE), "unit"),
    "stacked_autoencoder": (lambda: classic(StackedAE, 
        hidden_layer_sizes=(8,), pretraining="autoencoder",
        pretrain_params={"max_iter": 2}, **_AE), "unit"),
    "stacked_rbm": (lambda: classic(StackedAE, 
        hidden_layer_sizes=(8,), pretraining="rbm", code_activation="identity",
        pretrain_params={"n_iter": 2}, **_AE), "unit"),
    "stacked_none_bce": (lambda: classic(StackedAE, hidden_layer_sizes=(8,), pretraining=None,
                                           **_BCE, **_AE), "unit"),
    "vae": (lambda: VariationalAE(hidden_layer_sizes=(8,), **_AE), "unit"),
    "vae_tied_gaussian_warmup": (lambda: VariationalAE(
        hidden_layer_sizes=(8,), tied_weights=True, loss="squared_error", kl_warmup=3,
        beta=0.5, **_AE), "unit"),
    "conv_2d": (lambda: ConvAutoencoder(input_shape=(1, 8, 8), filters=(3, 4), **_AE),
                "unit"),
    "conv_1d_dilated_tied_average_bce": (lambda: ConvAutoencoder(
        filters=(2,), dilation=2, pooling="average", tied_weights=True, **_BCE, **_AE),
        "unit"),
    # Two channels of 32 steps; float rows only (it reads no sparse input).
    # patch_length=1: a step a point, as recorded (patches are rows laid out
    # otherwise, checked against such a network in test_sequence.py).
    "sequence_stacked": (lambda: SequenceAutoencoder(
        patch_length=1, input_shape=(2, 32), hidden_layer_sizes=(3, 2), **_AE),
        "unit"),
    "sequence_lstm_huber": (lambda: SequenceAutoencoder(
        patch_length=1, input_shape=(4, 16), cell="lstm", hidden_layer_sizes=(5,),
        loss="huber", **_AE),
        "unit"),
    "sequence_bidirectional": (lambda: SequenceAutoencoder(
        patch_length=1, input_shape=(2, 32), bidirectional=True,
        hidden_layer_sizes=(3, 2), **_AE),
        "unit"),
    "sequence_reversed": (lambda: SequenceAutoencoder(
        patch_length=1, input_shape=(2, 32), decoder_order="reversed",
        hidden_layer_sizes=(3,), **_AE),
        "unit"),
    "sequence_autoregressive": (lambda: SequenceAutoencoder(
        patch_length=1, input_shape=(2, 32), decoder="autoregressive", teacher_forcing=0.5,
        hidden_layer_sizes=(3,), **_AE), "unit"),
    "rbm_cd": (lambda: BernoulliRBM(persistent=False, **_RBM), "unit"),
    "rbm_pcd_k2_momentum": (lambda: BernoulliRBM(k=2, momentum=0.5, weight_decay=1e-3,
                                                 **_RBM), "unit"),
    "gaussian_rbm": (lambda: GaussianBernoulliRBM(**_RBM), "centred"),
}

DTYPES = (np.float32, np.float64)
FORMATS = ("dense", "csr")


def data(kind, dtype, fmt):
    X = load_digits().data[:150] / 16
    if kind == "centred":
        X = X - X.mean(axis=0)
    X = X.astype(dtype)
    return sp.csr_matrix(X) if fmt == "csr" else X


def cases():
    """(case name, estimator factory, X) for every recorded fit."""
    for name, (make, kind) in MODELS.items():
        sparse = make().__sklearn_tags__().input_tags.sparse
        for dtype in DTYPES:
            for fmt in FORMATS if sparse else ("dense",):
                yield f"{name}-{np.dtype(dtype).name}-{fmt}", make, data(kind, dtype, fmt)


def fitted_arrays(estimator):
    """The arrays that say what a fit learned."""
    if hasattr(estimator, "h_samples_"):  # an RBM
        names = ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_")
        return {n: getattr(estimator, n) for n in names}
    return {"params": estimator._params, "loss_curve": np.asarray(estimator.loss_curve_)}


def fit_case(make, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fitted_arrays(make().fit(X))


def platform_key():
    """What the recorded bits depend on beyond skae's code: the CPU and the
    BLAS that SciPy uses (its kernels differ per CPU architecture)."""
    blas = sorted(f"{i['internal_api']} {i.get('version')} {i.get('architecture')}"
                  for i in threadpool_info() if i["user_api"] == "blas"
                  and "scipy" in i["filepath"])
    return json.dumps({"machine": platform.machine(), "blas": blas})


def record():
    arrays = {"__platform__": np.array(platform_key())}
    for case, make, X in cases():
        for key, value in fit_case(make, X).items():
            arrays[f"{case}/{key}"] = value
    np.savez_compressed(RECORD, **arrays)
    print(f"recorded {len(arrays) - 1} arrays to {RECORD}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", required=True)
    parser.parse_args()
    record()
