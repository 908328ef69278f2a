"""Choosing and switching stream players in the real window, on the embedded simulator streaming
real WebRTC (aiortc) in H.264, as Unreal does by default, or VP8.

The web view (QtWebEngine from PyPI) cannot decode H.264: in "auto" the app must notice the
refused video and switch to its own player at once, show the avatar (pixels checked), say so in
one calm line, and remember the stream host so the next session goes straight to the native
player. "web" and "native" never switch. Ending a session closes the native player before the
license ends. The avatar's sound button mutes both players and is remembered.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor

from ravatar_live.audio.far_end_web import FarEndBlock, PageClock, parse_far_end
from ravatar_live.live.player_choice import PlayerKind
from ravatar_live.live.states import SessionState, StreamStage
from ravatar_live.settings import Settings
from ravatar_live.simulator.threaded import SimulatorThread
from ravatar_live.ui.banner import BannerKind
from ravatar_live.ui.bubble import Role
from ravatar_live.ui.native_video import letterbox
from tests.gui.conftest import USER_ID, WAIT_MS, frame_js, in_every_frame, quick_simulator

pytestmark = pytest.mark.gui

REBECCA = QColor("#4f8cc9")  # the demo avatar's colour in the simulator's catalog
SWITCH_NOTICE = "cannot play this stream's H.264 video"


def webrtc(codec: str) -> Any:
    return quick_simulator(stream_webrtc=True, stream_video_codec=codec)


def settings(**changes: Any) -> Settings:
    return Settings(user_id=USER_ID, stream_width=640, stream_height=360, **changes)


def players_facts(app: Any) -> list[dict[str, Any]]:
    license_id = app.controller.session.license_id
    return list(app.sim.stream_players(license_id)) if license_id else []


def near(colour: QColor, want: QColor, tolerance: int = 28) -> bool:
    got = (colour.red(), colour.green(), colour.blue())
    return all(abs(a - b) <= tolerance for a, b in zip(
        got, (want.red(), want.green(), want.blue()), strict=True))


def avatar_head(app: Any) -> QColor:
    """The colour at the avatar's head in the native view (centre, 45 % down the picture)."""
    view = app.window.players.native_view
    assert view is not None and view.isVisible()
    picture = letterbox(view.size(), QSize(640, 360))
    image = view.grab().toImage()
    return image.pixelColor(picture.center().x(), picture.top() + round(picture.height() * 0.45))


def wait_native_frames(app: Any, count: int = 5) -> None:
    app.qtbot.waitUntil(lambda: app.window.players.native_view is not None
                        and app.window.players.native_view.frames_shown >= count,
                        timeout=WAIT_MS)


def notices(app: Any) -> list[str]:
    return app.window.conversation.texts(Role.NOTICE)


def test_auto_switches_to_the_native_player_when_the_web_view_refuses_h264(make_app) -> None:
    app = make_app(sim=webrtc("H264"), settings=settings())
    app.go_live()
    players = app.controller.players
    app.qtbot.waitUntil(lambda: players.active is PlayerKind.NATIVE, timeout=WAIT_MS)
    wait_native_frames(app)
    assert app.window.stream_area.current_view is app.window.players.native_view
    assert near(avatar_head(app), REBECCA), avatar_head(app).getRgb()

    # The simulator saw both: the web view refused the H.264 video, the native player took it.
    app.qtbot.waitUntil(lambda: any(f["codec"] == "H264" and f["frames_sent"] > 0
                                    for f in players_facts(app)), timeout=WAIT_MS)
    [switch] = players.switches
    assert (switch.leaving, switch.to, switch.reason) == (PlayerKind.WEB, PlayerKind.NATIVE,
                                                          "codec")
    # Within 1 s of the refusal: the web view's answer (video port 0) reached the streamer at
    # `answered_at`, on the same monotonic clock (the demo simulator runs in this process).
    license_id = app.controller.session.license_id
    app.qtbot.waitUntil(lambda: bool(app.sim.departed_stream_players(license_id)),
                        timeout=WAIT_MS)  # the web view let go of the page
    refused = [f for f in app.sim.departed_stream_players(license_id)
               if f["rejected"] == ["video"]]
    assert refused and refused[0]["answered_at"] is not None
    assert switch.at - refused[0]["answered_at"] < 1.0, switch.at - refused[0]["answered_at"]

    # One calm line, no error banner; the overlay names the player; the stream plays.
    assert sum(SWITCH_NOTICE in text for text in notices(app)) == 1
    assert app.window.banner.kind is not BannerKind.ERROR or not app.window.banner.isVisible()
    assert app.window.stats_overlay.values()["Player"] == "App's own"
    assert app.controller.stream.stage is StreamStage.PLAYING
    assert app.controller.health.first_frame_s is not None
    assert players.memory.recall("127.0.0.1") is PlayerKind.NATIVE


