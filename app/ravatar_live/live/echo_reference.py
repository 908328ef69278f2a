"""Hands the avatar's audio, as each player plays it, to the microphone's echo canceller.

The native player: its playback tap (exact samples and when they reach the speaker), added
once to each player instance when it first shows a stream; the tap runs on the audio device's
thread and only queues. The web view: the stream frame's tap of the avatar's track, which the
injected script posts as "ravatar-farend" messages (``audio.far_end_web``); when the page
cannot tap the audio it still says when the avatar is audible, for half-duplex.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from ravatar_live.audio.far_end import FarEndReference
from ravatar_live.audio.far_end_web import AvatarAudible, FarEndBlock, PageClock, parse_far_end
from ravatar_live.live.stream_players import StreamPlayers

if TYPE_CHECKING:
    from ravatar_live.stream.audio_playback import PlayedBlock
    from ravatar_live.stream.player import NativeStreamPlayer

logger = logging.getLogger(__name__)


class EchoReference(QObject):
    def __init__(self, players: StreamPlayers, far_end: FarEndReference,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._far_end = far_end
        self._tapped: NativeStreamPlayer | None = None
        self._page_clock = PageClock()
        self.web_blocks = 0
        self.web_rejected = 0
        players.show_native.connect(self._on_show_native)
        players.web_far_end.connect(self._on_web_far_end)
        players.show_web.connect(self._on_show_web)

    @Slot(object)
    def _on_show_native(self, player: NativeStreamPlayer) -> None:
        if self._tapped is not player:
            player.add_audio_tap(self._on_played)
            self._tapped = player
            logger.info("echo cancellation follows the native player's audio")

    def _on_played(self, block: PlayedBlock) -> None:  # the audio device's thread
        self._far_end.feed(block.samples, block.sample_rate, block.played_at)

    @Slot(str, int, int)
    def _on_show_web(self, _url: str, _width: int, _height: int) -> None:
        self._page_clock = PageClock()  # a new page: a new clock

    @Slot(str)
    def _on_web_far_end(self, data: str) -> None:
        parsed = parse_far_end(data, time.monotonic(), self._page_clock)
        if isinstance(parsed, FarEndBlock):
            self._far_end.feed(parsed.samples, parsed.sample_rate, parsed.played_at)
            self.web_blocks += 1
        elif isinstance(parsed, AvatarAudible):
            self._far_end.note_avatar_audible()
        else:
            self.web_rejected += 1
            if self.web_rejected == 1:
                logger.warning("a malformed far-end message from the stream page was ignored")
