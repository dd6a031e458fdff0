"""Exceptions named exactly as the DOMException names the spec throws (and WebIDL's TypeError)."""

from __future__ import annotations

from msecli.errors import MsecliError


class DOMException(MsecliError):
    name = "DOMException"


class InvalidStateError(DOMException):
    name = "InvalidStateError"


class QuotaExceededError(DOMException):
    name = "QuotaExceededError"


class NotSupportedError(DOMException):
    name = "NotSupportedError"


class NotFoundError(DOMException):
    name = "NotFoundError"


class InvalidAccessError(DOMException):
    name = "InvalidAccessError"


class DataCloneError(DOMException):
    name = "DataCloneError"


class IDLTypeError(MsecliError, TypeError):
    """WebIDL's TypeError."""

    name = "TypeError"
