/* Thin products: out (m x n) += A (m x K) B (n x K)^T for small m and n and a
 * long K (see maths/thin.pxd), each entry a dot product of two rows.
 *
 * A convolution's filter gradient is such a product for every row of a
 * minibatch: the layer's delta (C_out x positions) times its im2col matrix
 * (C_in * KH * KW x positions) transposed, 16 x 9 over 784 positions for a
 * first layer on MNIST. A BLAS call packs both operands before it multiplies,
 * which at that shape costs more than the multiplication (perf: OpenBLAS's
 * sgemm_incopy the top line of a convolutional epoch). Here the rows are read
 * in place: blocks of 2 rows of A by 4 rows of B, each of the 8 dot products
 * summed over K in the lanes of one 32-byte vector (eight AVX2 registers in
 * all), then the lanes added in a fixed order. An entry's arithmetic does not depend on the block it
 * falls in (a block's missing rows repeat a present one and are not stored),
 * so neither the blocking nor a split of the rows over threads changes a
 * result.
 *
 * SKAE_MULTIVERSION compiles it for AVX2 and the baseline; with
 * -ffp-contract=off (setup.py) both round alike.
 */
#ifndef SKAE_THIN_H
#define SKAE_THIN_H

#include <stddef.h>

#include "multiversion.h"

#if defined(__GNUC__)
/* GCC's and Clang's vector extensions (as maths/nonzeros.h): one AVX2 register,
 * a pair of SSE2 ones in the baseline clone; aligned() allows unaligned loads,
 * may_alias reads float arrays. Written as plain arrays, the sums were kept in
 * memory across the loop over K. */
typedef float skae_thin_vf __attribute__((vector_size(32), aligned(4), may_alias));
typedef double skae_thin_vd __attribute__((vector_size(32), aligned(8), may_alias));
#define SKAE_THIN_LOAD(V, p) (*(const V *)(p))
#define SKAE_THIN_MULADD(c, x, y) ((c) += (x) * (y))
#define SKAE_THIN_ADD(c, x) ((c) += (x))
#define SKAE_THIN_LANE(vec, j) ((vec)[j])
#else
/* Elsewhere (MSVC) the same lanes as arrays in a struct, the same arithmetic
 * in the same order, so the same results. */
#include <string.h>
typedef struct { float v[8]; } skae_thin_vf;
typedef struct { double v[4]; } skae_thin_vd;
static inline skae_thin_vf skae_thin_vf_load(const float *p)
{ skae_thin_vf r; memcpy(r.v, p, sizeof r.v); return r; }
static inline skae_thin_vd skae_thin_vd_load(const double *p)
{ skae_thin_vd r; memcpy(r.v, p, sizeof r.v); return r; }
#define SKAE_THIN_LOAD(V, p) V##_load(p)
#define SKAE_THIN_LANES_OF(c) ((int)(sizeof (c).v / sizeof (c).v[0]))
#define SKAE_THIN_MULADD(c, x, y)                                              \
    for (int l_ = 0; l_ < SKAE_THIN_LANES_OF(c); l_++)                         \
        (c).v[l_] += (x).v[l_] * (y).v[l_]
#define SKAE_THIN_ADD(c, x)                                                    \
    for (int l_ = 0; l_ < SKAE_THIN_LANES_OF(c); l_++)                         \
        (c).v[l_] += (x).v[l_]
#define SKAE_THIN_LANE(vec, j) ((vec).v[j])
#endif

/* Lane j of a sum holds the terms p = j (mod lanes); the lanes are added in
 * order at the end. */
#define SKAE_THIN_LANE_SUM(T, L, v, out)                                       \
    do {                                                                       \
        T s_ = SKAE_THIN_LANE(v, 0);                                           \
        for (int j_ = 1; j_ < (L); j_++)                                       \
            s_ += SKAE_THIN_LANE(v, j_);                                       \
        (out) = s_;                                                            \
    } while (0)

