// RAVATAR simulator stream page: the avatar as a WebRTC stream from the simulator (when it offers
// one), else a stylised avatar drawn on a canvas; both follow the simulator's events. Tells the
// parent window "ravatar-session-start" / "ravatar-session-close".
(function () {
  "use strict";

  var cfg = JSON.parse(document.body.getAttribute("data-config"));
  var canvas = document.getElementById("avatar");
  var video = document.getElementById("video");
  var chipEl = document.getElementById("chip");
  var captionEl = document.getElementById("caption");
  var ctx = canvas.getContext("2d");
  canvas.width = cfg.width;
  canvas.height = cfg.height;

  var token = new URLSearchParams(window.location.search).get("token") || "";
  var eventsUrl = (window.location.protocol === "https:" ? "wss:" : "ws:") + "//" +
    window.location.host + "/stream/" + encodeURIComponent(cfg.licenseId) +
    "/events?token=" + encodeURIComponent(token);

  var mode = "connecting";      // connecting | idle | listening | thinking | speaking | ended
  var caption = "";
  var speakStart = 0;
  var speakUntil = 0;
  var nextBlink = 0;
  var closed = false;
  var failures = 0;
  var RETRY_LIMIT = 4;
  var streaming = false;        // the WebRTC video is showing (the canvas is hidden)
  var pc = null;
  var ws = null;
  var CONNECT_TIMEOUT_MS = 15000;

  function tell(message) {
    try { window.parent.postMessage(message, "*"); } catch (e) { /* no parent */ }
    if (window.console) { console.log("stream page: " + message); }
  }

  function now() { return performance.now() / 1000; }

  // A reply to speech starts with ">transcript" and a blank line: those are the user's words,
  // so the avatar captions only what follows (as its voice says only that).
  function ownWords(text) {
    if (text.charAt(0) !== ">") { return text; }
    var cut = text.indexOf("\n\n");
    return cut < 0 ? "" : text.slice(cut + 2).replace(/^\s+/, "");
  }

  // --- drawing -------------------------------------------------------------------------------
  function roundRect(x, y, w, h, r) {
    ctx.beginPath();
    ctx.moveTo(x + r, y);
    ctx.arcTo(x + w, y, x + w, y + h, r);
    ctx.arcTo(x + w, y + h, x, y + h, r);
    ctx.arcTo(x, y + h, x, y, r);
    ctx.arcTo(x, y, x + w, y, r);
    ctx.closePath();
  }

  function wrap(text, maxWidth) {
    var words = text.split(/\s+/), lines = [], line = "";
    for (var i = 0; i < words.length; i++) {
      var trial = line ? line + " " + words[i] : words[i];
      if (ctx.measureText(trial).width > maxWidth && line) { lines.push(line); line = words[i]; }
      else { line = trial; }
    }
    if (line) { lines.push(line); }
    return lines;
  }

  function draw() {
    var t = now();
    var w = canvas.width, h = canvas.height, s = Math.min(w, h);
    var speaking = mode === "speaking" && t < speakUntil;
    if (mode === "speaking" && !speaking) { mode = "idle"; }

    var bg = ctx.createLinearGradient(0, 0, 0, h);
    bg.addColorStop(0, "#1b2230");
    bg.addColorStop(1, "#0b0e14");
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, w, h);

    var cx = w / 2, cy = h * 0.45 + Math.sin(t * 1.3) * s * 0.006;  // a gentle idle sway
    var r = s * 0.27;

    if (mode === "listening") {  // pulsing rings: "I hear you"
      for (var k = 0; k < 3; k++) {
        var phase = (t * 0.8 + k / 3) % 1;
        ctx.strokeStyle = "rgba(120, 200, 255," + (0.45 * (1 - phase)) + ")";
        ctx.lineWidth = s * 0.008;
        ctx.beginPath();
        ctx.arc(cx, cy, r * (1.05 + phase * 0.35), 0, Math.PI * 2);
        ctx.stroke();
      }
    }

    ctx.fillStyle = "#2b3444";                                   // shoulders
    ctx.beginPath();
    ctx.ellipse(cx, cy + r * 1.75, r * 1.35, r * 0.85, 0, Math.PI, 0);
    ctx.fill();

    ctx.fillStyle = cfg.color;                                   // head
    ctx.beginPath();
    ctx.arc(cx, cy, r, 0, Math.PI * 2);
    ctx.fill();

    ctx.fillStyle = "rgba(255, 120, 140, 0.28)";                 // cheeks
    [cx - r * 0.55, cx + r * 0.55].forEach(function (x) {
      ctx.beginPath();
      ctx.ellipse(x, cy + r * 0.2, r * 0.14, r * 0.09, 0, 0, Math.PI * 2);
      ctx.fill();
    });

    if (t > nextBlink + 0.14) { nextBlink = t + 2.5 + Math.random() * 3; }
    var blinking = t > nextBlink && t < nextBlink + 0.14;
    var eyeY = cy - r * 0.18, eyeDx = r * 0.36, eyeR = r * 0.11;
    var look = mode === "thinking" ? -eyeR * 0.4 : 0;
    ctx.fillStyle = "#fff";
    [cx - eyeDx, cx + eyeDx].forEach(function (ex) {             // eyes
      ctx.beginPath();
      if (blinking) { ctx.ellipse(ex, eyeY, eyeR, eyeR * 0.12, 0, 0, Math.PI * 2); }
      else { ctx.arc(ex, eyeY, eyeR, 0, Math.PI * 2); }
      ctx.fill();
      if (!blinking) {
        ctx.fillStyle = "#1b2230";
        ctx.beginPath();
        ctx.arc(ex, eyeY + look, eyeR * 0.45, 0, Math.PI * 2);
        ctx.fill();
        ctx.fillStyle = "#fff";
      }
    });

    var brow = mode === "listening" ? r * 0.06 : 0;              // eyebrows rise to listen
    ctx.strokeStyle = "rgba(20, 26, 36, 0.7)";
    ctx.lineWidth = s * 0.01;
    ctx.lineCap = "round";
    [cx - eyeDx, cx + eyeDx].forEach(function (ex) {
      ctx.beginPath();
      ctx.moveTo(ex - eyeR, eyeY - eyeR * 1.9 - brow);
      ctx.quadraticCurveTo(ex, eyeY - eyeR * 2.4 - brow, ex + eyeR, eyeY - eyeR * 1.9 - brow);
      ctx.stroke();
    });

    var mouthY = cy + r * 0.38, mouthW = r * 0.42;               // mouth
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#3a1020";
    ctx.lineWidth = s * 0.012;
    ctx.lineCap = "round";
    if (speaking) {
      var open = (0.25 + 0.75 * Math.abs(Math.sin(t * 11) * Math.sin(t * 3.7 + 1))) * r * 0.15;
      ctx.beginPath();
      ctx.ellipse(cx, mouthY, mouthW * 0.5, open, 0, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
    } else {
      ctx.beginPath();
      ctx.moveTo(cx - mouthW / 2, mouthY);
      ctx.quadraticCurveTo(cx, mouthY + (mode === "thinking" ? 0 : r * 0.16), cx + mouthW / 2,
        mouthY);
      ctx.stroke();
    }

    var label = {connecting: "connecting\u2026", idle: "", listening: "listening\u2026",
      thinking: "thinking\u2026", speaking: "", ended: "session ended"}[mode] || "";
    ctx.font = "600 " + Math.round(s * 0.04) + "px system-ui, sans-serif";  // name chip
    var chip = cfg.avatarName + (label ? " \u00b7 " + label : "");
    var chipW = ctx.measureText(chip).width + s * 0.05;
    ctx.fillStyle = "rgba(0, 0, 0, 0.45)";
    roundRect(s * 0.03, s * 0.03, chipW, s * 0.07, s * 0.02);
    ctx.fill();
    ctx.fillStyle = "#e8eef7";
    ctx.textBaseline = "middle";
    ctx.fillText(chip, s * 0.055, s * 0.065);

    if (caption && (speaking || mode === "idle")) {               // caption, revealed as spoken
      var shown = caption;
      if (speaking) {
        var frac = Math.min(1, (t - speakStart) / Math.max(0.1, speakUntil - speakStart));
        shown = caption.slice(0, Math.ceil(caption.length * frac));
      }
      ctx.font = Math.round(s * 0.042) + "px system-ui, sans-serif";
      var lines = wrap(shown, w * 0.84).slice(-3);
      var lh = s * 0.055, boxH = lines.length * lh + s * 0.04, top = h - boxH - s * 0.04;
      ctx.fillStyle = "rgba(0, 0, 0, 0.6)";
      roundRect(w * 0.06, top, w * 0.88, boxH, s * 0.02);
      ctx.fill();
      ctx.fillStyle = "#fff";
      ctx.textAlign = "center";
      lines.forEach(function (line, i) { ctx.fillText(line, w / 2, top + s * 0.02 + lh * (i + 0.5)); });
      ctx.textAlign = "start";
    }

    if (mode === "ended") {
      ctx.fillStyle = "rgba(0, 0, 0, 0.55)";
      ctx.fillRect(0, 0, w, h);
    }
  }

  function frame() {
    if (streaming) { updateOverlay(); } else { draw(); }
    if (mode !== "ended") { window.requestAnimationFrame(frame); }
  }

  // --- overlay over the WebRTC video (the canvas draws its own) ------------------------------
  var LABELS = {connecting: "connecting\u2026", idle: "", listening: "listening\u2026",
    thinking: "thinking\u2026", speaking: "", ended: "session ended"};

  function updateOverlay() {
    var t = now();
    if (mode === "speaking" && t >= speakUntil) { mode = "idle"; }
    var label = LABELS[mode] || "";
    var chip = cfg.avatarName + (label ? " \u00b7 " + label : "");
    if (chipEl.textContent !== chip) { chipEl.textContent = chip; }
    var shown = "";
    if (caption && (mode === "speaking" || mode === "idle" || mode === "ended")) {
      shown = caption;
      if (mode === "speaking") {
        var frac = Math.min(1, (t - speakStart) / Math.max(0.1, speakUntil - speakStart));
        shown = caption.slice(0, Math.ceil(caption.length * frac));
      }
    }
    if (captionEl.textContent !== shown) { captionEl.textContent = shown; }
    captionEl.hidden = !shown;
  }

  // --- WebRTC --------------------------------------------------------------------------------
  function showVideo(on) {
    streaming = on;
    video.hidden = !on;
    canvas.hidden = on;
    chipEl.hidden = !on;
    if (!on) { captionEl.hidden = true; }
  }

  function closePeer() {
    if (pc) { try { pc.close(); } catch (e) { /* already closed */ } pc = null; }
  }

  // WebRTC did not work out: draw the avatar ourselves so the session stays usable.
  function fallBackToCanvas(why) {
    if (window.console) { console.log("stream page: WebRTC unavailable (" + why + "), canvas"); }
    closePeer();
    showVideo(false);
    if (!closed) { if (mode === "connecting") { mode = "idle"; } tell("ravatar-session-start"); }
  }

  function playVideo() {
    var played = video.play();
    if (played && played.catch) {
      // A browser that forbids autoplay with sound: play muted, unmute on the first click.
      played.catch(function () {
        video.muted = true;
        video.play().catch(function () { /* nothing more to try */ });
        document.addEventListener("click", function () { video.muted = false; }, {once: true});
      });
    }
  }

  function gathered(peer, limitMs) {
    return new Promise(function (resolve) {
      if (peer.iceGatheringState === "complete") { resolve(); return; }
      peer.addEventListener("icegatheringstatechange", function () {
        if (peer.iceGatheringState === "complete") { resolve(); }
      });
      window.setTimeout(resolve, limitMs);  // host candidates come fast; do not wait forever
    });
  }

  function startWebRtc(offer, socket) {
    closePeer();
    var peer = new RTCPeerConnection({iceServers: []});
    pc = peer;
    var started = false;
    var timer = window.setTimeout(function () {
      if (pc === peer && !started) { fallBackToCanvas("no connection in time"); }
    }, CONNECT_TIMEOUT_MS);
    peer.addEventListener("track", function (ev) {
      var stream = ev.streams && ev.streams[0];
      if (!video.srcObject) { video.srcObject = stream || new MediaStream(); }
      if (!stream) { video.srcObject.addTrack(ev.track); }
    });
    peer.addEventListener("connectionstatechange", function () {
      if (pc !== peer) { return; }
      if (peer.connectionState === "connected" && !started) {
        started = true;
        window.clearTimeout(timer);
        if (mode === "connecting") { mode = "idle"; }
        showVideo(true);
        playVideo();
        tell("ravatar-session-start");
      } else if (peer.connectionState === "failed") {
        window.clearTimeout(timer);
        fallBackToCanvas("connection failed");
      }
    });
    video.srcObject = null;
    peer.setRemoteDescription({type: "offer", sdp: offer.sdp})
      .then(function () { return peer.createAnswer(); })
      .then(function (answer) { return peer.setLocalDescription(answer); })
      .then(function () { return gathered(peer, 2000); })
      .then(function () {
        if (pc === peer && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({type: "webrtc-answer", sdp: peer.localDescription.sdp}));
        }
      })
      .catch(function (e) { fallBackToCanvas("negotiation failed: " + e); });
  }

  // --- session -------------------------------------------------------------------------------
  function end(reason) {
    if (closed) { return; }
    closed = true;
    mode = "ended";
    caption = reason ? "Session ended: " + reason : "Session ended";
    closePeer();
    if (streaming) { video.pause(); updateOverlay(); } else { draw(); }
    tell("ravatar-session-close");
  }

  function connect() {
    var opened = false;
    var socket = new WebSocket(eventsUrl);
    ws = socket;
    socket.onmessage = function (msg) {
      var ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      if (ev.event === "ready") {
        opened = true;
        failures = 0;
        if (cfg.webrtc && window.RTCPeerConnection) {
          socket.send(JSON.stringify({type: "webrtc-request"}));
        } else {
          mode = "idle";
          draw();
          tell("ravatar-session-start");  // may repeat after a reconnect, as RAVATAR's does
        }
      } else if (ev.event === "webrtc-offer") {
        startWebRtc(ev, socket);
      } else if (ev.event === "webrtc-error") {
        fallBackToCanvas(ev.reason || "refused");
      } else if (ev.event === "listening") {
        mode = "listening";
      } else if (ev.event === "thinking") {
        mode = "thinking";
      } else if (ev.event === "speaking") {
        caption = ownWords(ev.text || "");
        speakStart = now();
        speakUntil = speakStart + (ev.duration_s || 2);
        mode = "speaking";
      } else if (ev.event === "session-end") {
        end(ev.reason || "");
      }
    };
    socket.onclose = function () {
      if (closed) { return; }
      closePeer();
      failures = opened ? 1 : failures + 1;
      if (failures > RETRY_LIMIT) { end("stream lost"); return; }
      mode = "connecting";
      showVideo(false);
      window.setTimeout(connect, 250 * Math.pow(2, failures));
    };
  }

  showVideo(false);
  draw();
  window.requestAnimationFrame(frame);
  connect();
})();
