"""The command line: parse options, call the library, render. Errors become one line and an exit code."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from msecli import __version__
from msecli.errors import InputError, MsecliError

app = typer.Typer(
    name="msecli",
    help="What a Media Source Extensions SourceBuffer will do with your segments, before you open a browser.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

if TYPE_CHECKING:
    from msecli.sim.player import TrackPlan
    from msecli.sim.workload import WorkloadOptions

T = TypeVar("T")
EXIT_INTERRUPTED = 130


class DecodeMode(str, Enum):
    pyav = "pyav"
    model = "model"
    off = "off"


class OutputFormat(str, Enum):
    auto = "auto"
    mp4 = "mp4"
    webm = "webm"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"msecli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """msecli: segment media for MSE, inspect segments, simulate a SourceBuffer."""


def _run(action: Callable[[], T]) -> T:
    """Run library code; an MsecliError or Ctrl-C becomes one line on stderr and an exit status."""
    from msecli.ui.console import stderr_console

    try:
        return action()
    except MsecliError as exc:
        stderr_console().print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        stderr_console().print("[bold red]interrupted[/]: nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # a bug: still one line, unless MSECLI_DEBUG asks for the traceback
        if os.environ.get("MSECLI_DEBUG"):
            raise
        stderr_console().print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} (run with MSECLI_DEBUG=1 for the traceback)",
            markup=True,
            highlight=False,
        )
        raise typer.Exit(1) from None


def _positive_seconds(value: float) -> float:
    if not value > 0:
        raise typer.BadParameter("must be a positive number of seconds")
    return value


@app.command()
def segment(
    input: Annotated[
        Path, typer.Argument(help="Any media file FFmpeg can demux (MP4/MOV, MKV/WebM, MPEG-TS, FLV, …).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to create for the manifest and segments.")],
    *,
    duration: Annotated[
        float,
        typer.Option(
            "--duration",
            "-d",
            callback=_positive_seconds,
            help="Target segment duration (s): a segment ends at the first keyframe at or after it.",
        ),
    ] = 4.0,
    format: Annotated[
        OutputFormat,
        typer.Option(
            "--format", "-f", help="Container: auto picks by codec (H.264/HEVC/AAC → mp4, VP8/VP9/Vorbis → webm)."
        ),
    ] = OutputFormat.auto,
    muxed: Annotated[
        bool, typer.Option("--muxed", help="All tracks in one init + one segment series (default: one per track).")
    ] = False,
    tracks: Annotated[
        str | None,
        typer.Option(
            "--tracks", "-t", help="Comma list of tracks to keep: ids (video, audio2), kinds, or stream indices."
        ),
    ] = None,
    reencode: Annotated[
        bool,
        typer.Option("--reencode", help="Re-encode video with keyframes on the target grid (libx264 / libvpx-vp9)."),
    ] = False,
    allow_truncated: Annotated[
        bool, typer.Option("--allow-truncated", help="Segment what a cut input holds instead of failing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace OUTPUT if it exists (only once the new one is complete).")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print manifest.json to stdout instead of the summary.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")] = False,
) -> None:
    """Split INPUT into init + media segments (fragmented MP4/CMAF or WebM) with a manifest.

    No re-encoding by default: video is cut at keyframes only, audio follows the video's cut points.
    Output appears all at once: a failed or interrupted run leaves nothing behind.
    """
    from msecli.media.segment import SegmentOptions
    from msecli.media.segment import segment as run_segment
    from msecli.ui.console import stderr_console, stdout_console
    from msecli.ui.progress import media_progress
    from msecli.ui.segment_report import summary_table

    options = SegmentOptions(Fraction(duration).limit_denominator(1_000_000), format.value, muxed, tracks,
                             allow_truncated, reencode)  # fmt: skip
    err = stderr_console()

    def work():  # type: ignore[no-untyped-def]
        with media_progress(err, f"segmenting {input.name}", enabled=not quiet) as progress:
            return run_segment(input, output, options, force=force, progress=progress)

    result = _run(work)
    for note in result.notes:
        err.print(f"[yellow]note:[/] {note}")
    if json_output:
        typer.echo(json.dumps(result.manifest.to_dict(), indent=2))
    elif not quiet:
        stdout_console().print(summary_table(result.manifest, str(output)))


inspect_app = typer.Typer(
    help="Look inside segments: box/element trees, coded frame tables, buffered ranges.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(inspect_app, name="inspect")

FilesArgument = Annotated[
    list[Path],
    typer.Argument(help="Files in append order (init + media segments, or a whole fragmented file), or a "
                        "segment directory with manifest.json."),
]  # fmt: skip


@inspect_app.command("tree")
def inspect_tree(
    files: FilesArgument,
    *,
    depth: Annotated[int | None, typer.Option("--depth", min=1, help="Show this many levels (default: all).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the trees as JSON.")] = False,
) -> None:
    """Box (MP4) or element (WebM) trees with offsets, sizes and decoded fields.

    Also says which byte ranges MSE would take as initialization or media segments, or neither."""
    from msecli import inspect
    from msecli.ui.console import stdout_console
    from msecli.ui.inspect_report import tree_view

    reports = _run(lambda: inspect.tree_report(inspect.resolve(files), depth))
    if json_output:
        typer.echo(json.dumps({"files": reports}, indent=1))
        return
    console = stdout_console()
    for report in reports:
        console.print(tree_view(report))


@inspect_app.command("frames")
def inspect_frames(
    files: FilesArgument,
    *,
    init: Annotated[Path | None, typer.Option("--init", help="The init segment the media segments need.")] = None,
    track: Annotated[str | None, typer.Option("--track", help="Only this track: its ID, manifest id or kind.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the frame tables as JSON.")] = False,
) -> None:
    """Coded frame tables of media segments: dts, pts, duration, size, keyframe.

    Per-track totals, GOP lengths, and every gap or overlap between consecutive frames flagged."""
    from msecli import inspect
    from msecli.ui.console import stderr_console, stdout_console
    from msecli.ui.inspect_report import frames_view

    def work():  # type: ignore[no-untyped-def]
        tracks, warnings = inspect.frame_tables(inspect.resolve(files, init, find_init=True))
        return inspect.frames_report(tracks, track), warnings

    report, warnings = _run(work)
    for warning in warnings:
        stderr_console().print(f"[yellow]warning:[/] {warning}")
    if json_output:
        typer.echo(json.dumps(report))
    else:
        stdout_console().print(frames_view(report))


class ProfileName(str, Enum):
    spec = "spec"
    chromium = "chromium"


@inspect_app.command("buffered")
def inspect_buffered(
    files: FilesArgument,
    *,
    profile: Annotated[
        ProfileName, typer.Option("--profile", help="spec: the letter of MSE; chromium: as Chromium does it.")
    ] = ProfileName.spec,
    quota: Annotated[
        str | None,
        typer.Option("--quota", help="Byte quota in MiB: AUDIO,VIDEO (default 12,150, Chromium's); per audio and video track, summed "
                                       "for a SourceBuffer with both (--profile chromium: a limit per stream)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the ranges as JSON.")] = False,
) -> None:
    """Buffered ranges after appending the segments in order, per SourceBuffer and for the element.

    One SourceBuffer per manifest track (or one for a list of files), every gap, and a timeline bar."""
    from msecli import inspect
    from msecli.sim.buffered import buffered_report
    from msecli.ui.buffered_report import buffered_view
    from msecli.ui.console import stdout_console

    def work():  # type: ignore[no-untyped-def]
        sources = inspect.resolve(files)
        return buffered_report(sources, profile.value, inspect.manifest_types(files), _quota(quota))

    report = _run(work)
    if json_output:
        typer.echo(json.dumps(report))
    else:
        stdout_console().print(buffered_view(report))


class Clock(str, Enum):
    virtual = "virtual"
    realtime = "realtime"


class ContextName(str, Enum):
    worker = "worker"
    window = "window"


@app.command()
def simulate(
    path: Annotated[
        Path | None, typer.Argument(help="A segment directory (manifest.json) or a media file.", show_default=False)
    ] = None,
    *,
    script: Annotated[
        Path | None, typer.Option("--script", help="Run this scenario script (JSON) instead of the player.")
    ] = None,
    context: Annotated[
        ContextName | None, typer.Option("--context", help="Where the MediaSource lives: worker (default) or window.")
    ] = None,
    media: Annotated[Path | None, typer.Option("--media", help="Directory a script's files are relative to.")] = None,
    profile: Annotated[
        ProfileName | None,
        typer.Option("--profile", help="spec (default) or chromium; a script's \"profile\" key is the default for it."),
    ] = None,
    clock: Annotated[
        Clock,
        typer.Option("--clock", help="virtual: as fast as possible, deterministic; realtime: paced to wall time."),
    ] = Clock.virtual,
    bandwidth: Annotated[str, typer.Option("--bandwidth", help="Network bandwidth, e.g. 5Mbps, 800kbps.")] = "5Mbps",
    latency: Annotated[
        str, typer.Option("--latency", help="Network latency before each segment's first byte, e.g. 40ms.")
    ] = "40ms",
    network_trace: Annotated[
        Path | None, typer.Option("--network-trace", help="Rows of 'seconds bandwidth' instead of --bandwidth.")
    ] = None,
    buffer_ahead: Annotated[
        float, typer.Option("--buffer-ahead", help="Seconds the player keeps buffered ahead of the playhead.")
    ] = 30.0,
    buffer_behind: Annotated[
        float, typer.Option("--buffer-behind", help="Seconds of played media the player keeps.")
    ] = 30.0,
    seek: Annotated[
        list[str] | None, typer.Option("--seek", help="T@W: seek to T s at simulated time W s (repeatable).")
    ] = None,
    message_latency: Annotated[
        str, typer.Option("--message-latency", help="Time a message takes between contexts, e.g. 1ms.")
    ] = "1ms",
    decode: Annotated[
        DecodeMode,
        typer.Option("--decode", help="pyav: decode the segments with PyAV and use the measured costs; model: a "
                                      "per-frame cost table (deterministic); off: decoding is instant."),
    ] = DecodeMode.pyav,
    decode_profile: Annotated[
        Path | None,
        typer.Option("--decode-profile", help="model: read the cost table from FILE; pyav: save the measured one."),
    ] = None,
    live: Annotated[
        bool | None, typer.Option("--live/--no-live", help="The live dashboard (default: when stdout is a terminal).")
    ] = None,
    save_svg: Annotated[
        Path | None, typer.Option("--save-svg", help="Write the final dashboard as an SVG picture.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite --save-svg / --decode-profile files.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON (schema in README).")] = False,
) -> None:
    """Play segments through a simulated worker MediaSource and element, or run a scenario script.

    The worker's MediaSourceHandle is transferred to a simulated main thread and attached to a simulated media
    element; --script runs a scenario script instead.

    Reports startup delay, stalls, buffer ahead, final buffered ranges and events per context.
    Times are simulated seconds."""
    from msecli.ui.console import stdout_console

    if (path is None) == (script is None):
        _usage_error("give a segment directory or media file, or --script FILE (one of them)")
    message_delay = _run(lambda: _duration_option(message_latency, "--message-latency"))
    if script is not None:
        from msecli.sim.scenario import load_script, run_script
        from msecli.ui.scenario_report import scenario_view

        loaded = _run(lambda: load_script(script, media, context.value if context else None))
        profile_name = profile.value if profile else loaded.data.get("profile", ProfileName.spec.value)
        if profile_name not in {p.value for p in ProfileName}:
            _usage_error(f"{script}: profile must be spec or chromium, not {profile_name!r}")
        result = _run(lambda: run_script(loaded, profile_name, latency=message_delay,
                                         realtime=clock == Clock.realtime))  # fmt: skip
        if json_output:
            typer.echo(json.dumps(result))
        else:
            stdout_console().print(scenario_view(result))
        return
    assert path is not None
    from msecli.ui.simulate_report import workload_view

    options = _run(lambda: _workload_options(context, bandwidth, latency, network_trace, buffer_ahead, buffer_behind,
                                             seek or [], message_delay, clock))  # fmt: skip
    options.decode = decode.value
    for output in (save_svg, decode_profile if decode == DecodeMode.pyav else None):
        if output is not None and output.exists() and not force:
            _usage_error(f"{output} exists (use --force to overwrite it)")
    if decode == DecodeMode.model and decode_profile is not None:
        from msecli.sim.decoder import CostTable

        options.decode_table = _run(lambda: CostTable.load(decode_profile))
    show_live = live if live is not None else (sys.stdout.isatty() and not json_output)
    result = _run(lambda: _simulate_path(path, (profile or ProfileName.spec).value, options, show_live, save_svg, decode_profile))
    if json_output:
        typer.echo(json.dumps(result))
    elif not show_live:
        stdout_console().print(workload_view(result))


@app.command()
def serve(
    directory: Annotated[Path, typer.Argument(help="A segment directory (manifest.json).", show_default=False)],
    *,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help='Print {"url": ...} as JSON, then serve.')] = False,
) -> None:
    """Play a segment directory in a real browser, through a worker-side MediaSource.

    A page whose dedicated worker creates the MediaSource, appends every track's segments and posts its handle
    to the page, which plays it and shows the buffered ranges, readyState and events. Only 127.0.0.1; Ctrl-C
    stops it."""
    import webbrowser

    from msecli.browser.server import serve_forever

    if not (directory / "manifest.json").is_file():
        _run(lambda: _raise(InputError(f"{directory}: no manifest.json (make one with msecli segment)")))
    if not 0 <= port <= 65535:
        _usage_error(f"--port: {port} is not a port number")

    def announce(url: str) -> None:
        typer.echo(json.dumps({"url": url, "directory": str(directory)}) if json_output else f"serving {directory} at {url}")
        sys.stdout.flush()
        if open_browser:
            webbrowser.open(url)

    _run(lambda: _serve(directory, port, announce, serve_forever))


def _serve(directory: Path, port: int, announce: Callable[[str], None],
           serve_forever: Callable[[Path, int, Callable[[str], None]], None]) -> None:  # fmt: skip
    """Ctrl-C is how a server is stopped: not an error."""
    try:
        serve_forever(directory, port, announce)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)


def _raise(exc: Exception) -> None:
    raise exc


@app.command()
def verify(
    script: Annotated[Path, typer.Argument(help="A scenario script (JSON), as for simulate --script.", show_default=False)],
    *,
    context: Annotated[
        ContextName | None, typer.Option("--context", help="Where the MediaSource lives: worker (default) or window.")
    ] = None,
    media: Annotated[Path | None, typer.Option("--media", help="Directory the script's files are relative to.")] = None,
    profile: Annotated[ProfileName, typer.Option("--profile", help="The simulation's profile.")] = ProfileName.chromium,
    browser: Annotated[
        Path | None, typer.Option("--browser", help="Chromium executable (default: chromium etc. on PATH).")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help='Print {"browser", "simulation", "diff"} as JSON (schema in README).')
    ] = False,
) -> None:
    """Run a scenario script in headless Chromium and in the simulation, and diff them.

    Shows step by step where they differ (ranges and times compared to 1 µs). Exit 0 when they agree, 1 when
    they differ."""
    from msecli.browser.chromium import chromium_page, find_browser, quota_flags
    from msecli.browser.verify import diff, run_in_browser
    from msecli.sim.scenario import load_script, run_script
    from msecli.ui.console import stdout_console
    from msecli.ui.verify_report import verify_view

    loaded = _run(lambda: load_script(script, media, context.value if context else None))
    executable = _run(lambda: find_browser(browser))
    simulation = _run(lambda: run_script(loaded, profile.value))

    def in_browser() -> dict:
        with chromium_page(executable, quota_flags(loaded.data.get("quota"))) as page:
            return run_in_browser(loaded, page)

    real = _run(in_browser)
    differences = diff(real, simulation)
    if json_output:
        typer.echo(json.dumps({"browser": real, "simulation": simulation, "diff": differences}))
    else:
        stdout_console().print(verify_view(loaded.name, profile.value, differences, len(loaded.steps)))
    raise typer.Exit(1 if differences else 0)


def _usage_error(message: str) -> None:
    from msecli.ui.console import stderr_console

    stderr_console().print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(2)


def _duration_option(text: str, name: str) -> Fraction:
    from msecli.errors import UsageError
    from msecli.sim.network import parse_duration

    try:
        return parse_duration(text)
    except UsageError as exc:
        raise UsageError(f"{name}: {exc}") from None


def _workload_options(context: ContextName | None, bandwidth: str, latency: str, trace: Path | None, ahead: float,
                      behind: float, seeks: list[str], message_delay: Fraction, clock: Clock):  # type: ignore[no-untyped-def]  # fmt: skip
    from msecli.errors import UsageError
    from msecli.sim.network import Network, parse_rate
    from msecli.sim.workload import WorkloadOptions

    delay = _duration_option(latency, "--latency")
    try:
        network = (
            Network.from_trace(trace, delay) if trace is not None else Network.constant(parse_rate(bandwidth), delay)
        )
    except UsageError as exc:
        raise UsageError(f"--bandwidth: {exc}" if trace is None else str(exc)) from None
    if not (ahead > 0 and behind >= 0):
        raise UsageError("--buffer-ahead must be positive and --buffer-behind not negative")
    return WorkloadOptions(context=context.value if context else "worker", network=network,
                           buffer_ahead=Fraction(ahead), buffer_behind=Fraction(behind),
                           seeks=[_seek_option(s) for s in seeks], latency=message_delay,
                           realtime=clock == Clock.realtime)  # fmt: skip


def _seek_option(text: str) -> tuple[Fraction, Fraction]:
    from msecli.errors import UsageError

    target, _, at = text.partition("@")
    try:
        values = Fraction(target), Fraction(at)
    except ValueError:
        raise UsageError(f"--seek {text!r}: expected T@W, e.g. 30@5 (seek to 30 s at simulated time 5 s)") from None
    if min(values) < 0:
        raise UsageError(f"--seek {text!r}: times cannot be negative")
    return values


def _simulate_path(path: Path, profile_name: str, options: WorkloadOptions, live: bool, save_svg: Path | None,
                   decode_profile: Path | None) -> dict[str, Any]:  # fmt: skip
    """A segment directory, or a media file segmented with `segment`'s defaults into a temporary directory."""
    import tempfile

    from msecli.errors import InputError
    from msecli.sim.workload import plan_from_manifest

    if path.is_dir():
        return _play(plan_from_manifest(path), profile_name, options, live, save_svg, decode_profile)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    from msecli.media.segment import SegmentOptions
    from msecli.media.segment import segment as run_segment

    with tempfile.TemporaryDirectory(prefix="msecli-simulate-") as temp:
        out = Path(temp) / "segments"
        run_segment(path, out, SegmentOptions())
        return _play(plan_from_manifest(out), profile_name, options, live, save_svg, decode_profile)


