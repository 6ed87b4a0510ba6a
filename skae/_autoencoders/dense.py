"""The dense autoencoders: AutoencoderTransformer and its regularised variants.

All four share BaseAutoencoder and one compiled training pass; a variant only
declares its parameters and sets its fields of the kernel's configuration
(corruption noise, sparsity or contraction penalty on the code layer).
"""

import re
from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from .base import BaseAutoencoder
from .._kernels import _network

# Documentation shared by every dense autoencoder, filled in by _fill_doc.
_PARAMETERS_DOC = """\
    hidden_layer_sizes : tuple of int, default=(128,)
        Sizes of the encoder layers between the input and the code layer; the
        decoder mirrors them. ``()`` is a single-layer autoencoder.
    activation : {"sigmoid", "tanh", "relu", "elu", "softplus", "identity"}, \
            default="relu"
        Activation of the hidden layers (encoder and decoder).
    code_activation : str or None, default="identity"
        Activation of the code layer; None uses ``activation``. "identity" gives
        a linear code layer, as PCA's.
    output_activation : str or None, default=None
        Activation of the output layer; None uses the sigmoid with
        ``loss="binary_crossentropy"`` (the only one it accepts) and the identity
        with ``loss="squared_error"``.
    loss : {"squared_error", "binary_crossentropy", "huber"}, \
            default="squared_error"
        Reconstruction loss, summed over features. Binary cross-entropy needs X
        in [0, 1] and is computed from the logits, stably. "huber" is the
        squared error on errors up to ``huber_delta`` and grows linearly beyond
        (``huber_delta * (2 |e| - huber_delta)``): robust to outliers in the
        training set, which pull on the fit no harder than ``huber_delta`` each.
    huber_delta : float, default=1.0
        Where the Huber loss turns from quadratic to linear, in the units of X
        (1.0 suits standardised data); unused by the other losses.
    missing : {None, "nan", "unstored"}, default=None
        Which entries of X are missing: None, none (NaN is an error); "nan",
        those that are NaN (scikit-learn's imputers' convention; dense or
        sparse X); "unstored", those that a CSR matrix does not store (a
        ratings matrix, where stored zeros are an error). Training and
        ``score_samples`` count the observed entries only; a missing entry
        enters the network as ``input_fill_`` (see ``missing_fill`` for
        "nan"; 0 with "unstored").
    missing_fill : "mean" or array-like of shape (n_features,), default="mean"
        With ``missing="nan"``, the value each missing entry enters the network
        as: "mean", its feature's mean over the observed entries of the first
        fit's data (as :class:`~sklearn.impute.SimpleImputer` fills); or the
        given values, one a feature (:class:`AutoencoderImputer` passes its
        ``initial_strategy``'s). Unused otherwise.
    tied_weights : bool, default=False
        Use the transpose of each encoder matrix in the mirrored decoder layer
        (no copy; the two layers share one gradient).
    init : {"auto", "pca", "random"}, default="auto"
        The starting weights. "random" draws Glorot-uniform weights. "pca"
        starts the network as PCA's projection and reconstruction with
        ``n_components`` components: in each hidden layer ``n_components``
        units carry the principal scores on the linear side of their
        activation, the other units keep random weights and feed the output
        nothing yet, so training starts at PCA's solution and learns what
        improves on it; with ``early_stopping``, whose candidates include the
        starting weights, the validation rows are never reconstructed worse
        than PCA does. It needs piecewise linear activations (identity, relu,
        elu, softplus), an identity output, hidden layers at least
        ``n_components`` wide, fewer components than features (at most
        4096 features), no missing entries and untied deep layers. "auto" is
        "pca" where it applies and "random" elsewhere.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Optimizer. "sgd" uses ``momentum`` and ``nesterovs_momentum``.
        "lbfgs" is scipy's L-BFGS-B over the objective on the whole training
        set (evaluated in the compiled kernel in chunks of ``batch_size``
        rows, with the noise of a denoising or variational model drawn the
        same at every evaluation, so that it optimises one fixed objective):
        it suits small data sets and the final, full-batch fine-tuning of a
        deep autoencoder. It ignores the learning-rate parameters,
        ``shuffle`` and ``early_stopping``, and has no ``partial_fit``.
    alpha : float, default=1e-4
        L2 penalty: ``alpha / 2 * sum ||W||^2`` over weight matrices (biases
        excluded, tied matrices once) is added to the mean loss per sample.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of the step size of "adam" and "sgd", by scikit-learn's MLP
        formulas (which it applies to "sgd" only); each epoch uses:

        - "constant": ``learning_rate_init``;
        - "invscaling": ``learning_rate_init / (t_ + 1) ** power_t``, with
          ``t_`` the training samples seen before the epoch;
        - "adaptive": ``learning_rate_init``, divided by 5 each time the loss
          (or the validation score) fails to improve by ``tol`` for
          ``n_iter_no_change`` epochs, where training would otherwise stop;
          it stops once the step size is at or below 1e-6.

    learning_rate_init : float, default=1e-3
        Step size of the optimizer (its first, with a schedule).
    power_t : float, default=0.5
        Exponent of ``learning_rate="invscaling"``.
    max_iter : int, default=500
        Maximum number of epochs of ``fit`` (of iterations, for "lbfgs").
    max_fun : int, default=15000
        Maximum number of objective evaluations of "lbfgs".
    tol : float, default=1e-4
        Stop when the training loss (or the validation score, with early
        stopping) has not improved by ``tol`` times its best value so far for
        ``n_iter_no_change`` epochs: a relative tolerance, whatever X's units
        and number of features (scikit-learn's MLP compares an absolute
        ``tol``, which stopped a linear autoencoder on digits at 1.26 times
        PCA's error while it was still converging).
    n_iter_no_change : int, default=20
        See ``tol``.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows, score their
        reconstruction after every epoch, stop when the score stops improving
        and keep the best weights, the starting ones included. Needs at least
        two rows.
    validation_fraction : float, default=0.1
        Fraction of the rows held out with ``early_stopping``.
    shuffle : bool, default=True
        Visit the rows in a new random order every epoch.
    momentum : float, default=0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
        Nesterov momentum for "sgd".
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the row order and the validation split. The same
        seed, data and thread count give bit-identical results.
    verbose : bool or int, default=False
        Any true value prints one line per epoch: the mean loss per sample
        (summed over features) and the epoch's time, then the validation
        score with early stopping.
    warm_start : bool, default=False
        ``fit`` continues from the current weights (with a fresh optimizer)
        instead of starting anew.

"""

