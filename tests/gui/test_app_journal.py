"""Licenses are never left behind: the journal of open licenses and the synchronous last-resort
end used at OS log-out. The simulator runs on its own thread here, as a remote service would, so
a blocking call from the GUI thread can be answered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ravatar_live.live.emergency_end import end_license_blocking
from ravatar_live.live.license_journal import LicenseJournal
from ravatar_live.live.states import SessionState
from ravatar_live.settings import Settings
from ravatar_live.simulator.server import SimulatorConfig
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.http import post_json as post

pytestmark = pytest.mark.gui

USER_ID = "0123456789abcdef01234567"
LIVE_AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"


@pytest.fixture
def remote() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(port=0, transcribe=False, stream_webrtc=False,
                                         stream_voice=False)) as sim:
        yield sim


def remote_settings(sim: SimulatorThread) -> Settings:
    return Settings(user_id=USER_ID, project_id="journal-test", api_url=sim.base_url)


def test_the_journal_holds_a_live_license_until_it_is_ended(make_app, remote) -> None:
    app = make_app(settings=remote_settings(remote), demo=False)
    license_id = app.go_live()
    journal = LicenseJournal(app.tmp_path / "licenses.json")
    assert [e.license_id for e in journal.entries()] == [license_id]
    assert journal.entries()[0].api_url == remote.base_url
    app.window.session_button.click()
    app.wait_session(SessionState.ENDED)
    assert journal.entries() == []


def test_a_license_left_by_a_crashed_run_is_ended_at_the_next_start(make_app, remote) -> None:
    token = post(remote.base_url + "/jwt", {"user_id": USER_ID, "project_id": "journal-test"})
    leftover = post(remote.base_url + "/startLiveSession",
                    {"avatar_id": LIVE_AVATAR, "width": "640", "height": "360"},
                    token["jwt"])["LicenseId"]
    app = make_app(settings=remote_settings(remote), demo=False, connect=False)
    # What a run that crashed while live leaves on disk.
    journal = LicenseJournal(app.tmp_path / "licenses.json")
    journal.add(leftover, remote.base_url)
    journal.add("license-of-another-service", "https://elsewhere.example")
    app.run(app.controller.startup(start_session=False))
    assert leftover not in remote.call(lambda s: s.live_license_ids())
    assert remote.call(lambda s: s.stats())["ended"] == 1
    assert [e.license_id for e in journal.entries()] == ["license-of-another-service"]


def test_log_out_ends_the_license_synchronously(make_app, remote) -> None:
    app = make_app(settings=remote_settings(remote), demo=False)
    license_id = app.go_live()
    app.window.end_session_now()  # what commitDataRequest / aboutToQuit call
    assert license_id not in remote.call(lambda s: s.live_license_ids())
    assert app.controller.session.state is SessionState.ENDED
    assert LicenseJournal(app.tmp_path / "licenses.json").entries() == []


def test_blocking_end_is_bounded_when_nobody_answers(remote) -> None:
    remote.call(lambda s: s.inject_fault(route="/endLiveSession", delay_s=5.0))
    token = remote.call(lambda s: s.mint_token(USER_ID, "journal-test"))
    assert end_license_blocking(remote.base_url, token, "license-x", timeout_s=0.3) is False
    assert end_license_blocking("http://127.0.0.1:9", token, "license-x", timeout_s=0.3) is False


def test_a_corrupt_journal_is_not_fatal(tmp_path) -> None:
    path = tmp_path / "licenses.json"
    path.write_text("{not json")
    journal = LicenseJournal(path)
    assert journal.entries() == []
    journal.add("license-1", "https://chat.rvtr.ai")
    assert [e.license_id for e in journal.entries()] == ["license-1"]
