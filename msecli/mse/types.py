"""isTypeSupported as Chromium answers it (mse-notes §11.5), for the byte stream formats msecli parses.

Blink reads the string with its lenient ContentType (the essence is what precedes the first ';', the codecs
parameter is the first one so named, every '"' in it dropped) and says yes only when two checks agree
(MediaSource::IsTypeSupportedInternal):
- the media element's (MimeUtil): every codec string parses (AVC, VP9, AV1 and HEVC strings field by field) to a
  codec of the container that this platform decodes;
- MSE's own (StreamParserFactory): the type has a byte stream parser and every codec string matches one of its
  patterns; mp4/webm need a codecs parameter, audio/mpeg and audio/aac must have none.
Seen with msecli verify (Chromium 156, 290 type strings). Not here although Chromium 156 takes them, because msecli
has no parser for them: video/mp2t and IAMF audio (iamf.*). HEVC is here: shipping Chrome decodes it with the
platform decoder, though Debian's Chromium (no HEVC) refuses it."""

from __future__ import annotations

from fnmatch import fnmatchcase

from msecli.mse.codec_strings import chromium_int, parse_av1, parse_avc, parse_hevc, parse_vp9

_ASCII_SPACE = " \t\n\v\f\r"

# MimeUtil's codec strings that need no parsing (GetStringToCodecMap), for the codecs these containers can hold.
SIMPLE_CODECS = {
    "mp3": "mp3", "mp4a.69": "mp3", "mp4a.6B": "mp3",
    "mp4a.66": "aac", "mp4a.67": "aac", "mp4a.68": "aac",
    "mp4a.40.2": "aac", "mp4a.40.02": "aac", "mp4a.40.5": "aac", "mp4a.40.05": "aac", "mp4a.40.29": "aac",
    "mp4a.40.42": "xhe-aac",
    "ac-3": "ac3", "mp4a.a5": "ac3", "mp4a.A5": "ac3", "ec-3": "eac3", "mp4a.a6": "eac3", "mp4a.A6": "eac3",
    "vorbis": "vorbis", "opus": "opus", "Opus": "opus", "flac": "flac", "fLaC": "flac",
    "vp8": "vp8", "vp8.0": "vp8", "theora": "theora",
}  # fmt: skip
# What the element says each container holds (AddSupportedMediaFormats), less what this platform cannot decode:
# xHE-AAC, AC-3 and E-AC-3 need a platform decoder that Linux builds do not have.
_MP4_AUDIO = {"flac", "mp3", "opus", "aac"}
ELEMENT_CODECS = {
    "audio/webm": {"opus", "vorbis"},
    "video/webm": {"opus", "vorbis", "vp8", "vp9", "av1"},
    "audio/mpeg": {"mp3"},
    "audio/mp4": _MP4_AUDIO,
    "video/mp4": _MP4_AUDIO | {"vp9", "h264", "hevc", "av1"},
    "audio/aac": set(),  # the codec is implicit: no codecs parameter
}
# MSE's byte stream formats and the codec patterns each takes (kSupportedTypeInfo; '*' as base::MatchPattern reads it).
# None: the codec is implicit and a codecs parameter is refused.
_WEBM_AUDIO = ("vorbis", "opus", "Opus")
_MP4_AUDIO_PATTERNS = ("flac", "fLaC", "opus", "Opus", "mp4a.40.*", "mp4a.67")
PARSER_CODECS: dict[str, tuple[str, ...] | None] = {
    "video/webm": ("vp8", "vp9", "vp09.*", *_WEBM_AUDIO, "av01.*"),
    "audio/webm": _WEBM_AUDIO,
    "audio/mpeg": None,
    "video/mp4": (*_MP4_AUDIO_PATTERNS, "vp09.*", "avc1.*", "avc3.*", "hev1.*", "hvc1.*", "av01.*"),
    "audio/mp4": _MP4_AUDIO_PATTERNS,
    "audio/aac": None,
}
AAC_OBJECT_TYPES = (2, 5, 29, 42)  # ValidateMP4ACodecID: LC, HE (SBR), HE v2 (PS), xHE


def content_type(value: str) -> tuple[str, str | None]:
    """(essence, codecs parameter or None) as Blink's ContentType reads them: the essence is what precedes the
    first ';'; parameters split at ';' outside double quotes; the first named codecs (any case) counts, every
    '"' in its value dropped."""
    value = value.strip(_ASCII_SPACE)
    essence = value.split(";", 1)[0].strip(_ASCII_SPACE)
    for parameter in _parameters(value):
        name, eq, raw = parameter.strip(_ASCII_SPACE).partition("=")
        if eq and name.strip(_ASCII_SPACE).lower() == "codecs":
            return essence, raw.strip(_ASCII_SPACE).replace('"', "")
    return essence, None


def _parameters(value: str) -> list[str]:
    """ContentType::ParseParameters: the pieces between ';' outside quotes (the essence is the first)."""
    pieces, start, quoted = [], 0, False
    for index, char in enumerate(value):
        if char == ";" and not quoted:
            if index != start:
                pieces.append(value[start:index])
            start = index + 1
        elif char == '"':
            quoted = not quoted
    if start != len(value):
        pieces.append(value[start:])
    return pieces


