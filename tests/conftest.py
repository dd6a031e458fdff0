from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import settings

from msecli.media.segment import SegmentOptions, segment
from tests.media import (
    SAMPLES,
    encode_open_gop,
    encode_scaled,
    encode_tone,
    h264_sample_variants,
    lone_block_cluster,
    mdat_variants,
    recovery_point_variants,
    remux,
)

# CI replays the same examples every run (reproducible failures); locally hypothesis explores anew.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Segment a file once per distinct set of options in this test session; returns the output directory."""
    cache: dict[tuple, Path] = {}

    def run(source: Path, **options) -> Path:
        key = (str(source), tuple(sorted(options.items())))
        if key not in cache:
            if "duration" in options:
                options["duration"] = Fraction(options["duration"])
            out = tmp_path_factory.mktemp("seg") / "out"
            segment(source, out, SegmentOptions(**options))
            cache[key] = out
        return cache[key]

    return run


@pytest.fixture(scope="session")
def media(segmented, tmp_path_factory) -> dict[str, Path]:
    """Segment sets a scenario picks with its "media" key (default aac-tone):
    - aac-tone: audio/init.mp4, seg-00001 [-0.021333, 3.989333), seg-00002 [3.989333, 8), seg-00003 [8, 10);
    - h264-aac: video/ (keyframes every 2 s, [0,4) [4,8) [8,10)) and audio/ as above;
    - vp9-webm: the VP9 sample as WebM, video/ with [0,4) [4,8) [8,10);
    - adts: tone.aac, the AAC sample's 470 frames as ADTS (no edit list: the priming frame is audio), and audio/
      as in aac-tone (for changeType between the two);
    - two-sizes: video/ as in h264-aac (640x360) and small/, the same video at 320x180 (an ABR rendition);
    - muxed: the h264-aac sample muxed, muxed/ with [-0.021333, 4) [3.989333, 8) [8, 10), and seg-00002 laid out
      otherwise beside it: its video and audio samples in two mdats, a free box between its moof and mdat
      (tests.media.mdat_variants);
    - muxed-webm: the vp9-opus sample muxed as WebM, muxed/ with Clusters [0, 4) [4, 8) [8, 10) (video from 0, 4 and 8;
      Opus from 0, 4.001 and 8.001);
    - broken-h264: video/ as in h264-aac, and beside its segments seg-00002 altered as broken muxers alter H.264
      (tests.media.h264_sample_variants);
    - webm-lone-block: video/ as in vp9-webm, and lone-block.webm: a Cluster of one VP9 keyframe at 0 with no duration
      from anywhere (tests.media.lone_block_cluster);
    - open-gop: video/ from tests.media.encode_open_gop in 2 s segments (keyframes at 0, 2, 4, 6; every GOP after the
      first opens on a non-IDR I picture with a recovery point SEI, after three B-frames presented before it), and
      seg-00003 (its GOP at 4, [3.9, 5.9)) with that SEI changed (tests.media.recovery_point_variants);
    - mp3: LAME-encoded tones, each an ID3v2 tag (45 bytes), an Info frame, then the audio frames: tone.mp3, 3 s at
      44.1 kHz (116 frames of 1152 samples), tone24.mp3, 2 s at 24 kHz (MPEG-2: 86 frames of 576 samples), and long.mp3, 20 s at 44.1 kHz (321 KB: more
      than one of Chromium's 128 KiB parse steps);
    - mp4-and-webm: h264-aac's and vp9-webm's video/ and audio/ together (init.mp4 and seg-*.m4s beside init.webm and
      seg-*.webm), for changeType between the byte streams."""
    adts = tmp_path_factory.mktemp("adts")
    remux([SAMPLES / "aac-tone.m4a"], adts / "tone.aac", "adts")
    shutil.copytree(segmented(SAMPLES / "aac-tone.m4a") / "audio", adts / "audio")
    two_sizes = tmp_path_factory.mktemp("two-sizes")
    encode_scaled(SAMPLES / "h264-aac.mp4", two_sizes / "small.mp4", 320, 180)
    shutil.copytree(segmented(SAMPLES / "h264-aac.mp4") / "video", two_sizes / "video")
    shutil.copytree(segmented(two_sizes / "small.mp4") / "video", two_sizes / "small")
    broken = tmp_path_factory.mktemp("broken-h264")
    shutil.copytree(segmented(SAMPLES / "h264-aac.mp4") / "video", broken / "video")
    for name, data in h264_sample_variants((broken / "video" / "seg-00002.m4s").read_bytes()).items():
        (broken / "video" / name).write_bytes(data)
    lone = tmp_path_factory.mktemp("webm-lone-block")
    shutil.copytree(segmented(SAMPLES / "vp9-opus.webm", format="webm") / "video", lone / "video")
    (lone / "video" / "lone-block.webm").write_bytes(lone_block_cluster((lone / "video" / "seg-00001.webm").read_bytes()))
    open_gop = tmp_path_factory.mktemp("open-gop")
    encode_open_gop(open_gop / "open-gop.mp4")
    shutil.copytree(segmented(open_gop / "open-gop.mp4", duration=2) / "video", open_gop / "video")
    for name, data in recovery_point_variants((open_gop / "video" / "seg-00003.m4s").read_bytes()).items():
        (open_gop / "video" / name).write_bytes(data)
    muxed = tmp_path_factory.mktemp("muxed")
    shutil.copytree(segmented(SAMPLES / "h264-aac.mp4", muxed=True) / "muxed", muxed / "muxed")
    for name, data in mdat_variants((muxed / "muxed" / "seg-00002.m4s").read_bytes()).items():
        (muxed / "muxed" / name).write_bytes(data)
    mp3 = tmp_path_factory.mktemp("mp3")
    encode_tone(mp3 / "tone.mp3", "mp3", "libmp3lame", seconds=3.0, rate=44100)
    encode_tone(mp3 / "tone24.mp3", "mp3", "libmp3lame", seconds=2.0, rate=24000)
    encode_tone(mp3 / "long.mp3", "mp3", "libmp3lame", seconds=20.0, rate=44100)
    both = tmp_path_factory.mktemp("mp4-and-webm")
    for source, options in ((SAMPLES / "h264-aac.mp4", {}), (SAMPLES / "vp9-opus.webm", {"format": "webm"})):
        shutil.copytree(segmented(source, **options), both, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.json"))
    return {
        "mp4-and-webm": both,
        "mp3": mp3,
        "broken-h264": broken,
        "webm-lone-block": lone,
        "open-gop": open_gop,
        "two-sizes": two_sizes,
        "adts": adts,
        "aac-tone": segmented(SAMPLES / "aac-tone.m4a"),
        "h264-aac": segmented(SAMPLES / "h264-aac.mp4"),
        "vp9-webm": segmented(SAMPLES / "vp9-opus.webm", format="webm"),
        "muxed": muxed,
        "muxed-webm": segmented(SAMPLES / "vp9-opus.webm", format="webm", muxed=True),
    }


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/*.json from the code")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """MSECLI_TEST_SHARD=i/n keeps every n-th test from the i-th (tests.run_suite runs the browser tests, mostly
    waiting on real-time playback, in two such processes). A scenario and its chromium- twin share a shard, which
    runs their browser workload once."""
    shard = os.environ.get("MSECLI_TEST_SHARD")
    if not shard:
        return
    index, count = (int(part) for part in shard.split("/"))
    kept, dropped = [], []
    for position, item in enumerate(items):
        path = getattr(getattr(item, "callspec", None), "params", {}).get("path")
        key = zlib.crc32(Path(path).stem.removeprefix("chromium-").encode()) if path is not None else position
        (kept if key % count == index else dropped).append(item)
    items[:] = kept
    config.hook.pytest_deselected(items=dropped)


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
