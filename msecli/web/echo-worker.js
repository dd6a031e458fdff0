// A second dedicated worker: says whether a message it got carried a MediaSourceHandle.
"use strict";
onmessage = (event) => {
  const handle = event.data && event.data.handle;
  const isHandle = typeof MediaSourceHandle !== "undefined" && handle instanceof MediaSourceHandle;
  postMessage({received: isHandle ? "MediaSourceHandle" : null});
};
