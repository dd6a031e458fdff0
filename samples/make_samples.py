"""Make the bundled sample media, deterministically, with PyAV's encoders.

Run from the repository root:  .venv/bin/python samples/make_samples.py

Every sample shows the same synthetic scene (a gradient background, a square
moving along a Lissajous path, a bar that counts frames) and plays the same
tone (a sine sweeping slowly between 330 and 660 Hz). Encoders run with one
thread so that the bytes are the same on every machine with the same PyAV.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
SECONDS = 10
FPS = 30
WIDTH, HEIGHT = 640, 360
SAMPLE_RATE = 48000


def picture(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """An RGB frame: gradient, a moving square and a frame-counter bar."""
    t = index / FPS
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[..., 0] = (xs * 255 // width + index * 2) % 256
    rgb[..., 1] = ys * 255 // height
    rgb[..., 2] = 128
    side = height // 5
    cx = int((width - side) * (0.5 + 0.45 * np.sin(2 * np.pi * t / 5)))
    cy = int((height - side) * (0.5 + 0.45 * np.sin(2 * np.pi * t / 3)))
    rgb[cy : cy + side, cx : cx + side] = (250, 250, 40)
    bar = (index % FPS + 1) * width // FPS
    rgb[height - 12 :, :bar] = (20, 20, 20)
    return rgb


def tone(start: int, count: int, channels: int) -> np.ndarray:
    """`count` samples of the sweeping tone from sample `start`, planar float32."""
    n = np.arange(start, start + count, dtype=np.float64) / SAMPLE_RATE
    freq_phase = 2 * np.pi * (330 * n + 330 * (1 - np.cos(2 * np.pi * n / SECONDS)) * SECONDS / (4 * np.pi))
    mono = (0.3 * np.sin(freq_phase)).astype(np.float32)
    return np.repeat(mono[np.newaxis, :], channels, axis=0)


def add_video(container: av.container.OutputContainer, codec: str, options: dict[str, str]) -> av.VideoStream:
    stream = container.add_stream(codec, rate=FPS, options=options)
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    stream.codec_context.thread_count = 1
    return stream


def add_audio(container: av.container.OutputContainer, codec: str, bit_rate: int) -> av.AudioStream:
    stream = container.add_stream(codec, rate=SAMPLE_RATE)
    stream.layout = "stereo"
    stream.bit_rate = bit_rate
    stream.codec_context.thread_count = 1
    return stream


def encode_video(container: av.container.OutputContainer, stream: av.VideoStream) -> None:
    for index in range(SECONDS * FPS):
        frame = av.VideoFrame.from_ndarray(picture(index), format="rgb24").reformat(format="yuv420p")
        frame.pts = index
        frame.time_base = Fraction(1, FPS)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def encode_audio(container: av.container.OutputContainer, stream: av.AudioStream) -> None:
    chunk = 1024
    total = SECONDS * SAMPLE_RATE
    for start in range(0, total, chunk):
        frame = av.AudioFrame.from_ndarray(tone(start, min(chunk, total - start), 2), format="fltp", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = Fraction(1, SAMPLE_RATE)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def make_h264_aac(path: Path) -> None:
    with av.open(str(path), "w", format="mp4", container_options={"fflags": "+bitexact"}) as container:
        video = add_video(
            container,
            "libx264",
            {"preset": "medium", "crf": "30", "x264-params": "keyint=60:min-keyint=60:scenecut=0:bframes=3"},
        )
        audio = add_audio(container, "aac", 96000)
        container.metadata["comment"] = "msecli sample: H.264 High + AAC-LC, keyframe every 2 s"
        encode_video(container, video)
        encode_audio(container, audio)


def make_vp9_opus(path: Path) -> None:
    with av.open(str(path), "w", format="webm", container_options={"fflags": "+bitexact"}) as container:
        video = add_video(
            container,
            "libvpx-vp9",
            {"deadline": "good", "cpu-used": "8", "b": "500k", "g": "60", "keyint_min": "60", "row-mt": "0"},
        )
        audio = add_audio(container, "libopus", 64000)
        encode_video(container, video)
        encode_audio(container, audio)


def make_audio_only(path: Path) -> None:
    with av.open(str(path), "w", format="mp4", container_options={"fflags": "+bitexact"}) as container:
        encode_audio(container, add_audio(container, "aac", 96000))


SAMPLES = {
    "h264-aac.mp4": make_h264_aac,
    "vp9-opus.webm": make_vp9_opus,
    "aac-tone.m4a": make_audio_only,
}


def main(out_dir: Path = HERE) -> None:
    for name, make in SAMPLES.items():
        make(out_dir / name)
        print(f"{name}: {(out_dir / name).stat().st_size} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
