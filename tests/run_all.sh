#!/usr/bin/env bash
# The whole test suite: the CPU tests (every folder but tests/napari), then the CUDA
# backend's tests (those marked cuda: tests/backends/test_cuda*.py and the CUDA cases
# of the other modules) in a separate process with Numba's CUDA simulator, which must
# be enabled before numba is imported. On a machine with a usable NVIDIA GPU the
# second run tests the device instead (NUMBA_ENABLE_CUDASIM is dropped); set
# NUMBA_ENABLE_CUDASIM (1 or 0) to force either. Then the napari plugin's tests
# (tests/napari) in a process of their own, under xvfb-run when there is no display
# (napari's viewer needs OpenGL); they skip themselves only when napari is not
# installed. The other runs leave napari's pytest plugin unloaded. Fails if any run fails.
set -uo pipefail
cd "$(dirname "$0")/.."

cuda_tests=(tests --ignore=tests/napari -m cuda)

napari_tests=(tests/napari)

env -u NUMBA_ENABLE_CUDASIM python -m pytest -q -p no:napari tests --ignore=tests/napari
cpu_status=$?

if [[ -n "${NUMBA_ENABLE_CUDASIM:-}" ]]; then
    echo "CUDA tests with NUMBA_ENABLE_CUDASIM=$NUMBA_ENABLE_CUDASIM"
    python -m pytest -q -p no:napari "${cuda_tests[@]}"
elif python -c "import sys; from nlmeans.backends.cuda._launcher import availability as a; sys.exit(a() is not None)" \
    2>/dev/null; then
    echo "CUDA tests on the GPU"
    python -m pytest -q -p no:napari "${cuda_tests[@]}"
else
    echo "CUDA tests in Numba's CUDA simulator (no usable GPU here)"
    NUMBA_ENABLE_CUDASIM=1 python -m pytest -q -p no:napari "${cuda_tests[@]}"
fi
cuda_status=$?

if [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] && command -v xvfb-run >/dev/null \
    && python -c "import napari" 2>/dev/null; then
    echo "napari tests under xvfb-run"
    xvfb-run -a python -m pytest -q "${napari_tests[@]}"
else
    echo "napari tests"
    python -m pytest -q "${napari_tests[@]}"
fi
napari_status=$?

if ((cpu_status != 0 || cuda_status != 0 || napari_status != 0)); then
    echo "run_all.sh: failed (CPU run exit $cpu_status, CUDA run exit $cuda_status," \
        "napari run exit $napari_status)" >&2
    exit 1
fi
