"""RFC 6381 `codecs` strings derived from decoder configuration records.

One place for both `segment` (describing what it wrote) and `inspect` (describing what it read).
Hex digits are lower case, as FFmpeg, Shaka Packager and most manifests write them.
"""

from __future__ import annotations

import struct


def avc(entry: str, avcc: bytes) -> str:
    """avc1.PPCCLL: AVCProfileIndication, profile_compatibility, AVCLevelIndication (avcC bytes 1-3)."""
    if len(avcc) < 4:
        raise ValueError("avcC shorter than 4 bytes")
    return f"{entry}.{avcc[1]:02x}{avcc[2]:02x}{avcc[3]:02x}"


def hevc(entry: str, hvcc: bytes) -> str:
    """hvc1.[A-C]<profile_idc>.<compat flags reversed, hex>.<L|H><level_idc>[.<constraint bytes>]."""
    if len(hvcc) < 13:
        raise ValueError("hvcC shorter than 13 bytes")
    profile_space = hvcc[1] >> 6
    tier = (hvcc[1] >> 5) & 1
    profile_idc = hvcc[1] & 0x1F
    (compat,) = struct.unpack_from(">I", hvcc, 2)
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = bytearray(hvcc[6:12])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    parts = [
        entry,
        ("", "A", "B", "C")[profile_space] + str(profile_idc),
        f"{reversed_compat:x}",
        ("H" if tier else "L") + str(hvcc[12]),
        *(f"{b:x}" for b in constraints),
    ]
    return ".".join(parts)


def av1(av1c: bytes) -> str:
    """av01.P.LLT.DD from the av1C record."""
    if len(av1c) < 4:
        raise ValueError("av1C shorter than 4 bytes")
    profile = av1c[1] >> 5
    level = av1c[1] & 0x1F
    tier = "H" if av1c[2] & 0x80 else "M"
    high_bitdepth = bool(av1c[2] & 0x40)
    twelve_bit = bool(av1c[2] & 0x20)
    depth = 12 if (high_bitdepth and twelve_bit) else 10 if high_bitdepth else 8
    return f"av01.{profile}.{level:02d}{tier}.{depth:02d}"


def vp9(vpcc: bytes) -> str:
    """vp09.PP.LL.DD from the vpcC (VPCodecConfigurationBox, version 1) payload after version/flags."""
    if len(vpcc) < 3:
        raise ValueError("vpcC shorter than 3 bytes")
    return f"vp09.{vpcc[0]:02d}.{vpcc[1]:02d}.{vpcc[2] >> 4:02d}"


def mp4a(esds_payload: bytes) -> str:
    """mp4a.40.<AOT> for MPEG-4 audio, else mp4a.<OTI hex> (mp4a.6b = MP3, mp4a.67 = MPEG-2 AAC LC)."""
    oti, specific = esds_decoder_config(esds_payload)
    if oti == 0x40 and specific:
        return f"mp4a.40.{audio_object_type(specific)}"
    return f"mp4a.{oti:02x}"


def esds_decoder_config(payload: bytes) -> tuple[int, bytes]:
    """(objectTypeIndication, DecoderSpecificInfo bytes) from an esds payload (after version/flags)."""
    offset, end = 0, len(payload)
    oti, specific = None, b""
    while offset < end:
        tag = payload[offset]
        size, offset = _descriptor_size(payload, offset + 1)
        body_end = min(offset + size, end)
        if tag == 0x03:  # ES_Descriptor: ES_ID(2), flags(1), optional fields; children follow
            flags = payload[offset + 2]
            offset += 3 + (2 if flags & 0x80 else 0)
            if flags & 0x40:
                offset += 1 + payload[offset]
            offset += 2 if flags & 0x20 else 0
            continue
        if tag == 0x04:  # DecoderConfigDescriptor: OTI(1) stream(1) buffer(3) max(4) avg(4); children follow
            oti = payload[offset]
            offset += 13
            continue
        if tag == 0x05:
            specific = bytes(payload[offset:body_end])
        offset = body_end
    if oti is None:
        raise ValueError("esds has no DecoderConfigDescriptor")
    return oti, specific


def _descriptor_size(payload: bytes, offset: int) -> tuple[int, int]:
    size = 0
    for _ in range(4):
        byte = payload[offset]
        offset += 1
        size = (size << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return size, offset


def audio_object_type(audio_specific_config: bytes) -> int:
    aot = audio_specific_config[0] >> 3
    if aot == 31 and len(audio_specific_config) > 1:
        aot = 32 + (((audio_specific_config[0] & 0x07) << 3) | (audio_specific_config[1] >> 5))
    return aot


def from_sample_entry(entry: str, children: dict[str, bytes]) -> str:
    """The codecs string for a sample entry type and its child boxes' payloads (by box type)."""
    if entry in ("avc1", "avc3") and "avcC" in children:
        return avc(entry, children["avcC"])
    if entry in ("hvc1", "hev1") and "hvcC" in children:
        return hevc(entry, children["hvcC"])
    if entry == "av01" and "av1C" in children:
        return av1(children["av1C"])
    if entry == "vp09" and "vpcC" in children:
        return vp9(children["vpcC"][4:])
    if entry == "mp4a" and "esds" in children:
        return mp4a(children["esds"][4:])
    simple = {"Opus": "opus", "fLaC": "flac", "ac-3": "ac-3", "ec-3": "ec-3", ".mp3": "mp3", "vp08": "vp8"}
    if entry in simple:
        return simple[entry]
    raise ValueError(f"no codecs string for sample entry {entry!r} with children {sorted(children)}")


def vp9_codec_private(vpcc: bytes) -> bytes:
    """WebM's VP9 CodecPrivate (feature ID, length, value: 1 profile, 2 level, 3 bit depth, 4 chroma
    subsampling) from a vpcC box payload (version/flags first)."""
    profile, level, packed = vpcc[4], vpcc[5], vpcc[6]
    return bytes([1, 1, profile, 2, 1, level, 3, 1, packed >> 4, 4, 1, (packed >> 1) & 7])


def _vp9_features(private: bytes) -> dict[int, int]:
    features, offset = {}, 0
    while offset + 2 <= len(private):
        feature, length = private[offset], private[offset + 1]
        if length == 1 and offset + 2 < len(private):
            features[feature] = private[offset + 2]
        offset += 2 + length
    return features


def from_webm(codec_id: str, codec_private: bytes) -> str:
    """The codecs string for a WebM track; VP9 gives vp09.PP.LL.DD when its CodecPrivate has the
    profile, level and bit depth, else the legacy "vp9"."""
    if codec_id == "V_VP9":
        features = _vp9_features(codec_private)
        if {1, 2, 3} <= features.keys():
            return f"vp09.{features[1]:02d}.{features[2]:02d}.{features[3]:02d}"
        return "vp9"
    if codec_id == "V_AV1":
        return av1(codec_private)
    simple = {"V_VP8": "vp8", "A_OPUS": "opus", "A_VORBIS": "vorbis"}
    if codec_id in simple:
        return simple[codec_id]
    raise ValueError(f"no codecs string for WebM codec {codec_id}")
