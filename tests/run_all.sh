#!/usr/bin/env bash
# The whole test suite: the CPU tests, then the CUDA backend's tests (every
# test whose id says cuda: tests/test_cuda*.py and the CUDA cases of the other
# modules) in a separate process with Numba's CUDA simulator, which must be
# enabled before numba is imported. On a machine with a usable NVIDIA GPU the
# second run tests the device instead (NUMBA_ENABLE_CUDASIM is dropped); set
# NUMBA_ENABLE_CUDASIM (1 or 0) to force either. Fails if either run fails.
set -uo pipefail
cd "$(dirname "$0")/.."

cuda_tests=(tests/test_cuda.py tests/test_cuda_ndim.py tests/test_patch_kernel.py
    tests/test_dropin.py tests/test_poisson_gaussian.py -k cuda)

env -u NUMBA_ENABLE_CUDASIM python -m pytest -q
cpu_status=$?

if [[ -n "${NUMBA_ENABLE_CUDASIM:-}" ]]; then
    echo "CUDA tests with NUMBA_ENABLE_CUDASIM=$NUMBA_ENABLE_CUDASIM"
    python -m pytest -q "${cuda_tests[@]}"
elif python -c "import sys; from nlmeans.backends.cuda.launcher import availability as a; sys.exit(a() is not None)" \
    2>/dev/null; then
    echo "CUDA tests on the GPU"
    python -m pytest -q "${cuda_tests[@]}"
else
    echo "CUDA tests in Numba's CUDA simulator (no usable GPU here)"
    NUMBA_ENABLE_CUDASIM=1 python -m pytest -q "${cuda_tests[@]}"
fi
cuda_status=$?

if ((cpu_status != 0 || cuda_status != 0)); then
    echo "run_all.sh: failed (CPU run exit $cpu_status, CUDA run exit $cuda_status)" >&2
    exit 1
fi
