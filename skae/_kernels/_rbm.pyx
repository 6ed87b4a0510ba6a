"""Restricted Boltzmann machine kernels: CD-k and PCD-k training, Gibbs chains,
free energy and pseudo-likelihood, with the GIL released.

Shapes
------
``W`` is scikit-learn's ``components_``, ``(n_hidden, n_visible)`` row-major;
``b_h`` is ``(n_hidden,)`` and ``b_v`` ``(n_visible,)``. Each layer's units are
Bernoulli (P(v=1|h) = sigmoid(h W + b_v)) or Gaussian with unit variance
(v | h ~ N(h W + b_v, 1)): Gaussian visible units model standardised data,
Gaussian hidden units give the linear code layer of Hinton and Salakhutdinov
(2006). Unit states are row-major ``(rows, units)``.

One call, one pass
------------------
``train_pass`` visits ``X[rows]`` in minibatches. For each: gather the rows
(dense or CSR) into a reusable buffer, the positive statistics from P(h|v),
``k`` steps of block Gibbs sampling from the persistent chains (PCD-k, as
scikit-learn's BernoulliRBM with k = 1) or from the data (CD-k), the negative
statistics, and the update (learning rate, momentum, weight decay). As in
scikit-learn, the negative phase uses sampled visible states and hidden
probabilities, and the persistent chains keep sampled hidden states. Two
samplers run the persistent chains otherwise: fast persistent contrastive
divergence (the chains sample with fast weights added) and parallel
tempering (blocks of chains at several temperatures that swap states); see
their sections below.

At scikit-learn's batch of 10 rows every product is thin and each one costs a
pass over W (the BLAS packs it), so the pass saves passes where the algebra
allows: PCD computes P(h | v) for the data and the chains in one product, and
without momentum the weight step is one GEMM into W (fused_weight_step).

Randomness
----------
For each minibatch the estimator's bit generator gives one 64-bit seed per chain,
drawn serially; each chain then samples from its own xoshiro256** stream
(maths/rowstream.h), chains in parallel. A chain's draws depend only on its seed, and
GEMMs are split into fixed column blocks (maths/blas.pxd), so results are
bit-identical for any number of threads.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, isfinite
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memmove

from .maths.activations cimport sigmoid, sigmoid_bias_block, softplus
from .maths.blas cimport gemm_blocked, n_blocks, block_width
from .runtime.checks cimport check_input, check_length, check_rows, check_shape
from .runtime.driver cimport (
    STOP, register_fork_handler, run_pass, skae_max_threads, skae_set_alternating,
    skae_team_step_count,
)
from .maths.optim cimport PARAM_BLOCK, ascent_block, param_blocks
from .maths.random cimport (
    bitgen_t, bitgen_of, skae_bernoulli_d, skae_bernoulli_f, skae_stream,
    skae_stream_double, skae_stream_seed, skae_stream_normal, skae_ziggurat_init,
)
from .runtime.rows cimport RowSource, gather, row_source
from .runtime.record cimport ThreadRecord

import numpy as np

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


cdef enum Units:
    BERNOULLI = 0
    GAUSSIAN = 1

# log(2 pi) / 2, in the free energy of a Gaussian hidden unit.
cdef double HALF_LOG_2PI = 0.91893853320467274178

cdef enum Evaluation:
    HIDDEN_PROBABILITIES = 0
    FREE_ENERGY = 1
    PSEUDO_LIKELIHOOD = 2

cdef enum:
    # Below this many values an elementwise loop runs on one thread: at small
    # batches (scikit-learn's default is 10 rows) waking a second thread costs
    # more than it saves. Each value is computed alike either way.
    MIN_PARALLEL = 16384


cdef inline int threads_for(Py_ssize_t n_values, int n_threads) noexcept nogil:
    return n_threads if n_values >= MIN_PARALLEL else 1

UNITS = {"bernoulli": BERNOULLI, "gaussian": GAUSSIAN}
EVALUATIONS = {"hidden_probabilities": HIDDEN_PROBABILITIES,
               "free_energy": FREE_ENERGY, "pseudo_likelihood": PSEUDO_LIKELIHOOD}


cdef enum Sampler:
    GIBBS = 0           # block Gibbs chains: PCD-k, or CD-k from the data
    FAST = 1            # fast persistent contrastive divergence (FPCD)
    TEMPERED = 2        # parallel tempering

SAMPLERS = {"gibbs": GIBBS, "fpcd": FAST, "pt": TEMPERED}


cdef struct RBMConfig:
    int visible         # Units of each layer
    int hidden
    int k               # Gibbs steps per update
    bint persistent     # PCD (chains kept across updates) or CD (chains from data)
    double learning_rate
    double momentum
    double weight_decay
    int sampler         # a Sampler code; FAST and TEMPERED need persistent chains
    int n_temperatures  # TEMPERED: chains per temperature block, see tempered_statistics
    double fast_learning_rate   # FAST: step of the fast weights
    double fast_decay           # FAST: their decay per update
    bint centering              # the centred gradient (see centre_gradient)
    double offset_rate          # centering: the hidden offsets' sliding rate


cdef struct Buffers:
    # Offsets into the workspace, in elements. The positive and negative rows of
    # each layer are adjacent, so that one GEMM over the stacked rows can take
    # the weight step (fused_weight_step).
    Py_ssize_t v_pos    # (batch, n_visible)
    Py_ssize_t v_neg    # (n_neg, n_visible)
    Py_ssize_t h_pos    # (batch, n_hidden)
    Py_ssize_t h_neg    # (n_neg, n_hidden) E[h | v_neg]
    Py_ssize_t h        # (n_neg, n_hidden) chain states being sampled
    Py_ssize_t g        # gradient: W (n_hidden * n_visible), b_h, b_v
    Py_ssize_t energy   # (n_neg,) TEMPERED: each chain's energy E(v, h)
    Py_ssize_t chain    # FAST: the chains' parameters, laid out as g
    Py_ssize_t total


cdef Buffers make_buffers(Py_ssize_t n_visible, Py_ssize_t n_hidden, Py_ssize_t batch,
                          Py_ssize_t n_neg, int sampler) noexcept nogil:
    cdef Buffers buf
    cdef Py_ssize_t n_params = n_hidden * n_visible + n_hidden + n_visible
    buf.v_pos = 0
    buf.v_neg = buf.v_pos + batch * n_visible
    buf.h_pos = buf.v_neg + n_neg * n_visible
    buf.h_neg = buf.h_pos + batch * n_hidden
    buf.h = buf.h_neg + n_neg * n_hidden
    buf.g = buf.h + n_neg * n_hidden
    buf.energy = buf.g + n_params
    buf.chain = buf.energy + (n_neg if sampler == TEMPERED else 0)
    buf.total = buf.chain + (n_params if sampler == FAST else 0)
    return buf


cdef int check_model(Py_ssize_t n_hidden, Py_ssize_t n_visible, Py_ssize_t n_b_h,
                     Py_ssize_t n_b_v, int visible, int hidden) except -1:
    """W (n_hidden, n_visible) and biases of matching lengths, known unit codes
    (see runtime/checks.pxd for why kernels check)."""
    if n_hidden < 1 or n_visible < 1:
        raise ValueError(f"kernel: W has shape ({n_hidden}, {n_visible}).")
    check_shape(n_b_h, n_hidden, "the hidden bias's length")
    check_shape(n_b_v, n_visible, "the visible bias's length")
    if visible not in UNITS.values() or hidden not in UNITS.values():
        raise ValueError("kernel: unknown unit type code.")
    return 0


def workspace_size(Py_ssize_t n_visible, Py_ssize_t n_hidden, Py_ssize_t batch,
                   Py_ssize_t n_neg, int sampler=GIBBS):
    """Elements of the workspace ``train_pass`` needs (n_neg: every chain, of
    every temperature)."""
    return make_buffers(n_visible, n_hidden, batch, n_neg, sampler).total


# --------------------------------------------------------------------------------
# Conditionals and sampling.

cdef void add_bias_rows(int units, floating* x, const floating* bias, Py_ssize_t n,
                        Py_ssize_t width, int n_threads) noexcept nogil:
    """Each row of x (n, width) <- its conditional mean from the activations:
    sigmoid(x + bias) for Bernoulli units, x + bias for Gaussian ones."""
    cdef Py_ssize_t i, j
    cdef floating* row
    for i in prange(n, num_threads=threads_for(n * width, n_threads), schedule='static'):
        row = x + i * width
        if units == BERNOULLI:
            sigmoid_bias_block(row, bias, width)
        else:
            for j in range(width):
                row[j] = row[j] + bias[j]


cdef void hidden_means(int hidden, const floating* v, Py_ssize_t n, const floating* W,
                       const floating* b_h, Py_ssize_t n_visible, Py_ssize_t n_hidden,
                       floating* out, int n_threads) noexcept nogil:
    """out (n, n_hidden) = E[h | v]: sigmoid(v @ W.T + b_h), or v @ W.T + b_h."""
    # out (n, n_hidden) = v (n, n_visible) @ W.T, W stored (n_hidden, n_visible)
    gemm_blocked(c'N', c'T', <int> n, <int> n_hidden, <int> n_visible, 1, v,
                 <int> n_visible, W, <int> n_visible, 0, out, <int> n_hidden, n_threads)
    add_bias_rows(hidden, out, b_h, n, n_hidden, n_threads)


cdef void visible_means(int visible, const floating* h, Py_ssize_t n,
                        const floating* W, const floating* b_v, Py_ssize_t n_visible,
                        Py_ssize_t n_hidden, floating* out, int n_threads) noexcept nogil:
    """out (n, n_visible) = E[v | h]: sigmoid(h @ W + b_v), or h @ W + b_v."""
    # out (n, n_visible) = h (n, n_hidden) @ W, W stored (n_hidden, n_visible)
    gemm_blocked(c'N', c'N', <int> n, <int> n_visible, <int> n_hidden, 1, h,
                 <int> n_hidden, W, <int> n_visible, 0, out, <int> n_visible, n_threads)
    add_bias_rows(visible, out, b_v, n, n_visible, n_threads)


cdef void sample_rows(int kind, floating* x, Py_ssize_t n, Py_ssize_t width,
                      skae_stream* streams, int n_threads) noexcept nogil:
    """In place, row i from streams[i]: Bernoulli(x) for BERNOULLI (a 32-bit
    uniform per unit, see skae_bernoulli_f), or x + N(0, 1) for GAUSSIAN (x holds
    the means)."""
    cdef Py_ssize_t i, j
    cdef floating* row
    for i in prange(n, num_threads=threads_for(n * width, n_threads), schedule='static'):
        row = x + i * width
        if kind == BERNOULLI:
            if floating is float:
                skae_bernoulli_f(row, width, &streams[i])
            else:
                skae_bernoulli_d(row, width, &streams[i])
        else:
            for j in range(width):
                row[j] = row[j] + <floating> skae_stream_normal(&streams[i])


cdef void seed_streams(bitgen_t* rng, skae_stream* streams, Py_ssize_t n) noexcept nogil:
    """One seed per stream from the estimator's bit generator, serially."""
    cdef Py_ssize_t i
    for i in range(n):
        skae_stream_seed(&streams[i], rng.next_uint64(rng.state))