def test_the_next_session_goes_straight_to_the_remembered_native_player(make_app) -> None:
    app = make_app(sim=webrtc("H264"), settings=settings())
    app.controller.players.memory.remember("127.0.0.1", PlayerKind.NATIVE)
    app.go_live()
    players = app.controller.players
    assert players.active is PlayerKind.NATIVE
    assert players.warm_up is None, "demo mode: the simulator's own start would compete"
    wait_native_frames(app)
    assert players.switches == []
    facts = players_facts(app)
    assert [f["codec"] for f in facts] == ["H264"], "only the native player connected"
    assert not any(SWITCH_NOTICE in text for text in notices(app))


@pytest.fixture
def remote_h264() -> Iterator[SimulatorThread]:
    with SimulatorThread(webrtc("H264")) as sim:
        yield sim


def test_a_service_s_session_loads_the_remembered_native_player_while_it_starts(
        remote_h264: SimulatorThread, make_app) -> None:
    app = make_app(settings=settings(project_id="warm-up-test", api_url=remote_h264.base_url),
                   demo=False)
    players = app.controller.players
    players.memory.remember("127.0.0.1", PlayerKind.NATIVE)
    app.go_live()
    # Its modules were loaded on a worker thread while the license was requested.
    warm_up = players.warm_up
    assert warm_up is not None
    app.qtbot.waitUntil(warm_up.done, timeout=WAIT_MS)
    assert warm_up.exception() is None
    assert players.active is PlayerKind.NATIVE and players.switches == []
    wait_native_frames(app)


def test_a_start_at_launch_loads_the_remembered_native_player_while_it_connects(
        remote_h264: SimulatorThread, make_app) -> None:
    app = make_app(settings=settings(project_id="warm-up-test", api_url=remote_h264.base_url),
                   demo=False, connect=False)
    players = app.controller.players
    players.memory.remember("127.0.0.1", PlayerKind.NATIVE)
    loading_when_connected: list[bool] = []
    app.controller.connection.connected.connect(
        lambda *_: loading_when_connected.append(players.warm_up is not None))
    app.run(app.controller.startup(start_session=True))  # what --start does
    assert loading_when_connected == [True], "the modules load before the license is asked"
    app.wait_stream(StreamStage.PLAYING)
    assert players.active is PlayerKind.NATIVE and players.switches == []
    assert players.warm_up is not None and players.warm_up.exception() is None


def test_a_service_s_session_with_no_player_remembered_loads_none_ahead(
        remote_h264: SimulatorThread, make_app) -> None:
    app = make_app(settings=settings(project_id="warm-up-test", api_url=remote_h264.base_url),
                   demo=False)
    players = app.controller.players
    app.go_live()
    # The web view first; the native player only once it has refused the H.264 video.
    app.qtbot.waitUntil(lambda: players.active is PlayerKind.NATIVE, timeout=WAIT_MS)
    assert [(s.leaving, s.to) for s in players.switches] == [(PlayerKind.WEB, PlayerKind.NATIVE)]
    assert players.warm_up is None


def test_auto_keeps_the_web_view_when_it_can_play_vp8(make_app) -> None:
    app = make_app(sim=webrtc("VP8"), settings=settings())
    app.go_live()
    health = app.controller.health
    app.qtbot.waitUntil(lambda: health.first_frame_s is not None, timeout=WAIT_MS)
    players = app.controller.players
    assert players.active is PlayerKind.WEB and players.switches == []
    assert players.native is None, "the native player is not even loaded"
    assert players.warm_up is None, "nor loaded ahead: nothing said it would be needed"
    assert app.window.stream_area.current_view is app.window.stream_view
    assert players.memory.recall("127.0.0.1") is PlayerKind.WEB


def test_the_web_choice_never_switches_and_explains_the_codec(make_app) -> None:
    app = make_app(sim=webrtc("H264"), settings=settings(stream_player="web"))
    app.go_live()
    banner = app.window.banner
    app.qtbot.waitUntil(lambda: banner.isVisible() and banner.kind is BannerKind.ERROR
                        and "H.264" in banner.text(), timeout=WAIT_MS)
    assert banner.action("Open in browser") is not None
    players = app.controller.players
    assert players.active is PlayerKind.WEB and players.switches == []
    assert players.native is None


def test_the_native_choice_plays_vp8_too(make_app) -> None:
    app = make_app(sim=webrtc("VP8"), settings=settings(stream_player="native"))
    app.go_live()
    wait_native_frames(app)
    assert near(avatar_head(app), REBECCA), avatar_head(app).getRgb()
    app.qtbot.waitUntil(lambda: [f["codec"] for f in players_facts(app)] == ["VP8"],
                        timeout=WAIT_MS)


