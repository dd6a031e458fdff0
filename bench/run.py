"""`make bench`: speed and memory of msecli against a reference run on the same machine, same run.

Figures are ratios to the reference, because the machines are noisy. The 10-minute input is made
once and cached in .cache/bench (outside git).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.frame import PictureType

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench"
LONG_SECONDS = 600
SHORT_SECONDS = 150
WALL_RATIO_TARGET = 1.3
PEAK_MB_TARGET = 150
ROUNDS = 5


@dataclass
class Run:
    wall: float  # seconds
    peak_mb: float  # the child's peak resident set


def make_input(path: Path, seconds: int) -> None:
    """1280x720 30 fps H.264 (2 s GOP, B-frames) + AAC, from FFmpeg's test sources, with noise so the
    bitrate is what a real 720p rendition has (about 4 Mbit/s)."""
    tmp = path.with_suffix(".partial.mp4")
    video_graph = f"testsrc2=size=1280x720:rate=30:duration={seconds},noise=alls=12:allf=t"
    audio_graph = f"sine=frequency=440:beep_factor=4:sample_rate=48000:duration={seconds}"
    with av.open(video_graph, format="lavfi") as vsrc, av.open(audio_graph, format="lavfi") as asrc, \
            av.open(str(tmp), "w", format="mp4") as out:  # fmt: skip
        video = out.add_stream(
            "libx264",
            rate=30,
            options={"preset": "ultrafast", "b": "4M", "x264-params": "keyint=60:min-keyint=60:scenecut=0:bframes=2"},
        )
        video.width, video.height, video.pix_fmt = 1280, 720, "yuv420p"
        audio = out.add_stream("aac", rate=48000)
        audio.bit_rate = 128000
        audio_frames = asrc.decode(audio=0)
        audio_time = Fraction(0)
        for frame in vsrc.decode(video=0):
            frame.pict_type = PictureType.NONE  # lavfi marks every frame I: x264 would make each one an IDR
            out.mux(video.encode(frame))
            while audio_time <= frame.time:
                chunk = next(audio_frames, None)
                if chunk is None:
                    break
                out.mux(audio.encode(chunk))
                audio_time = Fraction(chunk.pts + chunk.samples, 48000)
        for chunk in audio_frames:
            out.mux(audio.encode(chunk))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
    tmp.rename(path)


def cached_input(seconds: int) -> Path:
    path = CACHE / f"input-{seconds}s-720p-gop2s.mp4"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"making the {seconds} s benchmark input (once; cached in {CACHE.relative_to(ROOT)}) …", flush=True)
        started = time.perf_counter()
        make_input(path, seconds)
        print(f"  {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def measure(command: list[str]) -> Run:
    """Wall time and peak RSS of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{stderr}")
    return Run(wall, usage.ru_maxrss / 1024)


def best_of(count: int, command: list[str], cleanup: Path | None = None) -> Run:
    runs = []
    for _ in range(count):
        if cleanup is not None:
            _remove(cleanup)
        runs.append(measure(command))
    return Run(min(r.wall for r in runs), max(r.peak_mb for r in runs))


def alternate(rounds: int, *commands: tuple[list[str], Path]) -> list[Run]:
    """Best of `rounds` for each command, the commands taking turns so both meet the same machine
    (page-cache writeback of the previous run's output, other load)."""
    results: list[list[Run]] = [[] for _ in commands]
    for _ in range(rounds):
        for runs, (command, output) in zip(results, commands):
            _remove(output)
            subprocess.run(["sync"], check=False)
            runs.append(measure(command))
    return [Run(min(r.wall for r in runs), max(r.peak_mb for r in runs)) for runs in results]


def _remove(path: Path) -> None:
    if path.is_file():
        path.unlink()
    shutil.rmtree(path, ignore_errors=True)


