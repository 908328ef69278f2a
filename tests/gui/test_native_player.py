"""NativeStreamPlayer end to end against a real Pixel Streaming server on 127.0.0.1 running on
its own thread (tests.support.signalling_server: page access, Epic's signalling, a real aiortc
streamer sending H.264 or VP8 and an Opus tone), shown in a real NativeVideoView (offscreen).

Checks the picture (not black: the pattern's teal and orange), the signals the integrator binds,
stop() bounded with no thread left behind, refused access, `streamerDisconnected`, reconnect
after a dropped socket, and giving up when the server is gone.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor

from ravatar_live.api.backoff import BackoffPolicy
from ravatar_live.stream.connection import ConnectionSettings
from ravatar_live.stream.player import NativeStreamPlayer
from ravatar_live.stream.stats import StreamStats
from ravatar_live.stream.worker import PlayerSettings
from ravatar_live.ui.native_video import NativeVideoView
from tests.gui.conftest import run
from tests.support.signalling_server import TOKEN, ServerOptions, ServerThread
from tests.support.streamer import ORANGE, TEAL

WAIT_MS = 30_000
PLAYER_THREADS = ("native-stream-player", "video-decoder", "audio-decoder")
FAST = PlayerSettings(
    connection=ConnectionSettings(config_wait_s=0.5, streamer_poll_s=0.1, offer_timeout_s=10,
                                  ice_timeout_s=15, ping_interval_s=0.5),
    reconnect=BackoffPolicy(base_s=0.1, cap_s=0.4, max_attempts=3), stats_interval_s=0.25,
    audio_backends=())  # no audio device here; tests/e2e plays through PulseAudio


@pytest.fixture
def make_server() -> Iterator[Any]:
    made: list[ServerThread] = []

    def factory(**options: Any) -> ServerThread:
        server = ServerThread(ServerOptions(**options))
        made.append(server)
        return server

    yield factory
    for server in made:
        server.close()


@pytest.fixture
def make_player(aloop: Any, qtbot: Any) -> Iterator[Any]:
    players: list[NativeStreamPlayer] = []

    def factory(settings: PlayerSettings = FAST) -> NativeStreamPlayer:
        player = NativeStreamPlayer(settings)
        players.append(player)
        return player

    yield factory
    for player in players:
        run(qtbot, aloop, player.stop(timeout_s=5.0))


class Recorder:
    def __init__(self, player: NativeStreamPlayer) -> None:
        self.started = 0
        self.closed: list[str] = []
        self.problems: list[tuple[str, str]] = []
        self.first_frames: list[float] = []
        self.stats: list[StreamStats] = []
        self.onsets = 0
        player.session_started.connect(self._started)
        player.session_closed.connect(self.closed.append)
        player.problem.connect(lambda kind, text: self.problems.append((kind, text)))
        player.first_frame.connect(self.first_frames.append)
        player.stats_updated.connect(self.stats.append)
        player.avatar_audio_started.connect(self._onset)

    def _started(self) -> None:
        self.started += 1

    def _onset(self) -> None:
        self.onsets += 1


def player_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in PLAYER_THREADS]


def near(colour: QColor, want: tuple[int, int, int], tolerance: int = 30) -> bool:
    return all(abs(a - b) <= tolerance
               for a, b in zip((colour.red(), colour.green(), colour.blue()), want, strict=True))


@pytest.mark.parametrize("codec", ["H264", "VP8"])
def test_the_stream_plays_in_the_view_and_stop_leaves_nothing(
        make_server: Any, make_player: Any, qtbot: Any, aloop: Any, codec: str) -> None:
    server = make_server(codec=codec, width=1280, height=720)
    player = make_player()
    record = Recorder(player)
    view = NativeVideoView(player.video_sink)
    view.display_area_changed.connect(player.set_display_area)
    qtbot.addWidget(view)
    view.resize(640, 480)  # taller than 16:9: black bars above and below
    view.show()
    assert player_threads() == []

    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        player.start(server.server.page_url())
    qtbot.waitUntil(lambda: view.frames_shown >= 5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(record.stats) and record.stats[-1].frames_decoded >= 20,
                    timeout=WAIT_MS)

    stats = record.stats[-1]
    assert stats.video_codec == codec and stats.audio_codec == "OPUS"
    assert stats.offered_video == (codec,)
    assert stats.state == "connected" and (stats.width, stats.height) == (1280, 720)
    assert stats.fps is not None and stats.fps > 5
    assert stats.rtt_source == "signalling" or stats.rtt_ms is None
    assert len(record.first_frames) == 1 and 0 < record.first_frames[0] < WAIT_MS / 1000
    # The picture, letter-boxed: 640 wide -> 360 high, centred in 480; the player's thread made
    # the frames at that size (the stream is 1280x720), so painting is a copy.
    assert view.frame_size == QSize(640, 360)
    assert view.picture_rect().getRect() == (0, 60, 640, 360)
    image = view.grab().toImage()
    assert near(image.pixelColor(80, 260), TEAL), image.pixelColor(80, 260).getRgb()
    assert near(image.pixelColor(560, 260), ORANGE), image.pixelColor(560, 260).getRgb()
    assert near(image.pixelColor(320, 20), (0, 0, 0), 5)  # the bar above the picture
    assert near(image.pixelColor(320, 460), (0, 0, 0), 5)

    started = time.monotonic()
    assert run(qtbot, aloop, player.stop(timeout_s=1.0)) is True
    assert time.monotonic() - started < 2.0
    assert player_threads() == []
    assert not player.running
    assert record.closed == []  # stopping is not the stream ending


def test_the_avatar_voice_onset_is_reported_without_an_audio_device(
        make_server: Any, make_player: Any, qtbot: Any) -> None:
    server = make_server(voice_after_s=1.0)
    player = make_player()
    record = Recorder(player)
    with qtbot.waitSignal(player.avatar_audio_started, timeout=WAIT_MS):
        player.start(server.server.page_url())
    qtbot.waitUntil(lambda: any((s.audio_level or 0) > 0.05 for s in record.stats),
                    timeout=WAIT_MS)
    assert record.onsets == 1


def our_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the app's own loggers wrote (the test server's access log shows URLs)."""
    return "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith("ravatar_live"))


