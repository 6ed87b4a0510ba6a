# Reconstruction losses of one row, from the output layer's pre-activations z
# against a target (the clean input, or any other target of the same width), and
# their gradient with respect to z, each entry optionally weighted by a mask (0
# for a missing value). Each loss is a function; row_loss_delta dispatches on
# the loss code. With binary cross-entropy the output sigmoid is
# applied inside the loss, so that it is computed stably from the logits.

from cython cimport floating
from libc.math cimport fabs

from .activations cimport IDENTITY, activate, derivative, sigmoid, f_exp, f_log1p


cdef extern from "maths/vecmath.h" nogil:
    # float32 binary cross-entropy of a row without a mask, in a loop that
    # vectorises (see the header).
    double skae_bce_row_f(const float* z, const float* t, float* delta, float scale,
                          Py_ssize_t n)

cdef enum Loss:
    SQUARED_ERROR = 0
    BINARY_CROSSENTROPY = 1
    HUBER = 2


cdef inline double row_loss_delta(int loss, int out_act, const floating* z,
                                  const floating* target, const floating* mask,
                                  floating* delta, Py_ssize_t n, floating scale,
                                  double huber_delta) noexcept nogil:
    """Loss of one row from the output pre-activations z against target; if
    delta is not NULL, also d(scale * loss)/dz into it. With a mask (or NULL),
    entry j counts with weight mask[j] (0 leaves it out: a missing value).
    huber_delta is the Huber loss's threshold. Returns the row's loss."""
    if loss == BINARY_CROSSENTROPY:
        return binary_crossentropy_row(z, target, mask, delta, n, scale)
    if loss == HUBER:
        return huber_row(out_act, z, target, mask, delta, n, scale,
                         <floating> huber_delta)
    if out_act == IDENTITY and mask == NULL:
        return squared_error_linear(z, target, delta, n, scale)
    return squared_error_row(out_act, z, target, mask, delta, n, scale)


cdef inline double binary_crossentropy_row(const floating* z, const floating* target,
                                           const floating* mask, floating* delta,
                                           Py_ssize_t n, floating scale) noexcept nogil:
    """-t log(sigmoid(z)) - (1-t) log(1-sigmoid(z)), computed as max(z,0) - z t
    + log1p(e^-|z|), which neither overflows nor loses the small terms."""
    cdef Py_ssize_t j
    cdef double s = 0
    cdef floating zj, m
    if floating is float:
        if mask == NULL:
            return skae_bce_row_f(z, target, delta, scale, n)
    for j in range(n):
        zj = z[j]
        m = 1 if mask == NULL else mask[j]
        if mask == NULL:
            s += (zj if zj > 0 else 0) - zj * target[j] + f_log1p(f_exp(-fabs(zj)))
        elif m != 0:
            s += m * ((zj if zj > 0 else 0) - zj * target[j] + f_log1p(f_exp(-fabs(zj))))
        if delta != NULL:
            delta[j] = scale * (sigmoid(zj) - target[j])
            if mask != NULL:
                delta[j] = delta[j] * m
    return s


cdef inline double squared_error_row(int out_act, const floating* z,
                                     const floating* target, const floating* mask,
                                     floating* delta, Py_ssize_t n,
                                     floating scale) noexcept nogil:
    """sum_j (f(z_j) - t_j)^2 for the output activation f."""
    cdef Py_ssize_t j
    cdef double s = 0
    cdef floating a, d, m
    for j in range(n):
        a = activate(out_act, z[j])
        d = a - target[j]
        m = 1 if mask == NULL else mask[j]
        if mask == NULL:
            s += d * d
        elif m != 0:
            s += m * (d * d)
        if delta != NULL:
            delta[j] = scale * 2 * d * derivative(out_act, a)
            if mask != NULL:
                delta[j] = delta[j] * m
    return s


cdef inline double huber_row(int out_act, const floating* z, const floating* target,
                             const floating* mask, floating* delta, Py_ssize_t n,
                             floating scale, floating c) noexcept nogil:
    """sum_j h(f(z_j) - t_j) with h(d) = d^2 for |d| <= c and c (2|d| - c)
    beyond: squared error on small errors, growing linearly on large ones, so
    that a few gross errors (outliers in the training set) pull on the fit no
    harder than c each. Twice Huber's (1964) loss, to match squared_error."""
    cdef Py_ssize_t j
    cdef double s = 0, term
    cdef floating a, d, m, g
    for j in range(n):
        a = activate(out_act, z[j])
        d = a - target[j]
        m = 1 if mask == NULL else mask[j]
        if fabs(d) <= c:
            term = d * d
            g = 2 * d
        else:
            term = c * (2 * fabs(d) - c)
            g = 2 * c if d > 0 else -2 * c
        if m != 0:
            s += m * term
        if delta != NULL:
            delta[j] = scale * m * g * derivative(out_act, a)
    return s


cdef inline double squared_error_linear(const floating* z, const floating* target,
                                        floating* delta, Py_ssize_t n,
                                        floating scale) noexcept nogil:
    """squared_error_row on a linear output without a mask (the common case),
    without the per-element switch: the deltas in a loop that vectorises, and
    the sum of squares over four interleaved running sums, so that additions do
    not wait on each other. The order is fixed: the same sum on any thread."""
    cdef Py_ssize_t j, m = n - n % 4
    cdef floating d0, d1, d2, d3
    cdef double s0 = 0, s1 = 0, s2 = 0, s3 = 0
    if delta != NULL:
        for j in range(n):
            delta[j] = scale * 2 * (z[j] - target[j])
    for j in range(0, m, 4):
        d0 = z[j] - target[j]
        d1 = z[j + 1] - target[j + 1]
        d2 = z[j + 2] - target[j + 2]
        d3 = z[j + 3] - target[j + 3]
        s0 += d0 * d0
        s1 += d1 * d1
        s2 += d2 * d2
        s3 += d3 * d3
    for j in range(m, n):
        d0 = z[j] - target[j]
        s0 += d0 * d0
    return (s0 + s1) + (s2 + s3)
