"""Tracks (§6 step 5), activeSourceBuffers under track selection (mse-notes §2.10), and text tracks: the spec
makes a TextTrack and a text track buffer that buffered ignores; Chromium's parsers drop text tracks.
Expected values come from those texts, as each test's comments say."""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np

from msecli.formats.isobmff.write import InitTrack, TrackRun, box, full_box, init_segment, media_segment_header
from msecli.mse.profiles import CHROMIUM, SPEC
from msecli.sim.page import attached_page
from tests.media import SAMPLES, load_manifest


def two_buffers(segmented, audio_first: bool = True):
    """An audio and a video SourceBuffer holding all of the H.264+AAC sample."""
    out = segmented(SAMPLES / "h264-aac.mp4")
    tracks = {t["kind"]: t for t in load_manifest(out)["tracks"]}
    page = attached_page(SPEC)
    order = ("audio", "video") if audio_first else ("video", "audio")
    buffers = {}
    for kind in order:
        buffers[kind] = page.media_source.add_source_buffer(tracks[kind]["mimeType"])
        page.attachment.names[id(buffers[kind])] = kind
    for kind in order:
        track = tracks[kind]
        for path in [track["init"]] + [s["file"] for s in track["segments"]]:
            buffers[kind].append_buffer((out / path).read_bytes())
            page.loop.run_until_idle()
    return page, buffers


def active_events(page) -> list[str]:
    return [e for e in page.attachment.events if e.startswith("ms.activeSourceBuffers:")]


def test_first_init_segment_makes_one_on_track_per_buffer(segmented):
    page, buffers = two_buffers(segmented)
    # 5.2: the first audio track of a SourceBuffer is enabled; 5.3: the first video track is selected.
    assert [t.enabled for t in buffers["audio"].audio_tracks] == [True]
    assert [t.selected for t in buffers["video"].video_tracks] == [True]
    # 5.5: each became active on its first init segment, in sourceBuffers order.
    assert page.media_source.active_source_buffers == [buffers["audio"], buffers["video"]]
    assert active_events(page) == ["ms.activeSourceBuffers:addsourcebuffer"] * 2


def test_disabling_the_audio_track_drops_its_buffer_from_active_and_from_the_element(segmented):
    page, buffers = two_buffers(segmented)
    buffers["audio"].remove(2, 3)  # a hole in the audio only: the element's buffered shows it while audio is active
    page.loop.run_until_idle()
    ms, before = page.media_source, len(active_events(page))
    assert ms.buffered().length == 2
    ms.set_track_state(buffers["audio"].audio_tracks[0], False)
    page.loop.run_until_idle()
    # §2.10: the audio SB has no other enabled track -> removed, removesourcebuffer at activeSourceBuffers.
    assert ms.active_source_buffers == [buffers["video"]]
    assert active_events(page)[before:] == ["ms.activeSourceBuffers:removesourcebuffer"]
    # §9.2: the element's buffered intersects the active SourceBuffers only: now the video's alone.
    assert ms.buffered() == buffers["video"].buffered() and ms.buffered().length == 1
    # Enabling it again puts it back where sourceBuffers has it (first), with addsourcebuffer.
    ms.set_track_state(buffers["audio"].audio_tracks[0], True)
    page.loop.run_until_idle()
    assert ms.active_source_buffers == [buffers["audio"], buffers["video"]]
    assert active_events(page)[before:] == ["ms.activeSourceBuffers:removesourcebuffer",
                                            "ms.activeSourceBuffers:addsourcebuffer"]  # fmt: skip


def test_unselecting_video_and_a_no_op_change(segmented):
    page, buffers = two_buffers(segmented, audio_first=False)
    ms, before = page.media_source, len(active_events(page))
    ms.set_track_state(buffers["video"].video_tracks[0], True)  # already selected: nothing to do
    ms.set_track_state(buffers["video"].video_tracks[0], False)
    page.loop.run_until_idle()
    assert ms.active_source_buffers == [buffers["audio"]]
    assert active_events(page)[before:] == ["ms.activeSourceBuffers:removesourcebuffer"]
    assert ms.buffered() == buffers["audio"].buffered()


