// The MediaSource side of `msecli verify`: runs scenario-script ops on a real MediaSource and records what
// `msecli simulate --script --json` records (events, sourceBuffers, mediaSource). Loaded in a dedicated
// worker (importScripts) or in the window, wherever the MediaSource lives.
"use strict";

const UNREPORTED = ["timeupdate", "progress", "suspend", "stalled"];

function num(value) {
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (value === "NaN") return NaN;
  return value;
}

function jsonNumber(value) {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return Math.round(value * 1e6) / 1e6;
}

function rangesJson(ranges) {
  const out = [];
  for (let i = 0; i < ranges.length; i++) out.push([jsonNumber(ranges.start(i)), jsonNumber(ranges.end(i))]);
  return out;
}

function exceptionName(error) {
  return error && error.name ? error.name : "TypeError";
}

class MseSide {
  constructor(files, post) {
    this.files = files; // name -> ArrayBuffer, fetched before the script starts
    this.post = post; // posts a message to the main thread (worker) or to the window itself
    this.ms = new MediaSource();
    this.buffers = {};
    this.order = [];
    this.events = [];
    for (const type of ["sourceopen", "sourceended", "sourceclose"]) {
      this.ms.addEventListener(type, () => this.events.push("ms:" + type));
    }
    for (const [list, name] of [[this.ms.sourceBuffers, "ms.sourceBuffers"],
                                [this.ms.activeSourceBuffers, "ms.activeSourceBuffers"]]) {
      for (const type of ["addsourcebuffer", "removesourcebuffer"]) {
        list.addEventListener(type, () => this.events.push(name + ":" + type));
      }
    }
  }

  bytes(step) {
    let data;
    if (step.hex !== undefined) {
      const clean = step.hex.replace(/ /g, "");
      data = new Uint8Array(clean.length / 2);
      for (let i = 0; i < data.length; i++) data[i] = parseInt(clean.substr(2 * i, 2), 16);
    } else {
      data = new Uint8Array(this.files[step.file]);
    }
    if (step.range) {
      const [start, end] = step.range;
      data = data.slice(start, end === null ? undefined : end);
    }
    return data;
  }

  // One op, synchronously (what a page does in one task). Returns the value; throws what the page would see.
  run(step) {
    const ms = this.ms;
    const sb = this.buffers[step.sb];
    switch (step.op) {
      case "addSourceBuffer": {
        const buffer = ms.addSourceBuffer(step.type);
        this.buffers[step.id] = buffer;
        this.order.push(step.id);
        for (const type of ["updatestart", "update", "updateend", "error", "abort"]) {
          buffer.addEventListener(type, () => this.events.push(step.id + ":" + type));
        }
        return null;
      }
      case "append":
        this.eventsBeforeUpdate = this.events.length;
        sb.appendBuffer(this.bytes(step));
        if (step.abortSync) sb.abort();
        return null;
      case "remove":
        this.eventsBeforeUpdate = this.events.length;
        sb.remove(num(step.start), num(step.end));
        return null;
      case "abort": sb.abort(); return null;
      case "set":
        for (const [name, value] of Object.entries(step)) {
          if (name === "mode") sb.mode = value;
          else if (["timestampOffset", "appendWindowStart", "appendWindowEnd"].includes(name)) sb[name] = num(value);
        }
        return null;
      case "duration": ms.duration = num(step.value); return null;
      case "endOfStream":
        if (step.explicitNull) ms.endOfStream(null);
        else if (step.error === undefined || step.error === null) ms.endOfStream();
        else ms.endOfStream(step.error);
        return null;
      case "changeType": sb.changeType(step.type); return null;
      case "removeSourceBuffer": ms.removeSourceBuffer(sb); return null;
      case "setLiveSeekableRange": ms.setLiveSeekableRange(num(step.start), num(step.end)); return null;
      case "clearLiveSeekableRange": ms.clearLiveSeekableRange(); return null;
      case "isTypeSupported": return MediaSource.isTypeSupported(step.type);
      case "batch":
        return step.steps.map((sub) => {
          try {
            return {ok: true, exception: null, value: this.run(sub)};
          } catch (error) {
            return {ok: false, exception: exceptionName(error), value: null};
          }
        });
      case "readHandle": {
        const first = ms.handle, second = ms.handle;
        const isHandle = typeof MediaSourceHandle !== "undefined" && first instanceof MediaSourceHandle;
        return {value: isHandle ? "MediaSourceHandle" : null,
                sameObject: first === second};
      }
      case "postHandle": {
        const handle = ms.handle;
        this.post({type: "handle", handle}, step.transfer && handle !== undefined ? [handle] : []);
        return null;
      }
      case "track": {
        const lists = {audio: "audioTracks", video: "videoTracks", text: "textTracks"};
        const track = sb[lists[step.kind]][step.index || 0];
        for (const name of ["enabled", "selected", "mode"]) if (name in step) track[name] = step[name];
        return null;
      }
      default:
        throw new Error("unsupported op " + step.op);
    }
  }

  // Waits for updateend (or error) of the op's SourceBuffer; true when `error` fired. In a worker the update may
  // already be over when this request arrives (a fast append error): then the events since the op tell, once the
  // error and updateend tasks the append error algorithm queued have run.
  async waitUpdate(id) {
    const sb = this.buffers[id];
    if (!sb || !sb.updating) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      return this.events.slice(this.eventsBeforeUpdate || 0).includes(id + ":error");
    }
    return await new Promise((resolve) => {
      let errored = false;
      const onError = () => { errored = true; };
      sb.addEventListener("error", onError);
      sb.addEventListener("updateend", () => { sb.removeEventListener("error", onError); resolve(errored); }, {once: true});
    });
  }

  // One request from the page: an op, a wait for updateend, a probe, a peek at the events, a record.
  async answer(kind, payload) {
    try {
      if (kind === "op") return {ok: true, value: this.run(payload)};
      if (kind === "wait") return await this.waitUpdate(payload);
      if (kind === "probe") return this.probe();
      if (kind === "peek") return this.events.slice();
      if (kind === "record") return this.record();
    } catch (error) {
      return {ok: false, exception: exceptionName(error)};
    }
    return null;
  }

  probe() {
    return {events: this.events.length, updating: Object.values(this.buffers).some((b) => { try { return b.updating; } catch (e) { return false; } })};
  }

  record() {
    const events = this.events;
    this.events = [];
    const sourceBuffers = {};
    for (const id of this.order) {
      const sb = this.buffers[id];
      const out = {};
      try {
        out.buffered = rangesJson(sb.buffered);
      } catch (error) {
        out.buffered = null;
        out.bufferedException = exceptionName(error);
      }
      Object.assign(out, {updating: sb.updating, timestampOffset: jsonNumber(sb.timestampOffset), mode: sb.mode,
                          appendWindowStart: jsonNumber(sb.appendWindowStart),
                          appendWindowEnd: jsonNumber(sb.appendWindowEnd)});
      sourceBuffers[id] = out;
    }
    const contains = (list, sb) => Array.prototype.includes.call(list, sb);
    const mediaSource = {
      readyState: this.ms.readyState, duration: jsonNumber(this.ms.duration),
      sourceBuffers: this.order.filter((id) => contains(this.ms.sourceBuffers, this.buffers[id])),
      activeSourceBuffers: this.order.filter((id) => contains(this.ms.activeSourceBuffers, this.buffers[id])),
    };
    return {events, sourceBuffers, mediaSource};
  }
}
