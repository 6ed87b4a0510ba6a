"""The one training loop: epochs of compiled passes, for every skae estimator.

A fit is a sequence of passes over the training rows, each one call of a
compiled kernel (``skae/_kernels/``). Around the passes, every estimator needs
the same things, and this module is the one place that does them:

- the rows of each epoch: a validation split held out for early stopping, and
  a fresh shuffle of the training rows per epoch (drawn from the estimator's
  own generator, so that n ``partial_fit`` calls visit the rows as n epochs of
  ``fit`` do);
- rollback: each epoch starts from a snapshot of the training state, and
  Ctrl-C during an epoch restores it, so that an interrupted fit keeps the
  state of its last completed epoch (``TrainingInterrupted``);
- early stopping: the validation score after each epoch, the best weights kept
  and restored at the end;
- the end of training: a convergence rule (the estimator's), a warning when the
  epochs ran out first, and ``loss_curve_``;
- ``verbose`` lines and their timing;
- scikit-learn's callbacks (``sklearn.callback``, scikit-learn >= 1.9): a task
  per fit and a subtask per epoch, whose end hook may ask training to stop at
  that epoch's boundary.

The estimator supplies what differs, as functions: ``run_pass(X, rows, epoch)``
(one kernel pass; returns its mean loss, or None for a model without one;
raises ValueError when it diverged, see ``diverged``), ``epoch_line(epoch,
loss, seconds)`` (its verbose line), ``stop_rule(loss, validation_score)``
(its convergence rule) and, for early stopping, ``score(X, rows)``.
"""

import time
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .common import copy_state, interrupted

try:
    from sklearn.callback import CallbackSupportMixin
except ImportError:  # scikit-learn < 1.9: no callbacks, and no set_callbacks.

    class CallbackSupportMixin:
        """Without sklearn.callback, estimators have no set_callbacks."""


# A pass whose loss grew past this multiple of the initial model's has diverged
# (Adam's bounded steps can blow a model up without any inf or NaN).
DIVERGENCE_FACTOR = 100.0


def diverged(epoch, what, advice):
    """The ValueError a diverging pass raises (the fit's transaction then
    leaves the estimator as it was before the call)."""
    where = f" in epoch {epoch}" if epoch is not None else ""
    return ValueError(f"Training diverged{where}: {what}. {advice} The estimator was "
                      "left as it was before this call.")


def fit_task(estimator, X, n_subtasks):
    """The callback context of a fit with ``n_subtasks`` subtasks (epochs,
    layers, members), its begin hook called; None without callbacks."""
    if not hasattr(estimator, "_init_callback_context"):
        return None
    context = estimator._init_callback_context(max_subtasks=n_subtasks)
    context.call_on_fit_task_begin(estimator=estimator, X=X)
    return context


def end_task(estimator, context, X, state=None, attributes=None):
    """Call the end hook of a task; True if a callback asks to stop. ``state``
    (the trained estimator) or ``attributes`` (a function returning its
    fitted attributes) gives the callbacks a fitted copy; neither: none (a
    task that did not run)."""
    if context is None:
        return False
    if attributes is None and state is not None:
        attributes = lambda: fitted_attributes(state)  # noqa: E731
    return bool(context.call_on_fit_task_end(
        estimator=estimator, X=X, reconstruction_attributes=attributes))


def fitted_attributes(state):
    """What a callback's ``fitted_estimator`` is made of: the trained state's
    attributes, those training mutates in place copied."""
    return {**vars(state), **copy_state(state, getattr(state, "_state_attributes", ()))}


def subtask(context, name, max_subtasks=0):
    """A subtask of context (an epoch, a layer, a member), or None."""
    return None if context is None else context.subcontext(
        task_name=name, max_subtasks=max_subtasks)


@contextmanager
def member_task(context, name, owner, member, X=None):
    """Run a member's fit (a pretrained layer, an ensemble's model) as a
    subtask of the owner's callback task: the callbacks set on the owner that
    propagate (a ProgressBar) follow it into the member's own epochs."""
    if context is None:
        yield
        return
    task = subtask(context, name)
    with task.propagate_callback_context(member):
        task.call_on_fit_task_begin(estimator=owner, X=X)
        yield
        end_task(owner, task, X)


