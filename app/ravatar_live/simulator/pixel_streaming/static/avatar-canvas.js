// RAVATAR simulator: the avatar drawn by the browser, for instances that stream no WebRTC (aiortc
// missing or switched off). It follows the simulator's activity messages on the signalling
// socket. Only the avatar is drawn: no captions or labels, like the real stream.
(function () {
  "use strict";

  function CanvasAvatar(canvas, colour, width, height) {
    var ctx = canvas.getContext("2d");
    var mode = "idle";            // idle | listening | thinking | speaking | ended
    var speakUntil = 0;
    var nextBlink = 0;
    canvas.width = width;
    canvas.height = height;

    function now() { return performance.now() / 1000; }

    function draw() {
      var t = now();
      var w = canvas.width, h = canvas.height, s = Math.min(w, h);
      if (mode === "speaking" && t >= speakUntil) { mode = "idle"; }
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
      ctx.fillStyle = colour;                                      // head
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
      [cx - eyeDx, cx + eyeDx].forEach(function (ex) {             // eyes
        ctx.fillStyle = "#fff";
        ctx.beginPath();
        if (blinking) { ctx.ellipse(ex, eyeY, eyeR, eyeR * 0.12, 0, 0, Math.PI * 2); }
        else { ctx.arc(ex, eyeY, eyeR, 0, Math.PI * 2); }
        ctx.fill();
        if (!blinking) {
          ctx.fillStyle = "#1b2230";
          ctx.beginPath();
          ctx.arc(ex + look, eyeY + look * 0.3, eyeR * 0.45, 0, Math.PI * 2);
          ctx.fill();
        }
      });

      var mouthY = cy + r * 0.38, mouthW = r * 0.42;               // mouth
      ctx.strokeStyle = "#fff";
      ctx.fillStyle = "#3a1020";
      ctx.lineWidth = s * 0.012;
      ctx.lineCap = "round";
      ctx.beginPath();
      if (mode === "speaking") {
        var open = (0.25 + 0.75 * Math.abs(Math.sin(t * 11) * Math.sin(t * 3.7 + 1))) * r * 0.15;
        ctx.ellipse(cx, mouthY, mouthW * 0.5, open, 0, 0, Math.PI * 2);
        ctx.fill();
        ctx.stroke();
      } else {
        ctx.moveTo(cx - mouthW / 2, mouthY);
        ctx.quadraticCurveTo(cx, mouthY + (mode === "thinking" ? 0 : r * 0.16), cx + mouthW / 2,
          mouthY);
        ctx.stroke();
      }
      if (mode === "ended") {
        ctx.fillStyle = "rgba(0, 0, 0, 0.66)";
        ctx.fillRect(0, 0, w, h);
      }
    }

    function frame() {
      draw();
      if (mode !== "ended") { window.requestAnimationFrame(frame); }
    }

    this.start = function () { window.requestAnimationFrame(frame); };

    // An activity message: {event: "listening" | "thinking" | "speaking" (with duration_s) |
    // "session-end"}.
    this.activity = function (message) {
      if (mode === "ended") { return; }
      if (message.event === "listening" || message.event === "thinking") {
        mode = message.event;
      } else if (message.event === "speaking") {
        mode = "speaking";
        speakUntil = now() + (typeof message.duration_s === "number" ? message.duration_s : 2);
      } else if (message.event === "session-end") {
        mode = "ended";
      }
    };

    this.end = function () { mode = "ended"; draw(); };
  }

  window.RavatarCanvasAvatar = CanvasAvatar;
})();
