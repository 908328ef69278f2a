"""Soak: one live session of the real app for an hour, a voice take every 10 s through the
virtual microphone and a typed message every 30 s; prints PSS every minute (the app's process
tree, and its own process), CPU per minute, errors and lost turns.

Goal: PSS grows <= 20 MB from minute 5 to the end, 0 errors, 0 lost turns, CPU flat.

The app runs under Xvfb (xcb) with a private PulseAudio (the avatar's voice goes to a separate
virtual speaker, so it never reaches the microphone), hands-free, with the stream player on
Automatic against the simulator's H.264 stream (so, like a default session on RAVATAR, the
native player shows it). The simulator runs in this process, like a remote service, and speaks
its replies on the stream. The curve is drawn into artifacts/soak-pss.png (Qt paints it: no
plotting library needed) and the figures go to artifacts/soak.txt.

  PYTHONPATH=app:. .venv/bin/python bench/bench_soak.py [--minutes 60] [--player auto]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.app_process import AppProcess
from tests.support.soak import Sample, Soak, avatar_samples_spoken, make_speech
from tests.support.virtual_audio import start_virtual_audio
from tests.support.x11 import Xvfb

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"
VOICE_EVERY_S = 10.0
TYPED_EVERY_S = 30.0


def run(minutes: float, player: str, home: Path) -> tuple[Soak, AppProcess]:
    audio = start_virtual_audio()
    xvfb = Xvfb("1600x1000x24")
    speech = make_speech(home / "speech")
    config = SimulatorConfig(port=0, transcribe=True, max_licenses=4,
                             license_idle_timeout_s=3600.0)
    if player == "web":  # the web view decodes VP8, not RAVATAR's H.264 (the native player's)
        config = replace(config, stream_video_codec="VP8")
    env = {**audio.env, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xvfb.display}
    if os.geteuid() == 0:
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    try:
        with SimulatorThread(config) as sim:
            app = AppProcess(["--api-url", sim.base_url, "--project-id", "bench-soak",
                              "--start", "--voice-mode", "vad", "--stream-player", player],
                             home=home / "app", env=env)
            try:
                app.wait_for(r"startup complete", 60)
                app.wait_for(r"time to first decoded frame", 60)
                app.wait_for(r"microphone open", 60)
                soak = Soak(app, display=xvfb.display, play=audio.play, speech=speech,
                            avatar_spoken=lambda: avatar_samples_spoken(sim))
                drive(soak, minutes)
                return soak, app
            finally:
                app.terminate()
                app.wait_exit(30)
    finally:
        xvfb.stop()
        audio.stop()


def drive(soak: Soak, minutes: float) -> None:
    """Voice every VOICE_EVERY_S, typed every TYPED_EVERY_S, a sample every minute; a turn
    that runs late makes the next start at once (never two at a time)."""
    start = time.monotonic()
    end = start + minutes * 60
    next_voice, next_typed, next_sample = start, start + TYPED_EVERY_S, start + 60
    print_header()
    print_sample(soak.sample())
    while time.monotonic() < end and soak.app.proc.poll() is None:
        now = time.monotonic()
        if now >= next_sample:
            print_sample(soak.sample())
            next_sample += 60
        elif now >= next_typed:
            soak.typed_turn()
            next_typed += TYPED_EVERY_S
        elif now >= next_voice:
            soak.voice_turn()
            next_voice += VOICE_EVERY_S
        else:
            time.sleep(min(next_voice, next_typed, next_sample) - now)  # the soak's own pace
    print_sample(soak.sample())


def print_header() -> None:
    print(f"{'min':>5} {'turns':>5} {'PSS tree':>9} {'app proc':>9} {'private':>9} {'CPU %':>6}"
          "  PSS by process")


def print_sample(sample: Sample) -> None:
    parts = ", ".join(f"{name} {mib:.0f}" for name, mib in
                      sorted(sample.by_process.items(), key=lambda item: -item[1]))
    print(f"{sample.at_s / 60:5.1f} {sample.turns:5d} {sample.pss_mib:8.1f}M "
          f"{sample.main_mib:8.1f}M {sample.private_mib:8.1f}M {sample.cpu:6.1f}  {parts}",
          flush=True)


def summary(soak: Soak, app: AppProcess) -> list[str]:
    samples = soak.log.samples
    after_5 = [s for s in samples if s.at_s >= 5 * 60 - 30]
    lines = [f"voice turns {soak.log.voice_turns}, typed turns {soak.log.typed_turns}, "
             f"lost {len(soak.log.lost)}, errors {len(soak.log.errors(app))}"]
    lines += [f"  lost: {what}" for what in soak.log.lost]
    lines += [f"  error: {line}" for line in soak.log.errors(app)[:20]]
    if len(after_5) >= 2:
        first, last = after_5[0], after_5[-1]
        lines.append(f"PSS from minute {first.at_s / 60:.0f} to {last.at_s / 60:.0f}: "
                     f"tree {last.pss_mib - first.pss_mib:+.1f} MiB, app process "
                     f"{last.main_mib - first.main_mib:+.1f} MiB, tree's private memory "
                     f"{last.private_mib - first.private_mib:+.1f} MiB "
                     f"({(last.pss_mib - first.pss_mib) / max(1, last.turns - first.turns):+.2f}"
                     " MiB per turn)")
        cpus = [s.cpu for s in after_5[1:]]
        if cpus:
            lines.append(f"CPU per minute after minute 5: median {statistics.median(cpus):.1f} %,"
                         f" min {min(cpus):.1f}, max {max(cpus):.1f}")
    return lines


def draw_curve(samples: list[Sample], path: Path, title: str) -> None:
    """PSS (tree and app process) against minutes, painted by Qt into a PNG."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPen, QPolygonF

    _app = QGuiApplication.instance() or QGuiApplication([])
    width, height, margin = 900, 500, 60
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    top = max(s.pss_mib for s in samples) * 1.1
    span = max(samples[-1].at_s / 60, 1.0)

    def point(minute: float, mib: float) -> QPointF:
        return QPointF(margin + minute / span * (width - 2 * margin),
                       height - margin - mib / top * (height - 2 * margin))

    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#888")))
    painter.drawRect(QRectF(margin, margin, width - 2 * margin, height - 2 * margin))
    for step in range(6):
        mib = top * step / 5
        y = point(0, mib).y()
        painter.drawText(QRectF(0, y - 8, margin - 6, 16), Qt.AlignmentFlag.AlignRight,
                         f"{mib:.0f}")
        minute = span * step / 5
        x = point(minute, 0).x()
        painter.drawText(QRectF(x - 30, height - margin + 4, 60, 16),
                         Qt.AlignmentFlag.AlignCenter, f"{minute:.0f}")
    painter.drawText(QRectF(0, 10, width, 20), Qt.AlignmentFlag.AlignCenter, title)
    painter.drawText(QRectF(0, height - 22, width, 20), Qt.AlignmentFlag.AlignCenter,
                     "minutes (y: MiB; blue: PSS of the app's process tree, orange: of its own "
                     "process; green: the tree's private memory)")
    for colour, value in (("#2a6fdb", lambda s: s.pss_mib), ("#e07b00", lambda s: s.main_mib),
                          ("#2e9e44", lambda s: s.private_mib)):
        painter.setPen(QPen(QColor(colour), 2))
        painter.drawPolyline(QPolygonF([point(s.at_s / 60, value(s)) for s in samples]))
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--player", default="auto", choices=("auto", "web", "native"))
    parser.add_argument("--out", type=Path, default=ARTIFACTS / "soak")
    options = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    print(f"# soak {options.minutes:g} min, player {options.player}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    try:
        soak, app = run(options.minutes, options.player, home)
        lines = summary(soak, app)
        print("\n".join(lines))
        table = [f"{s.at_s / 60:.1f}\t{s.turns}\t{s.pss_mib:.1f}\t{s.main_mib:.1f}\t"
             f"{s.private_mib:.1f}\t{s.cpu:.1f}" for s in soak.log.samples]
        out: Path = options.out
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".txt").write_text(
            "minute\tturns\tpss_tree_mib\tpss_app_mib\tprivate_tree_mib\tcpu_percent\n"
            + "\n".join(table) + "\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
        draw_curve(soak.log.samples, out.with_name(out.name + "-pss.png"),
                   f"RAVATAR Live soak: {options.minutes:g} min, {soak.log.turns} turns")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
