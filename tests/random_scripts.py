"""Random scenario scripts of appends (whole or cut short), removals, timestampOffset, append windows, modes and
aborts, for differential runs against Chromium:

    python -m tests.random_scripts FORMAT SEED [--extended] [--racy] [--seeks] > /tmp/s.json && msecli verify /tmp/s.json --media DIR

FORMAT and the DIR it needs:
- mp4, webm: a SourceBuffer per track, over `msecli segment samples/h264-aac.mp4` (or `samples/vp9-opus.webm --format
  webm`) output; mp4-muxed, webm-muxed: one SourceBuffer for both, over the same with `--muxed`;
- switch: changeType() between the MP4 and the WebM byte stream, over both sets' video/ and audio/ in one directory;
- adts, mp3: slices of a raw stream (generated timestamps), over a directory with tone.aac, or tone.mp3 and long.mp3;
- abr: one video SourceBuffer switching between two renditions, over video/ of the first set and small/, the same
  video scaled to 320x180 and segmented;
- quota-mp4, quota-webm: a SourceBuffer per track with a 1 MiB quota each (Chromium runs with the same limits), the
  three segments appended again and again at timestampOffsets 10 s apart until coded frame eviction has to choose,
  with seeks (eviction works around the position) and removals; over the mp4 or webm set.

(--extended: `duration` and `endOfStream()` steps among the others; --racy: an append or removal and, in the same
task, an op a page may try while it runs; --seeks: seeks of the paused element, each waiting up to 0.3 s for
`seeked`.) Every difference verify then shows is a fault of
the simulation or one README lists. tests/test_random_scripts.py runs a few through the simulation alone."""

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
# switch: each SourceBuffer moves between the MP4 and the WebM byte stream with changeType().
SWITCH = {
    "v": [('video/mp4; codecs="avc1.64001e"', "mp4", "m4s"), ('video/webm; codecs="vp9"', "webm", "webm")],
    "a": [('audio/mp4; codecs="mp4a.40.2"', "mp4", "m4s"), ('audio/webm; codecs="opus"', "webm", "webm")],
}
KINDS = {"v": "video", "a": "audio"}
# adts, mp3: byte streams with no init segment and no timestamps (the generate timestamps flag), appended in slices.
RAW = {"adts": ('audio/aac', ["tone.aac"]), "mp3": ('audio/mpeg', ["tone.mp3", "long.mp3"])}
TIMES = [0, 0.5, 1, 1.97, 2, 2.03, 3.3, 4, 5.5, 6, 7.99, 8, 9.5, 10, 12]


def script(fmt: str, seed: int, extended: bool = False, racy: bool = False, seeks: bool = False) -> dict[str, Any]:
    """`extended`: MediaSource steps too, `duration = ...` and `endOfStream()`; `racy`: steps that act while an
    append or removal is running (in one task with it); `seeks`: the paused element seeks (waiting up to 0.3 s)."""
    rng = random.Random(seed)
    if fmt == "switch":
        return _switch_script(rng, seed)
    if fmt in RAW:
        return _raw_script(rng, fmt, seed)
    if fmt == "abr":
        return _abr_script(rng, seed)
    if fmt.startswith("quota-"):
        return _quota_script(rng, fmt, seed)
    buffers, init_ext, media_ext = FORMATS[fmt]
    used = rng.choice([["v"], ["a"], ["v", "a"]]) if "v" in buffers else list(buffers)
    steps: list[dict[str, Any]] = [{"op": "addSourceBuffer", "id": s, "type": buffers[s][0]} for s in used]
    steps += [{"op": "append", "sb": s, "file": f"{buffers[s][1]}/init.{init_ext}"} for s in used]
    for _ in range(rng.randint(10, 24)):
        sb = rng.choice(used)
        segment = f"{buffers[sb][1]}/seg-0000{rng.randint(1, 3)}.{media_ext}"
        extra = _media_source_step(rng) if extended else None
        if racy and extra is None and rng.random() < 0.3:
            extra = _racy_step(rng, sb, segment, buffers[sb][0])
        if seeks and extra is None and rng.random() < 0.15:
            time = round(rng.choice(TIMES) + rng.choice([0, 0, 0.01, -0.02, 0.3]), 4)
            extra = [{"op": "seek", "time": max(time, 0), "timeout": 0.3}]
        steps += extra if extra is not None else _step(rng, sb, segment)
    return {"name": f"random-{fmt}-{seed}", "context": "window", "steps": steps}


