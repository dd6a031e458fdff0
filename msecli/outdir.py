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

    def write(self, relative: str, chunks: Sequence[bytes | memoryview]) -> int:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with open(target, "wb") as file:
            for chunk in chunks:
                size += file.write(chunk)
        return size


def check_destination(destination: Path, force: bool) -> None:
    """Refuse before any work is done: an existing output without --force, or a parent we cannot write."""
    if destination.exists() and not force:
        raise OutputError(f"{destination}: already exists (use --force to replace it)")
    if destination.exists() and not destination.is_dir():
        raise OutputError(f"{destination}: exists and is not a directory")
    parent = destination.parent
    if not parent.is_dir():
        raise OutputError(f"{parent}: no such directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{parent}: not writable")


@contextmanager
def staged_output(destination: Path, force: bool) -> Iterator[StagingDirectory]:
    """Yield a staging directory next to `destination`; move it into place if the block succeeds."""
    check_destination(destination, force)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent))
    except OSError as exc:
        raise OutputError(f"{destination.parent}: cannot create a directory ({exc.strerror})") from None
    _chmod_as_mkdir(staging)
    try:
        yield StagingDirectory(staging)
        _move_into_place(staging, destination, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
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
