"""Saving fitted estimators: skops round trips, the version pickles carry."""

import pickle
import warnings

import numpy as np
import pytest
from extras import import_extra
from sklearn.datasets import load_digits

import skae
from skae import (
    SKOPS_TRUSTED_TYPES,
    AutoencoderImputer,
    AutoencoderTransformer,
    AutoRec,
    BernoulliRBM,
    ContractiveAE,
    ConvAutoencoder,
    SequenceAutoencoder,
    DenoisingAE,
    GaussianBernoulliRBM,
    InconsistentVersionWarning,
    OutlierDetector,
    SparseAE,
    StackedAE,
    VariationalAE,
    ratings_to_csr,
)

X = load_digits().data[:150] / 16
X_NAN = np.where(np.random.default_rng(0).uniform(size=X.shape) < 0.1, np.nan, X)
RATINGS = ratings_to_csr([0, 1, 2, 2, 3, 3], [0, 1, 1, 2, 0, 2], [4.0, 3, 5, 2, 1, 4])

# Each estimator, the data it fits, and the types a skops file of it holds
# beyond skops' defaults: what a user must trust to load it.
CASES = {
    "AutoencoderTransformer": (AutoencoderTransformer(n_components=4), X,
                               ["skae._autoencoders.dense.AutoencoderTransformer"]),
    "DenoisingAE": (DenoisingAE(n_components=4), X, ["skae._autoencoders.dense.DenoisingAE"]),
    "SparseAE": (SparseAE(n_components=4), X, ["skae._autoencoders.dense.SparseAE"]),
    "ContractiveAE": (ContractiveAE(n_components=4), X,
                      ["skae._autoencoders.dense.ContractiveAE"]),
    "DenoisingAE-missing": (DenoisingAE(n_components=4, missing="nan"), X_NAN,
                            ["skae._autoencoders.dense.DenoisingAE"]),
    "BernoulliRBM": (BernoulliRBM(n_components=4), X, ["skae._rbms.rbm.BernoulliRBM"]),
    "GaussianBernoulliRBM": (GaussianBernoulliRBM(n_components=4), X,
                             ["skae._rbms.rbm.GaussianBernoulliRBM"]),
    "StackedAE": (StackedAE(hidden_layer_sizes=(8, 4)), X,
                  ["skae._autoencoders.dense.AutoencoderTransformer", "skae._autoencoders.stacked.StackedAE"]),
    "StackedAE-rbm": (StackedAE(hidden_layer_sizes=(8, 4), pretraining="rbm",
                                activation="sigmoid", code_activation="sigmoid"), X,
                      ["skae._rbms.rbm.BernoulliRBM", "skae._rbms.rbm.GaussianBernoulliRBM",
                       "skae._autoencoders.stacked.StackedAE"]),
    "VariationalAE": (VariationalAE(n_components=2), X,
                      ["skae._autoencoders.variational.VariationalAE"]),
    "ConvAutoencoder": (ConvAutoencoder(n_components=4, input_shape=(1, 8, 8),
                                        filters=(4,), max_iter=3), X,
                        ["skae._autoencoders.convolutional.ConvAutoencoder"]),
    "SequenceAutoencoder": (SequenceAutoencoder(n_components=3, input_shape=(2, 32),
                                                hidden_layer_sizes=(4,), max_iter=3), X,
                            ["skae._autoencoders.sequence.SequenceAutoencoder"]),
    "AutoencoderImputer": (AutoencoderImputer(), X_NAN,
                           ["skae._autoencoders.dense.DenoisingAE",
                            "skae._applications.impute.AutoencoderImputer"]),
    "OutlierDetector": (OutlierDetector(n_estimators=2), X,
                        ["skae._autoencoders.dense.AutoencoderTransformer",
                         "skae._applications.outliers.OutlierDetector"]),
    "AutoRec": (AutoRec(n_components=3), RATINGS,
                ["scipy.sparse._csr.csr_matrix",
                 "skae._autoencoders.dense.DenoisingAE", "skae._applications.recommend.AutoRec"]),
}


