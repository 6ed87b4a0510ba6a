"""Training on data larger than memory: partial_fit over row blocks of files.

``fit(np.load(path, mmap_mode="r"))`` already reads a memory-mapped array in
place, but every page it touches stays mapped, so the process's resident
memory grows to the whole file over an epoch. :func:`fit_out_of_core` walks
the file in blocks of rows, calls ``partial_fit`` on each block (a view of the
mapping, not a copy, when the dtype is already the model's) and then tells
the kernel it no longer needs that block's pages, so that resident memory
stays near one block's size whatever the file's.
"""

import mmap
import os
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["fit_out_of_core"]

_DEFAULT_BLOCK_BYTES = 64 * 2**20


def _open(source):
    """The sources as a list of 2-D arrays (memory maps where they are files)."""
    if isinstance(source, (str, os.PathLike, np.ndarray)):
        source = [source]
    arrays = []
    for item in source:
        if isinstance(item, (str, os.PathLike)):
            item = np.load(item, mmap_mode="r")
        elif not isinstance(item, np.ndarray):
            raise TypeError(
                "fit_out_of_core reads numpy.memmap arrays, .npy paths or a list of "
                f"them; got {type(item).__name__}. For a dask array use "
                "dask_ml.wrappers.Incremental (see skae.dask)."
            )
        if item.ndim != 2:
            raise ValueError(f"Each source must be 2-D (rows, features); got shape "
                             f"{item.shape}.")
        arrays.append(item)
    if not arrays:
        raise ValueError("fit_out_of_core needs at least one source array.")
    widths = {a.shape[1] for a in arrays}
    if len(widths) > 1:
        raise ValueError(
            f"The sources have different numbers of columns ({sorted(widths)}): every "
            "block of one training set must have the same features."
        )
    return arrays


def _check_dtype(arrays, preprocess):
    for a in arrays:
        if preprocess is None and a.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"A source has dtype {a.dtype}; skae trains on float32 or float64, and "
                "converting the whole file would load it into memory. Pass "
                "preprocess=, applied to each block (for 8-bit images, "
                "preprocess=lambda block: block.astype(np.float32) / 255), or write "
                "the file as float32."
            )


def _release(block):
    """Drop the resident pages under block, a C-contiguous view of a memory map
    (they are read again from the file if touched).

    Only for shared mappings (modes "r", "r+", "w+"), whose pages the file
    holds. A copy-on-write map (mode "c") keeps the caller's edits in private
    pages that MADV_DONTNEED would discard, reverting them to the file's
    values: its pages stay."""
    mapping = getattr(block, "_mmap", None)
    if (mapping is None or getattr(block, "mode", None) not in ("r", "r+", "w+")
            or not block.flags.c_contiguous or block.nbytes == 0):
        return
    # The view's place in the mapping, from addresses: a memmap's offset
    # attribute is its file's, not the view's.
    view = np.frombuffer(mapping, dtype=np.uint8)
    begin = block.ctypes.data - view.ctypes.data
    del view
    aligned = begin - begin % mmap.PAGESIZE
    try:
        mapping.madvise(mmap.MADV_DONTNEED, aligned, begin + block.nbytes - aligned)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - no madvise here
        pass


def fit_out_of_core(estimator, source, *, n_epochs=1, block_rows=None, shuffle=True,
                    preprocess=None, random_state=None):
    """Train ``estimator`` by ``partial_fit`` over row blocks of files.

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        A skae autoencoder or RBM (fitted or not; a fitted one continues).
    source : numpy.memmap, path to a .npy file, or a list of them
        The training rows; a list is read as consecutive row blocks of one
        training set (same columns). Paths are opened with
        ``np.load(mmap_mode="r")``; nothing is read whole.
    n_epochs : int, default=1
        Passes over all blocks; each block is one ``partial_fit`` call (one
        epoch of minibatches over its rows).
    block_rows : int or None, default=None
        Rows per block; None takes about 64 MiB per block.
    shuffle : bool, default=True
        Visit the blocks in a new random order each pass (the rows within a
        block are shuffled by the estimator), so that a file sorted by class
        does not train on one class at a time.
    preprocess : callable or None, default=None
        Applied to each block before ``partial_fit`` (for example scaling 8-bit
        pixels); needed for sources that are not float32 or float64.
    random_state : int, RandomState instance or None, default=None
        Seeds the block order.

    Returns
    -------
    estimator : object
        The estimator, trained.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skae import DenoisingAE, fit_out_of_core
    >>> path = os.path.join(tempfile.mkdtemp(), "rows.npy")
    >>> rng = np.random.default_rng(0)
    >>> np.save(path, rng.uniform(size=(2000, 16)).astype(np.float32))
    >>> ae = DenoisingAE(n_components=4, random_state=0)
    >>> ae = fit_out_of_core(ae, path, n_epochs=3, block_rows=500, random_state=0)
    >>> ae.transform(np.load(path, mmap_mode="r")[:3]).shape
    (3, 4)
    """
    if not hasattr(estimator, "partial_fit"):
        raise TypeError(f"{type(estimator).__name__} has no partial_fit; "
                        "fit_out_of_core trains through it.")
    if not isinstance(n_epochs, Integral) or n_epochs < 1:
        raise ValueError(f"n_epochs must be a positive integer; got {n_epochs!r}.")
    if block_rows is not None and (not isinstance(block_rows, Integral) or block_rows < 1):
        raise ValueError(f"block_rows must be a positive integer or None; got "
                         f"{block_rows!r}.")
    arrays = _open(source)
    _check_dtype(arrays, preprocess)
    if block_rows is None:
        row_bytes = arrays[0].shape[1] * arrays[0].dtype.itemsize
        block_rows = max(1, _DEFAULT_BLOCK_BYTES // row_bytes)
    blocks = [(a, start, min(start + block_rows, len(a)))
              for a in arrays for start in range(0, len(a), block_rows)]
    rng = check_random_state(random_state)
    for _ in range(n_epochs):
        order = rng.permutation(len(blocks)) if shuffle else range(len(blocks))
        for index in order:
            array, start, stop = blocks[index]
            block = array[start:stop]
            estimator.partial_fit(block if preprocess is None else preprocess(block))
            _release(block)
    return estimator
