// The page side of `msecli serve`: receives the worker's MediaSourceHandle and sets it as srcObject (or,
// without worker MSE, plays a window MediaSource through an object URL), and shows what happens.
"use strict";

const video = document.getElementById("video");
const state = {via: null, sourceopen: false, done: false, error: null, sourceBuffers: {}, element: [], events: []};
window.msecliPlayer = state;

function show(what) {
  state.events.push(what);
  const log = document.getElementById("log");
  log.textContent += `${(performance.now() / 1000).toFixed(3)} s  ${what}\n`;
  log.scrollTop = log.scrollHeight;
}

function redraw() {
  state.element = rangesOf(video.buffered);
  const rows = Object.entries(state.sourceBuffers).map(([id, ranges]) => [`SourceBuffer ${id}`, ranges]);
  rows.push(["element", state.element]);
  document.getElementById("ranges").innerHTML = rows.map(([what, ranges]) =>
    `<tr><td>${what}</td><td>${ranges.map(([s, e]) => `[${s.toFixed(3)}, ${e.toFixed(3)})`).join(" ") || "—"}</td></tr>`).join("");
  document.getElementById("readyState").textContent = video.readyState;
  document.getElementById("currentTime").textContent = video.currentTime.toFixed(3);
}

function onMessage(message) {
  if (message.type === "handle") {
    video.srcObject = message.handle;
    show("main: srcObject = the worker's MediaSourceHandle");
  } else if (message.type === "event") {
    if (message.what === "ms:sourceopen") state.sourceopen = true;
    show(message.what);
  } else if (message.type === "status") {
    state.sourceBuffers = message.sourceBuffers;
  } else if (message.type === "done") {
    state.done = true;
  } else if (message.type === "error") {
    state.error = message.message;
    show("error: " + message.message);
  }
  redraw();
}

for (const type of ["loadedmetadata", "loadeddata", "canplay", "canplaythrough", "playing", "waiting", "seeking",
                    "seeked", "ended", "durationchange", "error", "emptied"]) {
  video.addEventListener(type, () => { show("element:" + type); redraw(); });
}
video.addEventListener("timeupdate", redraw);
video.addEventListener("progress", redraw);

if (MediaSource.canConstructInDedicatedWorker) {
  state.via = "worker";
  document.getElementById("via").textContent = "a dedicated worker (handle transferred)";
  const worker = new Worker("player-worker.js");
  worker.onmessage = (event) => onMessage(event.data);
} else {
  state.via = "window";
  document.getElementById("via").textContent = "the window (object URL)";
  const note = document.getElementById("note");
  note.hidden = false;
  note.textContent = "This browser cannot create a MediaSource in a dedicated worker " +
    "(MediaSource.canConstructInDedicatedWorker is false): playing through a window MediaSource instead.";
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  runPlayer(ms, onMessage).catch((error) => onMessage({type: "error", message: String(error)}));
}
video.play().catch(() => show("main: play() was refused until there is data or a gesture"));