def _switch_script(rng: random.Random, seed: int) -> dict[str, Any]:
    """Scripts over both byte streams (a media directory holding both segment sets): changeType() to the other
    container, then mostly its init segment first, and appends mostly of the current container's files."""
    used = rng.choice([["v"], ["a"], ["v", "a"]])
    current = {s: rng.randrange(2) for s in used}
    steps: list[dict[str, Any]] = [{"op": "addSourceBuffer", "id": s, "type": SWITCH[s][current[s]][0]} for s in used]
    steps += [{"op": "append", "sb": s, "file": f"{KINDS[s]}/init.{SWITCH[s][current[s]][1]}"} for s in used]
    for _ in range(rng.randint(10, 24)):
        sb = rng.choice(used)
        if rng.random() < 0.15:
            current[sb] = rng.randrange(2)
            steps.append({"op": "changeType", "sb": sb, "type": SWITCH[sb][current[sb]][0]})
            if rng.random() < 0.8:
                steps.append({"op": "append", "sb": sb, "file": f"{KINDS[sb]}/init.{SWITCH[sb][current[sb]][1]}"})
            continue
        files = SWITCH[sb][current[sb] if rng.random() < 0.9 else 1 - current[sb]]
        segment = f"{KINDS[sb]}/seg-0000{rng.randint(1, 3)}.{files[2]}"
        steps += _step(rng, sb, segment)
    return {"name": f"random-switch-{seed}", "context": "window", "steps": steps}


def _abr_script(rng: random.Random, seed: int) -> dict[str, Any]:
    """One video SourceBuffer and two renditions of the same video (video/, small/: 640x360 and 320x180), switched as an
    ABR player switches: the other rendition's init segment, then its segments; and seeks, which show a frame of the
    rendition buffered there (resize)."""
    renditions = ["video", "small"]
    current = rng.choice(renditions)
    steps: list[dict[str, Any]] = [{"op": "addSourceBuffer", "id": "v", "type": 'video/mp4; codecs="avc1.64001e"'},
                                   {"op": "append", "sb": "v", "file": f"{current}/init.mp4"}]  # fmt: skip
    for _ in range(rng.randint(10, 24)):
        r = rng.random()
        if r < 0.2:
            current = renditions[1 - renditions.index(current)]
            steps.append({"op": "append", "sb": "v", "file": f"{current}/init.mp4"})
        elif r < 0.35:
            time = round(rng.choice(TIMES) + rng.choice([0, 0, 0.01, 0.3]), 4)
            steps.append({"op": "seek", "time": time, "timeout": 0.3})
        else:
            steps += _step(rng, "v", f"{current}/seg-0000{rng.randint(1, 3)}.m4s")
    return {"name": f"random-abr-{seed}", "context": "window", "steps": steps}


MiB = 1 << 20


