// RAVATAR Live: stream health probe. The app injects this into every frame of its web view
// (QWebEngineScript, main world, at document creation, sub-frames too) so that it runs before the
// stream page creates its RTCPeerConnection. It keeps hold of the page's peer connections, reads
// their WebRTC statistics and posts them to the parent window as strings
// "ravatar-stats {json}", which the host page forwards to the app like the stream's own messages.
// It changes nothing the page sees: the wrapped constructor returns the real connection.
// It also taps the avatar's audio track (WebAudio, 16 kHz) and posts it in small blocks as
// "ravatar-farend {json}" for the app's echo canceller; where it cannot, it posts
// "ravatar-farend {\"audible\": true}" while the avatar's level says it speaks (half-duplex).
(function () {
  "use strict";
  if (window.__ravatarStatsProbe) { return; }
  if (location.protocol !== "http:" && location.protocol !== "https:") { return; }  // host page
  var Native = window.RTCPeerConnection;
  if (typeof Native !== "function") { return; }
  window.__ravatarStatsProbe = true;

  var PREFIX = "ravatar-stats ";
  var SLOW_MS = 1000;           // statistics for the overlay
  var FAST_MS = 150;            // until the first frame: time to first frame within ~0.15 s
  var LEVEL_MS = 100;           // audio level polling, for the "avatar started to speak" edge
  var ONSET_LEVEL = 0.03;       // about -30 dBov: speech, not comfort noise
  var ONSET_QUIET_MS = 300;     // a new onset needs this much quiet before it
  var VIDEO_EXTRA = {"rtx": 1, "red": 1, "ulpfec": 1, "flexfec-03": 1};
  var FAREND_PREFIX = "ravatar-farend ";
  var FAREND_RATE = 16000;      // what the app's capture path runs at
  // Samples per posted block: 64 ms. Each message costs ~1.5 ms of CPU across the page, the
  // browser process and the app (measured: blocks of 32 ms cost 8 % of a core, 64 ms 3 %), and
  // the app's microphone waits for the block covering it (half a block on average).
  var FAREND_BLOCK = 1024;
  var AUDIBLE_MS = 300;         // without a tap: "audible" at most this often while it speaks

  var peers = [];
  var tracked = null;           // the newest open connection is the one reported

  function post(message) {
    message.v = 1;
    message.t = Math.round(performance.now());
    try { window.parent.postMessage(PREFIX + JSON.stringify(message), "*"); } catch (e) { /* */ }
  }

  // Video codec names of a description's video sections, in preference order.
  function videoCodecs(sdp) {
    var names = [], inVideo = false, lines = String(sdp || "").split(/\r?\n/);
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.indexOf("m=") === 0) { inVideo = line.indexOf("m=video") === 0; continue; }
      var m = inVideo && /^a=rtpmap:\d+ ([^/]+)\//.exec(line);
      if (m && !VIDEO_EXTRA[m[1].toLowerCase()] && names.indexOf(m[1].toUpperCase()) < 0) {
        names.push(m[1].toUpperCase());
      }
    }
    return names;
  }

  function videoRejected(sdp) { return /(^|\n)m=video 0 /.test(String(sdp || "")); }

  function info(pc) {
    if (!pc.__ravatar) {
      pc.__ravatar = {created: performance.now(), offered: [], rejected: false, firstFrame: null,
                      lastBytes: null, lastTs: null, quietSince: performance.now(),
                      speaking: false};
    }
    return pc.__ravatar;
  }

  function noteDescription(pc, desc, remote) {
    if (!desc || !desc.sdp) { return; }
    var meta = info(pc);
    if (remote) {
      var offered = videoCodecs(desc.sdp);
      if (offered.length) { meta.offered = offered; }
      if (videoRejected(desc.sdp)) { meta.rejected = true; }
    } else if (videoRejected(desc.sdp)) {
      meta.rejected = true;  // we refused the video: none of its codecs decodes here
      schedule(0);  // say so at once: the app may switch to a player that can show it
    }
  }

  var setRemote = Native.prototype.setRemoteDescription;
  var setLocal = Native.prototype.setLocalDescription;
  Native.prototype.setRemoteDescription = function (desc) {
    try { noteDescription(this, desc, true); } catch (e) { /* never break the page */ }
    return setRemote.apply(this, arguments);
  };
  Native.prototype.setLocalDescription = function (desc) {
    var pc = this;
    var result = setLocal.apply(this, arguments);
    if (result && result.then) {
      result.then(function () {
        try { noteDescription(pc, pc.localDescription, false); } catch (e) { /* */ }
      }, function () { /* the page handles its own errors */ });
    }
    return result;
  };

  // --- the far end: the avatar's audio for the app's echo canceller -------------------------
  var farEnd = {tapped: null, running: false, lastAudible: 0};

  function postFarEnd(message) {
    message.v = 1;
    try {
      window.parent.postMessage(FAREND_PREFIX + JSON.stringify(message), "*");
    } catch (e) { /* */ }
  }

  function toBase64(int16) {
    var bytes = new Uint8Array(int16.buffer), text = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }

  // A silent WebAudio branch on the received track: each block is posted once rendered, with
  // the page clock's time of its last sample (the app maps that clock onto its own).
  function tapFarEnd(track) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx || farEnd.tapped === track.id) { return; }
    var ctx;
    try { ctx = new Ctx({sampleRate: FAREND_RATE}); } catch (e) {
      try { ctx = new Ctx(); } catch (e2) { return; }  // no audio here: half-duplex
    }
    farEnd.tapped = track.id;
    var source = ctx.createMediaStreamSource(new MediaStream([track]));
    var node = ctx.createScriptProcessor(ctx.sampleRate <= FAREND_RATE ? FAREND_BLOCK
                                         : 4 * FAREND_BLOCK, 1, 1);
    var silent = ctx.createGain();
    silent.gain.value = 0;  // the graph must reach the output to run; it plays nothing
    node.onaudioprocess = function (ev) {
      var x = ev.inputBuffer.getChannelData(0), pcm = new Int16Array(x.length);
      for (var i = 0; i < x.length; i++) {
        pcm[i] = Math.round(Math.max(-1, Math.min(1, x[i])) * 32767);
      }
      farEnd.running = true;
      postFarEnd({t: performance.now(), rate: ctx.sampleRate, pcm: toBase64(pcm)});
    };
    source.connect(node);
    node.connect(silent);
    silent.connect(ctx.destination);
    if (ctx.resume) { ctx.resume().catch(function () { /* stays half-duplex */ }); }
    track.addEventListener("ended", function () {
      farEnd.running = false;
      farEnd.tapped = null;
      try { ctx.close(); } catch (e) { /* */ }
    });
  }

  function Wrapped(config, constraints) {
    var pc = arguments.length > 1 ? new Native(config, constraints) : new Native(config);
    info(pc);
    peers.push(pc);
    tracked = pc;
    pc.addEventListener("track", function (ev) {
      try {
        if (ev.track && ev.track.kind === "audio") { tapFarEnd(ev.track); }
      } catch (e) { /* never break the page */ }
    });
    pc.addEventListener("connectionstatechange", function () {
      post({kind: "state", state: pc.connectionState});
    });
    schedule(FAST_MS);
    return pc;
  }
  Wrapped.prototype = Native.prototype;
  Object.setPrototypeOf(Wrapped, Native);  // keeps static members (generateCertificate)
  window.RTCPeerConnection = Wrapped;
  if (window.webkitRTCPeerConnection) { window.webkitRTCPeerConnection = Wrapped; }

  function current() {
    if (tracked && tracked.connectionState !== "closed") { return tracked; }
    for (var i = peers.length - 1; i >= 0; i--) {
      if (peers[i].connectionState !== "closed") { return peers[i]; }
    }
    return tracked;
  }

  function mime(report, codecId) {
    var codec = codecId && report.get(codecId);
    if (!codec || !codec.mimeType) { return null; }
    return codec.mimeType.split("/")[1].toUpperCase();
  }

  function collect(pc, report) {
    var meta = info(pc);
    var out = {kind: "stats", state: pc.connectionState, ice: pc.iceConnectionState,
               peers: peers.length, offeredVideo: meta.offered, videoRejected: meta.rejected,
               videoCodec: null, audioCodec: null, framesReceived: 0, framesDecoded: 0,
               framesDropped: 0, fps: null, width: null, height: null, bitrateKbps: null,
               rttMs: null, audioLevel: null, packetsLost: 0, jitterMs: null,
               hasVideo: false, hasAudio: false};
    var bytes = 0, ts = null, pairId = null;
    report.forEach(function (r) {
      if (r.type === "inbound-rtp" && r.kind === "video") {
        out.hasVideo = true;
        out.videoCodec = mime(report, r.codecId) || out.videoCodec;
        out.framesReceived += r.framesReceived || 0;
        out.framesDecoded += r.framesDecoded || 0;
        out.framesDropped += r.framesDropped || 0;
        if (r.framesPerSecond !== undefined) { out.fps = r.framesPerSecond; }
        if (r.frameWidth) { out.width = r.frameWidth; out.height = r.frameHeight; }
        out.packetsLost += r.packetsLost || 0;
        bytes += r.bytesReceived || 0;
        ts = r.timestamp;
      } else if (r.type === "inbound-rtp" && r.kind === "audio") {
        out.hasAudio = true;
        out.audioCodec = mime(report, r.codecId) || out.audioCodec;
        if (r.audioLevel !== undefined) { out.audioLevel = r.audioLevel; }
        if (r.jitter !== undefined) { out.jitterMs = Math.round(r.jitter * 1000); }
        out.packetsLost += r.packetsLost || 0;
        bytes += r.bytesReceived || 0;
        ts = ts || r.timestamp;
      } else if (r.type === "transport" && r.selectedCandidatePairId) {
        pairId = r.selectedCandidatePairId;
      }
    });
    var pair = pairId && report.get(pairId);
    if (!pair) {
      report.forEach(function (r) {
        if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") { pair = r; }
      });
    }
    if (pair && pair.currentRoundTripTime !== undefined) {
      out.rttMs = Math.round(pair.currentRoundTripTime * 1000);
    }
    if (ts !== null && meta.lastTs !== null && ts > meta.lastTs) {
      out.bitrateKbps = Math.round((bytes - meta.lastBytes) * 8 / (ts - meta.lastTs));
    }
    meta.lastBytes = bytes;
    meta.lastTs = ts;
    if (out.framesDecoded > 0 && meta.firstFrame === null) {
      meta.firstFrame = performance.now();
      post({kind: "first-frame", afterConnectionMs: Math.round(meta.firstFrame - meta.created),
            codec: out.videoCodec, width: out.width, height: out.height});
    }
    if (meta.firstFrame !== null) {
      out.firstFrameAfterConnectionMs = Math.round(meta.firstFrame - meta.created);
    }
    var level = receiverLevel(pc);
    if (level !== null) { out.audioLevel = level; }
    return out;
  }

  // The RTP audio-level header (RFC 6464) as the receiver saw it: it needs no audio output,
  // so it works in a headless view and before the page starts playback.
  function receiverLevel(pc) {
    if (!pc.getReceivers) { return null; }
    var best = null;
    pc.getReceivers().forEach(function (receiver) {
      if (!receiver.track || receiver.track.kind !== "audio" || !receiver.getSynchronizationSources) {
        return;
      }
      receiver.getSynchronizationSources().forEach(function (s) {
        if (s.audioLevel !== undefined && (best === null || s.audioLevel > best)) {
          best = s.audioLevel;
        }
      });
    });
    return best;
  }

  function watchLevel() {
    var pc = current();
    if (pc && pc.connectionState === "connected") {
      var meta = info(pc), level = receiverLevel(pc), nowMs = performance.now();
      if (level !== null) {
        if (level >= ONSET_LEVEL) {
          if (!meta.speaking && nowMs - meta.quietSince >= ONSET_QUIET_MS) {
            post({kind: "audio-onset", level: level});
          }
          meta.speaking = true;
          if (!farEnd.running && nowMs - farEnd.lastAudible >= AUDIBLE_MS) {
            farEnd.lastAudible = nowMs;
            postFarEnd({audible: true});
          }
        } else {
          if (meta.speaking) { meta.quietSince = nowMs; }
          meta.speaking = false;
        }
      }
    }
    window.setTimeout(watchLevel, LEVEL_MS);
  }

  var timer = null;
  function schedule(delay) {
    if (timer !== null) { window.clearTimeout(timer); }
    timer = window.setTimeout(poll, delay);
  }

  var lastPosted = 0;
  function poll() {
    timer = null;
    var pc = current();
    if (!pc) { return; }
    pc.getStats().then(function (report) {
      var stats = collect(pc, report), meta = info(pc), nowMs = performance.now();
      // Fast polling (for the first-frame time) only while it can still matter.
      var fast = meta.firstFrame === null && nowMs - meta.created < 15000 &&
        pc.connectionState !== "closed";
      var refusalNews = stats.videoRejected && !meta.refusalPosted;
      if (refusalNews || nowMs - lastPosted >= SLOW_MS - FAST_MS / 2) {
        lastPosted = nowMs;
        meta.refusalPosted = meta.refusalPosted || stats.videoRejected;
        post(stats);
      }
      schedule(fast ? FAST_MS : SLOW_MS);
    }, function () { schedule(SLOW_MS); });
  }

  watchLevel();
})();
