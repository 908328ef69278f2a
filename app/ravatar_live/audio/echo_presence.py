"""Whether the avatar's voice reaches the microphone at all (speakers) or not (headphones).

With headphones there is no echo to cancel, yet AEC3 does not know it: it never converges,
and while the reference is loud its suppressor treats the user's voice as possible echo.
Measured with the simulator's recogniser on espeak-ng voices (5 sentences, 25 words, the
avatar speaking over them and no echo in the microphone): 3 words through AEC3, 17-20 from
the raw microphone; with the avatar pausing 0.35 s into the user's sentence, 10 against 25.
Over a real echo path, once converged, AEC3 is what keeps the words (24 of 25 against 19 raw).

So the microphone's loud moments while the avatar speaks are compared with its noise floor
while the avatar is silent (a low percentile: the user's words there have pauses): an echo
lifts them. Until both are known the echo is assumed to be there, and about 0.3 s of echo
(learned 0.4 s late) brings it back.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ravatar_live.audio.echo_gate import ONSET_FRAMES, rms
from ravatar_live.audio.pcm import Int16Array

# An echo lifts the microphone's loud moments this far (dB) above its quiet floor. Those of
# steady noise sit a few dB above its floor, an audible echo's tens of dB.
HEARD_ABOVE_FLOOR_DB = 12.0
_FLOOR_FRAMES = 1000     # the noise floor: the microphone over the last 10 s the avatar was silent
_SPEAKING_FRAMES = 300   # and over the last 3 s it spoke
_MIN_FRAMES = 150        # 1.5 s of each before the echo may be judged absent
_LOUD_PERCENTILE = 90    # the echo's loud moments
_FLOOR_PERCENTILE = 20   # the floor between words, a fan's hum, the converter's hiss
_JUDGE_EVERY = 10        # frames between verdicts (two percentiles cost ~50 us)


class EchoPresence:
    """Learns, frame by frame, whether the avatar's voice reaches the raw microphone."""

    def __init__(self) -> None:
        self._floor = deque[float](maxlen=_FLOOR_FRAMES)
        self._speaking = deque[float](maxlen=_SPEAKING_FRAMES)
        self._recent = deque[tuple[bool, float]]()  # (echo may come, level) not yet learned
        self._learned = 0
        self.heard = True  # False only once the microphone is known not to rise while the
        # avatar speaks (judged every _JUDGE_EVERY frames learned)

    def frame(self, raw: Int16Array, *, echo_may_come: bool, user_talking: bool) -> None:
        """One 10 ms frame of the raw microphone; ``echo_may_come``: the avatar spoke within
        the echo's tail (``echo_gate.EchoTail``). Frames are learned ``ONSET_FRAMES`` late and
        forgotten when the user is found talking: the start of their voice is not echo (the
        gate opens on a voice only after it held for a moment)."""
        if user_talking:
            self._recent.clear()
            return
        self._recent.append((echo_may_come, rms(raw)))
        if len(self._recent) > ONSET_FRAMES:
            speaking, level = self._recent.popleft()
            (self._speaking if speaking else self._floor).append(level)
            self._learned += 1
            if self._learned % _JUDGE_EVERY == 0:
                self.heard = self._judge()

    def _judge(self) -> bool:
        if len(self._floor) < _MIN_FRAMES or len(self._speaking) < _MIN_FRAMES:
            return True
        floor = max(float(np.percentile(self._floor, _FLOOR_PERCENTILE)), 1.0)
        loud = float(np.percentile(self._speaking, _LOUD_PERCENTILE))
        return loud > floor * 10 ** (HEARD_ABOVE_FLOOR_DB / 20)

    def reset(self) -> None:
        """A new microphone stream: what it hears is learned afresh."""
        self._floor.clear()
        self._speaking.clear()
        self._recent.clear()
        self.heard = True
