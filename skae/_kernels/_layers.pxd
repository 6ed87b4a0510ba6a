# A layer's forward and backward passes, by the kind in its row of the layer
# table (COL_KIND): the one place that knows every kind of layer.

from cython cimport floating

from ._dense_layer cimport dense_backward, dense_forward
from ._layer_table cimport COL_KIND, COL_OUT, DENSE, GAUSSIAN_SAMPLE, col
from ._nonzeros cimport Nonzeros
from ._sampling_layer cimport Draws, sample_backward, sample_forward


cdef inline double layer_forward(const floating* params, const Py_ssize_t* layers,
                                 Py_ssize_t l, const floating* inp, const Nonzeros* nz,
                                 floating* out, Py_ssize_t batch, bint apply_activation,
                                 floating* noise, floating* row_extra,
                                 const Draws* draws, int n_threads) noexcept nogil:
    """out = layer l applied to inp (batch rows); returns the layer's own term
    of the minibatch objective (summed over rows; 0 for most kinds) and writes
    its per-row values, unweighted, into row_extra (one such layer a network). noise (batch, n_out) keeps
    a stochastic layer's draws for its backward pass."""
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    cdef double total
    if kind == DENSE:
        dense_forward(params, layers, l, inp, nz, out, batch, apply_activation,
                      n_threads)
        return 0
    # GAUSSIAN_SAMPLE: its KL per row lands in row_extra.
    total = sample_forward(inp, out, noise, row_extra, batch, col(layers, l, COL_OUT),
                           draws, n_threads)
    return draws.beta * total


cdef inline void layer_backward(const floating* params, floating* grad,
                                const Py_ssize_t* layers, Py_ssize_t l,
                                const floating* a_in, const Nonzeros* nz,
                                const floating* d, floating* d_prev,
                                const floating* dh_extra, Py_ssize_t batch,
                                const floating* noise, const Draws* draws,
                                int n_threads) noexcept nogil:
    """Layer l's parameter gradients from its delta d, and the delta d_prev of
    the layer below; see dense_backward and sample_backward."""
    if col(layers, l, COL_KIND) == DENSE:
        dense_backward(params, grad, layers, l, a_in, nz, d, d_prev, dh_extra, batch,
                       n_threads)
    elif d_prev != NULL:
        sample_backward(a_in, noise, d, d_prev, batch, col(layers, l, COL_OUT),
                        draws.beta / batch, n_threads)