class EpochLoop:
    """Train ``model`` (the shadow a fit's transaction publishes) on X.

    Parameters
    ----------
    model : estimator
        What is trained; ``model._state_attributes`` names what a snapshot
        copies, and ``model.loss_curve_`` (if the model keeps one) receives each
        pass's loss.
    X : array or sparse matrix
        The validated training data.
    run_pass, epoch_line : callable
        See the module's docstring.
    owner : estimator
        The estimator the user called (callbacks see it).
    context : CallbackContext or None
        The fit's callback task; each epoch is a subtask of it.
    rows : ndarray of intp
        The rows to train on, sorted.
    generator : numpy Generator or None
        The source of the validation split and the shuffles.
    shuffle : bool
    stop_rule : callable or None
        ``stop_rule(loss, validation_score)``: True to stop (None: never).
    early_stopping : (validation_fraction, score, tracked) or None
        Hold out that share of rows, score them after each epoch with
        ``score(X, rows)`` (higher is better; appended to
        ``model.validation_scores_``), and end with the weights of the best
        epoch (or the start) in the array ``getattr(model, tracked)``. The
        model's ``best_validation_score_`` is the best so far (the caller
        sets the start's; ``stop_rule`` updates it).
    warn_unconverged : str or None
        The ConvergenceWarning's text when the epochs ran out before the stop
        rule stopped training (None: no warning).
    unit : str
        What an epoch is called in the interrupt message.
    """

    def __init__(self, model, X, run_pass, epoch_line, *, owner, context, rows,
                 generator=None, shuffle=False, stop_rule=None, early_stopping=None,
                 warn_unconverged=None, unit="epochs"):
        self.model, self.X, self.owner, self.context = model, X, owner, context
        self.run_pass, self.epoch_line, self.stop_rule = run_pass, epoch_line, stop_rule
        self.generator, self.shuffle = generator, shuffle
        self.warn_unconverged, self.unit = warn_unconverged, unit
        self.val_rows = self.score = self.tracked = self.best = None
        if early_stopping is not None:
            fraction, self.score, self.tracked = early_stopping
            self.val_rows, rows = validation_split(rows, fraction, generator)
            self.best = getattr(model, self.tracked).copy()
        self.train_rows, self.rows = rows, rows.copy()

    def run(self, n_epochs):
        """Run at most n_epochs epochs; returns the number completed."""
        completed = 0
        try:
            for _ in range(n_epochs):
                # Ctrl-C rolls an interrupted epoch back to this snapshot, so that
                # the model is exactly that of the last completed epoch.
                snapshot = self._snapshot()
                task = subtask(self.context, "epoch")
                try:
                    stop = self._epoch(completed, task)
                except KeyboardInterrupt:
                    self._restore(snapshot)
                    raise
                completed += 1
                if stop:
                    break
            else:
                if self.warn_unconverged and n_epochs > 0:
                    warnings.warn(self.warn_unconverged, ConvergenceWarning)
        except KeyboardInterrupt:
            self._keep_best()
            raise interrupted(completed, self.unit) from None
        self._keep_best()
        return completed

    def _epoch(self, epoch, task):
        model = self.model
        if task is not None:
            task.call_on_fit_task_begin(estimator=self.owner, X=self.X)
        if self.shuffle:
            # A fresh permutation of the sorted rows each epoch.
            self.rows[:] = self.train_rows
            self.generator.shuffle(self.rows)
        start = time.perf_counter()
        loss = self.run_pass(self.X, self.rows, epoch)
        if loss is not None:
            model.loss_curve_.append(float(loss))
        if model.verbose:
            print(self.epoch_line(epoch, loss, time.perf_counter() - start))
        score = None
        if self.val_rows is not None:
            score = self.score(self.X, self.val_rows)
            model.validation_scores_.append(score)
            if model.verbose:
                print(f"Validation score: {score:.8f}")
            if score > model.best_validation_score_:
                self.best[:] = getattr(model, self.tracked)
        stop = self.stop_rule is not None and self.stop_rule(loss, score)
        # The callbacks see the epoch whole, and may end training after it.
        return end_task(self.owner, task, self.X, model) or stop

    def _snapshot(self):
        model = self.model
        state = copy_state(model, model._state_attributes)
        return state, None if self.best is None else self.best.copy()

    def _restore(self, snapshot):
        state, self.best = snapshot
        self.model.__dict__.update(state)

    def _keep_best(self):
        """With early stopping, the best epoch's weights (or the start's)."""
        if self.best is not None:
            getattr(self.model, self.tracked)[:] = self.best


def validation_split(rows, fraction, generator):
    """(validation rows, training rows), both sorted: ceil(fraction * n) rows
    drawn at random (scikit-learn's MLP holds out the same share)."""
    n_samples = len(rows)
    n_val = int(np.ceil(fraction * n_samples))
    if n_val >= n_samples:
        raise ValueError(
            f"early_stopping with validation_fraction={fraction} leaves no training "
            f"rows out of {n_samples} samples."
        )
    perm = rows[generator.permutation(n_samples)]
    return np.sort(perm[:n_val]), np.sort(perm[n_val:])
