"""No silent failure: what a new user met without a word (issue 33).

Each test fails on the code before its fix. Beside these:
``tests/test_stacked.py::test_to_mlp_pretraining_survives_clone_and_searches``
(to_mlp's pretraining lost under clone), ``tests/test_common.py`` running
every common check on ``VariationalAE()`` without expected failures, and
``tests/test_variational.py::test_auto_loss_chooses_the_decoder_from_the_data``.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import (
    AutoencoderTransformer,
    BernoulliRBM,
    DenoisingAE,
    GaussianBernoulliRBM,
    StackedAE,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    return load_digits().data / 16


@pytest.mark.parametrize("learning_rate", [10.0, 1e4])
def test_rbm_whose_units_all_die_stops_with_a_clear_error(digits, learning_rate):
    """BernoulliRBM(learning_rate=1e4) returned a model whose transform was
    one constant code; learning_rate=10 drove every unit to 0 or 1 for every
    row within a pass."""
    with pytest.raises(ValueError, match="Training diverged: every hidden unit"):
        BernoulliRBM(learning_rate=learning_rate, random_state=0).fit(digits)


def test_rbm_collapse_leaves_a_fitted_model_as_it_was(digits):
    rbm = BernoulliRBM(n_iter=2, random_state=0).fit(digits)
    before = pickle.dumps(rbm)
    rbm.set_params(learning_rate=1e4)
    with pytest.raises(ValueError, match="Lower learning_rate"):
        rbm.fit(digits)
    rbm.set_params(learning_rate=0.1)
    assert pickle.dumps(rbm) == before


def test_healthy_rbms_and_small_batches_are_no_collapse(digits):
    # Good step sizes, a single-row partial_fit (no spread to judge), data
    # whose values barely vary, and Gaussian visible units all train.
    for lr in (0.01, 0.1, 0.5, 1.0):
        BernoulliRBM(learning_rate=lr, n_iter=3, random_state=0).fit(digits)
    rbm = BernoulliRBM(random_state=0)
    rbm.partial_fit(digits[:1])
    rbm.partial_fit(digits[1:2])
    BernoulliRBM(n_iter=2, random_state=0).fit(0.5 + 1e-4 * digits)
    GaussianBernoulliRBM(n_iter=2, learning_rate=1e-3, random_state=0).fit(
        (digits - digits.mean(0)) / (digits.std(0) + 1e-3))


@pytest.mark.parametrize("make", [
    lambda: AutoencoderTransformer(n_components=8, max_iter=2),
    lambda: StackedAE(n_components=8, hidden_layer_sizes=(16,), max_iter=2,
                      pretrain_params={"max_iter": 1}),
])
def test_a_code_no_narrower_than_the_input_is_warned_about(make):
    X = np.random.default_rng(0).random((100, 6))
    with pytest.warns(UserWarning, match="no layer is narrower than the 6 input"):
        make().fit(X)


def test_overcomplete_models_that_cannot_copy_are_not_warned_about():
    X = np.random.default_rng(0).random((100, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        DenoisingAE(n_components=8, max_iter=2).fit(X)
        AutoencoderTransformer(n_components=5, max_iter=2).fit(X)
        # A narrow hidden layer is a bottleneck too.
        AutoencoderTransformer(n_components=8, hidden_layer_sizes=(3,),
                               max_iter=2).fit(X)
