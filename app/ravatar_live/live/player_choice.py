"""Which stream player shows a live session, and what worked last time per stream host.

Two players show the same stream: the web view (RAVATAR's own page in QtWebEngine) and the app's
native player (aiortc + libavcodec). The PyPI QtWebEngine cannot decode H.264, which Unreal's
streamer sends by default, so "auto" starts with the web view and switches to the native player
when the web view cannot show the video; `PlayerMemory` remembers per stream host which player
worked, so the next start goes straight there. Only host names and player names are stored.
"""

from __future__ import annotations

import json
import logging
import os
from enum import StrEnum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from ravatar_live.state_files import state_file

logger = logging.getLogger(__name__)

MAX_REMEMBERED_HOSTS: Final = 50


class PlayerKind(StrEnum):
    """A stream player."""

    WEB = "web"  # the stream page in the embedded web view
    NATIVE = "native"  # the app's own Pixel Streaming player


class PlayerChoice(StrEnum):
    """The user's setting (`--stream-player`)."""

    AUTO = "auto"
    WEB = "web"
    NATIVE = "native"


PLAYER_CHOICES: Final = tuple(choice.value for choice in PlayerChoice)


def stream_host(url: str) -> str:
    """The host a stream URL points at (lower case, no port): what `PlayerMemory` keys on."""
    return (urlsplit(url).hostname or "").lower()


def default_memory_path() -> Path:
    return state_file("stream-players.json")


class PlayerMemory:
    """Per stream host, the player that last showed its video. A JSON object on disk; an
    unreadable file is treated as empty (it only speeds up the next start)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_memory_path()

    def _load(self) -> dict[str, str]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            logger.warning("stream player memory unreadable (%s); starting afresh", exc)
            return {}
        if not isinstance(raw, dict):
            return {}
        return {str(k): v for k, v in raw.items() if v in (PlayerKind.WEB, PlayerKind.NATIVE)}

    def recall(self, host: str) -> PlayerKind | None:
        """The player that worked for `host`, or None when nothing is known."""
        value = self._load().get(host.lower())
        return PlayerKind(value) if value is not None else None

    def latest(self) -> PlayerKind | None:
        """The player that worked for the host remembered last, or None when nothing is known:
        the best guess before a session's stream host is known."""
        known = self._load()
        return PlayerKind(next(reversed(known.values()))) if known else None

    def remember(self, host: str, kind: PlayerKind) -> None:
        """Note that `kind` showed `host`'s video (newest last; old hosts are forgotten)."""
        if not host:
            return
        known = self._load()
        if known.get(host.lower()) == kind.value:
            return
        known.pop(host.lower(), None)
        known[host.lower()] = kind.value
        while len(known) > MAX_REMEMBERED_HOSTS:
            known.pop(next(iter(known)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(known), encoding="utf-8")
            os.replace(tmp, self.path)  # atomic: a crash mid-write keeps the old file
        except OSError as exc:
            logger.warning("could not save the stream player memory: %s", exc)


def first_player(choice: PlayerChoice, remembered: PlayerKind | None) -> PlayerKind:
    """The player a session starts with: the user's explicit choice, else (auto) what worked
    last time for this host, else the web view (the mission's page, RAVATAR's own player)."""
    if choice is PlayerChoice.WEB:
        return PlayerKind.WEB
    if choice is PlayerChoice.NATIVE:
        return PlayerKind.NATIVE
    return remembered or PlayerKind.WEB
