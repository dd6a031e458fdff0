"""Exact time. Inside the core every time is a Fraction of seconds (or INF); doubles exist only at the
API edge, as the IDL hands them in (`from_idl_double`) and as browsers report them (`to_idl_double`)."""

from __future__ import annotations

import math
from fractions import Fraction

Time = Fraction | float  # float only for +/-inf (and NaN at the edge)
INF = math.inf
ONE_MICROSECOND = Fraction(1, 1_000_000)


def from_idl_double(value: float) -> Time:
    """A double as the page passed it, exactly (Fraction(0.1) is the double nearest 0.1, not 1/10)."""
    if math.isinf(value) or math.isnan(value):
        return value
    return Fraction(value)


def to_idl_double(value: Time | None) -> float:
    """Seconds as the IDL reports them; unset is NaN."""
    if value is None:
        return math.nan
    return float(value)
