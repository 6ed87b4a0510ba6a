"""Compiled kernels (Cython, GIL released). Private: use the estimators."""
