"""What the segment parser loop (§5.4) needs from a byte stream format: given the bytes at the head of
the input buffer, say whether they start an init segment or a media segment, whether it is complete,
and what it holds. Bytes may arrive in any split: an incomplete unit is NeedData, never an error."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from msecli.errors import ParseError
from msecli.formats import Buffer, mpeg_audio, nal, opus
from msecli.formats.frames import FRAME_DTYPE, TrackInfo
from msecli.formats.isobmff import boxes as iso_boxes
from msecli.formats.isobmff import fragments
from msecli.formats.isobmff.walk import BoxHeader, read_box_header
from msecli.formats.webm import ids
from msecli.formats.webm import parser as webm
from msecli.formats.webm.ebml import UNKNOWN_SIZE, read_element_header
from msecli.mse.coded_frames import FrameBatch
from msecli.timeline.time import Time

if TYPE_CHECKING:
    from msecli.mse.profiles import Profile

INT32_MAX = 2**31 - 1
MP3_CODEC_DELAY = 529  # the MP3 decoder's delay in samples, which Chromium puts in the config (kCodecDelay)
PARSE_STEP = 128 * 1024  # chromium: StreamParser::kMaxPendingBytesPerParse, what one Parse() call inspects
ISO_IGNORED = {"free", "skip", "sidx", "pdin", "emsg", "prft", "uuid", "ssix", "mfra", "meta"}


@dataclass
class InitSegment:
    tracks: dict[int, TrackInfo]
    duration: Time | None  # None: the init segment gives none


@dataclass
class NeedData:
    starts: str | None = None  # "init" or "media" when the bytes so far already start one


@dataclass
class Skip:
    size: int


@dataclass
class Init:
    size: int
    segment: InitSegment


@dataclass
class Media:
    size: int
    batches: list[FrameBatch] = field(default_factory=list)  # per track, each frame with its place in the segment
    complete: bool = True  # False: more of this media segment follows (an unknown-size Cluster)


Item = NeedData | Skip | Init | Media


class SegmentParser:
    def __init__(self) -> None:
        self.tracks: dict[int, TrackInfo] = {}
        # Chromium's parse steps, for the parsers that follow them: where the data `next` is given starts, counted
        # from the first byte left unparsed when this append came, and where the current Parse() call's 128 KiB end
        self._at = 0
        self._limit = PARSE_STEP

    def reset(self) -> None:
        """Reset parser state (§5.5): forget any partly parsed segment."""

    def begin_append(self, leftover: int) -> None:
        """New bytes arrived (the buffer append algorithm is about to run the segment parser loop); the first
        `leftover` bytes of the input buffer are earlier appends' bytes not parsed yet: inspected by an earlier
        Parse() call, so the first one of this append reads them and 128 KiB more."""
        self._at, self._limit = 0, leftover + PARSE_STEP

    def _consumed(self, item: Item) -> Item:
        """`item`, with the parse-step position moved past what it consumes (an element read whole only by a
        later Parse() call moves the step on too)."""
        if isinstance(item, (Skip, Init, Media)):
            self._at += item.size
            self._step_to(self._at)
        return item

    def _step_to(self, position: int) -> None:
        """Move the current parse step on (Parse() calls that end before `position`) until it reaches `position`."""
        while position > self._limit:
            self._limit += PARSE_STEP

    def next(self, data: Buffer) -> Item:  # pragma: no cover - interface
        raise NotImplementedError


class IsoBmffParser(SegmentParser):
    """ISO BMFF byte stream format: init = ftyp + moov; media = [styp] moof + mdat."""

    def __init__(self, profile: Profile | None = None) -> None:
        super().__init__()
        # the chromium profile's switches
        self.media_starts_after_moof = profile is not None and profile.media_segment_starts_after_moof
        self.skips_unknown_boxes = profile is not None and profile.unknown_top_level_boxes_skipped
        self.decode_times_ignore_edit_list = profile is not None and profile.mp4_decode_times_ignore_edit_list
        self.box_size_limits = profile is not None and profile.mp4_box_size_limits
        self.muxed_waits_for_fragment = profile is not None and profile.muxed_mp4_waits_for_whole_fragment
        self.keyframes_from_bitstream = profile is not None and profile.h264_keyframes_from_bitstream
        self.nal_samples_checked = profile is not None and profile.mp4_nal_samples_checked
        self.samples_by_offset = profile is not None and profile.mp4_samples_read_by_offset
        self.reserved_dependency_refused = profile is not None and profile.mp4_reserved_sample_dependency_refused
        self._open: _OpenFragment | None = None  # the media segment whose mdat is still arriving
        self._origin = 0  # where this append's bytes begin in the data `next` is given (negative once passed)
        self._failure: ParseError | None = None  # found in a sample; raised once the frames before it are processed

    def reset(self) -> None:
        self._open, self._failure = None, None

    def begin_append(self, leftover: int) -> None:
        super().begin_append(leftover)
        self._origin = leftover

    def next(self, data: Buffer) -> Item:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        item = self._next(data)
        if isinstance(item, (Skip, Init, Media)):
            self._origin -= item.size
        return item

    def _next(self, data: Buffer) -> Item:
        header = read_box_header(data, 0, len(data))
        if header is None:
            return NeedData()
        if self.box_size_limits:
            self._check_box_size(data, header)
        if header.type in ISO_IGNORED:
            return Skip(header.size) if header.size <= len(data) else NeedData()
        if header.type == "ftyp":
            return self._init(data, header.size)
        if header.type in ("styp", "moof"):
            return self._media(data)
        if self.skips_unknown_boxes:  # chromium: an unrecognised top-level box is skipped, however it looks
            return Skip(header.size) if header.size <= len(data) else NeedData()
        raise ParseError(f"{header.type} box where a segment should start", offset=0, path=header.type)

    @staticmethod
    def _check_box_size(data: Buffer, header: BoxHeader, path: str | None = None) -> None:
        """chromium (BoxReader::ReadHeader): a box that runs to the end (size 0) or is 2 GiB or more is an error."""
        at, path = header.offset, path or header.type
        if int.from_bytes(bytes(data[at : at + 4]), "big") == 0:
            raise ParseError(f"{header.type} box of size 0 (to the end): not supported", offset=at, path=path)
        if header.size > INT32_MAX:
            raise ParseError(f"{header.type} box of {header.size} bytes: over 2^31 - 1", offset=at, path=path)

    def _check_child_sizes(self, data: Buffer, parent: BoxHeader, path: str) -> None:
        """chromium: the same limits for the boxes in a moof and its trafs (each read by a BoxReader that is not at
        the end of the stream, so size 0 is refused there too)."""
        offset = parent.payload_offset
        while (header := read_box_header(data, offset, parent.end, path)) is not None and header.end <= parent.end:
            self._check_box_size(data, header, f"{path}/{header.type}")
            if header.type == "traf":
                self._check_child_sizes(data, header, f"{path}/traf")
            offset = header.end
        if header is not None:  # a box running past its parent: the fragment parser names that error
            self._check_box_size(data, header, f"{path}/{header.type}")

    def _init(self, data: Buffer, offset: int) -> Item:
        while True:
            header = read_box_header(data, offset, len(data))
            if header is None or header.end > len(data):
                return NeedData("init")
            if header.type == "moov":
                parsed = iso_boxes.parse_boxes(data, 0, header.end)
                moov = parsed.nodes[-1]
                reason = fragments.not_init_reason(moov, parsed.nodes[0])
                if reason:
                    raise ParseError(reason, offset=header.offset, path="moov")
                self.tracks = fragments.track_infos(moov)
                return Init(header.end, InitSegment(self.tracks, _iso_duration(moov)))
            if header.type not in ISO_IGNORED:
                raise ParseError(f"{header.type} between ftyp and moov", offset=offset, path=header.type)
            offset = header.end

    def _media(self, data: Buffer) -> Item:
        offset = 0
        first = read_box_header(data, 0, len(data))
        if first is not None and first.type == "styp":
            if first.end > len(data):
                return NeedData("media")
            offset = first.end
        moof = read_box_header(data, offset, len(data))
        if moof is None or moof.end > len(data):
            return NeedData(None if self.media_starts_after_moof else "media")
        if moof.type != "moof":
            raise ParseError(f"{moof.type} where a moof should follow styp", offset=offset, path=moof.type)
        if self._open is None:
            if self.box_size_limits:
                self._check_child_sizes(data, moof, "moof")
            self._open = _OpenFragment(self._fragment_batches(data, moof))
        end = self._sample_data_end(data, moof)
        if end is None or end > len(data):
            # §5.4 step 6.2: the coded frames complete so far are processed while the rest of the mdat arrives
            # (chromium: with audio and video in the init segment, only once all the fragment's samples are in).
            if self.muxed_waits_for_fragment and self._muxed() and len(data) < self._open.data_end:
                return NeedData("media")
            batches = self._hand_out(data, len(data))
            return Media(0, batches, complete=False) if batches else NeedData("media")
        batches = self._hand_out(data, end)
        if self._failure is not None:
            return Media(0, batches, complete=False)  # the frames before the failing step; the error comes next
        self._open = None
        return Media(end, batches)

    def _sample_data_end(self, data: Buffer, moof: BoxHeader) -> int | None:
        """Where the boxes after the moof that hold its samples end (None while a box header is still to come): the
        mdats up to the one the last sample ends in, which must hold every sample. chromium (mp4_samples_read_by_offset):
        samples are read at their offsets from the moof, whatever boxes lie there, and whole boxes are skipped until
        past the last sample (MP4StreamParser::EnqueueSample, ReadAndDiscardMDATsUntil)."""
        assert self._open is not None
        tail, needed = moof.end, self._open.data_end
        while tail < needed or (tail == moof.end and not self.samples_by_offset):  # spec: at least one mdat
            box = read_box_header(data, tail, len(data))
            if box is None:
                return None
            if self.box_size_limits:
                self._check_box_size(data, box)
            if box.type != "mdat" and not self.samples_by_offset:
                where = "where the moof's mdat should be" if tail == moof.end else "before the moof's samples end"
                raise ParseError(f"{box.type} {where} (the mdats must hold every sample the truns list)", offset=tail,
                                 path=box.type)  # fmt: skip
            tail = box.end
        return tail

    def _hand_out(self, data: Buffer, available: int) -> list[FrameBatch]:
        """The fragment's frames complete within `available` bytes. chromium: H.264/HEVC samples read as its MP4 parser
        reads them, keyframes from the bitstream; at a sample it refuses, only the frames ending in the parse steps
        before that sample's are handed out, and the error is kept for the next call."""
        assert self._open is not None
        batches = self._open.complete_up_to(available)
        if not (self.nal_samples_checked or self.keyframes_from_bitstream):
            return batches
        refused_samples = [found for batch in batches if (found := self._read_nal_units(data, batch)) is not None]
        if not refused_samples:
            return batches
        start, refused, reason = min(refused_samples, key=lambda found: found[1])  # the first refused sample
        failure = ParseError(f"{reason} (Chromium: \"Failed to prepare video sample for decode\")", offset=start,
                             path="mdat")  # fmt: skip
        if self._muxed() and self.muxed_waits_for_fragment:
            raise failure  # every frame of the fragment was waiting for the step that reached its end
        steps_before = max(math.ceil((refused - self._origin) / PARSE_STEP) - 1, 0)
        flushed = self._origin + steps_before * PARSE_STEP
        kept = [k for b in batches if len(k := b.select(b.table["offset"] + b.table["size"] <= flushed))]
        if not kept:
            raise failure
        self._failure = failure
        return kept

    def _read_nal_units(self, data: Buffer, batch: FrameBatch) -> tuple[int, int, str] | None:
        """Sets an H.264 batch's keyframes from its slices (chromium); where the first sample Chromium refuses begins
        and ends, and why."""
        info = self.tracks[batch.track_id]
        if not info.nal_length_size or not len(batch):
            return None
        table = batch.table
        check = nal.check_samples(data, table["offset"], table["size"], info.nal_length_size)
        h264 = info.codecs.startswith(("avc1", "avc3"))
        refused = ~check.converts
        if h264:  # a keyframe by its flags alone gets the parameter sets put before its first unit, which must parse
            refused |= (check.keyframe < 0) & table["key"] & (check.first_header >= 0x80)
            if self.keyframes_from_bitstream:
                table["key"] = np.where(check.keyframe >= 0, check.keyframe == 1, table["key"])
        if not self.nal_samples_checked or not refused.any():
            return None
        first = int(np.argmax(refused))
        reason = ("a video sample whose NAL unit lengths do not add up to its size" if not check.converts[first] else
                  "a keyframe whose first NAL unit has its forbidden bit set")  # fmt: skip
        return int(table["offset"][first]), int(table["offset"][first] + table["size"][first]), reason

    def _muxed(self) -> bool:
        kinds = {info.kind for info in self.tracks.values()}
        return "audio" in kinds and "video" in kinds

    def _fragment_batches(self, data: Buffer, moof: BoxHeader) -> list[FrameBatch]:
        """Every track's frames of the fragment, in the segment's order (its track runs one after another)."""
        problem = fragments.relative_addressing_problem(data, moof)
        if problem is not None:
            raise problem
        refused = self.reserved_dependency_refused
        tables = fragments.direct_fragment_frames(data, moof.offset, moof.end, self.tracks,
                                                  reserved_dependency_refused=refused)  # fmt: skip
        if tables is None:
            node = iso_boxes.parse_boxes(data, moof.offset, moof.end).nodes[0]
            if not node.all("traf"):
                raise ParseError("moof has no traf", offset=moof.offset, path="moof")
            tables = fragments.fragment_frames(node, self.tracks, reserved_dependency_refused=refused)
        batches: list[FrameBatch] = []
        placed = 0
        for track_id, table in tables.items():
            if self.decode_times_ignore_edit_list and self.tracks[track_id].media_time:
                table["dts"] += self.tracks[track_id].media_time  # the edit moved both: move DTS back
            seq = np.arange(placed, placed + len(table))
            batches.append(FrameBatch(track_id, self.tracks[track_id].timescale, table, seq))
            placed += len(table)
        return batches


