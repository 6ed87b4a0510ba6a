/* Products with a minibatch that is mostly zeros (see _nonzeros.pxd).
 *
 * Both products of the first layer with its input, the forward Z = X W and the
 * weight gradient X^T D, reduce to one operation once the zeros of X are
 * skipped: each output row is a weighted sum of a few rows of a row-major
 * matrix M (W's rows at a row's nonzero columns, or D's rows at a column's
 * nonzero rows). skae_sparse_times_* computes it by tiles of 64 floats or 32
 * doubles (eight AVX2 registers), which hold the sums across all of an output
 * row's terms, so that a term costs one load of M per vector and no store.
 * M's tile is first copied, 96 rows at a time, into a contiguous panel that
 * fits the L1 cache: read in place, rows 1 KB apart (a 256-wide layer) fall
 * into a few cache sets and evict each other, which made the products twice
 * as slow. (Unless M has many rows for few terms, see SKAE_PANEL_CHOICE.) The
 * terms are added in increasing k for every column, whatever the
 * tile or panel, so the result does not depend on the tiling.
 *
 * Compiled for AVX2 and the baseline (SKAE_MULTIVERSION), and, where GCC
 * targets x86-64 Linux, a third time for AVX-512 with tiles twice as wide
 * (SKAE_AVX512_PATH), which the other two call on CPUs that have it. setup.py
 * compiles with -ffp-contract=off, so that no multiply-add is contracted even
 * where the target has FMA: all three round alike.
 */
#ifndef SKAE_NONZEROS_H
#define SKAE_NONZEROS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "multiversion.h"

/* Each thread's scratch for a panel of M: 24 KB, 96 rows of a tile of 256 bytes
 * (a float tile of eight AVX2 vectors), which stays in a 32 KB L1 cache while
 * every output row reads it. Tiles of B bytes take 24 KB / B rows at a time. */
#define SKAE_PANEL_BYTES (96 * 256)
#define SKAE_PANEL_SIZE (SKAE_PANEL_BYTES / 4)

/* The positions and values of x's nonzeros, into idx and val (each with room
 * for n + 1); returns how many. Eight values at a time: a run of eight zeros
 * (most of an image's background) costs one test of their bits, sign bits
 * masked off so that -0 counts as zero; any other run is listed without
 * branches, each slot written and the cursor advanced only past a nonzero, so
 * that scattered zeros cost no mispredictions. */
#define SKAE_NONZEROS_BODY(U, N_WORDS, MASK)                                   \
    ptrdiff_t k = 0, j = 0;                                                    \
    for (; j + 8 <= n; j += 8) {                                               \
        U any = 0;                                                             \
        for (int t = 0; t < (N_WORDS); t++) {                                  \
            U w;                                                               \
            memcpy(&w, (const char *)(x + j) + t * sizeof w, sizeof w);        \
            any |= w;                                                          \
        }                                                                      \
        if (!(any & (MASK)))                                                   \
            continue;                                                          \
        for (int t = 0; t < 8; t++) {                                          \
            idx[k] = (int)(j + t);                                             \
            val[k] = x[j + t];                                                 \
            k += x[j + t] != 0;                                                \
        }                                                                      \
    }                                                                          \
    for (; j < n; j++) {                                                       \
        idx[k] = (int)j;                                                       \
        val[k] = x[j];                                                         \
        k += x[j] != 0;                                                        \
    }                                                                          \
    return k;

static ptrdiff_t skae_nonzeros_f(const float *restrict x, ptrdiff_t n,
                                 int *restrict idx, float *restrict val)
{
    /* Eight floats are four 64-bit words of two floats each. */
    SKAE_NONZEROS_BODY(uint64_t, 4, 0x7fffffff7fffffffULL)
}

static ptrdiff_t skae_nonzeros_d(const double *restrict x, ptrdiff_t n,
                                 int *restrict idx, double *restrict val)
{
    SKAE_NONZEROS_BODY(uint64_t, 8, 0x7fffffffffffffffULL)
}

/* Each function below computes, for each of n_out rows i,
 *     out[i * ldo + 0:n] += sum over k from start[i] to end[i] - 1 of
 *                           val[k] * M[idx[k] * ldm + 0:n],
 * tile of columns by tile of columns, each tile for every row before the next:
 * the columns of M that a tile reads then stay in cache across the rows. */

/* One column at a time: the tail after the vector tiles, and everything for
 * compilers without vector extensions. */