def test_refused_access_is_a_problem_and_closes_the_session(
        make_server: Any, make_player: Any, qtbot: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_server()
    player = make_player()
    record = Recorder(player)
    with qtbot.waitSignal(player.session_closed, timeout=WAIT_MS) as closed:
        player.start(server.server.page_url(token="not-the-token"))
    assert "refused access" in closed.args[0]
    assert [kind for kind, _ in record.problems] == ["access"]
    assert record.started == 0
    assert server.server.players == []  # it never reached the signalling
    assert "not-the-token" not in our_log(caplog)
    assert "refused access" in our_log(caplog)


def test_streamer_disconnected_closes_the_session(make_server: Any, make_player: Any,
                                                  qtbot: Any) -> None:
    server = make_server()
    player = make_player()
    record = Recorder(player)
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        player.start(server.server.page_url())
    with qtbot.waitSignal(player.session_closed, timeout=WAIT_MS) as closed:
        server.call(server.server.disconnect_streamer())
    assert "ended" in closed.args[0]
    assert record.started == 1 and record.problems == []


def test_a_dropped_socket_reconnects_and_starts_again(
        make_server: Any, make_player: Any, qtbot: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_server()
    player = make_player()
    record = Recorder(player)
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        player.start(server.server.page_url())
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        server.call(server.server.drop_players())
    assert record.started == 2
    assert len(server.server.players) == 2  # a second signalling connection
    assert len(record.first_frames) == 1  # first_frame is once per start()
    assert record.closed == [] and record.problems == []
    log = our_log(caplog)
    assert "reconnecting in" in log
    assert TOKEN not in log and "token=" not in log  # never the token, never its URL


def test_reconnects_are_given_up_when_the_server_is_gone(make_server: Any, make_player: Any,
                                                         qtbot: Any) -> None:
    server = make_server()
    player = make_player()
    record = Recorder(player)
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        player.start(server.server.page_url())
    with qtbot.waitSignal(player.session_closed, timeout=WAIT_MS) as closed:
        server.close()
    assert "could not be reconnected after 3 attempts" in closed.args[0]
    assert [kind for kind, _ in record.problems] == ["connection"]
    assert any(s.state == "reconnecting" for s in record.stats) or record.stats


NO_AUDIO_CHILD = textwrap.dedent("""
    import json, sys, time
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from ravatar_live.stream.connection import ConnectionSettings
    from ravatar_live.stream.player import NativeStreamPlayer
    from ravatar_live.stream.worker import PlayerSettings

    player = NativeStreamPlayer(PlayerSettings(
        connection=ConnectionSettings(config_wait_s=0.5, streamer_poll_s=0.1),
        stats_interval_s=0.25))
    seen = {"devices": [d.name for d in player.output_devices()], "problems": [], "frames": 0}
    player.problem.connect(lambda kind, text: seen["problems"].append([kind, text]))
    player.stats_updated.connect(lambda s: seen.update(frames=s.frames_decoded))
    player.start(sys.argv[1])
    deadline = time.monotonic() + 30
    while seen["frames"] < 10 and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    print(json.dumps(seen))
    sys.stdout.flush()
""")


def test_no_audio_device_is_one_plain_notice_and_the_video_plays(
        make_server: Any, tmp_path: Path) -> None:
    """In a child process whose PulseAudio is unreachable (this test session may run one for
    the e2e tests) on a machine without a sound card, as CI is."""
    server = make_server()
    client_conf = tmp_path / "client.conf"
    client_conf.write_text("autospawn = no\n")
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket",
           "PULSE_CLIENTCONFIG": str(client_conf), "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", NO_AUDIO_CHILD, server.server.page_url()],
                            env=env, capture_output=True, text=True, timeout=90, check=False)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"the child failed: {result.stderr[-1500:]}"
    seen = json.loads(lines[-1])
    if seen["devices"]:
        pytest.skip(f"this machine has a sound card ({seen['devices']}); the notice is for "
                    "machines without one")
    assert seen["frames"] >= 10  # the video plays
    audio = [text for kind, text in seen["problems"] if kind == "audio"]
    assert len(audio) == 1, seen["problems"]
    assert "No audio output device" in audio[0] and "video still plays" in audio[0]


