"""Run the default workload (sim/player.py) to the end of playback and summarise it for the report
and `--json` (schema in README)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from msecli.errors import InputError
from msecli.mse.errors import DOMException
from msecli.mse.profiles import Profile
from msecli.mse.segment_parser import Init, parser_for
from msecli.sim.decoder import CostOf, CostTable, DecoderModel, model_cost_of
from msecli.sim.element import UNREPORTED
from msecli.sim.network import Network
from msecli.sim.page import DEFAULT_LATENCY, Page
from msecli.sim.player import MainApp, SegmentRef, TrackPlan, WorkerPlayer
from msecli.sim.scenario import json_number

QUIET = (*UNREPORTED, "time")  # counted, not listed: timeupdate and the app's periodic currentTime messages
MAX_SIMULATED = Fraction(7 * 24 * 3600)  # a run that has not ended by then is stuck


@dataclass
class WorkloadOptions:
    context: str = "worker"
    network: Network = field(default_factory=lambda: Network.constant(Fraction(5_000_000), Fraction(40, 1000)))
    buffer_ahead: Fraction = Fraction(30)
    buffer_behind: Fraction = Fraction(30)
    seeks: list[tuple[Fraction, Fraction]] = field(default_factory=list)  # (target, at simulated time)
    latency: Fraction = DEFAULT_LATENCY
    realtime: bool = False
    keep_events: bool = True  # False: count events without keeping the log (long benchmark runs)
    decode: str = "off"  # pyav | model | off
    decode_costs: CostOf | None = None  # pyav: measured costs by PTS (the CLI measures; sim/ imports no PyAV)
    decode_report: dict[str, Any] | None = None  # pyav: the measured `decode` blocks
    decode_table: CostTable | None = None  # model: the cost table (default: DEFAULT_TABLE)
    decode_underflow: Fraction | None = Fraction(1, 2)  # a frame this late stalls playback (None: only drops)


def plan_from_manifest(directory: Path) -> list[TrackPlan]:
    path = directory / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
        tracks = [_track_plan(directory, t) for t in manifest["tracks"]]
    except FileNotFoundError:
        raise InputError(f"{path}: no manifest.json (segment the media first, or pass a media file)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not an msecli manifest ({exc})") from None
    if not tracks:
        raise InputError(f"{path}: the manifest lists no tracks")
    return tracks


def _track_plan(directory: Path, track: dict[str, Any]) -> TrackPlan:
    def ref(file: str, start: float, end: float) -> SegmentRef:
        full = directory / file
        if not full.is_file():
            raise InputError(f"{full}: listed in the manifest but missing")
        return SegmentRef(Fraction(start), Fraction(end), full.stat().st_size, full.read_bytes, str(full))

    segments = [ref(s["file"], s["start"], s["end"]) for s in track["segments"]]
    return TrackPlan(track["id"], track["kind"], track["mimeType"], ref(track["init"], 0, 0), segments)


def run_workload(tracks: list[TrackPlan], profile: Profile, options: WorkloadOptions,
                 on_page: Callable[[Page], None] | None = None,
                 on_progress: Callable[[Page, WorkerPlayer], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Play to the end (or until playback can go no further); `on_page` may add listeners first;
    `on_progress` is called after every task (the dashboard), and once more at the end."""
    page = Page(options.context, profile, latency=options.latency, realtime=options.realtime)
    if on_page is not None:
        on_page(page)
    page.world.log.keep = options.keep_events
    page.attachment.keep_events = False  # the player reads events as they fire; records are for scripts
    player = WorkerPlayer(page, tracks, options.network, buffer_ahead=options.buffer_ahead,
                          buffer_behind=options.buffer_behind)  # fmt: skip
    page.element.decoder = _decoder(tracks, options)
    app = MainApp(page, player, options.seeks)
    app.start()
    element, clock = page.element, page.world.clock

    def finished() -> bool:
        if on_progress is not None:
            on_progress(page, player)
        return element.ended or player.failure is not None or (clock.settled and not element.potentially_playing())

    try:
        clock.run_until(finished, MAX_SIMULATED)
    except DOMException as exc:
        raise InputError(f"the simulated page hit an uncaught {exc.name}: {exc}") from None
    if on_progress is not None:
        on_progress(page, player)
    return summarise(page, player, app, _decode_report(tracks, options, page.element.decoder))


