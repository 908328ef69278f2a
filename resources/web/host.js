// Host page for the RAVATAR stream. The app drives it with window.ravatarHost.* (runJavaScript)
// and listens for console lines that start with BRIDGE_PREFIX (QWebEnginePage's console hook).
(function () {
  "use strict";
  var BRIDGE_PREFIX = "RAVATAR_BRIDGE ";
  var stage = document.getElementById("stage");
  var placeholder = document.getElementById("placeholder");
  var placeholderText = document.getElementById("placeholder-text");
  var frame = null;
  var expectedOrigin = null;

  function tell(kind, payload) {
    var message = { kind: kind };
    for (var key in payload) { message[key] = payload[key]; }
    console.info(BRIDGE_PREFIX + JSON.stringify(message));
  }

  // Only the stream's own origin may talk to the app, and only with strings.
  window.addEventListener("message", function (ev) {
    if (!frame || ev.source !== frame.contentWindow) { return; }
    if (expectedOrigin !== null && ev.origin !== expectedOrigin) { return; }
    if (typeof ev.data !== "string") { return; }
    tell("message", { data: ev.data, origin: ev.origin });
  });

  function removeFrame() {
    if (frame) { frame.remove(); frame = null; }
    expectedOrigin = null;
  }

  window.ravatarHost = {
    load: function (url, width, height, allowMicrophone) {
      removeFrame();
      expectedOrigin = new URL(url).origin;
      frame = document.createElement("iframe");
      frame.title = "Avatar stream";
      frame.style.setProperty("--ar", String(width / height));
      // Without "microphone" here the page cannot even ask; the app decides the rest.
      frame.allow = allowMicrophone ? "autoplay; fullscreen; microphone" : "autoplay; fullscreen";
      frame.addEventListener("load", function () { tell("frame-loaded", {}); });
      frame.src = url;
      placeholder.classList.add("hidden");
      stage.appendChild(frame);
    },
    clear: function (text) {
      removeFrame();
      placeholderText.textContent = text || "No live session";
      placeholder.classList.remove("hidden");
    }
  };
  tell("host-ready", {});
})();
