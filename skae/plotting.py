"""Pictures of what a model learned (the optional extra ``[plot]``: matplotlib).

Each function draws into ``ax`` (a new figure's axes when None), returns the
axes, and never calls ``plt.show()``: as scikit-learn's plotting does, the
caller decides whether to show, save or combine.

- :func:`plot_filters`: the first layer's filters as a tiled image;
- :func:`plot_reconstructions`: images above their reconstructions, and
  optionally another model's (PCA's at the same code size);
- :func:`plot_samples`: a model's samples (RBM Gibbs chains, the VAE's
  decoded prior draws);
- :func:`plot_loss_curve`: ``loss_curve_`` and the validation loss;
- :func:`plot_codes`: a 2-D code scatter, coloured by label.

:func:`tile_images` is the tiling they share, for your own pictures.
"""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_array, check_is_fitted

try:
    import matplotlib.pyplot as plt
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError("skae.plotting needs matplotlib: pip install 'skae[plot]'.") \
        from error

__all__ = ["plot_codes", "plot_filters", "plot_loss_curve", "plot_reconstructions",
           "plot_samples", "tile_images"]


def _axes(ax):
    return plt.subplots()[1] if ax is None else ax


def _check_shape(image_shape, n_features):
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2 or shape[0] * shape[1] != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)} does not hold {n_features} values a row; "
            "pass (height, width) with height * width == n_features (for MNIST, "
            "(28, 28); for load_digits, (8, 8))."
        )
    return shape


def tile_images(images, image_shape, *, n_cols=None, normalize="each", pad=1):
    """Arrange rows of images into one 2-D array, separated by NaN.

    Parameters
    ----------
    images : array-like of shape (n_images, height * width)
        One image a row.
    image_shape : (int, int)
        ``(height, width)`` of each image.
    n_cols : int or None, default=None
        Images a row of tiles; None makes the grid about square.
    normalize : {"each", "all", None}, default="each"
        Scale each image to [0, 1] by its own minimum and maximum (filters,
        whose scales differ), all of them by the common ones, or not at all.
    pad : int, default=1
        NaN pixels between tiles (drawn as the axes' background).

    Returns
    -------
    tiled : ndarray of shape (rows * (height + pad) - pad, cols * (width + pad) - pad)

    Examples
    --------
    >>> import numpy as np
    >>> from skae.plotting import tile_images
    >>> tiled = tile_images(np.arange(8.0).reshape(2, 4), (2, 2), n_cols=2)
    >>> tiled.shape
    (2, 5)
    >>> tiled[:, 2].tolist()
    [nan, nan]
    """
    images = check_array(images, dtype=np.float64, ensure_all_finite=True)
    height, width = _check_shape(image_shape, images.shape[1])
    if normalize not in ("each", "all", None):
        raise ValueError(f"normalize must be 'each', 'all' or None; got {normalize!r}.")
    n = len(images)
    n_cols = int(np.ceil(np.sqrt(n))) if n_cols is None else int(n_cols)
    n_rows = int(np.ceil(n / n_cols))
    if normalize == "each":
        low = images.min(axis=1, keepdims=True)
        span = images.max(axis=1, keepdims=True) - low
        images = (images - low) / np.where(span > 0, span, 1)
    elif normalize == "all":
        low, span = images.min(), images.max() - images.min()
        images = (images - low) / (span if span > 0 else 1)
    tiled = np.full((n_rows * (height + pad) - pad, n_cols * (width + pad) - pad), np.nan)
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        tiled[r * (height + pad):r * (height + pad) + height,
              c * (width + pad):c * (width + pad) + width] = image.reshape(height, width)
    return tiled