def reference_command(source: Path, destination: Path) -> tuple[str, list[str]]:
    if shutil.which("ffmpeg"):
        return "ffmpeg -c copy to fragmented MP4", [
            "ffmpeg", "-v", "error", "-y", "-i", str(source), "-c", "copy",
            "-movflags", "frag_keyframe+empty_moov+default_base_moof", str(destination),
        ]  # fmt: skip
    return "PyAV demux->mux copy loop", [
        sys.executable,
        str(Path(__file__).parent / "pyav_copy.py"),
        str(source),
        str(destination),
    ]


def bench_segment() -> list[str]:
    long_input, short_input = cached_input(LONG_SECONDS), cached_input(SHORT_SECONDS)
    scratch = CACHE / "scratch"
    scratch.mkdir(exist_ok=True)
    msecli = [sys.executable, "-m", "msecli", "segment", "-q", "--force"]
    # Warm the page cache so both runs read from memory (in a child: a parent holding the bytes would
    # count in every later child's peak RSS, which starts as a copy of the parent).
    subprocess.run(["cat", str(long_input), str(short_input)], stdout=subprocess.DEVNULL, check=True)
    name, reference = reference_command(long_input, scratch / "reference.mp4")
    ref, ours = alternate(
        ROUNDS,
        (reference, scratch / "reference.mp4"),
        ([*msecli, str(long_input), "-o", str(scratch / "out-long")], scratch / "out-long"),
    )
    short = best_of(3, [*msecli, str(short_input), "-o", str(scratch / "out-short")])
    startup = best_of(3, [sys.executable, "-c", "import msecli.cli, msecli.media.segment"])
    ratio = ours.wall / ref.wall
    work_ratio = (ours.wall - startup.wall) / ref.wall
    lines = [
        f"segment, {LONG_SECONDS // 60}-minute 720p30 H.264 + AAC ({long_input.stat().st_size / 1e6:.0f} MB), best of 5, runs alternating:",
        f"  reference ({name}): {ref.wall:.2f} s",
        f"  msecli segment:     {ours.wall:.2f} s   ratio {ratio:.2f}x (target <= {WALL_RATIO_TARGET}x)"
        f"  {'OK' if ratio <= WALL_RATIO_TARGET else 'MISSED'}",
        f"  of which start-up (Python + av + numpy + typer imports): {startup.wall:.2f} s; "
        f"without it: {ours.wall - startup.wall:.2f} s = {work_ratio:.2f}x the reference",
        f"  peak memory: {ours.peak_mb:.0f} MB for {LONG_SECONDS // 60} min, {short.peak_mb:.0f} MB for "
        f"{SHORT_SECONDS / 60:g} min (target < {PEAK_MB_TARGET} MB, flat)"
        f"  {'OK' if ours.peak_mb < PEAK_MB_TARGET and ours.peak_mb < short.peak_mb * 1.15 else 'MISSED'}",
    ]
    return lines


