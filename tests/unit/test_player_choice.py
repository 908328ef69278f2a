"""Which player a session starts with, and the per-host memory of what worked."""

from __future__ import annotations

import json

import pytest

from ravatar_live.live.player_choice import (
    MAX_REMEMBERED_HOSTS,
    PlayerChoice,
    PlayerKind,
    PlayerMemory,
    first_player,
    stream_host,
)


@pytest.mark.parametrize(("url", "host"), [
    ("https://PS-1.rvtr.ai:8443/?token=x", "ps-1.rvtr.ai"),
    ("http://127.0.0.1:41234/", "127.0.0.1"),
    ("http://[::1]:80/", "::1"),
    ("not a url", ""),
])
def test_stream_host(url: str, host: str) -> None:
    assert stream_host(url) == host


@pytest.mark.parametrize(("choice", "remembered", "expected"), [
    (PlayerChoice.AUTO, None, PlayerKind.WEB),
    (PlayerChoice.AUTO, PlayerKind.NATIVE, PlayerKind.NATIVE),
    (PlayerChoice.AUTO, PlayerKind.WEB, PlayerKind.WEB),
    (PlayerChoice.WEB, PlayerKind.NATIVE, PlayerKind.WEB),
    (PlayerChoice.NATIVE, None, PlayerKind.NATIVE),
    (PlayerChoice.NATIVE, PlayerKind.WEB, PlayerKind.NATIVE),
])
def test_first_player(choice: PlayerChoice, remembered: PlayerKind | None,
                      expected: PlayerKind) -> None:
    assert first_player(choice, remembered) is expected


def test_memory_round_trip_survives_a_new_instance(tmp_path) -> None:
    path = tmp_path / "players.json"
    memory = PlayerMemory(path)
    assert memory.recall("ps.example") is None
    memory.remember("PS.example", PlayerKind.NATIVE)
    assert PlayerMemory(path).recall("ps.example") is PlayerKind.NATIVE
    memory.remember("ps.example", PlayerKind.WEB)
    assert PlayerMemory(path).recall("ps.example") is PlayerKind.WEB
    assert json.loads(path.read_text()) == {"ps.example": "web"}


def test_the_latest_is_the_player_of_the_host_remembered_last(tmp_path) -> None:
    memory = PlayerMemory(tmp_path / "players.json")
    assert memory.latest() is None
    memory.remember("a.example", PlayerKind.NATIVE)
    memory.remember("b.example", PlayerKind.WEB)
    assert memory.latest() is PlayerKind.WEB
    memory.remember("a.example", PlayerKind.WEB)
    memory.remember("a.example", PlayerKind.NATIVE)  # remembered again: the newest
    assert memory.latest() is PlayerKind.NATIVE


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"h": "flash"}', ""])
def test_an_unreadable_memory_counts_as_empty(tmp_path, content: str) -> None:
    path = tmp_path / "players.json"
    path.write_text(content)
    memory = PlayerMemory(path)
    assert memory.recall("h") is None
    memory.remember("h", PlayerKind.NATIVE)  # and it can be written afresh
    assert memory.recall("h") is PlayerKind.NATIVE


def test_memory_forgets_the_oldest_hosts(tmp_path) -> None:
    memory = PlayerMemory(tmp_path / "players.json")
    for i in range(MAX_REMEMBERED_HOSTS + 5):
        memory.remember(f"host-{i}", PlayerKind.NATIVE)
    assert memory.recall("host-0") is None
    assert memory.recall(f"host-{MAX_REMEMBERED_HOSTS + 4}") is PlayerKind.NATIVE
    assert len(json.loads((tmp_path / "players.json").read_text())) == MAX_REMEMBERED_HOSTS


def test_an_unwritable_memory_is_logged_not_raised(tmp_path, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    memory = PlayerMemory(blocker / "players.json")  # its parent is a file: cannot be created
    memory.remember("h", PlayerKind.NATIVE)
    assert memory.recall("h") is None
    assert "could not save the stream player memory" in caplog.text
