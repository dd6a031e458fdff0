"""Turn finished track segments into files: one init + one series per group of tracks.

A group is one track (the default, CMAF-style per-track layout) or every track (`--muxed`). A group
writes media segment k once each of its tracks has finished k, and its init segment at the end, when
the edit list each track needs is known. Files go through the `write` callable the caller gives, so
this module does no I/O of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from msecli.formats.isobmff import write as fmp4
from msecli.formats.webm import write as webm
from msecli.packaging.cutter import TrackSegment, TrackSpec
from msecli.packaging.manifest import SegmentEntry, TrackEntry, mime_type, seconds

Chunks = Sequence[bytes | memoryview]
WriteFile = Callable[[str, Chunks], int]  # (path relative to the output directory, chunks) -> bytes written

EXTENSIONS = {"mp4": ("init.mp4", "m4s"), "webm": ("init.webm", "webm")}


@dataclass
class OutputTrack:
    """A track as it will be written: its container, codecs string and container-specific header."""

    spec: TrackSpec
    container: str
    codecs: str
    mp4: fmp4.InitTrack | None = None
    webm: webm.WebmTrack | None = None
    webm_timestamp_shift: int = 0  # ticks added to every WebM block timestamp (the codec delay)


class Group:
    """One init segment and one series of media segments."""

    def __init__(self, name: str, tracks: list[OutputTrack], write: WriteFile, *, muxed: bool = False) -> None:
        self.name = name
        self.muxed = muxed
        self.tracks = tracks
        self.container = tracks[0].container
        self.write = write
        self.pending: dict[int, dict[str, TrackSegment]] = {}
        self.entries: list[SegmentEntry] = []
        self.first_dts: dict[str, int] = {}
        init_name, self.extension = EXTENSIONS[self.container]
        self.init_path = f"{name}/{init_name}"

    def add(self, segment: TrackSegment) -> None:
        self.first_dts.setdefault(segment.track, int(segment.dts[0]))
        self.pending.setdefault(segment.index, {})[segment.track] = segment

    def flush(self, settled: dict[str, int]) -> None:
        """Write every pending segment index that all of this group's tracks have moved past."""
        ready = min(settled[t.spec.id] for t in self.tracks)
        for index in sorted(k for k in self.pending if k < ready):
            self._write_segment(index, self.pending.pop(index))

    def close(self, duration: float) -> TrackEntry:
        for index in sorted(self.pending):
            self._write_segment(index, self.pending.pop(index))
        self.write(self.init_path, [self._init_segment(duration)])
        return self._entry()

    def media_time(self, track: OutputTrack) -> int:
        """The edit that keeps presentation times as they are while decode times start at or after 0."""
        return max(0, -self.first_dts.get(track.spec.id, 0))

    def _write_segment(self, index: int, parts: dict[str, TrackSegment]) -> None:
        ordered = [(t, parts[t.spec.id]) for t in self.tracks if t.spec.id in parts]
        chunks = self._mp4_segment(index, ordered) if self.container == "mp4" else self._webm_segment(ordered)
        path = f"{self.name}/seg-{index:05d}.{self.extension}"
        size = self.write(path, chunks)
        start = min(float(p.pts.min()) / t.spec.timescale for t, p in ordered)
        end = max(float((p.pts + p.durations).max()) / t.spec.timescale for t, p in ordered)
        frames = sum(len(p.payloads) for _, p in ordered)
        self.entries.append(SegmentEntry(index, path, seconds(start), seconds(end), size, frames))

    def _mp4_segment(self, index: int, parts: list[tuple[OutputTrack, TrackSegment]]) -> Chunks:
        runs = []
        for track, part in parts:
            runs.append(
                fmp4.TrackRun(
                    track_id=self._track_number(track),
                    base_media_decode_time=int(part.dts[0]) + self.media_time(track),
                    durations=part.durations,
                    sizes=part.sizes,
                    keyframes=part.keyframes,
                    composition_offsets=part.pts - part.dts,
                )
            )
        payloads = [payload for _, part in parts for payload in part.payloads]
        return [fmp4.media_segment_header(index, runs), *payloads]

    def _webm_segment(self, parts: list[tuple[OutputTrack, TrackSegment]]) -> Chunks:
        blocks = []
        for track, part in parts:
            shifted = part.pts + track.webm_timestamp_shift
            count = len(part.payloads)
            for i in range(count):
                blocks.append(
                    webm.Block(
                        track=self._track_number(track),
                        timestamp=int(shifted[i]),
                        duration=int(part.durations[i]),
                        keyframe=bool(part.keyframes[i]),
                        payload=part.payloads[i],
                        last_of_track=i == count - 1,
                        discard_padding_ns=part.discard_padding_ns.get(i, 0),
                    )
                )
        blocks.sort(key=lambda b: b.timestamp)  # stable: tracks keep their order at equal times
        return webm.media_segment(blocks)

    def _track_number(self, track: OutputTrack) -> int:
        return self.tracks.index(track) + 1

    def _init_segment(self, duration: float) -> bytes:
        if self.container == "mp4":
            init_tracks = []
            for track in self.tracks:
                assert track.mp4 is not None
                init_tracks.append(
                    dataclasses.replace(
                        track.mp4, track_id=self._track_number(track), media_time=self.media_time(track)
                    )
                )
            return fmp4.init_segment(init_tracks, duration)
        webm_tracks = [dataclasses.replace(t.webm, number=self._track_number(t)) for t in self.tracks if t.webm]
        return webm.init_segment(webm_tracks, duration * 1e9 / webm.TIMESTAMP_SCALE_NS)

    def _entry(self) -> TrackEntry:
        kind = self.tracks[0].spec.kind if len(self.tracks) == 1 else "muxed"
        codecs = [t.codecs for t in self.tracks]
        components = None
        if self.muxed:
            components = [
                {"id": t.spec.id, "kind": t.spec.kind, "codecs": t.codecs, "timescale": t.spec.timescale}
                for t in self.tracks
            ]
        return TrackEntry(
            id=self.name,
            kind=kind,
            container=self.container,
            codecs=",".join(codecs),
            mimeType=mime_type(kind, self.container, codecs),
            timescale=self.tracks[0].spec.timescale,
            init=self.init_path,
            segments=self.entries,
            components=components,
        )
