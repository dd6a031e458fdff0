"""Video codec strings read field by field as Chromium reads them (media/base/video_codec_string_parsers.cc):
True when the string names a stream Chromium's parsers accept. Numbers are read as base::StringToInt and
base::HexStringToUInt read them; colour fields must name a code point VideoColorSpace knows."""

from __future__ import annotations

import re

_INT = re.compile(r"[+-]?[0-9]+")
_UINT = re.compile(r"\+?[0-9]+")
_HEX = re.compile(r"\+?(?:0[xX])?[0-9a-fA-F]+")
_AVC = re.compile(r"(?:avc1|avc3)\.([0-9a-fA-F]{6})")  # any sign or 0x prefix leaves a profile_idc no profile has

VP9_LEVELS = {10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 52, 60, 61, 62}
AVC_PROFILES = {66, 77, 83, 86, 88, 100, 110, 118, 122, 128, 244}
BIT_DEPTHS = (8, 10, 12)


def chromium_int(text: str) -> int | None:
    """base::StringToInt: an optional sign and decimal digits, nothing else, within 32 bits."""
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**31) <= value < 2**31 else None


def _uint(text: str, pattern: re.Pattern[str] = _UINT, base: int = 10) -> int | None:
    """base::StringToUint (or HexStringToUInt with the hex pattern): unsigned, within 32 bits."""
    if not pattern.fullmatch(text):
        return None
    digits = text.lstrip("+")
    value = int(digits[2:] if digits[:2].lower() == "0x" else digits, base)
    return value if value < 2**32 else None


def _hex(text: str) -> int | None:
    return _uint(text, _HEX, 16)


def primaries_valid(value: int) -> bool:
    return value in (1, 2) or 4 <= value <= 12 or value == 22


def transfer_valid(value: int) -> bool:
    return 1 <= value <= 18 and value != 3


def matrix_valid(value: int) -> bool:
    return 0 <= value <= 11 and value != 3


def _non_negative_fields(fields: list[str]) -> list[int] | None:
    """Every field after the 4CC as a number >= 0, or None when one is empty or not a number."""
    values = [chromium_int(field) if field else None for field in fields[1:]]
    return None if any(v is None or v < 0 for v in values) else values  # type: ignore[return-value]


def parse_vp9(codec: str) -> bool:
    """ParseNewStyleVp9CodecID: vp09.PP.LL.DD[.CC[.cp[.tc[.mc[.FF]]]]]."""
    fields = codec.split(".")
    if not 4 <= len(fields) <= 9 or fields[0] != "vp09":
        return False
    values = _non_negative_fields(fields)
    if values is None or values[0] > 3 or values[1] not in VP9_LEVELS or values[2] not in BIT_DEPTHS:
        return False
    checks = (lambda v: v <= 3, primaries_valid, transfer_valid, matrix_valid, lambda v: v <= 1)
    return all(check(value) for check, value in zip(checks, values[3:]))


def parse_av1(codec: str) -> bool:
    """ParseAv1CodecId: av01.P.LLT.DD[.M[.CCC[.cp[.tc[.mc[.F]]]]]], with the field widths it insists on."""
    fields = codec.split(".")
    if not 4 <= len(fields) <= 10 or fields[0] != "av01":
        return False
    if len(fields[2]) != 3 or fields[2][2] not in "MH":
        return False
    fields[2] = fields[2][:2]
    values = _non_negative_fields(fields)
    if values is None:
        return False
    profile = values[0] if len(fields[1]) == 1 else -1
    if profile not in (0, 1, 2) or values[1] > 31 or len(fields[3]) != 2 or values[2] not in BIT_DEPTHS:
        return False
    if len(values) > 3 and not _av1_monochrome_ok(fields[4], values[3], profile):
        return False
    if len(values) > 4 and not _av1_subsampling_ok(fields[5]):
        return False
    colour = ((6, 2, primaries_valid), (7, 2, transfer_valid), (8, 2, matrix_valid), (9, 1, lambda v: v <= 1))
    return all(len(fields[i]) == width and check(values[i - 1]) for i, width, check in colour if i < len(fields))


def _av1_monochrome_ok(field: str, value: int, profile: int) -> bool:
    return len(field) == 1 and value <= 1 and not (value == 1 and profile == 1)


def _av1_subsampling_ok(field: str) -> bool:
    """Three digits: subsampling_x, subsampling_y (0 or 1), chroma_sample_position (0-3, and 0 unless both are 1)."""
    if len(field) != 3:
        return False
    x, y, position = field[0], field[1], field[2]
    return x in "01" and y in "01" and position in "0123" and (position == "0" or (x == "1" and y == "1"))


def parse_avc(codec: str) -> bool:
    """ParseAVCCodecId: avc1.PPCCLL or avc3.PPCCLL, a known profile_idc and the reserved constraint bits zero."""
    match = _AVC.fullmatch(codec)
    if match is None:
        return False
    value = int(match.group(1), 16)
    return (value >> 8) & 3 == 0 and (value >> 16) in AVC_PROFILES


def parse_hevc(codec: str) -> bool:
    """ParseHEVCCodecId: hvc1|hev1.[A-C]<profile_idc>.<compat, hex>.<L|H><level_idc>[.<constraint byte, hex>]{0,6}."""
    if not codec.startswith(("hev1.", "hvc1.")) or len(codec) > 41:
        return False
    elements = [e.strip(" \t\n\v\f\r") for e in codec.split(".")]
    if not 4 <= len(elements) <= 10:
        return False
    profile_field = elements[1][1:] if elements[1][:1] in ("A", "B", "C") else elements[1]
    profile_idc, compatibility = _uint(profile_field), _hex(elements[2])
    if profile_idc is None or profile_idc > 0x1F or compatibility is None:
        return False
    if not (1 <= profile_idc <= 11 or compatibility & 0xFFE):
        return False  # no profile it names
    tier_level = elements[3]
    level = _uint(tier_level[1:]) if tier_level[:1] in ("L", "H") else None
    if level is None or level > 0xFF:
        return False
    return all((byte := _hex(e)) is not None and byte <= 0xFF for e in elements[4:])
