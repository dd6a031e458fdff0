"""FFmpeg as a codec-configuration and bitstream converter for MP4 output.

One stream at a time is muxed by FFmpeg's own MP4 muxer into memory, one fragment per packet. From
its output msecli takes the `stsd` box (sample entry and decoder configuration: avcC, hvcC, esds,
dOps, vpcC, av1C, dac3, …) and, where the input's bitstream is not already in MP4 form (Annex B
H.264/HEVC from MPEG-TS, ADTS AAC, …), each packet's converted bytes. Segmentation, timing and the
boxes around the samples stay msecli's own.
"""

from __future__ import annotations

import io
from collections import deque

import av

from msecli.errors import UnsupportedCodecError
from msecli.formats.isobmff.walk import find_box, read_box_header

MOVFLAGS = "frag_every_frame+empty_moov+default_base_moof+delay_moov"  # delay_moov: AC-3/E-AC-3 need a packet


class _Sink(io.RawIOBase):
    """Collects what the muxer writes and cuts complete top-level boxes off the front."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.buffer += data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take_boxes(self) -> list[tuple[str, bytes]]:
        boxes = []
        offset = 0
        while True:
            header = read_box_header(self.buffer, offset, len(self.buffer))
            if header is None or header.end > len(self.buffer):
                break
            boxes.append((header.type, bytes(self.buffer[header.offset : header.end])))
            offset = header.end
        del self.buffer[:offset]
        return boxes


class Mp4Converter:
    """Feed one stream's packets; read back its `stsd` and, optionally, MP4-form payloads in order."""

    def __init__(self, stream: av.stream.Stream, keep_payloads: bool, extradata: bytes | None = None) -> None:
        self.keep_payloads = keep_payloads
        self.sink = _Sink()
        self.output = av.open(self.sink, "w", format="mp4", options={"movflags": MOVFLAGS, "strict": "experimental"})
        try:
            self.stream = self.output.add_stream_from_template(stream)
        except av.codec.codec.UnknownCodecError:
            # The stream's decoder has no encoder of its name (AV1 decoded by libdav1d): take its codec context as
            # it is; a remux needs only its parameters.
            self.stream = self.output.add_stream_from_template(stream, opaque=True)
        if extradata is not None:
            self.stream.codec_context.extradata = extradata
        self.stsd: bytes | None = None
        self.payloads: deque[bytes] = deque()
        self.closed = False

    def push(self, packet: av.Packet) -> None:
        packet.stream = self.stream
        self.output.mux(packet)
        self._collect()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.output.close()
            self._collect()

    def take(self, count: int) -> list[bytes]:
        if len(self.payloads) < count:
            raise RuntimeError(f"FFmpeg's MP4 muxer returned {len(self.payloads)} samples where {count} were expected")
        return [self.payloads.popleft() for _ in range(count)]

    def _collect(self) -> None:
        for box_type, data in self.sink.take_boxes():
            if box_type == "moov" and self.stsd is None:
                stsd = find_box(data, "moov/trak/mdia/minf/stbl/stsd")
                if stsd is not None:
                    self.stsd = data[stsd.offset : stsd.end]
            elif box_type == "mdat" and self.keep_payloads:
                self.payloads.append(data[8:])
            elif box_type == "moof" and self.keep_payloads:
                self._check_one_sample(data)

    @staticmethod
    def _check_one_sample(moof: bytes) -> None:
        trun = find_box(moof, "moof/traf/trun")
        if trun is None or int.from_bytes(moof[trun.offset + 12 : trun.offset + 16], "big") != 1:
            raise RuntimeError("FFmpeg's MP4 muxer wrote a fragment that is not one sample")


def sample_description(stream: av.stream.Stream, packet: av.Packet, payload: bytes | memoryview | None = None,
                       extradata: bytes | None = None) -> bytes:  # fmt: skip
    """The `stsd` FFmpeg writes for `stream` (with `extradata` in place of the stream's own, if given),
    made by muxing one of its packets (with `payload` in place of the packet's bytes, if given)."""
    clone = av.Packet(bytes(packet if payload is None else payload))
    clone.pts, clone.dts, clone.time_base = packet.pts, packet.dts, packet.time_base
    clone.is_keyframe = packet.is_keyframe
    try:
        converter = Mp4Converter(stream, keep_payloads=False, extradata=extradata)
        converter.push(clone)
        converter.close()
    except av.FFmpegError as exc:
        name = stream.codec_context.name
        raise UnsupportedCodecError(f"FFmpeg's MP4 muxer cannot describe this {name} stream ({exc.strerror})") from None
    if converter.stsd is None:
        raise RuntimeError("FFmpeg's MP4 muxer wrote no stsd")
    return converter.stsd
