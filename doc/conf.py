"""Sphinx configuration of skae's documentation site.

Build with ``make -C doc html`` (or ``python -m sphinx -W -b html doc
doc/_build/html``); the gallery's examples run during the build.
"""

import os
import re
import sys
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

import skae

project = "skae"
author = "the skae developers"
copyright = "2026, the skae developers"
release = skae.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples/README.txt"]
templates_path = ["_templates"]

# API pages: one per public name, from its numpydoc docstring.
autosummary_generate = True
autodoc_default_options = {}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

intersphinx_mapping = {}  # the build reads no network

myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath", "amsmath"]

# The gallery: doc/examples/plot_*.py are run, their figures kept.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "doc_module": ("skae",),
    "backreferences_dir": "auto_examples/backrefs",
    "reference_url": {"skae": None},
}

html_theme = "pydata_sphinx_theme"
html_title = f"skae {release}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False

# The examples train for a fixed budget on purpose: their ConvergenceWarnings
# say so, and would fill the pages.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
# The examples read MNIST and MovieLens from ../shared/data beside the clone
# (SKAE_DATA overrides; run by hand from the clone's root, they find it too).
os.environ.setdefault("SKAE_DATA", str(Path(__file__).resolve().parents[2] / "shared"
                                       / "data"))
# Without that data (a fresh clone), the examples that read it are shown
# without being run, and the build says where the data goes; the others run.
_data = Path(os.environ["SKAE_DATA"])
_needs_data = sorted(
    p.name for p in (Path(__file__).parent / "examples").glob("plot_*.py")
    if "SKAE_DATA" in p.read_text())
_missing = [name for name in ("mnist.npz", "movielens-small") if not (_data / name).exists()]
if _missing:
    sphinx_gallery_conf["filename_pattern"] = (
        "/plot_(?!" + "|".join(re.escape(n[len("plot_"):]) for n in _needs_data) + ")")
    print(f"skae docs: {', '.join(_missing)} not found in SKAE_DATA={_data}; the "
          f"{len(_needs_data)} examples that read them are shown without running. "
          "doc/install.rst ('Data for the gallery and the benchmarks') says how to "
          "make that folder.", file=sys.stderr)
