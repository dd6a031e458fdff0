"""isTypeSupported: MIME type and RFC 6381 codecs, answered as Chromium answers for what msecli decodes
(mse-notes §11.5): mp4/webm need a codecs parameter; every codec must be on the container's list."""

from __future__ import annotations

import re

WEBM_VIDEO = (re.compile(r"^(vp8|vp9|vorbis|opus)$"), re.compile(r"^vp09\.\d\d\.\d\d\.\d\d(\.\d\d)*$"),
              re.compile(r"^av01\.\d\.\d\d[MH]\.\d\d(\.\d(\.\d{3})?(\.\d\d){0,3}(\.\d)?)?$"))  # fmt: skip
WEBM_AUDIO = (re.compile(r"^(vorbis|opus)$"),)
# Codec ids are matched case-sensitively, hex digits in any case (Chromium: `AVC1.64001e` and `MP4A.40.2` are
# refused, `avc1.64001E` is not; seen with msecli verify). Not here although msecli can decode them, because
# Chromium 156 refuses them: MP3 in MP4 (mp4a.69, mp4a.6b; use audio/mpeg), AC-3 and E-AC-3 (platform builds only).
# HEVC is here: shipping Chrome decodes it with the platform decoder, though Debian's Chromium (no HEVC) refuses it.
MP4 = (
    re.compile(r"^(flac|fLaC|opus|mp4a\.67)$"),
    re.compile(r"^mp4a\.40\.(2|5|29|42)$"),
    re.compile(r"^(avc1|avc3)\.[0-9a-fA-F]{6}$"),
    re.compile(r"^(hvc1|hev1)\.[ABC]?\d{1,2}\.[0-9a-fA-F]{1,8}\.[LH]\d{1,3}(\.[0-9a-fA-F]{1,2}){0,6}$"),
    re.compile(r"^vp09\.\d\d\.\d\d\.\d\d(\.\d\d)*$"),
    re.compile(r"^av01\.\d\.\d\d[MH]\.\d\d(\.\d(\.\d{3})?(\.\d\d){0,3}(\.\d)?)?$"),
)
ALLOWED = {
    ("video", "webm"): WEBM_VIDEO,
    ("audio", "webm"): WEBM_AUDIO,
    ("video", "mp4"): MP4,
    ("audio", "mp4"): MP4,
}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def parse_mime(value: str) -> tuple[str, str, dict[str, str]] | None:
    """(type, subtype, parameters) of a valid MIME type string, else None."""
    head, *params = value.split(";")
    kind, slash, subtype = head.strip().partition("/")
    if not slash or not _TOKEN.match(kind) or not _TOKEN.match(subtype):
        return None
    parameters = {}
    for param in params:
        if not param.strip():
            continue
        name, eq, raw = param.strip().partition("=")
        if not eq or not _TOKEN.match(name.strip()):
            return None
        raw = raw.strip()
        if raw.startswith('"'):
            if len(raw) < 2 or not raw.endswith('"'):
                return None
            raw = raw[1:-1]
        parameters[name.strip().lower()] = raw
    return kind.lower(), subtype.lower(), parameters


def is_type_supported(value: str) -> bool:
    if value == "":
        return False
    parsed = parse_mime(value)
    if parsed is None:
        return False
    kind, subtype, parameters = parsed
    if (kind, subtype) in (("audio", "mpeg"), ("audio", "aac")):
        return "codecs" not in parameters
    allowed = ALLOWED.get((kind, subtype))
    if allowed is None or "codecs" not in parameters:
        return False
    codecs = [c.strip() for c in parameters["codecs"].split(",")]
    return bool(codecs) and all(c and any(p.match(c) for p in allowed) for c in codecs)


def generate_timestamps_flag(value: str) -> bool:
    """The byte stream format registry (§11.2): audio/mpeg and audio/aac generate timestamps."""
    parsed = parse_mime(value)
    return parsed is not None and (parsed[0], parsed[1]) in (("audio", "mpeg"), ("audio", "aac"))


def codecs_of(value: str) -> list[str]:
    parsed = parse_mime(value)
    return [c.strip() for c in parsed[2].get("codecs", "").split(",") if c.strip()] if parsed else []


REFUSED_HINTS = {
    "mp4a.69": "Chromium takes MP3 only as audio/mpeg, not in MP4",
    "mp4a.6b": "Chromium takes MP3 only as audio/mpeg, not in MP4",
    "ac-3": "AC-3 plays only in builds with a platform decoder",
    "ec-3": "E-AC-3 plays only in builds with a platform decoder",
}


def refusal_hint(value: str) -> str | None:
    """Why isTypeSupported refuses a type a user is likely to have made with `segment`, when it is a known reason."""
    return next((REFUSED_HINTS[c] for c in codecs_of(value) if c in REFUSED_HINTS), None)
