"""solver="lbfgs": the autoencoders' full-batch optimizer.

scipy's L-BFGS-B drives the search, as in scikit-learn's MLP; each evaluation
of the objective and its gradient over the whole training set is one call to
the compiled kernel (:func:`skae._kernels._network.objective_pass`), with the
GIL released, that walks the rows in chunks of ``batch_size``. L-BFGS's line
search needs one fixed, deterministic objective, so the chunks' corruption and
a sampling layer's noise are drawn from a stream re-seeded identically for
every evaluation (one seed per ``fit``, drawn from the estimator's stream) and
a sparsity penalty uses each chunk's own mean activation (no running mean).
"""

import warnings

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from .._core.common import interrupted, kernel_input, single_threaded_blas
from .._kernels import _network
from .._kernels.runtime.record import ThreadRecord
from .._core.training import end_task, fitted_attributes, subtask


def fit_lbfgs(estimator, X, owner=None, context=None):
    """Minimise ``estimator``'s objective on all rows of X from its current
    parameters, at most ``max_iter`` iterations and ``max_fun`` evaluations;
    updates its parameters and curves in place (the caller's transaction
    rolls them back on an error). Each iteration is a callback subtask of
    ``context`` (the fit's task, for ``owner``), whose end hook may stop the
    optimisation after it."""
    est = estimator
    if est.max_iter == 0:
        return
    n_samples = X.shape[0]
    params, layers = est._params, est._layers
    dtype = params.dtype
    rows = np.arange(n_samples, dtype=np.intp)
    batch_size = est._batch_size(n_samples)
    config = est._epoch_config(est._kernel_config())
    kernel_X = kernel_input(X)
    seed = int(np.random.Generator(est._bit_generator).integers(2**63))
    # Read, never updated: the KL sparsity of each chunk's own mean.
    penalty_state = np.zeros_like(est._penalty_state)
    grad = np.empty(params.size, dtype)
    work = np.empty(_network.workspace_size(layers, batch_size, params.size, True), dtype)
    threads = ThreadRecord()
    curve = []
    # The last accepted iterate: Ctrl-C keeps it, not a line search's trial.
    accepted = params.copy()

    # The callback task of the iteration under way, begun at its first
    # evaluation (None between iterations).
    iteration = [None]

    def objective(x):
        if context is not None and iteration[0] is None:
            iteration[0] = subtask(context, "iteration")
            iteration[0].call_on_fit_task_begin(estimator=owner, X=X)
        params[:] = x
        with single_threaded_blas():
            loss, status = _network.objective_pass(
                *kernel_X, rows, batch_size, params, layers, config, penalty_state,
                np.random.PCG64(seed), grad, work, threads, est.input_fill_,
            )
        if status != _network.STATUS_OK or not np.isfinite(loss):
            # L-BFGS-B's line search backs off from an infinite value.
            return np.inf, np.zeros(params.size)
        return loss, grad.astype(np.float64)

    def record(intermediate_result):
        accepted[:] = intermediate_result.x
        curve.append(float(intermediate_result.fun))
        if est.verbose:
            print(f"Iteration {len(curve)}, loss = {curve[-1]:.8f}")
        if iteration[0] is not None:
            task, iteration[0] = iteration[0], None
            if end_task(owner, task, X, attributes=lambda: {
                    **fitted_attributes(est), "_params": accepted.astype(params.dtype)}):
                # scipy ends the minimisation here, at an accepted iterate.
                raise StopIteration

    try:
        # scikit-learn's MLP options: gtol=tol, scipy's default ftol.
        result = scipy.optimize.minimize(
            objective, params.astype(np.float64), method="L-BFGS-B", jac=True,
            callback=record,
            options={"maxiter": est.max_iter, "maxfun": est.max_fun, "gtol": est.tol},
        )
    except KeyboardInterrupt:
        params[:] = accepted
        _record(est, curve, n_samples, len(curve))
        raise interrupted(len(curve), "iterations") from None
    if iteration[0] is not None:
        # Evaluations after the last accepted iterate (a line search cut off
        # by max_fun): a task that did not complete.
        end_task(owner, iteration[0], X)
    params[:] = result.x
    loss = float(result.fun)
    est._check_divergence(loss, _network.STATUS_OK if np.isfinite(loss)
                          else _network.STATUS_NONFINITE)
    _record(est, curve, n_samples, result.nit)
    if result.status not in (0, 99):  # 99: a callback asked to stop
        warnings.warn(
            f"lbfgs stopped before converging ({result.message}): raise max_iter "
            f"(now {est.max_iter}) or max_fun (now {est.max_fun}), or scale the data.",
            ConvergenceWarning,
        )


def _record(est, curve, n_samples, n_iterations):
    """The fitted curves and counts after n_iterations of L-BFGS."""
    est.loss_curve_.extend(curve)
    est.best_loss_ = min([est.best_loss_, *curve])
    est.n_iter_ += n_iterations
    est.t_ += n_samples * n_iterations
