"""Random sequences of public calls against skae's applications (hypothesis).

The companion of call_sequences.py for AutoencoderImputer, OutlierDetector and
AutoRec, run the same way by tests/test_call_sequences.py in a subprocess
under glibc's checking allocator: ``python tests/application_sequences.py
NAME --examples N``.

The machine interleaves fit (a refit when fitted), fits interrupted by Ctrl-C
in the middle of a member model's training, set_params, the fitted methods,
pickle and skops round trips, clones, and assignments to fitted attributes.
After an interrupted or failed fit the estimator must be exactly as it was
(compared through its pickle). A call may raise ValueError or TypeError;
anything else fails the run, and so does a crash.
"""

import pickle
import sys
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule
from sklearn.base import clone

import skae
from skae._autoencoders.base import BaseAutoencoder

from call_sequences import EXPECTED, call_public, run_cli  # noqa: I001 - beside this script

try:
    import skops.io as sio
except ImportError:  # the [skops] extra
    sio = None


SMALL = {
    "AutoencoderImputer": dict(max_iter=3),
    "OutlierDetector": dict(n_estimators=2),
    "AutoRec": dict(n_components=3, max_iter=2, batch_size=4),
}
VALUES = {
    "AutoencoderImputer": {
        "max_iter": [1, 3], "add_indicator": [True, False],
        "initial_strategy": ["mean", "median", "most_frequent", "constant"],
        "keep_empty_features": [True, False],
        "estimator": [None, skae.AutoencoderTransformer(n_components=2, max_iter=2)],
    },
    "OutlierDetector": {
        "n_estimators": [1, 2], "max_samples": ["auto", 1, 3, 0.5, 1.0],
        "contamination": ["auto", 0.1, 0.5],
        "estimator": [None, skae.AutoencoderTransformer(n_components=1, max_iter=2),
                      skae.BernoulliRBM(n_components=2, n_iter=1)],
    },
    "AutoRec": {
        "n_components": [1, 3, 20], "kind": ["item", "user"],
        "activation": ["sigmoid", "identity", "relu"], "alpha": [0.0, 1.0],
        "noise_level": [0.0, 0.3], "baseline": ["bias", None], "clip": [True, False],
        "max_iter": [1, 2],
    },
}
# Fitted attributes a user might assign.
FITTED = {
    "AutoencoderImputer": ["n_features_in_", "mean_", "scale_", "statistics_"],
    "OutlierDetector": ["n_features_in_", "offset_", "estimators_"],
    "AutoRec": ["n_users_", "n_items_", "user_bias_", "item_bias_", "global_mean_"],
}

data_specs = st.fixed_dictionaries({
    "seed": st.integers(0, 2**16),
    "n_rows": st.sampled_from([0, 1, 3, 12, 30]),
    "n_features": st.sampled_from([1, 4, 9]),
    "kind": st.sampled_from(["dense64", "dense32", "csr", "list"]),
    "missing": st.sampled_from([0.0, 0.2, 0.2, 1.0]),
})


def make_data(spec, name):
    """An input of the kind spec describes: a ratings matrix for AutoRec
    (ratings 1 to 5, missing entries unstored), otherwise rows with NaN for
    the missing share."""
    rng = np.random.default_rng(spec["seed"])
    shape = (spec["n_rows"], spec["n_features"])
    if name == "AutoRec":
        R = sp.random(*shape, density=1 - spec["missing"] if spec["missing"] < 1 else 0,
                      random_state=spec["seed"], format="csr")
        R.data = np.ceil(R.data * 5)
        return R.astype(np.float32) if spec["kind"] == "dense32" else R
    X = rng.normal(size=shape)
    if name == "AutoencoderImputer":
        X[rng.random(shape) < spec["missing"]] = np.nan
    if spec["kind"] == "dense32":
        return X.astype(np.float32)
    if spec["kind"] == "csr":
        return sp.csr_matrix(np.nan_to_num(X))
    if spec["kind"] == "list":
        return X.tolist()
    return X


