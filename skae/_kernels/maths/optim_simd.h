/* Adam and SGD steps on a contiguous block of parameters (see maths/optim.pxd).
 *
 * The update is bound by the throughput of vector sqrt and division; AVX2 runs
 * them eight floats wide instead of SSE2's four, which halves its cost
 * (SKAE_MULTIVERSION, maths/multiversion.h: both clones give identical results).
 */
#ifndef SKAE_OPTIM_SIMD_H
#define SKAE_OPTIM_SIMD_H

#include <math.h>
#include <stddef.h>

#include "multiversion.h"

/* g = grad + alpha * param; grad <- 0; Adam moments; param -= step * m / (sqrt(v) + eps) */
#define SKAE_ADAM_BODY(SQRT)                                                   \
    for (ptrdiff_t i = 0; i < n; i++) {                                        \
        g = grad[i] + alpha * param[i];                                        \
        grad[i] = 0;                                                           \
        m[i] = beta_1 * m[i] + (1 - beta_1) * g;                               \
        v[i] = beta_2 * v[i] + (1 - beta_2) * g * g;                           \
        param[i] -= step_size * m[i] / (SQRT(v[i]) + epsilon);                 \
    }

/* g = grad + alpha * param; grad <- 0; velocity and (Nesterov) momentum step */
#define SKAE_SGD_BODY                                                          \
    for (ptrdiff_t i = 0; i < n; i++) {                                        \
        g = grad[i] + alpha * param[i];                                        \
        grad[i] = 0;                                                           \
        velocity[i] = momentum * velocity[i] - learning_rate * g;              \
        if (nesterov)                                                          \
            param[i] += momentum * velocity[i] - learning_rate * g;            \
        else                                                                   \
            param[i] += velocity[i];                                           \
    }

SKAE_MULTIVERSION static void skae_adam_f(
    float *restrict param, float *restrict grad, float *restrict m,
    float *restrict v, ptrdiff_t n, float step_size, float beta_1, float beta_2,
    float epsilon, float alpha)
{
    float g;
    SKAE_ADAM_BODY(sqrtf)
}

SKAE_MULTIVERSION static void skae_adam_d(
    double *restrict param, double *restrict grad, double *restrict m,
    double *restrict v, ptrdiff_t n, double step_size, double beta_1,
    double beta_2, double epsilon, double alpha)
{
    double g;
    SKAE_ADAM_BODY(sqrt)
}

SKAE_MULTIVERSION static void skae_sgd_f(
    float *restrict param, float *restrict grad, float *restrict velocity,
    ptrdiff_t n, float learning_rate, float momentum, int nesterov, float alpha)
{
    float g;
    SKAE_SGD_BODY
}

SKAE_MULTIVERSION static void skae_sgd_d(
    double *restrict param, double *restrict grad, double *restrict velocity,
    ptrdiff_t n, double learning_rate, double momentum, int nesterov, double alpha)
{
    double g;
    SKAE_SGD_BODY
}

#endif
