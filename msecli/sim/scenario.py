"""Scenario scripts (JSON): steps run against a MediaSource attached to a simulated element; each
step records what a page would observe. The format and record shape are documented in README."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from msecli.errors import MsecliError, UsageError
from msecli.mse.errors import IDLTypeError, InvalidStateError
from msecli.mse.handle import MediaSourceHandle
from msecli.mse.media_source import MediaSource
from msecli.mse.profiles import PROFILES, Profile
from msecli.mse.source_buffer import SourceBuffer
from msecli.sim.contexts import Context
from msecli.sim.element import UNREPORTED, Element
from msecli.sim.page import DEFAULT_LATENCY, Page
from msecli.timeline.time import from_idl_double

OPS: dict[str, tuple[set[str], set[str]]] = {  # op -> (required fields, optional fields)
    "addSourceBuffer": ({"id", "type"}, set()),
    "append": ({"sb"}, {"file", "hex", "range", "abortSync", "noWait"}),
    "remove": ({"sb", "start", "end"}, set()),
    "abort": ({"sb"}, set()),
    "set": ({"sb"}, {"timestampOffset", "mode", "appendWindowStart", "appendWindowEnd"}),
    "duration": ({"value"}, set()),
    "endOfStream": (set(), {"error", "explicitNull"}),
    "changeType": ({"sb", "type"}, set()),
    "removeSourceBuffer": ({"sb"}, set()),
    "setLiveSeekableRange": ({"start", "end"}, set()),
    "clearLiveSeekableRange": (set(), set()),
    "isTypeSupported": ({"type"}, set()),
    "play": ({"until"}, {"timeout"}),
    "seek": ({"time"}, {"timeout"}),
    "wait": ({"ms"}, set()),
    "snapshot": (set(), set()),
    "batch": ({"steps"}, set()),
    "attach": (set(), set()),
    "readHandle": (set(), set()),
    "postHandle": ({"transfer"}, set()),
    "attachSecond": (set(), set()),
    "forwardHandle": ({"transfer"}, set()),
    "terminateWorker": (set(), set()),
    "detach": (set(), set()),
    "element": (set(), {"set", "seq", "call"}),
    "playbackQuality": (set(), set()),
    "track": ({"sb", "kind"}, {"index", "enabled", "selected", "mode"}),
}
COMMON = {"op", "why", "comment"}


def number(value: Any) -> float:
    """A script number: JSON numbers, or the strings "Infinity", "-Infinity", "NaN"."""
    if isinstance(value, str) and value in ("Infinity", "-Infinity", "NaN"):
        return float(value.replace("Infinity", "inf"))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{value!r} is not a number")
    return float(value)


def json_number(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return round(value, 6)


@dataclass
class Script:
    name: str
    description: str
    context: str
    steps: list[dict[str, Any]]
    base: Path  # media files are relative to this
    data: dict[str, Any] = field(default_factory=dict)


def load_script(path: Path, media: Path | None = None, context: str | None = None) -> Script:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such script") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise UsageError(f'{path}: a script is an object with a "steps" list')
    base = media if media is not None else path.parent
    script = Script(data.get("name", path.stem), data.get("description", ""), context or data.get("context", "worker"),
                    data["steps"], base, data)  # fmt: skip
    if script.context not in ("worker", "window"):
        raise UsageError(f"{path}: context must be worker or window, not {script.context!r}")
    _validate(script.steps, script.base, "step", set())
    return script


def _validate(steps: list[Any], base: Path, label: str, known: set[str]) -> None:
    for index, step in enumerate(steps):
        where = f"{label} {index}"
        if not isinstance(step, dict) or step.get("op") not in OPS:
            raise UsageError(f"{where}: unknown op {step.get('op') if isinstance(step, dict) else step!r}")
        required, optional = OPS[step["op"]]
        missing = required - step.keys()
        if missing:
            raise UsageError(f"{where} ({step['op']}): missing field {sorted(missing)[0]!r}")
        extra = step.keys() - required - optional - COMMON
        if extra:
            raise UsageError(f"{where} ({step['op']}): unknown field {sorted(extra)[0]!r}")
        if step["op"] == "addSourceBuffer":
            known.add(step["id"])
        if "sb" in step and step["sb"] not in known:
            raise UsageError(f"{where} ({step['op']}): unknown sb id {step['sb']!r}")
        if step["op"] == "append" and "file" in step and not (base / step["file"]).is_file():
            raise UsageError(f"{where} (append): no file {base / step['file']}")
        if step["op"] == "append" and "file" not in step and "hex" not in step:
            raise UsageError(f"{where} (append): needs file or hex")
        if step["op"] == "element":
            _validate_element_op(step, where)
        if step["op"] == "batch":
            _validate(step["steps"], base, f"{where} batch step", known)


ELEMENT_ATTRIBUTES = {"currentTime", "playbackRate"}
WINDOW_OPS = {
    "play",
    "seek",
    "element",
    "playbackQuality",
    "attachSecond",
    "forwardHandle",
    "detach",
    "terminateWorker",
}
CLOCK_OPS = {"wait", "snapshot"}
SOURCE_BUFFER_OPS = {"append", "remove", "abort", "set", "changeType", "removeSourceBuffer", "track"}


def _validate_element_op(step: dict[str, Any], where: str) -> None:
    pairs = list(step.get("set", {}).items()) + [
        tuple(p) for p in step.get("seq", []) if isinstance(p, list) and len(p) == 2
    ]
    if len(pairs) != len(step.get("set", {})) + len(step.get("seq", [])):
        raise UsageError(f"{where} (element): seq is a list of [attribute, value] pairs")
    for name, _ in pairs:
        if name not in ELEMENT_ATTRIBUTES:
            raise UsageError(f"{where} (element): cannot set {name!r} (one of {', '.join(sorted(ELEMENT_ATTRIBUTES))})")
    if step.get("call") not in (None, "load", "pause", "play"):
        raise UsageError(f"{where} (element): call must be load, pause or play")


class _NotOk(MsecliError):
    """A step that did not throw but did not succeed either (a stall, a timeout): ok false, no exception."""

    name = None  # type: ignore[assignment]


class _WorkerTerminated(MsecliError):
    name = "WorkerTerminated"


def describe(received: Any) -> str | None:
    """How a record shows a received value: "MediaSourceHandle" or null (nothing, or undefined)."""
    return "MediaSourceHandle" if isinstance(received, MediaSourceHandle) else None


def _arrival(flag: str, arrived: list[Any]) -> dict[str, Any]:
    """A post's record value: whether a message arrived, and the handle in the last one."""
    return {flag: bool(arrived), "received": describe(arrived[-1]["handle"]) if arrived else None}


