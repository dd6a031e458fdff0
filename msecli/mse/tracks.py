"""AudioTrack, VideoTrack and TextTrack as a SourceBuffer creates them from an initialization segment
(§6 step 5), and what turning one on or off does to activeSourceBuffers (mse-notes §2.10)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from msecli.mse.source_buffer import SourceBuffer

TEXT_MODES = ("disabled", "hidden", "showing")


@dataclass(eq=False)
class MediaTrack:
    """One AudioTrack (`enabled`), VideoTrack (`selected`) or TextTrack (`mode`)."""

    kind: str  # audio, video, text
    track_id: int  # the init segment's Track ID
    source_buffer: SourceBuffer | None
    language: str = ""
    enabled: bool = False  # audio
    selected: bool = False  # video
    mode: str = "disabled"  # text

    @property
    def on(self) -> bool:
        """Enabled, selected, or a text mode of showing/hidden: what keeps its SourceBuffer active."""
        return {"audio": self.enabled, "video": self.selected}.get(self.kind, self.mode != "disabled")

    def to_json(self) -> dict:
        state = {"audio": {"enabled": self.enabled}, "video": {"selected": self.selected}}.get(
            self.kind, {"mode": self.mode}
        )
        return {"kind": self.kind, "id": str(self.track_id), "language": self.language, **state}