cdef enum:
    # Columns whose sums one call of column_mean_differences keeps at a time.
    SUM_CHUNK = 256


cdef void column_mean_differences(const floating* pos, Py_ssize_t n_pos,
                                  const floating* neg, Py_ssize_t n_neg, Py_ssize_t width,
                                  Py_ssize_t j0, Py_ssize_t j1,
                                  floating* out) noexcept nogil:
    """out[j] = mean_i pos[i, j] - mean_i neg[i, j] for j in [j0, j1): both
    column sums first, rows in order, then one division of their difference
    when the counts agree. The sums run a row at a time over a chunk of
    columns, which the compiler vectorises; each column still adds its rows
    in order, so every sum is the one a loop down the column gives."""
    cdef floating s_neg[SUM_CHUNK]
    cdef Py_ssize_t i, j, c1, c0 = j0
    while c0 < j1:
        c1 = min(c0 + SUM_CHUNK, j1)
        for j in range(c0, c1):
            out[j] = 0
            s_neg[j - c0] = 0
        for i in range(n_pos):
            for j in range(c0, c1):
                out[j] = out[j] + pos[i * width + j]
        for i in range(n_neg):
            for j in range(c0, c1):
                s_neg[j - c0] = s_neg[j - c0] + neg[i * width + j]
        for j in range(c0, c1):
            if n_pos == n_neg:
                out[j] = (out[j] - s_neg[j - c0]) / n_pos
            else:
                out[j] = out[j] / n_pos - s_neg[j - c0] / n_neg
        c0 = c1


cdef void bias_gradient(const floating* pos, Py_ssize_t n_pos, const floating* neg,
                        Py_ssize_t n_neg, Py_ssize_t width, floating* out,
                        int n_threads) noexcept nogil:
    """out[j] = mean of pos's column j minus mean of neg's, columns in blocks.

    Summing first matters in float32: the states are 0/1 and pixels often k/16,
    whose sums and their difference are exact, so the gradient is rounded once,
    as scikit-learn's is. Scaling each row before adding rounded every term,
    and float32 fits drifted from float64 ones (3.4e-5 relative in a visible
    bias after 100 updates, against scikit-learn's 7.9e-6).
    """
    cdef Py_ssize_t k, j0, w = block_width(width)
    for k in prange(n_blocks(width),
                    num_threads=threads_for((n_pos + n_neg) * width, n_threads),
                    schedule='static'):
        j0 = k * w
        column_mean_differences(pos, n_pos, neg, n_neg, width, j0, min(j0 + w, width), out)


# --------------------------------------------------------------------------------
# Training.

