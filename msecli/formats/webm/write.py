"""Build WebM initialization segments (EBML header + Segment of unknown size + Info + Tracks) and
media segments (Clusters of SimpleBlocks; the last block of each track is a BlockGroup carrying its
BlockDuration, so a parser need not guess the cluster's end)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from msecli.formats.webm import ids
from msecli.formats.webm.ebml import (
    element,
    encode_id,
    encode_size,
    float_element,
    int_element,
    string_element,
    uint_element,
    unknown_size_header,
)

TIMESTAMP_SCALE_NS = 1_000_000  # one tick = 1 ms
SIMPLEBLOCK_KEYFRAME = 0x80
MAX_RELATIVE_TIMESTAMP = 0x7FFF


@dataclass(frozen=True)
class WebmTrack:
    number: int
    kind: str  # "video" or "audio"
    codec_id: str  # V_VP8, V_VP9, V_AV1, A_OPUS, A_VORBIS
    codec_private: bytes = b""
    width: int = 0
    height: int = 0
    sample_rate: float = 0.0
    channels: int = 0
    codec_delay_ns: int = 0
    seek_pre_roll_ns: int = 0


@dataclass
class Block:
    track: int
    timestamp: int  # absolute, in TimestampScale ticks
    duration: int
    keyframe: bool
    payload: bytes | memoryview
    last_of_track: bool = field(default=False)
    discard_padding_ns: int = 0


def init_segment(tracks: list[WebmTrack], duration_ticks: float) -> bytes:
    header = element(
        ids.EBML,
        uint_element(ids.EBML_VERSION, 1),
        uint_element(ids.EBML_READ_VERSION, 1),
        uint_element(ids.EBML_MAX_ID_LENGTH, 4),
        uint_element(ids.EBML_MAX_SIZE_LENGTH, 8),
        string_element(ids.DOC_TYPE, "webm"),
        uint_element(ids.DOC_TYPE_VERSION, 4),
        uint_element(ids.DOC_TYPE_READ_VERSION, 2),
    )
    info = element(
        ids.INFO,
        uint_element(ids.TIMESTAMP_SCALE, TIMESTAMP_SCALE_NS),
        string_element(ids.MUXING_APP, "msecli"),
        string_element(ids.WRITING_APP, "msecli"),
        float_element(ids.DURATION, float(duration_ticks)),
    )
    return header + unknown_size_header(ids.SEGMENT) + info + element(ids.TRACKS, *[_track_entry(t) for t in tracks])


def _track_entry(track: WebmTrack) -> bytes:
    children = [
        uint_element(ids.TRACK_NUMBER, track.number),
        uint_element(ids.TRACK_UID, track.number),
        uint_element(ids.TRACK_TYPE, 1 if track.kind == "video" else 2),
        uint_element(ids.FLAG_LACING, 0),
        string_element(ids.LANGUAGE, "und"),
        string_element(ids.CODEC_ID, track.codec_id),
    ]
    if track.codec_private:
        children.append(element(ids.CODEC_PRIVATE, track.codec_private))
    if track.codec_delay_ns:
        children.append(uint_element(ids.CODEC_DELAY, track.codec_delay_ns))
    if track.seek_pre_roll_ns:
        children.append(uint_element(ids.SEEK_PRE_ROLL, track.seek_pre_roll_ns))
    if track.kind == "video":
        children.append(
            element(ids.VIDEO, uint_element(ids.PIXEL_WIDTH, track.width), uint_element(ids.PIXEL_HEIGHT, track.height))
        )
    else:
        children.append(
            element(
                ids.AUDIO,
                float_element(ids.SAMPLING_FREQUENCY, track.sample_rate),
                uint_element(ids.CHANNELS, track.channels),
            )
        )
    return element(ids.TRACK_ENTRY, *children)


def media_segment(blocks: list[Block]) -> list[bytes | memoryview]:
    """One or more Clusters (a new one whenever a relative timestamp would overflow int16),
    as chunks to write in order. `blocks` must be in timestamp order."""
    chunks: list[bytes | memoryview] = []
    start = 0
    while start < len(blocks):
        cluster_time = blocks[start].timestamp
        stop = start
        while stop < len(blocks) and blocks[stop].timestamp - cluster_time <= MAX_RELATIVE_TIMESTAMP:
            stop += 1
        chunks.extend(_cluster(cluster_time, blocks[start:stop]))
        start = stop
    return chunks


def _cluster(cluster_time: int, blocks: list[Block]) -> list[bytes | memoryview]:
    body: list[bytes | memoryview] = [uint_element(ids.TIMESTAMP, cluster_time)]
    previous_timestamp: dict[int, int] = {}
    for block in blocks:
        relative = block.timestamp - cluster_time
        if block.last_of_track or block.discard_padding_ns:
            body.extend(_block_group(block, relative, previous_timestamp.get(block.track)))
        else:
            flags = SIMPLEBLOCK_KEYFRAME if block.keyframe else 0
            block_header = _block_header(block.track, relative, flags)
            body.append(_header(ids.SIMPLE_BLOCK, len(block_header) + len(block.payload)))
            body.extend([block_header, block.payload])
        previous_timestamp[block.track] = block.timestamp
    size = sum(len(chunk) for chunk in body)
    return [_header(ids.CLUSTER, size), *body]


def _block_group(block: Block, relative: int, previous_timestamp: int | None) -> list[bytes | memoryview]:
    """A BlockGroup: the Block, its BlockDuration (last of its track), a ReferenceBlock for a
    non-keyframe, and DiscardPadding where the frame's decoded end is to be dropped."""
    block_header = _block_header(block.track, relative, 0)
    group = []
    if block.last_of_track:
        group.append(uint_element(ids.BLOCK_DURATION, block.duration))
    if not block.keyframe:
        reference = previous_timestamp if previous_timestamp is not None else block.timestamp - block.duration
        group.append(int_element(ids.REFERENCE_BLOCK, reference - block.timestamp))
    if block.discard_padding_ns:
        group.append(int_element(ids.DISCARD_PADDING, block.discard_padding_ns))
    block_size = len(block_header) + len(block.payload)
    group_size = _element_length(ids.BLOCK, block_size) + sum(len(g) for g in group)
    return [_header(ids.BLOCK_GROUP, group_size), _header(ids.BLOCK, block_size), block_header, block.payload, *group]


def _block_header(track: int, relative: int, flags: int) -> bytes:
    return bytes([0x80 | track]) + struct.pack(">hB", relative, flags)


def _header(element_id: int, size: int) -> bytes:
    return encode_id(element_id) + encode_size(size)


def _element_length(element_id: int, size: int) -> int:
    return len(_header(element_id, size)) + size