WVTT = full_box("stsd", 0, 0, struct.pack(">I", 1), box("wvtt", bytes(6) + struct.pack(">H", 1), box("vttC", b"WEBVTT")))


def cue_segment(start_ms: int, durations_ms: list[int], number: int) -> bytes:
    count = len(durations_ms)
    run = TrackRun(3, start_ms, np.array(durations_ms, np.int64), np.full(count, 8, np.int64), np.ones(count, bool),
                   np.zeros(count, np.int64))  # fmt: skip
    return media_segment_header(number, [run]) + bytes(run.data_size)


def text_buffer(profile):
    page = attached_page(profile)
    sb = page.media_source.add_source_buffer('video/mp4; codecs="avc1.64001e"')
    page.attachment.names[id(sb)] = "t"
    sb.append_buffer(init_segment([InitTrack(3, "text", 1000, WVTT)], 10.0))
    page.loop.run_until_idle()
    return page, sb


def test_text_tracks_spec_makes_them_chromium_ignores_them():
    page, sb = text_buffer(SPEC)
    # Spec §6 5.4: a TextTrack (mode "disabled": not on, so the SB does not become active) and a text track buffer.
    assert [t.to_json() for t in sb.text_tracks] == [{"kind": "text", "id": "3", "language": "", "mode": "disabled"}]
    assert page.media_source.active_source_buffers == []
    assert list(sb.track_buffers) == [3] and sb.track_buffers[3].kind == "text"
    sb.append_buffer(cue_segment(0, [4000], 1))
    page.loop.run_until_idle()
    # §9.1: step 2's highest end counts text track buffers, step 4 intersects audio and video ones only, so a
    # text-only SourceBuffer's buffered is [0, its last cue's end).
    assert len(sb.track_buffers[3]) == 1 and sb.buffered().spans() == [(0, 4)]
    # Showing the text track makes its SourceBuffer active (§2.10, "as for enabled audio").
    page.media_source.set_track_state(sb.text_tracks[0], "showing")
    assert page.media_source.active_source_buffers == [sb]

    page, sb = text_buffer(CHROMIUM)
    # Chromium's MP4 parser drops non-audio/video tracks: this init segment then has no track at all, which
    # is an append error (§6 step 2) -> error, updateend, and endOfStream("decode"), which at HAVE_NOTHING fails
    # the element's load and detaches the MediaSource (sourceclose).
    assert sb.text_tracks == [] and sb.track_buffers == {}
    assert [e for e in page.attachment.events if e.startswith(("t:", "ms:"))] == [
        "ms:sourceopen", "t:updatestart", "t:error", "t:updateend", "ms:sourceended", "ms:sourceclose"]  # fmt: skip


def test_text_splice_cuts_the_overlapped_cue():
    page, sb = text_buffer(SPEC)
    sb.append_buffer(cue_segment(0, [4000], 1))  # one cue [0, 4)
    page.loop.run_until_idle()
    sb.append_buffer(cue_segment(2000, [1000], 2))  # DTS 2 is within 2 x 4 s of DTS 0: the same group
    page.loop.run_until_idle()
    # 14: highest end (4) > PTS 2, so nothing is removed; 13 only runs at a group start.
    assert [(f.pts, f.end) for f in sb.track_buffers[3].frames] == [(0, 4), (2, 3)]

    page, sb = text_buffer(SPEC)
    sb.append_buffer(cue_segment(0, [4000], 1))
    page.loop.run_until_idle()
    sb.abort()  # reset parser state unsets the last decode timestamp: the next cue starts a group
    sb.append_buffer(cue_segment(2000, [1000], 2))
    page.loop.run_until_idle()
    frames = [(f.pts, f.end) for f in sb.track_buffers[3].frames]
    # §7.4 text splice: the overlapped cue is removed and re-added truncated to [0, 2); the new cue is stored.
    assert frames == [(Fraction(0), Fraction(2)), (Fraction(2), Fraction(3))]
