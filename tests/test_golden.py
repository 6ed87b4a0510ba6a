"""Every estimator's two-epoch fit equals the one recorded in golden_fits.npz
(see golden_cases.py): the guard that refactorings of the kernels and the
estimators change no result."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

_spec = importlib.util.spec_from_file_location(
    "golden_cases", Path(__file__).with_name("golden_cases.py"))
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)

CASES = list(golden.cases())


@pytest.fixture(scope="module")
def recorded():
    with np.load(golden.RECORD) as record:
        return {key: record[key] for key in record.files}


@pytest.mark.parametrize(("case", "make", "X"), CASES, ids=[c[0] for c in CASES])
def test_fit_matches_the_recorded_one(case, make, X, recorded):
    got = golden.fit_case(make, X)
    same_platform = str(recorded["__platform__"]) == golden.platform_key()
    for key, value in got.items():
        expected = recorded[f"{case}/{key}"]
        assert value.dtype == expected.dtype
        if same_platform:
            assert_array_equal(value, expected, err_msg=f"{case}/{key}")
        else:
            # Another CPU or BLAS rounds its products differently; two epochs
            # keep the difference near rounding. The fit's precision sets the
            # tolerance, not the array's: a float32 fit's loss_curve_ is float64
            # but its values come from float32 arithmetic.
            rtol = 1e-3 if X.dtype == np.float32 else 1e-8
            assert_allclose(value, expected, rtol=rtol, atol=rtol,
                            err_msg=f"{case}/{key} (recorded on another platform)")


def test_every_estimator_is_recorded():
    import skae

    from skae._autoencoders.base import BaseAutoencoder
    from skae._rbms.rbm import _BaseRBM

    # Every model the kernels train; the wrappers (AutoencoderImputer, AutoRec,
    # OutlierDetector) train these, and tests/test_applications.py covers them.
    models = {name for name in skae.__all__
              if isinstance(getattr(skae, name), type)
              and issubclass(getattr(skae, name), (BaseAutoencoder, _BaseRBM))}
    recorded_classes = {type(make()).__name__ for make, _ in golden.MODELS.values()}
    assert recorded_classes == models
