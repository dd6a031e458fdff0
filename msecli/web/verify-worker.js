// `msecli verify`, worker context: the MediaSource lives here; the page drives it by messages.
"use strict";
importScripts("mse-core.js");

let side = null;

onmessage = async (event) => {
  const {id, kind, payload} = event.data;
  let result = null;
  try {
    if (kind === "init") {
      side = new MseSide(payload.files, (message, transfer) => postMessage(message, transfer));
    } else if (kind === "attach") {
      const handle = side.ms.handle;
      postMessage({type: "attach", handle}, [handle]);
    } else if (kind === "op") {
      result = {ok: true, value: side.run(payload)};
    } else if (kind === "wait") {
      result = await side.waitUpdate(payload);
    } else if (kind === "probe") {
      result = side.probe();
    } else if (kind === "peek") {
      result = side.events.slice();
    } else if (kind === "record") {
      result = side.record();
    }
  } catch (error) {
    result = {ok: false, exception: exceptionName(error)};
  }
  postMessage({id, result});
};
