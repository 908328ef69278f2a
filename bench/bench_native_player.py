"""Figures for the native Pixel Streaming player (aiortc + PyAV, frames to Qt as RGB).

1. decode: ms per 1280x720 frame, H.264 (libavcodec) and VP8 (libvpx), as aiortc decodes them;
2-3. frame to screen: CPU ms per new frame from a decoded frame to NativeVideoView's paint, per
   view size: the YUV planes handed to Qt (which converts and scales on paint) against libswscale
   converting to RGB at the shown size (the player's way); and whether a QVideoWidget's grab()
   shows the picture here;
4. the whole player: CPU (% of one core) and memory of a process running NativeStreamPlayer with
   a NativeVideoView showing a 1280x720 30 fps stream, and its time to first frame (from
   `start()`: page, token check, signalling, ICE, first picture), for H.264 and VP8. The stream
   comes from the simulator (a license's Pixel Streaming instance, `--source simulator`) or
   from the test streamer (`--source streamer`), both in this process; the player runs in a
   child process, so its CPU is its own;
5. audio output backends (when PulseAudio can run): CPU, callback period and start-up stall of
   PortAudio vs QAudioSink playing through a PulseAudio null sink.

    PYTHONPATH=app:. .venv/bin/python bench/bench_native_player.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import av
import numpy as np
from PySide6.QtCore import QSize
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat, QVideoSink
from PySide6.QtWidgets import QApplication

from ravatar_live.stream.video_frames import FrameConverter
from tests.support.virtual_audio import virtual_audio_in_this_process

WIDTH, HEIGHT = 1280, 720


def pattern_frames(count: int) -> list[av.VideoFrame]:
    """Moving frames in the test streamer's colours with a textured, changing area the size of
    a head (so the codecs do real work, not just flat colour)."""
    base = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    base[:, : WIDTH // 2] = (30, 160, 170)
    base[:, WIDTH // 2:] = (240, 130, 40)
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 255, (HEIGHT // 2, WIDTH // 3, 3), np.uint8)
    frames = []
    for i in range(count):
        picture = base.copy()
        picture[(i * 8) % (HEIGHT - 40):(i * 8) % (HEIGHT - 40) + 40, :] = 255
        picture[:, (i * 12) % (WIDTH - 40):(i * 12) % (WIDTH - 40) + 40] = (20, 20, 20)
        top, left = HEIGHT // 4, WIDTH // 3
        picture[top:top + HEIGHT // 2, left:left + WIDTH // 3] = np.roll(texture, i * 3, axis=1)
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        frame.time_base = fractions.Fraction(1, 30)
        frames.append(frame)
    return frames


def encode(codec: str, frames: list[av.VideoFrame]) -> list[av.Packet]:
    name = {"H264": "libx264", "VP8": "libvpx"}[codec]
    context = cast(av.VideoCodecContext, av.CodecContext.create(name, "w"))
    context.width, context.height = WIDTH, HEIGHT
    context.pix_fmt = "yuv420p"
    context.time_base = fractions.Fraction(1, 30)
    context.bit_rate = 2_000_000
    if codec == "H264":
        context.options = {"preset": "ultrafast", "tune": "zerolatency"}
    packets = [p for f in frames for p in context.encode(f)]
    return packets + list(context.encode(None))


def bench_decode(count: int) -> dict[str, float]:
    frames = pattern_frames(count)
    figures = {}
    for codec, decoder_name in (("H264", "h264"), ("VP8", "libvpx")):
        packets = encode(codec, frames)
        # What aiortc's decoders create.
        decoder = cast(av.VideoCodecContext, av.CodecContext.create(decoder_name, "r"))
        started = time.perf_counter()
        decoded = 0
        for packet in packets:
            decoded += len(decoder.decode(packet))
        figures[codec] = (time.perf_counter() - started) * 1000 / max(1, decoded)
    return figures


def yuv_qvideo_frame(frame: av.VideoFrame) -> QVideoFrame:
    """The earlier hand-off, kept here as the baseline: the YUV planes copied into a
    QVideoFrame, converted and scaled by Qt when painted."""
    video = QVideoFrame(QVideoFrameFormat(QSize(frame.width, frame.height),
                                          QVideoFrameFormat.PixelFormat.Format_YUV420P))
    video.map(QVideoFrame.MapMode.WriteOnly)
    for index, plane in enumerate(frame.planes):
        rows = plane.height
        source = np.frombuffer(plane, np.uint8).reshape(rows, plane.line_size)[:, :plane.width]
        stride = video.bytesPerLine(index)
        target = np.frombuffer(video.bits(index), np.uint8)[:rows * stride]
        target.reshape(rows, stride)[:, :plane.width] = source
    video.unmap()
    return video


def bench_frame_to_screen(app: QApplication, count: int) -> dict[str, tuple[float, float]]:
    """CPU ms per new frame, hand-off (player thread) plus NativeVideoView's paint (GUI thread),
    per view size: the YUV hand-off with Qt converting on paint, against libswscale converting
    to RGB at the shown size."""
    from ravatar_live.stream.video_frames import DisplayArea
    from ravatar_live.ui.native_video import NativeVideoView

    decoded = pattern_frames(count)
    warm = NativeVideoView(QVideoSink())
    warm.show_frame(yuv_qvideo_frame(decoded[0]))
    warm.grab()  # Qt's first conversion looks for an RHI backend once
    figures: dict[str, tuple[float, float]] = {}
    for width, height in ((640, 360), (960, 540), (1280, 720), (1920, 1080)):
        sink = QVideoSink()
        view = NativeVideoView(sink)
        view.resize(width, height)
        view.show()
        app.processEvents()
        area = DisplayArea()
        area.set(width, height)
        converter = FrameConverter(area)
        per_path = []
        for make in (yuv_qvideo_frame, converter.convert):
            started = time.process_time()
            for frame in decoded:
                sink.setVideoFrame(make(frame))
                view.repaint()
            per_path.append((time.process_time() - started) * 1000 / count)
        figures[f"{width}x{height}"] = (per_path[0], per_path[1])
        view.close()
    return figures


def qvideowidget_grab_shows_picture(app: QApplication) -> bool:
    from PySide6.QtMultimediaWidgets import QVideoWidget

    widget = QVideoWidget()
    widget.resize(640, 360)
    widget.show()
    app.processEvents()
    widget.videoSink().setVideoFrame(FrameConverter().convert(pattern_frames(1)[0]))
    for _ in range(20):
        app.processEvents()
    colour = widget.grab().toImage().pixelColor(100, 180)
    widget.close()
    return abs(colour.green() - 160) < 40


# --- the whole player in a child process --------------------------------------------------------
def child(url: str, seconds: float) -> None:
    """Run the player + view; print JSON figures on stdout."""
    app = QApplication([])
    from ravatar_live.stream.connection import ConnectionSettings
    from ravatar_live.stream.player import NativeStreamPlayer
    from ravatar_live.stream.worker import PlayerSettings
    from ravatar_live.ui.native_video import NativeVideoView

    player = NativeStreamPlayer(PlayerSettings(
        connection=ConnectionSettings(config_wait_s=0.5, streamer_poll_s=0.1),
        audio_backends=()))
    view = NativeVideoView(player.video_sink)
    view.display_area_changed.connect(player.set_display_area)
    view.resize(WIDTH, HEIGHT)
    view.show()
    first: list[float] = []
    stats: list[object] = []
    player.first_frame.connect(first.append)
    player.stats_updated.connect(stats.append)
    player.start(url)
    spin(app, lambda: bool(first), 30)
    spin(app, lambda: False, 2.0)  # settle before measuring
    shown0, cpu0, wall0 = view.frames_shown, cpu_self(), time.monotonic()
    spin(app, lambda: False, seconds)
    cpu1, wall1 = cpu_self(), time.monotonic()
    last = stats[-1] if stats else None
    figures = {
        "first_frame_s": first[0] if first else None,
        "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
        "rss_mb": rss_mb(),
        "shown_fps": (view.frames_shown - shown0) / (wall1 - wall0),
        "decoded_fps": getattr(last, "fps", None),
        "dropped": player.frames_dropped,
    }
    loop = asyncio.new_event_loop()
    loop.run_until_complete(player.stop(timeout_s=3.0))
    loop.close()
    print(json.dumps(figures), flush=True)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def spin(app: QApplication, until: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(0.002)
    return until()


@contextlib.contextmanager
def stream_source(source: str, codec: str) -> Iterator[str]:
    """A 1280x720 30 fps stream in `codec`; yields its page URL with the token."""
    if source == "streamer":
        from tests.support.signalling_server import ServerOptions, ServerThread

        server = ServerThread(ServerOptions(codec=codec, width=WIDTH, height=HEIGHT, fps=30))
        try:
            yield server.server.page_url()
        finally:
            server.close()
        return
    from ravatar_live.api.urls import stream_url_with_token
    from ravatar_live.simulator.server import SimulatorConfig
    from ravatar_live.simulator.threaded import SimulatorThread
    from tests.support.http import post_json

    config = SimulatorConfig(port=0, transcribe=False, stream_video_codec=codec,
                             stream_fps=30.0, stream_max_height=HEIGHT, stream_voice=False)
    with SimulatorThread(config) as sim:
        token = post_json(sim.base_url + "/jwt", {"user_id": "bench", "project_id": "bench"})["jwt"]
        live = post_json(sim.base_url + "/startLiveSession",
                         {"avatar_id": "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f",
                          "width": str(WIDTH), "height": str(HEIGHT)}, token)
        try:
            yield stream_url_with_token(live["streamingUrl"], token)
        finally:
            post_json(sim.base_url + "/endLiveSession", {"LicenseId": live["LicenseId"]}, token)


def bench_player(source: str, codec: str, seconds: float) -> dict[str, object]:
    with stream_source(source, codec) as url:
        result = subprocess.run(
            [sys.executable, __file__, "--child", url, "--seconds", str(seconds)],
            capture_output=True, text=True, timeout=seconds + 90, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": result.stderr.strip()[-400:]}
    return json.loads(lines[-1])


# --- audio output backends ----------------------------------------------------------------------
@contextlib.contextmanager
def private_pulseaudio() -> Iterator[bool]:
    """A PulseAudio daemon for this bench only, unless one is configured already."""
    if os.environ.get("PULSE_SERVER"):
        yield True
        return
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(virtual_audio_in_this_process())
        except RuntimeError as exc:
            print(f"no PulseAudio ({exc})")
            yield False
            return
        yield True


def audio_child(backend_name: str, seconds: float) -> None:
    QApplication([])
    from ravatar_live.stream.audio_output import RATE, make_backend
    from ravatar_live.stream.audio_playback import AudioPlayback

    playback = AudioPlayback(lambda: None)
    calls: list[float] = []
    playback.add_tap(lambda _block: calls.append(time.monotonic()))
    backend = make_backend(backend_name)
    opened_at = time.monotonic()
    backend.open(None, playback.render)
    tone = (0.2 * 32767 * np.sin(2 * np.pi * 440 * np.arange(960) / RATE)).astype(np.int16)
    frame_data = np.repeat(tone[:, None], 2, axis=1).reshape(1, -1)

    def feed() -> None:  # 20 ms frames at the network's pace, as the player pushes them
        start = time.monotonic()
        for i in range(round(seconds / 0.02)):
            frame = av.AudioFrame.from_ndarray(frame_data, format="s16", layout="stereo")
            frame.sample_rate = RATE
            playback.push(frame)
            time.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))

    cpu0, wall0 = cpu_self(), time.monotonic()
    feeder = threading.Thread(target=feed)
    feeder.start()
    feeder.join()
    cpu1, wall1 = cpu_self(), time.monotonic()
    backend.close()
    gaps = np.diff(calls) * 1000 if len(calls) > 2 else np.array([0.0])
    print(json.dumps({
        "cpu_percent": 100 * (cpu1 - cpu0) / (wall1 - wall0),
        "block_ms_median": float(np.median(gaps)),
        "longest_gap_ms": float(gaps.max()),
        "first_block_ms": float((calls[0] - opened_at) * 1000) if calls else None,
        "skipped_ms": playback.buffer.dropped_frames / RATE * 1000,
        "underruns": playback.buffer.underruns}), flush=True)


def bench_audio(seconds: float) -> dict[str, object]:
    figures: dict[str, object] = {}
    with private_pulseaudio() as available:
        if not available:
            return {"skipped": "no PulseAudio here"}
        for name in ("pyaudio", "qt"):
            result = subprocess.run([sys.executable, __file__, "--audio-child", name,
                                     "--seconds", str(seconds)], capture_output=True,
                                    text=True, timeout=seconds + 60, check=False)
            lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
            figures[name] = json.loads(lines[-1]) if lines else result.stderr.strip()[-300:]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--source", choices=("simulator", "streamer"), default="simulator")
    parser.add_argument("--child", metavar="URL")
    parser.add_argument("--audio-child", metavar="BACKEND")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.seconds)
        return
    if args.audio_child:
        audio_child(args.audio_child, args.seconds)
        return
    app = QApplication([])
    print(f"== decode, ms per {WIDTH}x{HEIGHT} frame (libavcodec via PyAV)")
    for codec, ms in bench_decode(args.frames).items():
        print(f"  {codec:5s} {ms:6.2f} ms")
    print("== frame to screen, CPU ms per new frame (hand-off + paint), by view size")
    print(f"  {'view':10s} {'YUV, Qt converts':>17s} {'swscale at size':>16s} {'ratio':>6s}")
    for size, (yuv, rgb) in bench_frame_to_screen(app, min(args.frames, 60)).items():
        print(f"  {size:10s} {yuv:17.2f} {rgb:16.2f} {rgb / yuv:6.2f}")
    print("  QAbstractVideoBuffer over PyAV planes: not possible in PySide6 6.12 "
          "(MapData exposes planeCount only)")
    print(f"  QVideoWidget grab() shows the picture: {qvideowidget_grab_shows_picture(app)}")
    print(f"== the native player, {WIDTH}x{HEIGHT} 30 fps from the {args.source}, "
          f"{args.seconds:g} s steady window (player process only)")
    for codec in ("H264", "VP8"):
        figures = bench_player(args.source, codec, args.seconds)
        print(f"  {codec:5s} " + "  ".join(
            f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))
    print("== audio output backends through a PulseAudio null sink")
    for name, audio in bench_audio(min(args.seconds, 5.0)).items():
        print(f"  {name:8s} {audio}")


if __name__ == "__main__":
    main()
