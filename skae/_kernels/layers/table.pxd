# The layer table: one row per layer, which the Python layer builds from its
# per-kind descriptors (skae/_core/layers.py) and every kernel reads. Row l holds the
# columns below (LAYER_COLUMNS in _network.pyx names them for Python); a
# layer's parameters live in one flat parameter vector at the offsets the row
# gives.
#
# Every layer maps a row of n_in values, laid out as (channels, height, width)
# channel-major, to a row of n_out values laid out the same way: a dense
# layer's are (n, 1, 1), a series' (channels, 1, length), an image's
# (channels, height, width). The window columns describe a sliding window
# (convolution, pooling) per axis; kinds without one leave them 0.

cdef enum:
    COL_IN = 0      # input width: IN_C * IN_H * IN_W
    COL_OUT = 1     # output width: OUT_C * OUT_H * OUT_W
    COL_W = 2       # offset of the weights in params
    COL_B = 3       # offset of the biases in params
    COL_TRANS = 4   # 1: the transpose of the matrix at COL_W (a tied decoder layer)
    COL_ACT = 5     # activation code (maths/activations.pxd)
    COL_KIND = 6    # what the layer computes (LayerKind): its forward and backward
    COL_IN_C = 7    # the input's geometry
    COL_IN_H = 8
    COL_IN_W = 9
    COL_OUT_C = 10  # the output's geometry
    COL_OUT_H = 11
    COL_OUT_W = 12
    COL_KH = 13     # a sliding window's kernel, stride, padding and dilation
    COL_KW = 14
    COL_SH = 15
    COL_SW = 16
    COL_PH = 17
    COL_PW = 18
    COL_DH = 19
    COL_DW = 20
    N_COLS = 21

# The kinds of layer. A new kind is its own file beside layers/dense.pxd, a code
# here, and one line in each function of layers/registry.pxd (the registry).
cdef enum LayerKind:
    DENSE = 0
    GAUSSIAN_SAMPLE = 1     # no parameters: [mu | log sigma^2] (2k) -> z (k)
    CONVOLUTION = 2         # layers/convolution.pxd
    TRANSPOSED_CONVOLUTION = 3  # layers/transposed.pxd
    MAX_POOL = 4            # layers/pooling.pxd
    AVERAGE_POOL = 5
    UPSAMPLE = 6            # layers/upsampling.pxd
    GRU = 7                 # layers/gru.pxd (layers/recurrent.pxd: the time loop)
    REPEAT = 8              # layers/repeat.pxd
    LSTM = 9                # layers/lstm.pxd
    BIDIRECTIONAL_GRU = 10  # the same, reading the row both ways (recurrent.pxd)
    BIDIRECTIONAL_LSTM = 11
    REVERSE = 12            # layers/reverse.pxd
    FEEDBACK = 13           # layers/feedback.pxd (layers/stepping.pxd: its decoder)

# The deepest network the fixed-size buffer tables of a pass can describe.
cdef enum:
    MAX_LAYERS = 64


cdef inline Py_ssize_t col(const Py_ssize_t* layers, Py_ssize_t l, int c) noexcept nogil:
    return layers[l * N_COLS + c]
