# Random numbers for nogil kernels, drawn from a numpy bit generator.
#
# The estimator keeps a numpy PCG64; a kernel receives its bitgen_t (the C struct
# behind BitGenerator.capsule) and draws from it with the GIL released while
# holding the bit generator's lock, so Python-side draws (row order, weights) and
# kernel draws form one reproducible stream that pickles with the estimator.
# Draws from it are made serially in a fixed order. Bulk noise comes from per-row
# streams seeded from it (maths/rowstream.h), so that rows can be corrupted in
# parallel with results that do not depend on the thread count.
#
# Transforms:
#   bernoulli: a 32-bit uniform against a threshold, probability exactly t / 2^32;
#   normal:    the ziggurat (maths/rowstream.h).

from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport uint32_t, uint64_t


cdef extern from "numpy/random/bitgen.h":
    struct bitgen:
        void* state
        uint64_t (*next_uint64)(void* st) nogil
        uint32_t (*next_uint32)(void* st) nogil
        double (*next_double)(void* st) nogil
        uint64_t (*next_raw)(void* st) nogil

    ctypedef bitgen bitgen_t


cdef inline uint64_t threshold32(double p) noexcept nogil:
    """t such that a uniform 32-bit integer u has P(u < t) = t / 2^32 ~= p."""
    if p <= 0:
        return 0
    if p >= 1:
        return (<uint64_t> 1) << 32
    return <uint64_t> (p * 4294967296.0 + 0.5)


cdef extern from "maths/rowstream.h" nogil:
    ctypedef struct skae_stream:
        pass
    void skae_stream_seed(skae_stream* st, uint64_t seed)
    uint64_t skae_stream_next(skae_stream* st)
    double skae_stream_double(skae_stream* st)
    double skae_stream_normal(skae_stream* st)
    void skae_bernoulli_f(float* x, Py_ssize_t n, skae_stream* st)
    void skae_bernoulli_d(double* x, Py_ssize_t n, skae_stream* st)
    void skae_ziggurat_init()


cdef inline bitgen_t* bitgen_of(object bit_generator):
    """The bitgen_t behind a numpy BitGenerator (use under its lock)."""
    return <bitgen_t*> PyCapsule_GetPointer(bit_generator.capsule, "BitGenerator")
