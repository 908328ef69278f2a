"""User turns and their replies, whichever way they arrive: the fields a reply needs, the reply
message, a voice utterance turned into an answer (recogniser, record, history), and the turns the
stream page's microphone makes (answered on the user's chat sockets like any voice turn)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ravatar_live.simulator.audio import describe_pcm, pcm_to_wav
from ravatar_live.simulator.catalog import Avatar, avatar_by_id
from ravatar_live.simulator.replies import voice_answer
from ravatar_live.simulator.utterance import Utterance

if TYPE_CHECKING:
    from ravatar_live.simulator.state import SimulatorState

log = logging.getLogger(__name__)

# How long the avatar speaks per reply character (and its bounds), in seconds.
SPEECH_S_PER_CHAR, SPEECH_MIN_S, SPEECH_MAX_S = 0.055, 1.5, 20.0


def speaking_seconds(text: str) -> float:
    """How long the avatar talks for a reply of this length."""
    return round(min(SPEECH_MAX_S, max(SPEECH_MIN_S, len(text) * SPEECH_S_PER_CHAR)), 2)


@dataclass
class RequestContext:
    """The fields of a user turn that shape the reply. `turn` numbers the license's turns, so a
    reply overtaken by a newer turn is not spoken (barge-in)."""

    avatar: Avatar
    chat_type: str
    request_type: str
    language: str
    license_id: str | None
    push_to_talk: bool = False
    turn: int = 0


def reply_message(ctx: RequestContext, answer: str) -> dict[str, Any]:
    """The `type: "incoming"` reply (PROTOCOL.md section 4), with LicenseId and avatar_id."""
    reply: dict[str, Any] = {
        "type": "incoming", "answer": answer, "chat_type": ctx.chat_type,
        "requestType": ctx.request_type, "avatar_id": ctx.avatar.avatar_id,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    if ctx.license_id:
        reply["LicenseId"] = ctx.license_id
    return reply


async def hear(state: SimulatorState, pcm: bytes, ctx: RequestContext, *, user_id: str,
               project_id: str, source: str) -> str:
    """Recognise an utterance (16 kHz mono s16le), record it, and return the voice answer."""
    transcript = await state.transcriber.transcribe(pcm)
    summary = describe_pcm(pcm)
    saved = _save(state.config.save_audio_dir, pcm, len(state.utterances) + 1)
    state.add_utterance(Utterance(
        pcm=pcm, transcript=transcript, source=source, user_id=user_id,
        license_id=ctx.license_id, push_to_talk=ctx.push_to_talk, saved_path=saved))
    log.info("utterance (%s, %s): %r", source, summary, transcript)
    answer = voice_answer(transcript, summary, ctx.avatar.name)
    state.history.record(project_id=project_id, user_id=user_id, avatar_id=ctx.avatar.avatar_id,
                         avatar_name=ctx.avatar.name, chat_type="voice", language=ctx.language,
                         request=transcript or f"({summary})", answer=answer)
    return answer


async def answer_stream_mic(state: SimulatorState, license_id: str, pcm: bytes,
                            turn: int) -> None:
    """A turn spoken into the stream page's microphone: answered on every chat socket of the
    license's user, and spoken by the avatar in the stream."""
    lic = state.licenses.get(license_id)
    avatar = avatar_by_id(lic.avatar_id) if lic is not None else None
    if lic is None or avatar is None:
        return
    state.licenses.touch(license_id)
    state.turn_heard(license_id, turn)
    ctx = RequestContext(avatar=avatar, chat_type="voice", request_type="audio", language="en",
                         license_id=license_id, turn=turn)
    answer = await hear(state, pcm, ctx, user_id=lic.user_id, project_id=lic.project_id,
                        source="stream-mic")
    message = reply_message(ctx, answer)
    for peer in list(state.chat_peers):
        if peer.user_id == lic.user_id:
            peer.send_reply(message)
    state.speak(license_id, answer, turn)


def _save(directory: Path | None, pcm: bytes, number: int) -> Path | None:
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"utterance-{number:04d}-{time.strftime('%Y%m%d-%H%M%S')}.wav"
        path.write_bytes(pcm_to_wav(pcm))
    except OSError:
        log.exception("could not save an utterance to %s", directory)
        return None
    return path
