"""`msecli inspect`: resolve the files to read, parse them, and build the reports the CLI renders.

Files are memory-mapped: payloads (`mdat`, blocks) are never read, only skipped over.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from msecli.errors import InputError, ParseError, UsageError
from msecli.formats import Buffer, bytestream
from msecli.formats.frames import TrackInfo, concat


@dataclass
class Source:
    """One file to read, in append order; `group` names the SourceBuffer it feeds (a manifest track)."""

    path: Path
    group: str


@contextmanager
def mapped(path: Path) -> Iterator[Buffer]:
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory without a manifest.json") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    with file:
        if file.seek(0, 2) == 0:
            yield b""
            return
        data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield data
        finally:
            try:
                data.close()
            except BufferError:  # a view into it is still alive; the mapping goes when that does
                pass


def resolve(paths: list[Path], init: Path | None = None, find_init: bool = False) -> list[Source]:
    """Directories with a manifest.json become their tracks' init + segments; with `find_init`, a lone
    media segment gets its init segment from --init, a manifest.json beside it, or an init.* beside it."""
    sources: list[Source] = []
    for path in paths:
        if path.is_dir():
            sources.extend(_manifest_sources(path))
        else:
            sources.append(Source(path, path.parent.name or path.name))
    if find_init:
        sources = _with_init(sources, init)
    return sources


def manifest_types(paths: list[Path]) -> dict[str, str]:
    """The mimeType of each manifest track, by track id, for the directories among `paths`."""
    types: dict[str, str] = {}
    for path in paths:
        manifest = path / "manifest.json"
        if path.is_dir() and manifest.is_file():
            try:
                types.update({t["id"]: t["mimeType"] for t in json.loads(manifest.read_text())["tracks"]})
            except (ValueError, KeyError, TypeError):
                pass
    return types


def _manifest_sources(directory: Path) -> list[Source]:
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise InputError(f"{directory}: is a directory without a manifest.json")
    try:
        manifest = json.loads(manifest_path.read_text())
        return [
            Source(directory / f, track["id"])
            for track in manifest["tracks"]
            for f in [track["init"], *(s["file"] for s in track["segments"])]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{manifest_path}: not a msecli manifest ({exc})") from None


def _with_init(sources: list[Source], init: Path | None) -> list[Source]:
    if init is not None:
        return [Source(init, sources[0].group if sources else "init"), *sources]
    first = sources[0] if sources else None
    if first is None or _starts_with_init(first.path):
        return sources
    found = _init_beside(first.path)
    if found is None:
        raise UsageError(
            f"{first.path}: a media segment needs its init segment for timescales: give --init, or keep "
            "a manifest.json or an init.mp4/init.webm beside it"
        )
    return [Source(found, first.group), *sources]


def _starts_with_init(path: Path) -> bool:
    with mapped(path) as data:
        head = bytes(data[:8])
    return head[:4] == bytestream.EBML_MAGIC or head[4:8] in (b"ftyp", b"moov")


def _init_beside(segment: Path) -> Path | None:
    for directory in (segment.parent, segment.parent.parent):
        manifest = directory / "manifest.json"
        if manifest.is_file():
            try:
                for track in json.loads(manifest.read_text())["tracks"]:
                    files = {(directory / s["file"]).resolve() for s in track["segments"]}
                    if segment.resolve() in files:
                        return directory / track["init"]
            except (ValueError, KeyError, TypeError):
                pass
    for name in ("init.mp4", "init.webm", "init.m4s", "init.cmfv", "init.cmfa"):
        if (segment.parent / name).is_file():
            return segment.parent / name
    return None


# Reports: plain data (dicts) in the shapes --json prints.


def tree_report(sources: list[Source], depth: int | None) -> list[dict[str, Any]]:
    reports = []
    have_init: set[str] = set()
    for source in sources:
        with mapped(source.path) as data:
            fmt = _sniff(source.path, data)
            parsed = _parse(source.path, data, fmt)
            segments = bytestream.classify(parsed, fmt, source.group in have_init)
            if any(s["kind"] == "init" for s in segments):
                have_init.add(source.group)
            reports.append({
                "file": str(source.path),
                "format": fmt,
                "size": len(data),
                "segments": segments,
                "warnings": parsed.warnings,
                "nodes": [node.to_dict(depth) for node in parsed.nodes],
            })  # fmt: skip
    return reports


@dataclass
class TrackFrames:
    group: str
    info: TrackInfo
    frames: list[np.ndarray] = field(default_factory=list)
    files: list[tuple[str, int, int]] = field(default_factory=list)  # (file, first frame index, count)
    count: int = 0


def frame_tables(sources: list[Source]) -> tuple[list[TrackFrames], list[str]]:
    """Every track's coded frames across the sources, in append order (init segments set the tracks)."""
    tracks: dict[tuple[str, int], TrackFrames] = {}
    infos: dict[str, dict[int, TrackInfo]] = {}
    warnings: list[str] = []
    for source in sources:
        with mapped(source.path) as data:
            fmt = _sniff(source.path, data)
            parsed = _parse(source.path, data, fmt)
            warnings.extend(f"{source.path}: {w}" for w in parsed.warnings)
            try:
                found, per_track = bytestream.frames(parsed, fmt, infos.get(source.group))
            except ParseError as exc:
                raise ParseError(exc.reason, offset=exc.offset, path=f"{source.path}: {exc.path}") from None
        infos[source.group] = found
        if not found and per_track:
            raise UsageError(f"{source.path}: media segment without an init segment: give --init")
        for track_id, frames in per_track.items():
            key = (source.group, track_id)
            entry = tracks.setdefault(key, TrackFrames(source.group, found[track_id]))
            entry.files.append((str(source.path), entry.count, len(frames)))
            entry.frames.append(frames)
            entry.count += len(frames)
        for track_id, info in found.items():
            tracks.setdefault((source.group, track_id), TrackFrames(source.group, info))
    return list(tracks.values()), warnings


