"""Sphinx configuration of the alignstat documentation (built offline: ``make docs``)."""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(DOCS / "_ext"))

import alignstat  # noqa: E402

project = "alignstat"
author = "The alignstat developers"
copyright = "2026, the alignstat developers"
release = alignstat.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
    "apilist",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
root_doc = "index"

# --- API reference -------------------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

# --- MyST and executed tutorials -------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("ALIGNSTAT_DOCS_EXECUTE", "force")  # tutorials run on every build
nb_execution_timeout = 240  # seconds per cell
nb_execution_raise_on_error = True  # a failing tutorial fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_kernel_rgx_aliases = {".*": "python3"}
nb_execution_excludepatterns = []

# --- HTML (no remote fonts, images or scripts) ---------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"alignstat {release}"
html_static_path = ["_static"]
html_css_files = ["alignstat.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
    # tutorials show wide tables: no right-hand page outline there
    "secondary_sidebar_items": {
        "index": ["page-toc"], "vocabulary": ["page-toc"], "guide/*": ["page-toc"], "api/*": ["page-toc"],
        "tutorials/*": [],
    },
}
html_show_sourcelink = False

# --- Math: a local MathJax where one is installed, so formulas render offline ------------
# Debian/Ubuntu: `apt-get install libjs-mathjax` (MathJax 2.7 in /usr/share/javascript/mathjax), or set
# ALIGNSTAT_MATHJAX to a MathJax 2 folder.  Without one, pages load MathJax 3 from its CDN when viewed
# online and show the TeX source offline.
MATHJAX_DIR = Path(os.environ.get("ALIGNSTAT_MATHJAX", "/usr/share/javascript/mathjax"))
_MATHJAX_PARTS = ("MathJax.js", "config/TeX-AMS_CHTML.js", "extensions", "jax/input/TeX", "jax/output/CommonHTML",
                  "jax/element", "fonts/HTML-CSS/TeX/woff")
if (MATHJAX_DIR / "MathJax.js").is_file():
    mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
    myst_update_mathjax = False  # MyST would add a MathJax 3 configuration
    mathjax2_config = {
        "tex2jax": {
            "inlineMath": [["\\(", "\\)"]],
            "displayMath": [["\\[", "\\]"]],
            "processEscapes": True,
            "ignoreClass": "tex2jax_ignore|mathjax_ignore",
            "processClass": "tex2jax_process|mathjax_process|math|output_area",
        }
    }


def _copy_mathjax(app, exception):
    """Copy the parts of the local MathJax the pages use (about 1.3 MB) into ``_static/mathjax``."""
    import shutil

    if exception is not None or app.builder.format != "html" or not (MATHJAX_DIR / "MathJax.js").is_file():
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in _MATHJAX_PARTS:
        src, dst = MATHJAX_DIR / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.is_file():
            shutil.copy2(src, dst)


def setup(app):
    app.connect("build-finished", _copy_mathjax)