def _decoder(tracks: list[TrackPlan], options: WorkloadOptions) -> DecoderModel | None:
    video = next((t for t in tracks if t.kind == "video"), None)
    if options.decode == "off" or video is None:
        return None
    if options.decode == "pyav":
        return DecoderModel(options.decode_costs, options.decode_underflow) if options.decode_costs else None
    codec, height = _video_format(video)
    return DecoderModel(model_cost_of(options.decode_table or CostTable(), codec, height), options.decode_underflow)


def _video_format(video: TrackPlan) -> tuple[str, int]:
    """The video track's codec and height, from its init segment (the core's own parser)."""
    item = parser_for(video.mime_type).next(video.init.load())
    info = next((t for t in item.segment.tracks.values() if t.kind == "video"), None) if isinstance(item, Init) else None
    return (info.codecs, info.height or 0) if info is not None else ("", 0)


def _decode_report(tracks: list[TrackPlan], options: WorkloadOptions, decoder: DecoderModel | None) -> dict[str, Any]:
    if options.decode == "pyav":
        return options.decode_report or {}
    video = next((t for t in tracks if t.kind == "video"), None)
    if decoder is None or video is None or not video.segments:
        return {}
    return {video.id: decoder.report()}


def summarise(page: Page, player: WorkerPlayer, app: MainApp, decode: dict[str, Any] | None = None) -> dict[str, Any]:
    element = page.element
    stats = element.stats
    end = page.world.clock.now
    stalls = [
        {"start": _t(start), "duration": _t((stop if stop is not None else end) - start)}
        for start, stop in stats.stalls
    ]
    quality = element.get_video_playback_quality()
    ahead = app.buffer_ahead_seen
    events = [{"time": _t(time), "context": context, "target": target, "type": kind}
              for time, context, target, kind in page.world.log.entries if kind not in QUIET]  # fmt: skip
    per_context: dict[str, dict[str, int]] = {}
    for (context, kind), count in sorted(page.world.log.counts.items()):
        per_context.setdefault(context, {})[kind] = count
    sources: dict[str, dict[str, Any]] = {}
    for track_id, track in player.tracks.items():
        try:
            sources[track_id] = {"buffered": track.buffer.buffered().to_json()}
        except DOMException:
            sources[track_id] = {"buffered": None}
    summary = {
        "startupDelay": _t(stats.first_playing) if stats.first_playing is not None else None,
        "stallCount": len(stalls),
        "stallTime": round(sum(s["duration"] for s in stalls), 6),  # type: ignore[misc]
        "stalls": stalls,
        "droppedFrames": quality["droppedVideoFrames"],
        "totalFrames": quality["totalVideoFrames"],
        "bufferAheadMin": _t(ahead.minimum) if ahead.minimum is not None else 0.0,
        "bufferAheadMean": _t(ahead.total / ahead.count) if ahead.count else 0.0,
        "ended": element.ended,
        "currentTime": json_number(float(element.current_time)),
        "simulatedTime": _t(end),
        "bytesFetched": player.bytes_fetched,
        "quotaExceeded": player.quota_exceeded,
        "failure": player.failure,
        "final": {"element": {"buffered": element.buffered().to_json()}, "sourceBuffers": sources},
    }
    return {"context": "worker" if page.worker is not None else "window", "summary": summary,
            "decode": decode or {}, "eventCounts": per_context, "events": events}  # fmt: skip


def _t(value: Fraction) -> float:
    return round(float(value), 6)
