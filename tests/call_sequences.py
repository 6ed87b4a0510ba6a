"""Random sequences of public calls against one skae estimator (hypothesis).

Run by tests/test_call_sequences.py in a subprocess, so that a crash of the
process (a write out of bounds, an abort in the allocator) is a failed test,
not a dead test run: ``python tests/call_sequences.py NAME --examples N``.

The state machine interleaves fit, partial_fit, set_params (any parameter,
values valid on their own), transform, inverse_transform, score_samples,
score, get_feature_names_out, pickling, cloning, the RBMs' sampling methods,
StackedAE.to_mlp, and assignments to fitted attributes, on small data of every
kind the estimators accept and some they must reject (NaN, values outside
[0, 1], CSR with duplicates, -0.0, no rows, other feature counts). A call may
raise ValueError or TypeError (bad input, bad combinations: the user's
mistake, clearly reported); anything else fails the run, and so does a crash.
"""

import argparse
import pickle
import sys
import warnings

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from sklearn.base import clone

import skae

# Errors that report a user's mistake. NotFittedError is a ValueError.
EXPECTED = (ValueError, TypeError)

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "elu", "softplus"]
# Valid values of every parameter (each valid on its own; combinations may not be).
VALUES = {
    # Large values too: a buffer sized from the parameter instead of the fitted
    # weights then overflows by kilobytes, which the allocator's checks catch.
    "n_components": [1, 2, 5, 64, 300],
    "hidden_layer_sizes": [(), (3,), (4, 2), [2]],
    "activation": ACTIVATIONS,
    "code_activation": [None] + ACTIVATIONS,
    "output_activation": [None] + ACTIVATIONS,
    "loss": ["squared_error", "binary_crossentropy", "huber"],
    "huber_delta": [0.1, 1.0],
    "missing": [None, "nan", "unstored"],
    "tied_weights": [True, False],
    "solver": ["adam", "sgd"],
    "alpha": [0.0, 1e-3, 10.0],
    "batch_size": ["auto", 1, 3, 50],
    "learning_rate_init": [1e-3, 0.1, 10.0],
    "learning_rate": [1e-3, 0.1, 10.0],
    "max_iter": [1, 2],
    "n_iter": [0, 1, 2],
    "tol": [0.0, 1e-4, 10.0],
    "n_iter_no_change": [1, 3],
    "early_stopping": [True, False],
    "validation_fraction": [0.1, 0.5, 0.9],
    "shuffle": [True, False],
    "momentum": [0.0, 0.5, 0.9],
    "nesterovs_momentum": [True, False],
    "beta_1": [0.0, 0.9],
    "beta_2": [0.0, 0.999],
    "epsilon": [1e-8, 1.0],
    "random_state": [None, 0, 1, np.random.RandomState(3)],
    "verbose": [0],
    "warm_start": [True, False],
    "noise": ["masking", "gaussian", "salt_and_pepper"],
    # ConvAutoencoder's: shapes that fit the data's 1, 3 or 64 features and
    # shapes that do not, kernels larger than a map, strides that skip.
    "input_shape": [None, (1, 3), (3, 1), (1, 64), (1, 8, 8), (4, 4, 4), (2, 2)],
    "filters": [(2,), (3, 2), (1, 1, 1)],
    "kernel_size": [1, 3, 5, (3, 1)],
    "strides": [1, 2, 3],
    "padding": ["same", "valid"],
    "dilation": [1, 2],
    "pooling": [None, "max", "average"],
    # SequenceAutoencoder's
    "cell": ["gru", "lstm"],
    "bidirectional": [False, True],
    "decoder_order": ["forward", "reversed"],
    "decoder": ["repeat", "autoregressive"],
    "teacher_forcing": [0.0, 0.5, 1.0],
    "max_grad_norm": [None, 1e-3, 5.0],
    "pool_size": [1, 2, 3],
    "noise_level": [0.0, 0.3, 0.99],
    "sparsity": ["kl", "l1"],
    "sparsity_target": [0.01, 0.5],
    "sparsity_weight": [0.0, 1.0],
    "sparsity_decay": [0.0, 0.9],
    "contraction_weight": [0.0, 0.1],
    "pretraining": [None, "autoencoder", "denoising", "sparse", "rbm"],
    "pretrain_params": [None, {"max_iter": 1}, [{"max_iter": 1}]],
    "k": [1, 2],
    "persistent": [True, False],
    "weight_decay": [0.0, 1e-2],
    "beta": [0.0, 1.0, 4.0],
    "kl_warmup": [0, 3],
}

