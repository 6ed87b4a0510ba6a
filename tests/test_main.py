"""The demo, ``python -m skae``, and its data loading."""

import io
import subprocess
import sys

import numpy as np
import pytest

from skae.__main__ import load_data, main, run, verdict


def test_demo_runs_on_digits(capsys):
    assert main(["--max-iter", "5"]) == 0
    out = capsys.readouterr().out
    for text in ["Small codes", "PCA error", "AE acc.", "raw features", "Denoising",
                 "DenoisingAE(16)", "What this run showed", "Where PCA is enough",
                 "Next:"]:
        assert text in out
    assert "../shared" not in out


def test_demo_reports_a_missing_file_clearly(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(tmp_path / "mnist.npz")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "fetch_openml" in err


def test_verdict_follows_the_numbers():
    results = {
        "codes": [{"size": 2, "pca_error": 0.05, "ae_error": 0.04, "pca_time": 0.01,
                   "ae_time": 1.0, "pca_accuracy": 0.6, "ae_accuracy": 0.6}],
        "denoising": {"pca_error": 0.02, "dae_error": 0.03},
        "raw_accuracy": 0.9,
    }
    text = "\n".join(verdict(results))
    assert "beat PCA at code sizes 2 (at 2, 0.80x" in text
    assert "PCA's codes classified as well" in text
    assert "Denoising" not in text
    assert "100x faster" in text and "raw features (0.900)" in text


def test_python_dash_m_skae_help(tmp_path):
    # From a neutral directory: in the repository root, the source tree (without
    # compiled kernels unless installed with -e) would shadow the installed package.
    done = subprocess.run([sys.executable, "-m", "skae", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert "--data" in done.stdout


def _data(rng):
    X = rng.uniform(size=(120, 6))
    y = (X[:, 0] > 0.5).astype(int)
    return X, y


def test_load_npz_npy_csv(tmp_path):
    rng = np.random.default_rng(0)
    X, y = _data(rng)
    np.savez(tmp_path / "a.npz", X=X, y=y)
    np.savez(tmp_path / "b.npz", X_train=X[:90], y_train=y[:90], X_test=X[90:],
             y_test=y[90:])
    np.save(tmp_path / "c.npy", np.column_stack([X, y]))
    np.savetxt(tmp_path / "d.csv", np.column_stack([X, y]), delimiter=",",
               header="a,b,c,d,e,f,label", comments="")
    Xtr, Xte, ytr, yte = load_data(tmp_path / "a.npz")
    assert Xtr.shape == (90, 6) and ytr.shape == (90,)
    Xtr, Xte, ytr, yte = load_data(tmp_path / "b.npz")
    assert Xte.shape == (30, 6) and np.array_equal(yte, y[90:])
    for name in ["c.npy", "d.csv"]:
        Xtr, Xte, ytr, yte = load_data(tmp_path / name, label_column=-1)
        assert Xtr.shape == (90, 6) and set(np.unique(ytr)) <= {0, 1}
    Xtr, Xte, ytr, yte = load_data(tmp_path / "c.npy")
    assert Xtr.shape == (90, 7) and ytr is None
    with pytest.raises(ValueError, match="expected a .npz"):
        load_data(tmp_path / "e.txt")


def test_run_without_labels_reports_reconstruction_only():
    rng = np.random.default_rng(1)
    X, _ = _data(rng)
    out = io.StringIO()
    results = run(X[:90], X[90:], None, None, sizes=(2, 3), max_iter=3, out=out)
    assert [r["size"] for r in results["codes"]] == [2, 3]
    assert all("ae_accuracy" not in r for r in results["codes"])
    # Each code reconstructs: below the error of predicting every row as the
    # training mean (what a network that learned nothing gives).
    mean_error = np.mean((X[90:] - X[:90].mean(axis=0)) ** 2)
    assert all(0 < r["ae_error"] < 0.9 * mean_error for r in results["codes"]), (
        results["codes"], mean_error)
    assert results["denoising"]["size"] == 6 and results["raw_accuracy"] is None
    assert "acc." not in out.getvalue()
