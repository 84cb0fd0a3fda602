"""Bit masks for schedule fields: bit ``v`` set means value ``v`` is selected.

Python ints serve as small sets here and as day/minute bitsets in the equivalence checker, so one
representation covers both without conversions.
"""

from __future__ import annotations

from collections.abc import Iterable


def span(lo: int, hi: int) -> int:
    """Mask with every value from ``lo`` to ``hi`` (inclusive) set."""
    return ((1 << (hi - lo + 1)) - 1) << lo


def mask_of(values: Iterable[int]) -> int:
    """Mask with the given values set."""
    mask = 0
    for value in values:
        mask |= 1 << value
    return mask


#: The values each byte of a mask of up to 64 bits selects, per byte position: a field's values
#: are read a byte at a time (at most eight steps, however many are set).
_BYTE_VALUES = tuple(
    tuple(tuple(8 * k + b for b in range(8) if (byte >> b) & 1) for byte in range(256))
    for k in range(8)
)


def values_of(mask: int) -> list[int]:
    """Selected values of ``mask``, ascending."""
    out: list[int] = []
    if mask >> 64:  # wider than any field: bit by bit
        while mask:
            low = mask & -mask
            out.append(low.bit_length() - 1)
            mask ^= low
        return out
    for values in _BYTE_VALUES:
        if not mask:
            break
        out += values[mask & 255]
        mask >>= 8
    return out


def lowest(mask: int) -> int:
    """Index of the lowest set bit (``mask`` must be non-zero)."""
    return (mask & -mask).bit_length() - 1


ALL_MINUTES = span(0, 59)
ALL_HOURS = span(0, 23)
ALL_DAYS = span(1, 31)
ALL_MONTHS = span(1, 12)
ALL_WEEKDAYS = span(0, 6)
EVEN_MINUTES = mask_of(range(0, 60, 2))
#: Months with 31 days, and with at least 30.
LONG_MONTHS = mask_of((1, 3, 5, 7, 8, 10, 12))
MONTHS_WITH_30 = ALL_MONTHS & ~(1 << 2)
