/* SKAE_MULTIVERSION: compile a function twice, for AVX2 and for the baseline,
 * and let the loader pick the AVX2 clone on CPUs that have it (GCC function
 * multiversioning, on x86-64 Linux; elsewhere a plain function).
 *
 * setup.py compiles with -ffp-contract=off, so no multiply-add is contracted, and
 * vector add, multiply, division and sqrt round exactly as their scalar forms:
 * both clones give bit-identical results, so results do not depend on which
 * one runs.
 */
#ifndef SKAE_MULTIVERSION_H
#define SKAE_MULTIVERSION_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SKAE_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define SKAE_MULTIVERSION
#endif

#endif
