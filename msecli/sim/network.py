"""A simulated network: one request at a time, a fixed round-trip latency, then the body at the
bandwidth of the moment (constant, or piecewise constant from a trace of time/bandwidth rows)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from msecli.errors import UsageError

UNITS = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def parse_rate(text: str) -> Fraction:
    """'5Mbps', '800kbps', '2.5M', '1000000' -> bits per second."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgG]?)(?:bps|bit/s|b/s)?\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"{text!r} is not a bandwidth (e.g. 5Mbps, 800kbps)")
    return Fraction(match.group(1)) * UNITS[match.group(2).lower()]


def parse_duration(text: str) -> Fraction:
    """'40ms', '0.04s', '0.04' -> seconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*", text)
    if not match:
        raise UsageError(f"{text!r} is not a duration (e.g. 40ms, 0.5s)")
    value = Fraction(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


@dataclass(frozen=True)
class Network:
    latency: Fraction  # seconds before the first byte
    times: tuple[Fraction, ...]  # bandwidth changes at these simulated times (the first is 0)
    rates: tuple[Fraction, ...]  # bits per second from each time on

    @classmethod
    def constant(cls, bandwidth: Fraction, latency: Fraction) -> Network:
        return cls(latency, (Fraction(0),), (bandwidth,))

    @classmethod
    def from_trace(cls, path: Path, latency: Fraction) -> Network:
        """Rows of `seconds bandwidth` (whitespace or comma separated; '#' comments), times ascending."""
        times: list[Fraction] = []
        rates: list[Fraction] = []
        try:
            lines = path.read_text().splitlines()
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the network trace ({exc.strerror})") from None
        for number, line in enumerate(lines, start=1):
            fields = line.split("#")[0].replace(",", " ").split()
            if not fields:
                continue
            if len(fields) != 2:
                raise UsageError(f"{path}:{number}: expected 'seconds bandwidth'")
            try:
                time = parse_duration(fields[0])
                rate = parse_rate(fields[1])
            except UsageError as exc:
                raise UsageError(f"{path}:{number}: {exc}") from None
            if times and time <= times[-1]:
                raise UsageError(f"{path}:{number}: times must increase")
            times.append(time)
            rates.append(rate)
        if not times:
            raise UsageError(f"{path}: the network trace has no rows")
        if times[0] != 0:
            times.insert(0, Fraction(0))
            rates.insert(0, rates[0])
        return cls(latency, tuple(times), tuple(rates))

    def finish_time(self, start: Fraction, size: int) -> Fraction:
        """When a request for `size` bytes made at `start` has fully arrived."""
        now = start + self.latency
        bits = Fraction(size * 8)
        index = bisect.bisect_right(self.times, now) - 1
        while True:
            rate = self.rates[index]
            if index + 1 == len(self.times):
                return now + bits / rate
            window = self.times[index + 1] - now
            if bits <= window * rate:
                return now + bits / rate
            bits -= window * rate
            now = self.times[index + 1]
            index += 1
