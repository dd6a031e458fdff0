"""Opus packet durations from the TOC byte (RFC 6716 §3.1): what a packet decodes to, whatever the container says."""

from __future__ import annotations

import numpy as np

from msecli.formats import Buffer

# Frame size by TOC config (the top 5 bits), in microseconds: SILK (NB, MB, WB) 10/20/40/60 ms, hybrid (SWB, FB)
# 10/20 ms, CELT (NB, WB, SWB, FB) 2.5/5/10/20 ms.
FRAME_US = np.array([10_000, 20_000, 40_000, 60_000] * 3 + [10_000, 20_000] * 2 + [2_500, 5_000, 10_000, 20_000] * 4,
                    np.int64)  # fmt: skip
TICKS_PER_SECOND = 400  # every packet duration is a whole number of 2.5 ms


def packet_durations_us(data: Buffer, offsets: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per packet (payload `offsets` and `sizes` in `data`), its duration in microseconds; -1 where the packet is
    too short to say (empty, or code 3 without its frame count byte)."""
    raw = np.frombuffer(data, np.uint8)
    usable = sizes >= 1
    toc = np.where(usable, raw[np.where(usable, offsets, 0)], 0).astype(np.int64)
    code = toc & 3
    counted = usable & (code == 3) & (sizes >= 2)
    count_byte = np.where(counted, raw[np.where(counted, offsets + 1, 0)], 0).astype(np.int64) & 0x3F
    frames = np.select([code == 0, code < 3], [1, 2], count_byte)
    known = usable & ((code < 3) | counted)
    return np.where(known, FRAME_US[toc >> 3] * frames, -1)
