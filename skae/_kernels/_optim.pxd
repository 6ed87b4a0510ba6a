# In-place optimizer updates on a contiguous block of the flat parameter vector.
#
# The parameters of a network live in one flat array (weights and biases of every
# layer back to back), so an optimizer step is one elementwise loop over it. The
# caller splits that loop into blocks over threads; each element's update depends
# only on its own state, so the result does not depend on the thread count.
# Both updates also clear the gradient they consumed, saving a separate pass to
# zero it before the next minibatch accumulates into it.
#
# The formulas are those of sklearn.neural_network._stochastic_optimizers.

from cython cimport floating
from libc.math cimport sqrt, sqrtf


cdef inline void adam_block(floating* param, floating* grad, floating* m,
                            floating* v, Py_ssize_t n, floating step_size,
                            floating beta_1, floating beta_2,
                            floating epsilon) noexcept nogil:
    """One Adam step; step_size = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)."""
    cdef Py_ssize_t i
    cdef floating g
    for i in range(n):
        g = grad[i]
        grad[i] = 0
        m[i] = beta_1 * m[i] + (1 - beta_1) * g
        v[i] = beta_2 * v[i] + (1 - beta_2) * g * g
        if floating is float:
            param[i] -= step_size * m[i] / (sqrtf(v[i]) + epsilon)
        else:
            param[i] -= step_size * m[i] / (sqrt(v[i]) + epsilon)


cdef inline void sgd_block(floating* param, floating* grad, floating* velocity,
                           Py_ssize_t n, floating learning_rate, floating momentum,
                           bint nesterov) noexcept nogil:
    """One SGD step with (Nesterov) momentum."""
    cdef Py_ssize_t i
    cdef floating g
    for i in range(n):
        g = grad[i]
        grad[i] = 0
        velocity[i] = momentum * velocity[i] - learning_rate * g
        if nesterov:
            param[i] += momentum * velocity[i] - learning_rate * g
        else:
            param[i] += velocity[i]