def bench_parse() -> list[str]:
    """Frame tables of every segment the 10-minute input makes; a tree of a 1 GB fragmented file."""
    from msecli import inspect

    segments = CACHE / "scratch" / "out-long"
    if not (segments / "manifest.json").exists():
        measure([sys.executable, "-m", "msecli", "segment", "-q", "--force", str(cached_input(LONG_SECONDS)),
                 "-o", str(segments)])  # fmt: skip
    sources = inspect.resolve([segments])
    total_bytes = sum(s.path.stat().st_size for s in sources)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        tracks, _ = inspect.frame_tables(sources)
        timings.append(time.perf_counter() - started)
    samples = sum(len(f) for t in tracks for f in t.frames)
    best = min(timings)
    big = _one_gigabyte_fragmented(segments)
    tree_times = []
    for _ in range(3):
        started = time.perf_counter()
        (report,) = inspect.tree_report(inspect.resolve([big]), None)
        tree_times.append(time.perf_counter() - started)
    cli = measure([sys.executable, "-m", "msecli", "inspect", "tree", "--json", str(big)])
    big_run, big_rate = _large_trun_rate(segments)
    gbps, rate = total_bytes / best / 1e9, samples / best / 1e6
    return [
        f"parse: frame tables of {len(sources)} segment files ({total_bytes / 1e6:.0f} MB, {samples} samples), best of 3:",
        f"  {best:.3f} s = {gbps:.2f} GB/s (target >= 1)  {'OK' if gbps >= 1 else 'MISSED'}; "
        f"{rate:.1f} M samples/s over these small segments (~{samples // len(sources)} samples a file: per-file cost)",
        f"  one fragment with a {big_run}-sample trun: {big_rate:.1f} M trun samples/s (target >= 5)"
        f"  {'OK' if big_rate >= 5 else 'MISSED'}",
        f"  inspect tree of a {big.stat().st_size / 1e9:.2f} GB fragmented file ({len(report['nodes'])} top-level boxes): "
        f"{min(tree_times):.3f} s in-process (target < 0.5)  {'OK' if min(tree_times) < 0.5 else 'MISSED'}; "
        f"the CLI with --json end to end {cli.wall:.2f} s",
    ]


def _large_trun_rate(segments: Path) -> tuple[int, float]:
    """Frame-table speed per sample: the video init + one fragment of 2 million samples."""
    from msecli.formats import bytestream
    from msecli.formats.isobmff.write import media_segment_header

    count, run = _big_video_run(sample_size=1000)
    video = next(t for t in inspect_manifest(segments) if t["kind"] == "video")
    data = (segments / video["init"]).read_bytes() + media_segment_header(1, [run])  # mdat left unwritten
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        parsed = bytestream.parse(data, "isobmff")
        _, frames = bytestream.frames(parsed, "isobmff")
        best = min(best, time.perf_counter() - started)
    assert len(frames[1]) == count
    return count, count / best / 1e6


def _big_video_run(sample_size: int, count: int = 2_000_000):  # type: ignore[no-untyped-def]
    """One track run of `count` 30 fps frames (15360 ticks a second), a keyframe every 60, each `sample_size`
    bytes; composition offsets of 1024 ticks, which the sample's init edit list takes off again."""
    import numpy as np

    from msecli.formats.isobmff.write import TrackRun

    run = TrackRun(1, 0, np.full(count, 512, np.int64), np.full(count, sample_size, np.int64),
                   np.arange(count) % 60 == 0, np.full(count, 1024, np.int64))  # fmt: skip
    return count, run


def _one_gigabyte_fragmented(segments: Path) -> Path:
    """The video track's init + media segments, the media segments repeated up to 1 GB (cached)."""
    path = CACHE / "fragmented-1gb.mp4"
    if path.exists():
        return path
    manifest_tracks = inspect_manifest(segments)
    video = next(t for t in manifest_tracks if t["kind"] == "video")
    media = [(segments / s["file"]).read_bytes() for s in video["segments"]]
    with open(path.with_suffix(".partial"), "wb") as out:
        out.write((segments / video["init"]).read_bytes())
        written = 0
        while written < 1_000_000_000:
            for chunk in media:
                written += out.write(chunk)
    path.with_suffix(".partial").rename(path)
    return path


def inspect_manifest(segments: Path) -> list[dict]:
    import json

    return json.loads((segments / "manifest.json").read_text())["tracks"]


