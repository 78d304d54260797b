#!/usr/bin/env bash
# The documentation site (needs the docs extra: pip install ".[docs]"): the napari
# widget's screenshot when napari is installed (under xvfb-run without a display),
# the HTML into docs/_build/html with every warning an error, then the doctests of
# the pages and the docstrings. The benchmark plots are drawn by the build itself.
set -euo pipefail
cd "$(dirname "$0")/.."

if python -c "import napari" 2>/dev/null; then
    if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
        python docs/scripts/napari_screenshot.py
    elif command -v xvfb-run >/dev/null; then
        xvfb-run -a python docs/scripts/napari_screenshot.py
    else
        echo "docs/build.sh: no display and no xvfb-run; the napari screenshot is kept as it is"
    fi
fi
sphinx-build -W --keep-going -q -b html docs docs/_build/html
sphinx-build -W --keep-going -q -b doctest docs docs/_build/doctest
