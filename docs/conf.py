"""Sphinx configuration of the fpsolve documentation (``make docs``).

The gallery (sphinx-gallery) is built from ``examples/``. ``FPSOLVE_GALLERY``
chooses what runs: ``quick`` (default, every example with ``--quick``),
``full`` (every example as written) or ``none`` (CI: pages without running
any code or drawing any figure).
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib.metadata import version as _version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

project = "fpsolve"
author = "the fpsolve developers"
copyright = "the fpsolve developers"
release = _version("fpsolve")
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "ignore-module-all": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
default_role = "literal"

GALLERY = os.environ.get("FPSOLVE_GALLERY", "quick")
if GALLERY not in ("quick", "full", "none"):
    raise ValueError(f"FPSOLVE_GALLERY must be quick, full or none; got {GALLERY!r}")


def _argv(gallery_conf, script_vars):
    """Arguments each example runs with: ``--quick`` unless ``FPSOLVE_GALLERY=full``, and
    ``--out`` (for the examples that take it) in a temporary folder, not the source tree."""
    argv = [] if GALLERY == "full" else ["--quick"]
    script = Path(script_vars["src_file"])
    if '"--out"' in script.read_text():
        out = Path(tempfile.gettempdir()) / f"fpsolve-gallery-{script.stem}.png"
        argv += ["--out", str(out)]
    return argv


_SCRAPED: dict[str, set[int]] = {}


def _figures(block, block_vars, gallery_conf):
    """Image scraper: the examples draw with matplotlib's object API (no pyplot), so
    collect every new ``Figure`` among the example's variables after each block."""
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    seen = _SCRAPED.setdefault(str(block_vars["src_file"]), set())
    paths = []
    for value in list(block_vars["example_globals"].values()):
        if isinstance(value, Figure) and id(value) not in seen:
            seen.add(id(value))
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, dpi=80)
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])


sphinx_gallery_conf = {
    "image_scrapers": ("matplotlib", _figures),
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # every example runs (unless plot_gallery is off)
    "plot_gallery": GALLERY != "none",
    "reset_argv": _argv,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

templates_path: list[str] = []
exclude_patterns = ["_build", "generated/*.examples"]
html_theme = "alabaster"
html_static_path: list[str] = []
html_theme_options = {"description": "relaxation, DNNs and their hybrids, frequency by frequency"}
nitpicky = False
suppress_warnings = ["config.cache"]
