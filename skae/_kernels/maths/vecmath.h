/* float32 exp and sigmoid that the compiler can vectorise.
 *
 * libm's expf is a scalar call: in the RBM's conditionals (a sigmoid per unit,
 * about 80 million per MNIST epoch) it cost more than the sampling and a sixth
 * of the epoch. skae_expf is Cephes' expf (S. Moshier): x = n ln 2 + r with
 * |r| <= ln(2)/2 (ln 2 split in two for an exact n ln 2), a degree-6 polynomial
 * for e^r, and 2^n built in the exponent bits. Relative error below 1.4 ulp
 * over [-87, 87] (tests/test_rbm.py checks the sigmoid against float64).
 *
 * Every step is a plain add, multiply, compare or conversion: inlined in a
 * loop, GCC turns it into vector code (given -fno-trapping-math, which
 * setup.py passes: Clang's default, and skae never unmasks FP exceptions). The
 * arguments are clamped to [-87, 87], so that 2^n is a normal float: e^x
 * saturates at e^87 = 6.1e37 instead of overflowing, and at e^-87 = 1.6e-38
 * instead of underflowing. A sigmoid built on it reaches 1.6e-38 rather than 0
 * for arguments below -87, and exactly 1 above 17.
 *
 * skae_bce_row_f, binary cross-entropy from logits, is the other hot float32
 * elementwise loop (the Bernoulli decoder of the VAE and every autoencoder
 * with a sigmoid output: 784 entries per image). It draws one e^-|z| per entry
 * and builds both the loss term's log1p and the sigmoid from it; libm's scalar
 * log1pf and two exps were a tenth of a VAE epoch.
 *
 * float64 keeps libm's exp: it is the precision of gradient checks and of
 * likelihood estimates, and speed is float32's business.
 */
#ifndef SKAE_VECMATH_H
#define SKAE_VECMATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "multiversion.h"

static inline float skae_expf(float x)
{
    float n, r, p, scale;
    int32_t bits;
    x = x < -87.0f ? -87.0f : x;
    x = x > 87.0f ? 87.0f : x;
    /* n = round(x / ln 2): adding 1.5 * 2^23 rounds to an integer (|x / ln 2| < 2^22) */
    n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    r = x - n * 0.693359375f;   /* ln 2 = 0.693359375 - 2.12194440e-4, the */
    r = r + n * 2.12194440e-4f; /* first part exact in 9 bits */
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    bits = ((int32_t) n + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float skae_sigmoidf(float z)
{
    return 1.0f / (1.0f + skae_expf(-z));
}

/* x <- sigmoid(x) */
/* tanh from the same exp: 1 - 2 / (e^2x + 1), which saturates at +-1 with
 * skae_expf's clamping; below |x| = 0.125, where that difference loses digits,
 * the series x - x^3/3 + 2x^5/15 - 17x^7/315 (truncation below 2e-10
 * relative). Both are computed and one selected, so that a loop over it
 * vectorises. libm's tanhf (through expm1f) was a quarter of a GRU epoch. */
static inline float skae_tanhf(float x)
{
    float e = skae_expf(2.0f * x);
    float big = 1.0f - 2.0f / (e + 1.0f);
    float x2 = x * x;
    float small = x * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f
                                                        + x2 * (-17.0f / 315.0f))));
    return (x < 0.125f && x > -0.125f) ? small : big;
}

SKAE_MULTIVERSION static void skae_sigmoid_f(float *restrict x, ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        x[i] = skae_sigmoidf(x[i]);
}

/* x <- sigmoid(x + bias) */
SKAE_MULTIVERSION static void skae_sigmoid_bias_f(float *restrict x,
                                                  const float *restrict bias,
                                                  ptrdiff_t n)
{
    for (ptrdiff_t i = 0; i < n; i++)
        x[i] = skae_sigmoidf(x[i] + bias[i]);
}

/* One GRU step's gates for one row (layers/recurrent.pxd, which gives the
 * equations and the layout): g holds the step's [Wz x + Rz h | Wr x + Rr h |
 * Wn x | Rn h] (4H), b the biases [input | recurrent] (6H), hp the previous
 * state. Leaves [z | r | n | Rn h + cn] in g and the new state in h; in plain
 * arithmetic over restrict pointers, so that the loop vectorises. */
