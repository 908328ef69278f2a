"""A start at launch (--start) against a service whose stream the native player showed last time:
the real app process loads the native player's modules on a worker thread while it connects
(its GUI thread importing the network stack meanwhile), and must reach the stream.

Loading Qt Multimedia on that worker hung both threads for good: Qt logs while the dynamic
loader starts its library, through the app's Python message handler, which then waits for the
GIL while the GUI thread, loading aiohttp's extension modules, holds the GIL and waits for the
loader (ravatar_live.qt_libraries). It hung at the first such start tried; a fresh process is
needed, since a test process has long loaded those modules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.app_process import AppProcess


@pytest.fixture
def h264_service() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(port=0, transcribe=False, stream_voice=False)) as sim:
        yield sim


@pytest.mark.timeout(240)
def test_a_start_at_launch_on_the_remembered_native_player_reaches_the_stream(
        h264_service: SimulatorThread, tmp_path) -> None:
    memory = tmp_path / "state" / "ravatar-live" / "stream-players.json"
    memory.parent.mkdir(parents=True)
    memory.write_text(json.dumps({"127.0.0.1": "native"}), encoding="utf-8")
    app = AppProcess(["--api-url", h264_service.base_url, "--project-id", "start-at-launch",
                      "--voice-mode", "push-to-talk", "--start"],
                     home=tmp_path, env={"QT_QPA_PLATFORM": "offscreen"})
    try:
        app.wait_for(r"loading the native player while the session starts")
        # Bounded by progress: each step comes within a minute on any machine that runs.
        app.wait_for(r"obtained a new access token")
        app.wait_for(r"live session license-[0-9a-f]+ started")
        app.wait_for(r"native stream: first frame")
        app.wait_for(r"stream event: ravatar-session-start")
        assert app.text().index("loading the native player") < \
            app.text().index("obtained a new access token"), "loaded while it connected"
        app.terminate()
        assert app.wait_exit(30) == 0
    finally:
        app.kill()
    assert h264_service.call(lambda s: s.stats())["live"] == 0, "the license was ended"
