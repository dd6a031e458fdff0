"""MediaSourceHandle (§3): the transferable token that attaches a worker MediaSource to an element."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from msecli.mse.media_source import MediaSource


class MediaSourceHandle:
    """IDL: MediaSourceHandle. No members; the slots below are the spec's internal slots."""

    def __init__(self, media_source: MediaSource) -> None:
        self.media_source = media_source  # the link to the MediaSource, carried across transfers
        self.detached = False  # [[Detached]]
        self.has_ever_been_assigned_as_srcobject = False  # [[has ever been assigned as srcobject]]

    def transfer_steps(self) -> MediaSourceHandle:
        """The MSE transfer steps (run after HTML's own checks): refuse a handle used as srcObject,
        else give the receiver a new handle linked to the same MediaSource (HTML then detaches this one)."""
        from msecli.mse.errors import DataCloneError

        if self.has_ever_been_assigned_as_srcobject:
            raise DataCloneError("MediaSourceHandle has been used as srcObject of media element already")
        return MediaSourceHandle(self.media_source)
