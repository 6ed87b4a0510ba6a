"""The Examples sections of the public docstrings run, on the installed package."""

import doctest

import pytest

import skae
from skae import _autoencoder, _common, _rbm, _stacked


# The examples train for a few epochs, to run in a second: they do not converge.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("module", [_autoencoder, _common, _rbm, _stacked],
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", skae.__all__[:-1])
def test_every_public_estimator_has_an_example(name):
    assert "Examples\n    --------" in getattr(skae, name).__doc__