def bench_append() -> list[str]:
    """The MSE append path (segment parser loop + coded frame processing, and the readyState update that
    closes it) over the 10-minute input's segments, through appendBuffer on an attached page with the
    segments already in memory (reading files is not the append path); and the per-frame cost alone: one
    media segment of 2 million frames through the same path."""
    segments = CACHE / "scratch" / "out-long"
    tracks = [(t["mimeType"], (segments / t["init"]).read_bytes(), [(segments / s["file"]).read_bytes() for s in t["segments"]])
              for t in inspect_manifest(segments)]  # fmt: skip
    total_bytes = sum(len(m) for _, _, media in tracks for m in media)
    appends = sum(len(media) for _, _, media in tracks)
    elapsed, frames = min(_append_all(tracks) for _ in range(5))
    gbps, rate = total_bytes / elapsed / 1e9, frames / elapsed / 1e6
    count, per_frame_rate = _one_segment_append_rate(segments)
    floor = min(_append_floor(tracks) for _ in range(5))
    return [
        f"append path: {appends} media segments ({total_bytes / 1e6:.0f} MB, {frames} frames) through appendBuffer, "
        f"best of 5: {elapsed:.3f} s = {gbps:.2f} GB/s (target >= 1) {'OK' if gbps >= 1 else 'MISSED'}, "
        f"{rate:.2f} M frames/s (target >= 2) {'OK' if rate >= 2 else 'MISSED'}",
        f"  = {elapsed / appends * 1e6:.0f} us per appendBuffer of about {frames / appends:.0f} frames, almost all of it "
        f"per append, not per frame: one segment of {count / 1e6:.0f} M frames appends at {per_frame_rate:.1f} M frames/s",
        f"  floor (bench/append_floor.py: only the struct and numpy work an append cannot avoid; no events, tasks, "
        f"Fractions, ranges or element), best of 5: {floor / appends * 1e6:.0f} us per append = "
        f"{frames / floor / 1e6:.1f} M frames/s; the append path is {elapsed / floor:.1f}x that, and the target leaves "
        f"{(frames / 2e6 - floor) / appends * 1e6:.0f} us per append above it",
    ]


def _append_floor(tracks: list[tuple[str, bytes, list[bytes]]]) -> float:
    from bench.append_floor import FloorTrack

    started = time.perf_counter()
    for _, _, media in tracks:
        track = FloorTrack(len(media) * 1024)  # room for up to 1024 frames a segment
        for segment in media:
            track.append(segment)
    return time.perf_counter() - started


def _append_all(tracks: list[tuple[str, bytes, list[bytes]]]) -> tuple[float, int]:
    """(seconds, frames stored) for appending every track's media segments in order, after its init segment."""
    import dataclasses

    from msecli.mse.profiles import SPEC
    from msecli.sim.page import attached_page

    big = 1 << 40  # a quota that holds everything: this measures appending, not eviction
    page = attached_page(dataclasses.replace(SPEC, audio_quota=big, video_quota=big))
    buffers = [page.media_source.add_source_buffer(mime_type) for mime_type, _, _ in tracks]
    for buffer, (_, init, _) in zip(buffers, tracks):
        buffer.append_buffer(init)
        page.loop.run_until_idle()
    started = time.perf_counter()
    for buffer, (_, _, media) in zip(buffers, tracks):
        for segment in media:
            buffer.append_buffer(segment)
            page.loop.run_until_idle()
    elapsed = time.perf_counter() - started
    return elapsed, sum(len(t) for b in buffers for t in b.track_buffers.values())


def _one_segment_append_rate(segments: Path) -> tuple[int, float]:
    """Frames per second through appendBuffer for one media segment of 2 million one-byte video frames."""
    from msecli.formats.isobmff.write import media_segment_header
    from msecli.mse.profiles import SPEC
    from msecli.sim.page import attached_page

    count, run = _big_video_run(sample_size=1)
    video = next(t for t in inspect_manifest(segments) if t["kind"] == "video")
    media = media_segment_header(1, [run]) + bytes(count)
    best = float("inf")
    for _ in range(3):
        page = attached_page(SPEC)
        sb = page.media_source.add_source_buffer(video["mimeType"])
        sb.append_buffer((segments / video["init"]).read_bytes())
        page.loop.run_until_idle()
        started = time.perf_counter()
        sb.append_buffer(media)
        page.loop.run_until_idle()
        best = min(best, time.perf_counter() - started)
        assert sum(len(t) for t in sb.track_buffers.values()) == count
    return count, count / best / 1e6