def frames_report(tracks: list[TrackFrames], track_filter: str | None) -> dict[str, Any]:
    out = []
    for track in tracks:
        info = track.info
        if track_filter is not None and track_filter not in (str(info.id), track.group, info.kind):
            continue
        frames = concat(track.frames)
        scale = info.timescale or 1
        columns = zip(*(frames[name].tolist() for name in ("dts", "pts", "duration", "size", "offset", "key")))
        rows = [
            {
                "index": i,
                "dts": round(dts / scale, 6),
                "pts": round(pts / scale, 6),
                "duration": round(duration / scale, 6),
                "dts_ticks": dts,
                "pts_ticks": pts,
                "duration_ticks": duration,
                "size": size,
                "offset": offset,
                "key": key,
            }
            for i, (dts, pts, duration, size, offset, key) in enumerate(columns)
        ]
        out.append({
            "id": info.id,
            "group": track.group,
            "kind": info.kind,
            "codecs": info.codecs,
            "timescale": scale,
            "totals": _totals(frames, scale),
            "gops": _gops(frames),
            "discontinuities": _discontinuities(frames, scale),
            "frames": rows,
        })  # fmt: skip
    if track_filter is not None and not out:
        raise UsageError(f"--track {track_filter}: no such track")
    return {"tracks": out}


def _totals(frames: np.ndarray, scale: int) -> dict[str, Any]:
    if not len(frames):
        return {"frames": 0, "keyframes": 0, "bytes": 0, "duration": 0.0, "bitrate": 0}
    duration = (int((frames["pts"] + frames["duration"]).max()) - int(frames["pts"].min())) / scale
    size = int(frames["size"].sum())
    return {"frames": len(frames), "keyframes": int(frames["key"].sum()), "bytes": size,
            "duration": round(duration, 6), "bitrate": round(8 * size / duration) if duration > 0 else 0}  # fmt: skip


def _gops(frames: np.ndarray) -> list[int]:
    """Frames from each keyframe to the next (decode order)."""
    keys = np.flatnonzero(frames["key"])
    return np.diff(np.append(keys, len(frames))).tolist() if len(keys) else []


def _discontinuities(frames: np.ndarray, scale: int) -> list[dict[str, Any]]:
    """Where a frame does not start where the previous one (decode order) ended: a gap or an overlap."""
    if len(frames) < 2:
        return []
    expected = frames["dts"][:-1] + frames["duration"][:-1]
    delta = frames["dts"][1:] - expected
    where = np.flatnonzero(delta)
    return [
        {"index": int(i + 1), "kind": "gap" if delta[i] > 0 else "overlap",
         "at": round(int(frames["dts"][i + 1]) / scale, 6), "ticks": int(delta[i]), "seconds": round(int(delta[i]) / scale, 6)}
        for i in where[:1000]
    ]  # fmt: skip


def _sniff(path: Path, data: Buffer) -> str:
    try:
        return bytestream.sniff(data)
    except ParseError:
        raise InputError(f"{path}: neither ISO BMFF (MP4) nor WebM") from None


def _parse(path: Path, data: Buffer, fmt: str):  # type: ignore[no-untyped-def]
    try:
        return bytestream.parse(data, fmt)
    except ParseError as exc:
        raise ParseError(exc.reason, offset=exc.offset, path=f"{path}: {exc.path}" if exc.path else str(path)) from None
