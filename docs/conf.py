"""Sphinx configuration of xpnn's documentation: pydata-sphinx-theme, numpydoc docstrings,
MyST Markdown pages and a sphinx-gallery of the lessons (built with --quick settings)."""

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import xpnn  # noqa: E402

project = "xpnn"
author = "the xpnn developers"
copyright = "2026, the xpnn developers"
version = release = xpnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "lessons", "**/README.md"]
myst_heading_anchors = 3
nitpicky = True
nitpick_ignore_regex = [  # numpydoc type words that are prose, not Python objects
    ("py:class", r"(array|optional|callable|module|sequence|float|int|bool|str|dict|list|tuple|"
                 r"None|default.*|shape.*|.*\{.*|.*\}.*|Backend|Head|Optimizer|Activation|"
                 r"array-API.*|numpy\..*|EarlyStopping|Result)"),
]
suppress_warnings = ["config.cache"]  # sphinx-gallery's callables in the configuration

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_validation_checks = {"GL08"}  # every documented public object has a docstring
numpydoc_validation_exclude = {r"\.__init__$", r"\.__repr__$", r"\.__reduce__$", r"\._.*$",
                               r"\.(init|update|forward|derivative|activation|loss|dZ|score|name|"
                               r"X|Y|n_iter_no_change|tol|params|costs|n_iter|state|t|"
                               r"validation_scores|best_iteration|requested|xp|device|is_gpu|"
                               r"fallback_reason|chunks)$"}
intersphinx_mapping = {}  # the build needs no network

html_theme = "pydata_sphinx_theme"
html_title = f"xpnn {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path = ["_static"]
html_css_files = ["xpnn.css"]  # wide tables and code lines scroll instead of being clipped
# pages with no sub-pages get no (empty) "Section Navigation" sidebar
html_sidebars = {"getting_started": [], "api": [], "index": []}


def _quick(gallery_conf, script_vars):
    return ["--quick"]  # the gallery runs every lesson with its quick settings


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "reset_argv": _quick,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}
