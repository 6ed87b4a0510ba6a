"""scikit-learn's own estimator checks, over every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import AutoencoderTransformer, ContractiveAE, DenoisingAE, SparseAE


def _estimators():
    # Default parameters: the checks must pass for what users get out of the box.
    return [AutoencoderTransformer(), DenoisingAE(), SparseAE(), ContractiveAE()]


@parametrize_with_checks(_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
