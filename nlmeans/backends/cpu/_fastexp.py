"""A vectorisable float32 exp(−x) for the CPU kernels' weights.

exp(−x) = 2^(−x·log2 e); 2^y = 2^n · 2^g with n = rint(y) and g = y − n in
[−0.5, 0.5]: 2^g by a degree-5 polynomial, 2^n by writing n + 127 into the
exponent bits of a float32. Branch-free, so LLVM vectorises the loops that
call it; NumPy's exp would not inline into them.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ..._kernel_cache import ensure_kernel_cache

ensure_kernel_cache(__file__)  # before the first cached kernel is defined

#: exp(−x) is evaluated for x in [0, EXP_ARG_MAX]; e^−87 ≈ 1.6e-38 is the
#: smallest normal float32 it reaches, below that a weight is negligible.
EXP_ARG_MAX = np.float32(87.0)
#: The same bound for 2^y: y in [EXP2_ARG_MIN, 0].
EXP2_ARG_MIN = np.float32(-125.0)
LOG2_E = 1.4426950408889634
_MINUS_LOG2_E = np.float32(-LOG2_E)
# 2^g on [−0.5, 0.5] (degree-5 fit, relative error < 3e-7 in float32).
_P0 = np.float32(1.00000007)
_P1 = np.float32(0.69314695)
_P2 = np.float32(0.24022122)
_P3 = np.float32(0.05550743)
_P4 = np.float32(0.00967546)
_P5 = np.float32(0.0013267)
_ZERO = np.float32(0.0)
_EXPONENT_ONE = np.float32(127 * 2**23)  # IEEE-754 bits of 1.0f
_EXPONENT_STEP = np.float32(2**23)  # one unit of the float32 exponent field
#: Multiplies and adds may fuse into FMAs (one rounding instead of two) in the
#: kernels; nothing else is relaxed, so NaN, Inf and rounding stay IEEE.
FMA = {"contract"}


@intrinsic
def _float32_from_bits(typingctx, bits):
    """Reinterpret the bits of an int32 as a float32 (no numeric conversion)."""
    if bits != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@njit(cache=True, inline="always", fastmath=FMA)
def exp2(y):
    """2^y for float32 y in [EXP2_ARG_MIN, 0], vectorisable, relative error < 5e-7.

    2^y = 2^n · 2^g with n = rint(y) and g = y − n in [−0.5, 0.5]: 2^g by a
    polynomial, 2^n by writing n + 127 into the exponent bits of a float32.
    """
    n = np.rint(y)
    g = y - n
    p = _P5 * g + _P4
    p = p * g + _P3
    p = p * g + _P2
    p = p * g + _P1
    p = p * g + _P0
    return p * _float32_from_bits(np.int32(n * _EXPONENT_STEP + _EXPONENT_ONE))


@njit(cache=True, inline="always", fastmath=FMA)
def exp_minus(x):
    """exp(−x) = 2^(−x·log2 e) for float32 x in [0, EXP_ARG_MAX], relative error < 5e-6."""
    return exp2(x * _MINUS_LOG2_E)
