"""StreamHealth on probe messages (as the injected script posts them), the codec verdicts and
their plain words, and the stats overlay's rows. Real Qt objects and timers, no web engine (the
real-browser tests are tests/gui/test_stream_health_webrtc.py)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ravatar_live.live import stream_monitor
from ravatar_live.live.states import StreamStage
from ravatar_live.live.stream_health import (
    STATS_PREFIX,
    StreamHealth,
    StreamStats,
    codec_message,
    undecodable_codecs,
)
from ravatar_live.live.stream_monitor import StreamMonitor
from ravatar_live.ui.stream_stats import format_stats


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def probe(kind: str, **fields: Any) -> str:
    return STATS_PREFIX + json.dumps({"v": 1, "kind": kind, "t": 1, **fields})


def stats(**fields: Any) -> str:
    base = {"state": "connected", "offeredVideo": ["VP8"], "videoRejected": False,
            "hasVideo": True, "framesDecoded": 0, "framesReceived": 0}
    base.update(fields)
    return probe("stats", **base)


@pytest.fixture
def health(qtbot) -> StreamHealth:
    return StreamHealth(no_frames_timeout_s=0.2, clock=Clock())


def test_first_frame_is_timed_from_begin(health: StreamHealth, qtbot) -> None:
    clock = health._clock
    assert isinstance(clock, Clock)
    health.begin()
    clock.now += 1.75
    with qtbot.waitSignal(health.first_frame) as first:
        health.on_page_message(probe("first-frame", afterConnectionMs=1200, codec="VP8",
                                     width=640, height=360))
    assert first.args == [pytest.approx(1.75)]
    assert health.first_frame_s == pytest.approx(1.75)
    # A later stats report with frames does not time it again.
    with qtbot.assertNotEmitted(health.first_frame):
        health.on_page_message(stats(framesDecoded=30, videoCodec="VP8"))


def test_stats_with_frames_count_as_first_frame_when_the_event_was_missed(health, qtbot) -> None:
    health.begin()
    with qtbot.waitSignal(health.first_frame):
        health.on_page_message(stats(framesDecoded=3, videoCodec="VP8"))


def test_h264_only_offer_is_a_codec_problem_naming_it(health: StreamHealth, qtbot) -> None:
    health.begin()
    with qtbot.waitSignal(health.problem) as problem:
        health.on_page_message(stats(offeredVideo=["H264"], videoRejected=True, hasVideo=False))
    kind, text = problem.args
    assert kind == "codec"
    assert "H.264" in text and "web browser" in text and "VP8" in text
    with qtbot.assertNotEmitted(health.problem):  # said once, not every second
        health.on_page_message(stats(offeredVideo=["H264"], videoRejected=True))


def test_connected_without_frames_times_out_with_plain_words(health: StreamHealth, qtbot) -> None:
    health.begin()
    with qtbot.waitSignal(health.problem, timeout=3000) as problem:
        health.on_page_message(probe("state", state="connected"))
    kind, text = problem.args
    assert kind == "no-frames"
    assert "no video has arrived" in text and "web browser" in text
    with qtbot.waitSignal(health.problem_cleared):  # frames after all
        health.on_page_message(stats(framesDecoded=5, videoCodec="VP8"))
    assert health.problem_kind is None


def test_frames_in_time_mean_no_problem(health: StreamHealth, qtbot) -> None:
    health.begin()
    health.on_page_message(probe("state", state="connected"))
    health.on_page_message(stats(framesDecoded=1, videoCodec="VP8"))
    with qtbot.assertNotEmitted(health.problem, wait=400):
        pass


def test_audio_onset_and_stats_are_forwarded(health: StreamHealth, qtbot) -> None:
    with qtbot.waitSignal(health.avatar_audio_started):
        health.on_page_message(probe("audio-onset", level=0.2))
    with qtbot.waitSignal(health.stats_updated) as got:
        health.on_page_message(stats(framesDecoded=9, videoCodec="vp8", fps=15, width=640,
                                     height=360, bitrateKbps=280.4, rttMs=3, audioLevel=0.1))
    report = got.args[0]
    assert isinstance(report, StreamStats)
    assert (report.video_codec, report.fps, report.width, report.height) == ("VP8", 15, 640, 360)


def test_other_page_messages_are_ignored(health: StreamHealth, qtbot) -> None:
    with qtbot.assertNotEmitted(health.stats_updated), \
            qtbot.assertNotEmitted(health.problem):
        for data in ("ravatar-session-start", STATS_PREFIX + "{not json", STATS_PREFIX + "[1]",
                     probe("stats-from-the-future"), ""):
            health.on_page_message(data)


@given(st.dictionaries(st.sampled_from(["state", "videoCodec", "offeredVideo", "framesDecoded",
                                        "width", "fps", "videoRejected", "rttMs"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                 st.text(max_size=8), st.lists(st.text(max_size=5)))))
def test_any_report_shape_reads_without_error(report: dict[str, Any]) -> None:
    parsed = StreamStats.from_report(report)
    format_stats(parsed)
    undecodable_codecs(parsed)


@pytest.mark.parametrize(("fields", "blamed"), [
    ({"video_codec": "VP8"}, ()),
    ({"video_codec": "VP9"}, ()),
    ({"video_codec": "AV1"}, ()),
    ({"video_codec": "H264"}, ("H264",)),
    ({"offered_video": ("H264",), "video_rejected": True}, ("H264",)),
    ({"offered_video": ("H264", "H265")}, ("H264", "H265")),
    ({"offered_video": ("H264", "VP8")}, ()),
    ({"video_rejected": True}, ("unknown",)),
    ({}, ()),
])
def test_codec_verdicts(fields: dict[str, Any], blamed: tuple[str, ...]) -> None:
    assert undecodable_codecs(StreamStats(**fields)) == blamed


def test_codec_message_names_codecs_in_plain_words() -> None:
    assert "H.264 or H.265 (HEVC)" in codec_message(("H264", "H265"))
    assert "uses a format" in codec_message(("unknown",))


def test_overlay_rows() -> None:
    rows = format_stats(StreamStats(state="connected", video_codec="VP8", frames_decoded=40,
                                    frames_received=41, frames_dropped=1, fps=15.0, width=640,
                                    height=360, bitrate_kbps=281.6, rtt_ms=2.0, audio_level=0.1))
    assert rows["Video codec"] == "VP8"
    assert rows["Frames"] == "40 decoded / 41 received, 1 dropped"
    assert rows["Frame rate"] == "15 fps"
    assert rows["Resolution"] == "640\u00d7360"
    assert rows["Bitrate"] == "282 kbit/s"
    assert rows["Round trip"] == "2 ms"
    assert rows["Audio level"] == "0.10 (-20 dB)"
    refused = format_stats(StreamStats(offered_video=("H264",), video_rejected=True))
    assert refused["Video codec"] == "H.264 offered, refused"
    assert refused["Audio level"] == "\u2014"


def test_the_stream_monitor_ignores_probe_reports_silently(qtbot, caplog) -> None:
    assert stream_monitor.STATS_PREFIX == STATS_PREFIX
    monitor = StreamMonitor(start_timeout_s=30.0)
    monitor.begin()
    with caplog.at_level(logging.DEBUG, logger="ravatar_live.live.stream_monitor"), \
            qtbot.assertNotEmitted(monitor.stage_changed):
        for _ in range(5):
            monitor.on_page_message(stats(framesDecoded=1))
    assert caplog.records == []
    assert monitor.stage is StreamStage.LOADING
    with caplog.at_level(logging.DEBUG, logger="ravatar_live.live.stream_monitor"):
        monitor.on_page_message("something-else")
    assert [r.getMessage() for r in caplog.records] == [
        "stream page posted an unknown message (14 chars)"]
    monitor.reset()


def test_the_no_frames_timeout_can_be_set_and_refuses_nonsense(health, qtbot) -> None:
    health.set_no_frames_timeout(0.05)
    assert health.no_frames_timeout_s == 0.05
    with qtbot.waitSignal(health.problem, timeout=2_000) as problem:
        health.begin()
        health.on_page_message(stats())
    assert problem.args[0] == "no-frames"
    assert "0.05 seconds" in problem.args[1]
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="no-frames timeout"):
            health.set_no_frames_timeout(bad)