cdef void cd_statistics(RBMConfig* cfg, const floating* W, const floating* b_h,
                        const floating* W_c, const floating* b_h_c,
                        const floating* b_v_c, Py_ssize_t n_visible, Py_ssize_t n_hidden,
                        Py_ssize_t batch, Py_ssize_t batch_size, floating* chains,
                        Py_ssize_t n_neg, skae_stream* streams, floating* work,
                        Buffers* buf, int n_threads) noexcept nogil:
    """The positive and negative phases of CD-k / PCD-k on the batch in v_pos:
    h_pos, v_neg, h_neg and the bias gradients (into work + buf.g after the
    weights' part); persistent chains advance in place. The weight gradient is
    left to weight_gradient or fused_weight_step.

    The data's P(h | v) uses the model's W, b_h; the chains sample with
    W_c, b_h_c, b_v_c: the model's own, or (FPCD) the model's plus the fast
    weights."""
    cdef floating* v_pos = work + buf.v_pos
    cdef floating* h_pos = work + buf.h_pos
    cdef floating* h = work + buf.h
    cdef floating* h_neg = work + buf.h_neg
    cdef floating* v_neg = work + buf.v_neg
    cdef floating* gb_h = work + buf.g + n_hidden * n_visible
    cdef floating* gb_v = gb_h + n_hidden
    cdef Py_ssize_t step
    # PCD's chains do not start from the data, so h_pos and the last h_neg can
    # come from one product over the adjacent rows [v_pos; v_neg]: one pass over
    # W (and one packing of it by the BLAS) fewer per minibatch. A short last
    # minibatch leaves a gap between the two, and takes two products.
    cdef bint merged = (cfg.persistent and batch == batch_size and W_c == W
                        and b_h_c == b_h)
    if not merged:
        hidden_means(cfg.hidden, v_pos, batch, W, b_h, n_visible, n_hidden, h_pos,
                     n_threads)
    # The chains' starting hidden states: the persistent ones, or samples of
    # P(h | data) for CD.
    if cfg.persistent:
        memcpy(h, chains, n_neg * n_hidden * sizeof(floating))
    else:
        memcpy(h, h_pos, n_neg * n_hidden * sizeof(floating))
        sample_rows(cfg.hidden, h, n_neg, n_hidden, streams, n_threads)
    for step in range(cfg.k):
        visible_means(cfg.visible, h, n_neg, W_c, b_v_c, n_visible, n_hidden, v_neg,
                      n_threads)
        sample_rows(cfg.visible, v_neg, n_neg, n_visible, streams, n_threads)
        if merged and step == cfg.k - 1:
            hidden_means(cfg.hidden, v_pos, batch + n_neg, W, b_h, n_visible, n_hidden,
                         h_pos, n_threads)
        else:
            hidden_means(cfg.hidden, v_neg, n_neg, W_c, b_h_c, n_visible, n_hidden,
                         h_neg, n_threads)
        if step < cfg.k - 1:
            memcpy(h, h_neg, n_neg * n_hidden * sizeof(floating))
            sample_rows(cfg.hidden, h, n_neg, n_hidden, streams, n_threads)
    bias_gradient(h_pos, batch, h_neg, n_neg, n_hidden, gb_h, n_threads)
    bias_gradient(v_pos, batch, v_neg, n_neg, n_visible, gb_v, n_threads)
    if cfg.persistent:
        # The chains keep sampled hidden states, as scikit-learn's h_samples_.
        memcpy(chains, h_neg, n_neg * n_hidden * sizeof(floating))
        sample_rows(cfg.hidden, chains, n_neg, n_hidden, streams, n_threads)


# --------------------------------------------------------------------------------
# Parallel tempering (Desjardins et al., 2010; Cho, Raiko and Ilin, 2010).
#
# The chains come in n_temperatures blocks of n_chains rows each: row r belongs
# to block t = r // n_chains, which samples the tempered model
# p_t(v, h) ~ exp(-beta_t E(v, h)), beta_t = 1 - t / n_temperatures, so block 0
# is the model itself and the last block is the flattest. Each Gibbs step
# samples every block in one product per layer (the tempering scales each
# row's activations after the product), then offers every chain's state to
# its neighbour one temperature up, swapping with the Metropolis probability
# min(1, exp((beta_t - beta_t+1) (E_t - E_t+1))), which leaves the product of
# the tempered distributions invariant. The negative statistics come from
# block 0 only.


