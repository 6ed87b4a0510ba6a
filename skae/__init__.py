"""skae: scikit-learn-compatible autoencoders with compiled (Cython, nogil) kernels."""

from ._rbm import BernoulliRBM, GaussianBernoulliRBM
from ._autoencoder import (
    AutoencoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
)

__version__ = "0.1.0"

__all__ = [
    "AutoencoderTransformer",
    "BernoulliRBM",
    "ContractiveAE",
    "GaussianBernoulliRBM",
    "DenoisingAE",
    "SparseAE",
    "__version__",
]
