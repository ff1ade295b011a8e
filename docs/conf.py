"""Sphinx configuration of the autoscope documentation (MyST Markdown, numpydoc, pydata theme).

Build it with ``make docs`` (HTML with warnings as errors, then the doctest builder, which runs
every ``{testcode}`` / ``{doctest}`` block of the pages), or by hand::

    sphinx-build -W --keep-going -b html docs docs/_build/html
    sphinx-build -W --keep-going -b doctest docs docs/_build/doctest
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# a source checkout documents its own code, whatever is installed
sys.path.insert(0, str(HERE.parent / "src"))
os.environ.setdefault("MPLBACKEND", "Agg")

project = "autoscope"
author = "autoscope developers"
copyright = "autoscope developers"  # noqa: A001 (Sphinx's name)
try:
    release = version("autoscope")
except PackageNotFoundError:  # pragma: no cover - docs of an uninstalled checkout
    release = "0.1.0"
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "autoscope_cli",
    "autoscope_examples",
    "repo_links",
]

# repository files shown as pages of the site (wrapper pages {include} them); links to them are
# rewritten to those pages (docs/_ext/repo_links.py)
repo_pages = {
    "benchmarks/RESULTS.md": "benchmark-results",
    "benchmarks/seeds30/COMMITTEE.md": "benchmark-robustness",
    "benchmarks/seeds30/RESULTS.md": "benchmark-robustness",
    "benchmarks/HELDOUT.md": "benchmark-heldout",
}

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]
nitpicky = False

# MyST: ```{directive} fences, $math$, definition lists, heading anchors for [text](page.md#anchor)
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "smartquotes", "substitution"]
myst_heading_anchors = 3

# API reference: one page per public module (its __all__), one per object
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# Runnable snippets: ```{testcode} blocks run in one namespace per page (sphinx.ext.doctest);
# the docstrings' own >>> examples are run by pytest --doctest-modules, not here.
doctest_test_doctest_blocks = ""
doctest_global_setup = """
import os, tempfile
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
"""

html_theme = "pydata_sphinx_theme"
html_title = "autoscope"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
