"""Feed-forward network kernel: forward, loss, backward and update, with the GIL released.

Layout of the kernels
---------------------
This file and ``_rbm.pyx`` are orchestration only; the pieces they compose lie
in three folders, one concern a file:

- ``runtime/``: ``driver.pxd``, the one pass driver every entry point runs its
  steps through (GIL release, Ctrl-C polling, the thread choice of
  ``threads.pxd``, kept between calls in ``record.pyx``'s ThreadRecord, the
  floating-point mode of ``fpmode.pxd``), ``checks.pxd``
  (what entry points check before they release the GIL), ``rows.pxd``
  (gathering dense or CSR rows), fork safety (``openmp_compat.h``);
- ``maths/``: BLAS (``blas.pxd``), ``activations.pxd``, ``losses.pxd``,
  ``random.pxd``, ``optim.pxd`` (the optimizer's step and its blocking),
  ``nonzeros.pxd`` (sparse minibatches), ``corruption.pxd`` (denoising noise),
  ``penalties.pxd`` (one function per code penalty), ``missing.pxd``;
- ``layers/``: ``table.pxd`` (the layer table's columns), one file per layer
  kind (``dense.pxd``, ``sampling.pxd``, ``convolution.pxd``,
  ``transposed.pxd``, ``pooling.pxd``, ``upsampling.pxd``, ``gru.pxd``,
  ``lstm.pxd``, ``repeat.pxd``, ``reverse.pxd``, ``feedback.pxd``), what kinds
  share (``window.pxd``: sliding windows; ``recurrent.pxd``: the time loop;
  ``stepping.pxd``: running layers one time step at a time, for a decoder fed
  its own outputs) and ``registry.pxd``, which maps a kind code to the kind's
  check, scratch size, weight span, forward and backward.

Shapes
------
A network of ``L`` layers is described by a *layer table*, an ``(L, N_COLS)``
integer array (``LAYER_COLUMNS`` names the columns) that Python builds from
per-kind descriptors (``skae/_core/layers.py``). Each row gives a layer's
widths and geometry (channels, height, width of its input and output; a
sliding window's kernel, stride, padding and dilation), the offsets of its
weights and biases in one flat parameter vector, its activation and its kind.
A dense layer multiplies its input by the ``(n_in, n_out)`` matrix stored
row-major at its weight offset or, when ``transposed`` is 1 (a tied decoder
layer), by the transpose of its mirror encoder layer's matrix: tied weights
cost no copy and their gradient accumulates into one place. The last layer's
activation is the output activation; with binary cross-entropy it is the
sigmoid, applied inside the loss so that the loss is computed stably from the
logits. Activations are row-major ``(batch, units)``, a unit index running over
channels, then height, then width. The flat vector makes one optimizer step a
single elementwise loop, split over threads.

One call, one pass
------------------
``train_pass`` takes an array of row indices and trains on them in minibatches:
each step of the pass driver gathers one minibatch (dense or CSR) into a
reusable buffer, then forward, loss, backward, penalties, optimizer update.
Nothing per minibatch returns to the interpreter. Python allocates the
workspace once (size from ``workspace_size``: each layer's input, its own
scratch, the deltas, the gradient), and each entry point its other scratch
before it releases the GIL. ``objective_pass`` (L-BFGS), ``loss_and_gradient``
(the gradient checks), ``activations``, ``row_losses`` and
``importance_log_likelihood`` are the other entry points, each a step function
and a record for the same driver.

Sparse input
------------
A minibatch that is mostly zeros (MNIST's pixels, a bag of words; at most
``input_density_limit`` of nonzeros) has its nonzeros listed, and the first
layer's forward product and weight gradient skip its zeros (maths/nonzeros.pxd).
The choice depends only on the minibatch's values, so it is the same for dense
and CSR input and for any thread count.

Objective
---------
For a minibatch of ``B`` rows, ``mean_i sum_j loss(x_ij, xhat_ij) + alpha/2 *
sum ||W||^2``, the reconstruction loss being summed over features (so that
``score_samples`` is its negative per sample) and the penalty taken once per
weight matrix (tied matrices once). With missing entries (``TrainConfig.missing``)
the sum runs over each row's observed entries only, and when a layer runs over
time steps (a recurrent kind) each row's length is read from its mask: the
steps up to its last observed one, so that NaN right-padding ends a series.

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

Checks
------
The Python layer validates what users pass; each entry point checks the
buffers' sizes against the shapes it is told, and the table row of every layer
against its kind, and raises ``ValueError`` rather than read or write out of
bounds; a non-finite loss is reported through the pass's status.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, exp, isfinite, log
from libc.limits cimport INT_MAX
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset

from .maths.activations cimport IDENTITY, SIGMOID, TANH, RELU, ELU, SOFTPLUS
from .runtime.checks cimport check_input, check_length, check_rows, check_shape
from .maths.corruption cimport NoiseConfig, NO_NOISE, MASKING, GAUSSIAN, SALT_AND_PEPPER, corrupt
from .runtime.driver cimport (
    STOP, register_fork_handler, run_pass, skae_max_threads, skae_set_alternating,
    skae_team_step_count,
)
from .layers.table cimport (
    COL_IN, COL_OUT, COL_W, COL_B, COL_TRANS, COL_ACT, COL_KIND, COL_IN_C, COL_IN_H,
    COL_IN_W, COL_OUT_C, COL_OUT_H, COL_OUT_W, COL_KH, COL_KW, COL_SH, COL_SW, COL_PH,
    COL_PW, COL_DH, COL_DW, N_COLS, MAX_LAYERS, DENSE, GAUSSIAN_SAMPLE, CONVOLUTION,
    TRANSPOSED_CONVOLUTION, MAX_POOL, AVERAGE_POOL, UPSAMPLE, GRU, REPEAT, LSTM,
    BIDIRECTIONAL_GRU, BIDIRECTIONAL_LSTM, REVERSE, FEEDBACK, col,
)
from .layers.registry cimport (
    layer_backward, layer_check, layer_forward, layer_scratch, layer_weights_end,
    reads_lengths,
)
from .layers.sampling cimport Draws
from .maths.losses cimport SQUARED_ERROR, BINARY_CROSSENTROPY, HUBER, row_loss_delta
from .maths.missing cimport (
    MissingConfig, ALL_OBSERVED, MISSING_NAN, MISSING_UNSTORED, observe, observed_count,
    row_steps,
)
from .maths.nonzeros cimport Nonzeros, PANEL_SIZE, list_nonzeros
from .maths.optim cimport ADAM, SGD, Optimizer, add_scaled, clip_norm, optimizer_step
from .maths.penalties cimport (
    PenaltyConfig, NO_SPARSITY, KL, L1, contraction_penalty, kl_penalty, l1_penalty,
)
from .maths.random cimport (
    bitgen_t, bitgen_of, skae_stream, skae_stream_normal, skae_stream_seed,
    skae_ziggurat_init,
)
from .runtime.rows cimport RowSource, gather, row_source
from .layers.sampling cimport reparameterise
from .runtime.record cimport ThreadRecord

cimport numpy as cnp
import numpy as np

cnp.import_array()
skae_ziggurat_init()


register_fork_handler()


def team_steps():
    """How many steps of this module's passes have run on more than one
    thread in this process (for tests: results never depend on it)."""
    return skae_team_step_count()


def alternate_threads(bint on):
    """Make this module's passes alternate one thread and the team from step
    to step (True) or choose by measurement (False, the default); for tests
    that must see both, whatever the machine's load."""
    skae_set_alternating(on)

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
                 "kind", "in_channels", "in_height", "in_width", "out_channels",
                 "out_height", "out_width", "kernel_height", "kernel_width",
                 "stride_height", "stride_width", "padding_height", "padding_width",
                 "dilation_height", "dilation_width")
