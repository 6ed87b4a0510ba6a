"""Compiled kernels (Cython, GIL released). Private: use the estimators.

Before the first kernel module loads (and with it GNU's OpenMP runtime,
libgomp, which reads its settings once, when it loads), shorten how long an
idle team thread busy-waits for the next parallel region: libgomp's default,
GOMP_SPINCOUNT=300000 pause instructions, is about 15 ms of a core on the
machines measured here, taken from the very process that another core's load
already squeezes (and a spinning thread that the OS preempts comes back last,
stalling the team). 10,000 (about half a millisecond) still bridges the gaps
between the regions of a minibatch and between minibatches, so a quiet machine
keeps the team's speed; benchmarks/bench_load.py measures both. A setting of
the user's own (GOMP_SPINCOUNT or OMP_WAIT_POLICY) is left alone, and a
libgomp that another package loaded first keeps what it read then. LLVM's
runtime (libomp, used by clang builds) has its own knob, KMP_BLOCKTIME, which
this does not touch: see the user guide.
"""

import os

SPIN_COUNT = "10000"

if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