_ATTRIBUTES_DOC = """\
    coefs_ : list of ndarray
        Weight matrix of each layer, shape (n_in, n_out); encoder, then decoder.
    intercepts_ : list of ndarray
        Bias vector of each layer.
    components_ : ndarray of shape (n_units, n_features)
        Filters of the first layer (``n_components`` of them for a single-layer
        model), comparable to ``PCA.components_``.
    loss_curve_ : list of float
        Mean training loss per sample after each epoch (L2 penalty included).
    best_loss_ : float
        Lowest value of ``loss_curve_``.
    validation_scores_ : list of float or None
        With ``early_stopping``, the validation score (minus the mean
        reconstruction loss) after each epoch.
    best_validation_score_ : float or None
        Best validation score, that of the starting weights included.
    input_fill_ : ndarray of shape (n_features,) or None
        With ``missing="nan"``, the value a missing entry enters the network
        as (``missing_fill``'s; with "mean", 0 for a feature never observed);
        None otherwise.
    n_iter_ : int
        Number of epochs trained.
    t_ : int
        Number of training samples seen.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the features seen during ``fit``, when they are all strings.

"""


def _without_entries(doc, names):
    """doc with the numpydoc entries of the given parameter names left out."""
    entries = re.split(r"(?m)^(?=    [a-z_, ]+ : )", doc)
    kept = [e for e in entries if e.split(" : ")[0].strip() not in names]
    return "".join(kept)


def _fill_doc(cls=None, *, own=()):
    """Put the shared parameter and attribute docs into cls's docstring,
    without the entries of the parameters in ``own`` (documented by cls)."""

    def fill(cls):
        parameters = _without_entries(_PARAMETERS_DOC, set(own))
        cls.__doc__ = cls.__doc__.replace("    <shared parameters>\n", parameters)
        cls.__doc__ = cls.__doc__.replace("    <shared attributes>\n", _ATTRIBUTES_DOC)
        return cls

    return fill if cls is None else fill(cls)


