"""The stream page's microphone route as a state machine: what it tells the page (or the native
player) for every user action, how it reads the page's reports, when it repeats itself and what
it tells the user. Real Qt objects and timers, no web engine (the real page is driven in
tests/gui/test_page_microphone.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ravatar_live.live.page_microphone import (
    MUTE,
    NO_TRACK_NOTICE,
    NOT_MUTED_NOTICE,
    UNANSWERED_NOTICE,
    UNMUTE,
    PageMicrophone,
    parse_mic_report,
)

WAIT_MS = 5_000


class Harness:
    def __init__(self, **options: Any) -> None:
        self.told: list[str] = []
        self.mic = PageMicrophone(tell=self.told.append, **options)
        self.commands: list[str] = []
        self.native: list[bool] = []
        self.states: list[str] = []
        self.mic.web_command.connect(self.commands.append)
        self.mic.native_open.connect(self.native.append)
        self.mic.state_changed.connect(self.states.append)

    def live_on(self, player: str = "web") -> None:
        self.mic.set_enabled(True)
        self.mic.activate()
        self.mic.on_player_changed(player)

    def state(self, requested: str, *, applied: bool = True, track: bool = True,
              enabled: bool | None = None) -> None:
        self.mic.on_mic_report({
            "name": "ravatar-ps-mic-state", "requested": requested, "applied": applied,
            "hasMicTrack": track, "enabled": (requested == "unmute") if enabled is None
            else enabled, "muted": False, "readyState": "live", "label": "Mic",
            "timestamp": 1.0})

    def ready(self, *, track: bool = True, enabled: bool | None = False) -> None:
        self.mic.on_mic_report({"name": "ravatar-ps-mic-ready", "reason": "webrtc-connected",
                                "hasMicTrack": track, "enabled": enabled})


@pytest.fixture
def h(qtbot: Any) -> Harness:
    return Harness(restate_s=0.05, unanswered_s=0.2)


def test_the_page_starts_muted_and_opens_only_while_held(h: Harness) -> None:
    h.live_on()
    assert h.commands == [MUTE] and not h.mic.is_open
    h.mic.press()
    assert h.commands[-1] == UNMUTE and h.mic.is_open and h.states == ["recording"]
    h.mic.release()
    assert h.commands[-1] == MUTE and not h.mic.is_open and h.states == ["recording", "idle"]


def test_hands_free_keeps_it_open_while_live_and_mute_closes_it(h: Harness) -> None:
    h.live_on()
    h.mic.set_hands_free(True)
    assert h.commands[-1] == UNMUTE and h.states == ["listening"]
    h.mic.set_muted(True)
    assert h.commands[-1] == MUTE and not h.mic.is_open
    h.mic.press()  # a muted microphone stays closed, whatever is held
    assert h.commands[-1] == MUTE and not h.mic.is_open
    h.mic.set_hands_free(False)
    h.mic.set_muted(False)
    assert h.commands[-1] == MUTE and not h.mic.is_open  # the press while muted was dropped
    h.mic.set_hands_free(True)
    assert h.commands[-1] == UNMUTE
    h.mic.deactivate()
    assert not h.mic.is_open


def test_nothing_opens_without_the_route_a_session_or_a_player(h: Harness) -> None:
    h.mic.set_hands_free(True)
    h.mic.press()
    h.mic.activate()
    h.mic.set_enabled(False)
    h.mic.on_player_changed("web")
    assert not h.mic.is_open and UNMUTE not in h.commands
    # The route switched off while the page shows the stream: the page is muted too.
    assert h.commands and set(h.commands) == {MUTE}


def test_a_confirmation_stops_the_repeats(h: Harness, qtbot: Any) -> None:
    h.live_on()
    h.state("mute")
    assert h.mic.confirmed and h.mic.answered
    sent = len(h.commands)
    qtbot.wait(200)  # four repeat periods: none is needed
    assert len(h.commands) == sent and h.told == []


def test_an_unconfirmed_wish_is_repeated_and_a_silent_page_is_named_once(h: Harness,
                                                                        qtbot: Any) -> None:
    h.live_on()
    qtbot.waitUntil(lambda: len(h.commands) >= 4, timeout=WAIT_MS)
    assert set(h.commands) == {MUTE}
    qtbot.waitUntil(lambda: bool(h.told), timeout=WAIT_MS)
    assert h.told == [UNANSWERED_NOTICE.format(seconds=0.05)]
    h.mic.press()
    qtbot.waitUntil(lambda: h.commands[-3:] == [UNMUTE] * 3, timeout=WAIT_MS)
    assert len(h.told) == 1


def test_an_answer_to_an_older_command_does_not_confirm_the_new_one(h: Harness) -> None:
    h.live_on()
    h.mic.press()
    h.state("mute")  # the answer to the start's MUTE, arriving after the press
    assert not h.mic.confirmed
    h.state("unmute")
    assert h.mic.confirmed


def test_a_new_track_that_disagrees_is_corrected_and_a_missing_one_is_told(h: Harness) -> None:
    h.live_on()
    h.state("mute")
    h.ready(enabled=True)  # a reconnect's track came up open, though the wish is muted
    assert h.commands[-1] == MUTE and not h.mic.confirmed
    h.ready(track=False, enabled=None)
    h.ready(track=False, enabled=None)
    assert h.told == [NO_TRACK_NOTICE]


def test_a_page_that_cannot_mute_says_so_plainly(h: Harness) -> None:
    h.live_on()
    h.state("mute", applied=False, enabled=True)
    assert h.told == [NOT_MUTED_NOTICE]
    h.state("mute", applied=False, track=False)
    assert h.told == [NOT_MUTED_NOTICE, NO_TRACK_NOTICE]


def test_the_native_player_gets_open_and_closed(h: Harness) -> None:
    h.live_on(player="native")
    assert h.native == [False] and h.commands == []
    h.mic.press()
    h.mic.release()
    assert h.native == [False, True, False]
    h.mic.on_player_changed("web")  # the switch closes the native track
    assert h.native[-1] is False and h.commands == [MUTE]


def test_reports_only_count_from_the_web_page_in_the_route(h: Harness) -> None:
    h.mic.on_player_changed("web")
    h.state("mute")
    assert h.mic.last_report is None and not h.mic.answered


@pytest.mark.parametrize("data", [
    None, "ravatar-ps-mic-ready", [], {"name": "other"}, {"name": 5},
    {"type": "rvo-ps-mic-mute"},
])
def test_things_that_are_not_reports(data: object) -> None:
    assert parse_mic_report(data) is None


def test_a_report_keeps_only_well_typed_fields() -> None:
    report = parse_mic_report({
        "name": "ravatar-ps-mic-state", "requested": "louder", "applied": "yes",
        "hasMicTrack": True, "enabled": 1, "label": "x" * 5000, "timestamp": float("nan"),
        "extra": {"nested": True}})
    assert report is not None
    assert (report.requested, report.applied, report.has_mic_track, report.enabled) == (
        None, None, True, None)
    assert report.label == "x" * 200 and report.timestamp is None


@given(st.dictionaries(st.sampled_from(["name", "requested", "applied", "hasMicTrack",
                                        "enabled", "muted", "readyState", "label", "reason",
                                        "timestamp"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                 st.text(max_size=50), st.sampled_from(
                                     ["ravatar-ps-mic-ready", "ravatar-ps-mic-state", "mute",
                                      "unmute"]))))
def test_parsing_never_raises(data: dict[str, object]) -> None:
    report = parse_mic_report(data)
    assert report is None or report.name in ("ravatar-ps-mic-ready", "ravatar-ps-mic-state")