class _OpenFragment:
    """A media segment's frames, handed out as their bytes arrive: each track's frames in its order, those whose
    bytes all lie before the end of the data so far (a track run's samples follow each other in the mdat)."""

    def __init__(self, batches: list[FrameBatch]) -> None:
        self.batches = batches
        self.given = [0] * len(batches)
        self.ends = [b.table["offset"] + b.table["size"] for b in batches]  # where each sample's bytes end
        self.data_end = max((int(e.max()) for e in self.ends if len(e)), default=0)

    def complete_up_to(self, available: int) -> list[FrameBatch]:
        out = []
        for index, batch in enumerate(self.batches):
            complete = int(np.searchsorted(self.ends[index], available, side="right"))
            if complete > self.given[index]:
                out.append(batch.select(slice(self.given[index], complete)))
                self.given[index] = complete
        return out


def _iso_duration(moov: iso_boxes.Node) -> Time | None:
    mvhd, mehd = moov.child("mvhd"), moov.find("mvex/mehd")
    timescale = mvhd.fields["timescale"] if mvhd is not None else 0
    duration = mehd.fields["fragment_duration"] if mehd is not None else (mvhd.fields["duration"] if mvhd else 0)
    if not timescale or not duration or duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None
    return Fraction(duration, timescale)


def _batches(frames: list[tuple[int, int, int, bool, int]], timescale: int) -> list[FrameBatch]:
    """Frames given one by one as (track, time, duration, key, size), DTS = PTS = time, as batches."""
    batches = []
    for track in dict.fromkeys(f[0] for f in frames):
        seq = np.array([i for i, f in enumerate(frames) if f[0] == track], np.int64)
        table = np.zeros(len(seq), FRAME_DTYPE)
        for row, index in zip(table, seq):
            _, row["pts"], row["duration"], row["key"], row["size"] = frames[index]
        table["dts"] = table["pts"]
        batches.append(FrameBatch(track, timescale, table, seq))
    return batches


