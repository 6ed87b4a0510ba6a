# The registry of layer kinds: what each kind of layer owns, by the kind in its
# row of the layer table (COL_KIND). Each kind lives in its own file and
# provides the same five functions; this file is the one place that maps a
# kind code to them, one line per kind in each function.
#
#   <kind>_check(layers, l, n_params)   its row is valid: geometry, parameters
#                                       inside the parameter vector, codes
#   <kind>_scratch(layers, l)           scratch it keeps per row of a batch
#   <kind>_weights_end(layers, l)       end of its weights in params (0: none);
#                                       the L2 penalty covers params[:max end]
#   <kind>_forward(...)                 its output from its input
#   <kind>_backward(...)                its parameter gradients and the delta
#                                       of the layer below (it may reuse its
#                                       scratch: the batch's forward is done)
#
# A kind that runs over time steps also reads each row's length (the steps
# before the data's padding; layers/recurrent.pxd), which the pass gives every
# layer (NULL: every row is whole) and reads_lengths says who needs.
#
# Parameter counts, initialisation, output shapes and the export description
# live in the kind's Python descriptor (skae/_core/layers.py).

from cython cimport floating

from .convolution cimport (
    conv_backward, conv_check, conv_forward, conv_scratch, conv_weights_end,
)
from .dense cimport (
    dense_backward, dense_check, dense_forward, dense_scratch, dense_weights_end,
)
from .feedback cimport (
    feedback_backward, feedback_check, feedback_forward, feedback_scratch,
    feedback_weights_end,
)
from .gru cimport gru_backward, gru_check, gru_forward, gru_scratch, gru_weights_end
from .lstm cimport (
    lstm_backward, lstm_check, lstm_forward, lstm_scratch, lstm_weights_end,
)
from .repeat cimport (
    repeat_backward, repeat_check, repeat_forward, repeat_scratch, repeat_weights_end,
)
from .reverse cimport (
    reverse_backward, reverse_check, reverse_forward, reverse_scratch, reverse_weights_end,
)
from .pooling cimport (
    POOL_AVERAGE, POOL_MAX, pool_backward, pool_check, pool_forward, pool_scratch,
    pool_weights_end,
)
from .sampling cimport (
    Draws, sample_backward, sample_check, sample_forward, sample_scratch,
    sample_weights_end,
)
from .table cimport (
    AVERAGE_POOL, BIDIRECTIONAL_GRU, BIDIRECTIONAL_LSTM, COL_KIND, COL_OUT, CONVOLUTION,
    DENSE, FEEDBACK, GAUSSIAN_SAMPLE, GRU, LSTM, MAX_POOL, REPEAT, REVERSE, TRANSPOSED_CONVOLUTION,
    UPSAMPLE, col,
)
from .transposed cimport (
    transposed_backward, transposed_check, transposed_forward, transposed_scratch,
    transposed_weights_end,
)
from .upsampling cimport (
    upsample_backward, upsample_check, upsample_forward, upsample_scratch,
    upsample_weights_end,
)
from ..maths.nonzeros cimport Nonzeros


cdef inline Py_ssize_t directions(Py_ssize_t kind) noexcept nogil:
    """A recurrent kind's directions: 2 for the bidirectional ones."""
    return 2 if kind == BIDIRECTIONAL_GRU or kind == BIDIRECTIONAL_LSTM else 1


cdef inline int layer_check(const Py_ssize_t[:, ::1] layers, Py_ssize_t l,
                            Py_ssize_t n_params) except -1:
    cdef Py_ssize_t kind = layers[l, COL_KIND]
    if kind == DENSE:
        return dense_check(layers, l, n_params)
    if kind == GAUSSIAN_SAMPLE:
        return sample_check(layers, l, n_params)
    if kind == CONVOLUTION:
        return conv_check(layers, l, n_params)
    if kind == TRANSPOSED_CONVOLUTION:
        return transposed_check(layers, l, n_params)
    if kind == MAX_POOL or kind == AVERAGE_POOL:
        return pool_check(layers, l, n_params)
    if kind == UPSAMPLE:
        return upsample_check(layers, l, n_params)
    if kind == GRU or kind == BIDIRECTIONAL_GRU:
        return gru_check(layers, l, n_params, directions(kind))
    if kind == REPEAT:
        return repeat_check(layers, l, n_params)
    if kind == LSTM or kind == BIDIRECTIONAL_LSTM:
        return lstm_check(layers, l, n_params, directions(kind))
    if kind == REVERSE:
        return reverse_check(layers, l, n_params)
    if kind == FEEDBACK:
        return feedback_check(layers, l, n_params)
    raise ValueError(f"kernel: layer {l} has an unknown kind code {kind}.")