def test_ending_closes_the_native_player_before_the_license(make_app, caplog) -> None:
    caplog.set_level(logging.INFO)
    app = make_app(sim=webrtc("H264"), settings=settings(stream_player="native"))
    license_id = app.go_live()
    wait_native_frames(app)
    native = app.controller.players.native
    assert native is not None and native.running
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    assert not native.running
    assert not [t for t in threading.enumerate() if "native" in t.name.lower() and t.is_alive()]
    lines = [r.getMessage() for r in caplog.records]
    stopped = next(i for i, m in enumerate(lines) if "native stream player stopped" in m)
    ended = next(i for i, m in enumerate(lines) if f"license {license_id} ended" in m)
    assert stopped < ended, "the native player let go before /endLiveSession"
    assert app.sim.stats()["live"] == 0
    # The web view shows the idle placeholder again.
    assert app.window.stream_area.current_view is app.window.stream_view


def test_the_sound_button_sets_both_players_and_is_remembered(make_app) -> None:
    app = make_app(sim=webrtc("H264"), settings=settings(stream_player="native"))
    app.go_live()
    wait_native_frames(app)
    button = app.window.sound_button
    assert button.isVisible() and button.accessibleName() == "Avatar sound"
    button.volume_slider.setValue(40)
    button.click()  # mute
    native = app.controller.players.native
    assert native is not None and native._muted and native._volume == pytest.approx(0.4)
    assert app.window.stream_view.page().isAudioMuted()
    assert app.window.stream_view.avatar_gain == 0.0  # the web view's player: silent
    saved = app.store.load()
    assert (saved.avatar_muted, saved.avatar_volume) == (True, 40)
    assert app.controller.settings.avatar_muted
    button.click()  # unmute
    assert not native._muted and not app.window.stream_view.page().isAudioMuted()
    assert app.window.stream_view.avatar_gain == pytest.approx(0.4)


def test_the_native_player_pauses_the_avatar_while_the_user_talks_over_it(make_app) -> None:
    """The voice controller's barge-in pause (audio/voice.py; when it asks is tested in
    tests/unit/test_echo.py) silences the native player and leaves the user's own mute as it
    was (the web view's pause: the next test)."""
    app = make_app(sim=webrtc("H264"), settings=settings(stream_player="native"))
    app.go_live()
    wait_native_frames(app)
    native = app.controller.players.native
    assert native is not None and not native._muted
    pause = app.controller.voice.controller.on_avatar_yield
    pause.emit(True)
    assert native._muted and not app.window.stream_view.page().isAudioMuted()
    assert app.controller.players.avatar_pauses == 1
    pause.emit(False)
    assert not native._muted
    app.window.sound_button.click()  # the user mutes the avatar
    pause.emit(True)
    pause.emit(False)
    assert native._muted, "the pause ended and took the user's mute with it"


def test_auto_switches_when_the_web_view_shows_no_frames_in_time(make_app) -> None:
    # The canvas page (no WebRTC) lets a stand-in probe report say "connected, no frame yet"
    # (the simulator cannot connect WebRTC and then withhold frames); it travels the real path
    # from the web view's page_message.
    app = make_app(settings=settings())
    app.controller.health.set_no_frames_timeout(0.2)
    app.go_live()
    report = {"kind": "stats", "state": "connected", "framesDecoded": 0, "framesReceived": 0,
              "videoCodec": "VP8", "hasVideo": True}
    app.window.stream_view.page_message.emit("ravatar-stats " + json.dumps(report))
    players = app.controller.players
    app.qtbot.waitUntil(lambda: bool(players.switches), timeout=WAIT_MS)
    assert players.switches[0].reason == "no-frames"
    assert any("showed no video in 0.2 seconds" in text for text in notices(app))