SKAE_MULTIVERSION static void skae_gru_gates_f(float *restrict g,
                                               const float *restrict b,
                                               const float *restrict hp,
                                               float *restrict h, ptrdiff_t H)
{
    for (ptrdiff_t j = 0; j < H; j++) {
        float z = skae_sigmoidf(g[j] + b[j] + b[3 * H + j]);
        float r = skae_sigmoidf(g[H + j] + b[H + j] + b[4 * H + j]);
        float hn = g[3 * H + j] + b[5 * H + j];
        float n = skae_tanhf(g[2 * H + j] + b[2 * H + j] + r * hn);
        g[j] = z;
        g[H + j] = r;
        g[2 * H + j] = n;
        g[3 * H + j] = hn;
        h[j] = (1.0f - z) * n + z * hp[j];
    }
}

/* The same step backwards: from the state's delta dh and the step's [z | r |
 * n | Rn h + cn] in g, the deltas of the gates' pre-activations [dz | dr | dn
 * | dn * r] into g, and dh times z (the previous state's direct share). */
SKAE_MULTIVERSION static void skae_gru_deltas_f(float *restrict g,
                                                const float *restrict hp,
                                                float *restrict dh, ptrdiff_t H)
{
    for (ptrdiff_t j = 0; j < H; j++) {
        float z = g[j], r = g[H + j], n = g[2 * H + j], hn = g[3 * H + j];
        float dn = dh[j] * (1.0f - z) * (1.0f - n * n);
        float dz = dh[j] * (hp[j] - n) * z * (1.0f - z);
        g[j] = dz;
        g[H + j] = dn * hn * r * (1.0f - r);
        g[2 * H + j] = dn;
        g[3 * H + j] = dn * r;
        dh[j] = dh[j] * z;
    }
}

/* One LSTM step's gates for one row (layers/lstm.pxd): g holds the four
 * pre-activations without biases [i | o | f | c], b the biases [input |
 * recurrent] (8H), sp the previous cell. Leaves [i | o | f | u | tanh(s)] in g
 * (5H), the new cell in s and the new state in h. */
SKAE_MULTIVERSION static void skae_lstm_gates_f(float *restrict g,
                                                const float *restrict b,
                                                const float *restrict sp,
                                                float *restrict s, float *restrict h,
                                                ptrdiff_t H)
{
    for (ptrdiff_t j = 0; j < H; j++) {
        float i = skae_sigmoidf(g[j] + b[j] + b[4 * H + j]);
        float o = skae_sigmoidf(g[H + j] + b[H + j] + b[5 * H + j]);
        float f = skae_sigmoidf(g[2 * H + j] + b[2 * H + j] + b[6 * H + j]);
        float u = skae_tanhf(g[3 * H + j] + b[3 * H + j] + b[7 * H + j]);
        float c = f * sp[j] + i * u;
        float tc = skae_tanhf(c);
        s[j] = c;
        h[j] = o * tc;
        g[j] = i;
        g[H + j] = o;
        g[2 * H + j] = f;
        g[3 * H + j] = u;
        g[4 * H + j] = tc;
    }
}

/* The same step backwards: from the deltas of the state dh and of the cell
 * ds, the pre-activations' deltas into g's first 4H; ds becomes the previous
 * cell's delta and dh 0. */
SKAE_MULTIVERSION static void skae_lstm_deltas_f(float *restrict g,
                                                 const float *restrict sp,
                                                 float *restrict dh,
                                                 float *restrict ds, ptrdiff_t H)
{
    for (ptrdiff_t j = 0; j < H; j++) {
        float i = g[j], o = g[H + j], f = g[2 * H + j], u = g[3 * H + j];
        float tc = g[4 * H + j];
        float dc = ds[j] + dh[j] * o * (1.0f - tc * tc);
        g[j] = dc * u * i * (1.0f - i);
        g[H + j] = dh[j] * tc * o * (1.0f - o);
        g[2 * H + j] = dc * sp[j] * f * (1.0f - f);
        g[3 * H + j] = dc * i * (1.0f - u * u);
        ds[j] = dc * f;
        dh[j] = 0.0f;
    }
}

