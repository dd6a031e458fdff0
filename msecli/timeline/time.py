"""Exact time. Inside the core every time is a Fraction of seconds (or INF); doubles exist only at the
API edge, as the IDL hands them in (`from_idl_double`) and as browsers report them (`to_idl_double`)."""

from __future__ import annotations

import math
from fractions import Fraction

Time = Fraction | float  # float only for +/-inf (and NaN at the edge)
INF = math.inf
ONE_MICROSECOND = Fraction(1, 1_000_000)
SIMPLEST_DENOMINATOR = 10**9


def from_idl_double(value: float) -> Time:
    """A double as the page passed it, as the time it stands for: the simplest fraction that is this double
    (0.1 is 1/10, not the double's exact binary value just above it). The spec compares and adds timestamps
    as doubles, so a frame at exactly 1/10 s, whose double is 0.1, is at 0.1; frame grids are far coarser
    than a double's precision, so comparing with that fraction exactly gives the same answers."""
    if math.isinf(value) or math.isnan(value):
        return value
    exact = Fraction(value)
    simple = exact.limit_denominator(SIMPLEST_DENOMINATOR)
    return simple if float(simple) == value else exact


def to_idl_double(value: Time | None) -> float:
    """Seconds as the IDL reports them; unset is NaN."""
    if value is None:
        return math.nan
    return float(value)