cdef inline Py_ssize_t layer_scratch(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    if kind == DENSE:
        return dense_scratch(layers, l)
    if kind == GAUSSIAN_SAMPLE:
        return sample_scratch(layers, l)
    if kind == CONVOLUTION:
        return conv_scratch(layers, l)
    if kind == TRANSPOSED_CONVOLUTION:
        return transposed_scratch(layers, l)
    if kind == MAX_POOL or kind == AVERAGE_POOL:
        return pool_scratch(layers, l)
    if kind == GRU or kind == BIDIRECTIONAL_GRU:
        return gru_scratch(layers, l, directions(kind))
    if kind == REPEAT:
        return repeat_scratch(layers, l)
    if kind == LSTM or kind == BIDIRECTIONAL_LSTM:
        return lstm_scratch(layers, l, directions(kind))
    if kind == REVERSE:
        return reverse_scratch(layers, l)
    if kind == FEEDBACK:
        return feedback_scratch(layers, l)
    return upsample_scratch(layers, l)


cdef inline Py_ssize_t layer_weights_end(const Py_ssize_t* layers,
                                         Py_ssize_t l) noexcept nogil:
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    if kind == DENSE:
        return dense_weights_end(layers, l)
    if kind == GAUSSIAN_SAMPLE:
        return sample_weights_end(layers, l)
    if kind == CONVOLUTION:
        return conv_weights_end(layers, l)
    if kind == TRANSPOSED_CONVOLUTION:
        return transposed_weights_end(layers, l)
    if kind == MAX_POOL or kind == AVERAGE_POOL:
        return pool_weights_end(layers, l)
    if kind == GRU or kind == BIDIRECTIONAL_GRU:
        return gru_weights_end(layers, l, directions(kind))
    if kind == REPEAT:
        return repeat_weights_end(layers, l)
    if kind == LSTM or kind == BIDIRECTIONAL_LSTM:
        return lstm_weights_end(layers, l, directions(kind))
    if kind == REVERSE:
        return reverse_weights_end(layers, l)
    if kind == FEEDBACK:
        return feedback_weights_end(layers, l)
    return upsample_weights_end(layers, l)


cdef inline bint reads_lengths(const Py_ssize_t* layers, Py_ssize_t l) noexcept nogil:
    """Whether layer l reads the rows' lengths."""
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    return (kind == GRU or kind == LSTM or kind == BIDIRECTIONAL_GRU
            or kind == BIDIRECTIONAL_LSTM or kind == REVERSE or kind == FEEDBACK)


cdef inline double layer_forward(const floating* params, const Py_ssize_t* layers,
                                 Py_ssize_t l, const floating* inp, const Nonzeros* nz,
                                 floating* out, Py_ssize_t batch, bint apply_activation,
                                 floating* scratch, floating* row_extra,
                                 const Draws* draws, const floating* lengths,
                                 const floating* teacher, int n_threads) noexcept nogil:
    """out = layer l applied to inp (batch rows); returns the layer's own term
    of the minibatch objective (summed over rows; 0 for most kinds) and writes
    its per-row values, unweighted, into row_extra (one such layer a network).
    scratch (batch * layer_scratch) keeps what its backward pass needs;
    lengths (or NULL) each row's time steps; teacher (or NULL) the pass's
    input rows, which a feedback layer feeds its decoder."""
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    if kind == DENSE:
        dense_forward(params, layers, l, inp, nz, out, batch, apply_activation,
                      n_threads)
    elif kind == GAUSSIAN_SAMPLE:
        return draws.beta * sample_forward(inp, out, scratch, row_extra, batch,
                                           col(layers, l, COL_OUT), draws, n_threads)
    elif kind == CONVOLUTION:
        conv_forward(params, layers, l, inp, out, batch, apply_activation, scratch,
                     n_threads)
    elif kind == TRANSPOSED_CONVOLUTION:
        transposed_forward(params, layers, l, inp, out, batch, apply_activation,
                           scratch, n_threads)
    elif kind == MAX_POOL:
        pool_forward(POOL_MAX, layers, l, inp, out, batch, scratch, n_threads)
    elif kind == AVERAGE_POOL:
        pool_forward(POOL_AVERAGE, layers, l, inp, out, batch, scratch, n_threads)
    elif kind == GRU or kind == BIDIRECTIONAL_GRU:
        gru_forward(params, layers, l, inp, out, batch, lengths, scratch, directions(kind),
                    n_threads)
    elif kind == REPEAT:
        repeat_forward(layers, l, inp, out, batch, n_threads)
    elif kind == LSTM or kind == BIDIRECTIONAL_LSTM:
        lstm_forward(params, layers, l, inp, out, batch, lengths, scratch,
                     directions(kind), n_threads)
    elif kind == REVERSE:
        reverse_forward(layers, l, inp, out, batch, lengths, n_threads)
    elif kind == FEEDBACK:
        feedback_forward(params, layers, l, inp, out, batch, teacher, lengths, scratch,
                         draws, n_threads)
    else:
        upsample_forward(layers, l, inp, out, batch, n_threads)
    return 0


cdef inline void layer_backward(const floating* params, floating* grad,
                                const Py_ssize_t* layers, Py_ssize_t l,
                                const floating* a_in, const Nonzeros* nz,
                                const floating* d, floating* d_prev,
                                const floating* dh_extra, Py_ssize_t batch,
                                floating* scratch, const Draws* draws,
                                const floating* lengths, int n_threads) noexcept nogil:
    """Layer l's parameter gradients from its delta d, and the delta d_prev of
    the layer below (NULL: not wanted), times the derivative of the activation
    below; see each kind's backward."""
    cdef Py_ssize_t kind = col(layers, l, COL_KIND)
    if kind == DENSE:
        dense_backward(params, grad, layers, l, a_in, nz, d, d_prev, dh_extra, batch,
                       n_threads)
    elif kind == GAUSSIAN_SAMPLE:
        if d_prev != NULL:
            sample_backward(a_in, scratch, d, d_prev, batch, col(layers, l, COL_OUT),
                            draws.beta / batch, n_threads)
    elif kind == CONVOLUTION:
        conv_backward(params, grad, layers, l, a_in, d, d_prev, dh_extra, batch, scratch,
                      n_threads)
    elif kind == TRANSPOSED_CONVOLUTION:
        transposed_backward(params, grad, layers, l, a_in, d, d_prev, dh_extra, batch,
                            scratch, n_threads)
    elif kind == MAX_POOL:
        pool_backward(POOL_MAX, layers, l, a_in, d, d_prev, dh_extra, batch, scratch,
                      n_threads)
    elif kind == AVERAGE_POOL:
        pool_backward(POOL_AVERAGE, layers, l, a_in, d, d_prev, dh_extra, batch, scratch,
                      n_threads)
    elif kind == GRU or kind == BIDIRECTIONAL_GRU:
        gru_backward(params, grad, layers, l, a_in, d, d_prev, dh_extra, batch, lengths,
                     scratch, directions(kind), n_threads)
    elif kind == REPEAT:
        repeat_backward(layers, l, a_in, d, d_prev, dh_extra, batch, n_threads)
    elif kind == LSTM or kind == BIDIRECTIONAL_LSTM:
        lstm_backward(params, grad, layers, l, a_in, d, d_prev, dh_extra, batch, lengths,
                      scratch, directions(kind), n_threads)
    elif kind == REVERSE:
        reverse_backward(layers, l, a_in, d, d_prev, dh_extra, batch, lengths, n_threads)
    elif kind == FEEDBACK:
        feedback_backward(layers, l, a_in, d, d_prev, dh_extra, batch, n_threads)
    else:
        upsample_backward(layers, l, a_in, d, d_prev, dh_extra, batch, n_threads)
