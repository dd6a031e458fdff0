"""The exception hierarchy. The CLI turns an MsecliError into one line on stderr and its exit code."""

from __future__ import annotations


class MsecliError(Exception):
    """Anything msecli reports to the user as a one-line error."""

    exit_code = 1


class UsageError(MsecliError):
    """The command line asks for something that cannot be done (exit status 2)."""

    exit_code = 2


class InputError(MsecliError):
    """The input is missing, not media, corrupt or truncated."""


class UnsupportedCodecError(MsecliError):
    """A codec the chosen container cannot carry."""


class OutputError(MsecliError):
    """The output cannot be written (exists without --force, not writable, …)."""


class ParseError(MsecliError, ValueError):
    """Malformed bytes: names the byte offset and the box/element path."""

    def __init__(self, message: str, *, offset: int, path: str) -> None:
        self.offset = offset
        self.path = path
        self.reason = message
        super().__init__(f"{path} at byte {offset}: {message}" if path else f"at byte {offset}: {message}")
