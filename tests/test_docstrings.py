"""The Examples sections of the public docstrings run, on the installed package."""

import doctest

import pytest

import skae
from skae._applications import impute, outliers, recommend
from skae._autoencoders import dense, stacked, variational
from skae._core import common, persistence
from skae._rbms import rbm

MODULES = [dense, common, impute, outliers, persistence, rbm, recommend, stacked,
           variational]


# The examples train for a few epochs, to run in a second: they do not converge.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("module", MODULES,
                         ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", [n for n in skae.__all__ if callable(getattr(skae, n))])
def test_every_public_class_and_function_has_an_example(name):
    assert "Examples\n    --------" in getattr(skae, name).__doc__