#define SKAE_SPARSE_SCALAR(T)                                                  \
    for (; j0 < n; j0++)                                                       \
        for (ptrdiff_t i = 0; i < n_out; i++) {                                \
            T acc = out[i * ldo + j0];                                         \
            for (ptrdiff_t k = start[i]; k < end[i]; k++)                      \
                acc += val[k] * M[(ptrdiff_t)idx[k] * ldm + j0];               \
            out[i * ldo + j0] = acc;                                           \
        }

#if defined(__GNUC__)
/* GCC's and Clang's vector extensions: 32-byte vectors, lowered to pairs of
 * SSE2 registers in the baseline clone. aligned() allows unaligned loads and
 * may_alias lets them read float arrays. Left to itself, GCC does not keep a
 * tile's sums in registers across the sum over k. */
typedef float skae_v8f __attribute__((vector_size(32), aligned(4), may_alias));
typedef double skae_v4d __attribute__((vector_size(32), aligned(8), may_alias));

/* Tiles of 8 vectors (64 floats, 32 doubles): eight independent chains of
 * additions hide the adder's latency, and with the broadcast value they fill
 * nine of AVX2's sixteen registers. Then tiles of one vector. */
#define SKAE_LOAD8(V, p, L)                                                    \
    a0 = *(const V *)(p); a1 = *(const V *)((p) + (L));                        \
    a2 = *(const V *)((p) + 2 * (L)); a3 = *(const V *)((p) + 3 * (L));        \
    a4 = *(const V *)((p) + 4 * (L)); a5 = *(const V *)((p) + 5 * (L));        \
    a6 = *(const V *)((p) + 6 * (L)); a7 = *(const V *)((p) + 7 * (L));

#define SKAE_SPARSE_VECTOR(T, V, L)                                            \
    const ptrdiff_t panel_rows_##L =                                           \
        packed ? SKAE_PANEL_BYTES / (8 * (L) * (ptrdiff_t)sizeof(T)) : m_rows; \
    for (; j0 + 8 * (L) <= n; j0 += 8 * (L)) {                                 \
        for (ptrdiff_t i = 0; i < n_out; i++)                                  \
            cursor[i] = start[i];                                              \
        for (ptrdiff_t r0 = 0; r0 < m_rows; r0 += panel_rows_##L) {            \
            const ptrdiff_t r1 = r0 + panel_rows_##L < m_rows                  \
                                     ? r0 + panel_rows_##L : m_rows;           \
            const T *panel = M + j0 + r0 * ldm; /* M[r0, j0], row length ldp */ \
            ptrdiff_t ldp = ldm;                                               \
            if (packed) {                                                      \
                for (ptrdiff_t r = r0; r < r1; r++)                            \
                    memcpy(pack + (r - r0) * 8 * (L), M + r * ldm + j0,        \
                           8 * (L) * sizeof(T));                               \
                panel = pack;                                                  \
                ldp = 8 * (L);                                                 \
            }                                                                  \
            for (ptrdiff_t i = 0; i < n_out; i++) {                            \
                ptrdiff_t k = cursor[i];                                       \
                const ptrdiff_t e = end[i];                                    \
                if (k == e || idx[k] >= r1)                                    \
                    continue;                                                  \
                T *o = out + i * ldo + j0;                                     \
                V a0, a1, a2, a3, a4, a5, a6, a7;                              \
                SKAE_LOAD8(V, o, L)                                            \
                for (; k < e && idx[k] < r1; k++) {                            \
                    const T *m = panel + (ptrdiff_t)(idx[k] - r0) * ldp;       \
                    const T v = val[k];                                        \
                    a0 += v * *(const V *)m;                                   \
                    a1 += v * *(const V *)(m + (L));                           \
                    a2 += v * *(const V *)(m + 2 * (L));                       \
                    a3 += v * *(const V *)(m + 3 * (L));                       \
                    a4 += v * *(const V *)(m + 4 * (L));                       \
                    a5 += v * *(const V *)(m + 5 * (L));                       \
                    a6 += v * *(const V *)(m + 6 * (L));                       \
                    a7 += v * *(const V *)(m + 7 * (L));                       \
                }                                                              \
                *(V *)o = a0; *(V *)(o + (L)) = a1;                            \
                *(V *)(o + 2 * (L)) = a2; *(V *)(o + 3 * (L)) = a3;            \
                *(V *)(o + 4 * (L)) = a4; *(V *)(o + 5 * (L)) = a5;            \
                *(V *)(o + 6 * (L)) = a6; *(V *)(o + 7 * (L)) = a7;            \
                cursor[i] = k;                                                 \
            }                                                                  \
        }                                                                      \
    }                                                                          \
    for (; j0 + (L) <= n; j0 += (L))                                           \
        for (ptrdiff_t i = 0; i < n_out; i++) {                                \
            V a0 = *(const V *)(out + i * ldo + j0);                           \
            for (ptrdiff_t k = start[i]; k < end[i]; k++)                      \
                a0 += val[k] * *(const V *)(M + (ptrdiff_t)idx[k] * ldm + j0); \
            *(V *)(out + i * ldo + j0) = a0;                                   \
        }
