"""The append path reads each moof straight from its bytes (fragments.direct_fragment_frames); whatever it
answers must be what the general box decoder answers (fragment_frames), and where the moof is anything but
plain it must step aside (None) so that the general decoder reads it and reports what is wrong."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from msecli.errors import ParseError
from msecli.formats.isobmff import boxes, fragments
from msecli.formats.isobmff.walk import iter_boxes
from msecli.formats.isobmff.write import box, full_box
from tests.media import SAMPLES
from tests.mutations import mutated
from tests.test_parsers import GOLDEN
from tests.test_parsers_fuzz import FUZZ

AAC = (GOLDEN / "aac-init.mp4").read_bytes() + (GOLDEN / "aac-seg2.m4s").read_bytes()


def general(data: bytes, moof_offset: int, moof_end: int, infos: dict) -> dict | None:
    """The general decoder's answer, or None where it raises ParseError."""
    try:
        node = boxes.parse_boxes(data, moof_offset, moof_end).nodes[0]
        if not node.all("traf"):
            return None
        return fragments.fragment_frames(node, infos)
    except ParseError:
        return None


def agree(data: bytes) -> int:
    """Check every top-level moof of `data`; how many the direct reader read itself."""
    infos: dict = {}
    direct_reads = 0
    for header in iter_boxes(data):
        if header.type == "moov":
            infos = fragments.track_infos(boxes.parse_boxes(data, header.offset, header.end).nodes[0])
        elif header.type == "moof":
            direct = fragments.direct_fragment_frames(data, header.offset, header.end, infos)
            if direct is not None:
                direct_reads += 1
                expected = general(data, header.offset, header.end, infos)
                assert expected is not None, "the direct reader accepted a moof the general decoder refuses"
                assert direct.keys() == expected.keys()
                for track_id, table in direct.items():
                    assert table.dtype == expected[track_id].dtype
                    assert table.tolist() == expected[track_id].tolist()
    return direct_reads


def test_every_segment_of_the_samples_is_read_directly_and_identically(segmented):
    for name, options in [("h264-aac.mp4", {}), ("h264-aac.mp4", {"muxed": True}), ("vp9-opus.webm", {"format": "mp4"})]:
        out = segmented(SAMPLES / name, **options)
        for init in sorted(out.rglob("init.mp4")):
            media = sorted(init.parent.glob("*.m4s"))
            data = init.read_bytes() + b"".join(m.read_bytes() for m in media)
            assert agree(data) == len(media)


@st.composite
def trafs(draw: st.DrawFn) -> tuple[bytes, bool]:
    """One traf of the AAC track (ID 1) in any layout ISO/IEC 14496-12 allows: tfhd defaults and base data
    offset or not, tfdt version 0 or 1, truns with any set of per-sample fields, signed or unsigned
    composition offsets. Also whether the direct reader takes it: a trun without per-sample fields (every
    sample from the defaults) is left to the general decoder."""
    direct = True
    tfhd_flags = draw(st.sampled_from([0, 0x20000])) | sum(draw(st.sets(st.sampled_from([0x01, 0x02, 0x08, 0x10, 0x20]))))
    tfhd_fields = [struct.pack(">I", 1)]
    if tfhd_flags & 0x01:
        tfhd_fields.append(struct.pack(">Q", draw(st.integers(0, 1 << 20))))
    for bit in (0x02, 0x08, 0x10, 0x20):
        if tfhd_flags & bit:
            tfhd_fields.append(struct.pack(">I", draw(st.integers(0, 1 << 17))))
    parts = [full_box("tfhd", 0, tfhd_flags, *tfhd_fields)]
    if draw(st.booleans()):
        version = draw(st.integers(0, 1))
        parts.append(full_box("tfdt", version, 0, struct.pack(">Q" if version else ">I", draw(st.integers(0, 1 << 31)))))
    for _ in range(draw(st.integers(1, 3))):
        flags = sum(draw(st.sets(st.sampled_from([0x01, 0x04, 0x100, 0x200, 0x400, 0x800]))))
        direct &= bool(flags & 0xF00)
        version, count = draw(st.integers(0, 1)), draw(st.integers(0, 12))
        fields = [struct.pack(">I", count)]
        if flags & 0x01:
            fields.append(struct.pack(">i", draw(st.integers(-1000, 1000))))
        if flags & 0x04:
            fields.append(struct.pack(">I", draw(st.sampled_from([0, 0x10000, 0x2000000]))))
        for _ in range(count):
            for bit in (0x100, 0x200, 0x400):
                if flags & bit:
                    fields.append(struct.pack(">I", draw(st.integers(0, 1 << 20))))
            if flags & 0x800:
                fields.append(struct.pack(">i" if version else ">I", draw(st.integers(-3000 if version else 0, 3000))))
        parts.append(full_box("trun", version, flags, *fields))
    return box("traf", *parts), direct


@st.composite
def plain_moofs(draw: st.DrawFn) -> tuple[bytes, bool]:
    drawn = draw(st.lists(trafs(), min_size=1, max_size=3))
    moof = box("moof", full_box("mfhd", 0, 0, struct.pack(">I", 1)), *(traf for traf, _ in drawn))
    mdat = box("mdat", bytes(64))  # bytes after the moof: what bounds a trun of default samples
    return (GOLDEN / "aac-init.mp4").read_bytes() + moof + mdat, all(direct for _, direct in drawn)


@FUZZ
@given(plain_moofs())
def test_constructed_moofs_read_the_same_both_ways(case: tuple[bytes, bool]) -> None:
    data, direct = case
    assert general_reads(data)
    assert agree(data) == (1 if direct else 0)


def general_reads(data: bytes) -> bool:
    """Whether the general decoder reads the data's moof without an error."""
    moof = next(h for h in iter_boxes(data) if h.type == "moof")
    moov = next(h for h in iter_boxes(data) if h.type == "moov")
    infos = fragments.track_infos(boxes.parse_boxes(data, moov.offset, moov.end).nodes[0])
    return general(data, moof.offset, moof.end, infos) is not None


@FUZZ
@given(mutated(AAC))
def test_mutated_moofs_are_read_the_same_or_left_to_the_general_decoder(data: bytes) -> None:
    try:
        agree(data)
    except ParseError:
        pass  # the top-level walk itself refuses the bytes: nothing reaches either decoder
