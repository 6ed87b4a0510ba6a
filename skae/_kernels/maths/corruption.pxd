# Input corruption for denoising: each row a corrupted copy of the clean one,
# from a stream seeded by one draw of the estimator's bit generator per row. The
# seeds are drawn serially and the rows corrupted in parallel from their own
# streams, so the result does not depend on the thread count.

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from .random cimport (
    bitgen_t, threshold32, skae_stream, skae_stream_seed, skae_stream_next,
    skae_stream_normal,
)

cdef enum Noise:
    NO_NOISE = 0
    MASKING = 1
    GAUSSIAN = 2
    SALT_AND_PEPPER = 3


cdef struct NoiseConfig:
    int kind            # a Noise code
    double level        # masking, salt and pepper: probability; gaussian: sigma


cdef inline void corrupt_row(int noise, double level, uint64_t seed, const floating* clean,
                      floating* out, Py_ssize_t n, const floating* fill) noexcept nogil:
    """out = a corrupted copy of one row (n values), from the stream of seed.

    masking: each value zeroed with probability level (set to fill[j] instead
    when fill is not NULL: with missing entries, a hidden entry enters the
    network as a missing one does);
    gaussian: plus level * N(0, 1);
    salt_and_pepper: with probability level, set to 0 or 1 with equal odds.
    """
    cdef skae_stream st
    cdef Py_ssize_t j
    cdef uint64_t u, t = threshold32(level)
    cdef uint64_t low32 = (<uint64_t> 1 << 32) - 1
    skae_stream_seed(&st, seed)
    if noise == MASKING and fill != NULL:
        for j in range(0, n - 1, 2):
            u = skae_stream_next(&st)
            out[j] = clean[j] if (u & low32) >= t else fill[j]
            out[j + 1] = clean[j + 1] if (u >> 32) >= t else fill[j + 1]
        if n % 2:
            u = skae_stream_next(&st)
            out[n - 1] = clean[n - 1] if (u & low32) >= t else fill[n - 1]
    elif noise == MASKING:
        # Two 32-bit uniforms per draw; a multiply by 0 or 1, not a branch that
        # random data would mispredict.
        for j in range(0, n - 1, 2):
            u = skae_stream_next(&st)
            out[j] = clean[j] * <floating> ((u & low32) >= t)
            out[j + 1] = clean[j + 1] * <floating> ((u >> 32) >= t)
        if n % 2:
            u = skae_stream_next(&st)
            out[n - 1] = clean[n - 1] * <floating> ((u & low32) >= t)
    elif noise == GAUSSIAN:
        for j in range(n):
            out[j] = clean[j] + <floating> (level * skae_stream_normal(&st))
    elif noise == SALT_AND_PEPPER:
        # Low 32 bits decide whether to corrupt, bit 32 between salt and pepper.
        for j in range(n):
            u = skae_stream_next(&st)
            out[j] = <floating> ((u >> 32) & 1) if (u & low32) < t else clean[j]
    else:
        memcpy(out, clean, n * sizeof(floating))


cdef inline void corrupt(int noise, double level, bitgen_t* rng, uint64_t* seeds,
                  const floating* clean, floating* out, Py_ssize_t n_rows,
                  Py_ssize_t n_cols, const floating* fill, int n_threads) noexcept nogil:
    """out = a corrupted copy of clean (n_rows, n_cols): one seed per row drawn
    serially from rng, then rows corrupted in parallel from their own streams
    (fill: see corrupt_row)."""
    cdef Py_ssize_t i
    for i in range(n_rows):
        seeds[i] = rng.next_uint64(rng.state)
    for i in prange(n_rows, num_threads=n_threads, schedule='static'):
        corrupt_row(noise, level, seeds[i], clean + i * n_cols, out + i * n_cols, n_cols,
                    fill)
