# Running layers one time step at a time, for a decoder that reads its own
# previous output (layers/feedback.pxd): the layer-by-layer pass cannot, as
# step t's input needs step t - 1's output of the layers above.
#
# A kind that can step provides
#   <kind>_step_scratch(layers, l)   what a row keeps between steps
#   <kind>_step(...)                 one step for a block of rows: row r's
#                                    input at u + r ldu, its work at work + r ld
#                                    (zeroed before step 0); returns where row
#                                    r's output lies (+ r ld)
# and this file maps a kind code to them: one-direction recurrent layers over
# whole series, pointwise convolutions (a 1 x 1 window) and the reverse layer,
# which a decoder stepping through its own time leaves as it is (step k of a
# reversed decoder rebuilds the row's step L - 1 - k; its input was the output
# of step k - 1 whatever the order).

from cython cimport floating

from .convolution cimport conv_pointwise, conv_step, conv_step_scratch
from .gru cimport gru_step, gru_step_scratch
from .lstm cimport lstm_step, lstm_step_scratch
from .table cimport COL_IN_W, COL_KIND, COL_OUT_W, CONVOLUTION, GRU, LSTM, REVERSE, col


cdef inline bint layer_steps(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    """Whether layer l can run a step at a time."""
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    if kind == GRU or kind == LSTM:
        return col(layers, l, COL_OUT_W) == col(layers, l, COL_IN_W)
    if kind == CONVOLUTION:
        return conv_pointwise(layers, l)
    return kind == REVERSE


cdef inline Py_ssize_t layer_step_scratch(const Py_ssize_t* layers,
                                          Py_ssize_t l) noexcept nogil:
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    if kind == GRU:
        return gru_step_scratch(layers, l)
    if kind == LSTM:
        return lstm_step_scratch(layers, l)
    if kind == CONVOLUTION:
        return conv_step_scratch(layers, l)
    return 0


cdef inline const floating* layer_step(const floating* params, const Py_ssize_t* layers,
                                       Py_ssize_t l, const floating* u, Py_ssize_t ldu,
                                       Py_ssize_t rows, floating* work, Py_ssize_t ld,
                                       Py_ssize_t k, const floating* lengths,
                                       Py_ssize_t i0, Py_ssize_t* ld_out) noexcept nogil:
    """Step k of layer l for rows i0 .. i0 + rows (layer_steps(l) must hold);
    ld_out receives how far apart the output's rows lie."""
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    ld_out[0] = ldu if kind == REVERSE else ld
    if kind == GRU:
        return gru_step(params, layers, l, u, ldu, rows, work, ld, k, lengths, i0)
    if kind == LSTM:
        return lstm_step(params, layers, l, u, ldu, rows, work, ld, k, lengths, i0)
    if kind == CONVOLUTION:
        return conv_step(params, layers, l, u, ldu, rows, work, ld)
    return u
