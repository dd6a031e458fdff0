"""The two consoles: stdout for results, stderr for progress, notes and errors."""

from __future__ import annotations

import os
import sys

from rich.console import Console


def _no_color() -> bool:
    return bool(os.environ.get("NO_COLOR"))


def stdout_console() -> Console:
    return Console(file=sys.stdout, no_color=_no_color(), highlight=False, soft_wrap=False)


def stderr_console() -> Console:
    return Console(file=sys.stderr, no_color=_no_color(), highlight=False, soft_wrap=True)