def _fitted(name):
    estimator, data, _ = CASES[name]
    params = ({"n_iter": 3} if isinstance(estimator, (BernoulliRBM, GaussianBernoulliRBM))
              else {"max_iter": 3})
    if isinstance(estimator, OutlierDetector):
        params = {}
    estimator = estimator.set_params(random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(data), data


def _outputs(estimator, data):
    if isinstance(estimator, AutoRec):
        return estimator.predict([0, 1, 3], [1, 2, 1])
    if isinstance(estimator, OutlierDetector):
        return estimator.score_samples(data)
    return estimator.transform(data)


@pytest.mark.parametrize("name", list(CASES))
def test_skops_round_trip_needs_exactly_the_documented_types(name):
    sio = import_extra("skops.io", "skops")
    estimator, data = _fitted(name)
    blob = sio.dumps(estimator)
    untrusted = sio.get_untrusted_types(data=blob)
    assert sorted(untrusted) == sorted(CASES[name][2])
    assert set(untrusted) <= set(SKOPS_TRUSTED_TYPES)
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.loads(blob)
    loaded = sio.loads(blob, trusted=SKOPS_TRUSTED_TYPES)
    assert type(loaded) is type(estimator)
    np.testing.assert_array_equal(_outputs(loaded, data), _outputs(estimator, data))


@pytest.mark.parametrize("name", ["DenoisingAE", "BernoulliRBM", "VariationalAE",
                                  "ConvAutoencoder", "SequenceAutoencoder"])
def test_training_continues_from_a_skops_file_as_from_the_original(name):
    # The random stream (a numpy bit generator, saved as its state) comes back
    # where it was: one more partial_fit gives the same weights either way.
    sio = import_extra("skops.io", "skops")
    estimator, data = _fitted(name)
    loaded = sio.loads(sio.dumps(estimator), trusted=SKOPS_TRUSTED_TYPES)
    for model in (estimator, loaded):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(data)
    np.testing.assert_array_equal(_outputs(loaded, data), _outputs(estimator, data))


def test_the_trusted_types_are_every_estimator_skae_defines():
    classes = {f"{c.__module__}.{c.__qualname__}" for c in (
        AutoencoderTransformer, DenoisingAE, SparseAE, ContractiveAE, BernoulliRBM,
        GaussianBernoulliRBM, StackedAE, VariationalAE, ConvAutoencoder, SequenceAutoencoder,
        AutoencoderImputer,
        OutlierDetector, AutoRec, skae._rbms.rbm._GaussianHiddenRBM,
        skae.PretrainedMLPClassifier, skae.PretrainedMLPRegressor)}
    assert classes | {"scipy.sparse._csr.csr_matrix"} == set(SKOPS_TRUSTED_TYPES)


def test_a_pickle_from_the_same_version_loads_silently():
    estimator, data = _fitted("DenoisingAE")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(loaded.transform(data), estimator.transform(data))


def _pickle_as_if_from(estimator, version):
    """A pickle of estimator whose recorded skae version is version (None:
    the field absent, as in pickles written before skae recorded it)."""
    state = estimator.__getstate__()
    if version is None:
        del state["_skae_version"]
    else:
        state["_skae_version"] = version

    class Forged:
        def __reduce__(self):
            return (type(estimator).__new__, (type(estimator),), state)

    return pickle.dumps(Forged())


@pytest.mark.parametrize("version", ["0.0.1", None])
@pytest.mark.parametrize("name", ["DenoisingAE", "BernoulliRBM", "AutoencoderImputer",
                                  "OutlierDetector", "AutoRec"])
def test_a_pickle_from_another_version_warns(name, version):
    estimator, data = _fitted(name)
    blob = _pickle_as_if_from(estimator, version)
    with pytest.warns(InconsistentVersionWarning) as caught:
        loaded = pickle.loads(blob)
    warning = next(w.message for w in caught if w.category is InconsistentVersionWarning)
    assert warning.estimator_name == type(estimator).__name__
    assert warning.current_skae_version == skae.__version__
    assert warning.original_skae_version == (version or "unrecorded (before 0.2)")
    assert "refit it" in str(warning)
    # A warning, not a refusal: the model still works.
    np.testing.assert_array_equal(_outputs(loaded, data), _outputs(estimator, data))


@pytest.mark.parametrize(("module", "name"), [
    ("skae._autoencoder", "DenoisingAE"), ("skae._rbm", "BernoulliRBM"),
    ("skae._stacked", "StackedAE"), ("skae._outliers", "OutlierDetector"),
])
def test_a_pickle_of_0_1_fails_naming_the_version(module, name):
    """skae 0.1.x kept its classes in modules 0.2 moved (and its layer table
    had other columns): its pickles fail with a message that says so, never a
    bare ModuleNotFoundError."""
    blob = pickle.dumps(getattr(skae, name)(), protocol=0)
    blob = blob.replace(getattr(skae, name).__module__.encode(), module.encode())
    with pytest.raises(ImportError, match=r"skae 0\.1\.x") as caught:
        pickle.loads(blob)
    assert type(caught.value) is ImportError
    assert f"skae ({skae.__version__})" in str(caught.value)
    assert "fit the model again" in str(caught.value)


def test_a_saved_state_naming_a_foreign_bit_generator_is_refused():
    estimator, _ = _fitted("DenoisingAE")
    state = estimator.__getstate__()
    state["_bit_generator"] = dict(state["_bit_generator"], bit_generator="os.system")
    with pytest.raises(ValueError, match="not one of numpy's bit generators"):
        DenoisingAE().__setstate__(state)
