"""A track buffer (§7.1): its coded frames in numpy columns of integer ticks on one exact grid (`scale`
ticks per second), in decode order, with a presentation-order index beside them and the track buffer
ranges kept up to date as frames come and go.

Appending at the end and dropping from the front, what playback does all day, touch only the frames
concerned; lookups are binary searches; removals and range repairs look only at the frames around them."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from msecli.mse.coded_frames import INT64_SAFE, CodedFrame, ceil_ticks, common_scale, floor_ticks, scaled
from msecli.timeline.ranges import TimeRanges
from msecli.timeline.time import INF, ONE_MICROSECOND, Time

__all__ = ["CodedFrame", "TrackBuffer"]

TIME_COLUMNS = frozenset({"dts", "pts", "duration", "end"})
Gop = tuple[Fraction, Fraction, int]  # first PTS, end of presentation, bytes


class _Store:
    """Equal-length numpy columns with room at both ends: appends at the end and removals at the front
    cost only the rows they touch. Rows come in as tuples of columns, in the order the store was made with;
    it is sorted by its first column."""

    def __init__(self, dtypes: dict[str, type]) -> None:
        self._data: dict[str, np.ndarray] = {name: np.empty(64, dtype) for name, dtype in dtypes.items()}
        self._order = list(dtypes)
        self._time_names = [name for name in self._order if name in TIME_COLUMNS]
        self._time_indexes = [index for index, name in enumerate(self._order) if name in TIME_COLUMNS]
        self._objects = False  # the time columns hold Python ints (dtype=object)
        self._lo = self._hi = 0

    def __len__(self) -> int:
        return self._hi - self._lo

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name][self._lo : self._hi]

    def first_column(self) -> np.ndarray:
        return self._data[self._order[0]][self._lo : self._hi]

    def columns(self) -> list[np.ndarray]:
        return [self._data[name][self._lo : self._hi] for name in self._order]

    @property
    def exact_objects(self) -> bool:
        return self._objects

    def to_objects(self) -> None:
        for name in self._time_names:
            self._data[name] = self._data[name].astype(object)
        self._objects = True

    def rescale(self, factor: int) -> None:
        if not len(self):
            return
        if factor >= INT64_SAFE and not self._objects:
            self.to_objects()
        for name in self._time_names:
            self._data[name][self._lo : self._hi] *= factor

    def insert(self, index: int, rows: tuple[np.ndarray, ...]) -> None:
        """Rows at `index`; a column given as a scalar (not a time column) fills its rows with it."""
        count = len(rows[0])
        if not count:
            return
        if not self._objects and any(rows[i].dtype == object for i in self._time_indexes):
            self.to_objects()
        data, size = self._data, len(self)
        if self._hi + count <= len(data[self._order[0]]):  # room at the end: shift the tail (nothing, when appending)
            at, hi = self._lo + index, self._hi
            for name, new in zip(self._order, rows):
                column = data[name]
                if at < hi:
                    column[at + count : hi + count] = column[at:hi]
                column[at : at + count] = new
            self._hi += count
            return
        grown_capacity = max(64, 2 * (size + count))
        for name, new in zip(self._order, rows):
            column = data[name]
            grown = np.empty(grown_capacity, column.dtype)
            grown[:index] = column[self._lo : self._lo + index]
            grown[index : index + count] = new
            grown[index + count : size + count] = column[self._lo + index : self._hi]
            data[name] = grown
        self._lo, self._hi = 0, size + count

    def delete(self, start: int, stop: int, keep: np.ndarray | None = None) -> None:
        """Drop rows [start, stop), except those `keep` (a mask over them) marks."""
        kept = 0 if keep is None else int(np.count_nonzero(keep))
        gone = stop - start - kept
        if gone <= 0:
            return
        if start == 0 and not kept:
            self._lo += stop
            return
        lo = self._lo
        for column in self._data.values():
            kept_rows = column[lo + start : lo + stop][keep] if kept else None
            if start < len(self) - stop:  # fewer rows before the hole than after it: move those
                column[lo + gone : lo + gone + start] = column[lo : lo + start]
                if kept:
                    column[lo + gone + start : lo + stop] = kept_rows
            else:
                if kept:
                    column[lo + start : lo + start + kept] = kept_rows
                column[lo + start + kept : self._hi - gone] = column[lo + stop : self._hi]
        if start < len(self) - stop:
            self._lo += gone
        else:
            self._hi -= gone


@dataclass
class TrackBuffer:
    id: int
    kind: str  # audio, video, text
    codec: str
    last_decode_timestamp: Fraction | None = None
    last_frame_duration: Fraction | None = None
    highest_end_timestamp: Fraction | None = None
    need_random_access_point_flag: bool = True
    max_frame_duration: Fraction = Fraction(0)  # largest seen: the spec's merge-threshold practice
    max_interbuffer_distance: Fraction = Fraction(1, 1000)  # Chromium's, grows, never shrinks
    last_appended_pts: Fraction | None = None  # eviction never removes this GOP or earlier ones from the back
    # chromium (interbuffer_distance_across_adjacent_groups): SourceBufferStream's last appended DTS and the highest
    # frame start of its current append sequence, which outlive a coded frame group that starts adjacent to it
    stream_last_dts: Fraction | None = None
    sequence_highest_pts: Fraction | None = None
    bytes: int = 0
    key_frames: int = 0  # running count of the stored random access points
    annexb_parameter_sets: int = 0  # H.264 in ISO BMFF: its latest init segment's SPS and PPS as Annex B, bytes
    mutations: int = 0  # bumped on every change to the stored frames (observers cache on it)
    removals: int = 0  # bumped on every removal of stored frames
    scale: int = 1  # ticks per second of every stored time
    _decode: _Store = field(
        default_factory=lambda: _Store(
            {"dts": np.int64, "pts": np.int64, "duration": np.int64, "key": np.bool_, "size": np.int64}
        )  # fmt: skip
    )
    _presentation: _Store = field(default_factory=lambda: _Store({"pts": np.int64, "end": np.int64, "shape": np.int64}))
    coded_size: tuple[int, int] = (0, 0)  # video: the picture size of the init segment frames now come under
    decoder_delay: Fraction = Fraction(0)  # audio: seconds its decoder discards at each start (audio_codec_delay_discarded)
    _shapes: set[int] = field(default_factory=set)  # every packed size stored so far
    _min_offset: int = 0  # bounds of PTS - DTS in ticks over the stored frames (B-frame reordering)
    _max_offset: int = 0
    _ranges: list[list[int]] | None = None  # [start, end, highest frame start] in ticks
    # chromium (merge_by_fudge_room): a range joins the one before when it starts within the merge gap of that one's
    # highest frame start (SourceBufferRange::IsNextInPresentationSequence); spec: when the gap between them is smaller
    merge_by_start: bool = False
    # chromium (range_holds_whole_gops): a hole inside one GOP's presentation is buffered: a range reads from its
    # start to its highest frame end (SourceBufferStream::GetBufferedRanges); spec: the frames' intervals
    whole_gops: bool = False
    _ranges_gap: Time | None = None
    # the ranges as Fractions, and as the [start, end, highest start] spans (ticks) they are made of, for the same key
    _ranges_view: tuple[tuple, TimeRanges, list[list[int]]] | None = None
    # chromium: [from, frame) spans reported as buffered with no frame in them, where a range starts before its
    # first frame (see `bridge`), and whether each needs frames reaching its start
    bridges: list[tuple[Fraction, Fraction, bool]] = field(default_factory=list)
    # chromium: (DTS, PTS) of keyframes that began a range of their own (see `head`): a range starts at its first frame
    heads: list[tuple[Fraction, Fraction]] = field(default_factory=list)
    # chromium: PTS of keyframes where remove() split a range (see `cut`)
    cuts: list[Fraction] = field(default_factory=list)
    # chromium (eviction_while_seek_pending): where the media pipeline's seek of this stream waits for data, if it does
    seek_pending_at: Fraction | None = None
    # chromium (audio_preroll_kept): the last audio frame dropped wholly before appendWindowStart, (PTS, end, the memory
    # it holds), kept to preroll the next one; and one sample's duration, how close that one must start
    preroll: tuple[Fraction, Fraction, int] | None = None
    sample_duration: Fraction = Fraction(1, 48000)
    # chromium: an Opus stream's seek starts reading its SeekPreRoll before the target (SourceBufferStream::Seek); where
    # the stream will next be read from after a seek, until the renderers read on (None then)
    seek_preroll: Fraction = Fraction(0)
    read_from: Fraction | None = None

    # The exact grid

    def fit(self, *values: Fraction | int) -> None:
        """Refine the grid so that every value lies on it, rescaling what is stored."""
        scale = common_scale(self.scale, *values)
        if scale == self.scale:
            return
        factor = scale // self.scale
        if len(self) and not self._decode.exact_objects and self._largest_tick() * factor >= INT64_SAFE:
            self._decode.to_objects()
            self._presentation.to_objects()
        self._decode.rescale(factor)
        self._presentation.rescale(factor)
        if self._ranges is not None:
            self._ranges = [[value * factor for value in span] for span in self._ranges]
        self._min_offset *= factor
        self._max_offset *= factor
        self.scale = scale

    def ticks(self, value: Fraction) -> int:
        """A time on the grid (after `fit`) as ticks."""
        return value.numerator * (self.scale // value.denominator)

    def time(self, ticks: int) -> Fraction:
        return Fraction(int(ticks), self.scale)

    def _largest_tick(self) -> int:
        dts, end = self._decode["dts"], self._presentation["end"]
        return max(abs(int(dts.min())), abs(int(dts.max())), abs(int(end.min())), abs(int(end.max())))

    def _ceil(self, value: Time) -> int | float:
        return ceil_ticks(value, self.scale)

    # Reading

    def __len__(self) -> int:
        return len(self._decode)

    def frame(self, index: int) -> CodedFrame:
        d = self._decode
        return CodedFrame(self.time(d["pts"][index]), self.time(d["dts"][index]), self.time(d["duration"][index]),
                          bool(d["key"][index]), int(d["size"][index]))  # fmt: skip

    @property
    def frames(self) -> list[CodedFrame]:
        """Every stored frame in decode order (built on demand: for tests and reports, not hot paths)."""
        return [self.frame(index) for index in range(len(self))]

    @property
    def highest_pts(self) -> Fraction | None:
        pts = self._presentation["pts"]
        return self.time(pts[-1]) if len(pts) else None

    def frames_presented_between(self, start: Time, end: Time) -> int:
        """How many frames have a presentation timestamp in [start, end)."""
        pts = self._presentation["pts"]
        return self._count_below(pts, end) - self._count_below(pts, start)

    def frames_ending_after(self, position: Fraction) -> int:
        """How many frames' presentation intervals reach past `position` (what a renderer has left to show)."""
        # Ends are whole ticks: end > position exactly when end > the position's floor in ticks.
        return int(np.count_nonzero(self._presentation["end"] > floor_ticks(position, self.scale)))

    def _count_below(self, sorted_ticks: np.ndarray, value: Time) -> int:
        bound = self._ceil(value)
        if bound == INF:
            return len(sorted_ticks)
        if bound == -INF:
            return 0
        return int(np.searchsorted(sorted_ticks, bound, side="left"))

    def size_at(self, position: Time) -> tuple[int, int] | None:
        """Video: the picture size of the frame on show at `position` (the last one presented at or before it)."""
        shown = self._count_at_or_below(position)
        return None if shown == 0 else _unpacked(int(self._presentation["shape"][shown - 1]))

    def next_size_change(self, position: Time) -> Fraction | None:
        """The presentation time of the first frame after `position` whose picture size differs from the one shown."""
        if len(self._shapes) < 2:
            return None
        shown = self._count_at_or_below(position)
        shapes = self._presentation["shape"]
        if shown == 0:
            return None
        changes = np.flatnonzero(shapes[shown:] != shapes[shown - 1])
        return self.time(self._presentation["pts"][shown + int(changes[0])]) if len(changes) else None

    def _count_at_or_below(self, position: Time) -> int:
        pts = self._presentation["pts"]
        bound = floor_ticks(position, self.scale)
        if bound == INF:
            return len(pts)
        return 0 if bound == -INF else int(np.searchsorted(pts, bound, side="right"))

    def has_pts_in(self, start: Time, end: Time) -> bool:
        return self.has_ticks_in(self._ceil(start), self._ceil(end))

    def has_ticks_in(self, low: int | float, high: int | float) -> bool:
        """has_pts_in for [low, high) in ticks (or infinities). Appending after everything stored, what playback
        does, needs no search."""
        pts = self._presentation["pts"]
        if not len(pts) or pts[-1] < low:
            return False
        index = int(np.searchsorted(pts, low, side="left"))
        return index < len(pts) and pts[index] < high

    def indexes_starting_in(self, start: Time, end: Time) -> np.ndarray:
        """Decode-order indexes of the frames whose PTS lies in [start, end). A frame's PTS lies within
        [DTS + min offset, DTS + max offset], so only that slice of decode order is looked at."""
        if not self.has_pts_in(start, end):
            return np.zeros(0, np.int64)
        low_tick, high_tick = self._ceil(start), self._ceil(end)
        dts = self._decode["dts"]
        low = int(np.searchsorted(dts, low_tick - self._max_offset, side="left"))
        high = len(dts) if high_tick == INF else int(np.searchsorted(dts, high_tick - self._min_offset, side="left"))
        pts = self._decode["pts"][low:high]
        inside = pts >= low_tick
        if high_tick != INF:
            inside &= pts < high_tick
        return np.flatnonzero(inside) + low

    def frame_containing(self, time: Fraction) -> tuple[int, CodedFrame] | None:
        """The first frame in decode order whose presentation interval [PTS, PTS + duration) holds `time`."""
        for index in self.indexes_starting_in(time - self.max_frame_duration, time + ONE_MICROSECOND):
            frame = self.frame(int(index))
            if frame.pts <= time < frame.end:
                return int(index), frame
        return None

    def pts_where_dts_is(self, indexes: np.ndarray, value: Fraction | None) -> Fraction | None:
        """The PTS of the first of the frames at decode `indexes` whose DTS is `value`; None if none is."""
        if value is None or not len(indexes) or (value * self.scale).denominator != 1:
            return None
        found = np.flatnonzero(self._decode["dts"][indexes] == self.ticks(value))
        return self.time(self._decode["pts"][indexes[found[0]]]) if len(found) else None

    def first_random_access_point_at_or_after(self, time: Time) -> Fraction | None:
        """The smallest PTS of a keyframe at or after `time`, looking no further than needed."""
        bound = self._ceil(time)
        if bound == INF or not len(self):
            return None
        dts, pts, key = self._decode["dts"], self._decode["pts"], self._decode["key"]
        index = int(np.searchsorted(dts, bound - self._max_offset, side="left"))
        best, step = None, 64
        while index < len(dts):
            stop = min(len(dts), index + step)
            window = pts[index:stop]
            candidates = window[key[index:stop] & (window >= bound)]
            if len(candidates):
                found = candidates.min()
                best = found if best is None else min(best, found)
            if best is not None and dts[stop - 1] > best - self._min_offset:
                break  # every later frame presents after `best`
            index, step = stop, step * 2
        return None if best is None else self.time(best)

    def keyframe_index(self, pts: Fraction) -> int:
        """The decode-order index of the keyframe presented at `pts` (the length if there is none)."""
        for index in self.indexes_starting_in(pts, pts + ONE_MICROSECOND):
            if self._decode["key"][index] and self.time(self._decode["pts"][index]) == pts:
                return int(index)
        return len(self)

    def rap_dts_at_or_before(self, position: Time) -> Fraction | None:
        """The DTS of the keyframe with the largest PTS at or before `position` (where decoding starts)."""
        best = self._rap_at_or_before(position)
        return None if best is None else self.time(self._decode["dts"][best])

    def rap_pts_at_or_before(self, position: Time) -> Fraction | None:
        """The largest keyframe PTS at or before `position`."""
        best = self._rap_at_or_before(position)
        return None if best is None else self.time(self._decode["pts"][best])

    def _rap_at_or_before(self, position: Time) -> int | None:
        d = self._decode
        if not len(self):
            return None
        bound = floor_ticks(position, self.scale)
        candidates = np.flatnonzero(d["key"] if bound == INF else d["key"] & (d["pts"] <= bound))
        if not len(candidates):
            return None
        return int(candidates[np.argmax(d["pts"][candidates])])

    def seek(self, time: Fraction, merge_gap: Time) -> None:
        """chromium (SourceBufferStream::Seek): the pipeline seeks this stream to `time`; it waits for data there, and
        is read from there (an Opus stream from its seek preroll before it, within the range) once it has it."""
        self.seek_pending_at = time
        self.read_from = None
        self.seek_if_pending(merge_gap)

    def seek_if_pending(self, merge_gap: Time) -> None:
        """A waiting seek completes once a range can seek to its time: the time lies in [start - fudge room, end) of
        one (SourceBufferRange::CanSeekTo), or the first range starts at or after it and under 1 s
        (ShouldSeekToStartOfBuffered, kSeekToStartFudgeRoom)."""
        time = self.seek_pending_at
        if time is None or not len(self):
            return
        ranges = self.ranges(merge_gap)
        if time <= ranges.start(0) < 1:
            self.seek_pending_at, self.read_from = None, Fraction(ranges.start(0))
            return
        held = next(((start, end) for start, end in ranges.spans() if max(0, start - merge_gap) <= time < end), None)
        if held is not None:
            self.seek_pending_at = None
            preroll = max(time - self.seek_preroll, held[0]) if self.seek_preroll and time > held[0] else time
            self.read_from = Fraction(preroll)

    def highest_pts_before_passing(self, time: Fraction) -> Fraction | None:
        """chromium (SourceBufferRange::FindHighestBufferedTimestampAtOrBefore): from the keyframe with the largest PTS
        at or before `time`, in decode order up to the first frame presented after `time`, the highest PTS. None when
        no keyframe is presented at or before `time`."""
        start = self._rap_at_or_before(time)
        if start is None:
            return None
        pts = self._decode["pts"][start:]
        passing = np.flatnonzero(pts > floor_ticks(time, self.scale))
        stop = int(passing[0]) if len(passing) else len(pts)
        return self.time(pts[:stop].max())

    def decode_order_columns(self, from_dts: Fraction, inclusive: bool, before_pts: Time) -> tuple[np.ndarray, ...]:
        """(pts, dts, key, size) columns, times in ticks of `scale`, of the frames from `from_dts` on in decode
        order, as far as every frame presented before `before_pts` is among them."""
        d = self._decode
        self.fit(from_dts)
        low = int(np.searchsorted(d["dts"], self.ticks(from_dts), side="left" if inclusive else "right"))
        high = len(self) if before_pts == INF else int(np.searchsorted(d["dts"], self._ceil(before_pts) - self._min_offset,
                                                                      side="left"))  # fmt: skip
        rows = slice(low, max(low, high))
        return d["pts"][rows].copy(), d["dts"][rows].copy(), d["key"][rows].copy(), d["size"][rows].copy()

    def _next_key(self, index: int) -> int:
        """The first keyframe index at or after `index` (the length if none)."""
        key, step = self._decode["key"], 64
        while index < len(key):
            stop = min(len(key), index + step)
            found = np.flatnonzero(key[index:stop])
            if len(found):
                return index + int(found[0])
            index, step = stop, step * 2
        return len(key)

    def _last_key(self) -> int:
        key, stop, step = self._decode["key"], len(self), 64
        while stop > 0:
            start = max(0, stop - step)
            found = np.flatnonzero(key[start:stop])
            if len(found):
                return start + int(found[-1])
            stop, step = start, step * 2
        return 0

    def first_gop(self) -> Gop | None:
        """(first PTS, end of presentation, bytes) of the first GOP in decode order."""
        return self._gop(0, self._next_key(1)) if len(self) else None

    def gop_after(self, time: Fraction) -> Gop | None:
        """(first PTS, end of presentation, bytes) of the GOP whose keyframe is the first presented after `time`."""
        d = self._decode
        keys = np.flatnonzero(d["key"])
        later = keys[d["pts"][keys] > floor_ticks(time, self.scale)]  # whole ticks: pts > time exactly then
        if not len(later):
            return None
        first = int(later[np.argmin(d["pts"][later])])
        following = keys[keys > first]
        return self._gop(first, int(following[0]) if len(following) else len(self))

    def last_gop(self) -> Gop | None:
        return self._gop(self._last_key(), len(self)) if len(self) else None

    def _gop(self, start: int, stop: int) -> Gop:
        """The GOP of decode indexes [start, stop). It ends where its frames end, or, where those overlap the next GOP's
        keyframe (as after a coded frame group joined its range inside a frame), at that keyframe: evicting the GOP
        removes its own frames (Chromium's DeleteGOPFromFront), not that keyframe."""
        d = self._decode
        pts = d["pts"][start:stop]
        end = (pts + d["duration"][start:stop]).max()
        if stop < len(self) and pts.min() < d["pts"][stop] < end:
            end = d["pts"][stop]
        return self.time(pts.min()), self.time(end), int(d["size"][start:stop].sum())

    # Storing

    def add(self, frame: CodedFrame, previous_dts: Fraction | None = None) -> None:
        """One frame (the per-frame path of coded frame processing). `previous_dts`: the DTS of the frame
        stored before it in the same coded frame group, if any."""
        self.fit(frame.pts, frame.dts, frame.duration, frame.span_end)
        if previous_dts is not None:
            self.fit(previous_dts)
        dts, pts, duration = (_column([self.ticks(t)]) for t in (frame.dts, frame.pts, frame.duration))
        previous = None if previous_dts is None else self.ticks(previous_dts)
        self.store(dts, pts, duration, np.array([frame.key]), np.array([frame.size], np.int64), previous)

    def store(self, dts: np.ndarray, pts: np.ndarray, duration: np.ndarray, key: np.ndarray, size: np.ndarray,
              previous_dts: int | None = None, ends: np.ndarray | None = None,
              steps: np.ndarray | None = None) -> None:  # fmt: skip
        """Frames in ticks of `scale`, in decode order among themselves, as if added one by one; `previous_dts`
        is the DTS of the frame stored before them in the same coded frame group, if any. `ends` (pts +
        duration) and `steps` (the DTS differences) spare computing them again when the caller has them."""
        if not len(dts):
            return
        has_zero = duration.min() <= 0
        if has_zero and self.scale % 1_000_000:  # a zero duration still covers 1 µs in ranges
            old = self.scale
            self.fit(ONE_MICROSECOND)
            dts, pts, duration = (scaled(a, self.scale // old) for a in (dts, pts, duration))
            previous_dts = None if previous_dts is None else previous_dts * (self.scale // old)
            ends = steps = None
        if not self._decode.exact_objects and object in (dts.dtype, pts.dtype, duration.dtype):
            self._decode.to_objects()
            self._presentation.to_objects()
        self._note_stats(previous_dts, dts, pts, duration, steps)
        if self.cuts:  # frames appended: Chromium's ranges merge again where they may
            self.cuts = []
        self._insert_sorted(self._decode, dts, (dts, pts, duration, key, size))
        if has_zero:
            ends = pts + np.where(duration <= 0, self.ticks(ONE_MICROSECOND), duration)
        elif ends is None:
            ends = pts + duration
        self._store_presentation(pts, ends)
        self.bytes += int(size.sum())
        self.key_frames += int(np.count_nonzero(key))
        self.mutations += 1

    def _insert_sorted(self, store: _Store, values: np.ndarray, columns: tuple[np.ndarray, ...]) -> None:
        """Rows (sorted by `values`, the store's first column, among themselves) into a store sorted by its
        first column, each after the equal ones already there. Appending after everything, what playback
        does, skips the search."""
        stored = store.first_column()
        if not len(stored) or values[0] >= stored[-1]:
            store.insert(len(stored), columns)
            return
        positions = np.searchsorted(stored, values, side="right")
        if positions[0] == positions[-1]:  # one block, into one gap
            store.insert(int(positions[0]), columns)
        else:
            self._merge_into(store, positions, columns)

    def _note_stats(self, previous_dts: int | None, dts: np.ndarray, pts: np.ndarray, duration: np.ndarray,
                    steps: np.ndarray | None = None) -> None:  # fmt: skip
        """Largest duration; Chromium's largest inter-buffer distance (each frame's duration or, after the
        first frame of a coded frame group, its DTS step from the frame appended before it, if larger:
        SourceBufferStream::UpdateMaxInterbufferDistance); PTS - DTS bounds."""
        longest = int(duration.max())
        if len(dts) > 1:
            steps = dts[1:] - dts[:-1] if steps is None else steps
            largest = max(longest, int(steps.max()))
        else:
            largest = longest
        if previous_dts is not None:
            largest = max(largest, int(dts[0]) - previous_dts)
        if _above(largest, self.scale, self.max_interbuffer_distance):
            self.max_interbuffer_distance = self.time(largest)
        if _above(longest, self.scale, self.max_frame_duration):
            self.max_frame_duration = self.time(longest)
        offsets = pts - dts
        low, high = int(offsets.min()), int(offsets.max())
        if not len(self):
            self._min_offset, self._max_offset = low, high
        else:
            self._min_offset, self._max_offset = min(self._min_offset, low), max(self._max_offset, high)

    @staticmethod
    def _merge_into(store: _Store, positions: np.ndarray, columns: tuple[np.ndarray, ...]) -> None:
        merged = tuple(np.insert(stored, positions, new) for stored, new in zip(store.columns(), columns))
        store.delete(0, len(store))
        store.insert(0, merged)

    def _store_presentation(self, pts: np.ndarray, ends: np.ndarray) -> None:
        order = np.argsort(pts, kind="stable")
        pts, ends = pts[order], ends[order]
        shape = _packed(self.coded_size)
        self._shapes.add(shape)
        self._insert_sorted(self._presentation, pts, (pts, ends, shape))  # type: ignore[arg-type]  # a scalar fills its column
        if self._ranges is not None:
            self._ranges = self._merge(self._ranges, self._spans_of(pts, ends))

    # Bridges (chromium)

    def bridge(self, start: Fraction, keyframe: Fraction, reaching: bool = True) -> None:
        """Report [start, keyframe) as buffered though no frame is there: Chromium's range holding `keyframe` first
        starts at `start`. SourceBufferRange::SplitRange starts the range it splits off from the removal's end
        (`reaching`: it counts only while frames before it reach `start`, joining the two); SourceBufferStream
        opens a range at its coded frame group's start. The bridge lasts while the keyframe is stored and no
        removal crosses it."""
        self.bridges.append((start, keyframe, reaching))
        self.mutations += 1

    def drop_bridges_in(self, start: Time, end: Time) -> None:
        """A removal of [start, end) splits the range again at `end`: a bridge it crosses goes, or when its keyframe
        lies past `end`, starts there (SourceBufferRange::SplitRange starts the range it splits off no earlier)."""
        kept = []
        for bridge in self.bridges:
            if not (bridge[0] < end and bridge[1] > start):
                kept.append(bridge)
            elif bridge[1] > end:
                kept.append((Fraction(end), bridge[1], bridge[2]))
        if kept != self.bridges:
            self.bridges = kept
            self.mutations += 1

    def drop_bridges_from(self, start: Fraction) -> None:
        """The range that began at `start` no longer does: the bridges that opened it go."""
        kept = [bridge for bridge in self.bridges if bridge[0] != start]
        if len(kept) != len(self.bridges):
            self.bridges = kept
            self.mutations += 1

    def in_head_gap(self, time: Time, range_start: Time) -> bool:
        """Does `time` lie strictly inside the gap a bridge still standing opens at `range_start`: after the range's
        start, before its first keyframe (not a gap inside a range, where two were joined)?"""
        return any(start == range_start and start < time < keyframe
                   and self.first_random_access_point_at_or_after(start) == keyframe
                   and not len(self.indexes_starting_in(start, keyframe)) for start, keyframe, _ in self.bridges)  # fmt: skip

    def _drop_orphaned_bridges(self) -> None:
        kept = [bridge for bridge in self.bridges if self.first_random_access_point_at_or_after(bridge[1]) == bridge[1]]
        if len(kept) != len(self.bridges):
            self.bridges = kept

    def _bridged(self, spans: list[list[int]], gap: int) -> list[list[int]]:
        """The frame spans with each bridge whose keyframe is still in one (and, if it must, that frames reach)."""
        joins = []
        for start, keyframe, reaching in self.bridges:
            a, k = self.ticks(start), self.ticks(keyframe)
            reaches = not reaching or any(s < a and a - e < gap for s, e, _ in spans)
            if reaches and any(s <= k < e for s, e, _ in spans):
                joins.append([a, k, k])  # its highest start is where its frames begin: it joins them
        return self._merge([span[:] for span in spans], sorted(joins)) if joins else spans

    # Cuts (chromium)

    def cut(self, keyframe: Fraction) -> None:
        """chromium (removal_splits_its_range): remove() splits the range holding `keyframe`, the first keyframe at or
        after its end, there (SourceBufferStream::RemoveInternal, SplitRange), whether or not frames went. The two
        parts stay apart, however close, until frames are appended to the track: then the usual merge rule joins
        them again (SourceBufferStream::Append merges ranges; seen with msecli verify, whether the frames went into
        either part or elsewhere). The cut goes with its keyframe."""
        if keyframe not in self.cuts:
            self.cuts.append(keyframe)
            self.mutations += 1

    def _cut_spans(self, spans: list[list[int]]) -> list[list[int]]:
        """The spans split at each cut whose keyframe is still stored and that has frames before it in its span."""
        self.cuts = [c for c in self.cuts if self.first_random_access_point_at_or_after(c) == c]
        pts, ends = self._presentation["pts"], self._presentation["end"]
        for cut in sorted(self.cuts):
            c = self.ticks(cut)
            for i, (start, end, top) in enumerate(spans):
                if start < c < end:
                    low, high = int(np.searchsorted(pts, start)), int(np.searchsorted(pts, c))
                    reach = int(ends[low:high].max()) if high > low else c
                    if reach < c:  # parts that touch read as one range
                        spans = spans[:i] + [[start, reach, int(pts[high - 1])], [c, end, top]] + spans[i + 1 :]
                    break
        return spans

    # Removing

    def remove_with_dependants(self, doomed: np.ndarray) -> int:
        """Remove the frames at decode indexes `doomed` (sorted), then every frame after each removed one up
        to the next RAP in decode order (§7.2 step 15, §8.1 step 3.4). Returns how many went. The work is
        proportional to the frames removed (plus a search), not to the frames stored."""
        if not len(doomed):
            return 0
        first, stop = int(doomed[0]), self._next_key(int(doomed[-1]) + 1)
        key = self._decode["key"][first:stop]
        marked = np.zeros(stop - first, bool)
        marked[doomed - first] = True
        place = np.arange(stop - first)
        # A frame goes when a removed frame precedes it with no surviving keyframe in between.
        last_marked = np.maximum.accumulate(np.where(marked, place, -1))
        last_safe_key = np.maximum.accumulate(np.where(key & ~marked, place, -1))
        removed = last_marked > last_safe_key
        pts = self._decode["pts"][first:stop][removed]
        ends = pts + self._decode["duration"][first:stop][removed]
        self.bytes -= int(self._decode["size"][first:stop][removed].sum())
        self.key_frames -= int(np.count_nonzero(key[removed]))
        self._decode.delete(first, stop, keep=~removed)
        self._remove_presentation(pts)
        self.mutations += 1
        self.removals += 1
        self._repair_ranges(pts, ends)
        if self.bridges:
            self._drop_orphaned_bridges()
        return int(removed.sum())

    def _remove_presentation(self, removed_pts: np.ndarray) -> None:
        """Drop the removed frames from the presentation index: one slice when they are a contiguous run
        of it (the usual case: a removal takes everything in a presentation interval)."""
        pts = self._presentation["pts"]
        low = int(np.searchsorted(pts, removed_pts.min(), side="left"))
        high = int(np.searchsorted(pts, removed_pts.max(), side="right"))
        if high - low == len(removed_pts):
            self._presentation.delete(low, high)
            return
        wanted = Counter(removed_pts.tolist())
        keep = np.ones(high - low, bool)
        for offset, value in enumerate(pts[low:high].tolist()):
            if wanted[value]:
                wanted[value] -= 1
                keep[offset] = False
        self._presentation.delete(low, high, keep=keep)

    def _repair_ranges(self, removed_pts: np.ndarray, removed_ends: np.ndarray) -> None:
        """Re-derive the cached ranges only around what was removed (a margin of one frame and one merge
        threshold on each side); ranges elsewhere cannot have changed."""
        if self._ranges is None:
            return
        gap = self._gap_ticks()
        margin = self.ticks(self.max_frame_duration) + gap + int(self._ceil(ONE_MICROSECOND))
        window_start, window_end = int(removed_pts.min()) - margin, int(removed_ends.max()) + margin
        outside: list[list[int]] = []
        pts, ends = self._presentation["pts"], self._presentation["end"]
        for span_start, span_end, top in self._ranges:
            if span_end <= window_start or span_start >= window_end:
                outside.append([span_start, span_end, top])
            else:  # keep the parts outside the window: nothing there changed
                if span_start < window_start:
                    before = int(np.searchsorted(pts, window_start, side="left")) - 1  # its highest frame start
                    outside.append([span_start, window_start, max(span_start, int(pts[before])) if before >= 0 else span_start])
                if span_end > window_end:
                    outside.append([window_end, span_end, max(window_end, top)])
        low = int(np.searchsorted(pts, window_start - self.ticks(self.max_frame_duration), side="left"))
        high = int(np.searchsorted(pts, window_end, side="left"))
        near_pts, near_ends = pts[low:high], ends[low:high]
        inside = near_ends > window_start
        clipped = self._spans_of(np.maximum(near_pts[inside], window_start), np.minimum(near_ends[inside], window_end))
        self._ranges = self._merge(outside, clipped)

    # Ranges

    def _gap_ticks(self) -> int:
        """The merge gap in ticks: ranges closer than this join (chromium: starting within it of the highest start)."""
        if self.merge_by_start:  # start - top <= gap: within the largest whole tick count not over it
            return math.floor(Fraction(self._ranges_gap or 0) * self.scale)
        return max(1, int(self._ceil(self._ranges_gap or 0)))

    def _spans_of(self, pts: np.ndarray, ends: np.ndarray) -> list[list[int]]:
        return _spans(pts, ends, self._gap_ticks(), self.merge_by_start)

    def _merge(self, spans: list[list[int]], new: list[list[int]]) -> list[list[int]]:
        return _merged(spans, new, self._gap_ticks(), self.merge_by_start)

    def head(self, dts: Fraction, pts: Fraction) -> None:
        """chromium (range_starts_at_its_first_frame): the keyframe at `dts` begins a range of its own, which starts at
        its PTS: frames of its GOP presented before it (an open GOP's leading pictures) are stored but not buffered."""
        self.heads.append((dts, pts))
        self.mutations += 1

    def joins_a_range(self, pts: Fraction, merge_gap: Time) -> bool:
        """Would a frame at `pts` join a range (chromium: SourceBufferRange::BelongsToRange): one holds it, or it starts
        within the merge gap of one's highest frame start."""
        return self.joined_range_start(pts, merge_gap) is not None

    def joined_range_start(self, pts: Fraction, merge_gap: Time) -> Fraction | None:
        """The start of the range a frame at `pts` would join (see `joins_a_range`), or None."""
        self.ranges(merge_gap)
        assert self._ranges_view is not None
        at, gap = self.ticks(pts), self._gap_ticks()
        return next((self.time(start) for start, end, top in self._ranges_view[2] if start <= at <= max(end, top + gap)),
                    None)  # fmt: skip

    def _leading_pts(self) -> np.ndarray | None:
        """The PTS (ticks) of the frames that lead a head's keyframe; heads whose keyframe is gone, or whose complete
        GOP has none, are forgotten."""
        decode, kept, leading = self._decode, [], []
        for dts, pts in self.heads:
            index = int(np.searchsorted(decode["dts"], self.ticks(dts)))
            if index >= len(decode) or decode["dts"][index] != self.ticks(dts) or not decode["key"][index]:
                continue
            stop = self._next_key(index + 1)
            gop = decode["pts"][index + 1 : stop]
            before = gop[gop < self.ticks(pts)]
            if len(before) or stop == len(decode):  # leading pictures, or a GOP that may still grow
                kept.append((dts, pts))
                leading.append(before)
        self.heads = kept
        return np.concatenate(leading) if leading else None

    def ranges(self, merge_gap: Time) -> TimeRanges:
        """The track buffer ranges: frames' [PTS, PTS+dur) intervals, gaps below `merge_gap` closed."""
        if self._ranges is None or self._ranges_gap != merge_gap:
            self._ranges_gap = merge_gap
            self._ranges = self._spans_of(self._presentation["pts"], self._presentation["end"])
        key = (self.mutations, merge_gap, self.scale)
        if self._ranges_view is None or self._ranges_view[0] != key:
            spans = self._ranges
            leading = self._leading_pts() if self.heads else None
            if leading is not None and len(leading):
                shown = ~np.isin(self._presentation["pts"], leading)
                spans = self._spans_of(self._presentation["pts"][shown], self._presentation["end"][shown])
            spans = self._gop_holes_filled(spans, leading) if self.whole_gops and len(spans) > 1 else spans
            spans = self._bridged(spans, self._gap_ticks()) if self.bridges else spans
            spans = self._cut_spans(spans) if self.cuts else spans
            view = TimeRanges._normalised([self.time(s) for s, _, _ in spans], [self.time(e) for _, e, _ in spans])
            self._ranges_view = (key, view, spans)
        return self._ranges_view[1]

    def _gop_holes_filled(self, spans: list[list[int]], leading: np.ndarray | None) -> list[list[int]]:
        """The spans joined across every gap that one GOP's frames lie on both sides of (leading pictures not counted)."""
        decode = self._decode
        pts, ends = decode["pts"], decode["pts"] + np.maximum(decode["duration"], 1)
        if leading is not None and len(leading):
            hidden = np.isin(pts, leading)
            pts, ends = np.where(hidden, ends.max(), pts), np.where(hidden, pts.min(), ends)
        firsts = np.flatnonzero(decode["key"])
        firsts = firsts if len(firsts) and firsts[0] == 0 else np.concatenate(([0], firsts))
        lows, highs = np.minimum.reduceat(pts, firsts), np.maximum.reduceat(ends, firsts)
        order = np.argsort(lows, kind="stable")
        lows, reach = lows[order], np.maximum.accumulate(highs[order])  # how far the GOPs starting by then reach
        joined = [spans[0][:]]
        for span in spans[1:]:
            last = joined[-1]
            gop = int(np.searchsorted(lows, last[1], side="right")) - 1
            if gop >= 0 and reach[gop] >= span[0]:
                last[1], last[2] = max(last[1], span[1]), max(last[2], span[2])
            else:
                joined.append(span[:])
        return joined

    def ranges_end(self, merge_gap: Time) -> Time:
        return self.ranges(merge_gap).highest_end


def _spans(pts: np.ndarray, ends: np.ndarray, gap: int, by_start: bool = False) -> list[list[int]]:
    """Merged [start, end, highest start] spans of intervals sorted by start: a new span begins only where the next
    start lies at least `gap` ticks past everything before it (by_start: more than `gap` past the previous start)."""
    if not len(pts):
        return []
    reach = np.maximum.accumulate(ends)
    distances = pts[1:] - pts[:-1] if by_start else pts[1:] - reach[:-1]
    if len(pts) == 1 or (distances.max() <= gap if by_start else distances.max() < gap):  # contiguous frames
        return [[int(pts[0]), int(reach[-1]), int(pts[-1])]]
    breaks = np.flatnonzero(distances > gap if by_start else distances >= gap) + 1
    lasts = np.concatenate((breaks - 1, [len(pts) - 1]))
    starts, stops, tops = pts[np.concatenate(([0], breaks))], reach[lasts], pts[lasts]
    return [[int(s), int(e), int(t)] for s, e, t in zip(starts.tolist(), stops.tolist(), tops.tolist())]


def _merged(spans: list[list[int]], new: list[list[int]], gap: int, by_start: bool = False) -> list[list[int]]:
    """Two span lists as one, merged by the same rule. New spans after the last old start (appending)
    only touch the tail."""
    if not new:
        return spans
    if spans and new[0][0] >= spans[-1][0]:
        head, tail = spans[:-1], [spans[-1]] + new
    else:
        head, tail = [], sorted(spans + new)
    out = head
    for start, end, top in tail:
        if out and (start - out[-1][2] <= gap if by_start else start - out[-1][1] < gap):
            out[-1][1], out[-1][2] = max(out[-1][1], end), max(out[-1][2], top)
        else:
            out.append([start, end, top])
    return out


def _above(ticks: int, scale: int, value: Fraction) -> bool:
    """ticks / scale > value, in integers."""
    return ticks * value.denominator > value.numerator * scale


def _packed(size: tuple[int, int]) -> int:
    return size[0] << 24 | size[1]


def _unpacked(shape: int) -> tuple[int, int]:
    return shape >> 24, shape & 0xFFFFFF


def _column(values: list[int]) -> np.ndarray:
    """Ticks as an int64 column, or as Python ints where int64 could overflow."""
    if all(-INT64_SAFE < v < INT64_SAFE for v in values):
        return np.array(values, np.int64)
    return np.array(values, object)
