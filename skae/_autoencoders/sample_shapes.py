"""Rows read as series or images: what ConvAutoencoder and SequenceAutoencoder
share about ``input_shape``.

scikit-learn passes rows; these models read each row as ``(channels, length)``
(a series, channel after channel) or ``(channels, height, width)`` (an image),
and take arrays of samples too: aeon's ``(n_cases, n_channels, n_timepoints)``
and, for images, ``(n_samples, channels, height, width)``. Fitting records the
shape rows were read with (``input_shape_``).
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp


def geometry(shape):
    """(channels, height, width) of an input_shape: (channels, length) for a
    series, (channels, height, width) for an image."""
    shape = tuple(int(v) for v in shape)
    return (shape[0], 1, shape[1]) if len(shape) == 2 else shape


def _is_positive_int(v):
    return isinstance(v, Integral) and not isinstance(v, bool) and v >= 1


def _as_samples(X):
    """X as an array when it is a nested list; a ragged one (sequences of
    different lengths) is refused with how to pad it."""
    try:
        return np.asarray(X, dtype=float)
    except ValueError as error:
        if "inhomogeneous" not in str(error) and "sequence" not in str(error):
            raise
        raise ValueError(
            "X holds samples of different lengths. Pad each series on the right with "
            "NaN to the longest length (a series ends where its padding starts), e.g. "
            "with tslearn's to_time_series_dataset, or build an array filled with NaN "
            "and copy each series into its start.") from None


class SampleShapeMixin:
    """``_validate_X`` for rows or arrays of samples, and the checks of
    ``input_shape``. A class sets ``_sample_ranks``: the input_shape lengths it
    reads, 2 (series) and/or 3 (images)."""

    _sample_ranks = (2, 3)

    def _shape_forms(self):
        forms = {2: "(channels, length) for series",
                 3: "(channels, height, width) for images"}
        return " or ".join(forms[rank] for rank in self._sample_ranks)

    def _check_input_shape(self):
        if self.input_shape is None:
            return
        shape = tuple(self.input_shape) if np.ndim(self.input_shape) == 1 else ()
        if len(shape) not in self._sample_ranks or not all(
                _is_positive_int(v) for v in shape):
            raise ValueError(f"input_shape must be {self._shape_forms()}, positive "
                             f"ints; got {self.input_shape!r}.")

    def _validate_X(self, X, *, reset, check_range=False):
        """Rows, from rows or from an array of samples; fitting records the
        shape rows are read with (input_shape_)."""
        sample_shape = None
        ndim = getattr(X, "ndim", None)
        if ndim is None and isinstance(X, (list, tuple)):
            X = _as_samples(X)
            ndim = X.ndim
        if not sp.issparse(X) and ndim is not None and ndim > 2:
            X = np.asarray(X)
            if X.ndim - 1 not in self._sample_ranks:
                raise ValueError(f"X has {X.ndim} dimensions; pass rows (2-D) or "
                                 f"samples of shape {self._shape_forms()}.")
            sample_shape = X.shape[1:]
            X = X.reshape(X.shape[0], -1)
        expected = self.input_shape_ if not reset else (
            None if self.input_shape is None else tuple(int(v) for v in self.input_shape))
        if sample_shape is not None and expected is not None and (
                geometry(sample_shape) != geometry(expected)):
            hint = ""
            if len(sample_shape) == 2 and tuple(sample_shape[::-1]) == tuple(expected):
                hint = (" It looks like (n_cases, n_timepoints, n_channels): pass "
                        "X.transpose(0, 2, 1), aeon's (n_cases, n_channels, "
                        "n_timepoints).")
            which = "input_shape=" if reset else "this model was fitted on samples of shape "
            raise ValueError(f"X's samples have shape {tuple(sample_shape)} but "
                             f"{which}{tuple(expected)}.{hint}")
        X = super()._validate_X(X, reset=reset, check_range=check_range)
        if reset:
            shape = expected or sample_shape or (1, X.shape[1])
            self.input_shape_ = tuple(int(v) for v in shape)
            self._geometry(X.shape[1])
        return X

    def _row_shape(self):
        """The shape rows are read with: ``input_shape``, else the fitted one
        (that of an array of samples), else None (one series a row)."""
        if self.input_shape is not None:
            return tuple(int(v) for v in self.input_shape)
        return getattr(self, "input_shape_", None)

    def _geometry(self, n_features):
        """(channels, height, width) of a row of n_features values."""
        shape = self._row_shape() or (1, n_features)
        rows = geometry(shape)
        if int(np.prod(rows)) != n_features:
            product = " x ".join(str(v) for v in shape)
            raise ValueError(
                f"input_shape {shape} holds {product} = {int(np.prod(rows))} "
                f"values a row, but X has {n_features} features. Pass the input_shape "
                f"whose product is {n_features}, e.g. (1, {n_features}) for one series "
                "a row.")
        return rows

    def _check_same_architecture(self, n_features):
        if self.input_shape is not None and geometry(self.input_shape) != geometry(
                self.input_shape_):
            raise ValueError(
                f"input_shape changed from {self.input_shape_} to {self.input_shape} "
                "since the model was fitted; call fit without warm_start to train a "
                "new model.")
        super()._check_same_architecture(n_features)
