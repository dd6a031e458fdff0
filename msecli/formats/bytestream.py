"""The byte stream formats behind one interface: sniff, parse, classify, frames."""

from __future__ import annotations

import numpy as np

from msecli.errors import ParseError
from msecli.formats import Buffer
from msecli.formats.frames import TrackInfo
from msecli.formats.isobmff import boxes, fragments
from msecli.formats.isobmff.boxes import Parsed
from msecli.formats.webm import parser as webm

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
ISO_TYPES = {b"ftyp", b"styp", b"moov", b"moof", b"mdat", b"sidx", b"free", b"skip", b"emsg", b"prft", b"uuid",
             b"wide", b"pdin", b"mfra", b"meta"}  # fmt: skip


def sniff(data: Buffer) -> str:
    """'isobmff' or 'webm' from the first bytes; ParseError when it is neither."""
    head = bytes(data[:8])
    if head[:4] == EBML_MAGIC or head[:4] == b"\x1f\x43\xb6\x75":  # EBML header, or a bare Cluster
        return "webm"
    if len(head) >= 8 and head[4:8] in ISO_TYPES:
        return "isobmff"
    raise ParseError("neither an ISO BMFF box nor an EBML element starts here", offset=0, path="")


def parse(data: Buffer, fmt: str) -> Parsed:
    return boxes.parse_boxes(data) if fmt == "isobmff" else webm.parse_elements(data)


def classify(parsed: Parsed, fmt: str, have_init: bool = False) -> list[dict]:
    if fmt == "isobmff":
        return fragments.classify(parsed.nodes, have_init)
    return webm.classify(parsed.nodes, have_init)


def frames(parsed: Parsed, fmt: str, infos: dict[int, TrackInfo] | None = None,
           ) -> tuple[dict[int, TrackInfo], dict[int, np.ndarray]]:  # fmt: skip
    """Track infos (from an init segment in `parsed`, else `infos`) and each track's coded frames."""
    if fmt == "isobmff":
        return fragments.all_frames(parsed.nodes, infos)
    return webm.all_frames(parsed.nodes, infos)
