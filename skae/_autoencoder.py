"""The dense autoencoders: AutoencoderTransformer and its regularised variants."""

from ._base import BaseAutoencoder


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
    hidden_layer_sizes : tuple of int, default=()
        Sizes of the encoder layers between the input and the code layer; the
        decoder mirrors them. ``()`` is a single-layer autoencoder.
    activation : {"sigmoid", "tanh", "relu", "elu", "softplus", "identity"}, \
            default="sigmoid"
        Activation of the hidden layers (encoder and decoder).
    code_activation : str or None, default=None
        Activation of the code layer; None uses ``activation``. "identity" gives
        a linear code layer.
    output_activation : str or None, default=None
        Activation of the output layer; None uses the sigmoid with
        ``loss="binary_crossentropy"`` (the only one it accepts) and the identity
        with ``loss="squared_error"``.
    loss : {"squared_error", "binary_crossentropy"}, default="squared_error"
        Reconstruction loss, summed over features. Binary cross-entropy needs X
        in [0, 1] and is computed from the logits, stably.
    tied_weights : bool, default=False
        Use the transpose of each encoder matrix in the mirrored decoder layer
        (no copy; the two layers share one gradient).
    solver : {"adam", "sgd"}, default="adam"
        Optimizer; "sgd" uses ``momentum`` and ``nesterovs_momentum``.
    alpha : float, default=1e-4
        L2 penalty: ``alpha / 2 * sum ||W||^2`` over weight matrices (biases
        excluded, tied matrices once) is added to the mean loss per sample.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.
    learning_rate_init : float, default=1e-3
        Step size of the optimizer.
    max_iter : int, default=200
        Maximum number of epochs of ``fit``.
    tol : float, default=1e-4
        Stop when the training loss (or the validation score, with early
        stopping) has not improved by ``tol`` for ``n_iter_no_change`` epochs.
    n_iter_no_change : int, default=10
        See ``tol``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, score them after every
        epoch, stop when the score stops improving and keep the best weights.
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
        Print the loss after every epoch.
    warm_start : bool, default=False
        ``fit`` continues from the current weights (with a fresh optimizer)
        instead of starting anew.

    Attributes
    ----------
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
        Best of ``validation_scores_``.
    n_iter_ : int
        Number of epochs trained.
    t_ : int
        Number of training samples seen.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during ``fit``, when they are all strings.

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

    def __init__(
        self,
        n_components=32,
        *,
        hidden_layer_sizes=(),
        activation="sigmoid",
        code_activation=None,
        output_activation=None,
        loss="squared_error",
        tied_weights=False,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
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
        super().__init__(
            n_components=n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            output_activation=output_activation,
            loss=loss,
            tied_weights=tied_weights,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
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