cdef inline double inverse_temperature(Py_ssize_t row, Py_ssize_t n_chains,
                                       int n_temperatures) noexcept nogil:
    return 1.0 - <double> (row // n_chains) / n_temperatures


cdef void tempered_visible_samples(floating* v, const floating* b_v, Py_ssize_t n_rows,
                                   Py_ssize_t n_chains, int n_temperatures,
                                   Py_ssize_t n_visible, skae_stream* streams,
                                   int n_threads) noexcept nogil:
    """v (rows of h @ W) <- samples of sigmoid(beta_r (v + b_v)), row r from
    streams[r]."""
    cdef Py_ssize_t i, j
    cdef floating beta
    cdef floating* row
    for i in prange(n_rows, num_threads=threads_for(n_rows * n_visible, n_threads),
                    schedule='static'):
        row = v + i * n_visible
        beta = <floating> inverse_temperature(i, n_chains, n_temperatures)
        for j in range(n_visible):
            row[j] = sigmoid(beta * (row[j] + b_v[j]))
        if floating is float:
            skae_bernoulli_f(row, n_visible, &streams[i])
        else:
            skae_bernoulli_d(row, n_visible, &streams[i])


cdef void tempered_hidden_samples(floating* pre, floating* h, floating* energy,
                                  const floating* v, const floating* b_h,
                                  const floating* b_v, Py_ssize_t n_rows,
                                  Py_ssize_t n_chains, int n_temperatures,
                                  Py_ssize_t n_visible, Py_ssize_t n_hidden,
                                  skae_stream* streams, int n_threads) noexcept nogil:
    """pre (rows of v @ W.T) <- W v + b_h; h <- samples of sigmoid(beta_r pre);
    energy[r] <- E(v_r, h_r) = -b_v.v - h.(W v + b_h), untempered."""
    cdef Py_ssize_t i, j
    cdef floating beta
    cdef double e
    cdef floating* p
    cdef floating* out
    for i in prange(n_rows, num_threads=threads_for(n_rows * n_hidden, n_threads),
                    schedule='static'):
        p = pre + i * n_hidden
        out = h + i * n_hidden
        beta = <floating> inverse_temperature(i, n_chains, n_temperatures)
        for j in range(n_hidden):
            p[j] = p[j] + b_h[j]
            out[j] = sigmoid(beta * p[j])
        if floating is float:
            skae_bernoulli_f(out, n_hidden, &streams[i])
        else:
            skae_bernoulli_d(out, n_hidden, &streams[i])
        e = 0
        for j in range(n_visible):
            e = e - b_v[j] * v[i * n_visible + j]
        for j in range(n_hidden):
            e = e - out[j] * p[j]
        energy[i] = <floating> e


cdef inline void swap_rows(floating* a, Py_ssize_t r, Py_ssize_t s,
                           Py_ssize_t width) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating x
    for j in range(width):
        x = a[r * width + j]
        a[r * width + j] = a[s * width + j]
        a[s * width + j] = x


cdef void tempered_swaps(floating* v, floating* h, floating* pre, floating* energy,
                         Py_ssize_t n_chains, int n_temperatures, Py_ssize_t n_visible,
                         Py_ssize_t n_hidden, skae_stream* streams,
                         int n_threads) noexcept nogil:
    """For each chain c, temperatures from the coldest up: offer the states of
    blocks t and t + 1 a swap, one uniform from streams[c] per offer whether
    taken or not (so the draws do not depend on earlier outcomes)."""
    cdef Py_ssize_t c, t, a, b
    cdef double log_ratio, u
    for c in prange(n_chains, num_threads=threads_for(
            n_chains * n_temperatures * 64, n_threads), schedule='static'):
        for t in range(n_temperatures - 1):
            a = t * n_chains + c
            b = a + n_chains
            log_ratio = ((inverse_temperature(a, n_chains, n_temperatures)
                          - inverse_temperature(b, n_chains, n_temperatures))
                         * (<double> energy[a] - <double> energy[b]))
            u = skae_stream_double(&streams[c])
            if log_ratio >= 0 or u < exp(log_ratio):
                swap_rows(v, a, b, n_visible)
                swap_rows(h, a, b, n_hidden)
                swap_rows(pre, a, b, n_hidden)
                swap_rows(energy, a, b, 1)


cdef void tempered_statistics(RBMConfig* cfg, const floating* W, const floating* b_h,
                              const floating* b_v, Py_ssize_t n_visible,
                              Py_ssize_t n_hidden, Py_ssize_t batch, floating* chains,
                              Py_ssize_t n_rows, skae_stream* streams, floating* work,
                              Buffers* buf, int n_threads) noexcept nogil:
    """cd_statistics for parallel tempering: chains holds the sampled hidden
    states of all n_rows = n_chains * n_temperatures chains, block by block;
    v_neg, h_neg and h have n_rows rows, of which the first n_chains (block
    0, beta = 1) give the negative statistics, as cd_statistics leaves them."""
    cdef int n_temps = cfg.n_temperatures
    cdef Py_ssize_t n_chains = n_rows // n_temps, step, i
    cdef floating* v_pos = work + buf.v_pos
    cdef floating* h_pos = work + buf.h_pos
    cdef floating* h = work + buf.h
    cdef floating* pre = work + buf.h_neg
    cdef floating* v_neg = work + buf.v_neg
    cdef floating* energy = work + buf.energy
    cdef floating* gb_h = work + buf.g + n_hidden * n_visible
    cdef floating* gb_v = gb_h + n_hidden
    hidden_means(cfg.hidden, v_pos, batch, W, b_h, n_visible, n_hidden, h_pos, n_threads)
    memcpy(h, chains, n_rows * n_hidden * sizeof(floating))
    for step in range(cfg.k):
        # v_neg = h @ W, then tempered; pre = v_neg @ W.T, then tempered.
        gemm_blocked(c'N', c'N', <int> n_rows, <int> n_visible, <int> n_hidden, 1, h,
                     <int> n_hidden, W, <int> n_visible, 0, v_neg, <int> n_visible,
                     n_threads)
        tempered_visible_samples(v_neg, b_v, n_rows, n_chains, n_temps, n_visible,
                                 streams, n_threads)
        gemm_blocked(c'N', c'T', <int> n_rows, <int> n_hidden, <int> n_visible, 1,
                     v_neg, <int> n_visible, W, <int> n_visible, 0, pre, <int> n_hidden,
                     n_threads)
        tempered_hidden_samples(pre, h, energy, v_neg, b_h, b_v, n_rows, n_chains,
                                n_temps, n_visible, n_hidden, streams, n_threads)
        tempered_swaps(v_neg, h, pre, energy, n_chains, n_temps, n_visible, n_hidden,
                       streams, n_threads)
    # Block 0's P(h | v_neg), in place of its activations.
    for i in range(n_chains * n_hidden):
        pre[i] = sigmoid(pre[i])
    bias_gradient(h_pos, batch, pre, n_chains, n_hidden, gb_h, n_threads)
    bias_gradient(v_pos, batch, v_neg, n_chains, n_visible, gb_v, n_threads)
    memcpy(chains, h, n_rows * n_hidden * sizeof(floating))


# --------------------------------------------------------------------------------
# Fast persistent contrastive divergence (Tieleman and Hinton, 2009): the
# chains sample with the model's parameters plus fast weights, which take
# each update's gradient with their own step and decay quickly, so that
# they push the chains away from the modes they have just visited.


cdef void add_fast_weights(const floating* W, const floating* b_h, const floating* b_v,
                           const floating* fast, floating* out, Py_ssize_t n_visible,
                           Py_ssize_t n_hidden, int n_threads) noexcept nogil:
    """out (laid out as the gradient) = the parameters + fast."""
    cdef Py_ssize_t n_w = n_hidden * n_visible, k, s, i, n
    for k in prange(param_blocks(n_w), num_threads=n_threads, schedule='static'):
        s = k * PARAM_BLOCK
        n = min(PARAM_BLOCK, n_w - s)
        for i in range(s, s + n):
            out[i] = W[i] + fast[i]
    for i in range(n_hidden):
        out[n_w + i] = b_h[i] + fast[n_w + i]
    for i in range(n_visible):
        out[n_w + n_hidden + i] = b_v[i] + fast[n_w + n_hidden + i]


cdef void fast_weight_step(RBMConfig* cfg, floating* fast, const floating* g,
                           Py_ssize_t n_params, int n_threads) noexcept nogil:
    """fast <- fast_decay * fast + fast_learning_rate * g."""
    cdef Py_ssize_t k, s, i, n
    cdef floating decay = <floating> cfg.fast_decay
    cdef floating lr = <floating> cfg.fast_learning_rate
    for k in prange(param_blocks(n_params), num_threads=n_threads, schedule='static'):
        s = k * PARAM_BLOCK
        n = min(PARAM_BLOCK, n_params - s)
        for i in range(s, s + n):
            fast[i] = decay * fast[i] + lr * g[i]


cdef void weight_gradient(const floating* work, Buffers* buf, Py_ssize_t n_visible,
                          Py_ssize_t n_hidden, Py_ssize_t batch, Py_ssize_t n_neg,
                          floating* gW, int n_threads) noexcept nogil:
    """gW (n_hidden, n_visible) = h_pos.T @ v_pos / batch - h_neg.T @ v_neg / n_neg."""
    gemm_blocked(c'T', c'N', <int> n_hidden, <int> n_visible, <int> batch,
                 <floating> 1.0 / batch, work + buf.h_pos, <int> n_hidden,
                 work + buf.v_pos, <int> n_visible, 0, gW, <int> n_visible, n_threads)
    gemm_blocked(c'T', c'N', <int> n_hidden, <int> n_visible, <int> n_neg,
                 <floating> -1.0 / n_neg, work + buf.h_neg, <int> n_hidden,
                 work + buf.v_neg, <int> n_visible, 1, gW, <int> n_visible, n_threads)


cdef void scale_rows(floating* a, Py_ssize_t n, Py_ssize_t width,
                     floating scale) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n * width):
        a[i] *= scale


cdef void fused_weight_step(RBMConfig* cfg, floating* W, floating* work, Buffers* buf,
                            Py_ssize_t n_visible, Py_ssize_t n_hidden,
                            Py_ssize_t batch, Py_ssize_t batch_size, Py_ssize_t n_neg,
                            int n_threads) noexcept nogil:
    """The weight update without momentum, as one GEMM into W:

        W = (1 - lr decay) W + [lr / batch h_pos; -lr / n_neg h_neg].T @ [v_pos; v_neg]

    the same step as weight_gradient then ascent_block, in two passes over W
    instead of six (at scikit-learn's batch of 10 rows the weight step is
    memory-bound, and these passes were most of it). Consumes h_pos, h_neg
    and the row layout of v and h.
    """
    cdef floating lr = <floating> cfg.learning_rate
    cdef floating* v = work + buf.v_pos
    cdef floating* h = work + buf.h_pos
    if batch < batch_size:
        # A short last minibatch leaves a gap before the negative rows: close it.
        memmove(v + batch * n_visible, work + buf.v_neg,
                n_neg * n_visible * sizeof(floating))
        memmove(h + batch * n_hidden, work + buf.h_neg,
                n_neg * n_hidden * sizeof(floating))
    # Scale the narrower operand's rows (in place: neither is needed again).
    if n_hidden <= n_visible:
        scale_rows(h, batch, n_hidden, lr / batch)
        scale_rows(h + batch * n_hidden, n_neg, n_hidden, -lr / n_neg)
    else:
        scale_rows(v, batch, n_visible, lr / batch)
        scale_rows(v + batch * n_visible, n_neg, n_visible, -lr / n_neg)
    gemm_blocked(c'T', c'N', <int> n_hidden, <int> n_visible, <int> (batch + n_neg), 1,
                 h, <int> n_hidden, v, <int> n_visible,
                 1 - lr * <floating> cfg.weight_decay, W, <int> n_visible, n_threads)


