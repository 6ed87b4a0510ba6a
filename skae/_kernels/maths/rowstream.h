/* Per-row random streams for corrupting minibatches in parallel.
 *
 * The estimator's numpy bit generator stays the only source of randomness: for
 * each minibatch the kernel draws one 64-bit seed per row from it, serially.
 * Each row is then corrupted from its own stream, seeded by that value, so rows
 * can be processed in parallel and a row's noise depends only on its seed,
 * whatever the number of threads. The stream is xoshiro256** (Blackman and
 * Vigna, 2018), seeded through SplitMix64 as its authors recommend: a 64-bit
 * generator with 256 bits of state that passes BigCrush, inlined here because
 * an indirect call per draw (bitgen_t) dominated the cost of masking noise.
 *
 * Normal deviates use the ziggurat method of Marsaglia and Tsang (2000) with
 * 256 layers and 52-bit magnitudes (the layout numpy uses); its tables are
 * built once by skae_ziggurat_init().
 */
#ifndef SKAE_ROWSTREAM_H
#define SKAE_ROWSTREAM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "multiversion.h"

typedef struct { uint64_t s[4]; } skae_stream;

static inline uint64_t skae_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t skae_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void skae_stream_seed(skae_stream *st, uint64_t seed)
{
    for (int i = 0; i < 4; i++) st->s[i] = skae_splitmix64(&seed);
}

static inline uint64_t skae_stream_next(skae_stream *st)
{
    uint64_t *s = st->s;
    uint64_t result = skae_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = skae_rotl(s[3], 45);
    return result;
}

/* Uniform on [0, 1) with 53 random bits. */
static inline double skae_stream_double(skae_stream *st)
{
    return (skae_stream_next(st) >> 11) * (1.0 / 9007199254740992.0);
}

/* Bernoulli samples in place: x[j] <- 1 with probability x[j] (to within
 * 2^-32), else 0, x[j] in [0, 1]. Each 64-bit draw gives two 32-bit uniforms,
 * its low half for the even unit of a pair and its high half for the odd one,
 * and an odd count uses the low half of one last draw.
 *
 * The draws (a serial chain through the generator's state) are made first,
 * 64 uniforms at a time; the comparisons are then a loop that vectorises. Both
 * sides of u < p 2^32 are exact in double: u as (u - 2^31) + 2^31, the first a
 * signed 32-bit integer (converted in one vector instruction, unlike an unsigned
 * one), and p 2^32 a power-of-two scaling.
 */
#define SKAE_BERNOULLI_BODY(T)                                                 \
    uint32_t u[64];                                                            \
    for (ptrdiff_t j0 = 0; j0 < n; j0 += 64) {                                 \
        ptrdiff_t m = n - j0 < 64 ? n - j0 : 64;                               \
        for (ptrdiff_t k = 0; k < m; k += 2) {                                 \
            uint64_t r = skae_stream_next(st);                                 \
            u[k] = (uint32_t) r;                                               \
            u[k + 1] = (uint32_t) (r >> 32);                                   \
        }                                                                      \
        for (ptrdiff_t k = 0; k < m; k++) {                                    \
            double uk = (double) (int32_t) (u[k] ^ 0x80000000u) + 2147483648.0;  \
            x[j0 + k] = uk < (double) x[j0 + k] * 4294967296.0 ? (T) 1 : (T) 0; \
        }                                                                      \
    }

/* Only the RBM kernel samples Bernoulli units; other includers leave these
 * unused, which is not worth a warning. */
#if defined(__GNUC__)
#define SKAE_UNUSED __attribute__((unused))
#else
#define SKAE_UNUSED
#endif

SKAE_UNUSED SKAE_MULTIVERSION static void skae_bernoulli_f(float *restrict x, ptrdiff_t n,
                                               skae_stream *restrict st)
{
    SKAE_BERNOULLI_BODY(float)
}

SKAE_UNUSED SKAE_MULTIVERSION static void skae_bernoulli_d(double *restrict x, ptrdiff_t n,
                                               skae_stream *restrict st)
{
    SKAE_BERNOULLI_BODY(double)
}

/* Ziggurat tables: layer i spans [x_(i+1), x_i]; k = acceptance bounds on the
 * 52-bit magnitude, w = its scale to x, f = exp(-x^2/2) at the layer edges. */
#define SKAE_ZIG_R 3.6541528853610088
#define SKAE_ZIG_V 0.00492867323399
static uint64_t skae_zig_k[256];
static double skae_zig_w[256];
static double skae_zig_f[256];

static void skae_ziggurat_init(void)
{
    const double m = 4503599627370496.0; /* 2^52 */
    double dn = SKAE_ZIG_R, tn = dn, q = SKAE_ZIG_V / exp(-0.5 * dn * dn);
    skae_zig_k[0] = (uint64_t)((dn / q) * m);
    skae_zig_k[1] = 0;
    skae_zig_w[0] = q / m;
    skae_zig_w[255] = dn / m;
    skae_zig_f[0] = 1.0;
    skae_zig_f[255] = exp(-0.5 * dn * dn);
    for (int i = 254; i >= 1; i--) {
        dn = sqrt(-2.0 * log(SKAE_ZIG_V / dn + exp(-0.5 * dn * dn)));
        skae_zig_k[i + 1] = (uint64_t)((dn / tn) * m);
        tn = dn;
        skae_zig_f[i] = exp(-0.5 * dn * dn);
        skae_zig_w[i] = dn / m;
    }
}

/* A standard normal deviate: one 64-bit draw about 99% of the time. */
static inline double skae_stream_normal(skae_stream *st)
{
    for (;;) {
        uint64_t r = skae_stream_next(st);
        int idx = (int)(r & 0xff);
        r >>= 8;
        int negative = (int)(r & 1);
        uint64_t rabs = (r >> 1) & 0x000fffffffffffffULL;
        /* rabs < 2^52: the signed conversion is exact and one instruction on
         * x86-64, where unsigned 64-bit to double takes several. */
        double x = (double)(int64_t)rabs * skae_zig_w[idx];
        if (negative) x = -x;
        if (rabs < skae_zig_k[idx]) return x;       /* inside the layer's box */
        if (idx == 0) {                              /* the tail beyond R */
            for (;;) {
                double xx = -log1p(-skae_stream_double(st)) / SKAE_ZIG_R;
                double yy = -log1p(-skae_stream_double(st));
                if (yy + yy > xx * xx)
                    return negative ? -(SKAE_ZIG_R + xx) : SKAE_ZIG_R + xx;
            }
        }
        /* the wedge between the box and the density */
        if ((skae_zig_f[idx - 1] - skae_zig_f[idx]) * skae_stream_double(st)
                + skae_zig_f[idx] < exp(-0.5 * x * x))
            return x;
    }
}

#endif
