"""SendBuffer: ordering, takes resent whole after a drop, bounds, and nothing lost silently.

The buffer is pure bookkeeping, so these tests drive it directly; a list per "connection" plays
the part of what the server received on that connection.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ravatar_live.api.errors import InvalidRequestError, ServiceUnreachableError
from ravatar_live.api.reconnect import (
    NotSent,
    NotSentReason,
    SendBuffer,
    SendQueueFullError,
    pcm_bytes_of,
)


def chunk(n: int, size: int = 8) -> dict[str, Any]:
    return {"audio_base64_pcm": base64.b64encode(bytes([n % 256]) * size).decode(), "n": n}


def text(n: int) -> dict[str, Any]:
    return {"request": f"t{n}"}


class Harness:
    """A buffer, the not-sent reports, and what each connection received."""

    def __init__(self, **kwargs: Any) -> None:
        self.reports: list[NotSent] = []
        self.buffer = SendBuffer(on_not_sent=self.reports.append, **kwargs)
        self.connections: list[list[dict[str, Any]]] = []

    def go_online(self) -> None:
        self.buffer.online = True
        self.connections.append([])

    def write(self, count: int | None = None) -> None:
        while count is None or count > 0:
            item = self.buffer.head()
            if item is None:
                return
            self.connections[-1].append(dict(item.message))
            self.buffer.mark_written(item)
            count = None if count is None else count - 1

    def drop(self) -> None:
        self.buffer.line_lost()


def test_pcm_bytes_of() -> None:
    assert pcm_bytes_of(chunk(1, 8192)) == 8192
    assert pcm_bytes_of(chunk(1, 7)) == 7
    assert pcm_bytes_of(text(1)) == 0


def test_texts_queued_while_down_go_out_in_order() -> None:
    h = Harness()
    for i in range(5):
        h.buffer.add(text(i))
    assert h.buffer.pending_messages == 5
    h.go_online()
    h.write()
    assert h.connections == [[text(i) for i in range(5)]]
    assert h.buffer.pending_messages == 0 and not h.reports


def test_text_queue_is_bounded_while_down() -> None:
    h = Harness(max_messages=3)
    for i in range(3):
        h.buffer.add(text(i))
    with pytest.raises(SendQueueFullError) as info:
        h.buffer.add(text(3))
    assert "wait" in info.value.user_message
    h.go_online()  # while a writer drains, the bound does not apply
    for i in range(3, 10):
        h.buffer.add(text(i))
    h.write()
    assert h.connections[0] == [text(i) for i in range(10)]


def test_take_interrupted_mid_way_is_resent_whole() -> None:
    h = Harness()
    h.go_online()
    take = h.buffer.begin_take()
    for i in range(3):
        h.buffer.add(chunk(i))
    h.write()
    h.drop()  # the line dies after chunk 2 went out
    h.buffer.add(chunk(3))
    h.buffer.add(text(99))
    h.buffer.add(chunk(4))
    assert h.buffer.end_take() == take
    h.go_online()
    h.write()
    assert h.connections[1] == [chunk(0), chunk(1), chunk(2), chunk(3), text(99), chunk(4)]
    assert h.buffer.held_audio_bytes == 0 and not h.reports


def test_a_finished_and_written_take_is_not_resent() -> None:
    h = Harness()
    h.go_online()
    h.buffer.begin_take()
    h.buffer.add(chunk(0))
    h.buffer.end_take()
    h.write()
    assert h.buffer.held_audio_bytes == 0
    h.drop()
    h.go_online()
    h.write()
    assert h.connections == [[chunk(0)], []]


def test_texts_already_written_are_not_resent() -> None:
    h = Harness()
    h.go_online()
    h.buffer.add(text(0))
    h.write()
    h.drop()
    h.go_online()
    h.write()
    assert h.connections == [[text(0)], []]


def test_overflow_while_down_reports_the_take_and_drops_its_chunks() -> None:
    h = Harness(max_take_bytes=20)
    take = h.buffer.begin_take()
    h.buffer.add(chunk(0))
    h.buffer.add(chunk(1))
    h.buffer.add(chunk(2))  # 24 bytes > 20
    h.buffer.add(chunk(3))  # dropped quietly: the take was already reported
    assert [(r.reason, r.take_id, len(r.messages)) for r in h.reports] == [
        (NotSentReason.BUFFER_FULL, take, 2)]
    h.buffer.end_take()
    h.buffer.add(chunk(10))  # a new take (opened by the chunk) is fine
    h.go_online()
    h.write()
    assert h.connections == [[chunk(10)]]


def test_long_take_while_connected_streams_but_cannot_be_resent() -> None:
    h = Harness(max_take_bytes=20)
    h.go_online()
    take = h.buffer.begin_take()
    for i in range(5):  # 40 bytes: past the bound, but the line is up
        h.buffer.add(chunk(i))
        h.write()
    assert h.connections[0] == [chunk(i) for i in range(5)]
    assert h.buffer.held_audio_bytes == 0  # nothing held once it can no longer be resent
    h.drop()
    assert [(r.reason, r.take_id) for r in h.reports] == [
        (NotSentReason.TOO_LONG_TO_RESEND, take)]


def test_close_reports_open_takes_and_queued_messages() -> None:
    h = Harness()
    h.buffer.add(text(0))
    take = h.buffer.begin_take()
    h.buffer.add(chunk(1))
    h.buffer.close()
    assert sorted((r.reason, r.take_id, len(r.messages)) for r in h.reports
                  if r.take_id is not None) == [(NotSentReason.CLOSED, take, 1)]
    assert [r.messages for r in h.reports if r.take_id is None] == [(text(0),)]
    with pytest.raises(ServiceUnreachableError, match="closed"):
        h.buffer.add(text(1))
    with pytest.raises(ServiceUnreachableError):
        h.buffer.begin_take()
    h.buffer.close()  # idempotent, reports nothing new
    assert len(h.reports) == 2


def test_unencodable_message_is_refused_at_once() -> None:
    h = Harness()
    with pytest.raises(InvalidRequestError):
        h.buffer.add({"request": object()})
    assert len(h.buffer) == 0


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(InvalidRequestError):
        SendBuffer(max_messages=0)
    with pytest.raises(InvalidRequestError):
        SendBuffer(max_take_bytes=0)


# --- model-based: whatever happens, every take arrives whole on one connection or is reported
# Chunks and writes drawn more often than the rest, so drops land in the middle of takes.
ops = st.lists(st.one_of(
    st.tuples(st.just("chunk"), st.integers(1, 12)), st.tuples(st.just("write"), st.integers(0, 4)),
    st.sampled_from([("chunk", 8), ("write", 1), ("text",), ("begin",), ("end",), ("drop",),
                     ("online",)])), max_size=80)


@settings(max_examples=400, deadline=None)
@given(ops, st.booleans())
def test_nothing_is_lost_silently(steps: list[tuple[Any, ...]], drain_at_end: bool) -> None:
    max_bytes = 40
    h = Harness(max_take_bytes=max_bytes, max_messages=5)
    h.go_online()
    take_chunks: dict[int, list[dict[str, Any]]] = {}
    texts: list[dict[str, Any]] = []
    for serial, step in enumerate(steps):
        kind = step[0]
        if kind == "text":
            try:
                h.buffer.add(text(serial))
                texts.append(text(serial))
            except SendQueueFullError:
                assert not h.buffer.online and h.buffer.pending_messages == 5
        elif kind == "chunk":
            h.buffer.add(chunk(serial, step[1]))
            take_id = h.buffer.current_take_id
            assert take_id is not None
            take_chunks.setdefault(take_id, []).append(chunk(serial, step[1]))
        elif kind == "begin":
            take_chunks[h.buffer.begin_take()] = []
        elif kind == "end":
            h.buffer.end_take()
        elif kind == "drop" and h.buffer.online:
            h.drop()
        elif kind == "online" and not h.buffer.online:
            h.go_online()
        elif kind == "write" and h.buffer.online:
            h.write(step[1])
        if not h.buffer.online:
            assert h.buffer.held_audio_bytes <= max_bytes
        assert h.buffer.held_audio_bytes >= 0
    if drain_at_end:
        if not h.buffer.online:
            h.go_online()
        h.buffer.end_take()
        h.write()
    h.buffer.close()

    reported = [r.take_id for r in h.reports if r.take_id is not None]
    assert len(reported) == len(set(reported)), "a take was reported twice"
    for take_id, chunks in take_chunks.items():
        if take_id in reported or not chunks:
            continue
        # Delivered whole, in order, on a single connection.
        assert any(chunks == [m for m in conn if m in chunks] for conn in h.connections), (
            f"take {take_id} neither delivered whole nor reported")
    # Texts: each written exactly once, in order, or reported as not sent at close.
    written = [m for conn in h.connections for m in conn if "request" in m]
    unsent = [m for r in h.reports if r.take_id is None for m in r.messages]
    assert written + unsent == texts
    if drain_at_end:
        assert not unsent
