// `msecli serve`'s player: adds one SourceBuffer per manifest track and appends its init segment and media
// segments in order, then calls endOfStream(). Runs in a dedicated worker (the MediaSource's handle goes to
// the page) or, where canConstructInDedicatedWorker is false, in the window.
"use strict";

function rangesOf(ranges) {
  const out = [];
  for (let i = 0; i < ranges.length; i++) out.push([ranges.start(i), ranges.end(i)]);
  return out;
}

async function runPlayer(ms, report) {
  const events = [];
  const note = (what) => { events.push(what); report({type: "event", what, time: performance.now()}); };
  const manifest = await (await fetch("/media/manifest.json")).json();
  if (ms.readyState !== "open") await new Promise((resolve) => ms.addEventListener("sourceopen", resolve, {once: true}));
  note("ms:sourceopen");
  const buffers = manifest.tracks.map((track) => {
    const sb = ms.addSourceBuffer(track.mimeType);
    for (const type of ["updateend", "error", "abort"]) sb.addEventListener(type, () => note(`${track.id}:${type}`));
    return [track, sb];
  });
  const status = () => report({type: "status", sourceBuffers: Object.fromEntries(
    buffers.map(([track, sb]) => [track.id, rangesOf(sb.buffered)]))});
  await Promise.all(buffers.map(async ([track, sb]) => {
    for (const file of [track.init, ...track.segments.map((s) => s.file)]) {
      const data = await (await fetch("/media/" + file)).arrayBuffer();
      sb.appendBuffer(data);
      await new Promise((resolve, reject) => {
        sb.addEventListener("updateend", resolve, {once: true});
        sb.addEventListener("error", () => reject(new Error(`append of ${file} failed`)), {once: true});
      });
      status();
    }
  }));
  ms.endOfStream();
  note("ms:endOfStream");
  status();
  report({type: "done"});
}

if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  const ms = new MediaSource();
  const handle = ms.handle;
  postMessage({type: "handle", handle}, [handle]);
  runPlayer(ms, (message) => postMessage(message)).catch((error) => postMessage({type: "error", message: String(error)}));
}
