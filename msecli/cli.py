"""The command line: parse options, call the library, render. Errors become one line and an exit code."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from msecli import __version__
from msecli.errors import MsecliError

app = typer.Typer(
    name="msecli",
    help="What a Media Source Extensions SourceBuffer will do with your segments, before you open a browser.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

T = TypeVar("T")
EXIT_INTERRUPTED = 130


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
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
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
    input: Annotated[Path, typer.Argument(help="Any media file FFmpeg can demux (MP4/MOV, MKV/WebM, MPEG-TS, FLV, …).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to create for the manifest and segments.")],
    *,
    duration: Annotated[
        float, typer.Option("--duration", "-d", callback=_positive_seconds,
                            help="Target segment duration (s): a segment ends at the first keyframe at or after it.")
    ] = 4.0,
    format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Container: auto picks by codec (H.264/HEVC/AAC → mp4, VP8/VP9/Vorbis → webm).")
    ] = OutputFormat.auto,
    muxed: Annotated[bool, typer.Option("--muxed", help="All tracks in one init + one segment series (default: one per track).")] = False,
    tracks: Annotated[
        str | None, typer.Option("--tracks", "-t", help="Comma list of tracks to keep: ids (video, audio2), kinds, or stream indices.")
    ] = None,
    reencode: Annotated[bool, typer.Option("--reencode", help="Re-encode video with keyframes on the target grid (libx264 / libvpx-vp9).")] = False,
    allow_truncated: Annotated[bool, typer.Option("--allow-truncated", help="Segment what a cut input holds instead of failing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace OUTPUT if it exists (only once the new one is complete).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print manifest.json to stdout instead of the summary.")] = False,
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
    profile: Annotated[ProfileName, typer.Option("--profile", help="spec: the letter of MSE; chromium: as Chromium does it.")] = ProfileName.spec,
    quota: Annotated[str | None, typer.Option("--quota", help="Per-SourceBuffer byte quota in MiB: AUDIO,VIDEO (default 12,150, Chromium's).")] = None,
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


@app.command()
def simulate(
    script: Annotated[Path, typer.Option("--script", help="A scenario script (JSON) to run step by step.")],
    *,
    context: Annotated[str | None, typer.Option("--context", help="worker or window (default: the script's).")] = None,
    media: Annotated[Path | None, typer.Option("--media", help="Directory the script's files are relative to.")] = None,
    profile: Annotated[ProfileName, typer.Option("--profile", help="spec or chromium.")] = ProfileName.spec,
    json_output: Annotated[bool, typer.Option("--json", help="Print every step's record as JSON.")] = False,
) -> None:
    """Run a scenario script step by step against a simulated MediaSource and media element.

    Records, after every step, what a page would observe: exceptions, events in firing order,
    buffered ranges and states (README: "scenario scripts")."""
    from msecli.sim.scenario import load_script, run_script
    from msecli.ui.console import stdout_console
    from msecli.ui.scenario_report import scenario_view

    result = _run(lambda: run_script(load_script(script, media, context), profile.value))
    if json_output:
        typer.echo(json.dumps(result))
    else:
        stdout_console().print(scenario_view(result))


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
