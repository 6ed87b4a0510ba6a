"""Dense autoencoder kernel: forward, loss, backward and update, with the GIL released.

Shapes and layout
-----------------
A network of ``L`` layers is described by a *layer table*, an ``(L, 7)`` integer
array whose row ``l`` holds ``n_in, n_out, w_offset, b_offset, transposed,
activation, kind`` (``LAYER_COLUMNS``; ``_layer_table.pxd``); every kind so far is
dense. All weights and biases live in one flat parameter
vector ``params``; layer ``l`` multiplies its input by the ``(n_in, n_out)`` matrix
stored row-major at ``params[w_offset:]`` or, when ``transposed`` is 1 (a tied
decoder layer), by the transpose of the ``(n_out, n_in)`` matrix stored there,
which is the matrix of its mirror encoder layer: tied weights cost no copy and
their gradient accumulates into one place. The last layer's activation is the
output activation; with binary cross-entropy it is the sigmoid, applied inside
the loss so that the loss is computed stably from the logits.

Activations are row-major ``(batch, units)``. The flat vector makes one optimizer
step a single elementwise loop, split over threads.

One call, one pass
------------------
``train_pass`` takes an array of row indices and trains on them in minibatches:
gather the rows (dense or CSR) into a reusable buffer, forward, loss, backward,
L2 penalty, optimizer update. The GIL is released for the whole pass; nothing
per minibatch returns to the interpreter. Python allocates the workspace once
(size from ``workspace_size``), and each entry point its other scratch before it
releases the GIL; nothing is allocated per minibatch.

Sparse input
------------
A minibatch that is mostly zeros (MNIST's pixels, a bag of words; at most
``input_density_limit`` of nonzeros) has its nonzeros listed, and the first
layer's forward product and weight gradient skip its zeros (_nonzeros.pxd).
The choice depends only on the minibatch's values, so it is the same for dense
and CSR input and for any thread count.

Objective
---------
For a minibatch of ``B`` rows, ``mean_i sum_j loss(x_ij, xhat_ij) + alpha/2 *
sum ||W||^2``, the reconstruction loss being summed over features (so that
``score_samples`` is its negative per sample) and the penalty taken once per
weight matrix (tied matrices once). With missing entries (``TrainConfig.missing``)
the sum runs over each row's observed entries only.

Determinism
-----------
Threads take fixed-size blocks: column blocks of each GEMM (one single-threaded
BLAS call each, with the bias, activation or bias gradient of those columns), rows
for the loss, parameter blocks for the optimizer. A block's arithmetic does not
depend on which thread runs it, and reductions across blocks (the loss) are
summed serially, so results are bit-identical for any thread count. A
multi-threaded BLAS would not give that: it splits a product differently for
different thread counts, and rounds differently. This is why the Python layer
limits the BLAS to one thread around every kernel call, as scikit-learn's KMeans
does.

Pieces
------
One concern a file: ``_layer_table.pxd`` (the table's columns),
``_dense_layer.pxd`` (a layer's forward and backward), ``_losses.pxd``,
``_penalties.pxd`` (one function per code penalty), ``_corruption.pxd``
(denoising noise), ``_missing.pxd`` (which entries are observed), ``_optim.pxd`` (update rules), ``_nonzeros.pxd`` (sparse
minibatches), ``_rows.pxd`` (gathering rows), ``_threads.pxd`` (the thread
count), ``_fpmode.pxd`` (subnormals), ``_signals.pxd`` (Ctrl-C) and
``_checks.pxd`` (what entry points check before they release the GIL). This
file holds the workspace layout, the orchestration of a pass and the entry
points. The Python layer validates what users pass; each entry point checks
the buffers' sizes against the shapes it is told and raises ``ValueError``
rather than read or write out of bounds; a non-finite loss is reported through
the pass's status.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, exp, isfinite, log
from libc.limits cimport INT_MAX
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset

from ._activations cimport IDENTITY, SIGMOID, TANH, RELU, ELU, SOFTPLUS
from ._checks cimport check_input, check_length, check_rows, check_shape
from ._corruption cimport NoiseConfig, NO_NOISE, MASKING, GAUSSIAN, SALT_AND_PEPPER, corrupt
from ._fpmode cimport FpModes, flush_denormals, restore_fp_mode, widen_flush
from ._layer_table cimport (
    COL_IN, COL_OUT, COL_W, COL_B, COL_TRANS, COL_ACT, COL_KIND, N_COLS, MAX_LAYERS,
    DENSE, GAUSSIAN_SAMPLE, col,
)
from ._layers cimport layer_backward, layer_forward
from ._sampling_layer cimport Draws
from ._losses cimport SQUARED_ERROR, BINARY_CROSSENTROPY, HUBER, row_loss_delta
from ._missing cimport (
    MissingConfig, ALL_OBSERVED, MISSING_NAN, MISSING_UNSTORED, observe, observed_count,
)
from ._nonzeros cimport Nonzeros, PANEL_SIZE, list_nonzeros
from ._optim cimport adam_block, sgd_block
from ._penalties cimport (
    PenaltyConfig, NO_SPARSITY, KL, L1, contraction_penalty, kl_penalty, l1_penalty,
)
from ._random cimport (
    bitgen_t, bitgen_of, skae_stream, skae_stream_normal, skae_stream_seed,
    skae_ziggurat_init,
)
from ._rows cimport gather_rows, gather_rows_parallel, indices_of, values_of
from ._signals cimport Pending, signal_pending, raise_pending
from ._threads cimport ThreadChoice, check_thread_state, threads_begin, threads_end

cimport numpy as cnp
import numpy as np

cnp.import_array()
skae_ziggurat_init()


cdef extern from "_openmp_compat.h":
    int skae_max_threads() nogil
    int skae_register_fork_handler()


# A forked child runs the kernels on one thread (see _openmp_compat.h).
if skae_register_fork_handler() != 0:
    raise ImportError("skae: pthread_atfork failed; the kernels would hang in a "
                      "forked child.")


# Columns of the layer table.

cdef enum Solver:
    ADAM = 0
    SGD = 1

# Parameters per thread block in the optimizer loop (GEMMs are split into column
# blocks, see _blas.pxd; both splits are fixed, whatever the thread count).
cdef enum:
    PARAM_BLOCK = 4096

ACTIVATIONS = {
    "identity": IDENTITY,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "elu": ELU,
    "softplus": SOFTPLUS,
}
LOSSES = {"squared_error": SQUARED_ERROR, "binary_crossentropy": BINARY_CROSSENTROPY,
          "huber": HUBER}
SOLVERS = {"adam": ADAM, "sgd": SGD}
NOISES = {None: NO_NOISE, "masking": MASKING, "gaussian": GAUSSIAN,
          "salt_and_pepper": SALT_AND_PEPPER}
SPARSITIES = {None: NO_SPARSITY, "kl": KL, "l1": L1}
MISSING = {None: ALL_OBSERVED, "nan": MISSING_NAN, "unstored": MISSING_UNSTORED}
LAYER_COLUMNS = ("n_in", "n_out", "w_offset", "b_offset", "transposed", "activation",
                 "kind")
LAYER_KINDS = {"dense": DENSE, "gaussian_sample": GAUSSIAN_SAMPLE}
MAX_DEPTH = MAX_LAYERS
# Default TrainConfig.input_density_limit: minibatches with at most this share of
# nonzeros skip their zeros in the first layer (see _nonzeros.pxd for the measure).
INPUT_DENSITY_LIMIT = 0.3
# The parts of TrainConfig that a model without that concern passes.
LATENT_OFF = {"beta": 1.0}
MISSING_OFF = {"kind": ALL_OBSERVED}
NOISE_OFF = {"kind": NO_NOISE, "level": 0.0}
PENALTY_OFF = {"code_layer": 0, "sparsity": NO_SPARSITY, "sparsity_target": 0.0,
               "sparsity_weight": 0.0, "sparsity_decay": 0.0, "contraction_weight": 0.0}

# Status codes returned by the training pass.
cdef enum Status:
    OK = 0
    NONFINITE = 1

STATUS_OK = OK
STATUS_NONFINITE = NONFINITE
# Bytes of the state in which a call chooses its thread count (_threads.pxd).
THREAD_STATE_SIZE = sizeof(ThreadChoice)


cdef struct LatentConfig:
    # A sampling layer's KL term weighs beta in the objective (Higgins et al.,
    # 2017); 1 is the evidence lower bound.
    double beta


cdef struct TrainConfig:
    # What every model's pass needs ...
    int loss
    double huber_delta      # the Huber loss's threshold (_losses.pxd)
    int solver
    double learning_rate
    double alpha
    double beta_1
    double beta_2
    double epsilon
    double momentum
    bint nesterov
    # The first layer skips the zeros of a minibatch with at most this share
    # of nonzeros (0: never; see _nonzeros.pxd).
    double input_density_limit
    # ... and one part per concern, each switched off by its *_OFF values.
    NoiseConfig noise
    PenaltyConfig penalty
    LatentConfig latent
    MissingConfig missing


cdef struct Layout:
    # Offsets into the workspace, in elements.
    Py_ssize_t acts[MAX_LAYERS + 1]   # acts[l]: input of layer l, (batch, n_in)
    Py_ssize_t delta0                 # two ping-pong buffers of (batch, widest layer)
    Py_ssize_t delta1
    Py_ssize_t row_loss               # (batch,)
    Py_ssize_t row_extra              # (batch,) a stochastic layer's term per row
    Py_ssize_t noise                  # (batch, widest) a stochastic layer's draws
    Py_ssize_t mask                   # (batch, n_features) observed entries (_missing.pxd)
    Py_ssize_t grad                   # (n_params,), training only
    Py_ssize_t target                 # (batch, n_features) clean rows, training only
    Py_ssize_t code_grad              # (batch, widest) d penalty / d code, training only
    Py_ssize_t stat0                  # (widest,) per-code-unit scratch, training only
    Py_ssize_t stat1
    Py_ssize_t total



cdef Layout make_layout(const Py_ssize_t* layers, Py_ssize_t n_layers,
                        Py_ssize_t batch, Py_ssize_t n_params,
                        bint training) noexcept nogil:
    cdef Layout lay
    cdef Py_ssize_t l, pos = 0, widest = 0
    for l in range(n_layers):
        lay.acts[l] = pos
        pos += batch * col(layers, l, COL_IN)
        if col(layers, l, COL_OUT) > widest:
            widest = col(layers, l, COL_OUT)
        if col(layers, l, COL_IN) > widest:
            widest = col(layers, l, COL_IN)
    lay.acts[n_layers] = pos
    pos += batch * col(layers, n_layers - 1, COL_OUT)
    lay.delta0 = pos
    pos += batch * widest
    lay.delta1 = pos
    pos += batch * widest
    lay.row_loss = pos
    pos += batch
    lay.row_extra = pos
    pos += batch
    lay.noise = pos
    pos += batch * widest
    lay.mask = pos
    pos += batch * col(layers, 0, COL_IN)
    lay.grad = pos
    if training:
        pos += n_params
    lay.target = pos
    if training:
        pos += batch * col(layers, 0, COL_IN)
    lay.code_grad = pos
    if training:
        pos += batch * widest
    lay.stat0 = pos
    if training:
        pos += widest
    lay.stat1 = pos
    if training:
        pos += widest
    lay.total = pos
    return lay


def openmp_threads():
    """The number of threads the kernels may use now (OpenMP's limit, which
    threadpoolctl and OMP_NUM_THREADS set; 1 in a build without OpenMP)."""
    return skae_max_threads()


def workspace_size(const Py_ssize_t[:, ::1] layers, Py_ssize_t batch,
                   Py_ssize_t n_params, bint training):
    """Number of elements of the workspace that one call needs for ``batch`` rows."""
    check_layers(layers, n_params)
    return make_layout(&layers[0, 0], layers.shape[0], batch, n_params, training).total


cdef int check_layers(const Py_ssize_t[:, ::1] layers, Py_ssize_t n_params) except -1:
    """The layer table describes a chain of layers whose weights and biases lie
    inside a parameter vector of n_params (see _checks.pxd for why)."""
    cdef Py_ssize_t l, n_in, n_out, n_sampling = 0
    if layers.shape[1] != N_COLS or not 1 <= layers.shape[0] <= MAX_LAYERS:
        raise ValueError(
            f"kernel: the layer table must have 1 to {MAX_LAYERS} rows of {N_COLS} "
            f"columns; got shape ({layers.shape[0]}, {layers.shape[1]})."
        )
    for l in range(layers.shape[0]):
        n_in, n_out = layers[l, COL_IN], layers[l, COL_OUT]
        if n_in < 1 or n_out < 1 or (l > 0 and n_in != layers[l - 1, COL_OUT]):
            raise ValueError(f"kernel: layer {l} has sizes ({n_in}, {n_out}) that do "
                             "not follow the layer below.")
        if layers[l, COL_KIND] == GAUSSIAN_SAMPLE:
            # No parameters; [mu | log sigma^2] in, z out; one per network (its
            # per-row KL has one buffer).
            n_sampling += 1
            if (n_in != 2 * n_out or layers[l, COL_TRANS] != 0
                    or layers[l, COL_ACT] != IDENTITY or n_sampling > 1):
                raise ValueError(f"kernel: sampling layer {l} must map 2k inputs to k "
                                 "outputs, untransposed, with the identity, once.")
            continue
        if (layers[l, COL_W] < 0 or layers[l, COL_W] + n_in * n_out > n_params
                or layers[l, COL_B] < 0 or layers[l, COL_B] + n_out > n_params):
            raise ValueError(f"kernel: layer {l}'s parameters lie outside the "
                             f"{n_params} parameters.")
        if (layers[l, COL_TRANS] not in (0, 1)
                or layers[l, COL_ACT] not in ACTIVATIONS.values()
                or layers[l, COL_KIND] not in LAYER_KINDS.values()):
            raise ValueError(f"kernel: layer {l} has an unknown transposition, "
                             "activation or kind code.")
    return 0


cdef int check_config(TrainConfig* cfg, const Py_ssize_t[:, ::1] layers,
                      Py_ssize_t penalty_size) except -1:
    """Codes in range; a code penalty needs an untransposed code layer below the
    output and a penalty state of n_code + 1."""
    cdef Py_ssize_t cl = cfg.penalty.code_layer
    if (cfg.loss not in LOSSES.values() or cfg.solver not in SOLVERS.values()
            or cfg.noise.kind not in NOISES.values()
            or cfg.penalty.sparsity not in SPARSITIES.values()
            or cfg.missing.kind not in MISSING.values()):
        raise ValueError("kernel: unknown loss, solver, noise, sparsity or missing code.")
    if cfg.loss == HUBER and not cfg.huber_delta > 0:
        raise ValueError(f"kernel: huber_delta must be positive; got {cfg.huber_delta}.")
    if has_code_penalty(cfg):
        if not 0 <= cl < layers.shape[0] - 1 or layers[cl, COL_TRANS]:
            raise ValueError(f"kernel: code_layer {cl} cannot carry a penalty.")
        check_length(penalty_size, layers[cl, COL_OUT] + 1, "penalty_state")
    return 0


cdef int check_training(TrainConfig* cfg, Py_ssize_t n_features,
                        const Py_ssize_t[:, ::1] layers, Py_ssize_t n_params,
                        Py_ssize_t penalty_size) except -1:
    """What a training entry point needs: a valid layer table and config, and a
    network that maps rows of n_features back to n_features."""
    check_layers(layers, n_params)
    check_config(cfg, layers, penalty_size)
    check_shape(layers[0, COL_IN], n_features, "the first layer's input width")
    check_shape(layers[layers.shape[0] - 1, COL_OUT], n_features,
                "the output layer's width")
    return 0


# --------------------------------------------------------------------------------
# Building blocks. Each works on raw pointers with the GIL released.

cdef double forward_layers(const floating* params, const Py_ssize_t* layers,
                           Py_ssize_t first, Py_ssize_t last, floating* work,
                           Layout* lay, const Nonzeros* nz, Py_ssize_t batch,
                           bint activate_last, const Draws* draws,
                           int n_threads) noexcept nogil:
    """Run layers first..last (inclusive): acts[first] -> acts[last + 1];
    nz (or NULL) lists the nonzeros of acts[first]. Returns the layers' own
    terms of the objective (a sampling layer's weighted KL), their per-row
    values in row_extra."""
    cdef Py_ssize_t l
    cdef double total = 0
    memset(work + lay.row_extra, 0, batch * sizeof(floating))
    for l in range(first, last + 1):
        total += layer_forward(params, layers, l, work + lay.acts[l],
                               nz if l == first else NULL, work + lay.acts[l + 1], batch,
                               l < last or activate_last, work + lay.noise,
                               work + lay.row_extra, draws, n_threads)
    return total


cdef double output_loss(int loss, double huber_delta, const floating* params,
                        const Py_ssize_t* layers, Py_ssize_t n_layers, floating* work,
                        Layout* lay, const floating* target, const floating* mask,
                        Py_ssize_t batch, bint want_delta, int n_threads) noexcept nogil:
    """Per-row losses against target (batch, n_out), weighted by mask (same
    shape, or NULL), into row_loss (and the output delta into delta0); returns
    their sum, added serially so that it does not depend on threads."""
    cdef Py_ssize_t i, n = col(layers, n_layers - 1, COL_OUT)
    cdef int out_act = <int> col(layers, n_layers - 1, COL_ACT)
    cdef floating* z = work + lay.acts[n_layers]
    cdef floating* delta = work + lay.delta0
    cdef floating* rl = work + lay.row_loss
    cdef floating scale = (<floating> 1) / batch
    cdef double total = 0
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        rl[i] = row_loss_delta(loss, out_act, z + i * n, target + i * n,
                               mask + i * n if mask != NULL else NULL,
                               delta + i * n if want_delta else NULL, n, scale,
                               huber_delta)
    for i in range(batch):
        total += rl[i]
    return total


cdef void backward(const floating* params, floating* grad, const Py_ssize_t* layers,
                   Py_ssize_t n_layers, floating* work, Layout* lay, const Nonzeros* nz,
                   Py_ssize_t batch, Py_ssize_t code_layer, bint code_penalty,
                   const Draws* draws, int n_threads) noexcept nogil:
    """Accumulate d(objective)/d(params) into grad, from the output delta in delta0
    and, if code_penalty, the code penalty's gradient in code_grad; nz (or NULL)
    lists the nonzeros of the input acts[0]."""
    cdef Py_ssize_t l
    cdef floating* d = work + lay.delta0
    cdef floating* d_prev = work + lay.delta1
    cdef floating* tmp
    for l in range(n_layers - 1, -1, -1):
        layer_backward(params, grad, layers, l, work + lay.acts[l],
                       nz if l == 0 else NULL, d, d_prev if l > 0 else NULL,
                       work + lay.code_grad if code_penalty and l == code_layer + 1
                       else NULL,
                       batch, work + lay.noise, draws, n_threads)
        tmp = d
        d = d_prev
        d_prev = tmp


cdef Py_ssize_t weight_count(const Py_ssize_t* layers, Py_ssize_t n_layers) noexcept nogil:
    """Number of weights: they fill params[:weight_count], the biases follow."""
    cdef Py_ssize_t l, end, n = 0
    for l in range(n_layers):
        if col(layers, l, COL_KIND) != DENSE:
            continue
        end = col(layers, l, COL_W) + col(layers, l, COL_IN) * col(layers, l, COL_OUT)
        if end > n:
            n = end
    return n


cdef void add_l2_gradient(const floating* params, floating* grad,
                          Py_ssize_t n_weights, floating alpha,
                          int n_threads) noexcept nogil:
    """grad += alpha * W over every weight (each tied matrix once).

    Training fuses this into the optimizer step; this separate form serves
    loss_and_gradient, so the gradient checks cover the penalty.
    """
    cdef Py_ssize_t k, s, i
    for k in prange((n_weights + PARAM_BLOCK - 1) // PARAM_BLOCK,
                    num_threads=n_threads, schedule='static'):
        s = k * PARAM_BLOCK
        for i in range(s, min(s + PARAM_BLOCK, n_weights)):
            grad[i] += alpha * params[i]


cdef double l2_penalty(const floating* params, Py_ssize_t n_weights,
                       double alpha) noexcept nogil:
    """alpha / 2 * sum of squared weights (each tied matrix once)."""
    cdef Py_ssize_t i
    cdef double s = 0
    if alpha == 0:
        return 0
    for i in range(n_weights):
        s += params[i] * params[i]
    return 0.5 * alpha * s


cdef void optimizer_step(TrainConfig* cfg, floating* params, floating* grad,
                         floating* state, Py_ssize_t n_params, Py_ssize_t n_weights,
                         Py_ssize_t t, int n_threads) noexcept nogil:
    """One update of every parameter, with the L2 penalty on params[:n_weights]
    (t is the 1-based step count, for Adam). Blocks never straddle the
    weight/bias boundary, so each runs one branch-free loop."""
    cdef Py_ssize_t n_wblocks = (n_weights + PARAM_BLOCK - 1) // PARAM_BLOCK
    cdef Py_ssize_t n_bblocks = (n_params - n_weights + PARAM_BLOCK - 1) // PARAM_BLOCK
    cdef Py_ssize_t k, s, n
    cdef floating alpha, step_size = 0
    if cfg.solver == ADAM:
        step_size = <floating> (cfg.learning_rate * (1 - cfg.beta_2 ** t) ** 0.5
                                / (1 - cfg.beta_1 ** t))
    for k in prange(n_wblocks + n_bblocks, num_threads=n_threads, schedule='static'):
        if k < n_wblocks:
            s = k * PARAM_BLOCK
            n = min(PARAM_BLOCK, n_weights - s)
            alpha = <floating> cfg.alpha
        else:
            s = n_weights + (k - n_wblocks) * PARAM_BLOCK
            n = min(PARAM_BLOCK, n_params - s)
            alpha = 0
        if cfg.solver == ADAM:
            adam_block(params + s, grad + s, state + s, state + n_params + s, n,
                       step_size, <floating> cfg.beta_1, <floating> cfg.beta_2,
                       <floating> cfg.epsilon, alpha)
        else:
            sgd_block(params + s, grad + s, state + s, n, <floating> cfg.learning_rate,
                      <floating> cfg.momentum, cfg.nesterov, alpha)


# --------------------------------------------------------------------------------
# Regularisation: input corruption (denoising) and penalties on the code layer
# (sparsity, contraction). Corruption draws serially from the bit generator; the
# penalties reduce over rows in a fixed order, block-parallel over code units.

cdef double code_penalty(TrainConfig* cfg, const floating* params, floating* grad,
                         const Py_ssize_t* layers, floating* work, Layout* lay,
                         Py_ssize_t batch, floating* running, bint update_running,
                         int n_threads) noexcept nogil:
    """The penalties on the code h = acts[code_layer + 1], shape (batch, n_code)
    (_penalties.pxd): d(penalty)/dh into code_grad, the contraction's direct
    weight gradient into grad; returns the penalty's value. ``running`` is the
    KL's state (n_code + 1), updated only if update_running."""
    cdef Py_ssize_t cl = cfg.penalty.code_layer
    cdef Py_ssize_t n = col(layers, cl, COL_OUT)
    cdef const floating* h = work + lay.acts[cl + 1]
    cdef floating* dh = work + lay.code_grad
    cdef floating* s0 = work + lay.stat0
    cdef floating* s1 = work + lay.stat1
    cdef double total = 0
    memset(dh, 0, batch * n * sizeof(floating))
    if cfg.penalty.sparsity == KL:
        total += kl_penalty(h, dh, n, batch, cfg.penalty.sparsity_target,
                            cfg.penalty.sparsity_weight, cfg.penalty.sparsity_decay, running, update_running, s0, s1,
                            n_threads)
    elif cfg.penalty.sparsity == L1:
        total += l1_penalty(h, dh, n, batch, cfg.penalty.sparsity_weight, s0, n_threads)
    if cfg.penalty.contraction_weight != 0:
        total += contraction_penalty(h, dh, n, batch, <int> col(layers, cl, COL_ACT),
                                     params + col(layers, cl, COL_W),
                                     grad + col(layers, cl, COL_W),
                                     col(layers, cl, COL_IN), cfg.penalty.contraction_weight,
                                     s0, s1, n_threads)
    return total

cdef inline bint has_code_penalty(TrainConfig* cfg) noexcept nogil:
    return cfg.penalty.sparsity != NO_SPARSITY or cfg.penalty.contraction_weight != 0


cdef double batch_gradient(TrainConfig* cfg, const floating* params, floating* grad,
                           const Py_ssize_t* layers, Py_ssize_t n_layers,
                           floating* work, Layout* lay, Nonzeros* nz, Py_ssize_t batch,
                           const floating* target, const floating* mask, floating* running,
                           bint update_running, bint with_l2, const Draws* draws,
                           int n_threads) noexcept nogil:
    """Forward, loss and backward on the (possibly corrupted) batch in acts[0],
    against target (the clean rows, or any target of the output's width) with
    each entry weighted by mask (or NULL: all count); nz holds the buffers for
    listing the batch's nonzeros.

    Accumulates the gradient of the minibatch objective into grad (the L2 part
    only if with_l2; training fuses it into the update) and returns the batch's
    summed reconstruction loss, plus the layers' own terms (a sampling
    layer's beta-weighted KL, from the draws in draws) and batch times its code
    penalty, so that the sum over batches divided by the number of rows is the
    mean objective.
    """
    cdef double loss_sum, layer_terms, penalty = 0
    cdef bint penalised = has_code_penalty(cfg)
    list_nonzeros(nz, work + lay.acts[0], batch, col(layers, 0, COL_IN), n_threads)
    layer_terms = forward_layers(params, layers, 0, n_layers - 1, work, lay, nz, batch,
                                 False, draws, n_threads)
    loss_sum = output_loss(cfg.loss, cfg.huber_delta, params, layers, n_layers, work, lay,
                           target, mask, batch, True, n_threads) + layer_terms
    if not isfinite(loss_sum):
        return loss_sum
    if penalised:
        penalty = code_penalty(cfg, params, grad, layers, work, lay, batch, running,
                               update_running, n_threads)
    backward(params, grad, layers, n_layers, work, lay, nz, batch, cfg.penalty.code_layer,
             penalised, draws, n_threads)
    if with_l2 and cfg.alpha != 0:
        add_l2_gradient(params, grad, weight_count(layers, n_layers),
                        <floating> cfg.alpha, n_threads)
    return loss_sum + batch * penalty


cdef const floating* load_batch(TrainConfig* cfg, bitgen_t* rng, uint64_t* seeds,
                                const floating* data,
                                const Py_ssize_t* indices, const Py_ssize_t* indptr,
                                bint sparse, Py_ssize_t n_features,
                                const Py_ssize_t* rows, Py_ssize_t start,
                                Py_ssize_t batch, const floating* fill, floating* work,
                                Layout* lay, int n_threads) noexcept nogil:
    """Gather the batch's rows; with noise, into target, corrupted into acts[0].
    With missing entries, their mask into mask and fill (or 0) into them, before
    the corruption. Returns the clean rows the loss compares against."""
    cdef floating* clean = work + (lay.acts[0] if cfg.noise.kind == NO_NOISE
                                   else lay.target)
    gather_rows_parallel(data, indices, indptr, sparse, n_features, rows, start,
                         batch, clean, n_threads)
    if cfg.missing.kind != ALL_OBSERVED:
        observe(cfg.missing.kind, clean, work + lay.mask, fill, batch, n_features,
                n_threads)
    if cfg.noise.kind != NO_NOISE:
        corrupt(cfg.noise.kind, cfg.noise.level, rng, seeds, clean, work + lay.acts[0],
                batch, n_features, fill if cfg.missing.kind != ALL_OBSERVED else NULL,
                n_threads)
    return clean


cdef double minibatch_gradient(TrainConfig* cfg, bitgen_t* rng, uint64_t* seeds,
                               const floating* data, const Py_ssize_t* indices,
                               const Py_ssize_t* indptr, bint sparse,
                               Py_ssize_t n_features, const Py_ssize_t* rows,
                               Py_ssize_t start, Py_ssize_t batch, const floating* fill,
                               const floating* params, floating* grad,
                               const Py_ssize_t* layers, Py_ssize_t n_layers,
                               floating* work, Layout* lay, Nonzeros* nz,
                               floating* running, bint update_running,
                               const Draws* draws, uint64_t* sample_seeds,
                               int n_threads) noexcept nogil:
    """One minibatch of a pass over rows: gather rows[start:start + batch]
    (masked, corrupted), draw a sampling layer's seeds into sample_seeds (NULL:
    none), and accumulate the minibatch gradient into grad; returns
    batch_gradient's loss (the L2 part is left to the caller)."""
    cdef const floating* target = load_batch(cfg, rng, seeds, data, indices, indptr,
                                             sparse, n_features, rows, start, batch,
                                             fill, work, lay, n_threads)
    if sample_seeds != NULL:
        draw_seeds(rng, sample_seeds, batch)
    return batch_gradient(cfg, params, grad, layers, n_layers, work, lay, nz, batch,
                          target, mask_of(cfg, work, lay), running, update_running,
                          False, draws, n_threads)


cdef inline const floating* mask_of(TrainConfig* cfg, floating* work,
                                    Layout* lay) noexcept nogil:
    """The minibatch's mask of observed entries, NULL when all are observed."""
    return work + lay.mask if cfg.missing.kind != ALL_OBSERVED else NULL


cdef const floating* fill_of(const floating[::1] fill, Py_ssize_t n_features):
    """Pointer to the values missing entries enter as (NULL: zeros), checked."""
    if fill is None or fill.shape[0] == 0:
        return NULL
    check_length(fill.shape[0], n_features, "fill")
    return &fill[0]


# --------------------------------------------------------------------------------
# Entry points called from Python. Each converts its arguments to pointers with the
# GIL held, then releases it for the whole of its work.

cdef bint has_sampling(const Py_ssize_t[:, ::1] layers):
    """Whether the network draws noise of its own (a sampling layer)."""
    cdef Py_ssize_t l
    for l in range(layers.shape[0]):
        if layers[l, COL_KIND] == GAUSSIAN_SAMPLE:
            return True
    return False


cdef void draw_seeds(bitgen_t* rng, uint64_t* seeds, Py_ssize_t n) noexcept nogil:
    """One stream seed per row, drawn serially: the draws do not depend on
    which thread later uses each seed."""
    cdef Py_ssize_t i
    for i in range(n):
        seeds[i] = rng.next_uint64(rng.state)


cdef object nonzero_buffers(Nonzeros* nz, Py_ssize_t n_rows, Py_ssize_t n_cols,
                            double limit, object dtype, bint by_column,
                            int n_threads):
    """Allocate the buffers that list the nonzeros of up to limit * n_rows *
    n_cols entries of an (n_rows, n_cols) minibatch, by row and, if by_column,
    by column, with scratch for n_threads threads, and point nz at them.
    Returns the arrays, to be kept alive while nz is in use. Nothing is
    allocated if limit is 0.
    """
    cdef Py_ssize_t[::1] row_start, row_end, col_start, cursor
    cdef int[::1] row_index, col_index
    cdef cnp.ndarray row_value, col_value, pack
    nz.active = False
    nz.max_count = 0
    nz.row_start = nz.row_end = nz.col_start = NULL
    nz.row_index = nz.col_index = NULL
    nz.row_value = nz.col_value = nz.pack = NULL
    nz.cursor = NULL
    # The lists hold row and column numbers as C ints.
    if limit <= 0 or n_rows <= 0 or n_cols <= 0 or n_rows >= INT_MAX or n_cols >= INT_MAX:
        return ()
    nz.max_count = <Py_ssize_t> (min(limit, 1.0) * n_rows * n_cols)
    row_start = np.empty(n_rows, dtype=np.intp)
    row_end = np.empty(n_rows, dtype=np.intp)
    row_index = np.empty(nz.max_count + n_rows, dtype=np.intc)  # + a spare slot per row
    row_value = np.empty(nz.max_count + n_rows, dtype=dtype)
    nz.row_start, nz.row_end, nz.row_index = &row_start[0], &row_end[0], &row_index[0]
    nz.row_value = cnp.PyArray_DATA(row_value)
    # Each thread's scratch: a panel, and a cursor per row of the product's
    # output (n_rows forward, n_cols for the weight gradient).
    pack = np.empty(n_threads * PANEL_SIZE, dtype=dtype)
    nz.pack = cnp.PyArray_DATA(pack)
    nz.cursor_size = max(n_rows, n_cols)
    cursor = np.empty(n_threads * nz.cursor_size, dtype=np.intp)
    nz.cursor = &cursor[0]
    arrays = [row_start, row_end, row_index, row_value, pack, cursor]
    if by_column:
        col_start = np.empty(n_cols + 1, dtype=np.intp)
        col_index = np.empty(max(nz.max_count, 1), dtype=np.intc)
        col_value = np.empty(max(nz.max_count, 1), dtype=dtype)
        nz.col_start, nz.col_index = &col_start[0], &col_index[0]
        nz.col_value = cnp.PyArray_DATA(col_value)
        arrays += [col_start, col_index, col_value]
    return arrays

def train_pass(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
               const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
               const Py_ssize_t[::1] rows, Py_ssize_t batch_size,
               floating[::1] params, const Py_ssize_t[:, ::1] layers,
               TrainConfig config, floating[::1] opt_state, Py_ssize_t step,
               floating[::1] penalty_state, object bit_generator,
               floating[::1] work, unsigned char[::1] thread_state,
               const floating[::1] fill=None):
    """Train on ``X[rows]`` in minibatches of ``batch_size``, updating in place.

    Parameters
    ----------
    X_data, X_indices, X_indptr, sparse, n_features : input
        A C-contiguous dense array flattened into ``X_data`` (indices and indptr
        empty), or the three arrays of a CSR matrix.
    rows : (n_rows,) intp, input
        Row indices in the order to visit them.
    batch_size : int, input
    params : (n_params,), input and output
        Flat parameter vector, updated in place.
    layers : (n_layers, 6) intp, input
        The layer table.
    config : dict, input
        ``TrainConfig`` fields.
    opt_state : input and output
        Adam's first and second moments (2 * n_params) or SGD's velocity
        (n_params).
    step : int, input
        Optimizer steps taken so far.
    penalty_state : (n_code + 1,), input and output
        The KL sparsity's running mean activation and its count.
    bit_generator : numpy BitGenerator, input and output
        Source of the corruption noise; drawn from under its lock.
    work : input and output
        Scratch buffer of ``workspace_size(layers, batch_size, n_params, True)``.
    thread_state : (THREAD_STATE_SIZE,) uint8, input and output
        How the pass chooses its thread count (_threads.pxd): zeros to start,
        then kept across the passes of a fit. It never affects the results.
    fill : (n_features,), input, optional
        With ``config.missing``, the value each missing entry enters the
        network as (None: 0); the loss leaves missing entries out.

    Returns
    -------
    mean_loss : float
        Mean objective per row over the pass: reconstruction loss and code
        penalties, plus the L2 penalty at the end of the pass.
    status : int
        STATUS_OK, or STATUS_NONFINITE if a minibatch loss was not finite (the
        pass stops there, before that minibatch's update).
    step : int
        Optimizer steps taken after the pass.
    """
    cdef Py_ssize_t n_rows = rows.shape[0], n_params = params.shape[0]
    cdef Py_ssize_t n_layers = layers.shape[0], start, batch
    check_training(&config, n_features, layers, n_params, penalty_state.shape[0])
    check_rows(rows, check_input(X_data, X_indices, X_indptr, sparse, n_features))
    if batch_size < 1:
        raise ValueError(f"kernel: batch_size must be positive; got {batch_size}.")
    check_length(opt_state.shape[0], (2 if config.solver == ADAM else 1) * n_params,
                 "opt_state")
    check_length(work.shape[0], workspace_size(layers, batch_size, n_params, True),
                 "work")
    check_thread_state(thread_state)
    cdef const floating* fill_values = fill_of(fill, n_features)
    cdef ThreadChoice* choice = <ThreadChoice*> &thread_state[0]
    cdef int max_threads = skae_max_threads(), n_threads
    cdef const Py_ssize_t* lt = &layers[0, 0]
    cdef Layout lay = make_layout(lt, n_layers, batch_size, n_params, True)
    cdef Py_ssize_t n_weights = weight_count(lt, n_layers)
    cdef floating* w = &work[0]
    cdef floating* p = &params[0]
    cdef floating* g = w + lay.grad
    cdef double total = 0, batch_loss
    cdef Pending pending
    pending.next_poll = 0
    cdef bint interrupted = False
    cdef int status = OK
    cdef bitgen_t* rng = bitgen_of(bit_generator)
    cdef uint64_t[::1] seeds = np.empty(batch_size, dtype=np.uint64)
    cdef uint64_t[::1] sample_seeds = np.empty(batch_size, dtype=np.uint64)
    cdef uint64_t[:, ::1] sample_streams = np.empty((batch_size, 4), dtype=np.uint64)
    cdef bint sampling = has_sampling(layers)
    cdef Draws draws
    draws.beta = config.latent.beta
    draws.seeds = &sample_seeds[0] if sampling else NULL
    draws.streams = <skae_stream*> &sample_streams[0, 0]
    cdef Nonzeros nz
    nz_buffers = nonzero_buffers(&nz, batch_size, n_features, config.input_density_limit,
                                 np.float32 if floating is float else np.float64, True,
                                 max_threads)
    cdef FpModes fp_modes
    if n_rows == 0:
        return 0.0, OK, step
    with bit_generator.lock, nogil:
        fp_modes = flush_denormals(1, max_threads)
        memset(g, 0, n_params * sizeof(floating))
        start = 0
        while start < n_rows:
            if signal_pending(&pending):
                interrupted = True
                break
            batch = min(batch_size, n_rows - start)
            n_threads = threads_begin(choice, max_threads)
            widen_flush(&fp_modes, n_threads)
            batch_loss = minibatch_gradient(
                &config, rng, &seeds[0], values_of(X_data), indices_of(X_indices),
                indices_of(X_indptr), sparse, n_features, &rows[0], start, batch,
                fill_values, p, g, lt, n_layers, w, &lay, &nz, &penalty_state[0], True,
                &draws, &sample_seeds[0] if sampling else NULL, n_threads)
            if not isfinite(batch_loss):
                status = NONFINITE
                memset(g, 0, n_params * sizeof(floating))
                break
            step += 1
            optimizer_step(&config, p, g, &opt_state[0], n_params, n_weights, step,
                           n_threads)
            total += batch_loss
            start += batch
            threads_end(choice, batch)
        total = total / n_rows + l2_penalty(p, n_weights, config.alpha)
        restore_fp_mode(&fp_modes)
    if interrupted:
        raise_pending(&pending)
    return total, status, step


def loss_and_gradient(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                      const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
                      floating[::1] params, const Py_ssize_t[:, ::1] layers,
                      TrainConfig config, floating[::1] penalty_state,
                      object bit_generator, floating[::1] grad, floating[::1] work,
                      const floating[:, ::1] target=None, const floating[:, ::1] mask=None,
                      const floating[::1] fill=None):
    """Objective and gradient on all rows as one minibatch, without any update.

    The same code as one step of ``train_pass``, for gradient checks: the
    corruption is drawn from ``bit_generator`` (pass a fresh one with the same
    seed to get the same corruption again) and ``penalty_state`` is read, not
    updated. ``grad`` (output) is overwritten; ``work`` needs
    ``workspace_size(layers, n_rows, n_params, True)`` elements. ``target``
    (n_rows, n_features; None: the clean input) is what the loss compares the
    output with, and ``mask`` (same shape; None: ones, or with
    ``config.missing`` the input's observed entries, missing ones entering as
    ``fill``) weights each entry. Returns the objective: mean loss per row, code penalties and the L2 penalty.
    """
    cdef Py_ssize_t n_params = params.shape[0], n_layers = layers.shape[0]
    check_training(&config, n_features, layers, n_params, penalty_state.shape[0])
    cdef Py_ssize_t n_rows = check_input(X_data, X_indices, X_indptr, sparse, n_features)
    if n_rows < 1:
        raise ValueError("kernel: loss_and_gradient needs at least one row.")
    check_length(grad.shape[0], n_params, "grad")
    check_length(work.shape[0], workspace_size(layers, n_rows, n_params, True), "work")
    for given, name in ((target, "target"), (mask, "mask")):
        if given is not None:
            check_shape(given.shape[0], n_rows, f"the {name}'s rows")
            check_shape(given.shape[1], n_features, f"the {name}'s width")
    cdef const floating* given_target = &target[0, 0] if target is not None else NULL
    cdef const floating* weights = &mask[0, 0] if mask is not None else NULL
    cdef const floating* fill_values = fill_of(fill, n_features)
    cdef const Py_ssize_t* lt = &layers[0, 0]
    cdef Layout lay = make_layout(lt, n_layers, n_rows, n_params, True)
    cdef floating* w = &work[0]
    cdef const floating* target_rows
    cdef double loss
    cdef int n_threads = skae_max_threads()
    cdef bitgen_t* rng = bitgen_of(bit_generator)
    cdef uint64_t[::1] seeds = np.empty(max(n_rows, 1), dtype=np.uint64)
    cdef uint64_t[::1] sample_seeds = np.empty(max(n_rows, 1), dtype=np.uint64)
    cdef uint64_t[:, ::1] sample_streams = np.empty((max(n_rows, 1), 4), dtype=np.uint64)
    cdef bint sampling = has_sampling(layers)
    cdef Draws draws
    draws.beta = config.latent.beta
    draws.seeds = &sample_seeds[0] if sampling else NULL
    draws.streams = <skae_stream*> &sample_streams[0, 0]
    cdef Nonzeros nz
    nz_buffers = nonzero_buffers(&nz, n_rows, n_features, config.input_density_limit,
                                 np.float32 if floating is float else np.float64, True,
                                 n_threads)
    cdef FpModes fp_modes
    with bit_generator.lock, nogil:
        fp_modes = flush_denormals(n_threads, n_threads)
        memset(w + lay.grad, 0, n_params * sizeof(floating))
        target_rows = load_batch(&config, rng, &seeds[0], values_of(X_data),
                                 indices_of(X_indices), indices_of(X_indptr), sparse,
                                 n_features, NULL, 0, n_rows, fill_values, w, &lay,
                                 n_threads)
        if given_target != NULL:
            target_rows = given_target
        if weights == NULL:
            weights = mask_of(&config, w, &lay)
        if sampling:
            draw_seeds(rng, &sample_seeds[0], n_rows)
        loss = batch_gradient(&config, &params[0], w + lay.grad, lt, n_layers, w, &lay,
                              &nz, n_rows, target_rows, weights, &penalty_state[0], False,
                              True, &draws, n_threads)
        memcpy(&grad[0], w + lay.grad, n_params * sizeof(floating))
        loss = loss / n_rows + l2_penalty(&params[0], weight_count(lt, n_layers),
                                          config.alpha)
        restore_fp_mode(&fp_modes)
    return loss


def objective_pass(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                   const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
                   const Py_ssize_t[::1] rows, Py_ssize_t batch_size,
                   const floating[::1] params, const Py_ssize_t[:, ::1] layers,
                   TrainConfig config, floating[::1] penalty_state,
                   object bit_generator, floating[::1] grad, floating[::1] work,
                   unsigned char[::1] thread_state, const floating[::1] fill=None):
    """The objective on all of ``X[rows]`` and its gradient, without any update:
    what a full-batch optimizer (L-BFGS) evaluates.

    The rows are processed in chunks of ``batch_size`` (memory bounded by the
    chunk, as ``train_pass``'s minibatches) and the chunks' gradients summed,
    each weighted by its share of the rows, in a fixed order, so the result
    does not depend on the thread count. Code penalties apply per chunk, as per
    minibatch in training; the KL sparsity's ``penalty_state`` is read, not
    updated. Corruption and a sampling layer's noise are drawn from
    ``bit_generator``: pass a fresh one with the same seed to every evaluation
    to optimise one fixed objective. ``grad`` (output, n_params) is
    overwritten; ``work`` needs ``workspace_size(layers, batch_size, n_params,
    True)`` elements; the other arguments are those of ``train_pass``.

    Returns
    -------
    objective : float
        Mean objective per row plus the L2 penalty.
    status : int
        STATUS_OK, or STATUS_NONFINITE if a chunk's loss was not finite (the
        pass stops there; the gradient is then meaningless).
    """
    cdef Py_ssize_t n_rows = rows.shape[0], n_params = params.shape[0]
    cdef Py_ssize_t n_layers = layers.shape[0], start, batch, k, s, j
    check_training(&config, n_features, layers, n_params, penalty_state.shape[0])
    check_rows(rows, check_input(X_data, X_indices, X_indptr, sparse, n_features))
    if batch_size < 1:
        raise ValueError(f"kernel: batch_size must be positive; got {batch_size}.")
    if n_rows < 1:
        raise ValueError("kernel: objective_pass needs at least one row.")
    check_length(grad.shape[0], n_params, "grad")
    check_length(work.shape[0], workspace_size(layers, batch_size, n_params, True),
                 "work")
    check_thread_state(thread_state)
    cdef const floating* fill_values = fill_of(fill, n_features)
    cdef ThreadChoice* choice = <ThreadChoice*> &thread_state[0]
    cdef int max_threads = skae_max_threads(), n_threads
    cdef const Py_ssize_t* lt = &layers[0, 0]
    cdef Layout lay = make_layout(lt, n_layers, batch_size, n_params, True)
    cdef Py_ssize_t n_weights = weight_count(lt, n_layers)
    cdef floating* w = &work[0]
    cdef const floating* p = &params[0]
    cdef floating* g = w + lay.grad
    cdef floating* out = &grad[0]
    cdef floating share
    cdef double total = 0, batch_loss
    cdef Pending pending
    pending.next_poll = 0
    cdef bint interrupted = False
    cdef int status = OK
    cdef bitgen_t* rng = bitgen_of(bit_generator)
    cdef uint64_t[::1] seeds = np.empty(batch_size, dtype=np.uint64)
    cdef uint64_t[::1] sample_seeds = np.empty(batch_size, dtype=np.uint64)
    cdef uint64_t[:, ::1] sample_streams = np.empty((batch_size, 4), dtype=np.uint64)
    cdef bint sampling = has_sampling(layers)
    cdef Draws draws
    draws.beta = config.latent.beta
    draws.seeds = &sample_seeds[0] if sampling else NULL
    draws.streams = <skae_stream*> &sample_streams[0, 0]
    cdef Nonzeros nz
    nz_buffers = nonzero_buffers(&nz, batch_size, n_features, config.input_density_limit,
                                 np.float32 if floating is float else np.float64, True,
                                 max_threads)
    cdef FpModes fp_modes
    with bit_generator.lock, nogil:
        fp_modes = flush_denormals(1, max_threads)
        memset(out, 0, n_params * sizeof(floating))
        start = 0
        while start < n_rows:
            if signal_pending(&pending):
                interrupted = True
                break
            batch = min(batch_size, n_rows - start)
            n_threads = threads_begin(choice, max_threads)
            widen_flush(&fp_modes, n_threads)
            memset(g, 0, n_params * sizeof(floating))
            batch_loss = minibatch_gradient(
                &config, rng, &seeds[0], values_of(X_data), indices_of(X_indices),
                indices_of(X_indptr), sparse, n_features, &rows[0], start, batch,
                fill_values, p, g, lt, n_layers, w, &lay, &nz, &penalty_state[0], False,
                &draws, &sample_seeds[0] if sampling else NULL, n_threads)
            if not isfinite(batch_loss):
                status = NONFINITE
                break
            # The chunk's gradient is its mean over its rows; weighted by its
            # share, the sum is the mean over all rows. Fixed blocks: the same
            # sums whatever the thread count.
            share = (<floating> batch) / n_rows
            for k in prange((n_params + PARAM_BLOCK - 1) // PARAM_BLOCK,
                            num_threads=n_threads, schedule='static'):
                s = k * PARAM_BLOCK
                for j in range(s, min(s + PARAM_BLOCK, n_params)):
                    out[j] += share * g[j]
            total += batch_loss
            start += batch
            threads_end(choice, batch)
        if status == OK and not interrupted:
            if config.alpha != 0:
                add_l2_gradient(p, out, n_weights, <floating> config.alpha, max_threads)
            total = total / n_rows + l2_penalty(p, n_weights, config.alpha)
        restore_fp_mode(&fp_modes)
    if interrupted:
        raise_pending(&pending)
    return total, status


def corrupt_rows(const floating[:, ::1] X, int noise, double noise_level,
                 object bit_generator):
    """A corrupted copy of X, drawn exactly as a training pass draws it (for tests
    of the noise statistics)."""
    out = np.empty_like(X)
    cdef floating[:, ::1] out_view = out
    cdef bitgen_t* rng = bitgen_of(bit_generator)
    cdef uint64_t[::1] seeds = np.empty(max(X.shape[0], 1), dtype=np.uint64)
    cdef int n_threads = skae_max_threads()
    if X.shape[0] * X.shape[1] == 0:
        return out
    with bit_generator.lock, nogil:
        corrupt(noise, noise_level, rng, &seeds[0], &X[0, 0], &out_view[0, 0],
                X.shape[0], X.shape[1], <const floating*> NULL, n_threads)
    return out


def forward(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
            const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
            const Py_ssize_t[::1] rows, Py_ssize_t n_rows,
            const floating[::1] params, const Py_ssize_t[:, ::1] layers,
            Py_ssize_t first, Py_ssize_t last, int loss,
            floating[:, ::1] out, floating[::1] work, Py_ssize_t chunk,
            double input_density_limit, unsigned char[::1] thread_state,
            const uint64_t[::1] row_seeds=None, int missing=ALL_OBSERVED,
            const floating[::1] fill=None, double huber_delta=1.0):
    """Evaluate layers ``first..last`` on ``X[rows]`` (all rows if None), in chunks.

    With ``loss < 0``, ``out`` (n_rows, n_out of ``last``) receives the
    activations of layer ``last`` (the output activation applied). With a loss
    code, ``first`` must be 0 and ``last`` the output layer, and ``out``
    (n_rows, 1) receives each row's reconstruction loss against its input.
    ``work`` needs ``workspace_size(layers, chunk, n_params, False)`` elements.
    With ``first`` 0, chunks with at most ``input_density_limit`` nonzeros skip
    their zeros (see ``TrainConfig``). ``thread_state`` (THREAD_STATE_SIZE
    bytes, zeros to start) carries the choice of thread count from chunk to
    chunk and from call to call (_threads.pxd). A sampling layer draws row i's
    noise from the stream of ``row_seeds[i]`` (None: no noise, z is the
    posterior mean); with a loss code its KL is added to the row's loss, so
    that ``out`` is the negative evidence lower bound. With ``missing`` (a
    MISSING code; ``first`` 0), missing entries enter as ``fill`` (None: 0)
    and a row's loss is its loss over the observed entries times
    n_features / (their number): on the scale of a complete row's, and 0 for a
    row with none observed. ``huber_delta`` is the Huber loss's threshold.
    """
    cdef Py_ssize_t n_layers = layers.shape[0], start, batch, i
    check_layers(layers, params.shape[0])
    if not 0 <= first <= last < n_layers:
        raise ValueError(f"kernel: layers {first}..{last} are not in 0..{n_layers - 1}.")
    if loss >= 0 and (first != 0 or last != n_layers - 1 or loss not in LOSSES.values()
                      or layers[last, COL_OUT] != n_features):
        raise ValueError("kernel: a loss needs the whole network, mapping rows back "
                         "to their own width, and a known loss code.")
    check_shape(n_features, layers[first, COL_IN], "the input width")
    if missing not in MISSING.values() or (missing != ALL_OBSERVED and first != 0):
        raise ValueError("kernel: an unknown missing code, or missing entries in the "
                         "input of a layer other than the first.")
    if loss == HUBER and not huber_delta > 0:
        raise ValueError(f"kernel: huber_delta must be positive; got {huber_delta}.")
    cdef const floating* fill_values = fill_of(fill, n_features)
    cdef Py_ssize_t n_available = check_input(X_data, X_indices, X_indptr, sparse,
                                              n_features)
    if rows is not None:
        check_shape(rows.shape[0], n_rows, "the number of rows listed")
        check_rows(rows, n_available)
    elif n_rows > n_available:
        raise ValueError(f"kernel: {n_rows} rows asked of an input of {n_available}.")
    check_shape(out.shape[0], n_rows, "the number of output rows")
    check_shape(out.shape[1], 1 if loss >= 0 else layers[last, COL_OUT],
                "the output width")
    if n_rows == 0:
        return
    if chunk < 1:
        raise ValueError(f"kernel: chunk must be positive; got {chunk}.")
    check_length(work.shape[0], workspace_size(layers, chunk, params.shape[0], False),
                 "work")
    check_thread_state(thread_state)
    cdef ThreadChoice* choice = <ThreadChoice*> &thread_state[0]
    if row_seeds is not None:
        check_length(row_seeds.shape[0], n_rows, "row_seeds")
    cdef uint64_t[:, ::1] sample_streams = np.empty((max(chunk, 1), 4), dtype=np.uint64)
    cdef Draws draws
    draws.beta = 1.0
    draws.seeds = NULL
    draws.streams = <skae_stream*> &sample_streams[0, 0]
    cdef const Py_ssize_t* lt = &layers[0, 0]
    cdef Layout lay = make_layout(lt, n_layers, chunk, params.shape[0], False)
    cdef floating* w = &work[0]
    cdef Py_ssize_t width = out.shape[1]
    cdef const Py_ssize_t* r = indices_of(rows) if rows is not None else NULL
    cdef floating* mask = w + lay.mask if missing != ALL_OBSERVED else NULL
    cdef Pending pending
    pending.next_poll = 0
    cdef bint interrupted = False
    cdef int max_threads = skae_max_threads(), n_threads
    cdef Nonzeros nz
    nz_buffers = nonzero_buffers(&nz, chunk, n_features,
                                 input_density_limit if first == 0 else 0,
                                 np.float32 if floating is float else np.float64, False,
                                 max_threads)
    cdef FpModes fp_modes
    with nogil:
        fp_modes = flush_denormals(1, max_threads)
        start = 0
        while start < n_rows:
            if signal_pending(&pending):
                interrupted = True
                break
            batch = min(chunk, n_rows - start)
            n_threads = threads_begin(choice, max_threads)
            widen_flush(&fp_modes, n_threads)
            gather_rows(values_of(X_data), indices_of(X_indices), indices_of(X_indptr),
                        sparse, n_features,
                        r, start, batch, w + lay.acts[first])
            if mask != NULL:
                observe(missing, w + lay.acts[0], mask, fill_values, batch, n_features,
                        n_threads)
            list_nonzeros(&nz, w + lay.acts[first], batch, n_features, n_threads)
            if row_seeds is not None:
                draws.seeds = &row_seeds[start]
            forward_layers(&params[0], lt, first, last, w, &lay, &nz, batch, loss < 0,
                           &draws, n_threads)
            if loss < 0:
                memcpy(&out[start, 0], w + lay.acts[last + 1],
                       batch * width * sizeof(floating))
            else:
                output_loss(loss, huber_delta, &params[0], lt, n_layers, w, &lay,
                            w + lay.acts[0], mask, batch, False, n_threads)
                if mask != NULL:
                    scale_to_width(w + lay.row_loss, mask, batch, n_features)
                for i in range(batch):
                    out[start + i, 0] = w[lay.row_loss + i] + w[lay.row_extra + i]
            start += batch
            threads_end(choice, batch)
        restore_fp_mode(&fp_modes)
    if interrupted:
        raise_pending(&pending)


cdef void scale_to_width(floating* row_loss, const floating* mask, Py_ssize_t batch,
                         Py_ssize_t n) noexcept nogil:
    """Each row's loss over its observed entries times n / (their number), so
    that rows with different numbers of observed entries compare on the scale
    of a complete row (0 for a row with none observed)."""
    cdef Py_ssize_t i
    cdef floating count
    for i in range(batch):
        count = observed_count(mask + i * n, n)
        row_loss[i] = row_loss[i] * (n / count) if count > 0 else 0


def importance_log_likelihood(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                              const Py_ssize_t[::1] X_indptr, bint sparse,
                              Py_ssize_t n_features, const floating[::1] params,
                              const Py_ssize_t[:, ::1] layers, int loss,
                              Py_ssize_t n_samples, const uint64_t[::1] seeds,
                              double[::1] out, floating[::1] work, Py_ssize_t chunk,
                              unsigned char[::1] thread_state, int missing=ALL_OBSERVED,
                              const floating[::1] fill=None):
    """The importance-weighted estimate of log p(x) of a network with a sampling
    layer (Burda et al., 2016), for every row of X, ``chunk`` rows at a time.

    out[i] = log (1/S) sum_s p(x_i | z_s) p(z_s) / q(z_s | x_i), S = n_samples,
    z_s = mu + sigma * eps_s from the stream of seeds[i]. The encoder runs once
    per chunk; each draw then runs the decoder on the chunk's rows, and a
    running log-sum-exp per row keeps memory independent of S. log p(x|z) is
    minus the loss (in nats for binary cross-entropy); the Gaussians' log(2 pi)
    terms cancel in the ratio. ``work`` needs ``workspace_size(layers, chunk,
    n_params, False)`` elements; ``thread_state`` as in ``forward``. With
    ``missing``, missing entries enter as ``fill`` and p(x|z) is that of the
    observed entries (the missing ones integrated out).
    """
    cdef Py_ssize_t n_layers = layers.shape[0], n_params = params.shape[0]
    cdef Py_ssize_t s = -1, l, start, batch, i, j, t, k
    check_layers(layers, n_params)
    for l in range(n_layers):
        if layers[l, COL_KIND] == GAUSSIAN_SAMPLE:
            s = l
    if s < 1 or s == n_layers - 1:
        raise ValueError("kernel: the network needs a sampling layer between an "
                         "encoder and a decoder.")
    if (loss not in LOSSES.values() or layers[0, COL_IN] != n_features
            or layers[n_layers - 1, COL_OUT] != n_features):
        raise ValueError("kernel: a known loss code, and a network that maps rows "
                         "back to their own width, are needed.")
    cdef Py_ssize_t n_rows = check_input(X_data, X_indices, X_indptr, sparse, n_features)
    check_length(out.shape[0], n_rows, "out")
    check_length(seeds.shape[0], n_rows, "seeds")
    if n_samples < 1 or chunk < 1:
        raise ValueError("kernel: n_samples and chunk must be positive.")
    if missing not in MISSING.values():
        raise ValueError(f"kernel: unknown missing code {missing}.")
    cdef const floating* fill_values = fill_of(fill, n_features)
    check_length(work.shape[0], workspace_size(layers, chunk, n_params, False), "work")
    check_thread_state(thread_state)
    if n_rows == 0:
        return
    k = layers[s, COL_OUT]
    cdef ThreadChoice* choice = <ThreadChoice*> &thread_state[0]
    cdef const Py_ssize_t* lt = &layers[0, 0]
    cdef Layout lay = make_layout(lt, n_layers, chunk, n_params, False)
    cdef floating* w = &work[0]
    cdef const floating* p = &params[0]
    cdef floating* mask = w + lay.mask if missing != ALL_OBSERVED else NULL
    cdef uint64_t[:, ::1] stream_state = np.empty((chunk, 4), dtype=np.uint64)
    cdef skae_stream* streams = <skae_stream*> &stream_state[0, 0]
    cdef double[::1] log_ratio = np.empty(chunk)
    cdef double[::1] top = np.empty(chunk)       # the running maximum of log w
    cdef double[::1] total = np.empty(chunk)     # sum of exp(log w - top)
    cdef double lw, ratio
    cdef floating mu, log_var, e, z
    cdef int max_threads = skae_max_threads(), n_threads
    cdef Draws draws
    draws.beta = 1.0
    draws.seeds = NULL
    draws.streams = streams
    cdef Pending pending
    pending.next_poll = 0
    cdef bint interrupted = False
    cdef Nonzeros nz
    nz_buffers = nonzero_buffers(&nz, chunk, n_features, INPUT_DENSITY_LIMIT,
                                 np.float32 if floating is float else np.float64, False,
                                 max_threads)
    cdef FpModes fp_modes
    with nogil:
        fp_modes = flush_denormals(1, max_threads)
        start = 0
        while start < n_rows and not interrupted:
            batch = min(chunk, n_rows - start)
            gather_rows(values_of(X_data), indices_of(X_indices), indices_of(X_indptr),
                        sparse, n_features, NULL, start, batch, w + lay.acts[0])
            if mask != NULL:
                observe(missing, w + lay.acts[0], mask, fill_values, batch, n_features, 1)
            list_nonzeros(&nz, w + lay.acts[0], batch, n_features, 1)
            forward_layers(p, lt, 0, s - 1, w, &lay, &nz, batch, True, &draws, 1)
            for i in range(batch):
                skae_stream_seed(&streams[i], seeds[start + i])
                top[i] = -INFINITY
                total[i] = 0
            for t in range(n_samples):
                if signal_pending(&pending):
                    interrupted = True
                    break
                n_threads = threads_begin(choice, max_threads)
                widen_flush(&fp_modes, n_threads)
                # z into the decoder's input; log p(z) - log q(z|x) per row.
                for i in prange(batch, num_threads=n_threads, schedule='static'):
                    ratio = 0
                    for j in range(k):
                        mu = w[lay.acts[s] + i * 2 * k + j]
                        log_var = w[lay.acts[s] + i * 2 * k + k + j]
                        e = <floating> skae_stream_normal(&streams[i])
                        z = mu + <floating> exp(0.5 * log_var) * e
                        w[lay.acts[s + 1] + i * k + j] = z
                        ratio = ratio + 0.5 * (e * e - z * z + log_var)
                    log_ratio[i] = ratio
                forward_layers(p, lt, s + 1, n_layers - 1, w, &lay, NULL, batch, False,
                               &draws, n_threads)
                output_loss(loss, 1.0, p, lt, n_layers, w, &lay, w + lay.acts[0], mask,
                            batch, False, n_threads)
                for i in range(batch):
                    lw = log_ratio[i] - w[lay.row_loss + i]
                    if lw > top[i]:
                        total[i] = total[i] * exp(top[i] - lw) + 1
                        top[i] = lw
                    else:
                        total[i] = total[i] + exp(lw - top[i])
                threads_end(choice, batch)
            for i in range(batch):
                out[start + i] = top[i] + log(total[i]) - log(<double> n_samples)
            start += batch
        restore_fp_mode(&fp_modes)
    if interrupted:
        raise_pending(&pending)
