"""Build skae's compiled kernels.

Every extension lives in skae/_kernels/. OpenMP is used where the compiler
accepts it (the kernels then run their elementwise loops on several threads);
without it they run serially and give the same results. ``SKAE_DEBUG=1`` turns
Cython's bounds and None checks back on and compiles without optimisation.

No -ffast-math and no -march=native: both change floating-point results between
machines and break bit-for-bit reproducibility and the gradient checks.
-fno-math-errno only stops libm from setting errno, which lets the compiler
vectorise sqrt; it does not change any result.
"""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

DEBUG = os.environ.get("SKAE_DEBUG", "0") == "1"
KERNELS = Path("skae") / "_kernels"


def _compiler_accepts(compiler, flag):
    """Whether the C compiler compiles and links a trivial OpenMP program with flag."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text("#include <omp.h>\nint main(void){return omp_get_max_threads()<1;}\n")
        try:
            objs = compiler.compile([str(src)], output_dir=tmp, extra_postargs=[flag])
            compiler.link_executable(objs, str(Path(tmp) / "probe"), extra_postargs=[flag])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    """Add OpenMP flags when the compiler has them."""

    def build_extensions(self):
        flag = "/openmp" if self.compiler.compiler_type == "msvc" else "-fopenmp"
        openmp = _compiler_accepts(self.compiler, flag)
        if not openmp:
            print("skae: the compiler has no OpenMP; kernels will run single-threaded",
                  file=sys.stderr)
        for ext in self.extensions:
            if openmp:
                ext.extra_compile_args.append(flag)
                if self.compiler.compiler_type != "msvc":
                    ext.extra_link_args.append(flag)
        super().build_extensions()


def extensions():
    if sys.platform == "win32":
        opt = ["/Od"] if DEBUG else ["/O2"]
    else:
        # Neither flag changes a result: skae never reads errno nor unmasks FP
        # exceptions (-fno-trapping-math is Clang's default). Without it GCC
        # will not vectorise a loop with a float comparison (_vecmath.h).
        # -ffp-contract=off: a*b + c is never fused into one multiply-add, so
        # code compiled for CPUs with FMA (_nonzeros.h) rounds as the rest.
        opt = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno", "-fno-trapping-math"]
        opt.append("-ffp-contract=off")
    exts = [
        Extension(
            f"skae._kernels.{pyx.stem}",
            [str(pyx)],
            include_dirs=[np.get_include(), str(KERNELS)],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
            extra_compile_args=list(opt),
        )
        for pyx in sorted(KERNELS.glob("*.pyx"))
    ]
    # Set here rather than in file headers, so that they reach the inline
    # functions of the .pxd files too and the debug switch can turn them off.
    directives = {
        "language_level": 3,
        "boundscheck": DEBUG,
        "wraparound": DEBUG,
        "initializedcheck": DEBUG,
        "cdivision": not DEBUG,
    }
    return cythonize(exts, compiler_directives=directives)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