assert len(LAYER_COLUMNS) == N_COLS
LAYER_KINDS = {"dense": DENSE, "gaussian_sample": GAUSSIAN_SAMPLE,
               "convolution": CONVOLUTION, "transposed_convolution": TRANSPOSED_CONVOLUTION,
               "max_pool": MAX_POOL, "average_pool": AVERAGE_POOL, "upsample": UPSAMPLE,
               "gru": GRU, "repeat": REPEAT, "lstm": LSTM,
               "bidirectional_gru": BIDIRECTIONAL_GRU,
               "bidirectional_lstm": BIDIRECTIONAL_LSTM, "reverse": REVERSE,
               "feedback": FEEDBACK}
MAX_DEPTH = MAX_LAYERS
# Default TrainConfig.input_density_limit: minibatches with at most this share of
# nonzeros skip their zeros in the first layer (see _nonzeros.pxd for the measure).
INPUT_DENSITY_LIMIT = 0.3
# The parts of TrainConfig that a model without that concern passes.
LATENT_OFF = {"beta": 1.0}
DECODER_OFF = {"teacher_forcing": 1.0}
NOISE_OFF = {"kind": NO_NOISE, "level": 0.0}
PENALTY_OFF = {"code_layer": 0, "sparsity": NO_SPARSITY, "sparsity_target": 0.0,
               "sparsity_weight": 0.0, "sparsity_decay": 0.0, "contraction_weight": 0.0}

# Status codes returned by the training pass.
cdef enum Status:
    OK = 0
    NONFINITE = 1

STATUS_OK = OK
STATUS_NONFINITE = NONFINITE


cdef struct LatentConfig:
    # A sampling layer's KL term weighs beta in the objective (Higgins et al.,
    # 2017); 1 is the evidence lower bound.
    double beta


cdef struct DecoderConfig:
    # The share of steps at which an autoregressive decoder is fed the true
    # previous value rather than its own output (layers/feedback.pxd).
    double teacher_forcing


cdef struct TrainConfig:
    # What every model's pass needs ...
    int loss
    double huber_delta      # the Huber loss's threshold (maths/losses.pxd)
    int solver
    double learning_rate
    double alpha
    double beta_1
    double beta_2
    double epsilon
    double momentum
    bint nesterov
    # Before each update, the minibatch gradient is scaled to this norm if
    # longer (0: never; maths/optim.pxd's clip_norm).
    double max_grad_norm
    # The first layer skips the zeros of a minibatch with at most this share
    # of nonzeros (0: never; see _nonzeros.pxd).
    double input_density_limit
    # ... and one part per concern, each switched off by its *_OFF values.
    NoiseConfig noise
    PenaltyConfig penalty
    LatentConfig latent
    DecoderConfig decoder
    MissingConfig missing


cdef struct Layout:
    # Offsets into the workspace, in elements.
    Py_ssize_t acts[MAX_LAYERS + 1]   # acts[l]: input of layer l, (batch, n_in)
    Py_ssize_t delta0                 # two ping-pong buffers of (batch, widest layer)
    Py_ssize_t delta1
    Py_ssize_t row_loss               # (batch,)
    Py_ssize_t row_extra              # (batch,) a stochastic layer's term per row
    Py_ssize_t scratch[MAX_LAYERS]    # scratch[l]: layer l's own, (batch, its scratch)
    Py_ssize_t mask                   # (batch, n_features) observed entries (maths/missing.pxd)
    Py_ssize_t lengths                # (batch,) each row's time steps, if a layer reads them
    bint reads_lengths
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
    for l in range(n_layers):
        lay.scratch[l] = pos
        pos += batch * layer_scratch(layers, l)
    lay.delta0 = pos
    pos += batch * widest
    lay.delta1 = pos
    pos += batch * widest
    lay.row_loss = pos
    pos += batch
    lay.row_extra = pos
    pos += batch
    lay.mask = pos
    pos += batch * col(layers, 0, COL_IN)
    lay.lengths = pos
    pos += batch
    lay.reads_lengths = False
    for l in range(n_layers):
        lay.reads_lengths = lay.reads_lengths or reads_lengths(layers, l)
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
    """The layer table describes a chain of layers, each output the next
    input (widths and geometry), each row valid for its kind (layers/registry.pxd),
    parameters inside a vector of n_params (see runtime/checks.pxd for why)."""
    cdef Py_ssize_t l, c
    if n_params < 1:
        raise ValueError("kernel: a network needs at least one parameter; this one "
                         "has none (only layers without weights).")
    if layers.shape[1] != N_COLS or not 1 <= layers.shape[0] <= MAX_LAYERS:
        raise ValueError(
            f"kernel: the layer table must have 1 to {MAX_LAYERS} rows of {N_COLS} "
            f"columns; got shape ({layers.shape[0]}, {layers.shape[1]})."
        )
    for l in range(layers.shape[0]):
        for c in range(COL_IN_C, N_COLS):
            if layers[l, c] < (1 if c <= COL_OUT_W else 0):
                raise ValueError(f"kernel: layer {l}'s geometry column {c} is "
                                 f"{layers[l, c]}.")
        if (layers[l, COL_IN] != layers[l, COL_IN_C] * layers[l, COL_IN_H] * layers[l, COL_IN_W]
                or layers[l, COL_OUT] != (layers[l, COL_OUT_C] * layers[l, COL_OUT_H]
                                          * layers[l, COL_OUT_W])):
            raise ValueError(f"kernel: layer {l}'s widths are not the products of "
                             "its geometry.")
        for c in range(3):
            if l > 0 and layers[l, COL_IN_C + c] != layers[l - 1, COL_OUT_C + c]:
                raise ValueError(f"kernel: layer {l}'s input is not the output of the "
                                 "layer below.")
        layer_check(layers, l, n_params)
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
    if not cfg.max_grad_norm >= 0:
        raise ValueError(f"kernel: max_grad_norm must be 0 or positive; got "
                         f"{cfg.max_grad_norm}.")
    if not 0 <= cfg.decoder.teacher_forcing <= 1:
        raise ValueError(f"kernel: teacher_forcing must lie in [0, 1]; got "
                         f"{cfg.decoder.teacher_forcing}.")
    if has_code_penalty(cfg):
        if (not 0 <= cl < layers.shape[0] - 1 or layers[cl, COL_TRANS]
                or layers[cl, COL_KIND] != DENSE):
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
                           const floating* lengths, const floating* teacher,
                           int n_threads) noexcept nogil:
    """Run layers first..last (inclusive): acts[first] -> acts[last + 1];
    nz (or NULL) lists the nonzeros of acts[first]; lengths (or NULL) the
    rows' time steps; teacher (or NULL) the rows a feedback layer may feed
    its decoder. Returns the layers' own terms of the objective (a
    sampling layer's weighted KL), their per-row values in row_extra."""
    cdef Py_ssize_t l
    cdef double total = 0
    memset(work + lay.row_extra, 0, batch * sizeof(floating))
    for l in range(first, last + 1):
        total += layer_forward(params, layers, l, work + lay.acts[l],
                               nz if l == first else NULL, work + lay.acts[l + 1], batch,
                               l < last or activate_last, work + lay.scratch[l],
                               work + lay.row_extra, draws, lengths, teacher,
                               n_threads)
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
                   const Draws* draws, const floating* lengths,
                   int n_threads) noexcept nogil:
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
                       batch, work + lay.scratch[l], draws, lengths, n_threads)
        tmp = d
        d = d_prev
        d_prev = tmp


