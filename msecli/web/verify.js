// `msecli verify`: runs a scenario script against the real MediaSource and media element and records each
// step exactly as `msecli simulate --script --json` does. Python drives it: msecli.init(script, context),
// then msecli.step(i) for each step.
"use strict";

const ELEMENT_EVENTS = ["loadstart", "progress", "suspend", "abort", "error", "emptied", "stalled",
  "loadedmetadata", "loadeddata", "canplay", "canplaythrough", "playing", "waiting", "seeking", "seeked",
  "ended", "durationchange", "timeupdate", "play", "pause", "ratechange", "resize", "volumechange"];

class NotOk extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const msecli = {
  script: null, context: null, worker: null, side: null, files: {}, element: null, second: null,
  elementEvents: [], secondEvents: [], received: [], mainHandle: undefined, worker2: null, worker2Received: [],
  terminated: false, rpc: 0, pending: new Map(),

  watch(element, into) {
    for (const type of ELEMENT_EVENTS) {
      element.addEventListener(type, () => { if (!UNREPORTED.includes(type)) into.push(type); });
    }
  },

  onMainMessage(message, sourceIsWorker) {
    if (message.type === "attach") {
      this.mainHandle = message.handle;
      this.element.srcObject = message.handle;
    } else if (message.type === "handle") {
      this.received.push(message);
      if (message.handle !== undefined) this.mainHandle = message.handle;
    }
  },

  call(kind, payload) {
    if (this.context === "window") return this.side.answer(kind, payload);
    return new Promise((resolve) => {
      const id = ++this.rpc;
      this.pending.set(id, resolve);
      this.worker.postMessage({id, kind, payload});
    });
  },

  async fetchFiles(steps) {
    for (const step of steps) {
      if (step.file !== undefined && !(step.file in this.files)) {
        const response = await fetch("/media/" + step.file.split("/").map(encodeURIComponent).join("/"));
        if (!response.ok) return {file: step.file, status: response.status};
        this.files[step.file] = await response.arrayBuffer();
      }
      const failed = step.steps ? await this.fetchFiles(step.steps) : null;
      if (failed) return failed;
    }
    return null;
  },

  async init(script, context) {
    this.script = script;
    this.context = context;
    const failed = await this.fetchFiles(script.steps);
    if (failed) return {fetchFailed: failed};
    this.element = document.createElement("video");  // not muted: setting muted fires volumechange
    document.body.appendChild(this.element);
    this.watch(this.element, this.elementEvents);
    if (context === "worker") {
      this.worker = new Worker("verify-worker.js");
      this.worker.onmessage = (event) => {
        const data = event.data;
        if (data.id !== undefined && this.pending.has(data.id)) {
          const resolve = this.pending.get(data.id);
          this.pending.delete(data.id);
          resolve(data.result);
        } else {
          this.onMainMessage(data);
        }
      };
      await this.call("init", {files: this.files});
    } else {
      this.side = new MseSide(this.files, (message, transfer) => window.postMessage(message, "*", transfer));
      window.addEventListener("message", (event) => this.onMainMessage(event.data));
    }
    if (!script.deferAttach) await this.attach();
    await this.settle();
    return await this.record(null);
  },

  async attach() {
    if (this.context === "worker") {
      const result = await this.call("attach");
      if (result && result.ok === false) throw Object.assign(new Error(), {name: result.exception});
    } else {
      this.objectUrl = URL.createObjectURL(this.side.ms);
      this.element.src = this.objectUrl;
    }
  },

  // Waits until nothing has changed for three looks in a row, 40 ms apart: no SourceBuffer updating, no new
  // event on either side, the same readyState (Chromium's pipeline moves readyState a little after an append).
  // At HAVE_METADATA with media buffered at the position, for eight: the renderers' preroll may still be under way,
  // and on a loaded machine it can take longer than three looks.
  async settle() {
    let last = null, calm = 0;
    for (let round = 0; round < 75 && calm < (this.mayPreroll() ? 8 : 3); round++) {
      await sleep(round === 0 ? 10 : 40);
      const probe = this.terminated ? {events: 0, updating: false} : await this.call("probe");
      const now = JSON.stringify([probe, this.elementEvents.length, this.secondEvents.length, this.element.readyState,
                                  this.element.networkState, this.received.length, this.worker2Received.length]);
      calm = now === last && !probe.updating ? calm + 1 : 0;
      last = now;
    }
  },

  mayPreroll() {
    const element = this.element, ranges = element.buffered, time = element.currentTime;
    if (element.readyState !== HTMLMediaElement.HAVE_METADATA || element.error) return false;
    for (let i = 0; i < ranges.length; i++) if (ranges.start(i) <= time && time < ranges.end(i)) return true;
    return false;
  },

  async mse(step) {
    if (this.terminated) throw Object.assign(new Error(), {name: "WorkerTerminated"});
    const result = await this.call("op", step);
    if (!result.ok) throw Object.assign(new Error(), {name: result.exception});
    return result.value;
  },

  describe(handle) {
    return typeof MediaSourceHandle !== "undefined" && handle instanceof MediaSourceHandle ? "MediaSourceHandle" : null;
  },

