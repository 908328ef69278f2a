"""The players of one instance and its signalling log, readable from other threads.

The instance's loop changes them; the simulator's loop (tests, the admin page) reads snapshots.
One lock guards the bookkeeping; a peer's own facts are plain attributes, read as they are.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:  # the streamer needs aiortc; the canvas mode runs without it
    from ravatar_live.simulator.pixel_streaming.streamer import StreamerPeer

LOG_SIZE = 2000


class MicFacts(TypedDict):
    """What the streamer received on the player's microphone track."""

    frames: int  # decoded 20 ms audio frames
    speech: bool  # whether any unmuted speech arrived
    utterances: int  # utterances cut from it (each answered like a voice turn)


class PeerFacts(TypedDict):
    """One player's WebRTC peer on the streamer side."""

    state: str  # the peer's connection state ("none" before a subscription)
    offered: list[str]  # video codecs in the offer, in order
    codec: str | None  # the video codec the answer chose; None when rejected or not answered
    rejected: list[str]  # media kinds the answer rejected ("video" for a web view and H.264)
    answered_at: float | None  # time.monotonic() when the player's answer arrived
    frames_sent: int
    samples_spoken: int  # 48 kHz samples of the avatar's voice sent
    replies_spoken: int
    replies_interrupted: int  # replies cut off by a newer turn (barge-in)
    size: tuple[int, int] | None  # the encoded frame size
    mic: MicFacts


class PlayerFacts(PeerFacts):
    """One connected player, as `RunningSimulator.stream_players()` lists it."""

    player_id: str
    subscribed: bool
    pings_sent: int
    pongs_received: int


def _no_peer() -> PeerFacts:
    return {"state": "none", "offered": [], "codec": None, "rejected": [], "answered_at": None,
            "frames_sent": 0,
            "samples_spoken": 0, "replies_spoken": 0, "replies_interrupted": 0, "size": None,
            "mic": {"frames": 0, "speech": False, "utterances": 0}}


@dataclass
class Player:
    """One connected signalling socket and, once it subscribed, its peer."""

    player_id: str
    peer: StreamerPeer | None = None
    pings_sent: int = 0
    pongs_received: int = 0

    def describe(self) -> PlayerFacts:
        peer = self.peer
        facts = peer.describe() if peer is not None else _no_peer()
        return PlayerFacts(player_id=self.player_id, subscribed=peer is not None,
                           pings_sent=self.pings_sent, pongs_received=self.pongs_received,
                           **facts)


class PlayerBook:
    """Who is connected, and every signalling message type in both directions."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self._changed = changed
        self._lock = threading.Lock()
        self._players: dict[str, Player] = {}
        self._departed: deque[PlayerFacts] = deque(maxlen=LOG_SIZE)
        self._log: deque[dict[str, str]] = deque(maxlen=LOG_SIZE)
        self._joined = 0

    def join(self) -> Player:
        with self._lock:
            self._joined += 1
            player = Player(player_id=str(self._joined))
            self._players[player.player_id] = player
        self._changed()
        return player

    def leave(self, player: Player, facts: PlayerFacts | None = None) -> None:
        """`player` left; `facts` is how it was while connected (default: as it is now)."""
        facts = facts if facts is not None else player.describe()
        with self._lock:
            if self._players.pop(player.player_id, None) is not None:
                self._departed.append(facts)
        self._changed()

    def departed(self) -> list[PlayerFacts]:
        """Players that have left, as they were when they left, oldest first."""
        with self._lock:
            return list(self._departed)

    def note(self, player: Player, direction: str, kind: str) -> None:
        """Log one message: direction "in" (from the player) or "out"; kind is its type."""
        with self._lock:
            self._log.append({"player_id": player.player_id, "direction": direction,
                              "type": kind})
        self._changed()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._players)

    def players(self) -> list[Player]:
        with self._lock:
            return list(self._players.values())

    def describe(self) -> list[PlayerFacts]:
        """Every player's facts, in joining order (thread-safe)."""
        return [player.describe() for player in self.players()]

    def signalling_log(self) -> list[dict[str, str]]:
        """The logged messages, oldest first (thread-safe)."""
        with self._lock:
            return list(self._log)