class WebmParser(SegmentParser):
    """WebM byte stream format: init = EBML header + Segment header .. Tracks; media = one Cluster."""

    def __init__(self, profile: Profile | None = None) -> None:
        super().__init__()
        # the chromium profile's switches
        self.opus_packet_durations = profile is not None and profile.webm_opus_packet_durations
        self.ready_in_decode_order = profile is not None and profile.muxed_frames_in_decode_order
        self.block_rules = profile is not None and profile.webm_block_rules
        self.in_steps = profile is not None and profile.webm_cluster_parsed_in_steps
        self.known_children_only = profile is not None and profile.webm_unknown_cluster_child_rejected
        self.scale = 1_000_000
        self.open_cluster: _OpenCluster | None = None  # a Cluster being read block by block
        self.longest: dict[int, int] = {}  # per track, the longest frame duration seen (ticks)

    def reset(self) -> None:
        self.open_cluster = None

    def next(self, data: Buffer) -> Item:
        return self._consumed(self._cluster_children(data) if self.open_cluster is not None else self._next(data))

    def _next(self, data: Buffer) -> Item:
        header = _element(data, 0)
        if header is None:
            return NeedData()
        element_id, start, size = header
        if element_id == ids.EBML:
            return self._init(data)
        if element_id == ids.CLUSTER and (size == UNKNOWN_SIZE or start + size > self._visible(data)):
            # Read it block by block, as Chromium's WebMClusterParser does: a live stream's Cluster has no end to
            # wait for, and the blocks of one still arriving (or past this parse step) are buffered as they come in.
            self.open_cluster = _OpenCluster(size=None if size == UNKNOWN_SIZE else size)
            return Media(start, [], complete=False)
        if element_id == ids.CLUSTER:
            return self._cluster(data, start, size)
        if size == UNKNOWN_SIZE:
            raise ParseError("unknown size outside a Segment or Cluster", offset=0, path=f"0x{element_id:X}")
        return Skip(start + size) if start + size <= len(data) else NeedData()

    def _init(self, data: Buffer) -> Item:
        ebml = _element(data, 0)
        assert ebml is not None
        offset = ebml[1] + ebml[2]
        segment = _element(data, offset)
        if segment is None:
            return NeedData("init")
        if segment[0] != ids.SEGMENT:
            raise ParseError("EBML header not followed by a Segment", offset=offset, path="Segment")
        offset = segment[1]
        seen_info = False
        while True:
            child = _element(data, offset)
            if child is None:
                return NeedData("init")
            element_id, start, size = child
            if element_id == ids.CLUSTER:
                raise ParseError("Cluster before Tracks", offset=offset, path="Segment/Cluster")
            if size == UNKNOWN_SIZE or start + size > len(data):
                return NeedData("init")
            seen_info = seen_info or element_id == ids.INFO
            if element_id == ids.TRACKS:
                if not seen_info:
                    raise ParseError("Tracks before Info", offset=offset, path="Segment/Tracks")
                nodes = webm.parse_elements(data, segment[1], start + size).nodes
                self.scale, self.tracks = webm.track_infos(nodes)
                info = next(n for n in nodes if n.type == "Info")
                duration = info.fields.get("Duration")
                return Init(start + size, InitSegment(self.tracks, Fraction(duration) * self.scale / 1_000_000_000
                                                      if duration else None))  # fmt: skip
            offset = start + size

    @property
    def timescale(self) -> int:
        return round(1_000_000_000 / self.scale)

    def _cluster(self, data: Buffer, start: int, size: int) -> Item:
        end = start + size
        if end > len(data):
            return NeedData("media")
        if self.known_children_only:
            self._check_children(data, start, end)
        nodes = webm.parse_elements(data, 0, end).nodes
        if self.block_rules:
            last = None
            for child in nodes[0].children:
                if (block := _block_of(child)) is not None:
                    last = _checked_block(block, last)
        tables = webm.cluster_frames(nodes[0], self.tracks)
        for track, table in tables.items():
            if track not in self.tracks:
                raise ParseError(
                    f"block for track {track}, which the init segment does not have", offset=0, path="Cluster"
                )
            if len(table) > 1:
                self._saw_duration(track, int(table["duration"][:-1].max()))
            if len(table) and table["duration"][-1] == 0:  # the last block, with no duration anywhere
                table["duration"][-1] = self._estimate(track)
        # The segment's frame order: by decode time across tracks (ties: track order, then block order).
        times = np.concatenate([t["dts"] for t in tables.values()]) if tables else np.zeros(0, np.int64)
        seq = np.empty(len(times), np.int64)
        seq[np.argsort(times, kind="stable")] = np.arange(len(times))
        bounds = np.cumsum([0] + [len(t) for t in tables.values()])
        batches = [self._batch(data, track, table, seq[bounds[i] : bounds[i + 1]])
                   for i, (track, table) in enumerate(tables.items())]  # fmt: skip
        return Media(end, batches)

    @staticmethod
    def _check_children(data: Buffer, start: int, end: int) -> None:
        """chromium (webm_unknown_cluster_child_rejected): every child of a whole Cluster is one a Cluster holds."""
        while start < end and (child := read_element_header(data, start, end)) is not None:
            _check_cluster_child(child[0], start)
            if child[2] == UNKNOWN_SIZE:
                return
            start = child[1] + child[2]

    def _batch(self, data: Buffer, track: int, table: np.ndarray, seq: np.ndarray) -> FrameBatch:
        if not (self.opus_packet_durations and self.tracks[track].codecs == "opus" and len(table)):
            return FrameBatch(track, self.timescale, table, seq)
        # chromium: an Opus frame lasts what its packet decodes to (WebMClusterParser prefers the encoded duration
        # to BlockDuration and DefaultDuration), on a grid fine enough for 2.5 ms.
        durations_us = opus.packet_durations_us(data, table["offset"], table["size"])
        timescale = math.lcm(self.timescale, opus.TICKS_PER_SECOND)
        table = table.copy()
        for name in ("pts", "dts", "duration"):
            table[name] *= timescale // self.timescale
        table["duration"] = np.where(durations_us >= 0, durations_us * timescale // 1_000_000, table["duration"])
        return FrameBatch(track, timescale, table, seq)

    def _estimate(self, track: int) -> int:
        """A Cluster's last block with no duration: the track's longest frame so far, or with none yet 63 ms for video
        and 23 ms for audio (WebMClusterParser::Track::GetDurationEstimate, kDefault*BufferDurationInMs; seen with
        msecli verify: a lone VP9 block buffers [0, 0.063)). Ticks of the parser's timescale."""
        if track in self.longest:
            return self.longest[track]
        default_ms = 63 if self.tracks[track].kind == "video" else 23
        return default_ms * self.timescale // 1000

    def _saw_duration(self, track: int, duration: int) -> None:
        """`duration` in ticks of the parser's timescale (not the open Cluster's grid), as `_estimate` gives them."""
        self.longest[track] = max(self.longest.get(track, 0), duration)

    def _visible(self, data: Buffer) -> int:
        """How much of the data this parse step reads: all of it, or (in_steps) up to the current step's end."""
        return min(len(data), self._limit - self._at) if self.in_steps else len(data)

    def _cluster_children(self, data: Buffer) -> Item:
        """What the next parse step that reads a whole child of the open Cluster gives (in_steps: each step inspects
        128 KiB more of the append; otherwise one step reads all the data)."""
        while True:
            item = self._step_children(memoryview(data)[: self._visible(data)])
            if not isinstance(item, NeedData) or self._visible(data) == len(data):
                return item
            self._limit += PARSE_STEP  # the next Parse() call inspects 128 KiB more

    def _step_children(self, data: Buffer) -> Item:
        """The children of an open Cluster the data holds whole, with the frames they make ready (one batch, as
        Chromium's WebMClusterParser hands on what one parse gives), or its end."""
        cluster = self.open_cluster
        assert cluster is not None
        offset = 0
        while True:
            child = _element(data, offset)
            if child is None:
                break
            element_id, start, size = child
            if cluster.size is None and element_id not in webm.CLUSTER_CHILDREN:  # that ends an unknown-size Cluster
                return self._end_cluster(cluster, offset)
            if cluster.size is not None and self.known_children_only:
                _check_cluster_child(element_id, offset)
            if cluster.size is not None and size != UNKNOWN_SIZE and cluster.read + start + size - offset > cluster.size:
                # An element that runs past the end of its Cluster (say a new Cluster appended before the rest of
                # this one): a parse error as soon as its header is read (Chromium's WebMListParser).
                raise ParseError("element runs past the end of its Cluster", offset=offset, path="Cluster")
            if size == UNKNOWN_SIZE or start + size > len(data):
                break
            if element_id == ids.TIMESTAMP:
                cluster.timestamp = int.from_bytes(bytes(data[start : start + size]), "big")
            elif element_id in (ids.SIMPLE_BLOCK, ids.BLOCK_GROUP):
                self._block(cluster, memoryview(data)[offset : start + size])
            cluster.read += start + size - offset
            offset = start + size
            if cluster.size is not None and cluster.read >= cluster.size:
                return self._end_cluster(cluster, offset)
        if offset == 0:
            return NeedData("media")
        return Media(offset, self._frame_batches(cluster.ready(self.ready_in_decode_order)), complete=False)

    def _end_cluster(self, cluster: _OpenCluster, size: int) -> Media:
        """The Cluster is over: the blocks still waiting for a duration (their tracks have no DefaultDuration) get the
        longest seen, and every frame goes."""
        self.open_cluster = None
        for track, (time, key, frame_size) in cluster.held.items():
            cluster.queue(track, time, self._estimate(track) * self._grid_factor, key, frame_size)
        cluster.held.clear()
        return Media(size, self._frame_batches(cluster.ready(self.ready_in_decode_order)), complete=True)

    def _frame_batches(self, frames: list[tuple[int, int, int, bool, int]]) -> list[FrameBatch]:
        return _batches(frames, self.timescale * self._grid_factor)

    def _block(self, cluster: _OpenCluster, data: Buffer) -> None:
        """One SimpleBlock or BlockGroup, `data` exactly."""
        if cluster.timestamp is None:
            raise ParseError("block before the Cluster's Timestamp", offset=0, path="Cluster")
        (node,) = webm.parse_elements(data, 0, len(data)).nodes
        block = _block_of(node)
        if block is None:
            return
        if self.block_rules:
            cluster.last_timecode = _checked_block(block, cluster.last_timecode)
        track, time = block.fields["track"], cluster.timestamp + block.fields["timecode"]
        if track not in self.tracks:
            raise ParseError(f"block for track {track}, which the init segment does not have", offset=0, path="Cluster")
        key = block.fields["keyframe"] if node.type == "SimpleBlock" else node.child("ReferenceBlock") is None
        size = block.fields["payload_size"]
        time *= self._grid_factor
        held = cluster.held.pop(track, None)
        if held is not None:  # the next block of the track says how long the held one lasts
            self._saw_duration(track, (time - held[0]) // self._grid_factor)
            cluster.queue(track, held[0], time - held[0], held[1], held[2])
        duration = self._block_duration(node, track, data, block.fields["payload_offset"], size)
        if duration is not None:
            cluster.queue(track, time, duration, key, size)
        else:
            cluster.held[track] = (time, key, size)

    @property
    def _grid_factor(self) -> int:
        """Ticks of the open Cluster's grid per TimestampScale tick: finer where Opus packet durations need it."""
        if not self.opus_packet_durations:
            return 1
        return math.lcm(self.timescale, opus.TICKS_PER_SECOND) // self.timescale

    def _block_duration(self, node: iso_boxes.Node, track: int, data: Buffer, offset: int, size: int) -> int | None:
        """A block's duration in the grid's ticks, as Chromium's WebMClusterParser takes it: an Opus packet's own
        (chromium profile, as a whole Cluster's frames get it), else BlockDuration, else the track's DefaultDuration;
        None: the gap to the track's next block will tell it. Seen with msecli verify: with DefaultDuration, the
        last complete block of a Cluster still arriving is buffered at once."""
        factor = self._grid_factor
        if factor > 1 and self.tracks[track].codecs == "opus":
            micros = int(opus.packet_durations_us(data, np.array([offset]), np.array([size]))[0])
            if micros >= 0:
                return micros * self.timescale * factor // 1_000_000
        duration = node.fields.get("BlockDuration") if node.type == "BlockGroup" else None
        if duration is None:
            duration = self.tracks[track].defaults.get("DefaultDuration") or None
        return None if duration is None else duration * factor


def _check_cluster_child(element_id: int, offset: int) -> None:
    if element_id not in webm.CLUSTER_CHILDREN:
        raise ParseError(f"element 0x{element_id:X} inside a Cluster, which holds no such element", offset=offset,
                         path="Cluster")  # fmt: skip


def _block_of(node: iso_boxes.Node) -> iso_boxes.Node | None:
    """The Block of a Cluster child: a SimpleBlock itself, a BlockGroup's Block; None for anything else."""
    if node.type == "SimpleBlock":
        return node
    return node.child("Block") if node.type == "BlockGroup" else None


def _checked_block(block: iso_boxes.Node, last: int | None) -> int:
    """chromium (webm_block_rules, WebMClusterParser::ParseBlock and OnBlock): a laced block, or one whose timecode
    is before the previous block's (of any track), is a parse error. Returns the block's timecode."""
    fields = block.fields
    where = f"Cluster/{block.type}"
    if (fields["flags"] >> 1) & 3:
        raise ParseError("laced block: Chromium does not support lacing", offset=block.offset, path=where)
    timecode = fields["timecode"]
    if last is not None and timecode < last:
        raise ParseError(f"block timecode {timecode} is before the previous block's ({last})", offset=block.offset,
                         path=where)  # fmt: skip
    return timecode


@dataclass
class _OpenCluster:
    """A Cluster read block by block. Frames wait in `queued` until no track holds a block from before them
    (Chromium's ready upper bound: what goes on is in decode order across tracks)."""

    size: int | None = None  # its data size; None: unknown (it ends where an element that is no child begins)
    read: int = 0  # bytes of its data read so far
    last_timecode: int | None = None  # the last block's timecode relative to the Cluster (chromium's checks)
    timestamp: int | None = None
    held: dict[int, tuple[int, bool, int]] = field(default_factory=dict)  # track -> (time, key, size): no duration yet
    queued: list[tuple[int, int, int, bool, int]] = field(default_factory=list)  # (track, time, duration, key, size)

    def queue(self, track: int, time: int, duration: int, key: bool, size: int) -> None:
        self.queued.append((track, time, duration, key, size))

    def ready(self, in_decode_order: bool) -> list[tuple[int, int, int, bool, int]]:
        """The frames to hand on now: all of them, or (`in_decode_order`, Chromium) those before every held block."""
        bound = min((time for time, _, _ in self.held.values()), default=None) if in_decode_order else None
        if bound is None:
            ready, self.queued = self.queued, []
        else:
            ready = [f for f in self.queued if f[1] < bound]
            self.queued = [f for f in self.queued if f[1] >= bound]
        return ready


def _element(data: Buffer, offset: int) -> tuple[int, int, int] | None:
    return read_element_header(data, offset, len(data))


class MpegAudioParser(SegmentParser):
    """MPEG audio byte stream format: every frame header is an initialization segment and the frame's
    coded audio a media segment; every frame is a random access point; ID3 tags and Icecast headers are
    consumed and ignored. A header identical to the last one initialises nothing new, so it is not
    re-announced (the observable behaviour of announcing it is the same).

    Frame times count the samples since the frames' batch began (the spec's step 1 ignores them: this format
    generates timestamps). A batch is one frame, or (chromium, generated_timestamps_as_parsed) what one of
    Chromium's Parse() calls hands on: the whole frames within its 128 KiB of the append, cut short where metadata
    or a new configuration comes (MPEGAudioStreamParserBase::Parse and SendBuffers, after which its
    AudioTimestampHelper starts again from 0)."""

    def __init__(self, adts: bool, profile: Profile | None = None) -> None:
        super().__init__()
        self.adts = adts
        # the chromium profile's switches
        self.init_waits_for_frame = profile is not None and profile.mpeg_audio_init_waits_for_whole_frame
        self.info_frames_skipped = profile is not None and profile.mp3_info_frames_skipped and not adts
        self.batched = profile is not None and profile.generated_timestamps_as_parsed
        self.header_size = 9 if adts else 4  # bytes a frame header needs before it can be read
        self.current: mpeg_audio.FrameHeader | None = None
        self.samples = 0  # in the current sample rate, since this append (one-frame batches) began
        self.in_segment = False  # chromium: the last frames sent left a media segment open

    def begin_append(self, leftover: int) -> None:
        super().begin_append(leftover)
        self.samples = 0

    def reset(self) -> None:
        self.samples, self.in_segment = 0, False

    def next(self, data: Buffer) -> Item:
        return self._consumed(self._batch(data) if self.batched else self._one(data))

    def _one(self, data: Buffer) -> Item:
        """The next item, a Media item holding one frame."""
        skip = mpeg_audio.metadata_size(data)
        if skip is None:
            return NeedData()
        if skip:
            return Skip(skip) if skip <= len(data) else NeedData()
        if len(data) < self.header_size:
            return NeedData()
        if not mpeg_audio.starts_with_sync(data, self.adts):
            # Bytes that are no frame (say the rest of a frame whose start an earlier append cut off): skipped up to
            # where frames resume, as Chromium and Firefox do; the byte stream format says nothing of them.
            resume = mpeg_audio.next_valid_start(data, self.adts)
            return NeedData() if resume is None else Skip(resume)
        header = mpeg_audio.adts_frame(data) if self.adts else mpeg_audio.mpeg_frame(data)
        if self.init_waits_for_frame and header.length > len(data):
            return NeedData("media" if self.current is not None else None)
        if not header.same_config(self.current):
            if self.current is not None and self.current.sample_rate != header.sample_rate:
                self.samples = 0
            self.current = header
            # MP3's decoder delay: what Chromium's MPEG1AudioStreamParser puts in the config (kCodecDelay)
            delay = 0 if self.adts else MP3_CODEC_DELAY
            info = TrackInfo(id=1, kind="audio", timescale=header.sample_rate, codecs=header.codec, codec_delay=delay)
            self.tracks = {1: info}
            return Init(0, InitSegment(self.tracks, None))
        if header.length > len(data):
            return NeedData("media")
        if self.info_frames_skipped and mpeg_audio.carries_info_tag(data):
            return Skip(header.length)
        (batch,) = _batches([(1, self.samples, header.samples, True, header.length)], header.sample_rate)
        batch.cumulative = True  # Chromium's microsecond durations are differences of these times
        self.samples += header.samples
        return Media(header.length, [batch])

    def _batch(self, data: Buffer) -> Item:
        """chromium: the frames of one SendBuffers() call as one Media item, with the bytes skipped among them (an
        Info frame, bytes that are no frame); metadata, a new configuration or data to wait for, when no frame comes
        before it, as `_one` gives them. A partial frame starts a media segment only when frames were sent just
        before it (SendBuffers with end_of_segment false: ChunkDemuxer's parsing_media_segment)."""
        frames: list[tuple[int, int, int, bool, int]] = []
        at, samples = 0, 0
        while True:
            rest = memoryview(data)[at:]
            header = self._header(rest)
            end = self._at + at + (header.length if header is not None else 0)
            if frames and end > self._limit:
                self._limit += PARSE_STEP  # the next Parse() call inspects 128 KiB more
                self.in_segment = True  # the frame beyond this Parse() call's bytes reads as partial
                break
            self._step_to(end)  # Parse() calls that found no whole frame
            if frames and (header is None or not header.same_config(self.current) or header.length > len(rest)):
                if header is not None or self._metadata_or_short(rest):
                    # metadata, a new configuration or the end of the data: what came before is sent first
                    # a partial frame (of either configuration) leaves the segment open; a whole new one ends it
                    self.in_segment = header.length > len(rest) if header is not None else self._partial(rest)
                    break
            item = self._one(rest)
            if isinstance(item, Media):
                assert header is not None
                frames.append((1, samples, header.samples, True, item.size))
                samples += header.samples
            elif not frames:
                if isinstance(item, NeedData) and item.starts == "media" and not self.in_segment:
                    return NeedData()  # no frames sent since the last end of segment: the append state stays
                return item
            elif isinstance(item, Skip):  # an Info frame, or bytes that are no frame: ParseRust skips them, no flush
                pass
            else:
                self.in_segment = False  # bytes that are no frame, and where frames resume is not in the data yet
                break
            at += item.size
        assert self.current is not None
        (batch,) = _batches(frames, self.current.sample_rate)
        batch.cumulative = True
        return Media(at, [batch])

    def _partial(self, data: Buffer) -> bool:
        """Is `data` the start of a frame still to come (a frame sync; Chromium's partial_frame)?"""
        return len(data) >= 4 and mpeg_audio.starts_with_sync(data, self.adts)

    def _metadata_or_short(self, data: Buffer) -> bool:
        """Does `data` start with metadata (an ID3 tag, an Icecast header), or is it too short to tell?"""
        return len(data) < self.header_size or mpeg_audio.metadata_size(data) != 0

    def _header(self, data: Buffer) -> mpeg_audio.FrameHeader | None:
        """The frame header `data` starts with; None for metadata, bytes that are no frame, or too few bytes."""
        if len(data) < self.header_size or not mpeg_audio.starts_with_sync(data, self.adts):
            return None
        return mpeg_audio.adts_frame(data) if self.adts else mpeg_audio.mpeg_frame(data)


def parser_for(mime_type: str, profile: Profile | None = None) -> SegmentParser:
    essence = mime_type.split(";")[0].strip().lower()
    if essence in ("audio/aac", "audio/mpeg"):
        return MpegAudioParser(adts=essence == "audio/aac", profile=profile)
    if essence.endswith("/webm"):
        return WebmParser(profile)
    return IsoBmffParser(profile)
