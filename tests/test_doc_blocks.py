"""Every Python block of the README and the user guide runs as written.

Each ```python block is executed on its own, in a fresh namespace and a
temporary working directory, exactly as a user would paste it: it must define
or load everything it uses (scikit-learn's bundled data, or data it makes).
A block that needs an optional extra says so in an HTML comment on the line
before it, ``<!-- requires: dask -->``; it then skips without the extra (and
fails under SKAE_REQUIRE_EXTRAS=1, as CI's extras job runs this file). A
block marked ``<!-- slow -->`` runs under ``pytest -m slow``.
"""

import re
import warnings
from pathlib import Path

import pytest

from extras import environment_kept, import_extra

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "doc" / "user_guide.md"]
_MARK = re.compile(r"<!--\s*(requires:\s*(?P<extra>[\w,\s]+)|(?P<slow>slow))\s*-->")
# The module each extra's blocks import first.
_EXTRA_MODULES = {"dask": "dask_ml", "skops": "skops.io", "onnx": "skl2onnx",
                  "plot": "matplotlib"}


def _blocks():
    """(document:line, source, extras, slow) of every python block."""
    found = []
    for document in DOCUMENTS:
        lines = document.read_text().splitlines()
        i = 0
        while i < len(lines):
            if lines[i].strip() == "```python":
                start = i + 1
                end = next(j for j in range(start, len(lines))
                           if lines[j].strip() == "```")
                marks = [_MARK.search(lines[k]) for k in (i - 1, i - 2) if k >= 0]
                marks = [m for m in marks if m]
                extras = [e.strip() for m in marks if m["extra"]
                          for e in m["extra"].split(",")]
                slow = any(m["slow"] for m in marks)
                found.append((f"{document.name}:{start}", "\n".join(lines[start:end]),
                              extras, slow))
                i = end
            i += 1
    return found


BLOCKS = _blocks()


def _params():
    for where, source, extras, slow in BLOCKS:
        marks = [pytest.mark.slow] if slow else []
        yield pytest.param(source, extras, id=where, marks=marks)



def test_the_documents_have_blocks():
    assert len(BLOCKS) >= 10, [b[0] for b in BLOCKS]


@pytest.mark.parametrize(("source", "extras"), list(_params()))
def test_block_runs_as_written(source, extras, tmp_path, monkeypatch):
    for extra in extras:
        if extra == "callbacks":  # not an extra of ours: scikit-learn's own
            pytest.importorskip("sklearn.callback",
                                reason="scikit-learn < 1.9 has no callbacks")
        else:
            import_extra(_EXTRA_MODULES[extra], extra)
    monkeypatch.chdir(tmp_path)
    # A block runs as a script would, but in this process: what it leaves in
    # the environment (the Dask block's nanny settings) is undone.
    with environment_kept(), warnings.catch_warnings():
        # A block may print warnings a user would see (a short budget); only
        # errors fail it.
        warnings.simplefilter("ignore")
        exec(compile(source, "<doc block>", "exec"), {"__name__": "__main__"})