def split_codecs(codecs: str | None) -> list[str]:
    """media::SplitCodecs: comma-separated, each trimmed, empty entries kept (and refused later); a value that is
    not ASCII reads as none (ToASCIIOrEmpty)."""
    if not codecs or not codecs.isascii():
        return []
    parts = [part.strip(_ASCII_SPACE) for part in codecs.strip('"').split(",")]
    return [] if parts == [""] else parts


def is_type_supported(value: str) -> bool:
    if value == "":
        return False
    essence, codecs_parameter = content_type(value)
    if not essence or not essence.isascii():
        return False
    essence = essence.lower()
    codecs = split_codecs(codecs_parameter)
    return _element_supports(essence, codecs) and _parser_supports(essence, codecs)


def _element_supports(essence: str, codecs: list[str]) -> bool:
    """MimeUtil::IsSupportedMediaFormat says anything but "not supported" (an unspecific "maybe" passes here)."""
    held = ELEMENT_CODECS.get(essence)
    if held is None:
        return False
    if not held:
        return not codecs
    return all(element_codec(essence, codec) in held for codec in codecs)


def element_codec(essence: str, codec: str) -> str | None:
    """The codec MimeUtil::ParseCodecHelper reads `codec` as, or None when it does not parse."""
    if codec in SIMPLE_CODECS:
        return SIMPLE_CODECS[codec]
    if codec in ("avc1", "avc3"):
        return "h264"  # ambiguous, but allowed
    if codec == "mp4a.40":
        return "aac"
    if parse_vp9(codec) or (essence == "video/webm" and codec in ("vp9", "vp9.0")):
        return "vp9"  # the legacy strings only in WebM
    if parse_av1(codec):
        return "av1"
    if parse_avc(codec):
        return "h264"
    if parse_hevc(codec):
        return "hevc"
    return None


_FAMILY_BY_4CC = {"avc1": "h264", "avc3": "h264", "hvc1": "hevc", "hev1": "hevc", "vp09": "vp9", "av01": "av1",
                  "mp4a": "aac"}  # fmt: skip


def codec_family(codec: str) -> str:
    """The codec a codecs-parameter entry or a track's codecs string names, as Chromium compares them when an init
    segment arrives (StringToAudioCodec / StringToVideoCodec): vp9 and vp09.00.10.08 alike, avc1 and avc3 alike."""
    if codec.lower() in ("mp4a.69", "mp4a.6b"):
        return "mp3"
    return element_codec("video/webm", codec) or _FAMILY_BY_4CC.get(codec.split(".")[0], codec.lower())


def aac_object_type_indications(codecs: list[str]) -> set[int]:
    """The esds objectTypeIndications Chromium's MP4 parser takes for a codecs list (BuildMP4Parser): 0x40 for
    mp4a.40.*, 0x67 for mp4a.67."""
    return {0x40 for c in codecs if fnmatchcase(c, "mp4a.40.*")} | {0x67 for c in codecs if c == "mp4a.67"}


def object_type_indication(codecs: str) -> int | None:
    """The esds objectTypeIndication behind an MP4 audio codecs string: mp4a.40.N is 0x40, mp4a.XX is 0xXX."""
    parts = codecs.split(".")
    if parts[0] != "mp4a" or len(parts) < 2:
        return None
    try:
        return int(parts[1], 16)
    except ValueError:
        return None


def _parser_supports(essence: str, codecs: list[str]) -> bool:
    """StreamParserFactory::IsTypeSupported says "supported"."""
    if essence not in PARSER_CODECS:
        return False
    patterns = PARSER_CODECS[essence]
    if patterns is None:
        return not codecs
    return bool(codecs) and all(_parser_takes(codec, patterns) for codec in codecs)


def _parser_takes(codec: str, patterns: tuple[str, ...]) -> bool:
    pattern = next((p for p in patterns if fnmatchcase(codec, p)), None)
    return pattern is not None and (pattern != "mp4a.40.*" or _aac_object_type(codec) in AAC_OBJECT_TYPES)


def _aac_object_type(codec: str) -> int | None:
    """GetMP4AudioObjectType: the decimal third element of mp4a.40.N."""
    tokens = [t for t in codec.split(".") if t]
    if len(tokens) == 3 and tokens[:2] == ["mp4a", "40"]:
        return chromium_int(tokens[2])
    return None


def generate_timestamps_flag(value: str) -> bool:
    """The byte stream format registry (§11.2): audio/mpeg and audio/aac generate timestamps."""
    return content_type(value)[0].lower() in ("audio/mpeg", "audio/aac")


def codecs_of(value: str) -> list[str]:
    return [c for c in split_codecs(content_type(value)[1]) if c]


REFUSED_HINTS = {
    "mp4a.69": "Chromium takes MP3 only as audio/mpeg, not in MP4",
    "mp4a.6B": "Chromium takes MP3 only as audio/mpeg, not in MP4",
    "mp4a.6b": "Chromium takes MP3 only as audio/mpeg, not in MP4",
    "ac-3": "AC-3 plays only in builds with a platform decoder",
    "ec-3": "E-AC-3 plays only in builds with a platform decoder",
}


def refusal_hint(value: str) -> str | None:
    """Why isTypeSupported refuses a type a user is likely to have made with `segment`, when it is a known reason."""
    return next((REFUSED_HINTS[c] for c in codecs_of(value) if c in REFUSED_HINTS), None)
