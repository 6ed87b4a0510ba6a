# In-place optimizer updates on a contiguous block of the flat parameter vector.
#
# The parameters of a network live in one flat array (all weights, then all
# biases), so an optimizer step is one elementwise loop over it. The caller
# splits that loop into blocks over threads; each element's update depends only
# on its own state, so the result does not depend on the thread count. Both
# updates also add the L2 penalty's gradient (alpha * param; alpha = 0 for
# biases) and clear the gradient they consumed, saving two passes over the
# parameters per minibatch.
#
# The loops themselves are C (maths/optim_simd.h), compiled for AVX2 and for the
# baseline with identical results; the formulas are those of
# sklearn.neural_network._stochastic_optimizers.

from cython cimport floating
from cython.parallel cimport prange


cdef enum Solver:
    ADAM = 0
    SGD = 1

cdef enum:
    # Parameters per thread block of an update (GEMMs are split into column
    # blocks, see maths/blas.pxd; both splits are fixed, whatever the thread count).
    PARAM_BLOCK = 4096


cdef struct Optimizer:
    int solver          # a Solver code
    double learning_rate
    double beta_1       # Adam's
    double beta_2
    double epsilon
    double momentum     # SGD's
    bint nesterov
    double alpha        # the L2 penalty on the weights


cdef inline Py_ssize_t param_blocks(Py_ssize_t n) noexcept nogil:
    """The number of PARAM_BLOCK blocks that cover n parameters."""
    return (n + PARAM_BLOCK - 1) // PARAM_BLOCK


cdef extern from "maths/optim_simd.h" nogil:
    void skae_adam_f(float* param, float* grad, float* m, float* v, Py_ssize_t n,
                     float step_size, float beta_1, float beta_2, float epsilon,
                     float alpha)
    void skae_adam_d(double* param, double* grad, double* m, double* v, Py_ssize_t n,
                     double step_size, double beta_1, double beta_2, double epsilon,
                     double alpha)
    void skae_sgd_f(float* param, float* grad, float* velocity, Py_ssize_t n,
                    float learning_rate, float momentum, int nesterov, float alpha)
    void skae_sgd_d(double* param, double* grad, double* velocity, Py_ssize_t n,
                    double learning_rate, double momentum, int nesterov, double alpha)


cdef inline void adam_block(floating* param, floating* grad, floating* m,
                            floating* v, Py_ssize_t n, floating step_size,
                            floating beta_1, floating beta_2, floating epsilon,
                            floating alpha) noexcept nogil:
    """One Adam step on grad + alpha * param;
    step_size = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)."""
    if floating is float:
        skae_adam_f(param, grad, m, v, n, step_size, beta_1, beta_2, epsilon, alpha)
    else:
        skae_adam_d(param, grad, m, v, n, step_size, beta_1, beta_2, epsilon, alpha)


cdef inline void sgd_block(floating* param, floating* grad, floating* velocity,
                           Py_ssize_t n, floating learning_rate, floating momentum,
                           bint nesterov, floating alpha) noexcept nogil:
    """One SGD step with (Nesterov) momentum on grad + alpha * param."""
    if floating is float:
        skae_sgd_f(param, grad, velocity, n, learning_rate, momentum, nesterov, alpha)
    else:
        skae_sgd_d(param, grad, velocity, n, learning_rate, momentum, nesterov, alpha)


cdef inline void optimizer_step(const Optimizer* opt, floating* params, floating* grad,
                                floating* state, Py_ssize_t n_params,
                                Py_ssize_t n_weights, Py_ssize_t t,
                                int n_threads) noexcept nogil:
    """One update of every parameter, with the L2 penalty on params[:n_weights]
    (t is the 1-based step count, for Adam); state holds Adam's two moments
    (2 n_params) or SGD's velocity. Blocks never straddle the weight/bias
    boundary, so each runs one branch-free loop."""
    cdef Py_ssize_t n_wblocks = param_blocks(n_weights)
    cdef Py_ssize_t n_bblocks = param_blocks(n_params - n_weights)
    cdef Py_ssize_t k, s, n
    cdef floating alpha, step_size = 0
    if opt.solver == ADAM:
        step_size = <floating> (opt.learning_rate * (1 - opt.beta_2 ** t) ** 0.5
                                / (1 - opt.beta_1 ** t))
    for k in prange(n_wblocks + n_bblocks, num_threads=n_threads, schedule='static'):
        if k < n_wblocks:
            s = k * PARAM_BLOCK
            n = min(PARAM_BLOCK, n_weights - s)
            alpha = <floating> opt.alpha
        else:
            s = n_weights + (k - n_wblocks) * PARAM_BLOCK
            n = min(PARAM_BLOCK, n_params - s)
            alpha = 0
        if opt.solver == ADAM:
            adam_block(params + s, grad + s, state + s, state + n_params + s, n,
                       step_size, <floating> opt.beta_1, <floating> opt.beta_2,
                       <floating> opt.epsilon, alpha)
        else:
            sgd_block(params + s, grad + s, state + s, n, <floating> opt.learning_rate,
                      <floating> opt.momentum, opt.nesterov, alpha)


cdef inline void clip_norm(floating* grad, Py_ssize_t n, double max_norm) noexcept nogil:
    """Scale grad so that its Euclidean norm is at most max_norm (Pascanu et
    al., 2013: an exploding recurrent gradient keeps its direction). The sum
    of squares runs serially in double: the same for any thread count."""
    cdef Py_ssize_t i
    cdef double s = 0
    cdef floating scale
    for i in range(n):
        s += <double> grad[i] * grad[i]
    if s <= max_norm * max_norm:
        return
    scale = <floating> (max_norm / s ** 0.5)
    for i in range(n):
        grad[i] *= scale


cdef inline void add_scaled(floating* out, const floating* a, floating scale,
                            Py_ssize_t n, int n_threads) noexcept nogil:
    """out += scale * a, in fixed blocks (the same sums for any thread count):
    the L2 penalty's gradient (a = params, scale = alpha) and the sum of
    chunk gradients weighted by their share of the rows."""
    cdef Py_ssize_t k, s, i
    for k in prange(param_blocks(n), num_threads=n_threads, schedule='static'):
        s = k * PARAM_BLOCK
        for i in range(s, min(s + PARAM_BLOCK, n)):
            out[i] += scale * a[i]


cdef inline void ascent_block(floating* param, const floating* grad, floating* velocity,
                              Py_ssize_t n, floating lr, floating momentum,
                              floating decay) noexcept nogil:
    """The RBM's update: param += lr * (grad - decay * param), through a
    momentum velocity if any."""
    cdef Py_ssize_t i
    cdef floating step
    for i in range(n):
        step = lr * (grad[i] - decay * param[i])
        if momentum != 0:
            velocity[i] = momentum * velocity[i] + step
            step = velocity[i]
        param[i] += step
