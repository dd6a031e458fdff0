"""`msecli inspect buffered`: append segments in order to SourceBuffers and report what is buffered."""

from __future__ import annotations

import dataclasses
import mmap
import os
from pathlib import Path
from typing import Any

from msecli.errors import InputError
from msecli.formats import bytestream
from msecli.inspect import Source, mapped
from msecli.mse.errors import DOMException
from msecli.mse.profiles import PROFILES
from msecli.sim.page import attached_page
from msecli.timeline.ranges import TimeRanges


def buffered_report(sources: list[Source], profile_name: str, manifest_types: dict[str, str],
                    quota: tuple[int, int] | None = None) -> dict[str, Any]:  # fmt: skip
    """`quota`: (audio, video) bytes per SourceBuffer instead of the profile's."""
    profile = PROFILES[profile_name]
    if quota is not None:
        profile = dataclasses.replace(profile, audio_quota=quota[0], video_quota=quota[1])
    page = attached_page(profile)
    loop, element, host, media_source = page.loop, page.element, page.attachment, page.media_source
    groups: dict[str, list[Path]] = {}
    for source in sources:
        groups.setdefault(source.group, []).append(source.path)
    buffers = {}
    for group, paths in groups.items():
        mime_type = manifest_types.get(group) or _mime_type(paths[0])
        buffer = media_source.add_source_buffer(mime_type)
        host.names[id(buffer)] = group
        buffers[group] = (buffer, mime_type)
    refused: dict[str, dict[str, str]] = {}
    for group, paths in groups.items():
        buffer, _ = buffers[group]
        for path in paths:
            try:
                buffer.append_buffer(_read_only(path))
            except DOMException as exc:  # e.g. QuotaExceededError: what the page would see; stop there
                refused[group] = {"file": str(path), "exception": exc.name, "message": str(exc)}
                break
            loop.run_until_idle()
            if f"{group}:error" in host.events:
                raise InputError(f"{path}: the append failed ({buffer.append_error_reason}): an MSE append error")
    report: dict[str, Any] = {"profile": profile_name, "sourceBuffers": {}, "element": {}}
    for group, (buffer, mime_type) in buffers.items():
        ranges = buffer.buffered()
        report["sourceBuffers"][group] = {"type": mime_type, "buffered": ranges.to_json(), "gaps": gaps(ranges),
                                          "frames": sum(len(t) for t in buffer.track_buffers.values()),
                                          "appendRefused": refused.get(group)}  # fmt: skip
    element_ranges = element.buffered()
    report["element"] = {"buffered": element_ranges.to_json(), "gaps": gaps(element_ranges)}
    return report


def _read_only(path: Path) -> memoryview:
    """The file's bytes without reading them all in: a read-only map, released when no longer referenced."""
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return memoryview(b"")
        return memoryview(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))


def gaps(ranges: TimeRanges) -> list[dict[str, float]]:
    spans = ranges.spans()
    out = [{"start": 0.0, "length": round(float(spans[0][0]), 6)}] if spans and spans[0][0] > 0 else []
    out += [{"start": round(float(a[1]), 6), "length": round(float(b[0] - a[1]), 6)} for a, b in zip(spans, spans[1:])]
    return out


def _mime_type(init: Path) -> str:
    """A type for addSourceBuffer from an init segment's own tracks."""
    with mapped(init) as data:
        fmt = bytestream.sniff(data)
        parsed = bytestream.parse(data, fmt)
        infos, _ = bytestream.frames(parsed, fmt)
    if not infos:
        raise InputError(f"{init}: the first file is not an initialization segment")
    kind = "video" if any(i.kind == "video" for i in infos.values()) else "audio"
    container = "mp4" if fmt == "isobmff" else "webm"
    codecs = ",".join(i.codecs for i in infos.values())
    return f'{kind}/{container}; codecs="{codecs}"'
