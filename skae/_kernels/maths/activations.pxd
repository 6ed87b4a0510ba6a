# Elementwise activation functions and their derivatives.
#
# Every derivative is written in terms of the activation's *output* a = f(z):
# the backward pass then needs only the stored activations, never the
# pre-activations, which halves the memory of a forward pass.
#   identity  f'=1            sigmoid  f'=a(1-a)        tanh  f'=1-a^2
#   relu      f'=[a>0]        elu      f'=1 if a>0 else a+1   (elu alpha = 1)
#   softplus  f'=sigmoid(z) = 1-exp(-a)
# The codes are shared with Python through _network.ACTIVATIONS.

from cython cimport floating
from libc.math cimport exp, tanh, tanhf, log1p, log1pf, expm1, expm1f, fabs


cdef extern from "maths/vecmath.h" nogil:
    # float32 exp and sigmoid in plain arithmetic, so that loops over them
    # vectorise (see the header for the method and its accuracy).
    float skae_expf(float x)
    float skae_sigmoidf(float z)
    void skae_sigmoid_f(float* x, Py_ssize_t n)
    void skae_sigmoid_bias_f(float* x, const float* bias, Py_ssize_t n)


cdef enum Activation:
    IDENTITY = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    ELU = 4
    SOFTPLUS = 5
    N_ACTIVATIONS = 6   # the number of codes above


cdef inline floating f_exp(floating x) noexcept nogil:
    if floating is float:
        return skae_expf(x)
    else:
        return exp(x)


cdef inline floating f_log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating f_expm1(floating x) noexcept nogil:
    if floating is float:
        return expm1f(x)
    else:
        return expm1(x)


cdef inline floating sigmoid(floating z) noexcept nogil:
    # float64: exp(-z) overflows to inf for very negative z and 1/inf = 0, no
    # NaN; float32: skae_expf saturates instead. The same arithmetic as the
    # block forms below, element for element.
    if floating is float:
        return skae_sigmoidf(z)
    else:
        return 1 / (1 + exp(-z))


cdef inline floating softplus(floating z) noexcept nogil:
    # log(1 + e^z) = max(z, 0) + log1p(e^-|z|), exact and overflow-free.
    if z > 0:
        return z + f_log1p(f_exp(-z))
    return f_log1p(f_exp(z))


cdef inline floating activate(int act, floating z) noexcept nogil:
    if act == SIGMOID:
        return sigmoid(z)
    elif act == TANH:
        if floating is float:
            return tanhf(z)
        else:
            return tanh(z)
    elif act == RELU:
        return z if z > 0 else 0
    elif act == ELU:
        return z if z > 0 else f_expm1(z)
    elif act == SOFTPLUS:
        return softplus(z)
    return z


cdef inline floating derivative(int act, floating a) noexcept nogil:
    """f'(z) expressed through a = f(z)."""
    if act == SIGMOID:
        return a * (1 - a)
    elif act == TANH:
        return 1 - a * a
    elif act == RELU:
        return 1 if a > 0 else 0
    elif act == ELU:
        return 1 if a > 0 else a + 1
    elif act == SOFTPLUS:
        return -f_expm1(-a)
    return 1


# Loops over a contiguous block with the switch outside, so each loop body is
# branch-free and the compiler can unroll (and, where libm allows, vectorise) it.

cdef inline void activate_block(int act, floating* x, Py_ssize_t n) noexcept nogil:
    """x <- f(x) in place."""
    cdef Py_ssize_t i
    if act == IDENTITY:
        return
    elif act == SIGMOID:
        if floating is float:
            skae_sigmoid_f(x, n)
        else:
            for i in range(n):
                x[i] = sigmoid(x[i])
    elif act == RELU:
        # A select and an unconditional store, which vectorise (a conditional
        # store does not); NaN stays NaN, as x < 0 is false for it.
        for i in range(n):
            x[i] = 0 if x[i] < 0 else x[i]
    else:
        for i in range(n):
            x[i] = activate(act, x[i])


cdef inline void sigmoid_bias_block(floating* x, const floating* bias,
                                    Py_ssize_t n) noexcept nogil:
    """x <- sigmoid(x + bias) in place."""
    cdef Py_ssize_t i
    if floating is float:
        skae_sigmoid_bias_f(x, bias, n)
    else:
        for i in range(n):
            x[i] = sigmoid(x[i] + bias[i])


cdef inline void derivative_block(int act, floating* delta, const floating* a,
                                  Py_ssize_t n) noexcept nogil:
    """delta <- delta * f'(z), with f'(z) computed from a = f(z)."""
    cdef Py_ssize_t i
    if act == IDENTITY:
        return
    elif act == SIGMOID:
        for i in range(n):
            delta[i] *= a[i] * (1 - a[i])
    elif act == TANH:
        for i in range(n):
            delta[i] *= 1 - a[i] * a[i]
    elif act == RELU:
        for i in range(n):
            delta[i] = 0 if a[i] <= 0 else delta[i]
    else:
        for i in range(n):
            delta[i] *= derivative(act, a[i])
