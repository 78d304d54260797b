"""Sphinx configuration of the nlmeans documentation site.

Sphinx with the PyData theme (as scikit-image and dask-image use), numpydoc for
the numpy-style docstrings, MyST for the Markdown pages, sphinx.ext.doctest for
the examples. Build: ``bash docs/build.sh`` (HTML with warnings as errors, then
the doctests). The benchmark plots are drawn from ``benchmarks/results.json``
at every build.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

import nlmeans  # noqa: E402

project = "nlmeans"
author = "the nlmeans developers"
copyright = "the nlmeans developers"
version = release = nlmeans.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "scripts", "README.md"]
root_doc = "index"

myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_typehints = "none"

#: Topic pages listed in index.md's "Topics" toctree (its @TOPICS@ line) when present:
#: pages that are written alongside the code they describe.
TOPICS = ["noise", "maps-and-masks", "time-stacks", "nl-bayes", "tuning", "reliability"]

html_theme = "pydata_sphinx_theme"
html_title = f"nlmeans {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}

# The docstrings' examples use the public names as their modules see them.
doctest_global_setup = """
import numpy as np
import nlmeans
from nlmeans import denoise, denoise_nl_means, estimate_sigma, resolve_params, tune
from nlmeans.evaluate import compare_image
"""


def _plots(app) -> None:
    runpy.run_path(str(HERE / "scripts" / "plot_benchmarks.py"), run_name="__main__")


def _topics(app, docname, source) -> None:
    if docname == "index":
        present = [name for name in TOPICS if (HERE / f"{name}.md").exists()]
        source[0] = source[0].replace("@TOPICS@", "\n".join(present))


def setup(app) -> None:
    app.connect("builder-inited", _plots)
    app.connect("source-read", _topics)
