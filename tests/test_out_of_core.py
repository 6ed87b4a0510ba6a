"""fit_out_of_core: training from files larger than a memory budget."""

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from skae import AutoencoderTransformer, BernoulliRBM, DenoisingAE, fit_out_of_core

# A file of 48,000 x 1,024 float32 (197 MB) against a budget of 64 MB of
# resident memory above what the process held before training.
ROWS, COLUMNS, BUDGET_MB = 48_000, 1_024, 64

# Runs in a fresh process: resets the peak resident size (VmHWM) after
# imports, trains, and prints the peak's rise in MB.
MEASURE = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    from skae import AutoencoderTransformer, fit_out_of_core

    def status(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024

    path, how = sys.argv[1], sys.argv[2]
    ae = AutoencoderTransformer(n_components=16, batch_size=256, random_state=0)
    warnings.simplefilter("ignore")
    ae.partial_fit(np.load(path, mmap_mode="r")[:256])  # allocations made once
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current resident size
    before = status("VmRSS")
    if how == "blocks":
        fit_out_of_core(ae, path, block_rows=4096, random_state=0)
    else:
        ae.partial_fit(np.load(path, mmap_mode="r"))
    print(json.dumps({"rise_mb": status("VmHWM") - before}))
""")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("out_of_core") / "rows.npy"
    data = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                     shape=(ROWS, COLUMNS))
    rng = np.random.default_rng(0)
    for start in range(0, ROWS, 8000):
        data[start:start + 8000] = rng.uniform(size=(8000, COLUMNS))
    data.flush()
    del data
    return path


def _peak_rise(path, how):
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux's /proc/self/clear_refs to reset the peak resident size")
    # cwd: not the clone's root, whose skae/ (without compiled kernels when
    # installed elsewhere) would shadow the installed package.
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path), how], cwd=path.parent,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])["rise_mb"]


def test_peak_resident_memory_stays_within_the_budget(big_file):
    file_mb = big_file.stat().st_size / 2**20
    blocks = _peak_rise(big_file, "blocks")
    whole = _peak_rise(big_file, "whole")
    print(f"file {file_mb:.0f} MB, budget {BUDGET_MB} MB: peak rise {blocks:.1f} MB in "
          f"blocks, {whole:.1f} MB for partial_fit on the whole memory map")
    assert blocks < BUDGET_MB < file_mb
    # The measurement can fail: the same epoch over the whole map goes past it.
    assert whole > BUDGET_MB


def test_blocks_train_as_partial_fit_on_each_block(tmp_path):
    X = np.random.default_rng(0).uniform(size=(900, 12)).astype(np.float32)
    np.save(tmp_path / "a.npy", X[:500])
    np.save(tmp_path / "b.npy", X[500:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = fit_out_of_core(DenoisingAE(n_components=3, random_state=0),
                               [tmp_path / "a.npy", tmp_path / "b.npy"], n_epochs=2,
                               block_rows=200, shuffle=False)
        by_hand = DenoisingAE(n_components=3, random_state=0)
        for _ in range(2):
            for block in (X[:200], X[200:400], X[400:500], X[500:700], X[700:900]):
                by_hand.partial_fit(block)
    np.testing.assert_array_equal(ours.transform(X), by_hand.transform(X))
    assert ours.transform(X).dtype == np.float32


def test_preprocess_reads_8_bit_files_block_by_block(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, size=(300, 16), dtype=np.uint8)
    path = tmp_path / "pixels.npy"
    np.save(path, pixels)
    rbm = fit_out_of_core(BernoulliRBM(n_components=4, random_state=0), path,
                          preprocess=lambda block: block.astype(np.float32) / 255)
    assert rbm.components_.dtype == np.float32


def test_a_memmap_of_the_wrong_dtype_is_refused_before_training(tmp_path):
    path = tmp_path / "pixels.npy"
    np.save(path, np.zeros((10, 4), dtype=np.uint8))
    ae = AutoencoderTransformer(n_components=2)
    with pytest.raises(TypeError, match=r"dtype uint8.*preprocess="):
        fit_out_of_core(ae, np.load(path, mmap_mode="r"))
    assert not hasattr(ae, "n_features_in_")


def test_sources_with_different_columns_are_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((10, 4), dtype=np.float32))
    np.save(tmp_path / "b.npy", np.zeros((10, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"different numbers of columns \(\[4, 5\]\)"):
        fit_out_of_core(AutoencoderTransformer(), [tmp_path / "a.npy", tmp_path / "b.npy"])


@pytest.mark.parametrize("kwargs, message", [
    ({"n_epochs": 0}, "n_epochs must be a positive integer"),
    ({"block_rows": 0}, "block_rows must be a positive integer"),
])
def test_bad_settings_are_refused(tmp_path, kwargs, message):
    np.save(tmp_path / "a.npy", np.zeros((10, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=message):
        fit_out_of_core(AutoencoderTransformer(), tmp_path / "a.npy", **kwargs)


def test_only_arrays_and_paths_are_sources():
    with pytest.raises(TypeError, match="numpy.memmap arrays, .npy paths"):
        fit_out_of_core(AutoencoderTransformer(), [[1.0, 2.0]])
