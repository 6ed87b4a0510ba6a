# The record of a thread choice (runtime/threads.pxd) that a caller keeps across
# kernel calls: the passes of one fit, or an estimator's inference calls.

from .threads cimport ThreadChoice


cdef class ThreadRecord:
    cdef ThreadChoice choice
