"""Random scenario scripts of appends (whole or cut short), removals, timestampOffset, append windows, modes and
aborts over the h264-aac (MP4) or vp9-webm (WebM) segment sets, a SourceBuffer per track or (mp4-muxed, webm-muxed)
one for both, for differential runs against Chromium:

    python -m tests.random_scripts mp4 7 [--extended] > /tmp/s.json && msecli verify /tmp/s.json --media SEGMENTS

(--extended: `duration` and `endOfStream()` steps among the others.)

(SEGMENTS: `msecli segment samples/h264-aac.mp4`, or `samples/vp9-opus.webm --format webm`, output; with `--muxed`
for the muxed formats.) Every difference verify then shows is a fault of the simulation or one README lists. tests/test_random_scripts.py runs a few through
the simulation alone."""

from __future__ import annotations

import json
import random
import sys
from typing import Any

FORMATS = {
    "mp4": ({"v": ('video/mp4; codecs="avc1.64001e"', "video"), "a": ('audio/mp4; codecs="mp4a.40.2"', "audio")},
            "mp4", "m4s"),
    "webm": ({"v": ('video/webm; codecs="vp9"', "video"), "a": ('audio/webm; codecs="opus"', "audio")},
             "webm", "webm"),
    "mp4-muxed": ({"m": ('video/mp4; codecs="avc1.64001e,mp4a.40.2"', "muxed")}, "mp4", "m4s"),
    "webm-muxed": ({"m": ('video/webm; codecs="vp9,opus"', "muxed")}, "webm", "webm"),
}  # fmt: skip
TIMES = [0, 0.5, 1, 1.97, 2, 2.03, 3.3, 4, 5.5, 6, 7.99, 8, 9.5, 10, 12]


def script(fmt: str, seed: int, extended: bool = False) -> dict[str, Any]:
    """`extended`: MediaSource steps too, `duration = ...` and `endOfStream()`."""
    rng = random.Random(seed)
    buffers, init_ext, media_ext = FORMATS[fmt]
    used = rng.choice([["v"], ["a"], ["v", "a"]]) if "v" in buffers else list(buffers)
    steps: list[dict[str, Any]] = [{"op": "addSourceBuffer", "id": s, "type": buffers[s][0]} for s in used]
    steps += [{"op": "append", "sb": s, "file": f"{buffers[s][1]}/init.{init_ext}"} for s in used]
    for _ in range(rng.randint(10, 24)):
        sb = rng.choice(used)
        extra = _media_source_step(rng) if extended else None
        steps += extra if extra is not None else _step(rng, sb, f"{buffers[sb][1]}/seg-0000{rng.randint(1, 3)}.{media_ext}")
    return {"name": f"random-{fmt}-{seed}", "context": "window", "steps": steps}


def _media_source_step(rng: random.Random) -> list[dict[str, Any]] | None:
    r = rng.random()
    if r < 0.08:
        return [{"op": "duration", "value": rng.choice([1, 3.5, 4, 6, 8.5, 10, 12, 20, "Infinity"])}]
    if r < 0.14:
        return [{"op": "endOfStream", "error": None}]
    return None


def _step(rng: random.Random, sb: str, segment: str) -> list[dict[str, Any]]:
    r = rng.random()
    if r < 0.5:
        append: dict[str, Any] = {"op": "append", "sb": sb, "file": segment}
        if rng.random() < 0.15:
            append["range"] = [0, rng.randint(500, 20000)]
        return [append]
    if r < 0.65:
        start = round(rng.choice(TIMES) + rng.choice([0, 0, 0, 0.001, -0.001, 0.0334]), 4)
        length = rng.choice([0.01, 0.5, 1, 2, 3.7, None])
        end: Any = "Infinity" if length is None else round(start + length, 4)
        return [{"op": "remove", "sb": sb, "start": max(start, 0), "end": end}]
    if r < 0.78:
        return [{"op": "set", "sb": sb, "timestampOffset": rng.choice([0, 0.5, -0.5, 1.001, 3, 10, -2, 0.0333])}]
    if r < 0.88:
        start = rng.choice([0, 0, 0.5, 1.02, 2, 3.99])
        end = rng.choice(["Infinity", start + 1.5, start + 3.01, start + 6])
        return [{"op": "set", "sb": sb, "appendWindowStart": 0, "appendWindowEnd": "Infinity"},
                {"op": "set", "sb": sb, "appendWindowEnd": end, "appendWindowStart": start}]  # fmt: skip
    if r < 0.95:
        return [{"op": "set", "sb": sb, "mode": rng.choice(["segments", "sequence"])}]
    return [{"op": "abort", "sb": sb}]


if __name__ == "__main__":
    json.dump(script(sys.argv[1], int(sys.argv[2]), extended="--extended" in sys.argv[3:]), sys.stdout, indent=1)
    print()