#else
#define SKAE_SPARSE_VECTOR(T, V, L)
#endif

/* Whether to copy M into panels: only if the copy is repaid, each row of M
 * read by at least 4 terms on average. A bag of words with 100,000 columns and
 * 200 words a document would otherwise copy all of W for 128 documents. Read
 * in place, the sums are the same. */
#define SKAE_PANEL_CHOICE                                                      \
    ptrdiff_t n_terms = 0;                                                     \
    for (ptrdiff_t i = 0; i < n_out; i++)                                      \
        n_terms += end[i] - start[i];                                          \
    const int packed = n_terms >= 4 * m_rows;

#define SKAE_SPARSE_TIMES_ARGS(T)                                              \
    T *restrict out, ptrdiff_t ldo, ptrdiff_t n_out, ptrdiff_t n,              \
    const ptrdiff_t *restrict start, const ptrdiff_t *restrict end,            \
    const int *restrict idx, const T *restrict val, const T *restrict M,       \
    ptrdiff_t ldm, ptrdiff_t m_rows, T *restrict pack, ptrdiff_t *restrict cursor

#define SKAE_SPARSE_TIMES_CALL out, ldo, n_out, n, start, end, idx, val, M, ldm, m_rows, pack, cursor

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* AVX-512: tiles of 8 vectors of 64 bytes (128 floats, 64 doubles), then the
 * AVX2 tiles and vectors for the columns left over. Per column the same sums
 * in the same order as the other clones. */
#define SKAE_AVX512_PATH 1
typedef float skae_v16f __attribute__((vector_size(64), aligned(4), may_alias));
typedef double skae_v8d __attribute__((vector_size(64), aligned(8), may_alias));

__attribute__((target("avx512f"))) static void
skae_sparse_times_f_avx512(SKAE_SPARSE_TIMES_ARGS(float))
{
    SKAE_PANEL_CHOICE
    ptrdiff_t j0 = 0;
    SKAE_SPARSE_VECTOR(float, skae_v16f, 16)
    SKAE_SPARSE_VECTOR(float, skae_v8f, 8)
    SKAE_SPARSE_SCALAR(float)
}

__attribute__((target("avx512f"))) static void
skae_sparse_times_d_avx512(SKAE_SPARSE_TIMES_ARGS(double))
{
    SKAE_PANEL_CHOICE
    ptrdiff_t j0 = 0;
    SKAE_SPARSE_VECTOR(double, skae_v8d, 8)
    SKAE_SPARSE_VECTOR(double, skae_v4d, 4)
    SKAE_SPARSE_SCALAR(double)
}
#endif

SKAE_MULTIVERSION static void skae_sparse_times_f(SKAE_SPARSE_TIMES_ARGS(float))
{
#ifdef SKAE_AVX512_PATH
    if (__builtin_cpu_supports("avx512f")) {
        skae_sparse_times_f_avx512(SKAE_SPARSE_TIMES_CALL);
        return;
    }
#endif
    SKAE_PANEL_CHOICE
    ptrdiff_t j0 = 0;
    SKAE_SPARSE_VECTOR(float, skae_v8f, 8)
    SKAE_SPARSE_SCALAR(float)
}

SKAE_MULTIVERSION static void skae_sparse_times_d(SKAE_SPARSE_TIMES_ARGS(double))
{
#ifdef SKAE_AVX512_PATH
    if (__builtin_cpu_supports("avx512f")) {
        skae_sparse_times_d_avx512(SKAE_SPARSE_TIMES_CALL);
        return;
    }
#endif
    SKAE_PANEL_CHOICE
    ptrdiff_t j0 = 0;
    SKAE_SPARSE_VECTOR(double, skae_v4d, 4)
    SKAE_SPARSE_SCALAR(double)
}

#endif
