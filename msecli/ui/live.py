"""Running the simulation on the live dashboard: Rich Live on stdout, redrawn at most 10 times a second of
wall time (whatever the simulated clock does), the final state kept for --save-svg."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live

from msecli.outdir import write_file_atomically
from msecli.ui.console import stdout_console
from msecli.ui.dashboard import render, snapshot

REFRESH_SECONDS = 0.1
SVG_WIDTH = 100


class DashboardRun:
    def __init__(self, live: bool, console: Console | None = None, decode_mode: str = "") -> None:
        self.live_enabled = live
        self.decode_mode = decode_mode
        self.console = console or stdout_console()
        self._live: Live | None = None
        self._last = 0.0
        self._page: Any = None
        self._player: Any = None

    def __enter__(self) -> DashboardRun:
        if self.live_enabled:
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            if self._page is not None:
                self._live.update(self._render(), refresh=True)
            self._live.__exit__(None, None, None)

    def progress(self, page: Any, player: Any) -> None:
        """Called after every simulated task: cheap unless a redraw is due."""
        self._page, self._player = page, player
        if self._live is None:
            return
        now = time.monotonic()
        if now - self._last >= REFRESH_SECONDS:
            self._last = now
            self._live.update(self._render(), refresh=True)

    def state(self) -> dict[str, Any]:
        decoder = self._page.element.decoder
        decode = None
        if decoder is not None:
            frame = decoder.frame_duration(recent=120, default=1 / 30)
            decode = {"mode": self.decode_mode, "recentMs": decoder.recent_ms, "budgetMs": 1000 * frame,
                      "realtimeFactor": _realtime_factor(decoder, frame)}  # fmt: skip
        return snapshot(self._page, self._player, decode)

    def _render(self) -> Group:
        return render(self.state(), self.console.width)

    def save_svg(self, path: Path) -> None:
        if self._page is None:
            return
        state = self.state()
        recorder = Console(record=True, width=SVG_WIDTH, file=io.StringIO(), force_terminal=True)
        recorder.print(render(state, SVG_WIDTH))
        write_file_atomically(path, recorder.export_svg(title="msecli simulate").encode())


def _realtime_factor(decoder: Any, frame: float) -> float:
    """Media seconds decoded per second of decoding, over the recent frames."""
    recent = [seconds for _, seconds in decoder.log.recent][-300:]
    seconds = sum(recent)
    return len(recent) * frame / seconds if seconds else 0.0
