"""Opus packet durations from the TOC byte (formats/opus.py): RFC 6716 §3.1 by hand, and PyAV's decoder on the
sample's packets."""

from __future__ import annotations

import av
import numpy as np

from msecli.formats.opus import packet_durations_us
from tests.media import SAMPLES

# RFC 6716 §3.1, Table 2: configs 0-11 SILK (10, 20, 40, 60 ms), 12-15 hybrid (10, 20 ms), 16-31 CELT
# (2.5, 5, 10, 20 ms); the bandwidth repeats the sizes.
FRAME_MS = {**{c: (10, 20, 40, 60)[c % 4] for c in range(12)}, **{c: (10, 20)[c % 2] for c in range(12, 16)},
            **{c: (2.5, 5, 10, 20)[c % 4] for c in range(16, 32)}}  # fmt: skip


def durations(*packets: bytes) -> list[int]:
    data = b"".join(packets)
    sizes = np.array([len(p) for p in packets], np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    return packet_durations_us(data, offsets, sizes).tolist()


def test_every_config_and_frame_count_code_lasts_what_rfc_6716_says():
    for config in range(32):
        one = FRAME_MS[config] * 1000
        assert durations(bytes([config << 3 | 0, 0])) == [one]  # code 0: one frame
        assert durations(bytes([config << 3 | 1, 0, 0])) == [2 * one]  # code 1: two frames, equal sizes
        assert durations(bytes([config << 3 | 2, 1, 0, 0])) == [2 * one]  # code 2: two frames, different sizes
        for count in (1, 3, 48):  # code 3: the count is the low 6 bits of the next byte (VBR and padding flags above)
            assert durations(bytes([config << 3 | 3, 0xC0 | count, 0])) == [count * one]


def test_a_packet_too_short_to_say_is_unknown():
    assert durations(b"", bytes([31 << 3 | 3]), bytes([16 << 3])) == [-1, -1, 2500]


def test_the_samples_opus_packets_last_what_pyav_decodes_them_to():
    with av.open(str(SAMPLES / "vp9-opus.webm")) as container:
        stream = container.streams.audio[0]
        packets = [p for p in container.demux(stream) if p.size]
        decoder = av.CodecContext.create("opus", "r")
        decoder.extradata = stream.codec_context.extradata
        pre_skip = int.from_bytes(stream.codec_context.extradata[10:12], "little")  # OpusHead: dropped from the start
        decoded = [sum(f.samples for f in decoder.decode(p)) for p in packets]
        payloads = [bytes(p) for p in packets]
    assert len(packets) > 100
    decoded[0] += pre_skip
    ours = durations(*payloads)
    # The last packet carries DiscardPadding, which the decoder trims from its output: it decodes to less.
    assert ours[:-1] == [samples * 1_000_000 // 48_000 for samples in decoded[:-1]]
    assert ours[-1] == 20_000 > decoded[-1] * 1_000_000 // 48_000
