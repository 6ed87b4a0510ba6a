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
 * float64 keeps libm's exp: it is the precision of gradient checks and of
 * likelihood estimates, and speed is float32's business.
 */
#ifndef SKAE_VECMATH_H
#define SKAE_VECMATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "_multiversion.h"

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

#endif
