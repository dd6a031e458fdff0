"""MPEG audio frames for the MPEG audio byte stream format ("audio/mpeg": MPEG-1/2/2.5 Layer I/II/III;
"audio/aac": ADTS), and the metadata frames that format ignores (ID3v1, ID3v2, Icecast headers)."""

from __future__ import annotations

from dataclasses import dataclass

from msecli.errors import ParseError
from msecli.formats import Buffer
from msecli.formats.adts import parse_adts_header

ADTS_SAMPLE_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
MPEG1_RATES = (44100, 48000, 32000)
# Bitrates (kbit/s) by index: MPEG-1 Layer I, II, III; MPEG-2/2.5 Layer I; MPEG-2/2.5 Layers II and III.
BITRATES = (
    (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
)
MAX_ICECAST_HEADER = 4096


@dataclass(frozen=True)
class FrameHeader:
    sample_rate: int
    channels: int
    samples: int  # per frame
    length: int  # the whole frame, header included
    codec: str  # "mp4a.40.<AOT>" for ADTS, "mp3"/"mp2"/"mp1" for MPEG audio

    def same_config(self, other: FrameHeader | None) -> bool:
        return other is not None and (self.sample_rate, self.channels, self.codec) == (
            other.sample_rate,
            other.channels,
            other.codec,
        )


def adts_frame(data: Buffer, offset: int = 0) -> FrameHeader:
    header = parse_adts_header(data, offset)
    index = (data[offset + 2] >> 2) & 0x0F
    if index >= len(ADTS_SAMPLE_RATES):
        raise ParseError(f"ADTS sampling frequency index {index} is reserved", offset=offset, path="adts")
    if header.frame_length < header.header_length:
        raise ParseError(
            f"ADTS frame length {header.frame_length} is shorter than its header", offset=offset, path="adts"
        )
    channels = ((data[offset + 2] & 1) << 2) | (data[offset + 3] >> 6)
    aot = (data[offset + 2] >> 6) + 1
    return FrameHeader(ADTS_SAMPLE_RATES[index], channels, 1024, header.frame_length, f"mp4a.40.{aot}")


def mpeg_frame(data: Buffer, offset: int = 0) -> FrameHeader:
    """An MPEG-1/2/2.5 Layer I/II/III frame header (ISO/IEC 11172-3 2.4.1.3)."""
    b1, b2, b3 = data[offset + 1], data[offset + 2], data[offset + 3]
    if data[offset] != 0xFF or b1 & 0xE0 != 0xE0:
        raise ParseError("no MPEG audio frame sync", offset=offset, path="mpeg-audio")
    version = (b1 >> 3) & 3  # 0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1
    layer = 4 - ((b1 >> 1) & 3)  # 1, 2, 3 (4 = reserved)
    bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer == 4 or bitrate_index in (0, 15) or rate_index == 3:
        raise ParseError(
            "reserved or free-format values in an MPEG audio frame header", offset=offset, path="mpeg-audio"
        )
    sample_rate = MPEG1_RATES[rate_index] // {3: 1, 2: 2, 0: 4}[version]
    table = layer - 1 if version == 3 else (3 if layer == 1 else 4)
    bitrate = BITRATES[table][bitrate_index] * 1000
    if layer == 1:
        samples, length = 384, (12 * bitrate // sample_rate + padding) * 4
    else:
        samples = 576 if layer == 3 and version != 3 else 1152
        length = samples // 8 * bitrate // sample_rate + padding
    channels = 1 if b3 >> 6 == 3 else 2
    return FrameHeader(sample_rate, channels, samples, length, f"mp{layer}")


def carries_info_tag(data: Buffer, offset: int = 0) -> bool:
    """Is the Layer III frame at `offset` a Xing or Info frame (the stream-length header an encoder such as LAME
    writes as its first frame, silent)? The tag follows the side information: 32 or 17 bytes after the header for
    MPEG-1 stereo or mono, 17 or 9 for MPEG-2 and 2.5 (FFmpeg's and Chromium's offsets)."""
    b1, b3 = data[offset + 1], data[offset + 3]
    if (b1 >> 1) & 3 != 1:  # not Layer III
        return False
    side_info = ((32, 17), (17, 9))[(b1 >> 3) & 3 != 3][b3 >> 6 == 3]
    start = offset + 4 + side_info
    return bytes(data[start : start + 4]) in (b"Xing", b"Info")


def metadata_size(data: Buffer, offset: int = 0) -> int | None:
    """The size of an ID3v2 tag, ID3v1 tag or Icecast header at `offset`: 0 if none starts there,
    None if one starts but its end is not in the buffer yet."""
    head = bytes(data[offset : offset + 10])
    if head[:3] == b"ID3":
        if len(head) < 10:
            return None
        if any(byte & 0x80 for byte in head[6:10]):  # ID3v2 4.1: a synchsafe integer's bytes keep bit 7 clear
            raise ParseError("ID3v2 tag size is not a synchsafe integer", offset=offset, path="id3v2")
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        return 10 + size + (10 if head[5] & 0x10 else 0)
    if head[:4] == b"TAG+":
        return 227
    if head[:3] == b"TAG":
        return 128
    if head[:4] == b"ICY ":
        end = bytes(data[offset : offset + MAX_ICECAST_HEADER]).find(b"\r\n\r\n")
        if end < 0:
            if len(data) - offset >= MAX_ICECAST_HEADER:
                raise ParseError("Icecast header without its end within 4096 bytes", offset=offset, path="icecast")
            return None
        return end + 4
    return 0


def starts_with_sync(data: Buffer, adts: bool, offset: int = 0) -> bool:
    """A frame sync at `offset`: 12 set bits for ADTS, 11 for MPEG audio (Chromium's start code masks)."""
    if len(data) - offset < 2 or data[offset] != 0xFF:
        return False
    return data[offset + 1] & (0xF0 if adts else 0xE0) == (0xF0 if adts else 0xE0)


def next_valid_start(data: Buffer, adts: bool) -> int | None:
    """Where the frames resume after bytes that are no frame: the first 0xFF from which three valid frame headers
    follow one another, each frame ending inside the data (Chromium's FindNextValidStartCode; Firefox does the
    same). None: the data does not tell yet."""
    raw = bytes(data)
    header_size = 9 if adts else 4
    start = 0
    while (candidate := raw.find(b"\xff", start)) >= 0:
        position = candidate
        for _ in range(3):
            if position + header_size > len(raw):
                return None
            try:
                position += (adts_frame(raw, position) if adts else mpeg_frame(raw, position)).length
            except (ParseError, IndexError):
                break
            if position >= len(raw):
                return None
        else:
            return candidate
        start = candidate + 1
    return None
