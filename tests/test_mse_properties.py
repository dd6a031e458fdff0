"""Properties of the MSE core, checked with hypothesis and exhaustive permutations."""

from __future__ import annotations

import itertools
from fractions import Fraction

from hypothesis import example, given, settings
from hypothesis import strategies as st

from msecli.mse.profiles import CHROMIUM, SPEC
from msecli.sim.page import attached_page
from msecli.timeline.ranges import TimeRanges
from msecli.timeline.time import from_idl_double
from tests.media import SAMPLES, load_manifest
from tests.mutations import mutated

# TimeRanges

times = st.one_of(st.sampled_from([Fraction(0), Fraction(1, 30), Fraction(1001, 30000), Fraction(1)]),
                  st.fractions(min_value=0, max_value=20, max_denominator=1000))  # fmt: skip
spans = st.lists(st.tuples(times, times).map(lambda p: (min(p), max(p))), max_size=6)


def normalised(r: TimeRanges) -> bool:
    pairs = r.spans()
    return all(s < e for s, e in pairs) and all(a[1] < b[0] for a, b in zip(pairs, pairs[1:]))


def probes(*ranges: TimeRanges) -> set[Fraction]:
    points = {Fraction(0)}
    for r in ranges:
        for s, e in r.spans():
            points |= {s, e, s - Fraction(1, 10**6), e - Fraction(1, 10**6), (s + e) / 2}
    return points


@given(spans, spans, spans)
def test_time_ranges_algebra(a_spans, b_spans, c_spans):
    a, b, c = TimeRanges(a_spans), TimeRanges(b_spans), TimeRanges(c_spans)
    union, inter = a.union(b), a.intersection(b)
    assert normalised(union) and normalised(inter)
    for t in probes(a, b):
        assert union.contains(t) == (a.contains(t) or b.contains(t))
        assert inter.contains(t) == (a.contains(t) and b.contains(t))
    assert union == b.union(a) and inter == b.intersection(a)
    assert a.union(b).union(c) == a.union(b.union(c))
    assert a.intersection(b).intersection(c) == a.intersection(b.intersection(c))
    assert a.union(a) == a and a.intersection(a) == a


# The core on real segments


def open_media_source(profile=SPEC):
    page = attached_page(profile)
    return page.loop, page.media_source


def buffer_with(out, track, order, profile=SPEC):
    loop, ms = open_media_source(profile)
    sb = ms.add_source_buffer(track["mimeType"])
    for path in [track["init"]] + [track["segments"][i]["file"] for i in order]:
        sb.append_buffer((out / path).read_bytes())
        loop.run_until_idle()
    return loop, sb


def test_segments_in_any_order_buffer_the_same(segmented):
    for name in ("h264-aac.mp4", "aac-tone.m4a"):
        out = segmented(SAMPLES / name)
        for track in load_manifest(out)["tracks"]:
            results = {profile.name: set() for profile in (SPEC, CHROMIUM)}
            for order in itertools.permutations(range(len(track["segments"]))):
                for profile in (SPEC, CHROMIUM):
                    _, sb = buffer_with(out, track, order, profile)
                    results[profile.name].add(sb.buffered())
            for profile_name, seen in results.items():
                assert len(seen) == 1, (name, track["id"], profile_name, seen)


def removal_case(segmented, name, kind):
    out = segmented(SAMPLES / name)
    track = next(t for t in load_manifest(out)["tracks"] if t["kind"] == kind)
    return out, track


