"""StackedAE: greedy layer-wise pretraining, unrolling and fine-tuning.

Pretraining fits one single-layer skae estimator per encoder layer, each on the
codes of the layer below (the estimators' own ``fit``, so their compiled
kernels, not a second training loop). Their weights are then copied into one
deep autoencoder (encoder matrices in order, decoder matrices mirrored), which
``BaseAutoencoder`` fine-tunes end to end with the shared network kernel.
"""

from numbers import Integral

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .dense import AutoencoderTransformer, DenoisingAE, SparseAE, _fill_doc
from .base import _REFERENCE_ROWS, _STATE, BaseAutoencoder
from .._core.layers import COLUMN
from .._core.common import member_fit
from .._core.training import member_task, subtask
from .._kernels import _network
from .pretrained_mlp import PretrainedMLPClassifier, PretrainedMLPRegressor
from .._rbms.rbm import BernoulliRBM, GaussianBernoulliRBM, _BaseRBM, _GaussianHiddenRBM

_AUTOENCODERS = {
    "autoencoder": AutoencoderTransformer,
    "denoising": DenoisingAE,
    "sparse": SparseAE,
}
# The RBM for each (visible, hidden) pair of unit types; a layer's units follow
# the activation they become in the unrolled network.
_RBMS = {
    ("sigmoid", "sigmoid"): BernoulliRBM,
    ("identity", "sigmoid"): GaussianBernoulliRBM,
    ("sigmoid", "identity"): _GaussianHiddenRBM,
}
# StackedAE's optimisation parameters, passed on to autoencoder pretrainers.
_SHARED_TRAINING = (
    "solver", "alpha", "batch_size", "learning_rate", "learning_rate_init", "power_t",
    "max_iter", "max_fun", "tol", "n_iter_no_change", "early_stopping", "validation_fraction", "shuffle",
    "momentum", "nesterovs_momentum", "beta_1", "beta_2", "epsilon", "verbose",
)
# The prefix of the nested pretraining parameters (see StackedAE.set_params).
_NESTED = "pretrain_params__"
# Parameters of a pretrainer that the stack's architecture decides.
_ARCHITECTURE = (
    "n_components", "hidden_layer_sizes", "activation", "code_activation",
    "output_activation", "loss", "huber_delta", "missing", "missing_fill", "tied_weights",
    "random_state",
)
# scikit-learn's MLP names for the activations it has.
_MLP_ACTIVATIONS = {
    "sigmoid": "logistic", "tanh": "tanh", "relu": "relu", "identity": "identity",
}