SMALL = {
    "AutoencoderTransformer": dict(n_components=2, max_iter=2, batch_size=4),
    "DenoisingAE": dict(n_components=2, max_iter=2, batch_size=4),
    "SparseAE": dict(n_components=2, max_iter=2, batch_size=4),
    "ContractiveAE": dict(n_components=2, max_iter=2, batch_size=4),
    "StackedAE": dict(n_components=2, hidden_layer_sizes=(3,), max_iter=2, batch_size=4),
    "BernoulliRBM": dict(n_components=3, n_iter=1, batch_size=4),
    "GaussianBernoulliRBM": dict(n_components=3, n_iter=1, batch_size=4),
    "VariationalAE": dict(n_components=2, hidden_layer_sizes=(3,), max_iter=2,
                          batch_size=4),
    "ConvAutoencoder": dict(n_components=2, filters=(2,), max_iter=2, batch_size=4),
    "SequenceAutoencoder": dict(n_components=2, hidden_layer_sizes=(3,), max_iter=2,
                                batch_size=4),
}

data_specs = st.fixed_dictionaries({
    "seed": st.integers(0, 2**16),
    "n_rows": st.sampled_from([0, 1, 2, 7, 12]),
    "n_features": st.sampled_from([1, 3, 64]),
    "kind": st.sampled_from(["dense64", "dense32", "csr64", "csr32", "csr_duplicates",
                             "list", "fortran", "int"]),
    "values": st.sampled_from(["unit", "unit", "unit", "binary", "wide", "nan",
                               "negative_zero"]),
})


def make_data(spec):
    """An input of the kind spec describes (see data_specs)."""
    rng = np.random.default_rng(spec["seed"])
    X = rng.random((spec["n_rows"], spec["n_features"]))
    if spec["values"] == "binary":
        X = (X < 0.5).astype(float)
    elif spec["values"] == "wide":
        X = X * 6 - 3
    elif spec["values"] == "nan" and X.size:
        X[0, 0] = np.nan
    elif spec["values"] == "negative_zero":
        X[X < 0.5] = -0.0
    kind = spec["kind"]
    if kind == "dense32":
        return X.astype(np.float32)
    if kind in ("csr64", "csr32"):
        return sp.csr_matrix(X.astype(np.float32 if kind == "csr32" else np.float64))
    if kind == "csr_duplicates":
        coo = sp.coo_matrix(X)
        rows = np.concatenate([coo.row, coo.row])
        cols = np.concatenate([coo.col, coo.col])
        vals = np.concatenate([coo.data, coo.data]) / 2
        return sp.csr_matrix((vals, (rows, cols)), shape=X.shape)
    if kind == "list":
        return X.tolist()
    if kind == "fortran":
        return np.asfortranarray(X)
    if kind == "int":
        return (X > 0.5).astype(np.int64)
    return X


def arrays():
    """Values a user might assign to a fitted attribute."""
    return st.builds(
        lambda seed, shape, dtype, fill: _array(seed, shape, dtype, fill),
        st.integers(0, 2**16),
        st.one_of(st.tuples(st.integers(0, 5)), st.tuples(st.integers(0, 5),
                                                          st.integers(0, 5))),
        st.sampled_from([np.float64, np.float32, np.int64]),
        st.sampled_from(["random", "nan", "huge"]),
    )


def _array(seed, shape, dtype, fill):
    A = np.random.default_rng(seed).standard_normal(shape)
    if fill == "nan" and A.size:
        A.flat[0] = np.nan
    elif fill == "huge":
        A *= 1e300
    with np.errstate(invalid="ignore", over="ignore"):
        return A.astype(dtype)


