from enum import Enum, StrEnum


class ReadyState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    ENDED = "ended"


class AppendMode(StrEnum):
    SEGMENTS = "segments"
    SEQUENCE = "sequence"


class AppendState(Enum):
    WAITING_FOR_SEGMENT = "WAITING_FOR_SEGMENT"
    PARSING_INIT_SEGMENT = "PARSING_INIT_SEGMENT"
    PARSING_MEDIA_SEGMENT = "PARSING_MEDIA_SEGMENT"


class EndOfStreamError(StrEnum):
    NETWORK = "network"
    DECODE = "decode"


class HMEReadyState(int, Enum):
    HAVE_NOTHING = 0
    HAVE_METADATA = 1
    HAVE_CURRENT_DATA = 2
    HAVE_FUTURE_DATA = 3
    HAVE_ENOUGH_DATA = 4
