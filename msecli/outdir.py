"""Write an output directory all at once: into a temporary sibling, renamed into place on success.

A failed or interrupted run leaves nothing behind; an existing directory is replaced only with
`force`, and then only after the new one is complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from msecli.errors import OutputError


class StagingDirectory:
    """A temporary directory files are written into; `write` returns the bytes written."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, relative: str, chunks: Sequence[Chunk]) -> int:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return write_chunks(target, chunks)


IOV_MAX = 1024


class FileRange:
    """Bytes of an open input file, copied into the output by the kernel instead of through memory."""

    __slots__ = ("fd", "offset", "size")

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self.fd, self.offset, self.size = fd, offset, size

    def __len__(self) -> int:
        return self.size


Chunk = bytes | memoryview | FileRange


def write_chunks(target: Path, chunks: Sequence[Chunk]) -> int:
    """Write `chunks` to a new file with few system calls. In-memory chunks go out with writev; each
    run of FileRanges is read with one pread of the span it covers (input interleaving leaves little
    between them) and written as slices of that buffer."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    size = 0
    try:
        views: list[memoryview] = []
        run: list[FileRange] = []
        for chunk in chunks:
            if isinstance(chunk, FileRange):
                if run and run[-1].fd != chunk.fd:
                    views.extend(_read_ranges(run))
                    run = []
                run.append(chunk)
            else:
                if run:
                    views.extend(_read_ranges(run))
                    run = []
                if len(chunk):
                    views.append(memoryview(chunk).cast("B"))
            size += len(chunk)
            if len(views) >= IOV_MAX:
                _write_all(fd, views)
                views = []
        if run:
            views.extend(_read_ranges(run))
        _write_all(fd, views)
    finally:
        os.close(fd)
    return size


SPAN_SLACK = 1 << 20  # read through up to this much of other tracks' bytes between a run's ranges


def _read_ranges(ranges: list[FileRange]) -> list[memoryview]:
    """The bytes of `ranges` (one file), read in as few preads as their spacing allows."""
    views: list[memoryview] = []
    start = 0
    while start < len(ranges):
        low = ranges[start].offset
        high = low + ranges[start].size
        stop = start + 1
        while stop < len(ranges):
            candidate = ranges[stop]
            if candidate.offset < low or candidate.offset > high + SPAN_SLACK:
                break
            high = max(high, candidate.offset + candidate.size)
            stop += 1
        buffer = memoryview(_pread_exactly(ranges[start].fd, high - low, low))
        views.extend(buffer[r.offset - low : r.offset - low + r.size] for r in ranges[start:stop])
        start = stop
    return views


def _pread_exactly(fd: int, size: int, offset: int) -> bytes:
    data = os.pread(fd, size, offset)
    if len(data) < size:
        raise OSError(f"input ended {size - len(data)} bytes early at byte {offset + len(data)}")
    return data


def _write_all(fd: int, pending: list[memoryview]) -> None:
    while pending:
        written = os.writev(fd, pending[:IOV_MAX])
        while written and pending and written >= len(pending[0]):
            written -= len(pending.pop(0))
        if written:
            pending[0] = pending[0][written:]


def check_destination(destination: Path, force: bool) -> None:
    """Refuse before any work is done: an existing output without --force, or a place we cannot write."""
    if destination.exists() and not force:
        raise OutputError(f"{destination}: already exists (use --force to replace it)")
    if destination.exists() and not destination.is_dir():
        raise OutputError(f"{destination}: exists and is not a directory")
    existing = _first_existing_ancestor(destination)
    if not existing.is_dir():
        raise OutputError(f"{existing}: not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{existing}: not writable")


def _first_existing_ancestor(path: Path) -> Path:
    for parent in path.absolute().parents:
        if parent.exists():
            return parent
    return Path("/")


@contextmanager
def staged_output(destination: Path, force: bool) -> Iterator[StagingDirectory]:
    """Yield a staging directory next to `destination` (parents made as needed); move it into place
    if the block succeeds. On failure, nothing is left: not the staging directory, nor new parents."""
    check_destination(destination, force)
    existing = _first_existing_ancestor(destination)
    created = next((p for p in reversed(destination.absolute().parents) if not p.exists()), None)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent))
    except OSError as exc:
        raise OutputError(f"{existing}: cannot create a directory there ({exc.strerror})") from None
    _chmod_as_mkdir(staging)
    try:
        yield StagingDirectory(staging)
        _move_into_place(staging, destination, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise


def _chmod_as_mkdir(path: Path) -> None:
    """mkdtemp makes the directory private (0700); give it the mode a plain mkdir would."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o777 & ~umask)


def _move_into_place(staging: Path, destination: Path, force: bool) -> None:
    if destination.exists():
        if not force:
            raise OutputError(f"{destination}: appeared while segmenting (use --force to replace it)")
        old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        destination.rename(old)
        staging.rename(destination)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(destination)


def write_file_atomically(path: Path, data: bytes) -> None:
    """One file: written beside its destination under a temporary name and renamed over it on success."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
