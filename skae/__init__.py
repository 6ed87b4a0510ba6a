"""skae: scikit-learn-compatible autoencoders with compiled (Cython, nogil) kernels."""

from ._version import __version__

from ._autoencoders.dense import (
    AutoencoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
)
from ._applications.impute import AutoencoderImputer
from ._core.out_of_core import fit_out_of_core
from ._applications.outliers import OutlierDetector
from ._applications.windows import sliding_windows, timestamp_scores
from ._core.persistence import SKOPS_TRUSTED_TYPES, InconsistentVersionWarning
from ._autoencoders.pretrained_mlp import PretrainedMLPClassifier, PretrainedMLPRegressor
from ._rbms.rbm import BernoulliRBM, GaussianBernoulliRBM
from ._applications.recommend import AutoRec, csr_to_ratings, ratings_to_csr, ratings_train_test_split
from ._autoencoders.stacked import StackedAE
from ._autoencoders.variational import VariationalAE
from ._autoencoders.convolutional import ConvAutoencoder
from ._autoencoders.sequence import SequenceAutoencoder


__all__ = [
    "AutoencoderImputer",
    "AutoRec",
    "AutoencoderTransformer",
    "BernoulliRBM",
    "ContractiveAE",
    "ConvAutoencoder",
    "DenoisingAE",
    "GaussianBernoulliRBM",
    "InconsistentVersionWarning",
    "OutlierDetector",
    "PretrainedMLPClassifier",
    "PretrainedMLPRegressor",
    "SKOPS_TRUSTED_TYPES",
    "SequenceAutoencoder",
    "SparseAE",
    "StackedAE",
    "VariationalAE",
    "csr_to_ratings",
    "fit_out_of_core",
    "ratings_to_csr",
    "ratings_train_test_split",
    "sliding_windows",
    "timestamp_scores",
    "__version__",
]
