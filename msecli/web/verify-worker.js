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
    } else {
      result = await side.answer(kind, payload);
    }
  } catch (error) {
    result = {ok: false, exception: exceptionName(error)};
  }
  postMessage({id, result});
};
