"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters whose last is a check digit.

It lives with the report's schema rather than in a service's domain because intake must refuse a bad code at the
door (422) and the schemas are the one place intake, the router and the tracker all read. Pure: no I/O.
"""

from __future__ import annotations

# The code's alphabet: digits and the capitals without I, O, Z, S and V (which read as 1, 0, 2, 5 and U).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {char: value for value, char in enumerate(ALPHABET)}
# The weight of position i (0-based) of the first 17 characters: 3^i mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18


def check_character(first17: str) -> str:
    """The check character the standard computes for the first 17 characters (31 − Σ wᵢcᵢ mod 31; 31 → 0)."""
    if len(first17) != LENGTH - 1 or any(c not in VALUE for c in first17):
        raise ValueError("the first 17 characters must be of the code's alphabet")
    remainder = sum(VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True)) % 31
    return ALPHABET[(31 - remainder) % 31]


def normalise_credit_code(code: str) -> str:
    """The code as stored: without surrounding spaces, upper-case (people type 91330203mA…)."""
    return code.strip().upper()


def credit_code_problem(code: str) -> str | None:
    """Why `code` (normalised) is not a unified social credit code, or None when it is one."""
    if len(code) != LENGTH:
        return f"a unified social credit code has 18 characters, not {len(code)}"
    if bad := sorted({c for c in code if c not in VALUE}):
        return f"characters not allowed in a unified social credit code: {''.join(bad)} (no I, O, Z, S or V)"
    expected = check_character(code[:-1])
    if code[-1] != expected:
        return f"check digit {code[-1]} does not match: the first 17 characters give {expected}"
    return None