@settings(max_examples=100, deadline=None)
@given(st.fractions(0, 10, max_denominator=100), st.fractions(0, 10, max_denominator=100))
@example(Fraction(0), Fraction(8, 5))  # 1.6 is an AAC frame boundary; the double 1.6 is just past 8/5, and stands for it
def test_remove_takes_exactly_the_frames_it_should(segmented, a, b):
    if a == b:
        return
    a, b = min(a, b), max(a, b)
    for name, kind in (("aac-tone.m4a", "audio"), ("h264-aac.mp4", "video")):
        out, track = removal_case(segmented, name, kind)
        loop, sb = buffer_with(out, track, range(len(track["segments"])))
        (buffer,) = sb.track_buffers.values()
        before = list(buffer.frames)
        # remove() gets doubles, and the spec compares frame times as doubles: the frame at 8/5, whose double is
        # the page's 1.6, starts at 1.6, the end, not before it.
        start, end = (from_idl_double(float(x)) for x in (a, b))
        assert end == b
        next_key = min((f.pts for f in before if f.key and f.pts >= end), default=Fraction(10**9))
        sb.remove(float(a), float(b))
        loop.run_until_idle()
        after = buffer.frames
        # Nothing with a start in [a, b) is left.
        assert not [f for f in after if start <= f.pts < end]
        gone = [f for f in before if f not in after]
        if kind == "audio":  # no reordering: exactly the frames starting in [a, next RAP at or after b)
            assert all(start <= f.pts < next_key for f in gone)
        else:  # decode dependants of a removed frame may start before a, but never in another GOP
            assert all(f.pts < next_key for f in gone)
        # Every buffered range holds at least one frame.
        for start, end in sb.buffered().spans():
            assert any(start <= f.pts < end for f in after)
        # The ranges repaired around the removal equal ranges derived from scratch.
        gap = sb.profile.merge_gap(buffer)
        repaired = buffer.ranges(gap)
        buffer._ranges = None
        assert repaired == buffer.ranges(gap)


def _media(segmented, name, **options):
    out = segmented(SAMPLES / name, **options)
    return out, load_manifest(out)["tracks"][0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 200_000), max_size=6), st.sampled_from(["mp4", "webm"]))
def test_appends_in_any_split_buffer_the_same(segmented, cuts, fmt):
    """§5.4: bytes may arrive in any split (half a box now, the rest later); the result is the same."""
    name, options = ("aac-tone.m4a", {}) if fmt == "mp4" else ("vp9-opus.webm", {"format": "webm", "tracks": "audio"})
    out, track = _media(segmented, name, **options)
    data = b"".join((out / f).read_bytes() for f in [track["init"]] + [s["file"] for s in track["segments"]])
    _, whole = buffer_with(out, track, range(len(track["segments"])))
    loop, ms = open_media_source()
    sb = ms.add_source_buffer(track["mimeType"])
    points = sorted({c % len(data) for c in cuts} | {0, len(data)})
    for start, end in zip(points, points[1:]):
        sb.append_buffer(data[start:end])
        loop.run_until_idle()
    assert sb.buffered() == whole.buffered()
    assert ms.ready_state == "open"


@settings(max_examples=150, deadline=None)
@given(st.data(), st.sampled_from([("aac-tone.m4a", SPEC), ("h264-aac.mp4", CHROMIUM)]))
def test_any_bytes_end_in_success_or_an_append_error(segmented, data, case):
    """Whatever is appended, the SourceBuffer either takes it or runs the append error algorithm
    (error + updateend + sourceended, then the detach's events if the element had no metadata yet): never an
    exception out of the core. The chromium case reads every H.264 sample's NAL units."""
    name, profile = case
    out, track = _media(segmented, name)
    seed = (out / track["init"]).read_bytes() + (out / track["segments"][1]["file"]).read_bytes()[:3000]
    payload = data.draw(mutated(seed))
    loop, ms = open_media_source(profile)
    sb = ms.add_source_buffer(track["mimeType"])
    sb.append_buffer(payload)
    loop.run_until_idle()
    events = ms.host.events
    detach = ["ms.activeSourceBuffers:removesourcebuffer", "ms.sourceBuffers:removesourcebuffer", "ms:sourceclose"]
    if events[-3:] == detach:
        events = events[:-3]
    assert events[-2:] in (["sb:update", "sb:updateend"], ["sb:updateend", "ms:sourceended"])
    assert not sb.updating


