// RAVATAR simulator: a Pixel Streaming player of its own (no Epic code) for the instance's
// signalling socket at "/". Like RAVATAR's page it auto-connects, waits for a streamer,
// subscribes, answers the streamer's offer, trickles ICE, answers pings and plays the stream;
// it reconnects a few times with back-off and tells its parent window:
//   "ravatar-session-start"  when the stream connects and when its video starts (may repeat)
//   "ravatar-session-close"  when the stream ends for good
// and runs RAVATAR's microphone handshake (PROTOCOL.md section 3): with UseMic the microphone is
// sent on the offer's audio track; the parent's {type: "rvo-ps-mic-mute" | "rvo-ps-mic-unmute"}
// is obeyed, answered with "ravatar-ps-mic-state", and stays applied to every new track;
// "ravatar-ps-mic-ready" announces every (new) track. Settings come from the URL
// (PreferredCodec, UseMic); the page's own data-config says how the simulator runs it.
(function () {
  "use strict";

  var cfg = JSON.parse(document.body.getAttribute("data-config"));
  var query = new URLSearchParams(window.location.search);
  var settings = {
    preferredCodec: (query.get("PreferredCodec") || "").trim(),
    useMic: !/^(false|0|no|off)$/i.test(query.get("UseMic") || "true")
  };
  var token = query.get("token");
  var socketUrl = (window.location.protocol === "https:" ? "wss://" : "ws://") +
    window.location.host + "/" + (token ? "?token=" + encodeURIComponent(token) : "");

  var RECONNECT_LIMIT = 3;          // failed attempts in a row before the session is over
  var RETRY_BASE_MS = 250;          // back-off: 250, 500, 1000 ms
  var WAIT_FOR_STREAMER_MS = 1000;  // asking again while the streamer list is empty
  var MIC_WAIT_MS = 2000;           // the answer waits this long for the microphone at most
  var ACTIVITY_TYPE = "ravatarSimulatorActivity";

  var video = document.getElementById("stream");
  var canvas = document.getElementById("avatar");
  var canvasAvatar = null;
  var socket = null;
  var pc = null;
  var peerOptions = {};
  var failures = 0;
  var ended = false;

  function log(text) { if (window.console) { console.log("stream page: " + text); } }

  function tellParent(message) {
    try { window.parent.postMessage(message, "*"); } catch (e) { /* no parent */ }
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(message)); }
  }

  // --- the microphone handshake ---------------------------------------------------------------
  var mic = {desired: null, track: null, asking: null};

  function micWanted() {
    return settings.useMic && !cfg.canvas && window.isSecureContext && navigator.mediaDevices &&
      typeof navigator.mediaDevices.getUserMedia === "function";
  }

  function askForMic() {
    if (!mic.asking) {
      // Epic's library captures the microphone with the browser's processing off.
      mic.asking = navigator.mediaDevices.getUserMedia({audio: {
        echoCancellation: false, noiseSuppression: false, autoGainControl: false}})
        .then(function (stream) { mic.track = stream.getAudioTracks()[0] || null; return mic.track; })
        .catch(function (error) { log("no microphone (" + error.name + ")"); return null; });
    }
    return mic.asking;
  }

  function micSender() {
    if (!pc) { return null; }
    var transceivers = pc.getTransceivers();
    for (var i = 0; i < transceivers.length; i++) {
      var t = transceivers[i];
      if ((t.direction === "sendrecv" || t.direction === "sendonly") && t.sender &&
          t.sender.track && t.sender.track.kind === "audio") { return t.sender; }
    }
    return null;
  }

  function micSnapshot() {
    var sender = micSender();
    var track = sender && sender.track;
    if (!track) {
      return {hasMicTrack: false, enabled: null, muted: null, readyState: null, label: null};
    }
    return {hasMicTrack: true, enabled: track.enabled, muted: track.muted,
            readyState: track.readyState, label: track.label};
  }

  function applyDesired() {
    if (mic.desired === null) { return; }
    var enabled = mic.desired === "unmute";
    if (mic.track) { mic.track.enabled = enabled; }
    var sender = micSender();
    if (sender && sender.track) { sender.track.enabled = enabled; }
  }

  function postMic(message) {
    if (!cfg.micHandshake || window.parent === window) { return; }  // an older page, or no parent
    var snapshot = micSnapshot();
    if (message.requested) {
      message.applied = snapshot.hasMicTrack && snapshot.enabled === (message.requested === "unmute");
    }
    for (var key in snapshot) { message[key] = snapshot[key]; }
    message.timestamp = Date.now();
    tellParent(message);
  }

  // A (new) microphone track may exist: re-apply the sticky wish first, then announce it.
  function micReady(reason) {
    applyDesired();
    postMic({name: "ravatar-ps-mic-ready", reason: reason});
  }

  function onMicCommand(type) {
    var requested = type === "rvo-ps-mic-mute" ? "mute" :
      type === "rvo-ps-mic-unmute" ? "unmute" : null;
    if (requested === null) { return; }
    mic.desired = requested;
    try { applyDesired(); } catch (e) { log("could not apply " + requested + ": " + e); }
    postMic({name: "ravatar-ps-mic-state", requested: requested});
  }

  window.addEventListener("message", function (ev) {
    var data = ev.data;
    if (data && typeof data === "object" && typeof data.type === "string") { onMicCommand(data.type); }
  });

  // --- the session ------------------------------------------------------------------------------
  function sessionStarted() { tellParent("ravatar-session-start"); }

  function endForGood(why) {
    if (ended) { return; }
    ended = true;
    log("the stream ended: " + why);
    closePeer();
    if (canvasAvatar) { canvasAvatar.end(); }
    if (socket) { socket.close(); }
    tellParent("ravatar-session-close");
  }

  // One more failed attempt: try again after a back-off, or give up.
  function retryLater(what) {
    failures += 1;
    if (failures > RECONNECT_LIMIT) { endForGood(what + " failed " + failures + " times"); return; }
    window.setTimeout(what === "socket" ? connect : listStreamers,
      RETRY_BASE_MS * Math.pow(2, failures - 1));
  }

  function listStreamers() { send({type: "listStreamers"}); }

  // --- WebRTC -----------------------------------------------------------------------------------
  function closePeer() {
    if (pc) { try { pc.close(); } catch (e) { /* already closed */ } pc = null; }
    video.srcObject = null;
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

  // PreferredCodec ("VP8", "H264 ...") goes first in the answer when this browser has it.
  function preferCodec(peer) {
    var wanted = settings.preferredCodec.split(/[\s;]/)[0].toLowerCase();
    if (!wanted || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) { return; }
    var capabilities = RTCRtpReceiver.getCapabilities("video");
    if (!capabilities) { return; }
    var first = capabilities.codecs.filter(function (c) {
      return c.mimeType.toLowerCase() === "video/" + wanted;
    });
    if (!first.length) { return; }  // not decodable here: the browser's own order stands
    var rest = capabilities.codecs.filter(function (c) { return first.indexOf(c) < 0; });
    peer.getTransceivers().forEach(function (t) {
      if (t.receiver.track.kind === "video" && t.setCodecPreferences) {
        t.setCodecPreferences(first.concat(rest));
      }
    });
  }

  function withinMs(promise, ms) {
    return Promise.race([promise, new Promise(function (resolve) {
      window.setTimeout(function () { resolve(null); }, ms);
    })]);
  }

  // Send the microphone on the offer's audio track (sendrecv). A microphone that comes later
  // is attached when it comes; the answer does not wait for it for long.
  function attachMic(peer) {
    var audio = peer.getTransceivers().filter(function (t) {
      return t.receiver.track.kind === "audio";
    })[0];
    if (!audio || !micWanted()) { return Promise.resolve(); }
    audio.direction = "sendrecv";
    function attach(track) {
      if (!track || pc !== peer) { return Promise.resolve(false); }
      return audio.sender.replaceTrack(track).then(function () { return true; });
    }
    return withinMs(askForMic(), MIC_WAIT_MS).then(function (track) {
      if (track) { return attach(track); }
      askForMic().then(attach).then(function (late) { if (late) { micReady("webrtc-connected"); } });
      return false;
    });
  }

  function onOffer(message) {
    closePeer();
    var peer = new RTCPeerConnection(peerOptions);
    pc = peer;
    var videoStarted = false;
    peer.addEventListener("icecandidate", function (ev) {
      if (ev.candidate && pc === peer) {
        send({type: "iceCandidate", candidate: {
          candidate: ev.candidate.candidate, sdpMid: ev.candidate.sdpMid,
          sdpMLineIndex: ev.candidate.sdpMLineIndex,
          usernameFragment: ev.candidate.usernameFragment}});
      }
    });
    peer.addEventListener("track", function (ev) {
      if (pc !== peer) { return; }
      var stream = ev.streams && ev.streams[0];
      if (!video.srcObject) { video.srcObject = stream || new MediaStream(); }
      if (!stream) { video.srcObject.addTrack(ev.track); }
      playVideo();
    });
    video.onplaying = function () {
      if (pc !== peer || videoStarted || !video.videoWidth) { return; }
      videoStarted = true;
      sessionStarted();                // Epic's videoInitialized
      micReady("video-initialized");
    };
    peer.addEventListener("connectionstatechange", function () {
      if (pc !== peer) { return; }
      if (peer.connectionState === "connected") {
        failures = 0;
        sessionStarted();              // Epic's streamConnect
        micReady("webrtc-connected");
      } else if (peer.connectionState === "failed") {
        closePeer();
        retryLater("subscribe");
      }
    });
    peer.setRemoteDescription({type: "offer", sdp: message.sdp})
      .then(function () { preferCodec(peer); return attachMic(peer); })
      .then(function () { return peer.createAnswer(); })
      .then(function (answer) { return peer.setLocalDescription(answer); })
      .then(function () {
        if (pc === peer) { send({type: "answer", sdp: peer.localDescription.sdp}); }
      })
      .catch(function (error) {
        log("could not answer the offer: " + error);
        if (pc === peer) { closePeer(); retryLater("subscribe"); }
      });
  }

  // --- signalling -------------------------------------------------------------------------------
  function onMessage(message) {
    switch (message.type) {
      case "config":
        peerOptions = message.peerConnectionOptions || {};
        if (cfg.canvas) { failures = 0; sessionStarted(); } else { listStreamers(); }
        break;
      case "streamerList":
        if (Array.isArray(message.ids) && message.ids.length) {
          send({type: "subscribe", streamerId: message.ids[0]});
        } else {
          window.setTimeout(listStreamers, WAIT_FOR_STREAMER_MS);  // WaitForStreamer
        }
        break;
      case "subscribeFailed":
        log("subscribing failed: " + message.message);
        retryLater("subscribe");
        break;
      case "offer":
        onOffer(message);
        break;
      case "iceCandidate":
        if (pc && message.candidate) {
          pc.addIceCandidate(message.candidate).catch(function (e) { log("bad candidate: " + e); });
        }
        break;
      case "ping":
        send({type: "pong", time: message.time});
        break;
      case "streamerDisconnected":
        closePeer();
        window.setTimeout(listStreamers, WAIT_FOR_STREAMER_MS);
        break;
      case ACTIVITY_TYPE:
        if (canvasAvatar) { canvasAvatar.activity(message); }
        break;
      default:
        break;  // playerCount, pong and anything unknown
    }
  }

  function connect() {
    if (ended) { return; }
    var ws = new WebSocket(socketUrl);
    socket = ws;
    ws.onmessage = function (ev) {
      var message;
      try { message = JSON.parse(ev.data); } catch (e) { return; }
      if (message && typeof message.type === "string") { onMessage(message); }
    };
    ws.onclose = function () {
      if (socket !== ws) { return; }
      socket = null;
      closePeer();
      if (!ended) { retryLater("socket"); }
    };
  }

  if (cfg.canvas) {
    video.hidden = true;
    canvas.hidden = false;
    canvasAvatar = new window.RavatarCanvasAvatar(canvas, cfg.colour, cfg.width, cfg.height);
    canvasAvatar.start();
  }
  connect();
})();