@pytest.mark.parametrize("moment", ["at once", "while connecting", "while retrying"])
def test_stop_is_bounded_at_any_moment(make_server: Any, make_player: Any, qtbot: Any,
                                       aloop: Any, moment: str) -> None:
    server = make_server()
    player = make_player()
    url = server.server.page_url()
    if moment == "while retrying":
        url = "http://127.0.0.1:9/?token=x"  # nothing listens: the player backs off and retries
    player.start(url)
    if moment == "while connecting":
        qtbot.waitUntil(lambda: bool(server.server.players), timeout=WAIT_MS)
    elif moment == "while retrying":
        qtbot.waitUntil(lambda: player.latest_stats is not None
                        and player.latest_stats.state == "reconnecting", timeout=WAIT_MS)
    started = time.monotonic()
    assert run(qtbot, aloop, player.stop(timeout_s=1.0)) is True
    assert time.monotonic() - started < 1.5
    assert player_threads() == []


def test_the_workers_signal_bridge_outlives_the_player(qapp) -> None:
    """The worker emits on its bridge from its own thread until it has finished; the player
    (stopping, or deleted with the window) must not delete the bridge under it. It did
    (deleteLater), and a late emit crashed the process."""
    player = NativeStreamPlayer(PlayerSettings(audio_backends=()))
    player.start("http://127.0.0.1:9/?token=x")  # refused: the worker keeps trying meanwhile
    worker = player._worker
    assert worker is not None
    bridge = worker._events
    shiboken6.delete(player)  # the window closed while the worker still runs
    try:
        assert shiboken6.isValid(bridge)
        bridge.session_closed("late")  # what the worker does next: nobody listens, no harm
        bridge.stats(StreamStats(state="closed"))
    finally:
        worker.request_stop()
        worker.thread.join(timeout=10)
    assert not worker.thread.is_alive()
