"""skae: scikit-learn-compatible autoencoders with compiled (Cython, nogil) kernels."""

from ._autoencoder import (
    AutoencoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
)
from ._rbm import BernoulliRBM, GaussianBernoulliRBM
from ._stacked import StackedAE
from ._variational import VariationalAE

__version__ = "0.1.0"

__all__ = [
    "AutoencoderTransformer",
    "BernoulliRBM",
    "ContractiveAE",
    "DenoisingAE",
    "GaussianBernoulliRBM",
    "SparseAE",
    "StackedAE",
    "VariationalAE",
    "__version__",
]
