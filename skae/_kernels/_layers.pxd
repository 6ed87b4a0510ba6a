# A layer's forward and backward passes, by the kind in its row of the layer
# table (COL_KIND): the one place that knows every kind of layer.

from cython cimport floating

from ._dense_layer cimport dense_backward, dense_forward
from ._layer_table cimport COL_KIND, DENSE, col
from ._nonzeros cimport Nonzeros


cdef inline void layer_forward(const floating* params, const Py_ssize_t* layers,
                               Py_ssize_t l, const floating* inp, const Nonzeros* nz,
                               floating* out, Py_ssize_t batch, bint apply_activation,
                               int n_threads) noexcept nogil:
    """out = layer l applied to inp (batch rows); see dense_forward."""
    if col(layers, l, COL_KIND) == DENSE:
        dense_forward(params, layers, l, inp, nz, out, batch, apply_activation,
                      n_threads)


cdef inline void layer_backward(const floating* params, floating* grad,
                                const Py_ssize_t* layers, Py_ssize_t l,
                                const floating* a_in, const Nonzeros* nz,
                                const floating* d, floating* d_prev,
                                const floating* dh_extra, Py_ssize_t batch,
                                int n_threads) noexcept nogil:
    """Layer l's parameter gradients from its delta d, and the delta d_prev of
    the layer below; see dense_backward."""
    if col(layers, l, COL_KIND) == DENSE:
        dense_backward(params, grad, layers, l, a_in, nz, d, d_prev, dh_extra, batch,
                       n_threads)