# --------------------------------------------------------------------------------
# Centering (Montavon and Mueller, 2012; Melchior, Fischer and Wiskott, 2016).
#
# A centred RBM writes the energy with offsets mu (visible) and lambda
# (hidden): E = -(v - mu).b - (h - lambda).c - (h - lambda) W (v - mu), the
# same model as the plain one with b_v = b - W.T lambda, b_h = c - W mu. Its
# gradient, taken in the centred parameters and carried back to the plain ones
# (which the estimator keeps), is
#     dW   = g_W - lambda g_v.T - g_h mu.T
#     db_v = g_v - dW.T lambda
#     db_h = g_h - dW mu
# with g the plain gradient. The model is unchanged; the direction of the
# steps is better conditioned, so the step size matters less. mu is the
# data's mean; lambda slides towards the data's mean P(h | v) at offset_rate.


cdef void centre_gradient(floating* g, floating* offsets, const floating* h_pos,
                          Py_ssize_t batch, Py_ssize_t n_visible, Py_ssize_t n_hidden,
                          double rate, int n_threads) noexcept nogil:
    """g (laid out W, b_h, b_v) <- the centred gradient, in place; offsets
    (mu, then lambda) <- lambda slid towards the mean of h_pos."""
    cdef Py_ssize_t n_w = n_hidden * n_visible, i, j, k, i0, i1
    cdef Py_ssize_t w = block_width(n_visible)
    cdef const floating* mu = offsets
    cdef floating* lam = offsets + n_visible
    cdef floating* g_h = g + n_w
    cdef floating* g_v = g + n_w + n_hidden
    cdef floating* row
    cdef floating correction
    cdef double s
    # Rows of dW, and db_h from each row once it is done (g_h[j] is row j's).
    for j in prange(n_hidden, num_threads=threads_for(n_w, n_threads),
                    schedule='static'):
        row = g + j * n_visible
        s = 0
        for i in range(n_visible):
            row[i] = row[i] - lam[j] * g_v[i] - g_h[j] * mu[i]
            s = s + row[i] * mu[i]
        g_h[j] = g_h[j] - <floating> s
    # db_v: columns of dW against lambda, rows in order.
    for k in prange(n_blocks(n_visible), num_threads=threads_for(n_w, n_threads),
                    schedule='static'):
        i0 = k * w
        i1 = min(i0 + w, n_visible)
        for i in range(i0, i1):
            correction = 0
            for j in range(n_hidden):
                correction = correction + g[j * n_visible + i] * lam[j]
            g_v[i] = g_v[i] - correction
    for j in range(n_hidden):
        s = 0
        for i in range(batch):
            s = s + h_pos[i * n_hidden + j]
        lam[j] = <floating> ((1 - rate) * lam[j] + rate * s / batch)


cdef void rbm_update(RBMConfig* cfg, floating* W, floating* b_h, floating* b_v,
                     const floating* g, floating* velocity, Py_ssize_t n_visible,
                     Py_ssize_t n_hidden, bint weights, int n_threads) noexcept nogil:
    """Ascend the gradient: weight decay on W only; velocity laid out as g.
    weights=False updates the biases only (W took a fused_weight_step)."""
    cdef Py_ssize_t n_w = n_hidden * n_visible, k, s
    cdef floating lr = <floating> cfg.learning_rate
    cdef floating mom = <floating> cfg.momentum
    cdef floating decay = <floating> cfg.weight_decay
    if weights:
        for k in prange(param_blocks(n_w), num_threads=n_threads, schedule='static'):
            s = k * PARAM_BLOCK
            ascent_block(W + s, g + s, velocity + s, min(PARAM_BLOCK, n_w - s), lr,
                         mom, decay)
    ascent_block(b_h, g + n_w, velocity + n_w, n_hidden, lr, mom, 0)
    ascent_block(b_v, g + n_w + n_hidden, velocity + n_w + n_hidden, n_visible, lr, mom,
                 0)


