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
# The loops themselves are C (_optim_simd.h), compiled for AVX2 and for the
# baseline with identical results; the formulas are those of
# sklearn.neural_network._stochastic_optimizers.

from cython cimport floating


cdef extern from "_optim_simd.h" nogil:
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