def bench_removal_scaling(lengths_minutes: tuple[int, ...] = (10, 60, 240)) -> list[str]:
    """remove() and eviction cost against content length: 30 fps video, a keyframe every 2 s."""
    import gc
    from fractions import Fraction

    import numpy as np

    from msecli.mse.profiles import SPEC
    from msecli.mse.track_buffer import TrackBuffer
    from msecli.sim.page import attached_page

    lines = ["removal scaling (synthetic 30 fps video, 2 s GOPs; remove 2 s / evict the first GOP; stored frames "
             "gc.freeze()d so CPython's cyclic GC does not rescan them):"]  # fmt: skip
    for minutes in lengths_minutes:
        page = attached_page(SPEC)
        ms = page.media_source
        sb = ms.add_source_buffer('video/mp4; codecs="avc1.64001e"')
        track = TrackBuffer(1, "video", "avc1.64001e", scale=30)
        count = minutes * 60 * 30
        ticks = np.arange(count, dtype=np.int64)
        track.store(ticks, ticks, np.ones(count, np.int64), ticks % 60 == 0, np.full(count, 1000, np.int64))
        sb.track_buffers[1] = track
        ms.duration_change(Fraction(minutes * 60))
        sb.buffered()  # warm the ranges cache, as playback would
        gc.freeze()
        started = time.perf_counter()
        sb.coded_frame_removal(Fraction(60), Fraction(62))
        sb.buffered()
        remove_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        freed = sb._evict_up_to_position(track, Fraction(30), 1)  # the playback position at 30 s
        evict_ms = (time.perf_counter() - started) * 1000
        gc.unfreeze()
        lines.append(f"  {minutes:>4} min, {count:>6} frames stored: remove 60 frames {remove_ms:6.2f} ms; "
                     f"evict one GOP ({freed} bytes) {evict_ms:6.2f} ms")  # fmt: skip
    return lines


SIMULATE_RUN = """
import resource, sys, time
from fractions import Fraction
from bench.synthetic import segment_set
from msecli.mse.profiles import CHROMIUM
from msecli.sim.network import Network
from msecli.sim.workload import WorkloadOptions, run_workload
plan = segment_set(int(sys.argv[1]))
from msecli.sim.decoder import DEFAULT_TABLE, CostTable
# The synthetic init segments say 640x360: a table of only the 1080p H.264 row makes every frame cost 1080p's.
table = CostTable([dict(e) for e in DEFAULT_TABLE if e["codec"] == "avc1" and e["height"] == 1080])
options = WorkloadOptions(network=Network.constant(Fraction(20_000_000), Fraction(40, 1000)), keep_events=False,
                          decode="model", decode_table=table)
started = time.perf_counter()
summary = run_workload(plan, CHROMIUM, options)["summary"]
wall = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a big parent would show up in it.
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(wall, summary["simulatedTime"], summary["ended"], summary["totalFrames"], hwm)
"""


def bench_simulate() -> list[str]:
    """simulate's default workload end to end in virtual time, on synthetic 1080p segment sets (bench/synthetic.py),
    each length in its own process so that peak memory can be compared."""
    lines = [
        "simulate (worker player, 20 Mbps, synthetic 1080p30 6 Mbps + AAC, 2 s segments, decode cost modelled: "
        "the default table's 1080p H.264 costs, 18 ms a keyframe, 6.5 ms others):"
    ]
    for seconds in (1200, 7200):
        output = subprocess.run([sys.executable, "-c", SIMULATE_RUN, str(seconds)], capture_output=True, text=True,
                                check=True, cwd=ROOT).stdout.split()  # fmt: skip
        wall, simulated, ended, frames, rss = (
            float(output[0]),
            float(output[1]),
            output[2],
            int(output[3]),
            int(output[4]),
        )
        verdict = "" if seconds != 7200 else f" (target < 2 s) {'OK' if wall < 2 else 'MISSED'}"
        lines.append(f"  {seconds // 60:>4} min: {wall:6.2f} s wall{verdict}, {simulated / wall:5.0f} simulated s per wall s, "
                     f"ended {ended}, {frames} video frames shown, peak RSS {rss / 1024:.0f} MB")  # fmt: skip
    return lines


