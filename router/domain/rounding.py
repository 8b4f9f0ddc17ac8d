"""round(x, 3) without the decimal string round() goes through: most of a decision's rounding cost."""

from __future__ import annotations

import math
from typing import Final

_HALF_MARGIN: Final = 1e-6  # far wider than x * 1000's rounding error: below _LARGEST, half an ulp is under 1e-7
_LARGEST: Final = 1e6  # past this, or at a half, or not above zero, round() itself is asked (confidences are <= 1)


def round3(x: float) -> float:
    """Exactly round(x, 3).

    round() rounds x's exact binary value to k thousandths (half to even) and returns the double nearest k/1000,
    which is k / 1000.0 (a correctly rounded division of two exact numbers). Where x * 1000 is not within a hair
    of a half, its floor and fraction give the same k; at a half, at zero (round keeps -0.0) and for values far
    out, round() decides."""
    if not 0.0 < x < _LARGEST:
        return round(x, 3)
    scaled = x * 1000.0
    whole = math.floor(scaled)
    fraction = scaled - whole
    if abs(fraction - 0.5) < _HALF_MARGIN:
        return round(x, 3)
    return (whole + 1 if fraction > 0.5 else whole) / 1000.0
