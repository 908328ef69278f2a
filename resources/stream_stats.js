// RAVATAR Live: stream health probe. The app injects this into every frame of its web view
// (QWebEngineScript, main world, at document creation, sub-frames too) so that it runs before the
// stream page creates its RTCPeerConnection. It keeps hold of the page's peer connections, reads
// their WebRTC statistics and posts them to the parent window as strings
// "ravatar-stats {json}", which the host page forwards to the app like the stream's own messages.
// It changes nothing the page sees: the wrapped constructor returns the real connection.
// It also plays the avatar's audio track itself (WebAudio; the page's own media element is
// muted once that runs) and posts exactly what it plays, in small blocks, as
// "ravatar-farend {json}" for the app's echo canceller: the reference and the sound then share
// one output stream, so the delay between them holds, and the app can set the loudness
// ("ravatar-audio {\"gain\": g}" from the parent, or from this window when it is the top page)
// with the reference following it to the sample. When the page has the microphone (the app's
// "stream page microphone" route), the page plays its own sound, since the page's own echo
// canceller must hear it: the probe only taps it. Where WebAudio cannot run, the page plays
// its own sound and the probe posts "ravatar-farend {\"audible\": true}" while the avatar's
// level says it speaks (half-duplex).
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
  // Posted blocks: 4096 samples, 85 ms at the device's 48 kHz (a power of two, as the
  // ScriptProcessor needs). Each message costs ~1.5 ms of CPU across the page, the browser
  // process and the app (measured: blocks of 32 ms cost 8 % of a core, 64 ms 3 %), and the
  // app's microphone waits for the block covering it (half a block on average).
  var FAREND_BLOCK = 4096;
  var AUDIO_PREFIX = "ravatar-audio ";
  var GAIN_RAMP_S = 0.005;      // a step in loudness would click
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

  // --- the far end: the avatar's audio, played here and posted for the app's echo canceller ----
  // gain: the app's loudness (volume, its mute, the pause while the user talks over the avatar).
  var farEnd = {tapped: null, running: false, lastAudible: 0, gain: 1, volume: null,
                ctx: null, plays: false, elements: []};

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

  // The page's media elements that play the tapped track are muted while the probe plays it
  // (and again whenever the page unmutes them): the avatar must never be heard twice.
  function playsTappedTrack(el) {
    var stream = el && el.srcObject;
    if (!farEnd.tapped || !stream || typeof stream.getAudioTracks !== "function") {
      return false;
    }
    return stream.getAudioTracks().some(function (t) { return t.id === farEnd.tapped; });
  }

  function silenceElement(el) {
    if (farEnd.elements.indexOf(el) < 0) {
      farEnd.elements.push(el);
      el.addEventListener("volumechange", function () {
        if (farEnd.plays && !el.muted && playsTappedTrack(el)) { el.muted = true; }
      });
    }
    if (farEnd.plays && playsTappedTrack(el)) { el.muted = true; }
  }

  function silenceElements() {
    var found = document.querySelectorAll("audio, video");
    for (var i = 0; i < found.length; i++) { silenceElement(found[i]); }
    farEnd.elements.forEach(silenceElement);
  }

  // The probe's context stopped (suspended, its device gone): the page plays its sound again.
  function giveBackElements() {
    farEnd.elements.forEach(function (el) { if (playsTappedTrack(el)) { el.muted = false; } });
  }

  var srcObject = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, "srcObject");
  if (srcObject && srcObject.set && srcObject.configurable) {
    Object.defineProperty(HTMLMediaElement.prototype, "srcObject", {
      configurable: true, enumerable: srcObject.enumerable, get: srcObject.get,
      set: function (value) {
        srcObject.set.call(this, value);
        try { silenceElement(this); } catch (e) { /* never break the page */ }
      }
    });
  }

  function setGain(gain) {
    farEnd.gain = gain;
    if (farEnd.volume && farEnd.ctx) {
      farEnd.volume.gain.setTargetAtTime(gain, farEnd.ctx.currentTime, GAIN_RAMP_S);
    }
  }

  window.addEventListener("message", function (ev) {
    if (ev.source !== window.parent && ev.source !== window) { return; }
    if (typeof ev.data !== "string" || ev.data.indexOf(AUDIO_PREFIX) !== 0) { return; }
    try {
      var gain = JSON.parse(ev.data.slice(AUDIO_PREFIX.length)).gain;
      if (typeof gain === "number" && isFinite(gain)) { setGain(Math.max(0, Math.min(1, gain))); }
    } catch (e) { /* not ours */ }
  });

  // One posted block: `x` (float samples) ends at context frame `endFrame` (null: unknown).
  // Its time is the page clock's moment that frame reaches the speaker, by the context's own
  // output timestamp: a sample-exact timeline, not the main thread's delivery time (which jumps
  // by tens of ms on a busy page and would shift the canceller's reference each time).
  // A block that is silence in int16 goes as its length alone: the avatar is silent most of a
  // session, and each full block is ~11 kB of text through three hops to the app.
  function postBlock(ctx, x, endFrame) {
    var pcm = new Int16Array(x.length), sound = false;
    for (var i = 0; i < x.length; i++) {
      pcm[i] = Math.round(Math.max(-1, Math.min(1, x[i])) * 32767);
      sound = sound || pcm[i] !== 0;
    }
    var t = performance.now();
    var stamp = endFrame !== null && ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
    if (stamp && stamp.performanceTime > 0) {
      t = stamp.performanceTime + (endFrame / ctx.sampleRate - stamp.contextTime) * 1000;
    }
    farEnd.running = true;
    var message = {t: t, sent: performance.now(), rate: ctx.sampleRate};
    if (sound) { message.pcm = toBase64(pcm); } else { message.silent = pcm.length; }
    postFarEnd(message);
  }

  // The tap on the audio thread (an AudioWorklet): it collects FAREND_BLOCK samples and hands
  // them over with the context frame they end at. Built from a blob URL; a page whose policy
  // forbids that gets the ScriptProcessor below.
  var TAP_WORKLET = "registerProcessor('ravatar-far-end-tap', class extends " +
    "AudioWorkletProcessor { constructor() { super(); this.block = new Float32Array(" +
    FAREND_BLOCK + "); this.filled = 0; } process(inputs) { var x = inputs[0] && inputs[0][0]; " +
    "if (x) { this.block.set(x, this.filled); } this.filled += 128; " +
    "if (this.filled >= this.block.length) { this.port.postMessage({end: currentFrame + 128, " +
    "pcm: this.block}, [this.block.buffer]); this.block = new Float32Array(" +
    FAREND_BLOCK + "); this.filled = 0; } return true; } });";

  function startTap(ctx, from) {
    var silent = ctx.createGain();
    silent.gain.value = 0;  // the tap must reach the output to run; it adds nothing
    silent.connect(ctx.destination);
    function scriptProcessorTap() {
      var node = ctx.createScriptProcessor(FAREND_BLOCK, 1, 1);
      node.onaudioprocess = function (ev) {
        postBlock(ctx, ev.inputBuffer.getChannelData(0), null);
      };
      from.connect(node);
      node.connect(silent);
    }
    if (!ctx.audioWorklet || typeof AudioWorkletNode !== "function") {
      scriptProcessorTap();
      return;
    }
    var url = URL.createObjectURL(new Blob([TAP_WORKLET], {type: "application/javascript"}));
    ctx.audioWorklet.addModule(url).then(function () {
      if (farEnd.ctx !== ctx) { return; }
      var node = new AudioWorkletNode(ctx, "ravatar-far-end-tap",
                                      {numberOfInputs: 1, numberOfOutputs: 1,
                                       channelCount: 1, channelCountMode: "explicit"});
      node.port.onmessage = function (ev) { postBlock(ctx, ev.data.pcm, ev.data.end); };
      from.connect(node);
      node.connect(silent);
    }, function () {
      if (farEnd.ctx === ctx) { scriptProcessorTap(); }
    }).finally(function () { URL.revokeObjectURL(url); });
  }

  // Whether this page may use the microphone: in the app's "stream page microphone" route
  // (the host page's frame allows it then), and as the top page (shown alone, for a server that
  // refuses framing). That page cancels its own echo, and the browser's canceller hears the
  // page's own playback, so the page keeps playing its sound.
  function pageHasMicrophone() {
    var policy = document.permissionsPolicy || document.featurePolicy;
    try { return !!(policy && policy.allowsFeature("microphone")); } catch (e) { return false; }
  }

  // The received track through a volume stage to the speaker, and the tap after the volume
  // (startTap). The page's element is muted only while this context runs.
  function tapFarEnd(track) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx || farEnd.tapped === track.id) { return; }
    var ctx;
    try { ctx = new Ctx(); } catch (e) { return; }  // no audio here: half-duplex
    farEnd.tapped = track.id;
    farEnd.ctx = ctx;
    var source = ctx.createMediaStreamSource(new MediaStream([track]));
    var volume = ctx.createGain();
    volume.gain.value = farEnd.gain;
    farEnd.volume = volume;
    var playsHere = !pageHasMicrophone();
    source.connect(volume);
    if (playsHere) { volume.connect(ctx.destination); }
    // Where the page plays, the tap takes the track as the page gets it: the app's gain does
    // not reach the page's own sound.
    startTap(ctx, playsHere ? volume : source);
    function following() {
      var runs = ctx.state === "running";
      if (!playsHere || farEnd.ctx !== ctx || runs === farEnd.plays) { return; }
      if (runs) {
        farEnd.plays = true;
        silenceElements();
      } else {
        farEnd.plays = false;  // first: the page's elements must stay unmuted
        giveBackElements();
      }
    }
    ctx.addEventListener("statechange", following);
    if (ctx.resume) { ctx.resume().then(following, function () { /* stays half-duplex */ }); }
    // The page attaches the track to its element after this event: look once it has.
    window.setTimeout(function () { silenceElements(); }, 0);
    track.addEventListener("ended", function () {
      farEnd.running = false;
      farEnd.tapped = null;
      farEnd.plays = false;
      farEnd.volume = null;
      farEnd.ctx = null;
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
