# Random numbers for nogil kernels, drawn from a numpy bit generator.
#
# The estimator keeps a numpy PCG64; a kernel receives its bitgen_t (the C struct
# behind BitGenerator.capsule) and draws from it with the GIL released while
# holding the bit generator's lock, so Python-side draws (row order, weights) and
# kernel draws form one reproducible stream that pickles with the estimator.
# Draws are made serially in a fixed order: results do not depend on threads.
#
# Only the few transforms the kernels need are here:
#   bernoulli: a 32-bit uniform against a threshold, probability exactly t / 2^32;
#   normal:    Marsaglia's polar method on pairs of doubles.

from libc.stdint cimport uint32_t, uint64_t
from libc.math cimport log, sqrt


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


cdef inline double normal_pair(bitgen_t* rng, double* second) noexcept nogil:
    """Two independent standard normals (Marsaglia's polar method)."""
    cdef double x, y, r2, f
    while True:
        x = 2 * rng.next_double(rng.state) - 1
        y = 2 * rng.next_double(rng.state) - 1
        r2 = x * x + y * y
        if 0 < r2 < 1:
            break
    f = sqrt(-2 * log(r2) / r2)
    second[0] = y * f
    return x * f