@_fill_doc
class AutoencoderTransformer(BaseAutoencoder):
    """Autoencoder as a scikit-learn transformer, trained by compiled kernels.

    A symmetric dense network: encoder layers ``hidden_layer_sizes``, a code
    layer of ``n_components`` units, and the mirrored decoder. ``transform``
    returns the codes, ``inverse_transform`` decodes them, and ``score`` is minus
    the mean reconstruction loss, so the estimator drops into a ``Pipeline`` in
    place of :class:`~sklearn.decomposition.PCA` and into ``GridSearchCV``
    without labels.

    Each epoch runs as one call into a Cython kernel with the GIL released
    (minibatch gathering, forward, loss, backward, penalty and optimizer update);
    float32 input is trained and transformed in float32.

    Parameters
    ----------
    n_components : int, default=32
        Number of units of the code layer.
    <shared parameters>
    Attributes
    ----------
    <shared attributes>
    See Also
    --------
    sklearn.decomposition.PCA : Linear projection; a linear autoencoder with
        squared error spans the same subspace.
    sklearn.neural_network.MLPRegressor : Trains the same network on (X, X), in
        NumPy.

    Notes
    -----
    One epoch costs about ``6 * n_samples * sum(n_in * n_out)`` floating-point
    operations (forward, two backward products per layer), almost all of it in
    BLAS GEMM. Memory beyond X is the parameters, the optimizer state and one
    minibatch's activations: X is never copied when it is a C-contiguous float32
    or float64 array (other layouts are converted once). Sparse rows are
    densified a minibatch at a time.

    References
    ----------
    Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality
    of data with neural networks. Science, 313(5786), 504-507.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import AutoencoderTransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=16, max_iter=20, random_state=0)
    >>> model = make_pipeline(MinMaxScaler(), ae, LogisticRegression(max_iter=1000))
    >>> model.fit(X, y).score(X, y) > 0.8
    True
    >>> ae.transform(MinMaxScaler().fit_transform(X)).shape
    (1797, 16)
    """

    _bottleneck_only = True

    def __init__(
        self,
        n_components=32,
        *,
        hidden_layer_sizes=(128,),
        activation="relu",
        code_activation="identity",
        output_activation=None,
        loss="squared_error",
        huber_delta=1.0,
        missing=None,
        missing_fill="mean",
        tied_weights=False,
        init="auto",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=500,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=20,
        early_stopping=True,
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
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            output_activation=output_activation,
            loss=loss,
            huber_delta=huber_delta,
            missing=missing,
            missing_fill=missing_fill,
            tied_weights=tied_weights,
            init=init,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            max_fun=max_fun,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )


@_fill_doc(own=("early_stopping",))
class DenoisingAE(BaseAutoencoder):
    """Denoising autoencoder: learns to reconstruct inputs from corrupted copies.

    Every minibatch of every epoch is corrupted afresh inside the compiled
    training pass (drawn from the estimator's random stream), and the loss
    compares the reconstruction with the clean input (Vincent et al., 2008).
    ``transform``, ``inverse_transform`` and ``score`` never add noise.

    Parameters
    ----------
    n_components : int, default=32
        Number of units of the code layer.
    noise : {"masking", "gaussian", "salt_and_pepper"}, default="gaussian"
        Corruption: "masking" zeroes each input value with probability
        ``noise_level``; "gaussian" adds ``noise_level`` times standard normal
        noise, the default: it is unbiased, so the network needs no rescaling
        to read clean rows (on digits at 16 and 32 components, trained the
        same way, masking 25% of the values gave a clean reconstruction 1.07
        and 3.79 times PCA's error, Gaussian noise of 0.1 0.65 and 1.14);
        "salt_and_pepper" sets each value, with probability ``noise_level``,
        to 0 or 1 with equal odds.
    noise_level : float, default=0.1
        Fraction of values corrupted (masking, salt and pepper; in [0, 1]) or
        the standard deviation of the Gaussian noise.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, score their clean
        reconstruction after every epoch, stop when the score stops improving
        and keep the best weights, the starting ones included. Off by
        default: the network is trained to undo the noise, which a clean
        reconstruction score does not measure (with it, masking 40% of
        digits' values left the network at its PCA start, 1.00x PCA's
        denoising error; without it 0.35x).
    <shared parameters>

    Attributes
    ----------
    <shared attributes>

    See Also
    --------
    AutoencoderTransformer : The same network without corruption.
    SparseAE : Sparsity penalty on the code.
    ContractiveAE : Penalty on the encoder's Jacobian.

    Notes
    -----
    Corruption costs one 64-bit draw per two values (masking), per value (salt
    and pepper) or about one per value (Gaussian, by a 256-layer ziggurat), from
    a per-row stream seeded from the estimator's generator. It
    is applied to the dense minibatch buffer, so CSR input is corrupted exactly
    as the same rows given densely (masking a stored zero changes nothing);
    dense and sparse input therefore train the same model.

    References
    ----------
    Vincent, P., Larochelle, H., Bengio, Y. and Manzagol, P.-A. (2008).
    Extracting and composing robust features with denoising autoencoders.
    Proceedings of ICML, 1096-1103.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import DenoisingAE
    >>> X, y = load_digits(return_X_y=True)
    >>> dae = DenoisingAE(n_components=64, noise_level=0.2, max_iter=30, random_state=0)
    >>> model = make_pipeline(MinMaxScaler(), dae, LogisticRegression(max_iter=1000))
    >>> model.fit(X, y).score(X, y) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "noise": [StrOptions({"masking", "gaussian", "salt_and_pepper"})],
        "noise_level": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=32,
        *,
        noise="gaussian",
        noise_level=0.1,
        hidden_layer_sizes=(128,),
        activation="relu",
        code_activation="identity",
        output_activation=None,
        loss="squared_error",
        huber_delta=1.0,
        missing=None,
        missing_fill="mean",
        tied_weights=False,
        init="auto",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=500,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=20,
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
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            output_activation=output_activation,
            loss=loss,
            huber_delta=huber_delta,
            missing=missing,
            missing_fill=missing_fill,
            tied_weights=tied_weights,
            init=init,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            max_fun=max_fun,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.noise = noise
        self.noise_level = noise_level

    def _check_params(self):
        super()._check_params()
        if self.noise in ("masking", "salt_and_pepper") and self.noise_level > 1:
            raise ValueError(
                f"noise_level is the fraction of corrupted values with noise="
                f"{self.noise!r} and must be in [0, 1]; got {self.noise_level}."
            )

    def _noise_config(self):
        return {"kind": _network.NOISES[self.noise], "level": float(self.noise_level)}


@_fill_doc
class SparseAE(BaseAutoencoder):
    """Sparse autoencoder: a penalty keeps each code unit mostly inactive.

    With ``sparsity="kl"`` the penalty is ``sparsity_weight`` times the sum
    over code units of KL(rho || rho_hat_j), the Kullback-Leibler divergence
    between a target activation rho (``sparsity_target``) and the unit's mean
    activation rho_hat_j, estimated over minibatches by the running average
    ``rho_hat_t = decay * rho_hat_(t-1) + (1 - decay) * rho_hat_batch``
    (``sparsity_decay``; 0 uses each minibatch alone), as in Ng's sparse
    autoencoder notes. With ``sparsity="l1"`` it is ``sparsity_weight`` times
    the mean over samples of the summed absolute code activations.

    Parameters
    ----------
    n_components : int, default=32
        Number of units of the code layer.
    sparsity : {"kl", "l1"}, default="l1"
        The sparsity penalty. "kl" needs a code in (0, 1):
        ``code_activation="sigmoid"``.
    sparsity_target : float, default=0.05
        Target mean activation rho of each code unit ("kl"), in (0, 1).
    sparsity_weight : float, default=1e-3
        Weight beta of the penalty.
    sparsity_decay : float, default=0.0
        Weight lambda, in [0, 1), of the previous estimate in the running mean
        activation ("kl"). The gradient is exact for the running estimate, so
        the penalty's gradient through the current minibatch is scaled by
        ``1 - sparsity_decay``.
    <shared parameters>

    Attributes
    ----------
    <shared attributes>

    See Also
    --------
    AutoencoderTransformer : The same network without the penalty.
    DenoisingAE : Corrupted inputs instead of a penalty.

    Notes
    -----
    "kl" needs code activations in (0, 1), so the code layer must be sigmoid.
    The penalty adds one pass over the code activations per minibatch. The loss
    curve includes it; ``score`` is the reconstruction alone.

    References
    ----------
    Ng, A. (2011). Sparse autoencoder. CS294A Lecture notes, Stanford
    University.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import minmax_scale
    >>> from skae import SparseAE
    >>> X = minmax_scale(load_digits().data)
    >>> sae = SparseAE(n_components=64, sparsity="kl", code_activation="sigmoid",
    ...                sparsity_target=0.1, sparsity_weight=1.0, max_iter=30,
    ...                random_state=0).fit(X)
    >>> float(sae.transform(X).mean()) < 0.2
    True
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "sparsity": [StrOptions({"kl", "l1"})],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        "sparsity_decay": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        n_components=32,
        *,
        sparsity="l1",
        sparsity_target=0.05,
        sparsity_weight=1e-3,
        sparsity_decay=0.0,
        hidden_layer_sizes=(128,),
        activation="relu",
        code_activation="identity",
        output_activation=None,
        loss="squared_error",
        huber_delta=1.0,
        missing=None,
        missing_fill="mean",
        tied_weights=False,
        init="auto",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=500,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=20,
        early_stopping=True,
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
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            output_activation=output_activation,
            loss=loss,
            huber_delta=huber_delta,
            missing=missing,
            missing_fill=missing_fill,
            tied_weights=tied_weights,
            init=init,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            max_fun=max_fun,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.sparsity = sparsity
        self.sparsity_target = sparsity_target
        self.sparsity_weight = sparsity_weight
        self.sparsity_decay = sparsity_decay

    def _check_params(self):
        super()._check_params()
        if self.sparsity == "kl" and self._code_activation() != "sigmoid":
            raise ValueError(
                "sparsity='kl' needs code activations in (0, 1), so a sigmoid code "
                f"layer; got code activation {self._code_activation()!r}. Use "
                "activation='sigmoid' (or code_activation='sigmoid'), or sparsity='l1'."
            )

    def _penalty_config(self):
        return dict(
            super()._penalty_config(),
            sparsity=_network.SPARSITIES[self.sparsity],
            sparsity_target=float(self.sparsity_target),
            sparsity_weight=float(self.sparsity_weight),
            sparsity_decay=float(self.sparsity_decay),
        )