def _quota_script(rng: random.Random, fmt: str, seed: int) -> dict[str, Any]:
    """Blocks of the three segments at timestampOffsets 10 s apart (mostly ahead of the last block, sometimes
    anywhere in 0-150 s), with seeks and removals, under a 1 MiB quota per SourceBuffer: about seven blocks fill
    it, so later appends evict, or fail with QuotaExceededError."""
    buffers, init_ext, media_ext = FORMATS[fmt.removeprefix("quota-")]
    used = rng.choice([["v"], ["a"], ["v", "a"]])
    steps: list[dict[str, Any]] = [{"op": "addSourceBuffer", "id": s, "type": buffers[s][0]} for s in used]
    steps += [{"op": "append", "sb": s, "file": f"{buffers[s][1]}/init.{init_ext}"} for s in used]
    block = -1
    for _ in range(rng.randint(12, 22)):
        r = rng.random()
        if r < 0.15:
            time = rng.choice([0, 5, 20.5, 40, 61, 90, 119.9, 150]) if block < 0 else rng.uniform(0, 10 * block + 10)
            steps.append({"op": "seek", "time": round(time, 3), "timeout": 0.3})
            continue
        if r < 0.25:
            sb, start = rng.choice(used), rng.choice([0, 10, 30, 55.5, 80])
            steps.append({"op": "remove", "sb": sb, "start": start, "end": rng.choice([start + 10, start + 2.5, "Infinity"])})
            continue
        block = block + 1 if rng.random() < 0.8 else rng.randrange(15)
        offset = 10 * block + rng.choice([0, 0, 0, 0.5, -0.25])
        for sb in used:
            steps.append({"op": "set", "sb": sb, "timestampOffset": offset})
            first = rng.choice([1, 1, 1, 2])
            for n in range(first, rng.choice([3, 3, 3, first + 1]) + 1):
                steps.append({"op": "append", "sb": sb, "file": f"{buffers[sb][1]}/seg-0000{n}.{media_ext}"})
    return {"name": f"random-{fmt}-{seed}", "context": "window", "quota": [MiB, MiB], "steps": steps}


def _raw_script(rng: random.Random, fmt: str, seed: int) -> dict[str, Any]:
    """Slices of an ADTS or MP3 file: mostly the next slice after the last one appended (a stream fetched in
    pieces), sometimes a slice from anywhere, or the whole file."""
    mime_type, files = RAW[fmt]
    steps: list[dict[str, Any]] = [{"op": "addSourceBuffer", "id": "a", "type": mime_type}]
    file, cursor = rng.choice(files), 0
    for _ in range(rng.randint(10, 24)):
        if rng.random() >= 0.5:
            while (other := _step(rng, "a", ""))[0]["op"] == "append":
                pass
            steps += other
            continue
        r, size = rng.random(), rng.choice([1, 7, 300, 4000, 20000, 60000])
        if r < 0.6:
            start = cursor
        elif r < 0.85:
            start = rng.randint(0, 120000)
        else:
            file, start, size = rng.choice(files), 0, None
        end = None if size is None else start + size
        steps.append({"op": "append", "sb": "a", "file": file, "range": [start, end]})
        cursor = 0 if end is None else end
    return {"name": f"random-{fmt}-{seed}", "context": "window", "steps": steps}


def _racy_step(rng: random.Random, sb: str, segment: str, mime_type: str) -> list[dict[str, Any]]:
    """An append or removal and, in the same task, what a page may try while it runs (most of it throws
    InvalidStateError), or the reverse order."""
    append = {"op": "append", "sb": sb, "file": segment, "noWait": True}
    if rng.random() < 0.2:
        append["range"] = [0, rng.randint(500, 20000)]
    start = rng.choice(TIMES)
    remove = {"op": "remove", "sb": sb, "start": start, "end": rng.choice([start + 1, "Infinity"])}
    during = rng.choice([
        {"op": "abort", "sb": sb},
        {"op": "set", "sb": sb, "timestampOffset": rng.choice([0, 1, -0.5])},
        {"op": "set", "sb": sb, "mode": rng.choice(["segments", "sequence"])},
        {"op": "set", "sb": sb, "appendWindowStart": 1},
        {"op": "set", "sb": sb, "appendWindowEnd": 6},
        {"op": "changeType", "sb": sb, "type": mime_type},
        {"op": "duration", "value": rng.choice([6, 20])},
        {"op": "endOfStream", "error": None},
        dict(append, noWait=True),
        remove,
    ])  # fmt: skip
    first = rng.choice([append, append, remove])
    return [{"op": "batch", "steps": [during, first] if rng.random() < 0.2 else [first, during]}]


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
    flags = sys.argv[3:]
    json.dump(script(sys.argv[1], int(sys.argv[2]), "--extended" in flags, "--racy" in flags, "--seeks" in flags),
              sys.stdout, indent=1)  # fmt: skip
    print()
