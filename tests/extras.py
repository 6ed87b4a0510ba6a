"""The optional extras' imports for their tests.

Without an extra its tests skip, saying which extra to install. CI installs
every extra and sets SKAE_REQUIRE_EXTRAS=1, which turns a missing import into
a failure: a broken install there must not pass as skips.
"""

import contextlib
import importlib
import os

import pytest


def import_extra(module, extra):
    """The module, or a skip (a failure under SKAE_REQUIRE_EXTRAS) naming the extra."""
    if os.environ.get("SKAE_REQUIRE_EXTRAS"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"{module} is in the optional extra "
                                              f"[{extra}]: pip install 'skae[{extra}]'")


@contextlib.contextmanager
def environment_kept():
    """Undo what the block changes in os.environ. Dask's nanny writes its
    workers' settings (OMP_NUM_THREADS=1 among them) into its own process's
    environment before spawning them, here the test process; a library that
    reads them later (torch on import, where it is installed) would set the
    kernels' OpenMP limit to 1 for the tests that follow."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
