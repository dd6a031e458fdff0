"""postMessage between contexts: HTML's StructuredSerializeWithTransfer, as far as MSE needs it.
Plain data is deep-copied; a MediaSourceHandle can only move (in the transfer list), and moving it
detaches the sender's copy; anything else (a MediaSource, a SourceBuffer) cannot be serialized at all. The error
messages are Chromium's (mse-notes §12.1, v8_script_value_serializer_for_modules.cc)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from msecli.mse.errors import DataCloneError
from msecli.mse.handle import MediaSourceHandle

# Where a MediaSourceHandle may go: the same agent cluster (a Window and its dedicated workers).
SAME_CLUSTER = {"window", "dedicatedworker"}


def structured_clone(message: Any, transfer: Sequence[Any], destination_kind: str) -> Any:
    """The receiver's copy of `message`, or DataCloneError before anything was detached."""
    handles = _check_transfer_list(transfer)
    if handles and destination_kind not in SAME_CLUSTER:
        # HTML: the receiver cannot deserialize a handle in another agent cluster (messageerror);
        # modelled as Chromium does for storage, a synchronous DataCloneError (mse-notes §3.2).
        raise DataCloneError(f"MediaSourceHandle cannot be transferred to a {destination_kind}")
    received = {id(h): h.transfer_steps() for h in handles}  # MSE transfer steps, may throw
    copy = _serialize(message, received)
    for handle in handles:
        handle.detached = True
    return copy


def _check_transfer_list(transfer: Sequence[Any]) -> list[MediaSourceHandle]:
    handles: list[MediaSourceHandle] = []
    for item in transfer:
        if not isinstance(item, MediaSourceHandle):
            raise DataCloneError(f"{type(item).__name__} is not transferable")
        if any(item is seen for seen in handles):
            raise DataCloneError("MediaSourceHandle is a duplicate of an earlier MediaSourceHandle")
        if item.detached:
            raise DataCloneError("MediaSourceHandle is detached and cannot be transferred")
        handles.append(item)
    return handles


def _serialize(value: Any, received: dict[int, MediaSourceHandle]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    if isinstance(value, MediaSourceHandle):
        if id(value) not in received:
            raise DataCloneError("A MediaSourceHandle could not be cloned because it was not transferred")
        return received[id(value)]
    if isinstance(value, dict):
        return {key: _serialize(item, received) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize(item, received) for item in value]
    raise DataCloneError(f"{type(value).__name__} object could not be cloned")
