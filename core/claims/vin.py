"""VIN validation (ISO 3779 / 49 CFR 565 check digit in position 9)."""
from __future__ import annotations

_TRANSLIT = {
    **{str(d): d for d in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def normalise_vin(vin: str) -> str:
    return "".join(vin.split()).upper()


def vin_error(vin: str) -> str | None:
    """Why ``vin`` is not a valid 17-character VIN, or None when it is."""
    if len(vin) != 17:
        return "a VIN has 17 characters"
    bad = sorted({c for c in vin if c not in _TRANSLIT})
    if bad:
        hint = " (I, O and Q are never used)" if set(bad) & set("IOQ") else ""
        return "a VIN cannot contain " + ", ".join(bad) + hint
    total = sum(_TRANSLIT[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    check = total % 11
    expected = "X" if check == 10 else str(check)
    if vin[8] != expected:
        return "check digit does not match (mistyped character?)"
    return None


def with_check_digit(vin: str) -> str:
    """``vin`` with position 9 set to its correct check digit (for test data and demos)."""
    vin = normalise_vin(vin)
    total = sum(_TRANSLIT[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    check = total % 11
    return vin[:8] + ("X" if check == 10 else str(check)) + vin[9:]
