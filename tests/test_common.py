"""scikit-learn's own estimator checks, over every public estimator."""

import functools
import os

import pytest
import scipy.sparse as sp
from scipy.special import expit
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import (
    AutoencoderImputer,
    AutoencoderTransformer,
    BernoulliRBM,
    ContractiveAE,
    ConvAutoencoder,
    SequenceAutoencoder,
    DenoisingAE,
    GaussianBernoulliRBM,
    OutlierDetector,
    SparseAE,
    StackedAE,
    VariationalAE,
)


def _estimators():
    # Default parameters: the checks must pass for what users get out of the box.
    return [
        AutoencoderTransformer(),
        DenoisingAE(),
        SparseAE(),
        ContractiveAE(),
        BernoulliRBM(),
        GaussianBernoulliRBM(),
        StackedAE(),
        # Identity output, so a GaussianBernoulliRBM first layer, then a
        # BernoulliRBM on its probabilities.
        StackedAE(pretraining="rbm", activation="sigmoid"),
        # loss="auto": the Bernoulli decoder on data in [0, 1], the Gaussian
        # one on other data (the checks feed both).
        VariationalAE(),
        # The Gaussian decoder, which takes any real data.
        VariationalAE(loss="squared_error"),
        # Missing entries (the allow_nan checks run) and the robust loss.
        AutoencoderTransformer(missing="nan"),
        DenoisingAE(missing="nan", loss="huber"),
        # Rows read as one series each (input_shape=None): 1-D convolutions and
        # pooling over the checks' 1 to 10 features; then the code as the
        # last feature maps, average pooling, tied filters and missing entries.
        ConvAutoencoder(),
        ConvAutoencoder(n_components=None, pooling="average", tied_weights=True,
                        missing="nan"),
        # Rows read as one channel each; then stacked bidirectional LSTM
        # layers, a reversed decoder, the robust loss and "auto" batches; then
        # an autoregressive decoder fed its own outputs on half the steps.
        SequenceAutoencoder(),
        SequenceAutoencoder(cell="lstm", bidirectional=True, hidden_layer_sizes=(3, 4),
                            decoder_order="reversed", loss="huber", batch_size="auto"),
        SequenceAutoencoder(decoder="autoregressive", teacher_forcing=0.5),
        AutoencoderImputer(),
        OutlierDetector(),
        OutlierDetector(contamination=0.1),
        # AutoRec is not here: its predict takes (users, items) pairs and its
        # fit a ratings matrix, not the (X, y) the common checks call with;
        # tests/test_applications.py covers its contract.
    ]


# The common checks feed arbitrary real data (iris, normal draws, values up to 10),
# and scikit-learn has no tag for "values in [0, 1]". BernoulliRBM rejects such
# training data by design: a Bernoulli likelihood is undefined outside [0, 1]
# (issue 4 asks for that error). These checks fail on that error alone, which
# _SquashedBernoulliRBM below proves: the same checks pass, with no exception,
# on a test-only subclass that maps its validated input into (0, 1).
_OUT_OF_RANGE = (
    "feeds training data outside [0, 1], which BernoulliRBM rejects by design; "
    "passes on _SquashedBernoulliRBM (tests/test_common.py)"
)
_RBM_EXPECTED_FAILURES = {
    check: _OUT_OF_RANGE
    for check in [
        "check_dict_unchanged", "check_dont_overwrite_parameters",
        "check_estimators_dtypes", "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params", "check_estimators_pickle",
        "check_f_contiguous_array_estimator", "check_fit2d_1feature",
        "check_fit2d_1sample", "check_fit2d_predict1d", "check_fit_check_is_fitted",
        "check_fit_idempotent", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_n_features_in",
        "check_n_features_in_after_fitting", "check_pipeline_consistency",
        "check_positive_only_tag_during_fit", "check_readonly_memmap_input",
        "check_transformer_data_not_an_array", "check_transformer_general",
        "check_transformer_preserve_dtypes",
    ]
}


def _expected_failed_checks(estimator):
    if type(estimator) is BernoulliRBM:
        return _RBM_EXPECTED_FAILURES
    return {}


# The common checks fit default models on small random data for a few
# iterations: not converging there is expected, and says nothing. Their data
# have 1 to 10 features, fewer than the default n_components=32, and values up
# to about 10 that saturate sigmoid units: the warnings that say so to users
# (an overcomplete code, saturated activations) are the checks' data talking.
_NOT_CONVERGING = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore:.*no layer is narrower than the:UserWarning",
    "ignore:At initialisation .* saturated:UserWarning",
)


@_NOT_CONVERGING
@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    _run(check, estimator)


def _run(check, estimator):
    """Run one check; the array API check skips with skae's reason, not
    scikit-learn's bare "SCIPY_ARRAY_API is not set"."""
    if _name(check) == "check_array_api_input" and not os.environ.get("SCIPY_ARRAY_API"):
        pytest.skip(
            "skae's kernels take numpy arrays (and scipy sparse), not other array "
            "namespaces; scikit-learn runs this check only with SCIPY_ARRAY_API=1 "
            "set before scipy is imported, and CI does not set it"
        )
    check(estimator)


def _name(check):
    """The name of a check, which parametrize_with_checks wraps in partials."""
    while isinstance(check, functools.partial):
        check = check.func
    return getattr(check, "__name__", "")


class _SquashedBernoulliRBM(BernoulliRBM):
    """Test-only: BernoulliRBM with every validated input mapped into (0, 1) by
    the logistic function, so that the common checks run all of its machinery."""

    def _validated(self, X, **kwargs):
        # Training's range check comes after the squashing, which meets it.
        kwargs.pop("for_training", None)
        X = super()._validated(X, **kwargs)
        if sp.issparse(X):
            X = X.copy()
            X.data = expit(X.data).astype(X.dtype)  # zeros stay zero: still sparse
            return X
        return expit(X).astype(X.dtype)


@_NOT_CONVERGING
@parametrize_with_checks([_SquashedBernoulliRBM()])
def test_bernoulli_rbm_machinery_passes_every_check(estimator, check):
    _run(check, estimator)


class _SquashedVariationalAE(VariationalAE):
    """Test-only: VariationalAE with the Bernoulli decoder chosen explicitly and
    every validated input mapped into (0, 1) by the logistic function."""

    def _validate_X(self, X, **kwargs):
        X = super()._validate_X(X, **{**kwargs, "check_range": False})
        if sp.issparse(X):
            X = X.copy()
            X.data = expit(X.data).astype(X.dtype)
            return X
        return expit(X).astype(X.dtype)


@_NOT_CONVERGING
@parametrize_with_checks([_SquashedVariationalAE(loss="binary_crossentropy")])
def test_bernoulli_vae_machinery_passes_every_check(estimator, check):
    _run(check, estimator)