/* log(1 + x) for x in [0, 1], Cephes' logf polynomial (S. Moshier) on the
 * reduction 1 + x = 2^k (1 + f), f in [sqrt(1/2) - 1, sqrt(2) - 1]: k = 0 and
 * f = x itself while 1 + x <= sqrt(2), so that small x keep every digit (log1p,
 * not log of a rounded 1 + x); k = 1 and f = (x - 1) / 2 above. Relative error
 * within 2 ulp (tests/test_network_kernel.py checks it against float64). */
static inline float skae_log1pf_unit(float x)
{
    int upper = x > 0.41421356f;
    float f = upper ? (x - 1.0f) * 0.5f : x;
    float k = upper ? 1.0f : 0.0f;
    float f2 = f * f;
    float p = 7.0376836292e-2f;
    p = p * f - 1.1514610310e-1f;
    p = p * f + 1.1676998740e-1f;
    p = p * f - 1.2420140846e-1f;
    p = p * f + 1.4249322787e-1f;
    p = p * f - 1.6668057665e-1f;
    p = p * f + 2.0000714765e-1f;
    p = p * f - 2.4999993993e-1f;
    p = p * f + 3.3333331174e-1f;
    p = p * f * f2;
    p = p + k * -2.12194440e-4f; /* ln 2 in two parts, as in skae_expf */
    p = p - 0.5f * f2;
    return f + p + k * 0.693359375f;
}

#define SKAE_BCE_CHUNK 256

/* Binary cross-entropy of one row of logits z against targets t, summed:
 * sum_j max(z_j, 0) - z_j t_j + log1p(e^-|z_j|), which neither overflows nor
 * loses the small terms. If delta is not NULL, also the gradient with respect
 * to z, scale * (sigmoid(z_j) - t_j), the sigmoid from the same e = e^-|z_j|:
 * 1 / (1 + e) for z_j >= 0, e / (1 + e) below.
 *
 * The terms go through a buffer on the stack, a chunk at a time, so that the
 * elementwise loop vectorises; they are then added in double over four
 * interleaved running sums in a fixed order: the same sum from either clone
 * and on any thread. */
SKAE_MULTIVERSION static double skae_bce_row_f(const float *restrict z,
                                               const float *restrict t,
                                               float *restrict delta, float scale,
                                               ptrdiff_t n)
{
    float terms[SKAE_BCE_CHUNK];
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (ptrdiff_t start = 0; start < n; start += SKAE_BCE_CHUNK) {
        ptrdiff_t m = n - start < SKAE_BCE_CHUNK ? n - start : SKAE_BCE_CHUNK;
        const float *zc = z + start, *tc = t + start;
        if (delta != NULL) {
            float *dc = delta + start;
            for (ptrdiff_t i = 0; i < m; i++) {
                float zi = zc[i];
                float e = skae_expf(zi < 0 ? zi : -zi);
                float inv = 1.0f / (1.0f + e);
                terms[i] = (zi > 0 ? zi : 0.0f) - zi * tc[i] + skae_log1pf_unit(e);
                dc[i] = scale * ((zi >= 0 ? inv : e * inv) - tc[i]);
            }
        } else {
            for (ptrdiff_t i = 0; i < m; i++) {
                float zi = zc[i];
                float e = skae_expf(zi < 0 ? zi : -zi);
                terms[i] = (zi > 0 ? zi : 0.0f) - zi * tc[i] + skae_log1pf_unit(e);
            }
        }
        ptrdiff_t i = 0;
        for (; i + 4 <= m; i += 4) {
            s0 += terms[i];
            s1 += terms[i + 1];
            s2 += terms[i + 2];
            s3 += terms[i + 3];
        }
        for (; i < m; i++)
            s0 += terms[i];
    }
    return (s0 + s1) + (s2 + s3);
}

#endif