def test_mp3_frames_are_buffered_back_to_back(tmp_path):
    """audio/mpeg: 1152-sample frames at 44.1 kHz placed end to end. LAME's first frame is its Info
    frame: syntactically an MPEG audio frame, so a media segment for MSE, though FFmpeg reads it as
    a header and reports one packet fewer."""
    import av

    from tests.media import encode_tone

    source = tmp_path / "tone.mp3"
    encode_tone(source, "mp3", "libmp3lame")
    data = source.read_bytes()
    with av.open(str(source)) as container:
        packets = sum(1 for p in container.demux() if p.size)
    id3 = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    assert b"Info" in data[id3 : id3 + 200] or b"Xing" in data[id3 : id3 + 200]
    frames = packets + 1
    loop, ms = open_media_source()
    sb = ms.add_source_buffer("audio/mpeg")
    for part in (data[:777], data[777:5000], data[5000:]):
        sb.append_buffer(part)
        loop.run_until_idle()
    assert sb.buffered().spans() == [(Fraction(0), Fraction(frames * 1152, 44100))]


def unknown_sizes(data: bytes) -> bytes:
    """The same WebM with its Segment and every Cluster of unknown size, as a live muxer writes them."""
    from msecli.formats.webm import ids
    from msecli.formats.webm.ebml import read_vint

    unknown = b"\x01\xff\xff\xff\xff\xff\xff\xff"
    out, offset = bytearray(), 0
    ebml_id, id_length = read_vint(data, 0, len(data), keep_marker=True)
    size, size_length = read_vint(data, id_length, len(data))
    out += data[: id_length + size_length + size]
    offset = id_length + size_length + size
    segment_id_length = read_vint(data, offset, len(data), keep_marker=True)[1]
    _, segment_size_length = read_vint(data, offset + segment_id_length, len(data))
    out += data[offset : offset + segment_id_length] + unknown
    offset += segment_id_length + segment_size_length
    while offset < len(data):
        element_id, id_length = read_vint(data, offset, len(data), keep_marker=True)
        size, size_length = read_vint(data, offset + id_length, len(data))
        body = data[offset + id_length + size_length : offset + id_length + size_length + size]
        out += data[offset : offset + id_length] + (unknown if element_id == ids.CLUSTER else data[offset + id_length : offset + id_length + size_length]) + body
        offset += id_length + size_length + size
    return bytes(out)


WEBM_TYPE = 'video/webm; codecs="vp9,opus"'


def appended(chunks: list[bytes]):
    loop, ms = open_media_source()
    sb = ms.add_source_buffer(WEBM_TYPE)
    for chunk in chunks:
        sb.append_buffer(chunk)
        loop.run_until_idle()
    return sb


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 800_000), max_size=5))
def test_unknown_size_clusters_buffer_like_known_ones(cuts):
    original = (SAMPLES / "vp9-opus.webm").read_bytes()
    live = unknown_sizes(original)
    points = sorted({c % len(live) for c in cuts} | {0, len(live)})
    split = appended([live[a:b] for a, b in zip(points, points[1:])])
    assert split.buffered() == appended([original]).buffered()
    assert split.buffered().spans() and not split.updating


def test_an_open_cluster_buffers_its_complete_blocks():
    """With the first Cluster's bytes in, and nothing after them, every block is buffered but the last of a track
    without DefaultDuration (the Opus audio): it waits for the block that tells its duration. The VP9 track has a
    DefaultDuration (33333333 ns, 33 whole ms): its last block is buffered with that."""
    original = (SAMPLES / "vp9-opus.webm").read_bytes()
    live = unknown_sizes(original)
    first, second = [i for i in range(len(live)) if live[i : i + 4] == b"\x1f\x43\xb6\x75"][:2]
    sb = appended([live[:second]])
    assert sb.append_state.name == "PARSING_MEDIA_SEGMENT"
    whole = appended([original[: original.index(b"\x1f\x43\xb6\x75", original.index(b"\x1f\x43\xb6\x75") + 4)]])
    held = {"video": 0, "audio": 1}
    for track_id, track in sb.track_buffers.items():
        assert len(track.frames) == len(whole.track_buffers[track_id].frames) - held[track.kind]
        if track.kind == "video":
            assert track.frames[-1].duration == Fraction(33, 1000)


