#!/usr/bin/env bash
# The whole test suite: the CPU tests, then the CUDA backend's tests in a
# separate process with Numba's CUDA simulator (it must be enabled before
# numba is imported). On a machine with a real GPU, the second run can drop
# NUMBA_ENABLE_CUDASIM to test the device instead.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest -q