cdef Py_ssize_t weight_count(const Py_ssize_t* layers, Py_ssize_t n_layers) noexcept nogil:
    """Number of weights: they fill params[:weight_count], the biases follow."""
    cdef Py_ssize_t l, n = 0
    for l in range(n_layers):
        n = max(n, layer_weights_end(layers, l))
    return n


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


cdef inline Optimizer optimizer_of(const TrainConfig* cfg) noexcept nogil:
    cdef Optimizer opt
    opt.solver = cfg.solver
    opt.learning_rate = cfg.learning_rate
    opt.beta_1 = cfg.beta_1
    opt.beta_2 = cfg.beta_2
    opt.epsilon = cfg.epsilon
    opt.momentum = cfg.momentum
    opt.nesterov = cfg.nesterov
    opt.alpha = cfg.alpha
    return opt


# --------------------------------------------------------------------------------
# Regularisation: input corruption (denoising) and penalties on the code layer
# (sparsity, contraction). Corruption draws serially from the bit generator; the
# penalties reduce over rows in a fixed order, block-parallel over code units.

cdef double code_penalty(TrainConfig* cfg, const floating* params, floating* grad,
                         const Py_ssize_t* layers, floating* work, Layout* lay,
                         Py_ssize_t batch, floating* running, bint update_running,
                         int n_threads) noexcept nogil:
    """The penalties on the code h = acts[code_layer + 1], shape (batch, n_code)
    (maths/penalties.pxd): d(penalty)/dh into code_grad, the contraction's direct
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
                           const floating* lengths, int n_threads) noexcept nogil:
    """Forward, loss and backward on the (possibly corrupted) batch in acts[0],
    against target (the clean rows, or any target of the output's width) with
    each entry weighted by mask (or NULL: all count); nz holds the buffers for
    listing the batch's nonzeros, lengths (or NULL) the rows' time steps.

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
    # A decoder fed the true previous values is fed the input's (acts[0]: as
    # the encoder saw it, corrupted, missing entries filled).
    layer_terms = forward_layers(params, layers, 0, n_layers - 1, work, lay, nz, batch,
                                 False, draws, lengths, work + lay.acts[0], n_threads)
    loss_sum = output_loss(cfg.loss, cfg.huber_delta, params, layers, n_layers, work, lay,
                           target, mask, batch, True, n_threads) + layer_terms
    if not isfinite(loss_sum):
        return loss_sum
    if penalised:
        penalty = code_penalty(cfg, params, grad, layers, work, lay, batch, running,
                               update_running, n_threads)
    backward(params, grad, layers, n_layers, work, lay, nz, batch, cfg.penalty.code_layer,
             penalised, draws, lengths, n_threads)
    if with_l2 and cfg.alpha != 0:
        add_scaled(grad, params, <floating> cfg.alpha, weight_count(layers, n_layers),
                   n_threads)
    return loss_sum + batch * penalty


cdef const floating* load_batch(TrainConfig* cfg, bitgen_t* rng, uint64_t* seeds,
                                const RowSource* src, Py_ssize_t start, Py_ssize_t batch,
                                const floating* fill, floating* work, Layout* lay,
                                int n_threads) noexcept nogil:
    """Gather rows start .. start + batch of the pass; with noise, into target,
    corrupted into acts[0]. With missing entries, their mask into mask and fill
    (or 0) into them, before the corruption. Returns the clean rows the loss
    compares against."""
    cdef Py_ssize_t n_features = src.n_features
    cdef floating* clean = work + (lay.acts[0] if cfg.noise.kind == NO_NOISE
                                   else lay.target)
    gather(src, start, batch, clean, n_threads)
    if cfg.missing.kind != ALL_OBSERVED:
        observe(cfg.missing.kind, clean, work + lay.mask, fill, batch, n_features,
                n_threads)
    if cfg.noise.kind != NO_NOISE:
        corrupt(cfg.noise.kind, cfg.noise.level, rng, seeds, clean, work + lay.acts[0],
                batch, n_features, fill if cfg.missing.kind != ALL_OBSERVED else NULL,
                n_threads)
    return clean


cdef inline const floating* mask_of(TrainConfig* cfg, floating* work,
                                    Layout* lay) noexcept nogil:
    """The minibatch's mask of observed entries, NULL when all are observed."""
    return work + lay.mask if cfg.missing.kind != ALL_OBSERVED else NULL


cdef const floating* row_lengths(const floating* mask, const Py_ssize_t* layers,
                                 floating* work, Layout* lay, Py_ssize_t batch,
                                 int n_threads) noexcept nogil:
    """Each row's time steps before its padding (the missing entries that end
    it), read from the input's mask of observed entries (layers/recurrent.pxd);
    NULL when no layer reads them or every entry is observed (whole rows)."""
    if mask == NULL or not lay.reads_lengths:
        return NULL
    row_steps(mask, work + lay.lengths, batch, col(layers, 0, COL_IN_C),
              col(layers, 0, COL_IN_H) * col(layers, 0, COL_IN_W), n_threads)
    return work + lay.lengths


cdef const floating* fill_of(const floating[::1] fill, Py_ssize_t n_features):
    """Pointer to the values missing entries enter as (NULL: zeros), checked."""
    if fill is None or fill.shape[0] == 0:
        return NULL
    check_length(fill.shape[0], n_features, "fill")
    return &fill[0]


# --------------------------------------------------------------------------------
# Entry points called from Python. Each converts its arguments to pointers with the
# GIL held, then releases it for the whole of its work.

cdef bint has_kind(const Py_ssize_t[:, ::1] layers, Py_ssize_t kind):
    """Whether the network has a layer of that kind."""
    cdef Py_ssize_t l
    for l in range(layers.shape[0]):
        if layers[l, COL_KIND] == kind:
            return True
    return False


cdef bint has_sampling(const Py_ssize_t[:, ::1] layers):
    """Whether the network draws noise of its own (a sampling layer)."""
    return has_kind(layers, GAUSSIAN_SAMPLE)


cdef void draw_seeds(bitgen_t* rng, uint64_t* seeds, Py_ssize_t n) noexcept nogil:
    """One stream seed per row, drawn serially: the draws do not depend on
    which thread later uses each seed."""
    cdef Py_ssize_t i
    for i in range(n):
        seeds[i] = rng.next_uint64(rng.state)


cdef inline Py_ssize_t aligned(Py_ssize_t n_bytes) noexcept nogil:
    """n_bytes rounded up to a whole 64-byte line."""
    return (n_bytes + 63) // 64 * 64


cdef object nonzero_buffers(Nonzeros* nz, Py_ssize_t n_rows, Py_ssize_t n_cols,
                            double limit, object dtype, bint by_column,
                            int n_threads):
    """Allocate the buffers that list the nonzeros of up to limit * n_rows *
    n_cols entries of an (n_rows, n_cols) minibatch, by row and, if by_column,
    by column, with scratch for n_threads threads, and point nz at them.
    Returns the memory, to be kept alive while nz is in use. Nothing is
    allocated if limit is 0.

    One allocation carved into 64-byte aligned pieces: inference allocates
    these on every call, and a one-row transform paid a microsecond for each
    of nine arrays.
    """
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
    # Each thread's scratch: a panel, and a cursor per row of the product's
    # output (n_rows forward, n_cols for the weight gradient).
    nz.cursor_size = max(n_rows, n_cols)
    cdef Py_ssize_t value = np.dtype(dtype).itemsize, index = sizeof(int)
    cdef Py_ssize_t position = sizeof(Py_ssize_t), listed = max(nz.max_count, 1)
    # (row_start, row_end, row_index (+ a spare slot per row), row_value,
    # pack, cursor, then by column col_start, col_index, col_value)
    cdef Py_ssize_t sizes[9]
    sizes[:] = [n_rows * position, n_rows * position, (nz.max_count + n_rows) * index,
                (nz.max_count + n_rows) * value, n_threads * PANEL_SIZE * value,
                n_threads * nz.cursor_size * position, (n_cols + 1) * position,
                listed * index, listed * value]
    cdef Py_ssize_t k, total = 0, offsets[9]
    for k in range(9 if by_column else 6):
        offsets[k] = total
        total += aligned(sizes[k])
    memory = np.empty(total + 64, dtype=np.uint8)
    cdef char* base = <char*> cnp.PyArray_DATA(memory)
    base += (64 - <size_t> base % 64) % 64
    nz.row_start = <Py_ssize_t*> (base + offsets[0])
    nz.row_end = <Py_ssize_t*> (base + offsets[1])
    nz.row_index = <int*> (base + offsets[2])
    nz.row_value = base + offsets[3]
    nz.pack = base + offsets[4]
    nz.cursor = <Py_ssize_t*> (base + offsets[5])
    if by_column:
        nz.col_start = <Py_ssize_t*> (base + offsets[6])
        nz.col_index = <int*> (base + offsets[7])
        nz.col_value = base + offsets[8]
    return memory

# --------------------------------------------------------------------------------
# Passes. Each entry point below checks its arguments with the GIL held, fills
# a pass record and runs its step function through the one pass driver
# (_driver.pxd), which owns the GIL release, Ctrl-C, the thread choice and the
# floating-point mode. Records hold the buffers as void pointers (a struct
# cannot be fused); each step reads them at the workspace's floating type.

# run_pass's thread record for single-step calls: none, OpenMP's limit.
cdef ThreadRecord ALL_THREADS = None


cdef struct Training:
    # One pass of training, of the L-BFGS objective, or one gradient (checks).
    TrainConfig* cfg
    Optimizer opt
    bitgen_t* rng
    uint64_t* seeds             # corruption seeds, one per row of a minibatch
    uint64_t* sample_seeds      # a sampling layer's, one per row; NULL: none
    Draws draws
    RowSource src
    Py_ssize_t n_rows
    Py_ssize_t batch_size
    const void* fill            # what missing entries enter as (NULL: 0)
    const void* target          # the loss's target rows (NULL: the clean input)
    const void* mask            # entry weights (NULL: the observed entries)
    void* params
    void* grad                  # the pass's gradient (objective, checks)
    void* opt_state
    void* penalty_state         # the KL sparsity's running means
    bint update_running
    bint with_l2                # the L2 gradient inside the minibatch gradient
    const Py_ssize_t* layers
    Py_ssize_t n_layers
    Py_ssize_t n_params
    Py_ssize_t n_weights
    Py_ssize_t step             # optimizer steps taken
    Layout lay
    Nonzeros* nz
    double total                # summed objective of the steps done


cdef double minibatch_loss(Training* t, floating* work, Py_ssize_t start,
                           Py_ssize_t batch, int n_threads) noexcept nogil:
    """Gather rows start .. start + batch of the pass (masked, corrupted),
    draw a sampling layer's seeds, and accumulate the minibatch gradient into
    the workspace's gradient; returns batch_gradient's loss."""
    cdef const floating* target = load_batch(t.cfg, t.rng, t.seeds, &t.src, start, batch,
                                             <const floating*> t.fill, work, &t.lay,
                                             n_threads)
    cdef const floating* mask = <const floating*> t.mask
    cdef const floating* lengths = row_lengths(mask_of(t.cfg, work, &t.lay), t.layers,
                                               work, &t.lay, batch, n_threads)
    if t.target != NULL:
        target = <const floating*> t.target
    if mask == NULL:
        mask = mask_of(t.cfg, work, &t.lay)
    if t.sample_seeds != NULL:
        draw_seeds(t.rng, t.sample_seeds, batch)
    return batch_gradient(t.cfg, <const floating*> t.params, work + t.lay.grad, t.layers,
                          t.n_layers, work, &t.lay, t.nz, batch, target, mask,
                          <floating*> t.penalty_state, t.update_running, t.with_l2,
                          &t.draws, lengths, n_threads)


cdef Py_ssize_t train_step(void* ctx, floating* work, Py_ssize_t k,
                           int n_threads) noexcept nogil:
    """Minibatch k: its gradient, then one optimizer update."""
    cdef Training* t = <Training*> ctx
    cdef Py_ssize_t start = k * t.batch_size, batch = min(t.batch_size, t.n_rows - start)
    cdef double loss = minibatch_loss(t, work, start, batch, n_threads)
    if not isfinite(loss):
        memset(work + t.lay.grad, 0, t.n_params * sizeof(floating))
        return STOP
    t.step += 1
    if t.cfg.max_grad_norm > 0:
        clip_norm(work + t.lay.grad, t.n_params, t.cfg.max_grad_norm)
    optimizer_step(&t.opt, <floating*> t.params, work + t.lay.grad,
                   <floating*> t.opt_state, t.n_params, t.n_weights, t.step, n_threads)
    t.total += loss
    return batch


cdef Py_ssize_t objective_step(void* ctx, floating* work, Py_ssize_t k,
                               int n_threads) noexcept nogil:
    """Chunk k: its gradient, added to the pass's weighted by its share of the
    rows (the chunk's gradient is its mean over its rows, so the sum is the
    mean over all rows; fixed blocks: the same sums whatever the thread count)."""
    cdef Training* t = <Training*> ctx
    cdef Py_ssize_t start = k * t.batch_size, batch = min(t.batch_size, t.n_rows - start)
    cdef double loss
    memset(work + t.lay.grad, 0, t.n_params * sizeof(floating))
    loss = minibatch_loss(t, work, start, batch, n_threads)
    if not isfinite(loss):
        return STOP
    add_scaled(<floating*> t.grad, work + t.lay.grad, (<floating> batch) / t.n_rows,
               t.n_params, n_threads)
    if start + batch == t.n_rows and t.cfg.alpha != 0:
        # The last chunk adds the L2 penalty's gradient, once.
        add_scaled(<floating*> t.grad, <const floating*> t.params,
                   <floating> t.cfg.alpha, t.n_weights, n_threads)
    t.total += loss
    return batch


cdef Py_ssize_t gradient_step(void* ctx, floating* work, Py_ssize_t k,
                              int n_threads) noexcept nogil:
    """Every row as one minibatch, with the L2 gradient: the checks' gradient."""
    cdef Training* t = <Training*> ctx
    memset(work + t.lay.grad, 0, t.n_params * sizeof(floating))
    t.total = minibatch_loss(t, work, 0, t.n_rows, n_threads)
    memcpy(t.grad, work + t.lay.grad, t.n_params * sizeof(floating))
    return t.n_rows


cdef object start_training(Training* t, TrainConfig* cfg, const floating[::1] X_data,
                           const Py_ssize_t[::1] X_indices, const Py_ssize_t[::1] X_indptr,
                           bint sparse, Py_ssize_t n_features, const Py_ssize_t[::1] rows,
                           Py_ssize_t n_rows, Py_ssize_t batch_size,
                           const floating[::1] params, const Py_ssize_t[:, ::1] layers,
                           floating[::1] penalty_state, object bit_generator,
                           const floating[::1] fill, int max_threads):
    """Fill the record every training-like pass shares (arguments checked by
    the caller); returns the arrays it points into, to be kept alive."""
    cdef uint64_t[::1] seeds = np.empty(batch_size, dtype=np.uint64)
    cdef uint64_t[::1] sample_seeds = np.empty(batch_size, dtype=np.uint64)
    cdef uint64_t[:, ::1] sample_streams = np.empty((batch_size, 4), dtype=np.uint64)
    t.cfg = cfg
    t.opt = optimizer_of(cfg)
    t.rng = bitgen_of(bit_generator)
    t.seeds = &seeds[0]
    # A sampling layer draws per row, as does a feedback layer fed true values
    # on a share of the steps.
    t.sample_seeds = (&sample_seeds[0] if has_sampling(layers)
                      or (has_kind(layers, FEEDBACK)
                          and 0 < cfg.decoder.teacher_forcing < 1) else NULL)
    t.draws.beta = cfg.latent.beta
    t.draws.teacher_forcing = cfg.decoder.teacher_forcing
    t.draws.seeds = t.sample_seeds
    t.draws.streams = <skae_stream*> &sample_streams[0, 0]
    t.src = row_source(X_data, X_indices, X_indptr, sparse, n_features, rows)
    t.n_rows = n_rows
    t.batch_size = batch_size
    t.fill = fill_of(fill, n_features)
    t.target = t.mask = NULL
    t.params = <void*> &params[0]
    t.grad = t.opt_state = NULL
    t.penalty_state = &penalty_state[0]
    t.update_running = False
    t.with_l2 = False
    t.layers = &layers[0, 0]
    t.n_layers = layers.shape[0]
    t.n_params = params.shape[0]
    t.n_weights = weight_count(t.layers, t.n_layers)
    t.step = 0
    t.lay = make_layout(t.layers, t.n_layers, batch_size, t.n_params, True)
    t.total = 0
    nz_buffers = nonzero_buffers(t.nz, batch_size, n_features, cfg.input_density_limit,
                                 np.float32 if floating is float else np.float64, True,
                                 max_threads)
    return (seeds, sample_seeds, sample_streams, nz_buffers)


def train_pass(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
               const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
               const Py_ssize_t[::1] rows, Py_ssize_t batch_size,
               floating[::1] params, const Py_ssize_t[:, ::1] layers,
               TrainConfig config, floating[::1] opt_state, Py_ssize_t step,
               floating[::1] penalty_state, object bit_generator,
               floating[::1] work, ThreadRecord threads,
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
    layers : (n_layers, N_COLUMNS) intp, input
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
    threads : ThreadRecord, input and output
        How the pass chooses its thread count (runtime/threads.pxd): a new
        record to start, then kept across the passes of a fit. It never affects
        the results.
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
    check_training(&config, n_features, layers, n_params, penalty_state.shape[0])
    check_rows(rows, check_input(X_data, X_indices, X_indptr, sparse, n_features))
    if batch_size < 1:
        raise ValueError(f"kernel: batch_size must be positive; got {batch_size}.")
    check_length(opt_state.shape[0], (2 if config.solver == ADAM else 1) * n_params,
                 "opt_state")
    check_length(work.shape[0], workspace_size(layers, batch_size, n_params, True),
                 "work")
    if n_rows == 0:
        return 0.0, OK, step
    cdef Training t
    cdef Nonzeros nz
    t.nz = &nz
    keep = start_training(&t, &config, X_data, X_indices, X_indptr, sparse, n_features,
                          rows, n_rows, batch_size, params, layers, penalty_state,
                          bit_generator, fill, skae_max_threads())
    t.opt_state = &opt_state[0]
    t.update_running = True
    t.step = step
    memset(&work[t.lay.grad], 0, n_params * sizeof(floating))
    finished = run_pass(train_step[floating], &t, &work[0],
                        (n_rows + batch_size - 1) // batch_size, threads,
                        bit_generator.lock)
    total = t.total / n_rows + l2_penalty(&params[0], t.n_weights, config.alpha)
    return total, OK if finished else NONFINITE, t.step


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
    ``fill``) weights each entry. Returns the objective: mean loss per row,
    code penalties and the L2 penalty.
    """
    cdef Py_ssize_t n_params = params.shape[0]
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
    cdef Training t
    cdef Nonzeros nz
    t.nz = &nz
    cdef const Py_ssize_t[::1] every_row = None
    keep = start_training(&t, &config, X_data, X_indices, X_indptr, sparse, n_features,
                          every_row, n_rows, n_rows, params, layers, penalty_state,
                          bit_generator, fill, skae_max_threads())
    t.target = &target[0, 0] if target is not None else NULL
    t.mask = &mask[0, 0] if mask is not None else NULL
    t.grad = &grad[0]
    t.with_l2 = True
    run_pass(gradient_step[floating], &t, &work[0], 1, ALL_THREADS, bit_generator.lock)
    return t.total / n_rows + l2_penalty(&params[0], t.n_weights, config.alpha)


def objective_pass(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                   const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
                   const Py_ssize_t[::1] rows, Py_ssize_t batch_size,
                   const floating[::1] params, const Py_ssize_t[:, ::1] layers,
                   TrainConfig config, floating[::1] penalty_state,
                   object bit_generator, floating[::1] grad, floating[::1] work,
                   ThreadRecord threads, const floating[::1] fill=None):
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
    check_training(&config, n_features, layers, n_params, penalty_state.shape[0])
    check_rows(rows, check_input(X_data, X_indices, X_indptr, sparse, n_features))
    if batch_size < 1:
        raise ValueError(f"kernel: batch_size must be positive; got {batch_size}.")
    if n_rows < 1:
        raise ValueError("kernel: objective_pass needs at least one row.")
    check_length(grad.shape[0], n_params, "grad")
    check_length(work.shape[0], workspace_size(layers, batch_size, n_params, True),
                 "work")
    cdef int max_threads = skae_max_threads()
    cdef Training t
    cdef Nonzeros nz
    t.nz = &nz
    keep = start_training(&t, &config, X_data, X_indices, X_indptr, sparse, n_features,
                          rows, n_rows, batch_size, params, layers, penalty_state,
                          bit_generator, fill, max_threads)
    t.grad = &grad[0]
    memset(&grad[0], 0, n_params * sizeof(floating))
    if not run_pass(objective_step[floating], &t, &work[0],
                    (n_rows + batch_size - 1) // batch_size, threads,
                    bit_generator.lock):
        return t.total, NONFINITE
    return t.total / n_rows + l2_penalty(&params[0], t.n_weights, config.alpha), OK


cdef struct Corruption:
    int noise
    double level
    bitgen_t* rng
    uint64_t* seeds
    const void* clean
    Py_ssize_t n_rows
    Py_ssize_t n_features


cdef Py_ssize_t corruption_step(void* ctx, floating* out, Py_ssize_t k,
                                int n_threads) noexcept nogil:
    cdef Corruption* c = <Corruption*> ctx
    corrupt(c.noise, c.level, c.rng, c.seeds, <const floating*> c.clean, out, c.n_rows,
            c.n_features, <const floating*> NULL, n_threads)
    return c.n_rows


def corrupt_rows(const floating[:, ::1] X, int noise, double noise_level,
                 object bit_generator):
    """A corrupted copy of X, drawn exactly as a training pass draws it (for tests
    of the noise statistics)."""
    out = np.empty_like(X)
    cdef floating[:, ::1] out_view = out
    cdef uint64_t[::1] seeds = np.empty(max(X.shape[0], 1), dtype=np.uint64)
    cdef Corruption c
    if noise not in NOISES.values():
        raise ValueError(f"kernel: unknown noise code {noise}.")
    if X.shape[0] * X.shape[1] == 0:
        return out
    c.noise, c.level, c.rng, c.seeds = noise, noise_level, bitgen_of(bit_generator), &seeds[0]
    c.clean, c.n_rows, c.n_features = &X[0, 0], X.shape[0], X.shape[1]
    run_pass(corruption_step[floating], &c, &out_view[0, 0], 1, ALL_THREADS,
             bit_generator.lock)
    return out


# --------------------------------------------------------------------------------
# Inference, in chunks of rows: memory bounded by the chunk for any number of rows.

cdef struct Inference:
    RowSource src
    Py_ssize_t n_rows
    Py_ssize_t chunk
    const void* params
    const Py_ssize_t* layers
    Py_ssize_t n_layers
    Py_ssize_t first            # the layers to run: first .. last
    Py_ssize_t last
    Layout lay
    Nonzeros* nz
    Draws draws
    const uint64_t* row_seeds   # a sampling layer's, one per row; NULL: z = mu
    int missing
    const void* fill
    int loss
    double huber_delta
    void* out                   # (n_rows, width)
    Py_ssize_t width


cdef Py_ssize_t forward_chunk(Inference* f, floating* work, Py_ssize_t start,
                              bint activate_last, int n_threads) noexcept nogil:
    """Layers first .. last on chunk rows start ..; returns the chunk's rows."""
    cdef Py_ssize_t batch = min(f.chunk, f.n_rows - start)
    cdef Py_ssize_t n_features = f.src.n_features
    cdef const floating* lengths = NULL
    gather(&f.src, start, batch, work + f.lay.acts[f.first], n_threads)
    if f.missing != ALL_OBSERVED:
        observe(f.missing, work + f.lay.acts[0], work + f.lay.mask,
                <const floating*> f.fill, batch, n_features, n_threads)
        lengths = row_lengths(work + f.lay.mask, f.layers, work, &f.lay, batch, n_threads)
    list_nonzeros(f.nz, work + f.lay.acts[f.first], batch, n_features, n_threads)
    if f.row_seeds != NULL:
        f.draws.seeds = f.row_seeds + start
    # No teacher: a decoder fed back its own outputs rebuilds rows from codes.
    forward_layers(<const floating*> f.params, f.layers, f.first, f.last, work, &f.lay,
                   f.nz, batch, activate_last, &f.draws, lengths, NULL, n_threads)
    return batch


cdef Py_ssize_t activations_step(void* ctx, floating* work, Py_ssize_t k,
                                 int n_threads) noexcept nogil:
    cdef Inference* f = <Inference*> ctx
    cdef Py_ssize_t start = k * f.chunk
    cdef Py_ssize_t batch = forward_chunk(f, work, start, True, n_threads)
    memcpy(<floating*> f.out + start * f.width, work + f.lay.acts[f.last + 1],
           batch * f.width * sizeof(floating))
    return batch


cdef Py_ssize_t row_losses_step(void* ctx, floating* work, Py_ssize_t k,
                                int n_threads) noexcept nogil:
    cdef Inference* f = <Inference*> ctx
    cdef Py_ssize_t start = k * f.chunk, i
    cdef Py_ssize_t batch = forward_chunk(f, work, start, False, n_threads)
    cdef floating* out = <floating*> f.out + start
    cdef const floating* mask = (work + f.lay.mask if f.missing != ALL_OBSERVED
                                 else NULL)
    output_loss(f.loss, f.huber_delta, <const floating*> f.params, f.layers, f.n_layers,
                work, &f.lay, work + f.lay.acts[0], mask, batch, False, n_threads)
    if mask != NULL:
        scale_to_width(work + f.lay.row_loss, mask, batch, f.src.n_features)
    for i in range(batch):
        out[i] = work[f.lay.row_loss + i] + work[f.lay.row_extra + i]
    return batch


cdef object start_inference(Inference* f, const floating[::1] X_data,
                            const Py_ssize_t[::1] X_indices,
                            const Py_ssize_t[::1] X_indptr, bint sparse,
                            Py_ssize_t n_features, const Py_ssize_t[::1] rows,
                            Py_ssize_t n_rows, const floating[::1] params,
                            const Py_ssize_t[:, ::1] layers, Py_ssize_t first,
                            Py_ssize_t last, Py_ssize_t chunk, double input_density_limit,
                            const uint64_t[::1] row_seeds, int missing,
                            const floating[::1] fill, floating[:, ::1] out,
                            floating[::1] work):
    """Check what both inference entry points take and fill their record;
    returns the arrays it points into, to be kept alive."""
    cdef Py_ssize_t n_layers = layers.shape[0]
    check_layers(layers, params.shape[0])
    if not 0 <= first <= last < n_layers:
        raise ValueError(f"kernel: layers {first}..{last} are not in 0..{n_layers - 1}.")
    check_shape(n_features, layers[first, COL_IN], "the input width")
    if missing not in MISSING.values() or (missing != ALL_OBSERVED and first != 0):
        raise ValueError("kernel: an unknown missing code, or missing entries in the "
                         "input of a layer other than the first.")
    cdef Py_ssize_t n_available = check_input(X_data, X_indices, X_indptr, sparse,
                                              n_features)
    if rows is not None:
        check_shape(rows.shape[0], n_rows, "the number of rows listed")
        check_rows(rows, n_available)
    elif n_rows > n_available:
        raise ValueError(f"kernel: {n_rows} rows asked of an input of {n_available}.")
    check_shape(out.shape[0], n_rows, "the number of output rows")
    if chunk < 1:
        raise ValueError(f"kernel: chunk must be positive; got {chunk}.")
    check_length(work.shape[0], workspace_size(layers, chunk, params.shape[0], False),
                 "work")
    if row_seeds is not None:
        check_length(row_seeds.shape[0], n_rows, "row_seeds")
    # A sampling layer's streams, one per row of a chunk; without row seeds it
    # outputs its mean and draws nothing.
    sample_streams = None if row_seeds is None else np.empty((chunk, 4), dtype=np.uint64)
    f.src = row_source(X_data, X_indices, X_indptr, sparse, n_features, rows)
    f.n_rows = n_rows
    f.chunk = chunk
    f.params = &params[0]
    f.layers = &layers[0, 0]
    f.n_layers = n_layers
    f.first = first
    f.last = last
    f.lay = make_layout(f.layers, n_layers, chunk, params.shape[0], False)
    f.draws.beta = 1.0
    f.draws.teacher_forcing = 0.0
    f.draws.seeds = NULL
    f.draws.streams = (NULL if sample_streams is None
                       else <skae_stream*> cnp.PyArray_DATA(sample_streams))
    f.row_seeds = &row_seeds[0] if row_seeds is not None and n_rows > 0 else NULL
    f.missing = missing
    f.fill = fill_of(fill, n_features)
    f.out = &out[0, 0] if n_rows > 0 and out.shape[1] > 0 else NULL
    f.width = out.shape[1]
    nz_buffers = nonzero_buffers(f.nz, chunk, n_features,
                                 input_density_limit if first == 0 else 0,
                                 np.float32 if floating is float else np.float64, False,
                                 skae_max_threads())
    return (sample_streams, nz_buffers)


def activations(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
                const Py_ssize_t[::1] rows, Py_ssize_t n_rows,
                const floating[::1] params, const Py_ssize_t[:, ::1] layers,
                Py_ssize_t first, Py_ssize_t last, floating[:, ::1] out,
                floating[::1] work, Py_ssize_t chunk, double input_density_limit,
                ThreadRecord threads, const uint64_t[::1] row_seeds=None,
                int missing=ALL_OBSERVED, const floating[::1] fill=None):
    """The activations of layer ``last`` (its activation applied) from the input
    of layer ``first``, for ``X[rows]`` (``rows`` None: the first ``n_rows``
    rows), ``chunk`` rows at a time, into ``out`` (n_rows, n_out of ``last``).

    ``work`` needs ``workspace_size(layers, chunk, n_params, False)``
    elements. With ``first`` 0, chunks with at most ``input_density_limit``
    nonzeros skip their zeros (see ``TrainConfig``). ``threads`` (a
    ThreadRecord) carries the choice of thread count from chunk to chunk and
    from call to call (runtime/threads.pxd). A sampling
    layer draws row i's noise from the stream of ``row_seeds[i]`` (None: no
    noise, z is the posterior mean). With ``missing`` (a MISSING code; ``first``
    0), missing entries enter as ``fill`` (None: 0).
    """
    cdef Inference f
    cdef Nonzeros nz
    f.nz = &nz
    keep = start_inference(&f, X_data, X_indices, X_indptr, sparse, n_features, rows,
                           n_rows, params, layers, first, last, chunk,
                           input_density_limit, row_seeds, missing, fill, out, work)
    check_shape(out.shape[1], layers[last, COL_OUT], "the output width")
    if n_rows > 0:
        run_pass(activations_step[floating], &f, &work[0], (n_rows + chunk - 1) // chunk,
                 threads)


def row_losses(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
               const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
               const Py_ssize_t[::1] rows, Py_ssize_t n_rows,
               const floating[::1] params, const Py_ssize_t[:, ::1] layers, int loss,
               floating[:, ::1] out, floating[::1] work, Py_ssize_t chunk,
               double input_density_limit, ThreadRecord threads,
               const uint64_t[::1] row_seeds=None, int missing=ALL_OBSERVED,
               const floating[::1] fill=None, double huber_delta=1.0):
    """Each row's reconstruction loss against its input, into ``out``
    (n_rows, 1): the whole network on ``X[rows]``, ``chunk`` rows at a time.

    The arguments are those of ``activations``. A sampling layer's KL is added
    to the row's loss, so that ``out`` is the negative evidence lower bound.
    With ``missing``, a row's loss is its loss over the observed entries times
    n_features / (their number): on the scale of a complete row's, and 0 for a
    row with none observed. ``huber_delta`` is the Huber loss's threshold.
    """
    cdef Inference f
    cdef Nonzeros nz
    f.nz = &nz
    if loss not in LOSSES.values():
        raise ValueError(f"kernel: unknown loss code {loss}.")
    if loss == HUBER and not huber_delta > 0:
        raise ValueError(f"kernel: huber_delta must be positive; got {huber_delta}.")
    check_shape(out.shape[1], 1, "the output width")
    keep = start_inference(&f, X_data, X_indices, X_indptr, sparse, n_features, rows,
                           n_rows, params, layers, 0, layers.shape[0] - 1, chunk,
                           input_density_limit, row_seeds, missing, fill, out, work)
    if layers[layers.shape[0] - 1, COL_OUT] != n_features:
        raise ValueError("kernel: a loss needs a network that maps rows back to "
                         "their own width.")
    f.loss = loss
    f.huber_delta = huber_delta
    if n_rows > 0:
        run_pass(row_losses_step[floating], &f, &work[0], (n_rows + chunk - 1) // chunk,
                 threads)


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


cdef struct ImportanceSampling:
    Inference f                 # the chunk's encoder (layers 0 .. s - 1)
    Py_ssize_t s                # the sampling layer
    Py_ssize_t n_samples
    const uint64_t* seeds       # one stream seed per row
    skae_stream* streams        # the chunk's rows' streams
    double* log_ratio           # per chunk row: log p(z) - log q(z|x)
    double* top                 # the running maximum of log w
    double* total               # sum of exp(log w - top)
    double* out


cdef Py_ssize_t importance_step(void* ctx, floating* work, Py_ssize_t k,
                                int n_threads) noexcept nogil:
    """Draw t = k mod n_samples of chunk k // n_samples: the encoder and the
    streams at the chunk's first draw, the decoder and the running
    log-sum-exp at each, the estimate at its last."""
    cdef ImportanceSampling* m = <ImportanceSampling*> ctx
    cdef Inference* f = &m.f
    cdef Py_ssize_t t = k % m.n_samples, start = (k // m.n_samples) * f.chunk
    cdef Py_ssize_t batch = min(f.chunk, f.n_rows - start), i, j, s = m.s
    cdef Py_ssize_t kz
    cdef floating* z
    cdef floating* eps
    cdef const floating* mask = (work + f.lay.mask if f.missing != ALL_OBSERVED
                                 else NULL)
    cdef double lw, ratio
    kz = f.layers[s * N_COLS + COL_OUT]
    if t == 0:
        forward_chunk(f, work, start, True, n_threads)
        for i in range(batch):
            skae_stream_seed(&m.streams[i], m.seeds[start + i])
            m.top[i] = -INFINITY
            m.total[i] = 0
    # z into the decoder's input; log p(z) - log q(z|x) per row (the
    # Gaussians' log(2 pi) terms cancel in the ratio).
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        z = work + f.lay.acts[s + 1] + i * kz
        eps = work + f.lay.scratch[s] + i * kz
        reparameterise(work + f.lay.acts[s] + i * 2 * kz, z, eps, kz, &m.streams[i])
        ratio = 0
        for j in range(kz):
            ratio = ratio + 0.5 * (eps[j] * eps[j] - z[j] * z[j]
                                   + work[f.lay.acts[s] + i * 2 * kz + kz + j])
        m.log_ratio[i] = ratio
    forward_layers(<const floating*> f.params, f.layers, s + 1, f.n_layers - 1, work,
                   &f.lay, NULL, batch, False, &f.draws, NULL, NULL, n_threads)
    output_loss(f.loss, 1.0, <const floating*> f.params, f.layers, f.n_layers, work,
                &f.lay, work + f.lay.acts[0], mask, batch, False, n_threads)
    for i in range(batch):
        lw = m.log_ratio[i] - work[f.lay.row_loss + i]
        if lw > m.top[i]:
            m.total[i] = m.total[i] * exp(m.top[i] - lw) + 1
            m.top[i] = lw
        else:
            m.total[i] = m.total[i] + exp(lw - m.top[i])
    if t == m.n_samples - 1:
        for i in range(batch):
            m.out[start + i] = m.top[i] + log(m.total[i]) - log(<double> m.n_samples)
    return batch


def importance_log_likelihood(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                              const Py_ssize_t[::1] X_indptr, bint sparse,
                              Py_ssize_t n_features, const floating[::1] params,
                              const Py_ssize_t[:, ::1] layers, int loss,
                              Py_ssize_t n_samples, const uint64_t[::1] seeds,
                              double[::1] out, floating[::1] work, Py_ssize_t chunk,
                              ThreadRecord threads, int missing=ALL_OBSERVED,
                              const floating[::1] fill=None):
    """The importance-weighted estimate of log p(x) of a network with a sampling
    layer (Burda et al., 2016), for every row of X, ``chunk`` rows at a time.

    out[i] = log (1/S) sum_s p(x_i | z_s) p(z_s) / q(z_s | x_i), S = n_samples,
    z_s = mu + sigma * eps_s from the stream of seeds[i]. The encoder runs once
    per chunk; each draw then runs the decoder on the chunk's rows, and a
    running log-sum-exp per row keeps memory independent of S. log p(x|z) is
    minus the loss (in nats for binary cross-entropy); the Gaussians' log(2 pi)
    terms cancel in the ratio. ``work`` needs ``workspace_size(layers, chunk,
    n_params, False)`` elements; ``threads`` as in ``activations``. With
    ``missing``, missing entries enter as ``fill`` and p(x|z) is that of the
    observed entries (the missing ones integrated out).
    """
    cdef Py_ssize_t n_layers = layers.shape[0], n_params = params.shape[0]
    cdef Py_ssize_t s = -1, l
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
    if n_rows == 0:
        return
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] encoded = np.empty((n_rows, 0), dtype=dtype)
    cdef ImportanceSampling m
    cdef Nonzeros nz
    m.f.nz = &nz
    # The chunk's encoder output stays in the workspace; the record's out is unused.
    cdef const Py_ssize_t[::1] every_row = None
    cdef const uint64_t[::1] no_seeds = None
    keep = start_inference(&m.f, X_data, X_indices, X_indptr, sparse, n_features,
                           every_row, n_rows, params, layers, 0, s - 1, chunk,
                           <double> INPUT_DENSITY_LIMIT, no_seeds, missing, fill, encoded,
                           work)
    m.f.loss = loss
    cdef uint64_t[:, ::1] stream_state = np.empty((chunk, 4), dtype=np.uint64)
    cdef double[:, ::1] running = np.empty((3, chunk))
    m.s = s
    m.n_samples = n_samples
    m.seeds = &seeds[0]
    m.streams = <skae_stream*> &stream_state[0, 0]
    m.log_ratio, m.top, m.total = &running[0, 0], &running[1, 0], &running[2, 0]
    m.out = &out[0]
    m.f.draws.streams = m.streams
    run_pass(importance_step[floating], &m, &work[0],
             ((n_rows + chunk - 1) // chunk) * n_samples, threads)