@_fill_doc(own=("hidden_layer_sizes", "max_iter"))
class StackedAE(BaseAutoencoder):
    """Deep autoencoder with greedy layer-wise pretraining and fine-tuning.

    Each encoder layer is first trained alone, bottom-up, as a single-layer
    estimator on the codes of the layer below (Hinton and Salakhutdinov, 2006;
    Vincent et al., 2008, 2010). The stack is then unrolled into one deep
    autoencoder, the decoder mirroring the encoder, and fine-tuned end to end
    by backpropagation in the compiled kernel shared with
    :class:`AutoencoderTransformer`. :meth:`to_mlp` hands the pretrained
    encoder to scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`
    or :class:`~sklearn.neural_network.MLPRegressor` for supervised training.

    Parameters
    ----------
    n_components : int, default=32
        Number of units of the code layer (the top of the encoder).
    hidden_layer_sizes : tuple of int, default=(128,)
        Sizes of the encoder layers below the code layer, bottom first, e.g.
        ``(1000, 500, 250)``; the decoder mirrors them.
    pretraining : {"autoencoder", "denoising", "sparse", "rbm"} or None, \
            default="autoencoder"
        How each encoder layer is pretrained: as a single-layer
        :class:`AutoencoderTransformer`, :class:`DenoisingAE`, :class:`SparseAE`
        or restricted Boltzmann machine, or not at all (None: fine-tuning starts
        from random weights).

        A layer's pretrainer has the layer's size and activation, and its
        decoder becomes the mirrored decoder layer: the first reconstructs X
        with the stack's output activation and loss; the others reconstruct
        the codes below with ``activation`` (binary cross-entropy for sigmoid
        codes, squared error otherwise).

        With "rbm", units follow the same activations: sigmoid layers are
        Bernoulli units, identity layers Gaussian units of unit variance. So
        the first RBM is a :class:`BernoulliRBM` for a sigmoid output (X in
        [0, 1]) or a :class:`GaussianBernoulliRBM` for an identity output
        (standardised X), and a linear code layer (``code_activation=
        "identity"``, as in the 2006 paper) is pretrained by an RBM with
        Gaussian hidden units. "rbm" needs ``activation="sigmoid"``.
    pretrain_params : dict, list of dict or None, default=None
        Parameters of the pretraining estimators: one dict for every layer, or
        one per encoder layer (``len(hidden_layer_sizes) + 1``), e.g.
        ``{"max_iter": 20}`` or, for RBMs, ``{"n_iter": 20, "learning_rate":
        0.05}``. Autoencoder pretrainers otherwise take this estimator's
        optimisation parameters (solver, alpha, batch_size, learning_rate_init,
        max_iter, tol, early stopping, ...); RBMs take their class's defaults
        with this estimator's ``batch_size`` (their own default, 10, when it is
        "auto") and ``verbose``.
        The architecture (sizes, activations, loss, tied weights) and the
        random state are set by this estimator and cannot be overridden here.
        Each entry is also a nested parameter, ``pretrain_params__max_iter``
        (every layer) or ``pretrain_params__0__learning_rate_init`` (the first
        layer), for ``set_params`` and ``GridSearchCV``'s grids.
    max_iter : int, default=500
        Maximum number of fine-tuning epochs; 0 pretrains and unrolls only.
    <shared parameters>
    Attributes
    ----------
    pretrained_layers_ : list of estimators
        The fitted single-layer estimators, bottom first (empty without
        pretraining, or when ``warm_start`` reused a fitted network). Their
        ``loss_curve_`` (autoencoders) or scores tell how pretraining went.
    <shared attributes>
    See Also
    --------
    AutoencoderTransformer : The same deep network, trained from random weights.
    BernoulliRBM : The RBM used for ``pretraining="rbm"``.

    Notes
    -----
    ``fit`` pretrains, unrolls and fine-tunes. ``partial_fit`` never pretrains:
    it continues fine-tuning a fitted network, or starts one from random
    weights; call ``fit`` with ``max_iter=0`` to pretrain only. With
    ``warm_start=True``, ``fit`` fine-tunes the current network further.

    Each pretrainer draws its own seed from this estimator's random stream, so
    the same ``random_state``, data and thread count give bit-identical
    results. The codes passed up the stack are the pretrainers' ``transform``
    (probabilities for RBMs, as in the 2006 paper), one layer's codes held in
    memory at a time.

    References
    ----------
    Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality
    of data with neural networks. Science, 313(5786), 504-507.

    Bengio, Y., Lamblin, P., Popovici, D. and Larochelle, H. (2007). Greedy
    layer-wise training of deep networks. NIPS 19.

    Vincent, P., Larochelle, H., Lajoie, I., Bengio, Y. and Manzagol, P.-A.
    (2010). Stacked denoising autoencoders. JMLR 11, 3371-3408.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import StackedAE
    >>> X = load_digits().data / 16
    >>> sae = StackedAE(n_components=8, hidden_layer_sizes=(32,), pretraining="rbm",
    ...                 activation="sigmoid", code_activation="identity",
    ...                 loss="binary_crossentropy",
    ...                 pretrain_params={"n_iter": 5}, max_iter=10, random_state=0)
    >>> sae.fit(X).transform(X).shape
    (1797, 8)
    >>> [type(est).__name__ for est in sae.pretrained_layers_]
    ['BernoulliRBM', '_GaussianHiddenRBM']
    >>> # scikit-learn's MLP has one hidden activation: keep the sigmoid layers
    >>> # below the linear code layer.
    >>> y = load_digits().target
    >>> clf = sae.to_mlp("classifier", classes=range(10), include_code_layer=False,
    ...                  max_iter=5).fit(X, y)
    >>> clf.hidden_layer_sizes
    (32,)
    """

    _state_attributes = (*_STATE, "pretrained_layers_")

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "pretraining": [StrOptions({*_AUTOENCODERS, "rbm"}), None],
        "pretrain_params": [dict, list, None],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
    }

    _bottleneck_only = True

    def __init__(
        self,
        n_components=32,
        *,
        hidden_layer_sizes=(128,),
        pretraining="autoencoder",
        pretrain_params=None,
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
        self.pretraining = pretraining
        self.pretrain_params = pretrain_params

    # ------------------------------------------------------- nested parameters

    def get_params(self, deep=True):
        """Get parameters for this estimator.

        With ``deep=True``, each entry of ``pretrain_params`` also appears as a
        nested parameter: ``pretrain_params__<name>`` for a dict (every
        layer), ``pretrain_params__<i>__<name>`` for a list (layer ``i``,
        bottom first), which :meth:`set_params` and ``GridSearchCV`` accept.

        Parameters
        ----------
        deep : bool, default=True
            Include the nested pretraining parameters.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        given = self.pretrain_params
        if deep and isinstance(given, dict):
            params.update({f"{_NESTED}{name}": v for name, v in given.items()})
        elif deep and isinstance(given, list):
            for i, entry in enumerate(given):
                if isinstance(entry, dict):
                    params.update({f"{_NESTED}{i}__{name}": v for name, v in entry.items()})
        return params

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Besides its own parameters, ``pretrain_params__<name>`` sets a
        pretraining parameter of every layer and ``pretrain_params__<i>__<name>``
        one of layer ``i`` only (bottom first; a dict then becomes one dict per
        layer). The layer-wide ones apply first, so a layer's own value wins.
        ``pretrain_params`` is replaced by an updated copy, never changed in
        place: a clone or a grid's other candidates share nothing.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : StackedAE
            The estimator.

        Examples
        --------
        >>> from skae import StackedAE
        >>> sae = StackedAE(hidden_layer_sizes=(64,), pretrain_params={"max_iter": 20})
        >>> sae.set_params(pretrain_params__1__learning_rate_init=1e-2).pretrain_params
        [{'max_iter': 20}, {'max_iter': 20, 'learning_rate_init': 0.01}]
        """
        nested = {k: params.pop(k) for k in list(params) if k.startswith(_NESTED)}
        super().set_params(**params)
        if nested:
            self.pretrain_params = self._with_nested(nested)
        return self

    def _with_nested(self, nested):
        """pretrain_params updated with nested {"pretrain_params__...": value}."""
        n_layers = len(self.hidden_layer_sizes) + 1
        given = self.pretrain_params
        if given is not None and not isinstance(given, (dict, list)):
            raise ValueError(f"pretrain_params must be a dict or a list; got {given!r}.")
        per_layer, shared = [], []
        for key, value in nested.items():
            head, _, name = key[len(_NESTED):].partition("__")
            if name and head.isdigit():
                per_layer.append((int(head), name, value))
            elif not name and "__" not in head:
                shared.append((head, value))
            else:
                raise ValueError(
                    f"Invalid parameter {key!r} for StackedAE: use pretrain_params__"
                    "<name> (every layer) or pretrain_params__<layer>__<name>."
                )
        if isinstance(given, list) or per_layer:
            layers = ([dict(entry) for entry in given] if isinstance(given, list)
                      else [dict(given or {}) for _ in range(n_layers)])
            for name, value in shared:
                for entry in layers:
                    entry[name] = value
            for i, name, value in per_layer:
                if not i < len(layers):
                    raise ValueError(
                        f"pretrain_params__{i}__{name}: there are {len(layers)} "
                        "encoder layers (hidden_layer_sizes plus the code layer), "
                        f"numbered 0 to {len(layers) - 1}."
                    )
                layers[i][name] = value
            return layers
        return dict(given or {}, **dict(shared))

    # ------------------------------------------------------------------ checks

    def _layer_activations(self):
        """(input units, code units) of each encoder layer, bottom first."""
        n_layers = self._n_encoder_layers
        below = [self._output_activation()] + [self.activation] * (n_layers - 1)
        above = [self.activation] * (n_layers - 1) + [self._code_activation()]
        return list(zip(below, above))

    def _layer_params(self):
        """The pretrain_params of each encoder layer."""
        n_layers = self._n_encoder_layers
        params = self.pretrain_params
        if params is None:
            return [{} for _ in range(n_layers)]
        if isinstance(params, dict):
            params = [params] * n_layers
        if len(params) != n_layers or not all(isinstance(p, dict) for p in params):
            raise ValueError(
                "pretrain_params must be a dict, or a list of one dict per encoder "
                f"layer ({n_layers} here: hidden_layer_sizes plus the code layer); got "
                f"{self.pretrain_params!r}."
            )
        for p in params:
            fixed = sorted(set(p) & set(_ARCHITECTURE))
            if fixed:
                raise ValueError(
                    f"pretrain_params cannot set {fixed}: the stack's architecture "
                    "and random_state decide them."
                )
        return [dict(p) for p in params]

    def _check_params(self):
        super()._check_params()
        self._layer_params()
        if self.pretraining == "rbm" and self.missing is not None:
            raise ValueError(
                f"pretraining='rbm' cannot read missing entries (missing="
                f"{self.missing!r}): an RBM's Gibbs steps need every visible unit. Use "
                "pretraining='autoencoder' (or 'denoising'), or fill the missing "
                "entries first (for example with skae.AutoencoderImputer)."
            )
        if self.pretraining == "rbm":
            for layer, units in enumerate(self._layer_activations()):
                if units not in _RBMS:
                    raise ValueError(
                        "pretraining='rbm' pretrains each layer as an RBM whose units "
                        "follow the unrolled network's activations: sigmoid (Bernoulli) "
                        "or identity (Gaussian), not both Gaussian; encoder layer "
                        f"{layer} would map {units[0]!r} to {units[1]!r} units. Use "
                        "activation='sigmoid', code_activation 'sigmoid' or 'identity' "
                        "and a sigmoid or identity output."
                    )
        if self.pretraining == "sparse":
            default = SparseAE().sparsity
            sparsity = [p.get("sparsity", default) for p in self._layer_params()]
            for layer, (units, kind) in enumerate(
                zip(self._layer_activations(), sparsity)
            ):
                if kind == "kl" and units[1] != "sigmoid":
                    raise ValueError(
                        "pretraining='sparse' uses the KL sparsity penalty, which needs "
                        f"sigmoid codes; encoder layer {layer} has {units[1]!r} units. "
                        "Use sigmoid activations, or pretrain_params with "
                        "{'sparsity': 'l1'} for that layer (a list of dicts)."
                    )

    # ------------------------------------------------------------- pretraining

    def _pretrainer(self, layer, seed, params):
        """The unfitted single-layer estimator of encoder layer ``layer``."""
        below, above = self._layer_activations()[layer]
        size = (list(self.hidden_layer_sizes) + [self.n_components])[layer]
        if self.pretraining == "rbm":
            # With batch_size="auto" the RBMs keep their own default (10, as
            # scikit-learn's): CD learns from many small updates, and 200-row
            # minibatches gave them 70 updates in 10 epochs on digits, which
            # left the weights near their starting values.
            batch = {} if self.batch_size == "auto" else {"batch_size": self.batch_size}
            estimator = _RBMS[below, above](
                n_components=size, verbose=self.verbose, random_state=seed, **batch,
            )
        else:
            # The input's loss and missing entries are the first layer's; the
            # layers above read complete codes.
            if layer == 0:
                loss = {"loss": self.loss, "huber_delta": self.huber_delta,
                        "missing": self.missing, "missing_fill": self.missing_fill}
            else:
                loss = {"loss": "binary_crossentropy" if below == "sigmoid"
                        else "squared_error"}
            estimator = _AUTOENCODERS[self.pretraining](
                n_components=size, hidden_layer_sizes=(), activation=above,
                code_activation=None, output_activation=below,
                # Features of their own: a pretrainer started at PCA holds
                # every unit on the linear side of its activation, and so
                # does the unrolled network, which then learns nothing more
                # (MNIST at 8 components: 1.04x PCA's error).
                init="random",
                tied_weights=self.tied_weights, random_state=seed, **loss,
                **{name: getattr(self, name) for name in _SHARED_TRAINING},
            )
        return estimator.set_params(**params)

    def _initialize(self, X):
        super()._initialize(X)
        self.pretrained_layers_ = []

    def _init_obstacle(self, X):
        if self.pretraining is not None:
            return f"pretraining={self.pretraining!r} sets the weights"
        return super()._init_obstacle(X)

    def _n_fit_tasks(self, n_epochs, pretrain):
        """A callback subtask per pretrained layer, then the fine-tuning (whose
        subtasks are its epochs)."""
        if not pretrain or self.pretraining is None:
            return n_epochs
        return self._n_encoder_layers + 1

    def _epochs_task(self, context, n_epochs, pretrain):
        if context is None or not pretrain or self.pretraining is None:
            return context
        return subtask(context, "fine-tuning", max_subtasks=n_epochs)

    def _pretrain(self, X, context, owner):
        """Greedy layer-wise pretraining, then the unrolled network's weights;
        each layer's fit is a subtask of the fit's callback task (context)."""
        if self.pretraining is None:
            return
        n_layers = self._n_encoder_layers
        generator = np.random.Generator(self._bit_generator)
        seeds = generator.integers(0, 2**32, size=n_layers)
        codes = X
        for layer, params in enumerate(self._layer_params()):
            estimator = self._pretrainer(layer, int(seeds[layer]), params)
            if self.verbose:
                print(f"Pretraining layer {layer + 1} of {n_layers}: {estimator!r}")
            try:
                # The stack, not the pretrainer, reports an interrupt; the
                # pretraining budget is the user's pretrain_params, so its
                # ConvergenceWarnings would only repeat what they chose.
                with member_fit(), member_task(context, f"pretraining layer {layer}",
                                                  owner, estimator, codes):
                    estimator.fit(codes)
            except KeyboardInterrupt:
                # Stop where we are: a plain interrupt, so that the stack is
                # left as it was before this fit (nothing of it completed).
                raise KeyboardInterrupt() from None
            except ValueError as error:
                raise ValueError(
                    f"Pretraining encoder layer {layer} ({type(estimator).__name__}) "
                    f"failed: {error}"
                ) from error
            self.pretrained_layers_.append(estimator)
            if layer < n_layers - 1:
                codes = estimator.transform(codes)
        self._unroll()
        self._initial_loss = float(np.mean(self._row_losses(X[:_REFERENCE_ROWS])))
        if self.verbose:
            sizes = [self.coefs_[0].shape[0]] + [W.shape[1] for W in self.coefs_]
            print(f"Fine-tuning the unrolled network {'-'.join(map(str, sizes))} "
                  f"for up to {self.max_iter} epochs")

    def _unroll(self):
        """Copy the pretrained layers into the deep network: encoder layer l
        from pretrainer l's encoder, its mirror from pretrainer l's decoder."""
        n_layers = len(self._layers)
        intercepts = self.intercepts_
        for layer, estimator in enumerate(self.pretrained_layers_):
            if isinstance(estimator, _BaseRBM):
                W = estimator.components_
                encoder, decoder = W.T, W
                encoder_bias = estimator.intercept_hidden_
                decoder_bias = estimator.intercept_visible_
            else:
                encoder, decoder = estimator.coefs_
                encoder_bias, decoder_bias = estimator.intercepts_
            mirror = n_layers - 1 - layer
            self._layer_matrix(layer)[...] = encoder
            if not self.tied_weights:
                self._layer_matrix(mirror)[...] = decoder
            intercepts[layer][...] = encoder_bias
            intercepts[mirror][...] = decoder_bias

    # -------------------------------------------------- supervised networks

    def to_mlp(self, task="classifier", *, classes=None, n_outputs=1,
               include_code_layer="auto", **mlp_params):
        """scikit-learn's own MLP, its hidden layers initialised from the encoder.

        Returns an unfitted-looking :class:`~sklearn.neural_network.MLPClassifier`
        or :class:`~sklearn.neural_network.MLPRegressor` whose hidden layers
        hold copies of this estimator's encoder weights and whose output layer
        is freshly initialised (as scikit-learn initialises it), so that its
        ``fit`` fine-tunes the pretrained network on labels ("pre-training a
        deep network").

        The encoder fixes three MLP parameters: ``hidden_layer_sizes`` (the
        encoder's layer sizes), ``activation`` (the encoder's, in scikit-learn's
        names: "logistic" for sigmoid) and ``warm_start=True``, which is what
        makes scikit-learn start ``fit`` from the given weights instead of
        drawing new ones. Every other MLP parameter is free (``mlp_params``).

        Parameters
        ----------
        task : {"classifier", "regressor"}, default="classifier"
            Which MLP to return.
        classes : array-like, default=None
            Every label the classifier will see (required for "classifier",
            as in ``MLPClassifier.partial_fit``); it sizes the output layer.
        n_outputs : int, default=1
            Number of targets of the regressor.
        include_code_layer : bool or "auto", default="auto"
            Use every encoder layer, the code layer included, as hidden layers
            (True), or the layers below the code layer (False). scikit-learn's
            MLP has one activation for all hidden layers, so a code layer with
            a different activation (the default linear code on relu layers)
            can only be left out; "auto" includes it when its activation is
            the hidden layers' (or there are no hidden layers) and leaves it
            out otherwise.
        **mlp_params : dict
            Other parameters of the MLP (max_iter, alpha, learning_rate_init,
            early_stopping, random_state, ...).

        Returns
        -------
        mlp : MLPClassifier or MLPRegressor
            Ready to ``fit``. Like any warm-started scikit-learn estimator, a
            second ``fit`` continues from the weights the first one left. It is
            a :class:`~skae.PretrainedMLPClassifier` or
            :class:`~skae.PretrainedMLPRegressor` (subclasses with the same
            parameters), whose clones (``sklearn.base.clone``, hence
            GridSearchCV and cross_val_score) start their fit from the
            pretrained encoder too.
        """
        check_is_fitted(self)
        if task not in ("classifier", "regressor"):
            raise ValueError(f"task must be 'classifier' or 'regressor'; got {task!r}.")
        fixed = sorted(set(mlp_params) & {"hidden_layer_sizes", "activation", "warm_start"})
        if fixed:
            raise ValueError(f"{fixed} are fixed by the encoder and cannot be passed.")
        # The fitted encoder's layers and activations, whatever the parameters
        # say now.
        names = {code: name for name, code in _network.ACTIVATIONS.items()}
        layer_activations = [names[int(a)]
                             for a in self._layers[:, COLUMN["activation"]]]
        if include_code_layer == "auto":
            include_code_layer = (self._code_layer == 0 or layer_activations[
                self._code_layer] == layer_activations[self._code_layer - 1])
        n_layers = self._code_layer + (1 if include_code_layer else 0)
        if n_layers == 0:
            raise ValueError(
                "include_code_layer=False leaves no hidden layer: this encoder has "
                "only its code layer."
            )
        activations = set(layer_activations[:n_layers])
        if len(activations) > 1:
            raise ValueError(
                "scikit-learn's MLP uses one activation for all hidden layers, but the "
                "encoder's hidden layers use "
                f"{layer_activations[max(self._code_layer - 1, 0)]!r} and its code "
                f"layer {layer_activations[self._code_layer]!r}; pass "
                "include_code_layer=False to keep the layers below the code layer."
            )
        (activation,) = activations
        if activation not in _MLP_ACTIVATIONS:
            raise ValueError(
                f"scikit-learn's MLP has no {activation!r} activation; it has "
                f"{sorted(_MLP_ACTIVATIONS)} (as {sorted(_MLP_ACTIVATIONS.values())})."
            )
        sizes = [int(self._layers[l, COLUMN["n_out"]]) for l in range(n_layers)]
        cls = PretrainedMLPClassifier if task == "classifier" else PretrainedMLPRegressor
        mlp = cls(hidden_layer_sizes=tuple(sizes), activation=_MLP_ACTIVATIONS[activation],
                  warm_start=True, **mlp_params)
        # Read-only copies, shared by every clone (see pretrained_mlp.py).
        mlp._pretrained = tuple(
            (self._layer_matrix(l).copy(), self.intercepts_[l].copy())
            for l in range(n_layers))
        for weights, biases in mlp._pretrained:
            weights.flags.writeable = biases.flags.writeable = False
        if task == "classifier":
            if classes is None:
                raise ValueError("task='classifier' needs classes: every label of y.")
            mlp._label_binarizer = LabelBinarizer().fit(np.asarray(classes))
            mlp.classes_ = mlp._label_binarizer.classes_
            template = mlp._label_binarizer.transform(mlp.classes_)
        else:
            template = np.zeros((1, int(n_outputs)))
        # scikit-learn's own initialisation (every attribute its fit expects,
        # the output layer drawn as it would draw it), then the encoder's layers.
        dtype = self._params.dtype
        # The input width from the fitted layers: n_features_in_ is assignable.
        n_features = int(self._layers[0, COLUMN["n_in"]])
        mlp._random_state = check_random_state(mlp.random_state)
        # _initialize puts the pretrained layers in place (and again in a clone).
        mlp._initialize(template, [n_features, *sizes, template.shape[1]], dtype)
        mlp.n_features_in_ = n_features
        if hasattr(self, "feature_names_in_"):
            mlp.feature_names_in_ = self.feature_names_in_
        return mlp
