"""Helpers the tests share: packets as PyAV reads them, and the boxes/elements of written segments."""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from msecli.formats.isobmff.walk import iter_boxes
from msecli.formats.webm import ids
from msecli.formats.webm.ebml import UNKNOWN_SIZE, read_vint

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@dataclass(frozen=True)
class Packet:
    pts: Fraction  # seconds
    dts: Fraction
    key: bool
    data: bytes


def read_packets(source: str | Path | bytes) -> dict[str, list[Packet]]:
    """Packets per stream kind ('video', 'audio'; a second of a kind is 'video2'), as PyAV demuxes them."""
    container = av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    names = {}
    for stream in container.streams:
        if stream.type in ("video", "audio"):
            same = sum(1 for n in names.values() if n.rstrip("0123456789") == stream.type)
            names[stream.index] = stream.type if same == 0 else f"{stream.type}{same + 1}"
    packets: dict[str, list[Packet]] = {name: [] for name in names.values()}
    for packet in container.demux():
        if packet.size == 0 or packet.stream.index not in names:
            continue
        tb = Fraction(packet.time_base)
        dts = packet.dts if packet.dts is not None else packet.pts
        packets[names[packet.stream.index]].append(Packet(packet.pts * tb, dts * tb, packet.is_keyframe, bytes(packet)))
    container.close()
    return packets


def load_manifest(out_dir: Path) -> dict:
    return json.loads((out_dir / "manifest.json").read_text())


def track_bytes(out_dir: Path, track: dict) -> bytes:
    """The init segment and every media segment of a manifest track, concatenated in order."""
    parts = [(out_dir / track["init"]).read_bytes()]
    parts += [(out_dir / s["file"]).read_bytes() for s in track["segments"]]
    return b"".join(parts)


@dataclass(frozen=True)
class FragmentRun:
    """One traf of a media segment, decoded with no help from msecli's own parser."""

    track_id: int
    base_media_decode_time: int
    tfdt_version: int
    durations: np.ndarray
    keyframes: np.ndarray
    composition_offsets: np.ndarray


def fragment_runs(segment: bytes) -> list[FragmentRun]:
    types = [b.type for b in iter_boxes(segment)]
    assert types[:3] == ["styp", "moof", "mdat"], types
    moof = next(b for b in iter_boxes(segment) if b.type == "moof")
    runs = []
    for traf in iter_boxes(segment, moof.payload_offset, moof.end):
        if traf.type != "traf":
            continue
        boxes = {b.type: b for b in iter_boxes(segment, traf.payload_offset, traf.end)}
        (track_id,) = struct.unpack_from(">I", segment, boxes["tfhd"].payload_offset + 4)
        tfdt = boxes["tfdt"]
        version = segment[tfdt.payload_offset]
        fmt = ">Q" if version == 1 else ">I"
        (base,) = struct.unpack_from(fmt, segment, tfdt.payload_offset + 4)
        runs.append(FragmentRun(track_id, base, version, *_trun_table(segment, boxes["trun"].payload_offset)))
    return runs