def test_eviction_frees_front_gops_before_the_playhead_and_no_more(segmented):
    """Coded frame eviction (8.2) with Chromium's order: whole GOPs from the front, none that ends after
    the playback position, and only as many as the new data needs."""
    import dataclasses

    out, track = _media(segmented, "aac-tone.m4a")
    loop, ms = open_media_source(dataclasses.replace(SPEC, audio_quota=110_000))
    element = ms.host.element
    sb = ms.add_source_buffer(track["mimeType"])
    for name in (track["init"], track["segments"][0]["file"], track["segments"][1]["file"]):
        sb.append_buffer((out / name).read_bytes())
        loop.run_until_idle()
    (buffer,) = sb.track_buffers.values()
    before = list(buffer.frames)
    element.seek(Fraction(5))  # the playback position eviction must keep
    loop.run_until_idle()
    new_data = (out / track["segments"][2]["file"]).read_bytes()
    need = buffer.bytes + len(new_data) - 110_000
    sb.append_buffer(new_data)  # would throw QuotaExceededError if eviction could not make room
    loop.run_until_idle()
    gone = [f for f in before if f not in buffer.frames]
    assert gone == before[: len(gone)]  # from the front, in order
    assert all(f.end <= 5 for f in gone)
    assert sum(f.size for f in gone) >= need > sum(f.size for f in gone[:-1])  # and no more than needed
    assert buffer.bytes <= 110_000
    assert sb.buffered().spans()[0][0] == gone[-1].end


def test_audio_splice_without_crossfade(segmented):
    """Re-appending AAC segment 1 with timestampOffset 1: its first frame starts at 0.978667 inside the
    stored frame m=45 [0.96, 0.981333). spec (7.4 step 8): that frame goes and a silence frame (no
    bytes) covers [0.96, 0.978667); chromium: the frame stays, its tail trimmed to 0.978667 (the
    overlap, 2.67 ms, is over Chromium's 1 ms floor). Chromium holds times as whole microseconds, each
    frame's converted from 48 kHz ticks by truncation, the offset added after."""
    out, track = _media(segmented, "aac-tone.m4a")
    exact = {SPEC.name: lambda ticks: Fraction(ticks, 48000),
             CHROMIUM.name: lambda ticks: Fraction(int(ticks * 1_000_000 / 48000), 1_000_000)}  # fmt: skip
    for profile, size_is_zero in ((SPEC, True), (CHROMIUM, False)):
        time = exact[profile.name]
        loop, ms = open_media_source(profile)
        sb = ms.add_source_buffer(track["mimeType"])
        for name, offset in ((track["init"], None), (track["segments"][0]["file"], None), (track["segments"][0]["file"], 1)):
            if offset is not None:
                sb.set_timestamp_offset(offset)
            sb.append_buffer((out / name).read_bytes())
            loop.run_until_idle()
        (buffer,) = sb.track_buffers.values()
        spliced = next(f for f in buffer.frames if f.pts == time(45 * 1024))
        assert spliced.end == 1 + time(-1024)  # 0.978667: up to the new frame (the priming frame, shifted by 1)
        assert (spliced.size == 0) is size_is_zero
        assert not any(f.pts == time(46 * 1024) for f in buffer.frames)  # m=46 starts inside the new frame
        assert sb.buffered().spans() == [(Fraction(0), 1 + time(186 * 1024) + time(1024))]