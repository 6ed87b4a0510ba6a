"""Pickles that carry the skae version, and the warning a mismatch raises.

A pickle (or a joblib file) of a fitted estimator stores its attributes, not
its code: loaded under another skae release, the same attributes may mean
something else (a layer table with another column order, a renamed state),
and the model may give wrong results without failing. scikit-learn meets this
with ``InconsistentVersionWarning``; skae does the same for its own version.

Loading a pickle runs code chosen by whoever wrote the file: load only files
you trust, or use skops (``skops.io``), which loads only the types you name.
"""

import importlib.abc
import sys
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from .._version import __version__

# The version of a pickle written before skae recorded it.
_UNRECORDED = "unrecorded (before 0.2)"


class InconsistentVersionWarning(UserWarning):
    """Warning raised when an estimator is unpickled under another skae version.

    Parameters
    ----------
    estimator_name : str
        The estimator's class name.
    current_skae_version : str
        The skae version doing the loading.
    original_skae_version : str
        The skae version that wrote the pickle.

    Examples
    --------
    >>> import pickle, warnings
    >>> from skae import AutoencoderTransformer, InconsistentVersionWarning
    >>> ae = AutoencoderTransformer(n_components=2)
    >>> state = ae.__getstate__()
    >>> state["_skae_version"] = "0.0.1"
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     AutoencoderTransformer().__setstate__(state)
    >>> caught[0].category is InconsistentVersionWarning
    True
    >>> caught[0].message.original_skae_version
    '0.0.1'
    """

    def __init__(self, *, estimator_name, current_skae_version, original_skae_version):
        self.estimator_name = estimator_name
        self.current_skae_version = current_skae_version
        self.original_skae_version = original_skae_version

    def __str__(self):
        return (
            f"Trying to unpickle estimator {self.estimator_name} from skae version "
            f"{self.original_skae_version} when using version "
            f"{self.current_skae_version}. Its attributes may mean something else in "
            "this version, giving wrong results without an error: refit it with this "
            "version, or load it with the version that wrote it."
        )


# The attribute listing which entries of a saved state are bit generators' states.
_BIT_GENERATORS = "_skae_bit_generators"


def _save_bit_generators(state):
    """Replace each numpy bit generator in state by its state dict (plain ints
    and strings), and list their names under _BIT_GENERATORS.

    skops rebuilds an object it has no rule for with ``cls.__new__`` and
    ``__setstate__``; a bit generator made that way has no C state, and the
    process crashed on loading. A state dict is data every format carries.
    """
    names = [k for k, v in state.items() if isinstance(v, np.random.BitGenerator)]
    for name in names:
        state[name] = state[name].state
    if names:
        state[_BIT_GENERATORS] = names
    return state


def _restore_bit_generators(state):
    """Undo _save_bit_generators, building only numpy's own bit generators."""
    for name in state.pop(_BIT_GENERATORS, []):
        saved = state[name]
        cls = getattr(np.random, str(saved.get("bit_generator")), None)
        if not (isinstance(cls, type) and issubclass(cls, np.random.BitGenerator)):
            # A bad value in the file, not a caller's wrong type: ValueError.
            raise ValueError(  # noqa: TRY004
                f"The saved state of {name!r} names {saved.get('bit_generator')!r}, "
                "which is not one of numpy's bit generators: the file is damaged or "
                "was not written by skae."
            )
        generator = cls()
        generator.state = saved
        state[name] = generator
    return state


def _check_loaded_sparse(name, matrix):
    """Check a sparse matrix read from a file before anything indexes it.

    Pickle and skops restore a CSR matrix's arrays as stored, unchecked, and
    scipy's indexing trusts them: an ``indptr`` that runs past the data or
    backwards writes out of bounds. The full format check rejects that, and the
    cached "sorted" and "canonical" flags are dropped, so that scipy works them
    out from the arrays instead of believing the file.
    """
    if matrix.format not in ("csr", "csc"):
        raise ValueError(
            f"The saved {name!r} is a {matrix.format.upper()} matrix; skae stores CSR "
            "matrices only: the file is damaged or was not written by skae."
        )
    for flag in ("_has_sorted_indices", "_has_canonical_format"):
        matrix.__dict__.pop(flag, None)
    try:
        matrix.check_format(full_check=True)
    except Exception as error:
        raise ValueError(
            f"The saved {name!r} is not a valid {matrix.format.upper()} matrix "
            f"({error}): the file is damaged or was not written by skae."
        ) from None


