"""Fixtures shared by the whole suite.

Plain helpers (the oracle comparison cases, padded stacks) are in ``_support.py``,
imported as a module; the test folders mirror the package (tests/backends for
nlmeans/backends, ...) and have no ``__init__.py`` (pytest imports test modules
with ``--import-mode=importlib``, so basenames may repeat across folders).
"""

import numpy as np
import pytest

from nlmeans.backends import REGISTRY, Backend
from nlmeans.backends import reference as oracle


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def pixel_only_backend(monkeypatch):
    """A backend "gpu" that computes the pixelwise method only (the oracle's), registered
    in nlmeans.backends.REGISTRY for the test and removed afterwards."""
    backend = Backend(
        name="gpu", summary="test double, pixelwise only", methods={"pixel": oracle.pixelwise}
    )
    monkeypatch.setitem(REGISTRY, backend.name, backend)
    return backend


def pytest_collection_modifyitems(config, items):
    """Refuse a test in a ``test_cuda*.py`` module without the ``cuda`` marker: tests/run_all.sh
    selects the CUDA run (Numba's simulator, or the GPU) with ``-m cuda``, so such a test
    would never run a kernel."""
    unmarked = [
        item.nodeid
        for item in items
        if item.path.name.startswith("test_cuda") and item.get_closest_marker("cuda") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests in test_cuda*.py modules need the cuda marker "
            f"(pytestmark = pytest.mark.cuda): {', '.join(unmarked[:5])}"
        )