def call_public(est, method, *args, **kwargs):
    """Call a public method; expected errors give None, results are checked
    by the caller."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(est, method)(*args, **kwargs)
    except EXPECTED:
        return None


def machine_for(name):
    cls = getattr(skae, name)
    small = SMALL[name]
    is_rbm = name.endswith("RBM")

    class CallSequences(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.est = cls(**small)

        def call(self, method, *args, **kwargs):
            return call_public(self.est, method, *args, **kwargs)

        @rule(spec=data_specs)
        def fit(self, spec):
            self.call("fit", make_data(spec))

        @rule(spec=data_specs)
        def partial_fit(self, spec):
            self.call("partial_fit", make_data(spec))

        @rule(data=st.data())
        def set_params(self, data):
            names = sorted(set(self.est.get_params()) & set(VALUES))
            name = data.draw(st.sampled_from(names))
            self.est.set_params(**{name: data.draw(st.sampled_from(VALUES[name]))})

        @rule(spec=data_specs)
        def transform(self, spec):
            X = make_data(spec)
            out = self.call("transform", X)
            if out is not None:
                assert out.shape[0] == spec["n_rows"], out.shape

        @rule(spec=data_specs)
        def score_samples(self, spec):
            out = self.call("score_samples", make_data(spec))
            if out is not None:
                assert out.shape == (spec["n_rows"],), out.shape

        @rule(spec=data_specs)
        def score(self, spec):
            self.call("score", make_data(spec))

        @rule(n_rows=st.integers(0, 4), width=st.sampled_from([0, 1, 2, 5, 64, 300]),
              dtype=st.sampled_from([np.float64, np.float32]))
        def inverse_transform(self, n_rows, width, dtype):
            Z = np.random.default_rng(width).random((n_rows, width)).astype(dtype)
            out = self.call("inverse_transform", Z)
            if out is not None:
                assert out.shape[0] == n_rows

        @rule()
        def feature_names(self):
            self.call("get_feature_names_out")

        @rule()
        def pickle_round_trip(self):
            self.est = pickle.loads(pickle.dumps(self.est))

        @rule()
        def clone(self):
            self.est = clone(self.est)

        @rule(data=st.data())
        def assign_fitted_attribute(self, data):
            names = ["n_features_in_"]
            names += (["components_", "intercept_hidden_", "intercept_visible_",
                       "h_samples_"] if is_rbm else ["coefs_", "components_"])
            name = data.draw(st.sampled_from(names))
            value = data.draw(st.one_of(arrays(), st.integers(-1, 6)))
            try:
                setattr(self.est, name, value)
            except AttributeError:
                pass  # a read-only view (the autoencoders' weights)

        @rule(fill=st.sampled_from([np.nan, np.inf, 1e30]))
        def poison_weights(self, fill):
            """Write into the fitted weights in place, as a user can."""
            try:
                weights = self.est.components_
            except AttributeError:
                return
            if (isinstance(weights, np.ndarray) and weights.size
                    and weights.dtype.kind == "f" and weights.flags.writeable):
                with np.errstate(invalid="ignore", over="ignore"):
                    weights.flat[0] = fill

        if is_rbm:
            @rule(spec=data_specs)
            def gibbs(self, spec):
                self.call("gibbs", make_data(spec))

            @rule(spec=data_specs)
            def free_energy(self, spec):
                self.call("free_energy", make_data(spec))

            @rule(n_samples=st.integers(-1, 3), n_steps=st.integers(-1, 3))
            def sample(self, n_samples, n_steps):
                self.call("sample", n_samples=n_samples, n_steps=n_steps)

            @rule(n_runs=st.integers(-1, 3), n_betas=st.integers(-1, 4))
            def log_partition_function(self, n_runs, n_betas):
                self.call("log_partition_function", n_runs=n_runs, n_betas=n_betas,
                          random_state=0)

        if name == "VariationalAE":
            @rule(n_samples=st.integers(-1, 3), seed=st.sampled_from([None, 0]))
            def sample(self, n_samples, seed):
                self.call("sample", n_samples, random_state=seed)

            @rule(spec=data_specs, n_samples=st.integers(-1, 3))
            def log_likelihood(self, spec, n_samples):
                self.call("log_likelihood", make_data(spec), n_samples=n_samples)

        if name == "StackedAE":
            @rule(task=st.sampled_from(["classifier", "regressor"]),
                  include=st.booleans())
            def to_mlp(self, task, include):
                self.call("to_mlp", task, classes=[0, 1], include_code_layer=include,
                          max_iter=1)

    CallSequences.__name__ = f"CallSequences{name}"
    return CallSequences


def run_cli(machine_for, names, description, argv=None):
    """Parse ``NAME --examples N --steps S`` and run that estimator's machine
    (shared with application_sequences.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("estimator", choices=sorted(names))
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    run_state_machine_as_test(
        machine_for(args.estimator),
        settings=settings(
            max_examples=args.examples,
            stateful_step_count=args.steps,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(f"{args.estimator}: {args.examples} call sequences of up to {args.steps} "
          "calls, no crash and no unexpected error")


def main(argv=None):
    run_cli(machine_for, SMALL, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
