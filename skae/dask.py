"""Dask arrays through fitted skae models (the optional extra ``[dask]``).

Two ways to use skae with Dask need nothing from this module:

- a search too big for one machine's cores runs under joblib's dask backend,
  ``with joblib.parallel_backend("dask"): search.fit(X, y)``, with a
  ``dask.distributed.Client`` open;
- data too big for memory trains with ``dask_ml.wrappers.Incremental(model)``,
  which calls ``partial_fit`` on each row block in turn. skae's ``partial_fit``
  ignores ``y`` (Incremental passes a placeholder tuple for ``y=None``), and
  every estimator has the ``score`` Incremental's ``fit`` checks for.

What this module adds: Incremental's ``transform`` maps the blocks without
telling Dask the output's width, so the lazy result claims the input's
column count (``(n, 784)`` for codes of width 32), and anything sized from
it before ``compute`` is wrong. :func:`transform`, :func:`inverse_transform`
and :func:`score_samples` map the blocks with the right chunks and dtype.
:func:`check_blocks` refuses an array whose columns are split into several
chunks: Incremental would train on the first column block alone.

Each block is computed as ``transform`` on that block alone, so a value may
differ from an in-memory ``transform`` of the whole array in its last bit
(about 1e-16 in float64): the BLAS's blocking, and so its rounding, depends
on how many rows a call has. The same blocks give the same bits every time.

Examples
--------
>>> import dask.array as da
>>> import numpy as np
>>> from sklearn.datasets import load_digits
>>> from skae import DenoisingAE
>>> import skae.dask
>>> X = da.from_array(load_digits().data / 16, chunks=(300, 64))
>>> ae = DenoisingAE(n_components=8, max_iter=5, random_state=0).fit(X[:600].compute())
>>> codes = skae.dask.transform(ae, X)
>>> codes.shape, codes.chunks[1]
((1797, 8), (8,))
>>> bool(np.allclose(codes.compute(), ae.transform(X.compute())))
True
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

try:
    import dask.array as da
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError("skae.dask needs dask: pip install 'skae[dask]'.") from error

from ._autoencoders.base import BaseAutoencoder
from ._rbms.rbm import _BaseRBM

__all__ = ["check_blocks", "inverse_transform", "score_samples", "transform"]


def _fitted_model(estimator):
    """The skae model inside a dask-ml wrapper (``estimator_``), or itself."""
    model = getattr(estimator, "estimator_", estimator)
    if not isinstance(model, (BaseAutoencoder, _BaseRBM)):
        raise TypeError(
            "skae.dask maps skae's autoencoders and RBMs (or a dask_ml wrapper of "
            f"one, after fit); got {type(model).__name__}."
        )
    check_is_fitted(model)
    return model


def check_blocks(X):
    """Check that a dask array's rows are split into blocks but its columns are not.

    ``dask_ml.wrappers.Incremental`` trains on block ``(i, 0)`` of each row
    block, so an array whose columns are split would train on its first
    column block alone, without an error.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)

    Returns
    -------
    X : dask.array.Array
        X itself.

    Examples
    --------
    >>> import dask.array as da
    >>> from skae.dask import check_blocks
    >>> check_blocks(da.zeros((100, 8), chunks=(10, 8))).numblocks
    (10, 1)
    >>> check_blocks(da.zeros((100, 8), chunks=(10, 4)))
    Traceback (most recent call last):
    ...
    ValueError: X's 8 columns are split into 2 chunks (4, 4); ...
    """
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise TypeError(f"check_blocks takes a 2-D dask array; got {type(X).__name__}"
                        + (f" of {X.ndim} dimensions" if isinstance(X, da.Array) else "")
                        + ".")
    if len(X.chunks[1]) > 1:
        sizes = ", ".join(map(str, X.chunks[1]))
        raise ValueError(
            f"X's {X.shape[1]} columns are split into {len(X.chunks[1])} chunks "
            f"({sizes}); dask_ml's Incremental would train on the first chunk of "
            "columns only. Use X.rechunk({1: -1}) to keep every row block whole."
        )
    return X


def _map(X, method, width, dtype):
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise TypeError(f"Expected a 2-D dask array; got {type(X).__name__}.")
    X = X.rechunk({1: -1})  # each block needs whole rows
    chunks = (X.chunks[0],) if width is None else (X.chunks[0], (width,))
    return X.map_blocks(method, chunks=chunks, drop_axis=[1] if width is None else [],
                        dtype=dtype, meta=np.empty((0,) * len(chunks), dtype=dtype))


def _dtype(model):
    if isinstance(model, _BaseRBM):
        return model.components_.dtype
    return model._params.dtype


def transform(estimator, X):
    """``estimator.transform`` over the row blocks of X, lazily.

    Parameters
    ----------
    estimator : fitted skae autoencoder or RBM, or a fitted dask_ml wrapper of one
    X : dask.array.Array of shape (n_samples, n_features)

    Returns
    -------
    codes : dask.array.Array of shape (n_samples, n_components)
        With X's row chunks, one column chunk and the model's dtype.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skae import BernoulliRBM
    >>> from skae.dask import transform
    >>> X = np.random.default_rng(0).uniform(size=(200, 6))
    >>> rbm = BernoulliRBM(n_components=3, random_state=0).fit(X)
    >>> transform(rbm, da.from_array(X, chunks=(50, 6))).shape
    (200, 3)
    """
    model = _fitted_model(estimator)
    return _map(X, model.transform, model._n_features_out, _dtype(model))


def inverse_transform(estimator, Z):
    """``estimator.inverse_transform`` over the row blocks of Z, lazily.

    Parameters
    ----------
    estimator : fitted skae autoencoder or RBM, or a fitted dask_ml wrapper of one
    Z : dask.array.Array of shape (n_samples, n_components)

    Returns
    -------
    X_reconstructed : dask.array.Array of shape (n_samples, n_features)

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skae import AutoencoderTransformer
    >>> from skae.dask import inverse_transform, transform
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> ae = AutoencoderTransformer(n_components=2, max_iter=5, random_state=0).fit(X)
    >>> inverse_transform(ae, transform(ae, da.from_array(X, chunks=(50, 6)))).shape
    (200, 6)
    """
    model = _fitted_model(estimator)
    return _map(Z, model.inverse_transform, model._n_features_fitted, _dtype(model))


def score_samples(estimator, X):
    """``estimator.score_samples`` over the row blocks of X, lazily.

    Parameters
    ----------
    estimator : fitted skae autoencoder or RBM, or a fitted dask_ml wrapper of one
    X : dask.array.Array of shape (n_samples, n_features)

    Returns
    -------
    scores : dask.array.Array of shape (n_samples,)

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from skae import AutoencoderTransformer
    >>> from skae.dask import score_samples
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> ae = AutoencoderTransformer(n_components=2, max_iter=5, random_state=0).fit(X)
    >>> score_samples(ae, da.from_array(X, chunks=(50, 6))).chunks
    ((50, 50, 50, 50),)
    """
    model = _fitted_model(estimator)
    return _map(X, model.score_samples, None, _dtype(model))