def _play(plan: list[TrackPlan], profile_name: str, options: WorkloadOptions, live: bool, save_svg: Path | None,
          decode_profile: Path | None) -> dict[str, Any]:  # fmt: skip
    """Measure decoding if asked, run the workload (on the live dashboard if asked), save what was asked."""
    from msecli.mse.profiles import PROFILES
    from msecli.sim.workload import run_workload
    from msecli.ui.live import DashboardRun

    if options.decode == "pyav":
        from msecli.media.decode_costs import measure
        from msecli.ui.console import stderr_console
        from msecli.ui.progress import media_progress

        with media_progress(stderr_console(), "decoding with PyAV", True) as update:
            measured = measure(plan, update)
        options.decode_costs, options.decode_report = measured.cost_of, measured.report
        if decode_profile is not None and measured.table is not None:
            from msecli.outdir import write_file_atomically

            write_file_atomically(decode_profile, (json.dumps(measured.table.to_json(), indent=1) + "\n").encode())
    dashboard = DashboardRun(live=live, decode_mode=options.decode)
    with dashboard:
        result = run_workload(plan, PROFILES[profile_name], options, on_progress=dashboard.progress)
    if save_svg is not None:
        dashboard.save_svg(save_svg)
    return result


def _quota(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError:
        raise typer.BadParameter("--quota takes AUDIO,VIDEO in MiB, e.g. 12,150") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) <= 0:
        raise typer.BadParameter("--quota takes AUDIO,VIDEO in MiB, e.g. 12,150")
    return int(parts[0] * 1024 * 1024), int(parts[1] * 1024 * 1024)


def main() -> None:
    app()