def _check_loaded_values(name, value):
    """_check_loaded_sparse on every sparse matrix in value (a state entry,
    or a list, tuple or dict of them)."""
    if sp.issparse(value):
        _check_loaded_sparse(name, value)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_loaded_values(f"{name}[{i}]", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_loaded_values(f"{name}[{key!r}]", item)


class VersionedStateMixin:
    """Adds ``_skae_version`` to the pickled state and warns on a mismatch.

    Put it before ``BaseEstimator`` among the bases: it extends
    ``BaseEstimator.__getstate__``/``__setstate__`` (which record
    scikit-learn's version only for scikit-learn's own classes). It also
    saves numpy bit generators as their state dicts, so that skops, which
    refuses or mis-builds arbitrary C objects, carries them as data.
    """

    def __getstate__(self):
        state = _save_bit_generators(dict(super().__getstate__()))
        return dict(state, _skae_version=__version__)

    def __setstate__(self, state):
        state = _restore_bit_generators(dict(state))
        for name, value in state.items():
            _check_loaded_values(name, value)
        self._check_loaded_state(state)
        original = state.pop("_skae_version", _UNRECORDED)
        if original != __version__:
            warnings.warn(
                InconsistentVersionWarning(
                    estimator_name=type(self).__name__,
                    current_skae_version=__version__,
                    original_skae_version=original,
                ),
                stacklevel=2,
            )
        super().__setstate__(state)

    def _check_loaded_state(self, state):
        """Raise ValueError if a loaded state is inconsistent in ways that the
        fitted methods do not check themselves (overridden where needed)."""


# Every type a skops file of a skae estimator may hold beyond what skops
# trusts by default: the estimators themselves (nested ones included: a
# StackedAE's layers, an imputer's or detector's autoencoders) and AutoRec's
# training matrix. Their loading runs no code but skae's __setstate__ above,
# which sets attributes and rebuilds numpy bit generators from their states.
SKOPS_TRUSTED_TYPES = (
    "scipy.sparse._csr.csr_matrix",
    "skae._applications.impute.AutoencoderImputer",
    "skae._applications.outliers.OutlierDetector",
    "skae._applications.recommend.AutoRec",
    "skae._autoencoders.dense.AutoencoderTransformer",
    "skae._autoencoders.dense.ContractiveAE",
    "skae._autoencoders.dense.DenoisingAE",
    "skae._autoencoders.dense.SparseAE",
    "skae._autoencoders.pretrained_mlp.PretrainedMLPClassifier",
    "skae._autoencoders.pretrained_mlp.PretrainedMLPRegressor",
    "skae._autoencoders.stacked.StackedAE",
    "skae._autoencoders.variational.VariationalAE",
    "skae._autoencoders.convolutional.ConvAutoencoder",
    "skae._autoencoders.sequence.SequenceAutoencoder",
    "skae._rbms.rbm.BernoulliRBM",
    "skae._rbms.rbm.GaussianBernoulliRBM",
    "skae._rbms.rbm._GaussianHiddenRBM",
)


# The private modules of skae 0.1.x, which its pickles and skops files name:
# 0.2 moved them into subpackages, and changed the layer table they hold.
_MODULES_OF_0_1 = frozenset(f"skae.{name}" for name in (
    "_autoencoder", "_base", "_common", "_impute", "_lbfgs", "_out_of_core",
    "_outliers", "_pca_start", "_persistence", "_pretrained_mlp", "_rbm", "_recommend",
    "_stacked", "_variational",
))


class _ModulesOf01(importlib.abc.MetaPathFinder):
    """Makes the import of a module that only skae 0.1.x had (what loading one
    of its pickles does) fail with a message that says so, instead of a bare
    ModuleNotFoundError. Last on sys.meta_path: it sees only names that no
    other finder found."""

    def find_spec(self, name, path=None, target=None):
        if name in _MODULES_OF_0_1:
            raise ImportError(
                f"{name} is a module of skae 0.1.x, which this skae ({__version__}) "
                "no longer has: the file being loaded (a pickle, joblib or skops "
                "file) was written by skae 0.1.x, whose saved models this version "
                "cannot read. Load it with skae 0.1.x, or fit the model again with "
                f"skae {__version__}.", name=name)
        return None


if not any(isinstance(finder, _ModulesOf01) for finder in sys.meta_path):
    sys.meta_path.append(_ModulesOf01())


class ConsistentStateMixin:
    """For the applications, whose fitted state is several arrays and models
    that index one another: ``_fitted_state_agrees(state)`` says whether they
    agree, and it is asked of a state loaded from a pickle or skops file and
    before every fitted method (a user may assign a fitted attribute), so that
    a disagreement is a clear ValueError instead of an IndexError or worse.
    Put it before VersionedStateMixin among the bases; a class using it sets
    ``_fitted_attribute``, ``_fitted_state_summary`` (the attributes that must
    agree, for the message) and the static ``_fitted_state_agrees``.
    """

    # The attribute whose presence means fitted.
    _fitted_attribute = "estimator_"

    def __sklearn_is_fitted__(self):
        return self._fitted_attribute in vars(self)

    def _check_fitted_state(self, state):
        try:
            agrees = bool(self._fitted_state_agrees(state))
        except (AttributeError, KeyError, TypeError, ValueError, IndexError,
                ArithmeticError):  # int(inf) is an OverflowError
            agrees = False
        if not agrees:
            raise ValueError(
                f"{type(self).__name__}'s fitted attributes disagree "
                f"({self._fitted_state_summary}): a fitted attribute was assigned "
                "after fit, or the file the model was loaded from is damaged. Call "
                "fit again."
            )

    def _check_loaded_state(self, state):
        if self._fitted_attribute in state:
            self._check_fitted_state(state)

    def _checked_fitted(self):
        """check_is_fitted, then the state's consistency."""
        check_is_fitted(self)
        self._check_fitted_state(vars(self))

