"""scikit-learn's MLPs started from pretrained hidden layers, through clone too.

``StackedAE.to_mlp`` hands its encoder to scikit-learn's own MLP. A plain
MLP's initial weights are fitted state, which ``sklearn.base.clone`` (hence
``GridSearchCV`` and ``cross_val_score``) throws away: every clone would fine-
tune from random weights, silently. These subclasses keep the pretrained
layers beside the parameters: ``__sklearn_clone__`` (scikit-learn's hook for
what a clone keeps) passes them on, and ``_initialize``, which scikit-learn's
``fit`` calls whenever it starts from scratch, draws the usual initial weights
and then puts the pretrained layers in place of the hidden ones.
"""

from sklearn.neural_network import MLPClassifier, MLPRegressor


class _PretrainedMLPMixin:
    """The pretrained layers: ``_pretrained`` is a tuple of (weights, biases)
    pairs, one per hidden layer from the input, read-only arrays."""

    def __sklearn_clone__(self):
        new = super().__sklearn_clone__()
        new._pretrained = self._pretrained
        return new

    def _initialize(self, y, layer_units, dtype):
        super()._initialize(y, layer_units, dtype)
        pretrained = getattr(self, "_pretrained", ())
        for l, (weights, biases) in enumerate(pretrained):
            if self.coefs_[l].shape != weights.shape:
                raise ValueError(
                    f"{type(self).__name__} starts hidden layer {l} from pretrained "
                    f"weights of shape {weights.shape}, but the network now has "
                    f"{self.coefs_[l].shape}: hidden_layer_sizes was changed, or X "
                    "has another number of features than the autoencoder was fitted "
                    "on. Call StackedAE.to_mlp again for another architecture."
                )
            self.coefs_[l] = weights.astype(dtype)
            self.intercepts_[l] = biases.astype(dtype)
        if pretrained and hasattr(self, "_best_coefs"):
            self._best_coefs = [c.copy() for c in self.coefs_]
            self._best_intercepts = [b.copy() for b in self.intercepts_]


class PretrainedMLPClassifier(_PretrainedMLPMixin, MLPClassifier):
    """An ``MLPClassifier`` whose hidden layers start from pretrained weights,
    at every fit from scratch and in every clone.

    Made by :meth:`skae.StackedAE.to_mlp`; its parameters are
    ``MLPClassifier``'s.

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from sklearn.datasets import load_digits
    >>> from skae import StackedAE
    >>> X, y = load_digits(return_X_y=True)
    >>> sae = StackedAE(16, hidden_layer_sizes=(32,), max_iter=5,
    ...                 random_state=0).fit(X / 16)
    >>> mlp = sae.to_mlp("classifier", classes=range(10), max_iter=3)
    >>> type(clone(mlp)).__name__
    'PretrainedMLPClassifier'
    """


class PretrainedMLPRegressor(_PretrainedMLPMixin, MLPRegressor):
    """An ``MLPRegressor`` whose hidden layers start from pretrained weights,
    at every fit from scratch and in every clone.

    Made by :meth:`skae.StackedAE.to_mlp`; its parameters are
    ``MLPRegressor``'s.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skae import StackedAE
    >>> X, y = load_diabetes(return_X_y=True)
    >>> sae = StackedAE(4, hidden_layer_sizes=(8,), max_iter=5,
    ...                 random_state=0).fit(X)
    >>> mlp = sae.to_mlp("regressor", max_iter=3).fit(X, y)
    >>> mlp.coefs_[0].shape
    (10, 8)
    """
