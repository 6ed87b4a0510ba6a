"""Build skae's compiled kernels.

Every extension lives in skae/_kernels/ (_network.pyx, _rbm.pyx, and
runtime/record.pyx, the thread record both keep); the pieces they cimport lie in
its runtime/, maths/ and layers/ folders. OpenMP is used where the compiler
accepts it (the kernels then run their elementwise loops on several threads);
without it they run serially and give the same results. ``SKAE_DEBUG=1`` turns
Cython's bounds and None checks back on and compiles without optimisation.

No -ffast-math and no -march=native: both change floating-point results between
machines and break bit-for-bit reproducibility and the gradient checks.
-fno-math-errno only stops libm from setting errno, which lets the compiler
vectorise sqrt; it does not change any result.

Each compiled module is also kept in build/skae-modules/<kind>/, and the next
build of the same kind (debug switch, Python ABI, numpy major version) copies it
instead of compiling again when no source changed since: installing an extra
after the package (``pip install -e ".[test]"``) then takes seconds.
"""

import os
import shutil
import sys
import sysconfig
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


def _cache_dir():
    """Where compiled modules are kept for the next build of the same kind:
    ``build/`` in the source tree (pip builds in the tree), one folder per
    debug switch, interpreter ABI and numpy major version."""
    key = "{}-{}-numpy{}".format("debug" if DEBUG else "release",
                                 sysconfig.get_config_var("SOABI"),
                                 np.__version__.split(".")[0])
    return Path("build") / "skae-modules" / key


def _cached(name):
    """The cached module of extension ``name`` if it is newer than every
    source it is built from, else None.

    ``pip install -e ".[test]"`` after ``pip install -e .`` (an extra added
    later) would otherwise compile the kernels again from scratch (about a
    minute on 2 cores): pip builds in a fresh environment each time.
    """
    module = _cache_dir() / (name.rsplit(".", 1)[-1] + sysconfig.get_config_var("EXT_SUFFIX"))
    sources = [*KERNELS.rglob("*.pyx"), *KERNELS.rglob("*.pxd"), *KERNELS.rglob("*.h"),
               Path(__file__)]
    if module.exists() and module.stat().st_mtime > max(p.stat().st_mtime for p in sources):
        return module
    return None


class BuildExt(build_ext):
    """Add OpenMP flags when the compiler has them; reuse up-to-date modules
    from the previous build of the same kind (see _cached)."""

    def build_extension(self, ext):
        target = Path(self.get_ext_fullpath(ext.name))
        cached = _cached(ext.name)
        if cached is not None:
            print(f"skae: {cached} is up to date; reusing it", file=sys.stderr)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(cached, target)
            return
        super().build_extension(ext)
        _cache_dir().mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, _cache_dir() / target.name)

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
        # will not vectorise a loop with a float comparison (maths/vecmath.h).
        # -ffp-contract=off: a*b + c is never fused into one multiply-add, so
        # code compiled for CPUs with FMA (maths/nonzeros.h) rounds as the rest.
        opt = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno", "-fno-trapping-math"]
        opt.append("-ffp-contract=off")
    exts = [
        Extension(
            ".".join(pyx.with_suffix("").parts),
            [str(pyx)],
            include_dirs=[np.get_include(), str(KERNELS)],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
            extra_compile_args=list(opt),
        )
        for pyx in sorted(KERNELS.rglob("*.pyx"))
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
    # Up-to-date modules are copied from the cache (BuildExt): no Cython run.
    stale = [e for e in exts if _cached(e.name) is None]
    fresh = [e for e in exts if _cached(e.name) is not None]
    return (cythonize(stale, compiler_directives=directives) if stale else []) + fresh


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
