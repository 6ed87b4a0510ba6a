"""VariationalAE: a variational autoencoder (Kingma and Welling, 2014).

The network is the autoencoders' layer table with one new kind of layer: the
encoder's last dense layer has 2 * n_components units, the means and log
variances of q(z|x) (its two heads), and a sampling layer without parameters
(layers/sampling.pxd) turns them into z = mu + sigma * eps, adding the KL
divergence from the prior to the objective; the decoder maps z back. Training,
early stopping, warm starts, interrupts and thread choice are the other
autoencoders', from BaseAutoencoder.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .dense import _fill_doc
from .base import BaseAutoencoder
from .._core.layers import DENSE, GAUSSIAN_SAMPLE, build_table, layer_row
from .._core.common import (
    check_count,
    clip_unit_interval,
    inference_threads,
    kernel_input,
    row_hashes,
)
from .._kernels import _network

# The ELBO of score_samples draws row i's noise from a stream seeded by a hash
# of the row's values and this seed: equal rows score alike, and scores repeat.
_SCORE_SEED = 0x5EED_0F_E1B0


@_fill_doc(own=("hidden_layer_sizes", "activation", "code_activation",
                "output_activation", "loss", "huber_delta", "alpha"))
class VariationalAE(BaseAutoencoder):
    """Variational autoencoder: a generative model with a Gaussian latent code.

    The encoder maps each sample to the mean and log variance of a Gaussian
    posterior q(z|x) over ``n_components`` latent variables (two linear heads
    on the last hidden layer); training draws z = mu + sigma * eps, eps ~ N(0, I),
    inside the compiled pass (the reparameterisation trick, from the
    estimator's random stream) and decodes it. The objective is the negative
    evidence lower bound, reconstruction loss plus ``beta`` times
    KL(q(z|x) || N(0, I)) in closed form, averaged over samples.

    ``transform`` returns the posterior means, ``inverse_transform`` the
    decoder's mean for given codes, ``sample`` draws from the prior through the
    decoder, ``score_samples`` is each sample's ELBO and ``log_likelihood`` the
    importance-weighted estimate of log p(x) (Burda et al., 2016).

    Parameters
    ----------
    n_components : int, default=16
        Number of latent variables.
    hidden_layer_sizes : tuple of int, default=(256,)
        Sizes of the encoder's hidden layers; the decoder mirrors them. ``()``
        puts the heads directly on the input.
    activation : {"relu", "tanh", "sigmoid", "elu", "softplus", "identity"}, \
            default="relu"
        Activation of the hidden layers (encoder and decoder).
    loss : {"auto", "binary_crossentropy", "squared_error"}, default="auto"
        The decoder: Bernoulli (binary cross-entropy on a sigmoid output, X in
        [0, 1]; the ELBO is then in nats) or Gaussian with unit variance up to
        a constant (squared error on a linear output). "auto" chooses at
        ``fit`` from the training data: Bernoulli when every value lies in
        [0, 1] (images scaled to [0, 1], binary data), Gaussian otherwise; the
        choice is kept for ``partial_fit`` and scoring.
    beta : float, default=1.0
        Weight of the KL term (Higgins et al., 2017): 1 is the ELBO, larger
        values trade reconstruction for a more factorised code.
    kl_warmup : int, default=0
        Epochs over which the KL weight ramps linearly up to ``beta`` (epoch
        ``t`` of training uses ``beta * min(1, t / kl_warmup)``, counting from 1):
        a remedy for posterior collapse, where the code stays at the prior
        because the KL term wins before the decoder learns to use it. 0 trains
        with ``beta`` from the start.
    alpha : float, default=0.0
        L2 penalty on the weights, added to the mean objective per sample.
    <shared parameters>
    Attributes
    ----------
    <shared attributes>
    See Also
    --------
    AutoencoderTransformer : The deterministic autoencoder.
    BernoulliRBM : Another generative model of binary data.

    Notes
    -----
    ``tied_weights`` ties each decoder hidden layer to its mirror encoder layer;
    the decoder's first layer keeps its own matrix (the mirror is the heads'
    matrix, whose columns interleave means and log variances). ``loss_curve_``
    holds the training objective with the epoch's KL weight; ``score_samples``
    and ``log_likelihood`` use weight 1.

    References
    ----------
    Kingma, D. P. and Welling, M. (2014). Auto-encoding variational Bayes. ICLR.

    Burda, Y., Grosse, R. and Salakhutdinov, R. (2016). Importance weighted
    autoencoders. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAE
    >>> X = load_digits().data / 16
    >>> vae = VariationalAE(n_components=4, hidden_layer_sizes=(32,), max_iter=30,
    ...                     random_state=0).fit(X)
    >>> vae.transform(X).shape
    (1797, 4)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    >>> vae.log_likelihood(X[:5], n_samples=100).shape
    (5,)
    """


    _parameter_constraints: dict = {
        **{name: constraint
           for name, constraint in BaseAutoencoder._parameter_constraints.items()
           if name not in ("code_activation", "output_activation", "huber_delta",
                           "init")},
        "loss": [StrOptions({"auto", "binary_crossentropy", "squared_error"})],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=16,
        *,
        hidden_layer_sizes=(256,),
        activation="relu",
        loss="auto",
        missing=None,
        missing_fill="mean",
        beta=1.0,
        kl_warmup=0,
        tied_weights=False,
        solver="adam",
        alpha=0.0,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        random_state=None,
        verbose=False,
        warm_start=False,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.missing = missing
        self.missing_fill = missing_fill
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.tied_weights = tied_weights
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.max_fun = max_fun
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    # ------------------------------------------------------------ architecture

    def _loss_for_data(self, X):
        if self.loss != "auto":
            return self.loss
        values = X.data if sp.issparse(X) else X
        inside = not values.size or (np.nanmin(values) >= 0 and np.nanmax(values) <= 1)
        return "binary_crossentropy" if inside else "squared_error"

    @property
    def _n_encoder_layers(self):
        # The hidden layers, the heads and the sampling layer: the code layer
        # (what transform returns) is the sampling layer, the posterior mean.
        return len(self.hidden_layer_sizes) + 2

    # The heads are linear and the output follows the loss (not parameters here;
    # nor is the Huber loss, which is not a likelihood); a sampling layer sits
    # between the encoder and the decoder, so no start at PCA.

    def _code_activation(self):
        return "identity"

    def _output_activation(self):
        return "sigmoid" if self._chosen_loss() == "binary_crossentropy" else "identity"

    def _huber_threshold(self):
        return 1.0

    def _init_option(self):
        return "random"

    def _layer_table(self, n_features):
        """Encoder E_0..E_{m-1}, heads (2k, linear), sampling layer, decoder
        D_0..D_m; weights first (D_j mirrors E_{m-j} when tied, j >= 1), then
        biases."""
        hidden = list(self.hidden_layer_sizes)
        k, m = self.n_components, len(hidden)
        encoder = [n_features, *hidden, 2 * k]
        decoder = [k, *reversed(hidden), n_features]
        layers = [DENSE.layer(encoder[i], encoder[i + 1], self.activation)
                  for i in range(m)]
        layers.append(DENSE.layer(encoder[m], 2 * k, "identity"))
        layers.append(GAUSSIAN_SAMPLE.layer(2 * k))
        for j in range(m + 1):
            act = self.activation if j < m else self._output_activation()
            # D_j (layer m + 2 + j) mirrors E_{m-j} (layer m - j).
            tied = m - j if self.tied_weights and j >= 1 else None
            layers.append(DENSE.layer(decoder[j], decoder[j + 1], act, tied))
        return build_table(layers)

    def _initial_params(self, layers, n_params, dtype, generator):
        """Glorot-uniform weights as the other autoencoders, but the output
        layer's without the sigmoid's factor of 4.

        That factor keeps the signal from shrinking through sigmoid hidden
        layers; the Bernoulli decoder's sigmoid only turns its logits into
        probabilities, with no layer after it (benchmarks/bench_vae.py
        compares the two). The same draws, scaled: still one stream.
        """
        params = super()._initial_params(layers, n_params, dtype, generator)
        out = layer_row(layers[-1])
        if out["activation"] == _network.ACTIVATIONS["sigmoid"] and not out["transposed"]:
            w = out["w_offset"]
            params[w : w + out["n_in"] * out["n_out"]] /= 4
        return params

    # ---------------------------------------------------------------- training

    def _latent_config(self):
        return {"beta": float(self.beta)}

    def _epoch_config(self, config):
        config = super()._epoch_config(config)
        if not self.kl_warmup:
            return config
        ramp = min(1.0, (self.n_iter_ + 1) / self.kl_warmup)
        return dict(config, latent={"beta": float(self.beta) * ramp})

    def _row_losses(self, X, rows=None):
        """The negative ELBO of each row of X (or X[rows]), one draw of z each,
        from a stream seeded by the row's values."""
        seeds = row_hashes(X if rows is None else X[rows], _SCORE_SEED)
        return super()._row_losses(X, rows=rows, row_seeds=seeds)

    # ------------------------------------------------------------ generation

    def score_samples(self, X):
        """The evidence lower bound of each sample, from one draw of z.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            ``E_q[log p(x|z)] - KL(q(z|x) || p(z))``, estimated with one draw of
            z per sample (seeded by the sample's values, so equal samples score
            alike and scores repeat); in nats with the Bernoulli decoder, up to
            a constant with the Gaussian one. ``log_likelihood`` is tighter.
        """
        return super().score_samples(X)

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the model: z from the prior, then the decoder's mean.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws of z; an int repeats them exactly.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            The decoder's means E[x|z] (probabilities with the Bernoulli
            decoder), in the model's dtype.
        """
        check_is_fitted(self)
        n_samples = check_count(n_samples, "n_samples", 0)
        Z = check_random_state(random_state).standard_normal(
            (n_samples, self._n_features_out))
        return self.inverse_transform(Z.astype(self._params.dtype))

    def log_likelihood(self, X, n_samples=1000, random_state=None):
        """Importance-weighted estimate of each sample's log-likelihood.

        ``log (1/S) sum_s p(x, z_s) / q(z_s|x)`` with z_s drawn from q(z|x)
        (Burda et al., 2016): a lower bound on log p(x) that rises towards it as
        ``n_samples`` grows, and equals the ELBO's expectation for one sample.
        Computed in the compiled kernel, a chunk of rows at a time, in memory
        that does not grow with ``n_samples``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.
        n_samples : int, default=1000
            Importance samples per row.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; None draws them from each row's values, so that
            equal rows get equal estimates.

        Returns
        -------
        log_px : ndarray of shape (n_rows,)
            In nats with the Bernoulli decoder (``loss="binary_crossentropy"``);
            up to a constant with the Gaussian one. With ``missing``, the
            log-likelihood of each row's observed entries.
        """
        check_is_fitted(self)
        n_samples = check_count(n_samples, "n_samples", 1)
        X = self._validate_X(X, reset=False)
        if self._loss == "binary_crossentropy":
            X = clip_unit_interval(X)
        if random_state is None:
            seeds = row_hashes(X, _SCORE_SEED)
        else:
            seeds = check_random_state(random_state).randint(
                0, 2**63, size=X.shape[0], dtype=np.int64).astype(np.uint64)
        out = np.empty(X.shape[0], dtype=np.float64)
        if X.shape[0] == 0:
            return out
        _, chunk, work, missing, fill = self._inference(X, None, 0)
        with inference_threads(self) as threads:
            _network.importance_log_likelihood(
                *kernel_input(X), self._params, self._layers,
                _network.LOSSES[self._loss], int(n_samples), seeds, out, work, chunk,
                threads, missing, fill,
            )
        return out
