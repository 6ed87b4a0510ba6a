# The layer table: one row per layer, which the Python layer builds and every
# kernel reads. Row l holds the columns below (LAYER_COLUMNS in _network.pyx
# names them for Python); weights and biases live in one flat parameter vector
# at the offsets the row gives.

cdef enum:
    COL_IN = 0      # input width
    COL_OUT = 1     # output width
    COL_W = 2       # offset of the weights in params
    COL_B = 3       # offset of the biases in params
    COL_TRANS = 4   # 1: the transpose of the matrix at COL_W (a tied decoder layer)
    COL_ACT = 5     # activation code (_activations.pxd)
    COL_KIND = 6    # what the layer computes (LayerKind): its forward and backward
    N_COLS = 7

# A new kind of layer (a convolution, say) is a new file beside _dense_layer.pxd
# and one branch in _layers.pxd.
cdef enum LayerKind:
    DENSE = 0
    GAUSSIAN_SAMPLE = 1     # no parameters: [mu | log sigma^2] (2k) -> z (k)

# The deepest network the fixed-size buffer tables of a pass can describe.
cdef enum:
    MAX_LAYERS = 64


cdef inline Py_ssize_t col(const Py_ssize_t* layers, Py_ssize_t l, int c) noexcept nogil:
    return layers[l * N_COLS + c]