def _trun_table(data: bytes, offset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    version_flags, count = struct.unpack_from(">II", data, offset)
    version, flags = version_flags >> 24, version_flags & 0xFFFFFF
    position = offset + 8 + (4 if flags & 0x1 else 0)
    first_flags = None
    if flags & 0x4:
        (first_flags,) = struct.unpack_from(">I", data, position)
        position += 4
    fields = [(name, ">u4") for bit, name in ((0x100, "d"), (0x200, "s"), (0x400, "f")) if flags & bit]
    if flags & 0x800:
        fields.append(("c", ">i4" if version else ">u4"))
    table = np.frombuffer(data, dtype=fields, count=count, offset=position)
    sample_flags = table["f"] if "f" in table.dtype.names else np.full(count, first_flags or 0)
    keyframes = (sample_flags & 0x00010000) == 0
    offsets = table["c"].astype(np.int64) if "c" in table.dtype.names else np.zeros(count, np.int64)
    return table["d"].astype(np.int64), keyframes, offsets


@dataclass(frozen=True)
class Cluster:
    timestamp: int  # ms
    blocks: list[tuple[int, int, bool]]  # (track number, absolute timestamp ms, keyframe)
    durations: dict[int, int]  # track -> BlockDuration of its last BlockGroup


def clusters(segment: bytes) -> list[Cluster]:
    found = []
    offset = 0
    while offset < len(segment):
        element_id, header = read_vint(segment, offset, len(segment), keep_marker=True)
        size, size_length = read_vint(segment, offset + header, len(segment))
        start = offset + header + size_length
        assert element_id == ids.CLUSTER and size != UNKNOWN_SIZE
        found.append(_cluster(segment, start, start + size))
        offset = start + size
    return found


def _cluster(data: bytes, offset: int, end: int) -> Cluster:
    timestamp, blocks, durations = None, [], {}
    for element_id, start, stop in _children(data, offset, end):
        if element_id == ids.TIMESTAMP:
            timestamp = int.from_bytes(data[start:stop], "big")
        elif element_id == ids.SIMPLE_BLOCK:
            track, rel, flags = _block(data, start)
            blocks.append((track, timestamp + rel, bool(flags & 0x80)))
        elif element_id == ids.BLOCK_GROUP:
            children = {i: (s, e) for i, s, e in _children(data, start, stop)}
            track, rel, _ = _block(data, children[ids.BLOCK][0])
            blocks.append((track, timestamp + rel, ids.REFERENCE_BLOCK not in children))
            s, e = children[ids.BLOCK_DURATION]
            durations[track] = int.from_bytes(data[s:e], "big")
    assert timestamp is not None
    return Cluster(timestamp, blocks, durations)


def _children(data: bytes, offset: int, end: int):
    while offset < end:
        element_id, header = read_vint(data, offset, end, keep_marker=True)
        size, size_length = read_vint(data, offset + header, end)
        start = offset + header + size_length
        yield element_id, start, start + size
        offset = start + size


def _block(data: bytes, offset: int) -> tuple[int, int, int]:
    track, length = read_vint(data, offset, len(data))
    rel, flags = struct.unpack_from(">hB", data, offset + length)
    return track, rel, flags



def decoded(source: str | Path | bytes, kind: str) -> list[np.ndarray]:
    """Every decoded frame of the first stream of `kind`, as arrays (video planes / audio samples)."""
    container = av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    stream = next(s for s in container.streams if s.type == kind)
    stream.thread_type = "AUTO"
    frames = [frame.to_ndarray() for frame in container.decode(stream)]
    container.close()
    return frames


def remux(sources: list[Path], destination: Path, fmt: str, **options: str) -> None:
    """Copy every packet of every source into one new container, as `ffmpeg -c copy` would."""
    inputs = [av.open(str(s)) for s in sources]
    with av.open(str(destination), "w", format=fmt, options=options) as output:
        mapping = {}
        for number, container in enumerate(inputs):
            for stream in container.streams:
                mapping[number, stream.index] = output.add_stream_from_template(stream)
        for number, container in enumerate(inputs):
            for packet in container.demux():
                if packet.dts is None and packet.pts is None:
                    continue
                packet.stream = mapping[number, packet.stream.index]
                output.mux(packet)
    for container in inputs:
        container.close()


def encode_tone(destination: Path, fmt: str, codec: str, seconds: float = 3.0, rate: int = 44100) -> None:
    """A short sine tone, encoded with `codec` into `destination`."""
    with av.open(str(destination), "w", format=fmt) as output:
        stream = output.add_stream(codec, rate=rate)
        stream.layout = "stereo"
        stream.codec_context.options = {"strict": "experimental"}
        total = int(seconds * rate)
        for start in range(0, total, 1024):
            n = min(1024, total - start)
            wave = (0.2 * np.sin(2 * np.pi * 440 * np.arange(start, start + n) / rate)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.repeat(wave[np.newaxis], 2, axis=0), format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = rate, start
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def encode_scaled(source: Path, destination: Path, width: int, height: int) -> None:
    """The source's video alone, scaled to width x height and encoded as H.264 High with a keyframe every 60 frames
    and B-frames: the same frame times, another picture size (an ABR rendition of it)."""
    with av.open(str(source)) as inp, av.open(str(destination), "w", format="mp4") as output:
        video = inp.streams.video[0]
        stream = output.add_stream("libx264", rate=video.average_rate,
                                   options={"preset": "ultrafast", "profile": "high", "x264-params": "keyint=60:min-keyint=60:scenecut=0:bframes=2"})  # fmt: skip
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = video.time_base
        for frame in inp.decode(video):
            scaled = frame.reformat(width=width, height=height, format="yuv420p")
            scaled.pts, scaled.time_base = frame.pts, frame.time_base
            scaled.pict_type = av.video.frame.PictureType.NONE
            output.mux(stream.encode(scaled))
        output.mux(stream.encode(None))


@dataclass(frozen=True)
class TrunLayout:
    """Where a one-track media segment's trun keeps each sample's size and flags, and where its bytes are."""

    size_fields: list[int]  # byte offset of each sample's size field
    flag_fields: list[int]  # byte offset of each sample's flags field
    offsets: list[int]  # each sample's first byte
    sizes: list[int]
    mdat: int  # the mdat box's first byte


def trun_layout(segment: bytes) -> TrunLayout:
    """Read with struct alone; the trun must carry sizes and flags for every sample, as `segment` writes it."""
    moof = next(b for b in iter_boxes(segment) if b.type == "moof")
    mdat = next(b for b in iter_boxes(segment) if b.type == "mdat")
    traf = next(b for b in iter_boxes(segment, moof.payload_offset, moof.end) if b.type == "traf")
    trun = next(b for b in iter_boxes(segment, traf.payload_offset, traf.end) if b.type == "trun")
    version_flags, count = struct.unpack_from(">II", segment, trun.payload_offset)
    flags = version_flags & 0xFFFFFF
    assert flags & 0x1 and flags & 0x200 and flags & 0x400, hex(flags)
    (data_offset,) = struct.unpack_from(">i", segment, trun.payload_offset + 8)
    position = trun.payload_offset + 12 + (4 if flags & 0x4 else 0)
    fields = [bit for bit in (0x100, 0x200, 0x400, 0x800) if flags & bit]
    size_fields, flag_fields = [], []
    for _ in range(count):
        for bit in fields:
            (size_fields if bit == 0x200 else flag_fields if bit == 0x400 else []).append(position)
            position += 4
    sizes = [struct.unpack_from(">I", segment, at)[0] for at in size_fields]
    offsets = list(moof.offset + data_offset + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int))
    return TrunLayout(size_fields, flag_fields, offsets, sizes, mdat.offset)


def _without_tfdt(segment: bytes) -> bytes:
    """The segment with its traf's tfdt cut out (moof, traf and the trun's data_offset moved to match)."""
    moof = next(b for b in iter_boxes(segment) if b.type == "moof")
    traf = next(b for b in iter_boxes(segment, moof.payload_offset, moof.end) if b.type == "traf")
    children = {b.type: b for b in iter_boxes(segment, traf.payload_offset, traf.end)}
    tfdt, trun = children["tfdt"], children["trun"]
    cut = tfdt.end - tfdt.offset
    data = bytearray(segment[: tfdt.offset] + segment[tfdt.end :])
    for box in (moof, traf):
        struct.pack_into(">I", data, box.offset, box.end - box.offset - cut)
    at = trun.payload_offset - cut + 8  # the data_offset field
    struct.pack_into(">i", data, at, struct.unpack_from(">i", data, at)[0] - cut)
    return bytes(data)


def h264_sample_variants(segment: bytes) -> dict[str, bytes]:
    """One H.264 media segment altered as broken muxers alter them (each a file for scenarios): its tfdt cut; every
    sample flagged sync; the last sample made empty (its bytes cut, the mdat shortened); sample 30's first NAL unit
    length set to 0, as two pieces cut where that sample begins; the first NAL unit header's forbidden bit set in
    sample 0 (a keyframe) and in sample 31 (not one)."""
    layout = trun_layout(segment)
    all_sync = bytearray(segment)
    for at in layout.flag_fields:
        struct.pack_into(">I", all_sync, at, struct.unpack_from(">I", all_sync, at)[0] & ~0x10000)
    empty_last = bytearray(segment[: len(segment) - layout.sizes[-1]])
    struct.pack_into(">I", empty_last, layout.size_fields[-1], 0)
    struct.pack_into(">I", empty_last, layout.mdat, struct.unpack_from(">I", segment, layout.mdat)[0] - layout.sizes[-1])
    zero_nal = bytearray(segment)
    zero_nal[layout.offsets[30] : layout.offsets[30] + 4] = bytes(4)
    forbidden_key, forbidden_other = bytearray(segment), bytearray(segment)
    forbidden_key[layout.offsets[0] + 4] |= 0x80
    forbidden_other[layout.offsets[31] + 4] |= 0x80
    return {
        "no-tfdt.m4s": _without_tfdt(segment),
        "all-sync.m4s": bytes(all_sync),
        "empty-last.m4s": bytes(empty_last),
        "zero-nal-head.m4s": bytes(zero_nal[: layout.offsets[30]]),
        "zero-nal-tail.m4s": bytes(zero_nal[layout.offsets[30] :]),
        "forbidden-key.m4s": bytes(forbidden_key),
        "forbidden-other.m4s": bytes(forbidden_other),
    }


def mdat_variants(segment: bytes) -> dict[str, bytes]:
    """A muxed media segment (styp, moof with a video traf then an audio traf, one mdat: the video samples, then the
    audio ones) laid out otherwise: its samples in two mdats, the video's and the audio's (the audio trun's data_offset
    8 bytes further); an 8-byte free box between the moof and the mdat (both truns' data_offset 8 bytes further)."""
    moof = next(b for b in iter_boxes(segment) if b.type == "moof")
    mdat = next(b for b in iter_boxes(segment) if b.type == "mdat")
    assert mdat.offset == moof.end and segment[mdat.offset : mdat.offset + 4] != b"\0\0\0\1"
    fields = []  # where each traf's trun keeps its data_offset
    for traf in (b for b in iter_boxes(segment, moof.payload_offset, moof.end) if b.type == "traf"):
        trun = next(b for b in iter_boxes(segment, traf.payload_offset, traf.end) if b.type == "trun")
        assert struct.unpack_from(">I", segment, trun.payload_offset)[0] & 0x1  # data-offset-present
        fields.append(trun.payload_offset + 8)
    assert len(fields) == 2

    def moved(fields_moved: list[int]) -> bytearray:
        data = bytearray(segment[: moof.end])
        for at in fields_moved:
            struct.pack_into(">i", data, at, struct.unpack_from(">i", data, at)[0] + 8)
        return data

    split = moof.offset + struct.unpack_from(">i", segment, fields[1])[0]  # the audio samples' first byte
    two = moved(fields[1:])
    two += struct.pack(">I4s", split - mdat.payload_offset + 8, b"mdat") + segment[mdat.payload_offset : split]
    two += struct.pack(">I4s", mdat.end - split + 8, b"mdat") + segment[split:]
    free = moved(fields) + struct.pack(">I4s", 8, b"free") + segment[moof.end :]
    return {"seg-00002-two-mdats.m4s": bytes(two), "seg-00002-free-before-mdat.m4s": bytes(free)}


def lone_block_cluster(segment: bytes) -> bytes:
    """A Cluster (Timestamp 0, an 8-byte size) holding only the first SimpleBlock of the segment's first Cluster,
    with no BlockDuration: a block whose duration nothing in the stream gives."""
    element_id, header = read_vint(segment, 0, len(segment), keep_marker=True)
    size, size_length = read_vint(segment, header, len(segment))
    assert element_id == ids.CLUSTER
    start = header + size_length
    block = next((s, e) for i, s, e in _children(segment, start, start + size) if i == ids.SIMPLE_BLOCK)
    body = bytes([0xE7, 0x81, 0x00]) + b"\xa3" + bytes([0x01]) + (block[1] - block[0]).to_bytes(7, "big")
    body += segment[block[0] : block[1]]
    return bytes.fromhex("1F43B675") + bytes([0x01]) + len(body).to_bytes(7, "big") + body


def encode_open_gop(destination: Path, seconds: int = 8) -> None:
    """320x240 H.264 at 30 fps with open GOPs every 2 s (x264 open-gop: each GOP after the first begins with a non-IDR
    I picture carrying a recovery point SEI, and B-frames presented before it follow it in decode order)."""
    with av.open(str(destination), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=30, options={
            "x264-params": "open-gop=1:keyint=60:min-keyint=60:scenecut=0:bframes=3:b-adapt=0", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(seconds * 30):
            picture = np.zeros((240, 320, 3), np.uint8)
            picture[:, (index * 4) % 320 :] = (index * 3) % 256  # a moving edge, so P and B frames differ
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def recovery_point_variants(segment: bytes) -> dict[str, bytes]:
    """A media segment whose first sample is [recovery point SEI, non-IDR I slice], with the SEI changed: to another
    payload type (5, user data unregistered) and to recovery_frame_cnt 1."""
    layout = trun_layout(segment)
    at = layout.offsets[0]
    (length,) = struct.unpack_from(">I", segment, at)
    sei = segment[at + 4 : at + 4 + length]
    assert sei[0] & 0x1F == 6 and sei[1] == 6 and sei[2] == 1 and sei[3] & 0x80, sei.hex()  # cnt 0: ue(v) '1'
    other_type, count_one = bytearray(segment), bytearray(segment)
    other_type[at + 5] = 5
    count_one[at + 7] = 0x40 | (sei[3] & 0x7F) >> 2 | 0x01  # ue(v) '010', then the flags, the trailing bit moved on
    return {"other-sei.m4s": bytes(other_type), "recovery-count-one.m4s": bytes(count_one)}
