"""No sequence of public calls crashes the process or raises an unexpected error,
and no damaged file does.

Each estimator's hypothesis state machine (tests/call_sequences.py) runs in a
subprocess: a crash (SIGSEGV, an allocator abort) ends that process, and the
test reports its exit status and output. A few hundred sequences per
estimator in the default suite, a thousand each under ``-m slow``; the same
for the applications (tests/application_sequences.py), and damaged pickle and
skops files of every estimator (tests/file_fuzz.py: 200 in the default suite,
2,200 more under ``-m slow``).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("hypothesis", reason="the [test] extra installs hypothesis")

SCRIPT = Path(__file__).with_name("call_sequences.py")
APPLICATIONS_SCRIPT = Path(__file__).with_name("application_sequences.py")
FUZZ_SCRIPT = Path(__file__).with_name("file_fuzz.py")
APPLICATIONS = ["AutoencoderImputer", "OutlierDetector", "AutoRec"]
ESTIMATORS = [
    "AutoencoderTransformer", "DenoisingAE", "SparseAE", "ContractiveAE", "StackedAE",
    "BernoulliRBM", "GaussianBernoulliRBM", "VariationalAE", "ConvAutoencoder",
    "SequenceAutoencoder",
]


# glibc's checking allocator: a write past a buffer's end usually corrupts
# the heap silently; with these it aborts at the next free. Where the library
# is missing (not glibc >= 2.34), only crashes that happen anyway are caught.
_MALLOC_DEBUG = Path("/lib/x86_64-linux-gnu/libc_malloc_debug.so.0")


def _environment():
    env = dict(os.environ, MALLOC_PERTURB_="165")
    if _MALLOC_DEBUG.exists():
        env["LD_PRELOAD"] = str(_MALLOC_DEBUG)
        env["MALLOC_CHECK_"] = "3"
    return env


def _run(name, examples, script=SCRIPT):
    _run_script(script, name, "--examples", str(examples))


def _run_script(script, *args):
    result = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True, text=True, timeout=1800, env=_environment(),
    )
    assert result.returncode == 0, (
        f"exit status {result.returncode} (negative: killed by that signal)\n"
        f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    )
    print(result.stdout.strip())


@pytest.mark.parametrize("name", ESTIMATORS)
def test_call_sequences(name):
    _run(name, 150)


@pytest.mark.slow
@pytest.mark.parametrize("name", ESTIMATORS)
def test_call_sequences_many(name):
    _run(name, 1000)


@pytest.mark.parametrize("name", APPLICATIONS)
def test_application_call_sequences(name):
    _run(name, 100, APPLICATIONS_SCRIPT)


@pytest.mark.slow
@pytest.mark.parametrize("name", APPLICATIONS)
def test_application_call_sequences_many(name):
    _run(name, 1000, APPLICATIONS_SCRIPT)


def test_damaged_files_never_crash():
    """tests/file_fuzz.py: damaged pickle and skops files of every estimator,
    loaded and used; any exception is fine, a crash is not."""
    _run_script(FUZZ_SCRIPT, "--cases", "200")


@pytest.mark.slow
def test_damaged_files_never_crash_many():
    _run_script(FUZZ_SCRIPT, "--start", "200", "--cases", "2200")
