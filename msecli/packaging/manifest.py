"""manifest.json (schema version 1): what `segment` wrote, for players and for the other commands."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFEST_VERSION = 1


@dataclass
class SegmentEntry:
    index: int
    file: str
    start: float
    end: float
    bytes: int
    frames: int


@dataclass
class TrackEntry:
    id: str
    kind: str  # "video", "audio" or "muxed"
    container: str  # "mp4" or "webm"
    codecs: str
    mimeType: str
    timescale: int
    init: str
    segments: list[SegmentEntry] = field(default_factory=list)
    components: list[dict[str, Any]] | None = None  # --muxed: one entry per track inside


@dataclass
class Manifest:
    source: str
    duration: float
    timelineOffset: float
    tracks: list[TrackEntry]
    version: int = MANIFEST_VERSION

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        ordered = {"version": data.pop("version"), **data}
        for track in ordered["tracks"]:
            if track["components"] is None:
                del track["components"]
        return ordered

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def mime_type(kind: str, container: str, codecs: list[str]) -> str:
    major = "video" if kind in ("video", "muxed") else "audio"
    return f'{major}/{container}; codecs="{",".join(codecs)}"'


def seconds(value: float) -> float:
    """Seconds as written in the manifest: microsecond precision, like the values browsers report."""
    return round(value, 6)
