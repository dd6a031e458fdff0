"""ADTS (the framing of AAC in MPEG-TS and .aac files): the header, and the AudioSpecificConfig it implies."""

from __future__ import annotations

from dataclasses import dataclass

from msecli.errors import ParseError
from msecli.formats import Buffer


@dataclass(frozen=True)
class AdtsHeader:
    header_length: int  # 7, or 9 with a CRC
    frame_length: int  # header included
    audio_specific_config: bytes  # the 2-byte MPEG-4 AudioSpecificConfig MP4's esds needs


def parse_adts_header(data: Buffer, offset: int = 0) -> AdtsHeader:
    if len(data) - offset < 7:
        raise ParseError("ADTS header needs 7 bytes", offset=offset, path="adts")
    b = bytes(data[offset : offset + 7])
    if b[0] != 0xFF or b[1] & 0xF6 != 0xF0:
        raise ParseError("no ADTS syncword (0xFFF)", offset=offset, path="adts")
    protection_absent = b[1] & 1
    audio_object_type = (b[2] >> 6) + 1
    sampling_frequency_index = (b[2] >> 2) & 0x0F
    channel_configuration = ((b[2] & 1) << 2) | (b[3] >> 6)
    frame_length = ((b[3] & 0x03) << 11) | (b[4] << 3) | (b[5] >> 5)
    raw_blocks = (b[6] & 0x03) + 1
    if raw_blocks != 1:
        raise ParseError(f"ADTS frame holds {raw_blocks} raw data blocks; MP4 needs one", offset=offset, path="adts")
    config = (audio_object_type << 11) | (sampling_frequency_index << 7) | (channel_configuration << 3)
    return AdtsHeader(7 if protection_absent else 9, frame_length, config.to_bytes(2, "big"))
