"""skae.plotting on the Agg backend: what the pictures hold, not only that they exist."""

import warnings

import numpy as np
import pytest
from extras import import_extra
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer, BernoulliRBM, VariationalAE

matplotlib = import_extra("matplotlib", "plot")
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from skae import plotting
from classic import classic

DIGITS = load_digits()
X = DIGITS.data / 16


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    def refuse():
        raise AssertionError("skae.plotting must never call plt.show()")
    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


def _fit(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.set_params(random_state=0).fit(X)


def _tile(tiled, index, n_cols, shape=(8, 8), pad=1):
    r, c = divmod(index, n_cols)
    h, w = shape
    return tiled[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w]


@pytest.mark.parametrize("estimator", [classic(AutoencoderTransformer, n_components=12, max_iter=3),
                                       BernoulliRBM(n_components=12, n_iter=2)],
                         ids=lambda e: type(e).__name__)
def test_filters_are_the_normalised_first_layer_weights(estimator):
    model = _fit(estimator)
    ax = plotting.plot_filters(model, (8, 8))
    tiled = np.asarray(ax.images[0].get_array())
    n_cols = 4  # ceil(sqrt(12))
    for i, w in enumerate(np.asarray(model.components_)):
        expected = (w - w.min()) / (w.max() - w.min())
        np.testing.assert_allclose(_tile(tiled, i, n_cols), expected.reshape(8, 8))
    # The padding between tiles is NaN (the background), and nothing else is.
    assert np.isnan(tiled[:, 8]).all()
    assert np.isnan(tiled).sum() == tiled.size - 12 * 64


def test_reconstructions_rows_are_originals_the_model_and_pca():
    ae = _fit(classic(AutoencoderTransformer, n_components=6, max_iter=3))
    ax = plotting.plot_reconstructions(ae, X, (8, 8), n_images=5, compare_with="pca")
    tiled = np.asarray(ax.images[0].get_array())
    pca = PCA(n_components=6).fit(X)
    rows = [X[:5], ae.inverse_transform(ae.transform(X[:5])),
            pca.inverse_transform(pca.transform(X[:5]))]
    for r, images in enumerate(rows):
        for c in range(5):
            np.testing.assert_allclose(_tile(tiled, r * 5 + c, 5), images[c].reshape(8, 8),
                                       rtol=1e-6, atol=1e-6)
    assert ax.get_title() == "original / AutoencoderTransformer / PCA (6)"


def test_reconstructions_compare_with_a_fitted_model_as_given():
    ae = _fit(classic(AutoencoderTransformer, n_components=6, max_iter=3))
    pca = PCA(n_components=6).fit(X)
    ax = plotting.plot_reconstructions(ae, X[-3:], (8, 8), compare_with=pca)
    tiled = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(_tile(tiled, 6, 3),
                               pca.inverse_transform(pca.transform(X[-3:]))[0].reshape(8, 8))


def test_samples_are_the_models_samples():
    vae = _fit(VariationalAE(n_components=2, max_iter=3))
    ax = plotting.plot_samples(vae, (8, 8), n_samples=6, random_state=3)
    tiled = np.asarray(ax.images[0].get_array())
    samples = vae.sample(6, random_state=3)
    for i in range(6):
        np.testing.assert_allclose(_tile(tiled, i, 3), samples[i].reshape(8, 8), rtol=1e-6)


def test_rbm_samples_come_from_gibbs_chains():
    rbm = _fit(BernoulliRBM(n_components=8, n_iter=2))
    ax = plotting.plot_samples(rbm, (8, 8), n_samples=4, n_steps=5)
    values = np.asarray(ax.images[0].get_array())
    assert set(np.unique(values[~np.isnan(values)])) <= {0.0, 1.0}


def test_loss_curve_draws_training_and_validation_losses():
    ae = _fit(classic(AutoencoderTransformer, n_components=6, max_iter=6, early_stopping=True))
    _, ax = plt.subplots()
    assert plotting.plot_loss_curve(ae, ax=ax) is ax
    training, validation = ax.get_lines()
    np.testing.assert_array_equal(training.get_ydata(), ae.loss_curve_)
    np.testing.assert_array_equal(validation.get_ydata(), -np.asarray(ae.validation_scores_))
    np.testing.assert_array_equal(training.get_xdata(), np.arange(1, ae.n_iter_ + 1))


def test_codes_scatter_one_colour_per_label_at_the_codes():
    ae = _fit(classic(AutoencoderTransformer, n_components=2, max_iter=3))
    ax = plotting.plot_codes(ae, X, DIGITS.target)
    codes = ae.transform(X)
    assert len(ax.collections) == 10
    for label, points in enumerate(ax.collections):
        np.testing.assert_allclose(points.get_offsets(), codes[DIGITS.target == label])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [str(d) for d in range(10)]


def test_the_figures_render():
    # Drawing for real (Agg) catches what building the artists does not.
    ae = _fit(classic(AutoencoderTransformer, n_components=2, max_iter=3))
    fig, axes = plt.subplots(1, 3)
    plotting.plot_filters(ae, (8, 8), ax=axes[0])
    plotting.plot_reconstructions(ae, X, (8, 8), ax=axes[1])
    plotting.plot_codes(ae, X, ax=axes[2])
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())
    assert pixels.std() > 0


def test_bad_calls_say_what_to_change():
    ae = _fit(classic(AutoencoderTransformer, n_components=3, max_iter=2))
    with pytest.raises(ValueError, match=r"height \* width == n_features"):
        plotting.plot_filters(ae, (7, 7))
    with pytest.raises(ValueError, match="Fit it with n_components=2"):
        plotting.plot_codes(ae, X)
    with pytest.raises(ValueError, match="compare_with must be"):
        plotting.plot_reconstructions(ae, X, (8, 8), compare_with="nmf")
    with pytest.raises(TypeError, match="keeps no loss_curve_"):
        plotting.plot_loss_curve(_fit(BernoulliRBM(n_iter=1)))
    with pytest.raises(TypeError, match="has no sample method"):
        plotting.plot_samples(ae, (8, 8))
    with pytest.raises(ValueError, match="4 labels for"):
        plotting.plot_codes(_fit(classic(AutoencoderTransformer, n_components=2, max_iter=2)), X,
                            [0, 1, 2, 3])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_module_examples_run():
    import doctest

    result = doctest.testmod(plotting, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
