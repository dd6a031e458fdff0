"""Scenario scripts (JSON): steps run against a MediaSource attached to a simulated element; each
step records what a page would observe. The format and record shape are documented in README."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from msecli.errors import MsecliError, UsageError
from msecli.mse.errors import InvalidStateError
from msecli.mse.media_source import MediaSource
from msecli.mse.profiles import PROFILES, Profile
from msecli.mse.source_buffer import SourceBuffer
from msecli.sim.host import attached_window_media_source
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
        raise UsageError(f"{path}: a script is an object with a \"steps\" list")
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
        if step["op"] == "batch":
            _validate(step["steps"], base, f"{where} batch step", known)


class Runner:
    """Runs a script; both contexts share one loop until the worker issue lands (the output is final)."""

    def __init__(self, script: Script, profile: Profile) -> None:
        quota = script.data.get("quota")
        if quota is not None:  # [audio bytes, video bytes] per SourceBuffer
            profile = dataclasses.replace(profile, audio_quota=int(quota[0]), video_quota=int(quota[1]))
        self.script = script
        self.profile = profile
        self.buffers: dict[str, SourceBuffer] = {}
        self.order: list[str] = []
        self.element_events_seen = 0

    def run(self) -> dict[str, Any]:
        self.loop, self.element, self.host, self.ms = attached_window_media_source(
            self.profile, in_worker=self.script.context == "worker"
        )
        initial = self._record(None, None, True, None, None)
        steps = [self._step(i, step) for i, step in enumerate(self.script.steps)]
        return {"name": self.script.name, "context": self.script.context, "initial": initial, "steps": steps}

    def _step(self, index: int, step: dict[str, Any]) -> dict[str, Any]:
        ok, exception, value = True, None, None
        try:
            value = self._do(step)
        except (MsecliError, TypeError) as exc:
            if isinstance(exc, UsageError):
                raise
            ok, exception = False, getattr(exc, "name", "TypeError")
        waited_error = False
        if ok and step["op"] in ("append", "remove") and not step.get("noWait") and not step.get("abortSync"):
            waited_error = self._wait_update(step["sb"])
        self.loop.run_until_idle()
        return self._record(index, step["op"], ok and not waited_error, exception, value)

    def _wait_update(self, sb_id: str) -> bool:
        """Run tasks until the SourceBuffer's updateend; True if it fired error on the way."""
        start = len(self.host.events)
        self.loop.run_until_idle()
        fired = self.host.events[start:]
        return f"{sb_id}:error" in fired

    def _do(self, step: dict[str, Any]) -> Any:
        op = step["op"]
        sb = self.buffers.get(step.get("sb", ""))
        if op == "addSourceBuffer":
            buffer = self.ms.add_source_buffer(step["type"])
            self.buffers[step["id"]] = buffer
            self.host.names[id(buffer)] = step["id"]
            self.order.append(step["id"])
        elif op == "append":
            assert sb is not None
            sb.append_buffer(self._bytes(step))
            if step.get("abortSync"):
                sb.abort()
        elif op == "remove":
            assert sb is not None
            sb.remove(number(step["start"]), number(step["end"]))
        elif op == "abort":
            assert sb is not None
            sb.abort()
        elif op == "set":
            assert sb is not None
            for name, raw in step.items():
                if name == "timestampOffset":
                    sb.set_timestamp_offset(number(raw))
                elif name == "mode":
                    sb.set_mode(raw)
                elif name == "appendWindowStart":
                    sb.set_append_window_start(number(raw))
                elif name == "appendWindowEnd":
                    sb.set_append_window_end(number(raw))
        elif op == "duration":
            self.ms.set_duration(number(step["value"]))
        elif op == "endOfStream":
            self.ms.end_of_stream(step.get("error"))
        elif op == "changeType":
            assert sb is not None
            sb.change_type(step["type"])
        elif op == "removeSourceBuffer":
            assert sb is not None
            self.ms.remove_source_buffer(sb)
        elif op == "setLiveSeekableRange":
            self.ms.set_live_seekable_range(number(step["start"]), number(step["end"]))
        elif op == "clearLiveSeekableRange":
            self.ms.clear_live_seekable_range()
        elif op == "isTypeSupported":
            return MediaSource.is_type_supported(step["type"])
        elif op == "wait":
            self.loop.advance(Fraction(number(step["ms"])) / 1000)
        elif op == "play":
            return self._play(number(step["until"]))
        elif op == "seek":
            return self._seek(number(step["time"]))
        elif op == "batch":
            results = []
            for sub in step["steps"]:
                try:
                    results.append({"ok": True, "exception": None, "value": self._do(sub)})
                except (MsecliError, TypeError) as exc:
                    if isinstance(exc, UsageError):
                        raise
                    results.append({"ok": False, "exception": getattr(exc, "name", "TypeError"), "value": None})
            return results
        return None

    def _play(self, until: float) -> bool:
        """Play over buffered data from currentTime; stop at `until` or where the data stops."""
        target = from_idl_double(until)
        self.element.paused = False
        self.element.fire("play")
        span = self.element.buffered().range_containing(self.element.current_time)
        if span is None:
            self.element.fire("waiting")
            self.element.paused = True
            raise _Stalled()
        self.element.fire("playing")
        reach = min(target, span[1])
        self.loop.advance(Fraction(reach - self.element.current_time))
        self.element.current_time = Fraction(reach)
        self.element.paused = True
        self.element.fire("pause")
        if reach < target:
            raise _Stalled()
        return True

    def _seek(self, time: float) -> bool:
        target = from_idl_double(time)
        self.element.seeking = True
        self.element.fire("seeking")
        self.element.current_time = Fraction(target)
        if self.element.buffered().contains(self.element.current_time):
            self.element.seeking = False
            self.element.fire("seeked")
            self.element.media_source_changed()
            return True
        self.element.fire("waiting")
        raise _Stalled()

    def _bytes(self, step: dict[str, Any]) -> bytes:
        if "hex" in step:
            data = bytes.fromhex(step["hex"].replace(" ", ""))
        else:
            data = (self.script.base / step["file"]).read_bytes()
        if "range" in step:
            start, end = step["range"]
            data = data[slice(start, end)]
        return data

    def _record(self, index: int | None, op: str | None, ok: bool, exception: str | None, value: Any) -> dict[str, Any]:
        events, self.host.events = self.host.events, []
        element_events = self.element.events[self.element_events_seen :]
        self.element_events_seen = len(self.element.events)
        record: dict[str, Any] = {}
        if index is not None:
            record.update(step=index, op=op, ok=ok, exception=exception, value=value)
        record["events"] = events
        record["elementEvents"] = [e for e in element_events if e not in ("timeupdate", "progress", "suspend", "stalled")]
        record["sourceBuffers"] = {sb_id: self._sb_record(self.buffers[sb_id]) for sb_id in self.order}
        ms = self.ms
        record["mediaSource"] = {
            "readyState": str(ms.ready_state),
            "duration": json_number(ms.duration),
            "sourceBuffers": [i for i in self.order if self.buffers[i] in ms.source_buffers],
            "activeSourceBuffers": [i for i in self.order if self.buffers[i] in ms.active_source_buffers],
        }
        el = self.element
        record["element"] = {
            "buffered": el.buffered().to_json(), "readyState": int(el.ready_state), "networkState": el.network_state,
            "currentTime": json_number(float(el.current_time)), "duration": json_number(el.duration),
            "seekable": el.seekable().to_json(), "paused": el.paused, "seeking": el.seeking, "ended": el.ended,
            "videoWidth": el.video_width, "videoHeight": el.video_height, "error": el.error,
        }  # fmt: skip
        return record

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


class _Stalled(MsecliError):
    name = "Stalled"


def run_script(script: Script, profile_name: str) -> dict[str, Any]:
    if profile_name not in PROFILES:
        raise UsageError(f"--profile: {profile_name!r} is not one of {', '.join(PROFILES)}")
    return Runner(script, PROFILES[profile_name]).run()