def _show(ax, tiled, title, cmap):
    ax.imshow(tiled, cmap=cmap, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_filters(estimator, image_shape, *, n_filters=64, ax=None, cmap="gray",
                 title=None):
    """The first layer's filters, one tile each, each scaled to [0, 1].

    A filter is the weights of one first-layer unit's connections to the
    input pixels (``components_[i]``): bright pixels excite the unit.

    Parameters
    ----------
    estimator : fitted skae autoencoder or RBM (anything with ``components_``)
    image_shape : (int, int)
        ``(height, width)`` of the input images.
    n_filters : int, default=64
        The first units' filters to draw (all of them if fewer).
    ax : matplotlib Axes or None, default=None
    cmap : str, default="gray"
    title : str or None, default=None
        None says which model and how many units.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import BernoulliRBM
    >>> from skae.plotting import plot_filters
    >>> rbm = BernoulliRBM(n_components=16, n_iter=2, random_state=0)
    >>> rbm = rbm.fit(load_digits().data / 16)
    >>> ax = plot_filters(rbm, (8, 8))
    >>> ax.images[0].get_array().shape
    (35, 35)
    """
    check_is_fitted(estimator)
    filters = np.asarray(estimator.components_)[:n_filters]
    tiled = tile_images(filters, image_shape)
    title = (f"{type(estimator).__name__}: {len(filters)} first-layer filters"
             if title is None else title)
    return _show(_axes(ax), tiled, title, cmap)


def _reconstruct(model, X):
    return model.inverse_transform(model.transform(X))


def plot_reconstructions(estimator, X, image_shape, *, n_images=10, compare_with=None,
                         ax=None, cmap="gray", title=None):
    """Images (top row) above the estimator's reconstructions of them.

    Parameters
    ----------
    estimator : fitted skae autoencoder or RBM
    X : array-like of shape (n_samples, n_features)
        The images; the first ``n_images`` are drawn.
    image_shape : (int, int)
    n_images : int, default=10
    compare_with : None, "pca" or a fitted transformer, default=None
        A third row: "pca" fits :class:`~sklearn.decomposition.PCA` on all of X
        with as many components as the estimator's code; any fitted
        transformer with ``inverse_transform`` is used as it is (to compare on
        held-out X, pass a PCA fitted on the training set).
    ax : matplotlib Axes or None, default=None
    cmap : str, default="gray"
    title : str or None, default=None

    Returns
    -------
    ax : matplotlib Axes
        Pixel values are not rescaled (``normalize="all"``): rows compare.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_reconstructions
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderTransformer(n_components=8, max_iter=5, random_state=0).fit(X)
    >>> ax = plot_reconstructions(ae, X, (8, 8), n_images=5, compare_with="pca")
    >>> ax.images[0].get_array().shape
    (26, 44)
    """
    check_is_fitted(estimator)
    X_all = check_array(X, dtype=[np.float64, np.float32])
    X = X_all[:n_images]
    rows = [X, _reconstruct(estimator, X)]
    labels = ["original", type(estimator).__name__]
    if compare_with is not None:
        other = compare_with
        if isinstance(compare_with, str):
            if compare_with != "pca":
                raise ValueError(f"compare_with must be None, 'pca' or a fitted "
                                 f"transformer; got {compare_with!r}.")
            width = estimator.transform(X[:1]).shape[1]
            other = PCA(n_components=min(width, *X_all.shape)).fit(X_all)
        rows.append(_reconstruct(other, X))
        labels.append(f"PCA ({other.n_components_})" if isinstance(other, PCA)
                      else type(other).__name__)
    stacked = np.concatenate(rows)
    tiled = tile_images(stacked, image_shape, n_cols=len(X), normalize=None)
    title = " / ".join(labels) if title is None else title
    return _show(_axes(ax), tiled, title, cmap)


def plot_samples(estimator, image_shape, *, n_samples=16, ax=None, cmap="gray",
                 title=None, **sample_params):
    """Samples of a generative model, one tile each.

    Parameters
    ----------
    estimator : fitted model with ``sample(n_samples, ...)``
        A :class:`~skae.BernoulliRBM` (Gibbs chains; ``n_steps`` in
        ``sample_params``) or a :class:`~skae.VariationalAE` (decoded draws
        from the prior; ``random_state``).
    image_shape : (int, int)
    n_samples : int, default=16
    ax : matplotlib Axes or None, default=None
    cmap : str, default="gray"
    title : str or None, default=None
    **sample_params
        Passed to ``estimator.sample``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAE
    >>> from skae.plotting import plot_samples
    >>> vae = VariationalAE(n_components=2, max_iter=5, random_state=0)
    >>> vae = vae.fit(load_digits().data / 16)
    >>> ax = plot_samples(vae, (8, 8), n_samples=4, random_state=0)
    >>> ax.images[0].get_array().shape
    (17, 17)
    """
    check_is_fitted(estimator)
    if not hasattr(estimator, "sample"):
        raise TypeError(f"{type(estimator).__name__} has no sample method; "
                        "plot_samples draws from BernoulliRBM or VariationalAE.")
    samples = estimator.sample(n_samples, **sample_params)
    tiled = tile_images(samples, image_shape, normalize=None)
    title = f"{type(estimator).__name__}: {n_samples} samples" if title is None else title
    return _show(_axes(ax), tiled, title, cmap)


def plot_loss_curve(estimator, *, ax=None, title=None):
    """Training loss per epoch, and the validation loss with early stopping.

    Parameters
    ----------
    estimator : fitted skae autoencoder
        Its ``loss_curve_`` and, when set, ``validation_scores_`` (minus the
        validation loss, drawn as the loss).
    ax : matplotlib Axes or None, default=None
    title : str or None, default=None

    Returns
    -------
    ax : matplotlib Axes
        One line per curve, labelled "training" and "validation".

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_loss_curve
    >>> ae = AutoencoderTransformer(n_components=8, max_iter=5, early_stopping=True,
    ...                             random_state=0).fit(load_digits().data / 16)
    >>> [line.get_label() for line in plot_loss_curve(ae).get_lines()]
    ['training', 'validation']
    """
    check_is_fitted(estimator)
    if not hasattr(estimator, "loss_curve_"):
        raise TypeError(
            f"{type(estimator).__name__} keeps no loss_curve_: plot_loss_curve draws "
            "the autoencoders' curves (an RBM's verbose output prints its "
            "pseudo-likelihood per epoch)."
        )
    ax = _axes(ax)
    epochs = np.arange(1, len(estimator.loss_curve_) + 1)
    ax.plot(epochs, estimator.loss_curve_, label="training")
    if getattr(estimator, "validation_scores_", None):
        ax.plot(epochs[:len(estimator.validation_scores_)],
                -np.asarray(estimator.validation_scores_), label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss per sample")
    ax.legend()
    ax.set_title(f"{type(estimator).__name__}: loss" if title is None else title)
    return ax


def plot_codes(estimator, X, y=None, *, ax=None, title=None, **scatter_params):
    """The codes of X as a 2-D scatter, coloured by y.

    Parameters
    ----------
    estimator : fitted transformer with a 2-D code
        A skae model with ``n_components=2`` (or any fitted transformer whose
        ``transform`` gives two columns, such as ``PCA(n_components=2)``).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or None, default=None
        Labels to colour by, with a legend.
    ax : matplotlib Axes or None, default=None
    title : str or None, default=None
    **scatter_params
        Passed to ``ax.scatter`` (for example ``s=2``).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import plot_codes
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=2, max_iter=5, random_state=0)
    >>> ax = plot_codes(ae.fit(X / 16), X / 16, y, s=4)
    >>> len(ax.collections)
    10
    """
    check_is_fitted(estimator)
    codes = np.asarray(estimator.transform(X))
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(
            f"plot_codes draws 2-D codes; {type(estimator).__name__} gives "
            f"{codes.shape[1]} columns. Fit it with n_components=2."
        )
    ax = _axes(ax)
    if y is None:
        ax.scatter(codes[:, 0], codes[:, 1], **scatter_params)
    else:
        y = np.asarray(y)
        if len(y) != len(codes):
            raise ValueError(f"y has {len(y)} labels for {len(codes)} samples.")
        for label in np.unique(y):
            ax.scatter(*codes[y == label].T, label=str(label), **scatter_params)
        ax.legend(markerscale=3, fontsize="small", loc="best")
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    ax.set_title(f"{type(estimator).__name__}: codes" if title is None else title)
    return ax