@contextmanager
def interrupted_member():
    """Every member model's training ends as Ctrl-C does after its first
    completed epoch."""
    original = BaseAutoencoder._train

    def train(self, X, n_epochs, incremental, *args):
        original(self, X, 1, incremental, *args)
        raise KeyboardInterrupt

    BaseAutoencoder._train = train
    try:
        yield
    finally:
        BaseAutoencoder._train = original


def machine_for(name):
    cls = getattr(skae, name)
    method = "transform" if name == "AutoencoderImputer" else "score_samples"

    class ApplicationSequences(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.est = cls(**SMALL[name], random_state=0)

        def call(self, method, *args, **kwargs):
            return call_public(self.est, method, *args, **kwargs)

        @rule(spec=data_specs)
        def fit(self, spec):
            before = pickle.dumps(self.est)
            if self.call("fit", make_data(spec, name)) is None:
                assert pickle.dumps(self.est) == before, "a failed fit changed the state"

        @rule(spec=data_specs)
        def interrupted_fit(self, spec):
            before = pickle.dumps(self.est)
            try:
                with interrupted_member(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.est.fit(make_data(spec, name))
            except (KeyboardInterrupt, *EXPECTED):
                pass
            # An RBM member (OutlierDetector) is not interrupted: it may fit.
            else:
                return
            assert pickle.dumps(self.est) == before, "an interrupted fit changed the state"

        @rule(data=st.data())
        def set_params(self, data):
            values = VALUES[name]
            key = data.draw(st.sampled_from(sorted(values)))
            self.est.set_params(**{key: data.draw(st.sampled_from(values[key]))})

        @rule()
        def pickle_round_trip(self):
            # Loading refuses (ValueError) a model whose assigned attributes
            # disagree; the estimator in hand stays then.
            try:
                self.est = pickle.loads(pickle.dumps(self.est))
            except EXPECTED:
                pass

        @rule()
        def skops_round_trip(self):
            if sio is None:
                return
            try:
                self.est = sio.loads(sio.dumps(self.est),
                                     trusted=list(skae.SKOPS_TRUSTED_TYPES))
            except EXPECTED:
                pass

        @rule()
        def clone(self):
            self.est = clone(self.est)

        @rule(data=st.data())
        def assign_fitted_attribute(self, data):
            key = data.draw(st.sampled_from(FITTED[name]))
            value = data.draw(st.one_of(
                st.integers(-1, 40), st.floats(allow_nan=True),
                st.builds(lambda n: np.random.default_rng(n).normal(size=n),
                          st.integers(0, 12)),
                st.just([])))
            setattr(self.est, key, value)

        if name == "AutoRec":
            @rule(n=st.integers(0, 3), seed=st.integers(0, 99))
            def predict(self, n, seed):
                rng = np.random.default_rng(seed)
                users, items = rng.integers(-1, 31, n), rng.integers(-1, 10, n)
                out = self.call("predict", users, items)
                if out is not None:
                    assert out.shape == (n,) and np.isfinite(out).all()

            @rule(user=st.integers(-1, 31), n=st.integers(-1, 4))
            def recommend(self, user, n):
                self.call("recommend", user, n)

            @rule(spec=data_specs)
            def score(self, spec):
                self.call("score", make_data(spec, name))
        else:
            @rule(spec=data_specs)
            def apply(self, spec):
                X = make_data(spec, name)
                out = self.call(method, X)
                if out is not None:
                    assert len(out) == spec["n_rows"]

            if name == "OutlierDetector":
                @rule(spec=data_specs)
                def predict(self, spec):
                    out = self.call("predict", make_data(spec, name))
                    if out is not None:
                        assert set(np.unique(out)) <= {-1, 1}
            else:
                @rule()
                def feature_names(self):
                    self.call("get_feature_names_out")

    ApplicationSequences.__name__ = f"ApplicationSequences{name}"
    return ApplicationSequences


def main(argv=None):
    run_cli(machine_for, SMALL, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
