"""The CUDA motion-compensated kernel against the oracle (Numba's CUDA simulator or a GPU).

Run with NUMBA_ENABLE_CUDASIM=1 (tests/run_all.sh does); elsewhere skipped with the reason.
The simulator runs each GPU thread as a Python thread: the stacks are tiny.
"""

import numpy as np
import pytest
from _support import motion_case

from nlmeans.backends import reference
from nlmeans.backends.cuda import _launcher as launcher

pytestmark = pytest.mark.cuda

REASON = launcher.availability()
device = pytest.mark.skipif(
    REASON is not None,
    reason=f"no CUDA device and no simulator ({REASON}); run with NUMBA_ENABLE_CUDASIM=1",
)


@device
@pytest.mark.parametrize(
    "case",
    [
        # channels, frames, height, width, rt, f, r, block, margin
        (1, 3, 6, 7, 1, 1, 1, 3, 2),
        (3, 3, 5, 6, 1, 0, 1, 4, 1),
    ],
)
def test_cuda_motion_kernel_matches_the_oracle(rng, case):
    from nlmeans.backends.cuda._motion import motion_pixelwise

    f, r, block, margin = case[5], case[6], case[7], case[8]
    padded, moves = motion_case(rng, *case)
    args = ((0, f, f), (case[4], r, r), 0.05, 0.3, moves, block, margin)
    expected = reference.motion_pixelwise(padded, *args)
    out = motion_pixelwise(padded, *args)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4)
