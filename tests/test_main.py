"""The demo, ``python -m skae``, and its data loading."""

import io
import subprocess
import sys

import numpy as np
import pytest

from skae.__main__ import load_data, main, run


def test_demo_runs_on_digits(capsys):
    assert main(["--max-iter", "5"]) == 0
    out = capsys.readouterr().out
    for name in ["raw features", "PCA(32)", "AutoencoderTransformer(32)",
                 "DenoisingAE(32)"]:
        assert name in out
    assert "test accuracy" in out and "Next:" in out


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
    rows = run(X[:90], X[90:], None, None, n_components=3, max_iter=3, out=out)
    assert [r[0] for r in rows] == ["PCA(3)", "AutoencoderTransformer(3)",
                                    "DenoisingAE(3)"]
    assert all(r[1] is None and r[2] >= 0 for r in rows)