  async dispatch(step, extra) {
    const element = this.element;
    switch (step.op) {
      case "wait": await sleep(num(step.ms)); return null;
      case "snapshot": return null;
      case "play": return await this.play(num(step.until), step.timeout);
      case "seek": return await this.seek(num(step.time), step.timeout);
      case "attach": {
        if (this.terminated) throw Object.assign(new Error(), {name: "WorkerTerminated"});
        await this.attach();
        return async () => ({sourceopen: (await this.call("peek")).includes("ms:sourceopen")});
      }
      case "readHandle": {
        const result = await this.mse(step);
        extra.sameObject = result.sameObject;
        return result.value;
      }
      case "postHandle": {
        const before = this.received.length;
        await this.mse(step);
        return () => {
          const got = this.received.slice(before);
          return {receivedOnMain: got.length > 0, received: got.length ? this.describe(got[got.length - 1].handle) : null};
        };
      }
      case "element": {
        const pairs = Object.entries(step.set || {}).concat(step.seq || []);
        for (const [name, value] of pairs) element[name] = num(value);
        if (step.call === "play") element.play().catch(() => {});
        else if (step.call === "pause") element.pause();
        else if (step.call === "load") element.load();
        return null;
      }
      case "playbackQuality": {
        const q = element.getVideoPlaybackQuality();
        return {totalVideoFrames: q.totalVideoFrames, droppedVideoFrames: q.droppedVideoFrames,
                corruptedVideoFrames: q.corruptedVideoFrames};
      }
      case "attachSecond": {
        this.second = document.createElement("video");
        document.body.appendChild(this.second);
        this.watch(this.second, this.secondEvents);
        if (this.context === "worker") this.second.srcObject = this.mainHandle;
        else this.second.src = this.objectUrl;
        return null;
      }
      case "forwardHandle": {
        if (!this.worker2) {
          this.worker2 = new Worker("echo-worker.js");
          this.worker2.onmessage = (event) => this.worker2Received.push(event.data);
        }
        const before = this.worker2Received.length;
        const handle = this.mainHandle;
        this.worker2.postMessage({handle}, step.transfer && handle !== undefined ? [handle] : []);
        return () => {
          const got = this.worker2Received.slice(before);
          return {receivedByWorker: got.length > 0, received: got.length ? got[got.length - 1].received : null};
        };
      }
      case "detach":
        if (this.context === "worker") element.srcObject = null;
        else { element.removeAttribute("src"); element.load(); }
        return null;
      case "terminateWorker":
        if (!this.worker) return "noWorker";
        this.worker.terminate();
        this.terminated = true;
        return "terminated";
      default:
        return await this.mse(step);
    }
  },

  async play(until, timeout) {
    const element = this.element;
    element.play().catch(() => {});
    const limit = performance.now() + (timeout === undefined ? 20000 : num(timeout) * 1000);
    let starvedSince = null;
    while (performance.now() < limit) {
      if (element.currentTime >= until) break;
      if (element.ended || element.error) break;
      if (element.readyState < 3) {
        starvedSince = starvedSince === null ? performance.now() : starvedSince;
        if (performance.now() - starvedSince > 1500) break;
      } else {
        starvedSince = null;
      }
      await sleep(5);
    }
    element.pause();
    if (element.currentTime < until) throw new NotOk();
    return true;
  },

  async seek(time, timeout) {
    const element = this.element;
    const seeked = new Promise((resolve) => element.addEventListener("seeked", resolve, {once: true}));
    element.currentTime = time;
    const limit = timeout === undefined ? 5000 : num(timeout) * 1000;
    const done = await Promise.race([seeked.then(() => true), sleep(limit).then(() => false)]);
    if (!done) throw new NotOk();
    return true;
  },

  async step(index) {
    const step = this.script.steps[index];
    let ok = true, exception = null, value = null;
    const extra = {};
    try {
      value = await this.dispatch(step, extra);
    } catch (error) {
      ok = false;
      exception = error instanceof NotOk ? null : exceptionName(error);
    }
    let errored = false;
    if (ok && (step.op === "append" || step.op === "remove") && !step.noWait && !step.abortSync && !this.terminated) {
      errored = await this.call("wait", step.sb);
    }
    // isTypeSupported changes nothing and queues nothing, and the step before it has settled: nothing to wait for.
    if (step.op !== "isTypeSupported") await this.settle();
    if (typeof value === "function") value = await value();
    return await this.record(index, step.op, ok && !errored, exception, value, extra);
  },

  elementRecord(element) {
    return {
      buffered: rangesJson(element.buffered), readyState: element.readyState, networkState: element.networkState,
      currentTime: jsonNumber(element.currentTime), duration: jsonNumber(element.duration),
      seekable: rangesJson(element.seekable), paused: element.paused, seeking: element.seeking, ended: element.ended,
      videoWidth: element.videoWidth, videoHeight: element.videoHeight,
      error: element.error ? {code: element.error.code, message: element.error.message} : null,
    };
  },

  async record(index, op, ok, exception, value, extra) {
    const record = {};
    if (index !== null) Object.assign(record, {step: index, op, ok, exception, value}, extra || {});
    const side = this.terminated ? null : await this.call("record");
    record.events = side ? side.events : [];
    record.elementEvents = this.elementEvents.splice(0);
    record.sourceBuffers = side ? side.sourceBuffers : null;
    record.mediaSource = side ? side.mediaSource
      : {readyState: null, duration: null, sourceBuffers: null, activeSourceBuffers: null};
    record.element = this.elementRecord(this.element);
    if (this.second) {
      const second = this.elementRecord(this.second);
      record.secondElement = {readyState: second.readyState, networkState: second.networkState, error: second.error};
      record.secondElementEvents = this.secondEvents.splice(0);
    }
    return record;
  },
};
window.msecli = msecli;
