"""One voice request as the simulator received it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ravatar_live.simulator.audio import SAMPLE_RATE


@dataclass(frozen=True)
class Utterance:
    """One voice request as the simulator received it (16 kHz mono s16le)."""

    pcm: bytes
    transcript: str | None
    source: str  # "pcm" (Live PCM stream), "wav" (a file_base64_data blob) or
    #                "stream-mic" (the stream page's microphone)
    user_id: str
    license_id: str | None = None
    push_to_talk: bool = False
    saved_path: Path | None = None

    @property
    def duration_s(self) -> float:
        """Length of the audio."""
        return len(self.pcm) / 2 / SAMPLE_RATE

    def describe(self) -> dict[str, object]:
        """JSON-friendly summary (no audio) for the admin API."""
        return {"transcript": self.transcript, "source": self.source, "user_id": self.user_id,
                "license_id": self.license_id, "push_to_talk": self.push_to_talk,
                "bytes": len(self.pcm), "duration_s": round(self.duration_s, 3),
                "saved_path": str(self.saved_path) if self.saved_path else None}
