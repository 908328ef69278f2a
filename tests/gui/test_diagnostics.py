"""Save diagnostics: after a real session on the simulator (a JWT in play, the stream's figures,
a turn's latency, a real log file), the zip holds each listed file and nothing that would give
a token away, even log lines written past the redaction filter."""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ravatar_live.live.diagnostics import FILES
from ravatar_live.logging_setup import configure_logging, shutdown_logging
from ravatar_live.ui.banner import BannerKind
from tests.gui.conftest import WAIT_MS, quick_simulator
from tests.support.app_process import secrets_in

pytestmark = pytest.mark.gui


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    """The app's real file logging, as main() sets it up (the root level restored after)."""
    root = logging.getLogger()
    level = root.level
    folder = tmp_path / "logs"
    configure_logging(folder)
    yield folder
    shutdown_logging()
    root.setLevel(level)


def test_diagnostics_zip_after_a_real_session_holds_each_file_and_no_secret(
        log_dir, make_app, qtbot, tmp_path) -> None:
    app = make_app(sim=quick_simulator(stream_webrtc=True))
    c = app.controller
    app.go_live()
    # The stream's figures come once a second; wait for some showing decoded video (the first
    # may come from a player that is still connecting).
    with qtbot.waitSignal(c.health.stats_updated, timeout=WAIT_MS,
                          check_params_cb=lambda stats: stats.frames_decoded > 0):
        pass
    with qtbot.waitSignal(app.window.turns.turn_updated, timeout=WAIT_MS):
        c.chat.send_text("Hello there")
    client = c.connection.client
    assert client is not None
    token = app.run(client.token())
    stream = c.session.stream
    assert stream is not None and token in stream.url
    # Lines a careless writer put in the log past the filter: the bundle must scrub them too.
    log_file = log_dir / "ravatar-live.log"
    with log_file.open("a", encoding="utf-8") as handle:
        handle.write(f"GET {stream.url}\nAuthorization: Bearer {token}\njwt {token}\n")

    target = tmp_path / "bundle.zip"
    assert app.run(app.window.diagnostics.save(target))

    with zipfile.ZipFile(target) as bundle:
        names = bundle.namelist()
        texts = {name: bundle.read(name).decode("utf-8") for name in names}
    listed = [name for name in FILES if not name.endswith("/")]
    assert set(listed) <= set(names), names
    assert "logs/ravatar-live.log" in names
    readme = texts["README.txt"]
    assert all(name in readme for name in [*FILES, "logs/ravatar-live.log"])
    everything = "\n".join(texts.values())
    assert secrets_in(everything, [token]) == [], secrets_in(everything, [token])
    assert "live session" in texts["logs/ravatar-live.log"]  # the real log, not an empty file
    versions = texts["versions.txt"]
    for name in ("RAVATAR Live:", "Qt:", "Chromium (built-in browser):", "Python:", "OS:"):
        assert name in versions, versions
    settings = json.loads(texts["settings.json"])
    assert settings["user_id"] == c.settings.user_id
    stats = json.loads(texts["stream-statistics.json"])
    assert stats["video_codec"] and stats["frames_decoded"] > 0, stats
    assert texts["turn-latencies.csv"].count("\n") == 2  # the header and the one turn
    assert "Microphones:" in texts["audio-devices.txt"]
    assert app.window.banner.title() == "Diagnostics saved"


def test_diagnostics_that_cannot_be_written_say_so_and_leave_nothing(make_app, tmp_path) -> None:
    app = make_app(connect=False)
    target = tmp_path / "no-such-folder" / "bundle.zip"
    assert not app.run(app.window.diagnostics.save(target))
    assert not target.exists() and not target.parent.exists()
    message = app.window.banner.message("export")
    assert message is not None and message.kind is BannerKind.ERROR
    assert message.title == "Diagnostics not saved" and "bundle.zip" in message.text
