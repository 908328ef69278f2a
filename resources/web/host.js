// Host page for the RAVATAR stream. The app drives it with window.ravatarHost.* (runJavaScript)
// and listens for console lines that start with BRIDGE_PREFIX (QWebEnginePage's console hook).
// The stream frame is sandboxed (scripts and its own origin's cookies, nothing else: no popups,
// no forms, no navigating this page) and only its own origin is heard.
(function () {
  "use strict";
  var BRIDGE_PREFIX = "RAVATAR_BRIDGE ";
  var MAX_STRING = 16384;           // the stream page's strings are short; stats ~1 kB
  var SANDBOX = "allow-scripts allow-same-origin";
  // The microphone handshake (PROTOCOL.md section 3): commands in, reports out.
  var MIC_COMMANDS = {"rvo-ps-mic-mute": true, "rvo-ps-mic-unmute": true};
  var MIC_REPORTS = {"ravatar-ps-mic-ready": true, "ravatar-ps-mic-state": true};
  var stage = document.getElementById("stage");
  var placeholder = document.getElementById("placeholder");
  var placeholderText = document.getElementById("placeholder-text");
  // The frame is shown at the stream's own size whenever the view has room for it (never
  // scaled up), else scaled down to fit. QtWebEngine's software compositor copies a video frame
  // shown at its own size but scales any other size on the CPU: measured on a 1280x720 stream
  // (bench/bench_webview_scaling.py), 13 % of a core at 1:1, 58 % four pixels smaller, 84 %
  // scaled up to 1600x900. Up to NEAR_FIT too big, the edges are cropped instead of scaling.
  var NEAR_FIT = 0.99;
  var frame = null;
  var streamSize = null;            // [width, height] in device pixels
  var expectedOrigin = null;
  var micWish = null;               // the last microphone command, posted again on every load
  // The avatar's loudness in the frame's player (resources/stream_stats.js), posted again on
  // every load.
  var AUDIO_PREFIX = "ravatar-audio ";
  var avatarGain = 1;

  function tell(kind, payload) {
    var message = { kind: kind };
    for (var key in payload) { message[key] = payload[key]; }
    console.info(BRIDGE_PREFIX + JSON.stringify(message));
  }

  function shortText(value, limit) {
    return typeof value === "string" ? value.slice(0, limit) : null;
  }

  function flag(value) {
    return typeof value === "boolean" ? value : null;
  }

  // A microphone report rebuilt from the fields the protocol names, each checked and bounded;
  // anything else the object carries stays behind.
  function micReport(data) {
    if (!data || typeof data !== "object" || Array.isArray(data) ||
        typeof data.name !== "string" || !MIC_REPORTS.hasOwnProperty(data.name)) {
      return null;
    }
    var requested = data.requested === "mute" || data.requested === "unmute" ?
      data.requested : null;
    return {
      name: data.name,
      reason: shortText(data.reason, 64),
      requested: requested,
      applied: flag(data.applied),
      hasMicTrack: flag(data.hasMicTrack),
      enabled: flag(data.enabled),
      muted: flag(data.muted),
      readyState: shortText(data.readyState, 16),
      label: shortText(data.label, 200),
      timestamp: typeof data.timestamp === "number" && isFinite(data.timestamp) ?
        data.timestamp : null
    };
  }

  // Only the stream's own frame and origin may talk to the app: strings, and microphone reports.
  window.addEventListener("message", function (ev) {
    if (!frame || ev.source !== frame.contentWindow) { return; }
    if (expectedOrigin === null || ev.origin !== expectedOrigin) { return; }
    if (typeof ev.data === "string") {
      if (ev.data.length <= MAX_STRING) { tell("message", { data: ev.data, origin: ev.origin }); }
      return;
    }
    var report = micReport(ev.data);
    if (report) { tell("mic", { report: report, origin: ev.origin }); }
  });

  function removeFrame() {
    if (frame) { frame.remove(); frame = null; }
    streamSize = null;
    expectedOrigin = null;
    micWish = null;
  }

  // Sized in CSS pixels so that 1:1 means one stream pixel per device pixel; centred by the
  // stage, which crops an overflow evenly on both sides.
  function layout() {
    if (!frame || !streamSize) { return; }
    var ratio = window.devicePixelRatio || 1;
    var width = streamSize[0] / ratio;
    var height = streamSize[1] / ratio;
    var scale = Math.min(1, window.innerWidth / width, window.innerHeight / height);
    if (scale >= NEAR_FIT) { scale = 1; }
    frame.style.width = (width * scale) + "px";
    frame.style.height = (height * scale) + "px";
  }
  window.addEventListener("resize", layout);

  function postMicWish() {
    if (frame && frame.contentWindow && micWish !== null) {
      frame.contentWindow.postMessage({ type: micWish, timestamp: Date.now() }, expectedOrigin);
    }
  }

  function postAvatarGain() {
    if (frame && frame.contentWindow) {
      frame.contentWindow.postMessage(AUDIO_PREFIX + JSON.stringify({ gain: avatarGain }),
                                      expectedOrigin);
    }
  }

  window.ravatarHost = {
    load: function (url, width, height, allowMicrophone) {
      removeFrame();
      expectedOrigin = new URL(url).origin;
      frame = document.createElement("iframe");
      frame.title = "Avatar stream";
      streamSize = [width, height];
      layout();
      frame.setAttribute("sandbox", SANDBOX);
      // Without "microphone" here the page cannot even ask; it is granted to the frame's own
      // origin only, and the app decides the rest.
      frame.allow = allowMicrophone ? "autoplay; fullscreen; microphone" : "autoplay; fullscreen";
      // With the microphone, the page starts muted: told the moment its document has loaded,
      // before it can have a microphone track, and again after every reload (the page keeps
      // the last command for every new track).
      micWish = allowMicrophone ? "rvo-ps-mic-mute" : null;
      frame.addEventListener("load", function () {
        postMicWish();
        postAvatarGain();
        tell("frame-loaded", {});
      });
      frame.src = url;
      placeholder.classList.add("hidden");
      stage.appendChild(frame);
    },
    clear: function (text) {
      removeFrame();
      placeholderText.textContent = text || "No live session";
      placeholder.classList.remove("hidden");
    },
    // {type, timestamp} into the stream frame, addressed to its origin only.
    micCommand: function (type) {
      if (!frame || !MIC_COMMANDS.hasOwnProperty(type)) { return false; }
      micWish = type;
      postMicWish();
      return true;
    },
    // The avatar's loudness, 0..1 (0 while muted or paused for the user).
    avatarGain: function (gain) {
      if (typeof gain !== "number" || !isFinite(gain)) { return false; }
      avatarGain = Math.max(0, Math.min(1, gain));
      postAvatarGain();
      return true;
    }
  };
  tell("host-ready", {});
})();