@_fill_doc(own=("code_activation",))
class ContractiveAE(BaseAutoencoder):
    """Contractive autoencoder: penalises the encoder's sensitivity to its input.

    Adds ``contraction_weight`` times the squared Frobenius norm of the Jacobian
    of the code with respect to the input, averaged over samples (Rifai et al.,
    2011). For a code layer ``h = f(x W + b)`` with a sigmoid or tanh ``f`` it
    has the closed form ``sum_j f'(z_j)^2 * sum_i W_ij^2``.

    Parameters
    ----------
    n_components : int, default=32
        Number of units of the code layer.
    contraction_weight : float, default=0.01
        Weight of the contraction penalty.
    code_activation : {"sigmoid", "tanh"}, default="tanh"
        Activation of the code layer: the closed-form Jacobian needs a
        sigmoid or tanh (so this model starts at random weights, not at PCA).
    <shared parameters>

    Attributes
    ----------
    <shared attributes>

    See Also
    --------
    AutoencoderTransformer : The same network without the penalty.
    DenoisingAE : Robustness through corrupted inputs instead.

    Notes
    -----
    With ``hidden_layer_sizes=()`` the penalty is exactly the Jacobian of the
    code with respect to the input. With a deeper encoder it is the Jacobian of
    the code layer with respect to its own input (the last hidden layer): the
    full product of layer Jacobians has no cheap closed form. Stack one-layer
    contractive autoencoders (``StackedAE``) to contract every layer. The
    penalty costs two passes over the code layer's weights per minibatch.

    References
    ----------
    Rifai, S., Vincent, P., Muller, X., Glorot, X. and Bengio, Y. (2011).
    Contractive auto-encoders: explicit invariance during feature extraction.
    Proceedings of ICML, 833-840.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import minmax_scale
    >>> from skae import ContractiveAE
    >>> X = minmax_scale(load_digits().data)
    >>> cae = ContractiveAE(n_components=16, max_iter=20, random_state=0).fit(X)
    >>> cae.transform(X).shape
    (1797, 16)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "contraction_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=32,
        *,
        contraction_weight=0.01,
        hidden_layer_sizes=(128,),
        activation="relu",
        code_activation="tanh",
        output_activation=None,
        loss="squared_error",
        huber_delta=1.0,
        missing=None,
        missing_fill="mean",
        tied_weights=False,
        init="auto",
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=500,
        max_fun=15000,
        tol=1e-4,
        n_iter_no_change=20,
        early_stopping=True,
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
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            output_activation=output_activation,
            loss=loss,
            huber_delta=huber_delta,
            missing=missing,
            missing_fill=missing_fill,
            tied_weights=tied_weights,
            init=init,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            max_fun=max_fun,
            tol=tol,
            n_iter_no_change=n_iter_no_change,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            shuffle=shuffle,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
        )
        self.contraction_weight = contraction_weight

    def _check_params(self):
        super()._check_params()
        if self._code_activation() not in ("sigmoid", "tanh"):
            raise ValueError(
                "ContractiveAE's closed-form Jacobian needs a sigmoid or tanh code "
                f"layer; got code activation {self._code_activation()!r}."
            )

    def _penalty_config(self):
        return dict(super()._penalty_config(),
                    contraction_weight=float(self.contraction_weight))
