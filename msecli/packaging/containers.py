"""Which container carries which codec, and what `--format auto` picks."""

from __future__ import annotations

from msecli.errors import UnsupportedCodecError

# FFmpeg codec names (descriptor names, as PyAV's Codec.name gives them).
CARRIES = {
    "mp4": {"h264", "hevc", "av1", "vp9", "aac", "mp3", "ac3", "eac3", "opus", "flac"},
    "webm": {"vp8", "vp9", "av1", "vorbis", "opus"},
}
PREFERS_WEBM = {"vp8", "vp9", "vorbis"}  # AV1 and Opus go in either; MP4 is preferred for them


def formats_for(codec: str) -> list[str]:
    return [name for name, codecs in CARRIES.items() if codec in codecs]


def choose_container(codecs: list[str], requested: str) -> str:
    """The one container for a group of codecs (one track, or all tracks when muxed)."""
    if requested != "auto":
        for codec in codecs:
            if codec not in CARRIES[requested]:
                raise UnsupportedCodecError(_cannot(codec, requested))
        return requested
    for codec in codecs:
        if not formats_for(codec):
            raise UnsupportedCodecError(_cannot(codec, None))
    if all(c in PREFERS_WEBM or c in ("av1", "opus") for c in codecs) and any(c in PREFERS_WEBM for c in codecs):
        if all(c in CARRIES["webm"] for c in codecs):
            return "webm"
    if all(c in CARRIES["mp4"] for c in codecs):
        return "mp4"
    if all(c in CARRIES["webm"] for c in codecs):
        return "webm"
    raise UnsupportedCodecError(
        "no one container carries " + " + ".join(codecs) + ": "
        + "; ".join(f"{c} goes in {' or '.join(formats_for(c))}" for c in codecs)
        + " (drop --muxed to write each track in its own format)"
    )  # fmt: skip


def _cannot(codec: str, container: str | None) -> str:
    where = formats_for(codec)
    into = f"{container} cannot carry {codec}" if container else f"no MSE container carries {codec}"
    return f"{into}; " + (f"formats that can: {', '.join(where)}" if where else "msecli writes mp4 and webm only")
