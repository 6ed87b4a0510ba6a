"""The networks the mechanism tests were written on.

Until 2026-12-06 every dense autoencoder defaulted to one sigmoid code layer
(StackedAE: a 128-unit sigmoid hidden layer), random initial weights, no
early stopping, 200 epochs and a patience of 10; a DenoisingAE masked 25% of
the values, a SparseAE used the KL penalty at weight 0.1, a ContractiveAE a
sigmoid code at weight 0.1. The defaults changed to networks chosen to beat
PCA (see test_defaults.py); a test of a mechanism (a kernel's gradient, an
interrupt, a schedule, a stored fit) names the small network it checks
instead of following the defaults: ``classic(AutoencoderTransformer, 4)``.
"""

from skae import ContractiveAE, DenoisingAE, SparseAE, StackedAE

_CLASSIC = {
    "hidden_layer_sizes": (), "activation": "sigmoid", "code_activation": None,
    "init": "random", "early_stopping": False, "max_iter": 200, "n_iter_no_change": 10,
}
_CLASS_CLASSIC = {
    DenoisingAE: {"noise": "masking", "noise_level": 0.25},
    SparseAE: {"sparsity": "kl", "sparsity_weight": 0.1},
    ContractiveAE: {"contraction_weight": 0.1},
    StackedAE: {"hidden_layer_sizes": (128,)},
}


def classic(cls, *args, **params):
    """cls(*args, **params) with the classic network where params are silent."""
    return cls(*args, **{**_CLASSIC, **_CLASS_CLASSIC.get(cls, {}), **params})
