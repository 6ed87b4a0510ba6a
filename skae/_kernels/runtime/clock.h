/* A monotonic wall clock in seconds, for polling signals from nogil loops. */
#ifndef SKAE_CLOCK_H
#define SKAE_CLOCK_H
#if defined(_WIN32)
#include <windows.h>
static double skae_seconds(void)
{
    LARGE_INTEGER frequency, count;
    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&count);
    return (double)count.QuadPart / (double)frequency.QuadPart;
}
#else
#include <time.h>
static double skae_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
#endif
#endif
