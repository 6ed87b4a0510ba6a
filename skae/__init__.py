"""skae: scikit-learn-compatible autoencoders with compiled (Cython, nogil) kernels."""

from ._autoencoder import (
    AutoencoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
)
from ._impute import AutoencoderImputer
from ._out_of_core import fit_out_of_core
from ._outliers import OutlierDetector
from ._persistence import SKOPS_TRUSTED_TYPES, InconsistentVersionWarning
from ._pretrained_mlp import PretrainedMLPClassifier, PretrainedMLPRegressor
from ._rbm import BernoulliRBM, GaussianBernoulliRBM
from ._recommend import AutoRec, csr_to_ratings, ratings_to_csr, ratings_train_test_split
from ._stacked import StackedAE
from ._variational import VariationalAE

__version__ = "0.1.0"

__all__ = [
    "AutoencoderImputer",
    "AutoRec",
    "AutoencoderTransformer",
    "BernoulliRBM",
    "ContractiveAE",
    "DenoisingAE",
    "GaussianBernoulliRBM",
    "InconsistentVersionWarning",
    "OutlierDetector",
    "PretrainedMLPClassifier",
    "PretrainedMLPRegressor",
    "SKOPS_TRUSTED_TYPES",
    "SparseAE",
    "StackedAE",
    "VariationalAE",
    "csr_to_ratings",
    "fit_out_of_core",
    "ratings_to_csr",
    "ratings_train_test_split",
    "__version__",
]