cdef bint all_finite(const floating* a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating s = 0
    for i in range(n):
        s += a[i] * 0  # NaN or inf anywhere makes s NaN
    return isfinite(s)


# run_pass's thread record for single-step calls: none, OpenMP's limit.
cdef ThreadRecord ALL_THREADS = None


cdef struct RBMTraining:
    RBMConfig* cfg
    bitgen_t* rng
    skae_stream* streams        # one per negative chain
    RowSource src
    Py_ssize_t n_rows
    Py_ssize_t batch_size
    void* W
    void* b_h
    void* b_v
    void* chains
    void* velocity
    void* fast                  # FAST: the fast weights, laid out as the gradient
    void* offsets               # centering: mu (n_visible), then lambda (n_hidden)
    Py_ssize_t n_visible
    Py_ssize_t n_hidden
    Py_ssize_t n_chains         # rows of chains (of every temperature)
    Buffers buf


cdef Py_ssize_t statistics(RBMTraining* t, floating* w, Py_ssize_t batch,
                           int n_threads) noexcept nogil:
    """The positive and negative statistics of the batch in v_pos by the
    configured sampler (the streams seeded first); returns the number of
    chains the negative statistics average over."""
    cdef RBMConfig* cfg = t.cfg
    cdef Py_ssize_t n_visible = t.n_visible, n_hidden = t.n_hidden
    cdef Py_ssize_t n_neg = t.n_chains if cfg.persistent else batch
    cdef const floating* W = <floating*> t.W
    cdef const floating* b_h = <floating*> t.b_h
    cdef const floating* b_v = <floating*> t.b_v
    cdef floating* chain = w + t.buf.chain
    seed_streams(t.rng, t.streams, n_neg)
    if cfg.sampler == TEMPERED:
        tempered_statistics(cfg, W, b_h, b_v, n_visible, n_hidden, batch,
                            <floating*> t.chains, n_neg, t.streams, w, &t.buf, n_threads)
        return n_neg // cfg.n_temperatures
    if cfg.sampler == FAST:
        add_fast_weights(W, b_h, b_v, <floating*> t.fast, chain, n_visible, n_hidden,
                         n_threads)
        cd_statistics(cfg, W, b_h, chain, chain + n_hidden * n_visible,
                      chain + n_hidden * n_visible + n_hidden, n_visible, n_hidden, batch,
                      t.batch_size, <floating*> t.chains, n_neg, t.streams, w, &t.buf,
                      n_threads)
    else:
        cd_statistics(cfg, W, b_h, W, b_h, b_v, n_visible, n_hidden, batch, t.batch_size,
                      <floating*> t.chains, n_neg, t.streams, w, &t.buf, n_threads)
    return n_neg


cdef Py_ssize_t rbm_train_step(void* ctx, floating* w, Py_ssize_t k,
                               int n_threads) noexcept nogil:
    """Minibatch k: its statistics, then the update (and FPCD's fast one)."""
    cdef RBMTraining* t = <RBMTraining*> ctx
    cdef RBMConfig* cfg = t.cfg
    cdef Py_ssize_t start = k * t.batch_size, batch = min(t.batch_size, t.n_rows - start)
    cdef Py_ssize_t n_visible = t.n_visible, n_hidden = t.n_hidden, n_neg
    cdef floating* W = <floating*> t.W
    # FPCD's fast weights and centering take the gradient itself, which the
    # fused step never forms.
    cdef bint fused = cfg.momentum == 0 and cfg.sampler != FAST and not cfg.centering
    gather(&t.src, start, batch, w + t.buf.v_pos, n_threads)
    n_neg = statistics(t, w, batch, n_threads)
    # The bias gradients only: a non-finite weight reaches them within a step,
    # and Python checks every weight after the pass.
    if not all_finite(w + t.buf.g + n_hidden * n_visible, n_hidden + n_visible):
        return STOP
    if fused:
        fused_weight_step(cfg, W, w, &t.buf, n_visible, n_hidden, batch, t.batch_size,
                          n_neg, n_threads)
    else:
        weight_gradient(w, &t.buf, n_visible, n_hidden, batch, n_neg, w + t.buf.g,
                        n_threads)
        if cfg.centering:
            centre_gradient(w + t.buf.g, <floating*> t.offsets, w + t.buf.h_pos, batch,
                            n_visible, n_hidden, cfg.offset_rate, n_threads)
    rbm_update(cfg, W, <floating*> t.b_h, <floating*> t.b_v, w + t.buf.g,
               <floating*> t.velocity, n_visible, n_hidden, not fused, n_threads)
    if cfg.sampler == FAST:
        fast_weight_step(cfg, <floating*> t.fast, w + t.buf.g,
                         n_hidden * n_visible + n_hidden + n_visible, n_threads)
    return batch


cdef int check_sampler(RBMConfig* config, Py_ssize_t n_chains, Py_ssize_t n_params,
                       Py_ssize_t n_fast, Py_ssize_t n_offsets,
                       Py_ssize_t n_units) except -1:
    """A known sampler with what it needs: persistent chains for FPCD and
    tempering, Bernoulli units and whole temperature blocks for tempering,
    fast weights of the gradient's size for FPCD."""
    if config.sampler not in SAMPLERS.values():
        raise ValueError("kernel: unknown sampler code.")
    if config.sampler != GIBBS and not config.persistent:
        raise ValueError("kernel: FPCD and parallel tempering need persistent chains.")
    if config.sampler == TEMPERED:
        if config.visible != BERNOULLI or config.hidden != BERNOULLI:
            raise ValueError("kernel: parallel tempering needs Bernoulli units.")
        if config.n_temperatures < 1 or n_chains % config.n_temperatures != 0:
            raise ValueError(f"kernel: {n_chains} chains do not make "
                             f"{config.n_temperatures} equal temperature blocks.")
    if config.sampler == FAST:
        check_length(n_fast, n_params, "the fast weights")
    if config.centering:
        check_length(n_offsets, n_units, "the offsets")
    return 0


def train_pass(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
               const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
               const Py_ssize_t[::1] rows, Py_ssize_t batch_size,
               floating[:, ::1] W, floating[::1] b_h, floating[::1] b_v,
               floating[:, ::1] chains, floating[::1] velocity, floating[::1] fast,
               floating[::1] offsets, RBMConfig config, object bit_generator,
               floating[::1] work, ThreadRecord threads):
    """Train on ``X[rows]`` in minibatches of ``batch_size``, updating in place.

    Parameters
    ----------
    X_data, X_indices, X_indptr, sparse, n_features : input
        Dense data flattened, or the arrays of a CSR matrix (see runtime/rows.pxd).
    rows : (n_rows,) intp, input
        Rows in the order to visit them.
    batch_size : int, input
    W, b_h, b_v : input and output
        components_ (n_hidden, n_visible), hidden and visible biases.
    chains : (n_chains, n_hidden), input and output
        The persistent chains' hidden states (PCD); unused for CD. For
        parallel tempering, n_temperatures blocks of equal size, the model's
        own temperature first (see tempered_statistics).
    velocity : (n_hidden * n_visible + n_hidden + n_visible,), input and output
        Momentum velocity of W, b_h, b_v.
    fast : input and output
        FPCD's fast weights, laid out as ``velocity``; any length (ignored)
        for the other samplers.
    offsets : (n_visible + n_hidden,), input and output
        Centering's offsets, mu then lambda (lambda slides); any length
        (ignored) without centering.
    config : dict
        ``RBMConfig`` fields: visible, hidden, k, persistent, learning_rate,
        momentum, weight_decay, sampler (a ``SAMPLERS`` code), n_temperatures,
        fast_learning_rate, fast_decay, centering, offset_rate.
    bit_generator : numpy BitGenerator, input and output
    work : input and output
        ``workspace_size(n_visible, n_hidden, batch_size, n_neg, sampler)``
        elements, with n_neg = n_chains for persistent chains and batch_size
        for CD.

    threads : ThreadRecord, input and output
        How the pass chooses its thread count (runtime/threads.pxd): a new
        record to start, then kept across the passes of a fit. It never affects
        the results.

    Returns
    -------
    finite : bool
        False if the parameters stopped being finite (the pass stops there).
    """
    cdef Py_ssize_t n_rows = rows.shape[0]
    cdef Py_ssize_t n_hidden = W.shape[0], n_visible = W.shape[1]
    check_model(n_hidden, n_visible, b_h.shape[0], b_v.shape[0], config.visible,
                config.hidden)
    check_shape(n_features, n_visible, "the input width")
    check_rows(rows, check_input(X_data, X_indices, X_indptr, sparse, n_features))
    if batch_size < 1 or config.k < 1:
        raise ValueError("kernel: batch_size and k must be positive.")
    check_shape(chains.shape[1], n_hidden, "the chains' width")
    if chains.shape[0] < 1:
        raise ValueError("kernel: there must be at least one persistent chain.")
    cdef Py_ssize_t n_params = n_hidden * n_visible + n_hidden + n_visible
    check_length(velocity.shape[0], n_params, "velocity")
    check_sampler(&config, chains.shape[0], n_params, fast.shape[0], offsets.shape[0],
                  n_visible + n_hidden)
    cdef Py_ssize_t n_neg = chains.shape[0] if config.persistent else batch_size
    check_length(work.shape[0], workspace_size(n_visible, n_hidden, batch_size, n_neg,
                                               config.sampler), "work")
    if n_rows == 0:
        return True
    cdef RBMTraining t
    cdef uint64_t[:, ::1] stream_state = np.empty((n_neg, 4), dtype=np.uint64)
    t.cfg = &config
    t.rng = bitgen_of(bit_generator)
    t.streams = <skae_stream*> &stream_state[0, 0]
    t.src = row_source(X_data, X_indices, X_indptr, sparse, n_features, rows)
    t.n_rows, t.batch_size = n_rows, batch_size
    t.W, t.b_h, t.b_v = &W[0, 0], &b_h[0], &b_v[0]
    t.chains, t.velocity = &chains[0, 0], &velocity[0]
    t.fast = &fast[0] if config.sampler == FAST else NULL
    t.offsets = &offsets[0] if config.centering else NULL
    t.n_visible, t.n_hidden, t.n_chains = n_visible, n_hidden, chains.shape[0]
    t.buf = make_buffers(n_visible, n_hidden, batch_size, n_neg, config.sampler)
    return run_pass(rbm_train_step[floating], &t, &work[0],
                    (n_rows + batch_size - 1) // batch_size, threads,
                    bit_generator.lock)


cdef Py_ssize_t rbm_gradient_step(void* ctx, floating* w, Py_ssize_t k,
                                  int n_threads) noexcept nogil:
    """The rows already in v_pos as one minibatch: the gradient into g."""
    cdef RBMTraining* t = <RBMTraining*> ctx
    cdef Py_ssize_t n_neg = statistics(t, w, t.n_rows, n_threads)
    weight_gradient(w, &t.buf, t.n_visible, t.n_hidden, t.n_rows, n_neg, w + t.buf.g,
                    n_threads)
    return t.n_rows


def gradient(const floating[:, ::1] V, floating[:, ::1] W, floating[::1] b_h,
             floating[::1] b_v, floating[:, ::1] chains, RBMConfig config,
             object bit_generator, floating[::1] fast=None):
    """The gradient on V as one minibatch by the configured sampler, without an
    update (for tests): returns (gW, gb_h, gb_v); persistent chains advance
    in place (FPCD's chains sample with the parameters plus ``fast``, which
    does not change)."""
    cdef Py_ssize_t batch = V.shape[0], n_hidden = W.shape[0], n_visible = W.shape[1]
    check_model(n_hidden, n_visible, b_h.shape[0], b_v.shape[0], config.visible,
                config.hidden)
    check_shape(V.shape[1], n_visible, "the input width")
    check_shape(chains.shape[1], n_hidden, "the chains' width")
    if batch < 1 or chains.shape[0] < 1 or config.k < 1:
        raise ValueError("kernel: gradient needs rows, chains and k >= 1.")
    cdef Py_ssize_t n_params = n_hidden * n_visible + n_hidden + n_visible
    if config.centering:
        raise ValueError("kernel: gradient() gives the plain gradient; centering "
                         "belongs to train_pass.")
    check_sampler(&config, chains.shape[0], n_params,
                  fast.shape[0] if fast is not None else 0, 0, n_visible + n_hidden)
    cdef Py_ssize_t n_neg = chains.shape[0] if config.persistent else batch
    cdef Buffers buf = make_buffers(n_visible, n_hidden, batch, n_neg, config.sampler)
    work_array = np.empty(buf.total, dtype=np.asarray(W).dtype)
    cdef floating[::1] work = work_array
    cdef uint64_t[:, ::1] stream_state = np.empty((n_neg, 4), dtype=np.uint64)
    cdef RBMTraining t
    t.cfg = &config
    t.rng = bitgen_of(bit_generator)
    t.streams = <skae_stream*> &stream_state[0, 0]
    t.W, t.b_h, t.b_v, t.chains = &W[0, 0], &b_h[0], &b_v[0], &chains[0, 0]
    t.fast = &fast[0] if config.sampler == FAST else NULL
    t.n_visible, t.n_hidden, t.n_chains = n_visible, n_hidden, chains.shape[0]
    t.n_rows = t.batch_size = batch
    t.buf = buf
    memcpy(&work[buf.v_pos], &V[0, 0], batch * n_visible * sizeof(floating))
    run_pass(rbm_gradient_step[floating], &t, &work[0], 1, ALL_THREADS, bit_generator.lock)
    g = work_array[buf.g:buf.g + n_params]
    n_w = n_hidden * n_visible
    return (g[:n_w].reshape(n_hidden, n_visible).copy(), g[n_w:n_w + n_hidden].copy(),
            g[n_w + n_hidden:].copy())


# --------------------------------------------------------------------------------
# Inference, in chunks of rows with bounded memory.

cdef inline double hidden_free_energy(int hidden, double a) noexcept nogil:
    """log of the integral (sum) over one hidden unit's states of exp(a h - ...):
    softplus(a) for a Bernoulli unit, a^2 / 2 + log(2 pi) / 2 for a Gaussian one."""
    if hidden == BERNOULLI:
        return softplus(a)
    return 0.5 * a * a + HALF_LOG_2PI


cdef void chunk_energies(int what, int visible, int hidden, const floating* V,
                         floating* A, Py_ssize_t batch, const floating* W,
                         const floating* b_h, const floating* b_v, Py_ssize_t n_visible,
                         Py_ssize_t n_hidden, const Py_ssize_t* flip, floating* out,
                         int n_threads) noexcept nogil:
    """out[i] = F(V[i]) (FREE_ENERGY) or the pseudo-likelihood term of row i
    with feature flip[i] flipped (PSEUDO_LIKELIHOOD), for a chunk of rows; A
    (batch, n_hidden) is scratch."""
    cdef Py_ssize_t i, j, f
    cdef double fe, fe_flip, vb, sign, d
    # A (batch, n_hidden) = V @ W.T
    gemm_blocked(c'N', c'T', <int> batch, <int> n_hidden, <int> n_visible, 1,
                 V, <int> n_visible, W, <int> n_visible, 0, A, <int> n_hidden, n_threads)
    for i in prange(batch, num_threads=n_threads, schedule='static'):
        vb = 0
        for j in range(n_visible):
            if visible == BERNOULLI:
                vb = vb - b_v[j] * V[i * n_visible + j]
            else:
                d = V[i * n_visible + j] - b_v[j]
                vb = vb + 0.5 * d * d
        fe = vb
        for j in range(n_hidden):
            fe = fe - hidden_free_energy(hidden, A[i * n_hidden + j] + b_h[j])
        if what == FREE_ENERGY:
            out[i] = <floating> fe
        else:
            f = flip[i]
            sign = 1 - 2 * V[i * n_visible + f]
            fe_flip = vb - sign * b_v[f]
            for j in range(n_hidden):
                fe_flip = fe_flip - hidden_free_energy(
                    hidden, A[i * n_hidden + j] + b_h[j] + sign * W[j * n_visible + f])
            out[i] = <floating> (-n_visible * softplus(fe - fe_flip))


cdef struct RBMEvaluation:
    RowSource src
    Py_ssize_t n_rows
    Py_ssize_t chunk
    int what                    # an Evaluation code
    int visible
    int hidden
    const void* W
    const void* b_h
    const void* b_v
    Py_ssize_t n_visible
    Py_ssize_t n_hidden
    const Py_ssize_t* flip      # PSEUDO_LIKELIHOOD's flipped features, or NULL
    void* out                   # (n_rows, width)
    Py_ssize_t width


cdef Py_ssize_t evaluation_step(void* ctx, floating* V, Py_ssize_t k,
                                int n_threads) noexcept nogil:
    """Chunk k: gathered into V (chunk, n_visible), the scratch A following it."""
    cdef RBMEvaluation* e = <RBMEvaluation*> ctx
    cdef Py_ssize_t start = k * e.chunk, batch = min(e.chunk, e.n_rows - start)
    cdef floating* A = V + e.chunk * e.n_visible
    cdef floating* out = <floating*> e.out + start * e.width
    gather(&e.src, start, batch, V, n_threads)
    if e.what == HIDDEN_PROBABILITIES:
        hidden_means(e.hidden, V, batch, <const floating*> e.W, <const floating*> e.b_h,
                     e.n_visible, e.n_hidden, out, n_threads)
    else:
        chunk_energies(e.what, e.visible, e.hidden, V, A, batch, <const floating*> e.W,
                       <const floating*> e.b_h, <const floating*> e.b_v, e.n_visible,
                       e.n_hidden, e.flip + start if e.flip != NULL else NULL, out,
                       n_threads)
    return batch


def evaluate(const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
             const Py_ssize_t[::1] X_indptr, bint sparse, Py_ssize_t n_features,
             Py_ssize_t n_rows, const floating[:, ::1] W, const floating[::1] b_h,
             const floating[::1] b_v, int visible, int hidden, int what,
             const Py_ssize_t[::1] flip, floating[:, ::1] out, Py_ssize_t chunk,
             ThreadRecord threads):
    """Per-row quantities of X, ``chunk`` rows at a time.

    what = HIDDEN_PROBABILITIES: out (n_rows, n_hidden) = E[h | v] (P(h=1 | v)).
    what = FREE_ENERGY: out (n_rows, 1) = F(v) = -b_v.v - sum_j softplus(W v + b_h)_j
        (0.5 ||v - b_v||^2 in place of -b_v.v for Gaussian visible units; for
        Gaussian hidden units a_j^2 / 2 + log(2 pi) / 2 in place of softplus(a_j),
        from integrating h out: the constant keeps exp(-F) normalised by Z).
    what = PSEUDO_LIKELIHOOD (Bernoulli): out (n_rows, 1) = scikit-learn's
        estimate, -n_visible * softplus(F(v) - F(v')), v' = v with feature
        flip[i] flipped, from one matrix product (flipping feature f adds
        (1 - 2 v_f) W[:, f] to W v).

    ``threads`` (a ThreadRecord) carries the choice of thread count from
    chunk to chunk and call to call (runtime/threads.pxd).
    """
    cdef Py_ssize_t n_hidden = W.shape[0], n_visible = W.shape[1]
    cdef Py_ssize_t start, batch, i, j, f
    check_model(n_hidden, n_visible, b_h.shape[0], b_v.shape[0], visible, hidden)
    check_shape(n_features, n_visible, "the input width")
    if n_rows > check_input(X_data, X_indices, X_indptr, sparse, n_features):
        raise ValueError("kernel: more rows asked than the input has.")
    if what not in EVALUATIONS.values() or chunk < 1:
        raise ValueError("kernel: unknown evaluation code, or chunk < 1.")
    check_shape(out.shape[0], n_rows, "the number of output rows")
    check_shape(out.shape[1], n_hidden if what == HIDDEN_PROBABILITIES else 1,
                "the output width")
    if what == PSEUDO_LIKELIHOOD:
        check_length(flip.shape[0], n_rows, "flip")
        for i in range(n_rows):
            if flip[i] < 0 or flip[i] >= n_visible:
                raise ValueError(f"kernel: flip index {flip[i]} is not a feature.")
    if n_rows == 0:
        return
    dtype = np.asarray(W).dtype
    scratch = np.empty((chunk, n_visible + n_hidden), dtype=dtype)
    cdef floating[:, ::1] VA = scratch
    cdef RBMEvaluation e
    cdef const Py_ssize_t[::1] every_row = None
    e.src = row_source(X_data, X_indices, X_indptr, sparse, n_features, every_row)
    e.n_rows, e.chunk, e.what, e.visible, e.hidden = n_rows, chunk, what, visible, hidden
    e.W, e.b_h, e.b_v = &W[0, 0], &b_h[0], &b_v[0]
    e.n_visible, e.n_hidden = n_visible, n_hidden
    e.flip = &flip[0] if what == PSEUDO_LIKELIHOOD else NULL
    e.out, e.width = &out[0, 0], out.shape[1]
    run_pass(evaluation_step[floating], &e, &VA[0, 0], (n_rows + chunk - 1) // chunk,
             threads)


cdef Py_ssize_t expectation_step(void* ctx, floating* H, Py_ssize_t k,
                                 int n_threads) noexcept nogil:
    """Chunk k of the rows of H (read only): E[v | h] into out."""
    cdef RBMEvaluation* e = <RBMEvaluation*> ctx
    cdef Py_ssize_t start = k * e.chunk, batch = min(e.chunk, e.n_rows - start)
    visible_means(e.visible, H + start * e.n_hidden, batch, <const floating*> e.W,
                  <const floating*> e.b_v, e.n_visible, e.n_hidden,
                  <floating*> e.out + start * e.width, n_threads)
    return batch


def visible_expectations(const floating[:, ::1] H, const floating[:, ::1] W,
                         const floating[::1] b_v, int visible, floating[:, ::1] out,
                         Py_ssize_t chunk, ThreadRecord threads):
    """out (n, n_visible) = E[v | h] for each row of H, ``chunk`` rows at a time
    (``threads`` as in ``evaluate``)."""
    cdef Py_ssize_t n = H.shape[0], start, batch
    check_model(W.shape[0], W.shape[1], W.shape[0], b_v.shape[0], visible, BERNOULLI)
    check_shape(H.shape[1], W.shape[0], "the hidden width")
    check_shape(out.shape[0], n, "the number of output rows")
    check_shape(out.shape[1], W.shape[1], "the output width")
    if chunk < 1:
        raise ValueError(f"kernel: chunk must be positive; got {chunk}.")
    if n == 0:
        return
    cdef RBMEvaluation e
    e.n_rows, e.chunk, e.visible = n, chunk, visible
    e.W, e.b_v = &W[0, 0], &b_v[0]
    e.n_visible, e.n_hidden = W.shape[1], W.shape[0]
    e.out, e.width = &out[0, 0], out.shape[1]
    run_pass(expectation_step[floating], &e, <floating*> &H[0, 0], (n + chunk - 1) // chunk,
             threads)


cdef struct GibbsChains:
    bitgen_t* rng
    skae_stream* streams        # one per row of V
    Py_ssize_t n_rows
    Py_ssize_t chunk
    Py_ssize_t n_steps
    int visible
    int hidden
    const void* W
    const void* b_h
    const void* b_v
    void* V
    Py_ssize_t n_visible
    Py_ssize_t n_hidden


cdef Py_ssize_t gibbs_step(void* ctx, floating* H, Py_ssize_t k,
                           int n_threads) noexcept nogil:
    """Gibbs step k mod n_steps of chunk k // n_steps (its streams seeded, all
    of them, before the pass's first step)."""
    cdef GibbsChains* g = <GibbsChains*> ctx
    cdef Py_ssize_t start = (k // g.n_steps) * g.chunk
    cdef Py_ssize_t batch = min(g.chunk, g.n_rows - start)
    cdef floating* V = <floating*> g.V + start * g.n_visible
    cdef const floating* W = <const floating*> g.W
    if k == 0:
        seed_streams(g.rng, g.streams, g.n_rows)
    hidden_means(g.hidden, V, batch, W, <const floating*> g.b_h, g.n_visible, g.n_hidden,
                 H, n_threads)
    sample_rows(g.hidden, H, batch, g.n_hidden, g.streams + start, n_threads)
    visible_means(g.visible, H, batch, W, <const floating*> g.b_v, g.n_visible,
                  g.n_hidden, V, n_threads)
    sample_rows(g.visible, V, batch, g.n_visible, g.streams + start, n_threads)
    return batch


def gibbs_chain(floating[:, ::1] V, Py_ssize_t n_steps, const floating[:, ::1] W,
                const floating[::1] b_h, const floating[::1] b_v, int visible,
                int hidden, object bit_generator, ThreadRecord threads,
                Py_ssize_t chunk=512):
    """Run n_steps of block Gibbs sampling (h ~ P(h|v), then v ~ P(v|h)) from
    each row of V, in place; V ends as visible samples. The rows go ``chunk``
    at a time, all steps of a chunk before the next (each row has its own
    random stream, so the result does not depend on ``chunk``); every step of
    a chunk is one choice of thread count (``threads`` as in
    ``evaluate``) and one check for Ctrl-C, and memory beyond V stays at one
    chunk's hidden units."""
    cdef Py_ssize_t n = V.shape[0], n_hidden = W.shape[0], n_visible = W.shape[1], s
    cdef Py_ssize_t start, batch
    check_model(n_hidden, n_visible, b_h.shape[0], b_v.shape[0], visible, hidden)
    check_shape(V.shape[1], n_visible, "the visible width")
    if n_steps < 0:
        raise ValueError(f"kernel: n_steps must be >= 0; got {n_steps}.")
    if chunk < 1:
        raise ValueError(f"kernel: chunk must be positive; got {chunk}.")
    if n == 0 or n_steps == 0:
        return
    dtype = np.asarray(W).dtype
    cdef floating[:, ::1] H = np.empty((min(n, chunk), n_hidden), dtype=dtype)
    cdef uint64_t[:, ::1] stream_state = np.empty((n, 4), dtype=np.uint64)
    cdef GibbsChains g
    g.rng = bitgen_of(bit_generator)
    g.streams = <skae_stream*> &stream_state[0, 0]
    g.n_rows, g.chunk, g.n_steps, g.visible, g.hidden = n, chunk, n_steps, visible, hidden
    g.W, g.b_h, g.b_v, g.V = &W[0, 0], &b_h[0], &b_v[0], &V[0, 0]
    g.n_visible, g.n_hidden = n_visible, n_hidden
    run_pass(gibbs_step[floating], &g, &H[0, 0], ((n + chunk - 1) // chunk) * n_steps,
             threads, bit_generator.lock)
