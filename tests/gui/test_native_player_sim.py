"""NativeStreamPlayer against the real simulator: each license's own Pixel Streaming instance
(page access with the token and a cookie, Epic's signalling, an aiortc streamer sending the
avatar in H.264 by default, like Unreal). The simulator runs on its own thread; the player and
a NativeVideoView run here (offscreen).

What the simulator's test hooks let us check from its side: which codec the player answered,
that frames were sent, what the player said on the signalling socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from PySide6.QtGui import QColor

from ravatar_live.api.backoff import BackoffPolicy
from ravatar_live.api.urls import stream_url_with_token
from ravatar_live.simulator.server import PlayerFacts, SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from ravatar_live.stream.connection import ConnectionSettings
from ravatar_live.stream.player import NativeStreamPlayer
from ravatar_live.stream.stats import StreamStats
from ravatar_live.stream.worker import PlayerSettings
from ravatar_live.ui.native_video import NativeVideoView
from tests.gui.conftest import run
from tests.support.http import post_json

WAIT_MS = 30_000
LIVE_AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
REBECCA = QColor("#4f8cc9")  # the live avatar's colour in the simulator's catalog
USER = "native-user"
FAST = PlayerSettings(
    connection=ConnectionSettings(config_wait_s=0.5, streamer_poll_s=0.2, ping_interval_s=0.5),
    reconnect=BackoffPolicy(base_s=0.2, cap_s=0.8, max_attempts=3), stats_interval_s=0.25,
    audio_backends=())  # no audio device in tests/gui; tests/e2e plays through PulseAudio


def simulator(**changes: Any) -> SimulatorThread:
    config = {"port": 0, "transcribe": False, "max_licenses": 8, "stream_ping_interval_s": 0.5,
              "stream_voice": False, **changes}
    return SimulatorThread(SimulatorConfig(**config))


@pytest.fixture
def make_sim() -> Iterator[Any]:
    made: list[SimulatorThread] = []

    def factory(**changes: Any) -> SimulatorThread:
        sim = simulator(**changes).start()
        assert sim.call(lambda s: s.webrtc_enabled), sim.call(lambda s: s.webrtc_missing_reason())
        made.append(sim)
        return sim

    yield factory
    for sim in made:
        sim.stop()


class Live:
    """One live session on the simulator, as the app starts it (REST, token appended)."""

    def __init__(self, sim: SimulatorThread, user: str = USER) -> None:
        self.sim = sim
        self.token = post_json(sim.base_url + "/jwt",
                               {"user_id": user, "project_id": "native-project"})["jwt"]
        started = post_json(sim.base_url + "/startLiveSession",
                            {"avatar_id": LIVE_AVATAR, "width": "640", "height": "360"},
                            self.token)
        self.license_id: str = started["LicenseId"]
        self.streaming_url: str = started["streamingUrl"]
        self.url = stream_url_with_token(self.streaming_url, self.token)

    def players(self) -> list[PlayerFacts]:
        return self.sim.call(lambda s: s.stream_players(self.license_id))

    def signalling_in(self) -> list[str]:
        """Message types the player sent."""
        log = self.sim.call(lambda s: s.signalling_log(self.license_id))
        return [entry["type"] for entry in log if entry["direction"] == "in"]

    def end(self) -> None:
        post_json(self.sim.base_url + "/endLiveSession", {"LicenseId": self.license_id},
                  self.token)


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


def near(colour: QColor, want: QColor, tolerance: int = 24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(
        (colour.red(), colour.green(), colour.blue()), (want.red(), want.green(), want.blue()),
        strict=True))


def latest(stats: list[StreamStats]) -> StreamStats | None:
    return stats[-1] if stats else None


@pytest.mark.parametrize("codec", ["H264", "VP8"])
def test_the_simulators_stream_plays_and_shows_the_avatar(make_sim: Any, make_player: Any,
                                                          qtbot: Any, codec: str) -> None:
    sim = make_sim(stream_video_codec=codec)
    live = Live(sim)
    player = make_player()
    stats: list[StreamStats] = []
    player.stats_updated.connect(stats.append)
    view = NativeVideoView(player.video_sink)
    qtbot.addWidget(view)
    view.resize(640, 360)
    view.show()
    with qtbot.waitSignal(player.first_frame, timeout=WAIT_MS):
        player.start(live.url)
    qtbot.waitUntil(lambda: view.frames_shown >= 5, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: (s := latest(stats)) is not None and s.frames_decoded >= 10
                    and s.rtt_ms is not None, timeout=WAIT_MS)

    image = view.grab().toImage()
    head = image.pixelColor(320, round(360 * 0.45))
    assert near(head, REBECCA), f"the avatar's head is {head.getRgb()}, not Rebecca's colour"
    last = stats[-1]
    assert (last.video_codec, last.audio_codec, last.offered_video) == (codec, "OPUS", (codec,))
    assert (last.width, last.height) == (640, 360) and last.state == "connected"
    assert last.rtt_source == "signalling"
    # The simulator's side: our answer chose the codec, frames went out, its pings answered.
    qtbot.waitUntil(lambda: live.players()[0]["pongs_received"] >= 1, timeout=WAIT_MS)
    [facts] = live.players()
    assert facts["codec"] == codec and facts["rejected"] == [] and facts["frames_sent"] > 0
    assert facts["state"] == "connected"
    sent = [kind for kind in live.signalling_in() if kind not in ("ping", "pong")]
    assert sent[0] == "listStreamers" and sent[1:3] == ["subscribe", "answer"]
    live.end()


@pytest.mark.parametrize(("preference", "streamed"), [(("H264", "VP8"), "H264"),
                                                      (("VP8", "H264"), "VP8")])
def test_with_both_codecs_offered_the_preference_decides(
        make_sim: Any, make_player: Any, qtbot: Any, preference: tuple[str, ...],
        streamed: str) -> None:
    sim = make_sim(stream_video_codec="negotiate")
    live = Live(sim)
    connection = ConnectionSettings(config_wait_s=0.5, streamer_poll_s=0.2,
                                    video_preference=preference)
    player = make_player(PlayerSettings(connection=connection, stats_interval_s=0.25,
                                        audio_backends=()))
    stats: list[StreamStats] = []
    player.stats_updated.connect(stats.append)
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        player.start(live.url)
    qtbot.waitUntil(lambda: (s := latest(stats)) is not None and s.frames_decoded > 0,
                    timeout=WAIT_MS)
    assert stats[-1].video_codec == streamed
    assert set(stats[-1].offered_video) == {"H264", "VP8"}
    assert live.players()[0]["codec"] == streamed
    live.end()


@pytest.mark.parametrize("case", ["bad token", "another user's token", "ended license"])
def test_refused_access_closes_the_session(make_sim: Any, make_player: Any, qtbot: Any,
                                           case: str) -> None:
    sim = make_sim()
    live = Live(sim)
    if case == "bad token":
        url = stream_url_with_token(live.streaming_url, "not-a-valid-token")
    elif case == "another user's token":
        url = stream_url_with_token(live.streaming_url,
                                    sim.call(lambda s: s.mint_token("someone-else")))
    else:
        live.end()  # the instance goes with its license: its port refuses connections
        assert sim.call(lambda s: s.stream_origin(live.license_id)) is None
        url = live.url
    player = make_player()
    problems: list[tuple[str, str]] = []
    player.problem.connect(lambda kind, text: problems.append((kind, text)))
    with qtbot.waitSignal(player.session_closed, timeout=WAIT_MS) as closed:
        player.start(url)
    if case == "ended license":
        # A refused port is a connection that cannot be made: retried, then given up.
        assert "could not be reconnected" in closed.args[0]
        assert [kind for kind, _ in problems] == ["connection"]
    else:
        assert "refused access" in closed.args[0]
        assert [kind for kind, _ in problems] == ["access"]
        assert live.signalling_in() == []  # refused at the page: no signalling at all
        live.end()


def test_ending_the_license_closes_the_session(make_sim: Any, make_player: Any,
                                               qtbot: Any) -> None:
    sim = make_sim()
    live = Live(sim)
    player = make_player()
    problems: list[tuple[str, str]] = []
    player.problem.connect(lambda kind, text: problems.append((kind, text)))
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        player.start(live.url)
    with qtbot.waitSignal(player.session_closed, timeout=WAIT_MS) as closed:
        live.end()  # the instance sends streamerDisconnected and closes
    assert "ended" in closed.args[0]
    assert problems == []


def test_a_network_drop_reconnects_to_the_same_stream(make_sim: Any, make_player: Any,
                                                      qtbot: Any) -> None:
    sim = make_sim()
    live = Live(sim)
    player = make_player()
    started: list[int] = []
    player.session_started.connect(lambda: started.append(1))
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        player.start(live.url)
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        assert sim.run(sim.sim.drop_stream_players(live.license_id)) == 1
    assert len(started) == 2
    players = sim.run(sim.sim.wait_for_stream(
        live.license_id, lambda ps: len(ps) == 1 and ps[0]["frames_sent"] > 0))
    assert players[0]["codec"] == "H264"
    assert live.signalling_in().count("subscribe") == 2
    live.end()


def test_the_avatars_voice_onset_is_reported(make_sim: Any, make_player: Any, qtbot: Any,
                                             aloop: Any) -> None:
    """The avatar speaks a reply (espeak-ng on the stream's Opus track); the player reports
    when its voice starts (no audio device here: judged on the audio as it arrives)."""
    sim = make_sim(stream_voice=True)
    live = Live(sim)
    player = make_player()
    onsets: list[int] = []
    player.avatar_audio_started.connect(lambda: onsets.append(1))
    with qtbot.waitSignal(player.session_started, timeout=WAIT_MS):
        player.start(live.url)

    async def say() -> None:
        async with aiohttp.ClientSession() as http, \
                http.ws_connect(f"{sim.ws_url}?token={live.token}") as ws:
            await ws.send_json({"avatar_id": LIVE_AVATAR, "user_id": USER, "chat_type": "text",
                                "requestType": "text", "language": "en", "isLive": True,
                                "LicenseId": live.license_id, "request": "Tell me a story."})
            await ws.receive_json(timeout=10)

    assert onsets == []  # silence until the avatar answers
    with qtbot.waitSignal(player.avatar_audio_started, timeout=WAIT_MS):
        run(qtbot, aloop, say())
    sim.run(sim.sim.wait_for_stream(live.license_id,
                                    lambda ps: bool(ps) and ps[0]["samples_spoken"] > 0))
    live.end()
