"""Coded frames as the core sees them: one at a time (`CodedFrame`, exact Fractions, what the spec's
per-frame steps read) or a whole track's worth from one media segment (`FrameBatch`, integer ticks in
numpy columns, what the parsers produce and the bulk path consumes), plus exact tick arithmetic."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

import numpy as np

from msecli.timeline.time import ONE_MICROSECOND, Time

# Tick values stay below this in int64 columns; a timescale that would pass it (timestampOffset = 0.1 is
# a 2**-55 grid) moves the columns to Python ints (dtype=object): slower, still exact.
INT64_SAFE = 1 << 62
T = TypeVar("T")


@dataclass(slots=True)
class CodedFrame:
    pts: Fraction
    dts: Fraction
    duration: Fraction
    key: bool
    size: int

    @property
    def end(self) -> Fraction:
        return self.pts + self.duration

    @property
    def span_end(self) -> Fraction:
        """Where the frame's presentation ends in ranges: a zero duration still covers 1 µs."""
        return self.pts + self.duration if self.duration > 0 else self.pts + ONE_MICROSECOND


@dataclass
class FrameBatch:
    """One track's coded frames from one media segment (or the part of it parsed so far), in the order the
    parser found them: `table` in ticks of `timescale` (formats.frames.FRAME_DTYPE) and `seq`, each frame's
    place in the segment's frame order across all its tracks."""

    track_id: int
    timescale: int
    table: np.ndarray
    seq: np.ndarray
    cumulative: bool = False  # durations are differences of running timestamps (MPEG audio), not their own

    def __len__(self) -> int:
        return len(self.table)

    def frame(self, index: int) -> CodedFrame:
        row, scale = self.table[index], self.timescale
        return CodedFrame(Fraction(int(row["pts"]), scale), Fraction(int(row["dts"]), scale),
                          Fraction(int(row["duration"]), scale), bool(row["key"]), int(row["size"]))  # fmt: skip

    def in_microseconds(self) -> FrameBatch:
        """The same frames with times in whole microseconds, truncated toward zero (Chromium's
        TimeDeltaFromRational; for MPEG audio, its AudioTimestampHelper's double arithmetic, which can fall a
        microsecond short: 86 frames of 576 samples at 24 kHz end at 2.063999)."""
        if self.timescale == 1_000_000:
            return self
        table = self.table.copy()
        if self.cumulative:  # AudioTimestampHelper: microseconds per frame as a double, times the sample count
            per_sample = 1e6 / self.timescale
            ends = np.trunc(per_sample * (table["pts"] + table["duration"])).astype(np.int64)
            table["pts"] = table["dts"] = np.trunc(per_sample * table["pts"]).astype(np.int64)
            table["duration"] = ends - table["pts"]
        else:
            for name in ("pts", "dts", "duration"):
                table[name] = _truncated_us(table[name], self.timescale)
        return FrameBatch(self.track_id, 1_000_000, table, self.seq, self.cumulative)

    def select(self, keep: np.ndarray | slice) -> FrameBatch:
        return FrameBatch(self.track_id, self.timescale, self.table[keep], self.seq[keep], self.cumulative)


def _truncated_us(ticks: np.ndarray, timescale: int) -> np.ndarray:
    return np.sign(ticks) * ((np.abs(ticks) * 1_000_000) // timescale)


def in_segment_order(owned: list[tuple[T, FrameBatch]]) -> list[tuple[T, CodedFrame]]:
    """Every frame of the batches, each with what its batch was paired with, in the segment's order: what
    the per-frame algorithm walks."""
    tagged = [(int(seq), owner, batch, index) for owner, batch in owned for index, seq in enumerate(batch.seq)]
    tagged.sort(key=lambda item: item[0])
    return [(owner, batch.frame(index)) for _, owner, batch, index in tagged]


def in_decode_order(owned: list[tuple[T, FrameBatch]], is_audio: Callable[[T], bool]) -> list[tuple[T, FrameBatch]]:
    """The batches with `seq` renumbered to the order Chromium's MergeBufferQueues gives their frames: the lowest
    decode timestamp next, a tie going to the batch that comes first with audio batches ahead of the others (each
    group in the order given); within a batch, its own order. (A k-way merge of batches each in decode order, which
    an MP4 track run is.)"""
    scale = math.lcm(*(batch.timescale for _, batch in owned))
    ranked = sorted(range(len(owned)), key=lambda i: not is_audio(owned[i][0]))
    dts = np.concatenate([scaled(owned[i][1].table["dts"], scale // owned[i][1].timescale) for i in ranked])
    rank = np.concatenate([np.full(len(owned[i][1]), r) for r, i in enumerate(ranked)])
    place = np.concatenate([np.arange(len(owned[i][1])) for i in ranked])
    seq = np.empty(len(dts), np.int64)
    seq[np.lexsort((place, rank, dts))] = np.arange(len(dts))
    out: list[tuple[T, FrameBatch]] = [owned[0]] * len(owned)
    start = 0
    for i in ranked:
        owner, batch = owned[i]
        out[i] = (owner, FrameBatch(batch.track_id, batch.timescale, batch.table, seq[start : start + len(batch)],
                                    batch.cumulative))  # fmt: skip
        start += len(batch)
    return out


def ceil_ticks(value: Time, scale: int) -> int | float:
    """The smallest tick count t with t / scale >= value (infinities pass through): for any integer
    tick x, x < value exactly when x < ceil_ticks(value)."""
    if isinstance(value, float):
        return value
    return -((-value.numerator * scale) // value.denominator)


def floor_ticks(value: Time, scale: int) -> int | float:
    if isinstance(value, float):
        return value
    return (value.numerator * scale) // value.denominator


def scaled(ticks: np.ndarray, factor: int, offset: int = 0) -> np.ndarray:
    """ticks * factor + offset, exactly: int64 while that is safe, Python ints (object) past it."""
    if factor == 1 and offset == 0:
        return ticks
    if ticks.dtype != object and len(ticks):
        bound = max(abs(int(ticks.max())), abs(int(ticks.min()))) * factor + abs(offset)
        if bound >= INT64_SAFE:
            ticks = ticks.astype(object)
    return ticks * factor + offset


def common_scale(scale: int, *values: Fraction | int) -> int:
    """The smallest multiple of `scale` on whose grid every value lies."""
    for value in values:
        denominator = value.denominator if isinstance(value, Fraction) else 1
        scale = scale * denominator // math.gcd(scale, denominator)
    return scale


class InputBuffer:
    """The SourceBuffer's input buffer (§5.1). appendBuffer copies its data in; bytes that cannot change
    (`bytes`, read-only views such as a read-only mmap) are kept by reference instead, which is the same
    thing observably and spares copying every segment. Consuming from the front is a view, not a move."""

    def __init__(self) -> None:
        self._data: bytes | bytearray | memoryview = b""

    def __len__(self) -> int:
        return len(self._data)

    @property
    def data(self) -> bytes | bytearray | memoryview:
        return self._data

    def append(self, chunk: bytes | bytearray | memoryview) -> None:
        immutable = isinstance(chunk, bytes) or (isinstance(chunk, memoryview) and chunk.readonly)
        if not self._data and immutable:
            self._data = chunk
        elif isinstance(self._data, bytearray):
            self._data += chunk
        else:
            self._data = bytearray(self._data) + bytes(chunk)

    def consume(self, size: int) -> None:
        if isinstance(self._data, bytearray):
            del self._data[:size]
        else:
            self._data = memoryview(self._data)[size:]