def test_the_web_view_plays_the_avatar_itself_and_its_reference_follows_its_pause(
        make_app) -> None:
    """The stream frame's probe plays the avatar's track through its own volume stage and taps
    it after that stage (resources/stream_stats.js): the page's own video element is muted, and
    stays so when the page unmutes it; while the avatar pauses for the user the echo
    canceller's reference is silent, though the avatar goes on speaking; after the pause it is
    heard again. A silent block comes as its length alone, not as 11 kB of zeros."""
    app = make_app(sim=quick_simulator(stream_webrtc=True, stream_video_codec="VP8",
                                       stream_voice=True),
                   settings=settings(stream_player="web"))
    players = app.controller.players
    peaks: list[int] = []  # each far-end block's loudest sample, as the app receives them
    sizes: list[int] = []  # and its message's length
    clock = PageClock()

    def on_far_end(data: str) -> None:
        block = parse_far_end(data, time.monotonic(), clock)
        if isinstance(block, FarEndBlock):
            peaks.append(int(np.abs(block.samples.astype(np.int32)).max()))
            sizes.append(len(data))

    players.web_far_end.connect(on_far_end)
    app.go_live()
    app.qtbot.waitUntil(lambda: len(peaks) >= 3, timeout=WAIT_MS)
    assert frame_js(app, "document.querySelector('video').muted") is True
    frame_js(app, "document.querySelector('video').muted = false; 1")  # as a page might
    app.qtbot.waitUntil(lambda: frame_js(app, "document.querySelector('video').muted") is True,
                        timeout=WAIT_MS)

    def spoken() -> int:
        return sum(p["samples_spoken"] for p in players_facts(app))

    def heard_after(start: int) -> bool:
        return any(peak > 1000 for peak in peaks[start:])

    app.controller.chat.send_text("Tell me more")
    app.qtbot.waitUntil(lambda: heard_after(0), timeout=WAIT_MS)
    pause = app.controller.voice.controller.on_avatar_yield
    pause.emit(True)
    settled = len(peaks) + 3  # the blocks under way when the gain changed
    app.qtbot.waitUntil(lambda: len(peaks) >= settled, timeout=WAIT_MS)
    spoken_before, start = spoken(), len(peaks)
    app.qtbot.waitUntil(lambda: len(peaks) >= start + 4, timeout=WAIT_MS)
    assert spoken() > spoken_before, "the avatar stopped speaking: the pause proves nothing"
    assert peaks[start:start + 4] == [0] * 4, "the reference is not what the frame plays"
    assert max(sizes[start:start + 4]) < 200, "silence was posted sample by sample"
    assert min(size for size, peak in zip(sizes, peaks, strict=True) if peak) > 4096
    assert players.avatar_pauses == 1
    pause.emit(False)
    resumed = len(peaks)
    app.controller.chat.send_text("Tell me more")
    app.qtbot.waitUntil(lambda: heard_after(resumed), timeout=WAIT_MS)


@pytest.fixture
def counted_audio_contexts() -> Iterator[None]:
    """Every AudioContext a frame makes is kept in `window.__testContexts` (the probe's is
    made when the avatar's track arrives), for one test."""
    with in_every_frame("test-audio-contexts", """(function () {
  var Real = window.AudioContext;
  if (!Real) { return; }
  window.__testContexts = [];
  window.AudioContext = function (options) {
    var ctx = options === undefined ? new Real() : new Real(options);
    window.__testContexts.push(ctx);
    return ctx;
  };
  window.AudioContext.prototype = Real.prototype;
})();"""):
        yield


def test_the_page_plays_its_own_sound_again_while_the_probe_s_audio_stops(
        make_app, counted_audio_contexts) -> None:
    """The probe's audio context can stop (suspended, its device gone): the avatar must not go
    silent, so the page's element is unmuted meanwhile, and muted again when it runs."""
    app = make_app(sim=quick_simulator(stream_webrtc=True, stream_video_codec="VP8",
                                       stream_voice=True),
                   settings=settings(stream_player="web"))
    app.go_live()
    muted = "document.querySelector('video').muted"
    app.qtbot.waitUntil(lambda: frame_js(app, muted) is True, timeout=WAIT_MS)
    assert frame_js(app, "window.__testContexts.length") == 1
    frame_js(app, "window.__testContexts[0].suspend(); 1")
    app.qtbot.waitUntil(lambda: frame_js(app, muted) is False, timeout=WAIT_MS)
    frame_js(app, "window.__testContexts[0].resume(); 1")
    app.qtbot.waitUntil(lambda: frame_js(app, muted) is True, timeout=WAIT_MS)


def renderer_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_hidden_web_view_lets_its_renderer_go_while_the_native_player_plays(
        make_app) -> None:
    """A hidden page's renderer process holds ~70 MiB for nothing while the native player shows
    the stream (bench/bench_vs_browser.py): the web view lets it go, is not woken by what only
    the web player needs (its gain), and loads the host page again when it is shown."""
    app = make_app(sim=webrtc("H264"), settings=settings(stream_player="native"))
    view = app.window.stream_view
    app.qtbot.waitUntil(lambda: view.host_ready, timeout=WAIT_MS)
    pid = view.page().renderProcessPid()
    assert pid > 0 and renderer_alive(pid)
    app.go_live()
    wait_native_frames(app)
    assert view.renderer_released and not view.isVisible()
    app.qtbot.waitUntil(lambda: not renderer_alive(pid), timeout=WAIT_MS)
    app.window.sound_button.click()  # mute: a new gain for the web view's player
    assert view.renderer_released and view.avatar_gain == 0.0
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    assert app.window.stream_area.current_view is view
    app.qtbot.waitUntil(lambda: view.host_ready, timeout=WAIT_MS)
    assert not view.renderer_released
    assert renderer_alive(view.page().renderProcessPid())
    assert view.page().url().scheme() == "ravatar-host"