def bench_decode() -> list[str]:
    """The decode-timing path (appended bytes from memory, a timed decode call per frame) against a bare PyAV
    decode loop of the same 150 s source, both with frame threading; alternated, best of 3 each."""
    from msecli.media.decode_timing import time_decode
    from msecli.media.segment import SegmentOptions, segment

    source = cached_input(SHORT_SECONDS)
    out = CACHE / "scratch" / "out-decode"
    if not (out / "manifest.json").exists():
        segment(source, out, SegmentOptions())
    video = next(t for t in inspect_manifest(out) if t["kind"] == "video")
    init = (out / video["init"]).read_bytes()
    segments = [(out / s["file"]).read_bytes() for s in video["segments"]]

    def bare() -> int:
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "FRAME"
            return sum(1 for _ in container.decode(stream))

    bare_best, ours_best, frames = float("inf"), float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        frames = bare()
        bare_best = min(bare_best, time.perf_counter() - started)
        started = time.perf_counter()
        timing = time_decode(init, segments)
        ours_best = min(ours_best, time.perf_counter() - started)
        assert len(timing.output_pts) == frames
    ratio = bare_best / ours_best
    return [f"decode timing: {frames} frames of 720p H.264, bare PyAV loop {frames / bare_best:.0f} frames/s, "
            f"decode-timing path {frames / ours_best:.0f} frames/s = {ratio:.2f}x (target >= 0.9) "
            f"{'OK' if ratio >= 0.9 else 'MISSED'}"]  # fmt: skip


def bench_dashboard() -> list[str]:
    """The live dashboard's cost: the same virtual-clock run (20 min synthetic, decode off) with --live drawing
    to a null terminal and with --no-live; alternated, best of 3 each."""
    from fractions import Fraction

    from rich.console import Console

    from bench.synthetic import segment_set
    from msecli.mse.profiles import CHROMIUM
    from msecli.sim.network import Network
    from msecli.sim.workload import WorkloadOptions, run_workload
    from msecli.ui.live import DashboardRun

    plan = segment_set(1200)

    def run(live: bool) -> float:
        options = WorkloadOptions(network=Network.constant(Fraction(20_000_000), Fraction(40, 1000)),
                                  keep_events=True)  # fmt: skip
        with open(os.devnull, "w") as null:
            dashboard = DashboardRun(live=live, console=Console(file=null, force_terminal=True, width=100))
            started = time.perf_counter()
            with dashboard:
                run_workload(plan, CHROMIUM, options, on_progress=dashboard.progress)
            return time.perf_counter() - started

    live_best, plain_best = float("inf"), float("inf")
    for _ in range(3):
        plain_best = min(plain_best, run(False))
        live_best = min(live_best, run(True))
    ratio = live_best / plain_best
    return [f"dashboard: 20 min synthetic run, --no-live {plain_best:.2f} s, --live to a null terminal "
            f"{live_best:.2f} s = {ratio:.2f}x (target <= 1.1) {'OK' if ratio <= 1.1 else 'MISSED'}"]


def main() -> None:
    sys.path.insert(0, str(ROOT))  # bench.synthetic, when run as a script
    for bench in (bench_segment, bench_parse, bench_append, bench_removal_scaling, bench_simulate, bench_decode,
                  bench_dashboard):  # fmt: skip
        print("\n".join(bench()), flush=True)


if __name__ == "__main__":
    main()
