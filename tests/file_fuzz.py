"""Damaged pickle and skops files of every estimator: loading one and using it
must never crash the process.

``python tests/file_fuzz.py --start 0 --cases 200`` fits each estimator once
on small data, then for each case takes one estimator, damages one array of
its stored state (any array, nested models' and sparse matrices' included:
its shape, its dtype, its values, its layout, or a CSR matrix's structure),
writes the model with pickle or skops, reads it back and calls every fitted
method on valid input. Any Python exception is an acceptable answer to a
damaged file; a crash is not. Run by tests/test_call_sequences.py in a
subprocess under glibc's checking allocator, which turns a write out of bounds
into an abort; the case under way is printed before each one, so that a crash
names it.
"""

import argparse
import copy
import io
import os
import pickle
import sys
import warnings

import numpy as np
import scipy.sparse as sp

import skae

try:
    import skops.io as sio
except ImportError:  # the [skops] extra; required where CI installed it
    if os.environ.get("SKAE_REQUIRE_EXTRAS"):
        raise
    sio = None

_X = np.random.default_rng(0).random((40, 6))


def _ratings():
    rng = np.random.default_rng(1)
    users, items = np.nonzero(rng.random((12, 8)) < 0.5)
    return skae.ratings_to_csr(users, items, rng.integers(1, 6, len(users)).astype(float),
                               shape=(12, 8))


def fitted_models():
    """One small fitted model of every estimator, with the calls to make on it."""
    X, B = _X, (_X > 0.5).astype(float)
    X_missing = X.copy()
    X_missing[::5, 1] = np.nan
    small = dict(max_iter=2, random_state=0)
    users, items = np.array([0, 3, 11]), np.array([1, 7, 2])
    models = [
        (skae.AutoencoderTransformer(n_components=2, **small), X),
        (skae.DenoisingAE(n_components=2, **small), X),
        (skae.SparseAE(n_components=2, **small), X),
        (skae.ContractiveAE(n_components=2, **small), X),
        (skae.StackedAE(n_components=2, hidden_layer_sizes=(3,), **small), X),
        (skae.VariationalAE(n_components=2, hidden_layer_sizes=(3,), **small), X),
        (skae.BernoulliRBM(n_components=3, n_iter=1, random_state=0), B),
        (skae.GaussianBernoulliRBM(n_components=3, n_iter=1, random_state=0), X),
        (skae.AutoencoderImputer(max_iter=2, random_state=0), X_missing),
        (skae.OutlierDetector(n_estimators=2, random_state=0), X),
        (skae.AutoRec(n_components=3, max_iter=2, random_state=0), _ratings()),
    ]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model, data in models:
            model.fit(data)
            name = type(model).__name__
            if name == "AutoRec":
                calls = [("predict", users, items), ("recommend", 3), ("score", data)]
            elif name == "AutoencoderImputer":
                calls = [("transform", data)]
            elif name == "OutlierDetector":
                calls = [("score_samples", data), ("predict", data)]
            else:
                calls = [("transform", data), ("score_samples", data),
                         ("inverse_transform", np.ones((3, 2 if "AE" in name
                                                         or "Autoencoder" in name
                                                         else 3)))]
                if name.endswith("RBM"):
                    calls += [("gibbs", data[:3]), ("sample", 2),
                              ("log_partition_function",)]
                if name == "VariationalAE":
                    calls += [("sample", 2), ("log_likelihood", data[:3])]
            out.append((model, calls))
    return out


def _slots(obj, seen=None):
    """Every (container, key) whose value is a stored array: in the model's
    __dict__, nested estimators', lists', and sparse matrices' own arrays."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, list):
        items = list(enumerate(obj))
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        return _slots(obj.__dict__, seen)
    else:
        return []
    found = []
    for key, value in items:
        if isinstance(value, np.ndarray) and value.dtype != object:
            found.append((obj, key))
        elif sp.issparse(value):
            found += [(value.__dict__, k) for k in ("data", "indices", "indptr")]
        elif isinstance(value, (dict, list)) or (
                hasattr(value, "get_params") and hasattr(value, "__dict__")):
            found += _slots(value, seen)
    return found


def damage(a, rng):
    """One random damage to array a; returns (what, the damaged array)."""
    kinds = ["truncate", "extend", "reshape", "dtype", "values", "empty", "layout",
             "scalar"]
    kind = kinds[rng.integers(len(kinds))]
    flat = a.ravel()
    if kind == "truncate":
        return kind, (a[: max(0, len(a) - 1 - rng.integers(3))] if a.ndim else a)
    if kind == "extend":
        extra = rng.integers(1, 5)
        pad = np.zeros((extra, *a.shape[1:]), dtype=a.dtype)
        return kind, np.concatenate([a, pad]) if a.ndim else np.array([a, a])
    if kind == "reshape":
        options = [flat, flat.reshape(1, -1), flat.reshape(-1, 1)]
        if a.ndim == 2:
            options.append(np.ascontiguousarray(a.T))
        return kind, options[rng.integers(len(options))]
    if kind == "dtype":
        types = [np.int8, np.int32, np.int64, np.uint64, np.float32, np.float64,
                 np.bool_, np.complex128]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return kind, a.astype(types[rng.integers(len(types))])
    if kind == "values":
        b = a.copy()
        if b.size:
            index = rng.integers(b.size, size=rng.integers(1, 4))
            if b.dtype.kind in "iu":
                info = np.iinfo(b.dtype)
                choices = [info.max, info.min, -1, b.size + 7, 2**31]
            elif b.dtype.kind == "b":
                choices = [True, False]
            else:
                choices = [np.nan, np.inf, -np.inf, 1e300, -1.0]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for i in index:
                    b.flat[i] = np.array(choices[rng.integers(len(choices))]).astype(
                        b.dtype)
        return kind, b
    if kind == "empty":
        return kind, np.empty((0,) * max(a.ndim, 1), dtype=a.dtype)
    if kind == "layout":
        if a.ndim == 2:
            return kind, np.asfortranarray(a)
        return kind, (a[::-1] if a.ndim else a)
    return kind, np.array(flat[0] if flat.size else 0, dtype=a.dtype)


def run_case(models, case):
    rng = np.random.default_rng(case)
    model, calls = models[case % len(models)]
    damaged = copy.deepcopy(model)
    slots = _slots(damaged)
    container, key = slots[rng.integers(len(slots))]
    what, container[key] = damage(container[key], rng)
    fmt = "skops" if sio is not None and rng.random() < 0.5 else "pickle"
    label = f"case {case}: {type(model).__name__}.{key} {what} via {fmt}"
    print(label, flush=True)
    try:
        if fmt == "skops":
            blob = sio.dumps(damaged)
            loaded = sio.loads(blob, trusted=list(skae.SKOPS_TRUSTED_TYPES))
        else:
            buffer = io.BytesIO()
            pickle.dump(damaged, buffer)
            loaded = pickle.loads(buffer.getvalue())
    except Exception:  # noqa: BLE001 - any error is a fine answer to a bad file
        return
    for name, *args in calls:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                getattr(loaded, name)(*args)
        except Exception:  # noqa: BLE001, S112 - the same
            continue


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args(argv)
    models = fitted_models()
    for case in range(args.start, args.start + args.cases):
        run_case(models, case)
    print(f"{args.cases} damaged files (cases {args.start}..{args.start + args.cases - 1},"
          f" {'pickle and skops' if sio else 'pickle only'}), no crash")


if __name__ == "__main__":
    sys.exit(main())