#define SKAE_THIN_BODY(T, V, L)                                                \
    for (ptrdiff_t r = 0; r < m; r += 2) {                                     \
        const T *a0 = a + r * lda;                                             \
        const T *a1 = r + 1 < m ? a0 + lda : a0;                               \
        for (ptrdiff_t s = 0; s < n; s += 4) {                                 \
            const T *b0 = b + s * ldb;                                         \
            const T *b1 = s + 1 < n ? b0 + ldb : b0;                           \
            const T *b2 = s + 2 < n ? b0 + 2 * ldb : b0;                       \
            const T *b3 = s + 3 < n ? b0 + 3 * ldb : b0;                       \
            V c00 = {0}, c01 = {0}, c02 = {0}, c03 = {0};                      \
            V c10 = {0}, c11 = {0}, c12 = {0}, c13 = {0};                      \
            ptrdiff_t p = 0;                                                   \
            for (; p + (L) <= k; p += (L)) {                                   \
                const V x0 = SKAE_THIN_LOAD(V, a0 + p);                        \
                const V x1 = SKAE_THIN_LOAD(V, a1 + p);                        \
                V y = SKAE_THIN_LOAD(V, b0 + p);                               \
                SKAE_THIN_MULADD(c00, x0, y); SKAE_THIN_MULADD(c10, x1, y);    \
                y = SKAE_THIN_LOAD(V, b1 + p);                                 \
                SKAE_THIN_MULADD(c01, x0, y); SKAE_THIN_MULADD(c11, x1, y);    \
                y = SKAE_THIN_LOAD(V, b2 + p);                                 \
                SKAE_THIN_MULADD(c02, x0, y); SKAE_THIN_MULADD(c12, x1, y);    \
                y = SKAE_THIN_LOAD(V, b3 + p);                                 \
                SKAE_THIN_MULADD(c03, x0, y); SKAE_THIN_MULADD(c13, x1, y);    \
            }                                                                  \
            for (int j = 0; p + j < k; j++) {                                  \
                SKAE_THIN_LANE(c00, j) += a0[p + j] * b0[p + j];               \
                SKAE_THIN_LANE(c01, j) += a0[p + j] * b1[p + j];               \
                SKAE_THIN_LANE(c02, j) += a0[p + j] * b2[p + j];               \
                SKAE_THIN_LANE(c03, j) += a0[p + j] * b3[p + j];               \
                SKAE_THIN_LANE(c10, j) += a1[p + j] * b0[p + j];               \
                SKAE_THIN_LANE(c11, j) += a1[p + j] * b1[p + j];               \
                SKAE_THIN_LANE(c12, j) += a1[p + j] * b2[p + j];               \
                SKAE_THIN_LANE(c13, j) += a1[p + j] * b3[p + j];               \
            }                                                                  \
            V sums[2][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}};       \
            for (int i = 0; i < 2 && r + i < m; i++)                           \
                for (int t = 0; t < 4 && s + t < n; t++) {                     \
                    T total;                                                   \
                    SKAE_THIN_LANE_SUM(T, L, sums[i][t], total);               \
                    out[(r + i) * ldo + s + t] += total;                       \
                }                                                              \
        }                                                                      \
    }

SKAE_MULTIVERSION static void skae_thin_nt_f(
    float *restrict out, ptrdiff_t ldo, const float *restrict a, ptrdiff_t lda,
    const float *restrict b, ptrdiff_t ldb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k)
{
    SKAE_THIN_BODY(float, skae_thin_vf, 8)
}

SKAE_MULTIVERSION static void skae_thin_nt_d(
    double *restrict out, ptrdiff_t ldo, const double *restrict a, ptrdiff_t lda,
    const double *restrict b, ptrdiff_t ldb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k)
{
    SKAE_THIN_BODY(double, skae_thin_vd, 4)
}

/* The sum of x[0:n] in the lanes of a vector, added in a fixed order: a
 * convolution's bias gradient sums its delta over each channel's positions,
 * which a scalar loop (no -ffast-math, so no reordered sum) does one add at a
 * time. */
#define SKAE_RUN_SUM_BODY(T, V, L)                                             \
    V acc = {0};                                                               \
    ptrdiff_t p = 0;                                                           \
    for (; p + (L) <= n; p += (L))                                             \
        SKAE_THIN_ADD(acc, SKAE_THIN_LOAD(V, x + p));                          \
    for (int j = 0; p + j < n; j++)                                            \
        SKAE_THIN_LANE(acc, j) += x[p + j];                                    \
    T total;                                                                   \
    SKAE_THIN_LANE_SUM(T, L, acc, total);                                      \
    return total;

SKAE_MULTIVERSION static float skae_run_sum_f(const float *restrict x, ptrdiff_t n)
{
    SKAE_RUN_SUM_BODY(float, skae_thin_vf, 8)
}

SKAE_MULTIVERSION static double skae_run_sum_d(const double *restrict x, ptrdiff_t n)
{
    SKAE_RUN_SUM_BODY(double, skae_thin_vd, 4)
}

#endif