class Runner:
    """Runs a script in the page's arrangement: MSE ops as tasks where the MediaSource lives (the
    worker, or the Window), element ops as Window tasks, each step followed by the simulation settling."""

    def __init__(self, script: Script, profile: Profile, *, latency: Fraction = DEFAULT_LATENCY,
                 realtime: bool = False) -> None:  # fmt: skip
        quota = script.data.get("quota")
        if quota is not None:  # [audio bytes, video bytes] per SourceBuffer
            profile = dataclasses.replace(profile, audio_quota=int(quota[0]), video_quota=int(quota[1]))
        self.script = script
        self.page = Page(script.context, profile, latency=latency, realtime=realtime)
        self.clock = self.page.world.clock
        self.element = self.page.element
        self.ms = self.page.media_source
        self.host = self.page.attachment
        self.buffers: dict[str, SourceBuffer] = {}
        self.order: list[str] = []
        self.second: Element | None = None
        self.second_worker: Context | None = None
        self.terminated = False
        self.seen = {"element": 0, "second": 0}

    def run(self) -> dict[str, Any]:
        if not self.script.data.get("deferAttach"):
            self._in(self.page.ms_context, self.page.attach)
            self._settle()
        initial = self._record(None, None, True, None, None)
        steps = [self._step(i, step) for i, step in enumerate(self.script.steps)]
        return {"name": self.script.name, "context": self.script.context, "initial": initial, "steps": steps}

    def _step(self, index: int, step: dict[str, Any]) -> dict[str, Any]:
        ok, exception, value = True, None, None
        extra: dict[str, Any] = {}
        try:
            value = self._dispatch(step, extra)
        except (MsecliError, TypeError) as exc:
            if isinstance(exc, UsageError):
                raise
            ok, exception = False, getattr(exc, "name", "TypeError")
        errored = False
        if ok and step["op"] in ("append", "remove") and not step.get("noWait") and not step.get("abortSync"):
            errored = self._wait_update(step["sb"])
        self._settle()
        if callable(value):  # a value read once the messages arrived
            value = value()
        return self._record(index, step["op"], ok and not errored, exception, value, extra)

    def _dispatch(self, step: dict[str, Any], extra: dict[str, Any]) -> Any:
        op = step["op"]
        if op in CLOCK_OPS:
            if op == "wait":
                self.clock.advance(Fraction(number(step["ms"])) / 1000)
            return None
        if op == "play":
            return self._play(number(step["until"]), step.get("timeout"))
        if op == "seek":
            return self._seek(number(step["time"]), step.get("timeout"))
        if op in WINDOW_OPS:
            return self._in(self.page.window, lambda: self._window_op(step))
        if self.terminated:
            raise _WorkerTerminated("the worker that owns the MediaSource was terminated")
        if op == "attach":
            return self._attach()
        if op == "readHandle":
            first, second = self._in(self.page.ms_context, self._read_handle_twice)
            extra["sameObject"] = first is second
            return describe(first)
        return self._in(self.page.ms_context, lambda: self._do(step))

    def _in(self, context: Context, steps: Callable[[], Any]) -> Any:
        """Run `steps` as one task on `context`'s loop (after what is already due) and return its result."""
        box: dict[str, Any] = {}

        def task() -> None:
            try:
                box["value"] = steps()
            except BaseException as exc:  # noqa: BLE001 - re-raised below, outside the loop
                box["error"] = exc

        context.loop.queue(task)
        self.clock.run_until(lambda: bool(box))
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def _settle(self) -> None:
        self.clock.run_until_settled()

    def _wait_update(self, sb_id: str) -> bool:
        """Run until the SourceBuffer's updateend; True if it fired error on the way."""
        start = len(self.host.events)
        self._settle()
        return f"{sb_id}:error" in self.host.events[start:]

    # MSE ops, run where the MediaSource lives

    def _do(self, step: dict[str, Any]) -> Any:
        op = step["op"]
        if op in SOURCE_BUFFER_OPS:
            return self._do_on(self._buffer_named(step), step)
        if op == "addSourceBuffer":
            buffer = self.ms.add_source_buffer(step["type"])
            self.buffers[step["id"]] = buffer
            self.host.names[id(buffer)] = step["id"]
            self.order.append(step["id"])
        elif op == "duration":
            self.ms.set_duration(number(step["value"]))
        elif op == "endOfStream":
            self.ms.end_of_stream("null" if step.get("explicitNull") else step.get("error"))
        elif op == "setLiveSeekableRange":
            self.ms.set_live_seekable_range(number(step["start"]), number(step["end"]))
        elif op == "clearLiveSeekableRange":
            self.ms.clear_live_seekable_range()
        elif op == "isTypeSupported":
            return MediaSource.is_type_supported(step["type"])
        elif op == "postHandle":
            return self._post_handle(bool(step["transfer"]))
        elif op == "batch":
            return [self._sub_step(sub) for sub in step["steps"]]
        return None

    def _do_on(self, sb: SourceBuffer, step: dict[str, Any]) -> Any:
        """The ops on one SourceBuffer."""
        op = step["op"]
        if op == "append":
            sb.append_buffer(self._bytes(step))
            if step.get("abortSync"):
                sb.abort()
        elif op == "remove":
            sb.remove(number(step["start"]), number(step["end"]))
        elif op == "abort":
            sb.abort()
        elif op == "set":
            self._set(sb, step)
        elif op == "changeType":
            sb.change_type(step["type"])
        elif op == "removeSourceBuffer":
            self.ms.remove_source_buffer(sb)
        elif op == "track":
            return self._track(sb, step)
        return None

    def _buffer_named(self, step: dict[str, Any]) -> SourceBuffer:
        """The SourceBuffer a step names. One whose addSourceBuffer threw was never stored: the page's call on
        `undefined` throws a JavaScript TypeError, as here."""
        buffer = self.buffers.get(step.get("sb", ""))
        if buffer is None:
            raise IDLTypeError(f"no SourceBuffer {step.get('sb')!r}: its addSourceBuffer did not succeed")
        return buffer

    def _track(self, sb: SourceBuffer, step: dict[str, Any]) -> dict[str, Any]:
        """Turn a SourceBuffer's audio/video/text track on or off as the page would through the element's
        track lists; activeSourceBuffers follows (mse-notes §2.10)."""
        tracks = {"audio": sb.audio_tracks, "video": sb.video_tracks, "text": sb.text_tracks}.get(step["kind"])
        if tracks is None:
            raise UsageError(f"track kind must be audio, video or text, not {step['kind']!r}")
        index = int(step.get("index", 0))
        if not 0 <= index < len(tracks):
            raise IDLTypeError(f"the SourceBuffer has no {step['kind']} track {index}")
        track = tracks[index]
        for attribute in ("enabled", "selected", "mode"):
            if attribute in step:
                self.ms.set_track_state(track, step[attribute])
        return track.to_json()

    def _sub_step(self, sub: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"ok": True, "exception": None, "value": self._do(sub)}
        except (MsecliError, TypeError) as exc:
            if isinstance(exc, UsageError):
                raise
            return {"ok": False, "exception": getattr(exc, "name", "TypeError"), "value": None}

    @staticmethod
    def _set(sb: SourceBuffer, step: dict[str, Any]) -> None:
        for name, raw in step.items():  # in the order written
            if name == "timestampOffset":
                sb.set_timestamp_offset(number(raw))
            elif name == "mode":
                sb.set_mode(raw)
            elif name == "appendWindowStart":
                sb.set_append_window_start(number(raw))
            elif name == "appendWindowEnd":
                sb.set_append_window_end(number(raw))

    # The handle and the attachment

    def _read_handle_twice(self) -> tuple[Any, Any]:
        if not self.ms.in_worker:
            return None, None  # a Window MediaSource has no handle member: undefined === undefined
        return self.ms.handle, self.ms.handle

    def _attach(self) -> Callable[[], dict[str, bool]]:
        start = len(self.host.events)
        self._in(self.page.ms_context, self.page.attach)
        return lambda: {"sourceopen": "ms:sourceopen" in self.host.events[start:]}

    def _post_handle(self, transfer: bool) -> Callable[[], dict[str, Any]]:
        """The MediaSource's context posts {handle} to the Window (a Window posts to itself)."""
        handle = self.ms.handle if self.ms.in_worker else None
        before = len(self.page.main_received)
        self.page.ms_context.post_message(self.page.window, {"type": "handle", "handle": handle},
                                          [handle] if transfer and handle is not None else [])  # fmt: skip
        return lambda: _arrival("receivedOnMain", self.page.main_received[before:])

    # Window ops

    def _window_op(self, step: dict[str, Any]) -> Any:
        op = step["op"]
        if op == "element":
            return self._element_op(step)
        if op == "playbackQuality":
            return self.element.get_video_playback_quality()
        if op == "attachSecond":
            self.second = self.page.new_element("element2")
            if self.ms.in_worker:
                self.page.set_src_object(self.second, self.page.received_handle())
            else:
                self.page.set_src(self.second, self.element.src_object)
            return None
        if op == "forwardHandle":
            return self._forward_handle(bool(step["transfer"]))
        if op == "detach":
            self.page.set_src_object(self.element, None)  # window context: removing src then load() is the same
            return None
        if op == "terminateWorker":
            if self.page.worker is None:
                return "noWorker"
            self.page.terminate_worker()
            self.terminated = True
            return "terminated"
        raise AssertionError(op)

    def _element_op(self, step: dict[str, Any]) -> None:
        assignments = list(step.get("set", {}).items()) + [tuple(pair) for pair in step.get("seq", [])]
        for name, raw in assignments:
            if name == "currentTime":
                self.element.set_current_time(number(raw))
            elif name == "playbackRate":
                self.element.set_playback_rate(number(raw))
        call = step.get("call")
        if call == "play":
            self.element.play()
        elif call == "pause":
            self.element.pause()
        elif call == "load":
            self.element.load()

    def _forward_handle(self, transfer: bool) -> Callable[[], dict[str, Any]]:
        if self.second_worker is None:
            self.second_worker = self.page.world.context("dedicatedworker", "worker2")
            self.second_worker.on_message = lambda message: self._worker2_received.append(message)
            self._worker2_received: list[Any] = []
        handle = self.page.received_handle()
        before = len(self._worker2_received)
        self.page.window.post_message(self.second_worker, {"handle": handle},
                                      [handle] if transfer and handle is not None else [])  # fmt: skip
        return lambda: _arrival("receivedByWorker", self._worker2_received[before:])

    # Playback ops

    def _play(self, until: float, timeout: Any) -> bool:
        """Play until currentTime >= until, then pause; not ok if a stall (or the timeout) comes first."""
        target = Fraction(from_idl_double(until))
        element = self.element

        def start() -> None:
            element.stop_at = target
            element.play()
            if element.current_time >= target:  # the page looks once right after play(), in the same task
                element.stop_at = None
                element.pause()

        self._in(self.page.window, start)
        deadline = self.clock.now + Fraction(number(timeout)) if timeout is not None else None
        self.clock.run_until(lambda: element.paused or (not element.potentially_playing() and self.clock.settled),
                             deadline)  # fmt: skip
        if element.current_time >= target:
            return True

        def stop() -> None:
            element.stop_at = None
            element.pause()

        self._in(self.page.window, stop)
        raise _NotOk("playback stalled before reaching the target")

    def _seek(self, time: float, timeout: Any) -> bool:
        element = self.element
        before = len(element.events)
        self._in(self.page.window, lambda: element.set_current_time(time))
        deadline = self.clock.now + Fraction(number(timeout)) if timeout is not None else None

        def seeked() -> bool:
            return "seeked" in element.events[before:]

        self.clock.run_until(lambda: seeked() or self.clock.settled, deadline)
        if not seeked():  # still seeking, or no seek at all (nothing seekable)
            raise _NotOk("seeked never came")
        return True

    def _bytes(self, step: dict[str, Any]) -> bytes:
        if "hex" in step:
            data = bytes.fromhex(step["hex"].replace(" ", ""))
        else:
            data = (self.script.base / step["file"]).read_bytes()
        if "range" in step:
            start, end = step["range"]
            data = data[slice(start, end)]
        return data

    # Records

    def _record(self, index: int | None, op: str | None, ok: bool, exception: str | None, value: Any,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
        events, self.host.events = self.host.events, []
        record: dict[str, Any] = {}
        if index is not None:
            record.update(step=index, op=op, ok=ok, exception=exception, value=value)
            record.update(extra or {})
        record["events"] = [] if self.terminated else events
        record["elementEvents"] = self._new_events(self.element, "element")
        if self.terminated:
            record["sourceBuffers"] = None
            record["mediaSource"] = {"readyState": None, "duration": None, "sourceBuffers": None,
                                     "activeSourceBuffers": None}  # fmt: skip
        else:
            record["sourceBuffers"] = {sb_id: self._sb_record(self.buffers[sb_id]) for sb_id in self.order}
            record["mediaSource"] = self._ms_record()
        record["element"] = self._element_record(self.element)
        if self.second is not None:
            second = self._element_record(self.second)
            record["secondElement"] = {k: second[k] for k in ("readyState", "networkState", "error")}
            record["secondElementEvents"] = self._new_events(self.second, "second")
        return record

    def _new_events(self, element: Element, key: str) -> list[str]:
        fresh = element.events[self.seen[key] :]
        self.seen[key] = len(element.events)
        return [e for e in fresh if e not in UNREPORTED]

    def _ms_record(self) -> dict[str, Any]:
        ms = self.ms
        return {
            "readyState": str(ms.ready_state),
            "duration": json_number(ms.duration),
            "sourceBuffers": [i for i in self.order if self.buffers[i] in ms.source_buffers],
            "activeSourceBuffers": [i for i in self.order if self.buffers[i] in ms.active_source_buffers],
        }

    @staticmethod
    def _element_record(el: Element) -> dict[str, Any]:
        return {
            "buffered": el.buffered().to_json(), "readyState": int(el.ready_state), "networkState": el.network_state,
            "currentTime": json_number(float(el.current_time)), "duration": json_number(el.duration),
            "seekable": el.seekable().to_json(), "paused": el.paused, "seeking": el.seeking, "ended": el.ended,
            "videoWidth": el.video_width, "videoHeight": el.video_height, "error": el.error,
        }  # fmt: skip

    def _sb_record(self, sb: SourceBuffer) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            out["buffered"] = sb.buffered().to_json()
        except InvalidStateError:
            out["buffered"] = None
            out["bufferedException"] = "InvalidStateError"
        attributes = sb.attributes()
        out.update({k: json_number(v) if isinstance(v, float) else v for k, v in attributes.items()})
        return out


def run_script(script: Script, profile_name: str, *, latency: Fraction = DEFAULT_LATENCY,
               realtime: bool = False) -> dict[str, Any]:  # fmt: skip
    if profile_name not in PROFILES:
        raise UsageError(f"--profile: {profile_name!r} is not one of {', '.join(PROFILES)}")
    return Runner(script, PROFILES[profile_name], latency=latency, realtime=realtime).run()
