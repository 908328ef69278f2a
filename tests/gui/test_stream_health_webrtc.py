"""Stream health against the simulator's real WebRTC stream (a license's Pixel Streaming
instance, Epic's signalling), in a real (offscreen) QtWebEngine.

The app's own StreamView frames the stream page; the probe script (resources/stream_stats.js) is
installed on its web profile; StreamHealth, the stats overlay, the problem presenter (on the real
Banner) and the turn latency tracker are bound exactly as the main window binds them. The
simulator runs in a background thread (SimulatorThread), so Qt's loop only renders.

Figures land in the test log (run with -s or look at the `figures` lines): time to first frame,
the codec, the overlay's rows. Set RAVATAR_HEALTH_SHOT=<dir> to keep the screenshots.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget
from shiboken6 import Shiboken

from ravatar_live.api.urls import stream_url_with_token
from ravatar_live.live.stream_health import StreamHealth, StreamStats
from ravatar_live.live.turn_latency import Turn, TurnLatencyTracker
from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from ravatar_live.ui.banner import Banner, BannerKind
from ravatar_live.ui.main_window import StreamArea
from ravatar_live.ui.stream_stats import StreamProblemPresenter, StreamStatsOverlay
from ravatar_live.ui.stream_view import StreamView, install_stats_probe
from ravatar_live.ui.theme import apply_theme
from tests.support.http import post_json as post

pytestmark = pytest.mark.gui

LIVE_AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
WAIT_MS = 30_000  # generous: the first QtWebEngine start on a 2-core CI box is slow
log = logging.getLogger("figures")




@dataclass
class Rig:
    """A stream view with the health parts bound, plus what they emitted."""

    view: StreamView
    health: StreamHealth
    overlay: StreamStatsOverlay
    banner: Banner
    tracker: TurnLatencyTracker
    stats: list[StreamStats] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    turns: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)


@pytest.fixture
def rig(qtbot, qapp) -> Iterator[Rig]:
    apply_theme(qapp)
    host = QWidget()
    layout = QVBoxLayout(host)
    layout.setContentsMargins(0, 0, 0, 0)
    view = StreamView(host)
    install_stats_probe(view.stream_page.profile())
    banner = Banner(host)
    area = StreamArea(view, banner, host)  # the main window's stream area, banner on top
    layout.addWidget(area)
    health = StreamHealth(no_frames_timeout_s=6.0)
    overlay = StreamStatsOverlay(area)
    tracker = TurnLatencyTracker(speaking_wait_s=10.0)
    rig = Rig(view, health, overlay, banner, tracker)
    # The wiring the integrator puts in the main window:
    view.page_message.connect(health.on_page_message)
    health.stats_updated.connect(overlay.show_stats)
    health.first_frame.connect(overlay.show_first_frame)
    health.avatar_audio_started.connect(tracker.on_avatar_audio_started)
    tracker.turn_updated.connect(overlay.show_turn)
    # No real browser can open in CI: the callback records instead.
    StreamProblemPresenter(health, banner, lambda: rig.opened.append("stream"))
    health.stats_updated.connect(rig.stats.append)
    health.problem.connect(lambda kind, text: rig.problems.append((kind, text)))
    tracker.turn_measured.connect(rig.turns.append)
    host.resize(900, 520)
    host.show()
    overlay.set_shown(True)
    yield rig
    host.close()
    Shiboken.delete(view.stream_page)
    Shiboken.delete(host)


def go_live(sim: SimulatorThread, rig: Rig, size: tuple[int, int] = (640, 360)) -> tuple[str, str]:
    token = post(sim.base_url + "/jwt", {"user_id": "health", "project_id": "health"})["jwt"]
    started = post(sim.base_url + "/startLiveSession",
                   {"avatar_id": LIVE_AVATAR, "width": str(size[0]), "height": str(size[1])},
                   token)
    rig.health.begin()
    rig.view.show_stream(stream_url_with_token(started["streamingUrl"], token), *size)
    return token, started["LicenseId"]


async def say(sim: SimulatorThread, token: str, license_id: str, text: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(f"{sim.ws_url}?token={token}") as ws:
        await ws.send_json({"avatar_id": LIVE_AVATAR, "user_id": "health", "chat_type": "text",
                            "requestType": "text", "language": "en", "isLive": True,
                            "LicenseId": license_id, "request": text})
        reply: dict[str, Any] = await ws.receive_json(timeout=10)
        return reply


def shot(rig: Rig, tmp_path: Path, name: str) -> Path:
    folder = Path(os.environ.get("RAVATAR_HEALTH_SHOT", str(tmp_path)))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    proxy = rig.view.focusProxy()  # offscreen, the web content lives in the focus proxy
    assert proxy is not None
    image = proxy.grab().toImage()
    assert image.save(str(path))
    host_path = folder / ("window-" + name)
    window = rig.view.window()
    assert window.grab().save(str(host_path))
    return path


def test_vp8_stream_decodes_reports_codec_and_first_frame(qtbot, rig: Rig, tmp_path) -> None:
    with SimulatorThread(SimulatorConfig(transcribe=False, stream_video_codec="VP8")) as sim:
        assert sim.call(lambda s: s.webrtc_enabled), sim.call(lambda s: s.webrtc_missing_reason())
        with qtbot.waitSignal(rig.health.first_frame, timeout=WAIT_MS) as first:
            token, license_id = go_live(sim, rig)
        first_frame_s = first.args[0]
        assert 0 < first_frame_s < 20
        qtbot.waitUntil(lambda: any(s.frames_decoded >= 10 and s.fps for s in rig.stats),
                        timeout=WAIT_MS)
        latest = rig.stats[-1]
        assert latest.video_codec == "VP8"
        assert latest.connected
        assert (latest.width, latest.height) == (640, 360)
        assert latest.bitrate_kbps is not None and latest.bitrate_kbps > 0
        assert rig.problems == []
        [player] = sim.call(lambda s: s.stream_players(license_id))
        assert (player["state"], player["codec"]) == ("connected", "VP8")
        frames_sent = player["frames_sent"]
        assert isinstance(frames_sent, int) and frames_sent > 0

        # One turn: a typed message; the reply and the avatar's voice on the stream follow.
        rig.tracker.on_user_turn("How are you?", "typed")
        reply = sim.run(say(sim, token, license_id, "How are you?"))
        rig.tracker.on_avatar_turn(reply["answer"])
        qtbot.waitUntil(lambda: bool(rig.turns), timeout=WAIT_MS)
        turn: Turn = rig.tracker.log.turns[0]
        assert turn.reply_s is not None and turn.speaking_s is not None
        assert turn.speaking_s >= turn.reply_s * 0.5  # the voice cannot precede the reply much
        assert "latency" in rig.turns[0]

        qtbot.waitUntil(lambda: rig.overlay.values()["Audio level"] not in ("\u2014", "silent"),
                        timeout=WAIT_MS)
        values = rig.overlay.values()
        assert values["Video codec"] == "VP8"
        assert values["Resolution"] == "640\u00d7360"
        assert values["First frame"].endswith(" s")
        assert values["Last turn"].startswith("reply ")
        path = shot(rig, tmp_path, "webrtc-vp8.png")
        log.info("figures: first frame %.2f s; overlay %s; turn reply %.2f s, voice %.2f s; %s",
                 first_frame_s, values, turn.reply_s, turn.speaking_s, path)


def test_h264_only_stream_is_explained_with_a_browser_offer(qtbot, rig: Rig, tmp_path) -> None:
    with SimulatorThread(SimulatorConfig(transcribe=False, stream_video_codec="H264")) as sim:
        with qtbot.waitSignal(rig.health.problem, timeout=WAIT_MS):
            _token, license_id = go_live(sim, rig)
        kind, text = rig.problems[0]
        assert kind == "codec"
        assert "H.264" in text and "web browser" in text
        # The stream itself connects (the audio flows): only its video is unusable here.
        qtbot.waitUntil(lambda: any(s.connected for s in rig.stats), timeout=WAIT_MS)
        assert all(s.frames_decoded == 0 for s in rig.stats)
        assert rig.stats[-1].offered_video == ("H264",)
        assert rig.health.first_frame_s is None
        [player] = sim.call(lambda s: s.stream_players(license_id))
        assert (player["state"], player["rejected"], player["codec"]) == (
            "connected", ["video"], None)

        assert rig.banner.isVisible()
        assert rig.banner.kind is BannerKind.ERROR
        assert "H.264" in rig.banner.text()
        rig.banner.action("Open in browser").click()
        assert rig.opened == ["stream"]
        assert "H.264" in rig.overlay.values()["Video codec"]
        shot(rig, tmp_path, "webrtc-h264.png")
