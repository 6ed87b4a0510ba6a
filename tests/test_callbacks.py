"""scikit-learn's callback API (sklearn.callback, scikit-learn >= 1.9) through
the one training loop (skae/_core/training.py): every estimator shows a progress
bar, GridSearchCV propagates it, and a callback that asks to stop ends
training at an epoch boundary with that epoch's state."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import skae
from skae import (
    AutoencoderImputer,
    AutoencoderTransformer,
    AutoRec,
    BernoulliRBM,
    ContractiveAE,
    ConvAutoencoder,
    SequenceAutoencoder,
    DenoisingAE,
    GaussianBernoulliRBM,
    OutlierDetector,
    SparseAE,
    StackedAE,
    VariationalAE,
)

try:
    from sklearn import callback
except ImportError:  # scikit-learn < 1.9
    callback = None
needs_callbacks = pytest.mark.skipif(
    callback is None, reason="scikit-learn < 1.9 has no callback API (the estimators "
    "then have no set_callbacks: test_set_callbacks_exists_exactly_with_the_api)")
pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

X = load_digits().data[:150] / 16
SMALL = {"n_components": 4, "max_iter": 3, "random_state": 0}
ESTIMATORS = [
    AutoencoderTransformer(**SMALL),
    DenoisingAE(**SMALL),
    SparseAE(**SMALL),
    ContractiveAE(**SMALL),
    VariationalAE(**SMALL),
    ConvAutoencoder(input_shape=(1, 8, 8), filters=(4,), **SMALL),
    SequenceAutoencoder(input_shape=(4, 16), hidden_layer_sizes=(4,), **SMALL),
    StackedAE(hidden_layer_sizes=(8,), **SMALL),
    StackedAE(hidden_layer_sizes=(8,), pretraining="rbm", activation="sigmoid",
              loss="binary_crossentropy", **SMALL),
    AutoencoderTransformer(solver="lbfgs", **SMALL),
    BernoulliRBM(n_components=4, n_iter=3, random_state=0),
    GaussianBernoulliRBM(n_components=4, n_iter=3, random_state=0),
    OutlierDetector(n_estimators=2, random_state=0),
    AutoencoderImputer(max_iter=3, random_state=0),
]


def _data(estimator):
    if isinstance(estimator, AutoencoderImputer):
        holes = X.copy()
        holes[::7, 3] = np.nan
        return holes
    return X


class Recorder:
    """Records the tasks it sees; asks to stop after ``stop_after`` epochs."""

    max_propagation_depth = None

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.begun, self.ended, self.epochs, self.unfinished = [], [], 0, 0

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, *, X=None):
        # A member's fit merges with the owner's task for it, named there.
        self.begun.append(context.source_task_name or context.task_name)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.ended.append(context.task_name)
        if context.task_name in ("epoch", "iteration"):
            if fitted_estimator is None:
                # L-BFGS's evaluations after its last accepted iterate.
                assert context.task_name == "iteration"
                self.unfinished += 1
                return False
            self.epochs += 1
            return self.stop_after is not None and self.epochs >= self.stop_after
        return False


@needs_callbacks
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: repr(e)[:60])
def test_a_progress_bar_follows_every_fit(estimator):
    estimator.set_callbacks(callback.ProgressBar())
    estimator.fit(_data(estimator))
    # Torn down after fit: nothing of the run is left on the estimator.
    assert not hasattr(estimator, "_callback_fit_ctx")


@needs_callbacks
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: repr(e)[:60])
def test_every_fit_reports_its_epochs(estimator):
    recorder = Recorder()
    estimator.set_callbacks(recorder)
    estimator.fit(_data(estimator))
    assert recorder.begun[0] == "fit" and recorder.ended[-1] == "fit"
    assert recorder.epochs >= 1


@needs_callbacks
def test_a_grid_search_propagates_the_progress_bar():
    search = GridSearchCV(AutoencoderTransformer(**SMALL), {"n_components": [2, 4]},
                          cv=2)
    search.set_callbacks(callback.ProgressBar(max_propagation_depth=None))
    search.fit(X)
    assert search.best_params_["n_components"] in (2, 4)


@needs_callbacks
def test_a_progress_bar_over_the_pretrained_layers_and_members():
    recorder = Recorder()
    StackedAE(hidden_layer_sizes=(8,), n_components=4, max_iter=2, random_state=0,
              pretrain_params={"max_iter": 2}).set_callbacks(recorder).fit(X)
    assert recorder.begun.count("pretraining layer 0") == 1
    assert recorder.begun.count("pretraining layer 1") == 1
    assert "fine-tuning" in recorder.begun
    # Two pretrainers' epochs and the fine-tuning's, each seen.
    assert recorder.epochs == 2 + 2 + 2
    recorder = Recorder()
    OutlierDetector(n_estimators=3, random_state=0).set_callbacks(recorder).fit(X)
    assert [t for t in recorder.begun if t.startswith("member")] == [
        "member 0", "member 1", "member 2"]


@needs_callbacks
@pytest.mark.parametrize("make", [
    lambda n: AutoencoderTransformer(n_components=4, max_iter=n, early_stopping=False,
                                     random_state=0),
    lambda n: DenoisingAE(n_components=4, max_iter=n, random_state=0),
    lambda n: VariationalAE(n_components=2, max_iter=n, random_state=0),
    lambda n: ConvAutoencoder(n_components=4, input_shape=(1, 8, 8), filters=(4,),
                              max_iter=n, random_state=0),
    lambda n: BernoulliRBM(n_components=4, n_iter=n, random_state=0),
    lambda n: AutoencoderTransformer(n_components=4, max_iter=n, solver="lbfgs",
                                     random_state=0),
], ids=["dense", "denoising", "variational", "convolutional", "rbm", "lbfgs"])
def test_a_callback_that_stops_leaves_the_last_finished_epoch(make):
    stopped = make(20).set_callbacks(Recorder(stop_after=3)).fit(X)
    fresh = make(3).fit(X)
    for name in ("_params", "components_", "intercept_hidden_", "h_samples_"):
        if hasattr(fresh, name):
            np.testing.assert_array_equal(getattr(stopped, name), getattr(fresh, name))
    if hasattr(fresh, "n_iter_"):
        assert stopped.n_iter_ == fresh.n_iter_ == 3
        assert stopped.loss_curve_ == fresh.loss_curve_


@needs_callbacks
def test_partial_fit_and_autorec_report_too():
    recorder = Recorder()
    AutoencoderTransformer(n_components=4).set_callbacks(recorder).partial_fit(X)
    assert recorder.epochs == 1
    R = sp.random(30, 20, density=0.3, random_state=0, format="csr")
    R.data = np.ceil(R.data * 5)
    recorder = Recorder()
    AutoRec(n_components=3, max_iter=2, random_state=0).set_callbacks(recorder).fit(R)
    assert recorder.epochs == 2


@needs_callbacks
def test_without_the_callback_module(tmp_path):
    """On a scikit-learn without sklearn.callback, the estimators work as
    before and have no set_callbacks."""
    code = textwrap.dedent("""
        # The import skae makes fails, as before 1.9; scikit-learn's own
        # modules (imported first) keep theirs. The minimum-versions CI job
        # runs the whole suite on a scikit-learn that has no callback module.
        import sklearn.callback, sklearn.decomposition, sklearn.ensemble
        import sklearn.impute, sklearn.linear_model, sklearn.model_selection
        import sklearn.neural_network, sklearn.pipeline, sklearn.preprocessing
        del sklearn.callback.CallbackSupportMixin
        import numpy as np
        from skae import AutoencoderTransformer, BernoulliRBM, OutlierDetector
        X = np.random.default_rng(0).uniform(size=(40, 6))
        for est in (AutoencoderTransformer(n_components=2, max_iter=2),
                    BernoulliRBM(n_components=2, n_iter=2),
                    OutlierDetector(n_estimators=2)):
            assert not hasattr(est, "set_callbacks"), est
            est.fit(X)
        print("ok")
    """)
    # From a neutral directory: in a source tree without compiled kernels (a
    # non-editable install), the tree would shadow the installed package.
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert hasattr(skae.AutoencoderTransformer(), "set_callbacks")


def test_set_callbacks_exists_exactly_with_the_api():
    """With sklearn.callback every estimator takes callbacks; without it (an
    older scikit-learn, as CI's oldest-dependencies job installs) none has
    set_callbacks, and fitting works as before."""
    for estimator in [*ESTIMATORS, AutoRec()]:
        assert hasattr(estimator, "set_callbacks") == (callback is not None), estimator
    AutoencoderTransformer(**SMALL).fit(X)
