"""The stream page's voice route and barge-in: speech a player sends on the offer's audio track
is cut into utterances, recognised, and answered on the user's chat socket like a voice turn (the
avatar saying the reply in the stream); a muted track says nothing; a new user turn of any kind
cuts the talking avatar off. An aiortc player with an espeak-ng "microphone" stands in for the
browser (tests/gui drives the real page's microphone)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from ravatar_live.simulator.audio import pcm_to_wav, wav_to_pcm16k
from ravatar_live.simulator.transcriber import pocketsphinx_available
from tests.simulator.stream_player import (
    AnsweringPlayer,
    SpeechTrack,
    answering_player,
    signalling,
)

LONG_REQUEST = ("Please tell me a long story about the sea, the wind, the lighthouse keeper and "
                "the ships that passed his island every night.")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """'What is the weather like today' as 16 kHz int16 samples."""
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is required (apt-get install espeak-ng)"
    path = tmp_path_factory.mktemp("mic") / "speech.wav"
    subprocess.run([exe, "-v", "en-us", "-s", "120", "-w", str(path),
                    "what is the weather like today"], check=True, timeout=30)
    return np.frombuffer(wav_to_pcm16k(path.read_bytes()), dtype="<i2")


@contextlib.asynccontextmanager
async def watching(client, origin: str, mic: SpeechTrack) -> AsyncIterator[AnsweringPlayer]:
    """A player connected to the instance and sending `mic` on the audio track."""
    async with signalling(client.http, origin, client.token) as sig, \
            answering_player(mic=mic) as player:
        offer = await sig.subscribe()
        await sig.send({"type": "answer", "sdp": await player.answer(offer["sdp"])})
        await player.next_frame()
        yield player


async def test_speech_on_the_stream_microphone_is_answered_on_the_chat_socket(
        make_client, speech: np.ndarray) -> None:
    assert pocketsphinx_available(), "pocketsphinx is not installed (pip install '.[asr]')"
    c = await make_client(transcribe=True, stream_video_codec="VP8", stream_fps=5.0,
                          utterance_gap_s=0.5)
    lid, origin = await c.start_stream(width="320", height="180")
    mic = SpeechTrack()
    async with c.ws() as chat, watching(c, origin, mic):
        await c.sim.wait_for_stream(lid, lambda ps: ps[0]["mic"]["frames"] > 0)
        mic.play(speech)
        reply = await c.receive_json(chat, within_s=30)
        [utt] = c.sim.utterances
        players = await c.sim.wait_for_stream(lid, lambda ps: ps[0]["replies_spoken"] == 1)
    assert (utt.source, utt.license_id, utt.user_id) == ("stream-mic", lid, c.USER_ID)
    assert abs(utt.duration_s - len(speech) / 16000) < 0.6  # the speech, not the silences
    assert utt.transcript and {"weather", "today", "like"} & set(utt.transcript.split()), \
        f"recognised {utt.transcript!r}"
    assert (reply["type"], reply["chat_type"], reply["requestType"], reply["LicenseId"]) == (
        "incoming", "voice", "audio", lid)
    assert reply["answer"].startswith(f">{utt.transcript}\n\n")
    assert players[0]["mic"] == {"frames": players[0]["mic"]["frames"], "speech": True,
                                 "utterances": 1}


async def test_a_muted_microphone_says_nothing(make_client, speech: np.ndarray) -> None:
    c = await make_client(stream_video_codec="VP8", stream_fps=5.0, utterance_gap_s=0.5)
    lid, origin = await c.start_stream(width="320", height="180")
    mic = SpeechTrack()
    mic.enabled = False  # as a browser's disabled track: silence in every frame
    async with watching(c, origin, mic):
        mic.play(speech)
        # Longer than the speech and its closing pause, counted in received audio frames.
        frames = round(len(speech) / 16000 / 0.02) + 75
        players = await c.sim.wait_for_stream(lid, lambda ps: ps[0]["mic"]["frames"] >= frames)
    assert players[0]["mic"]["speech"] is False and players[0]["mic"]["utterances"] == 0
    assert c.sim.utterances == [] and c.sim.messages == []


def interrupting_turn(client, lid: str, kind: str) -> list[dict[str, Any]]:
    """The chat messages of a new user turn of `kind`."""
    if kind == "text":
        return [client.text_message("Stop, one more question!", lid)]
    tone = np.round(0.3 * np.sin(np.arange(4000) / 3) * 32767).astype("<i2").tobytes()
    if kind == "wav blob":
        return [client.wav_message(pcm_to_wav(tone), LicenseId=lid)]
    return [client.pcm_message(tone, lid)]  # one short chunk (0.25 s): a whole utterance


@pytest.mark.parametrize("kind", ["text", "wav blob", "pcm utterance", "stream-mic utterance"])
async def test_a_new_turn_cuts_the_speaking_avatar_off(make_client, speech: np.ndarray,
                                                       kind: str) -> None:
    c = await make_client(stream_video_codec="VP8", stream_fps=5.0, utterance_gap_s=0.5)
    lid, origin = await c.start_stream(width="320", height="180")
    mic = SpeechTrack()
    async with c.ws() as chat, watching(c, origin, mic):
        await chat.send_json(c.text_message(LONG_REQUEST, lid))
        first = await c.receive_json(chat)
        await c.sim.wait_for_stream(lid, lambda ps: ps[0]["samples_spoken"] > 0)  # talking
        if kind == "stream-mic utterance":
            mic.play(speech)
        else:
            for message in interrupting_turn(c, lid, kind):
                await chat.send_json(message)
        # The avatar stops at once (the turn begins before its reply is ready)...
        await c.sim.wait_for_stream(lid, lambda ps: ps[0]["replies_interrupted"] == 1)
        second = await c.receive_json(chat, within_s=30)
        # ...and then answers the new turn.
        players = await c.sim.wait_for_stream(lid, lambda ps: ps[0]["replies_spoken"] == 2)
    assert first["type"] == second["type"] == "incoming"
    assert second["chat_type"] == ("text" if kind == "text" else "voice")
    assert (players[0]["replies_interrupted"], players[0]["replies_spoken"]) == (1, 2)


async def test_the_end_of_an_older_voice_turn_does_not_cut_a_newer_reply_off(make_client) -> None:
    """A typed question while a voice take is still streaming is the newer turn: when the take
    then ends, the avatar goes on with the typed question's reply, and the take's answer (to an
    older turn) is sent on the chat but not spoken."""
    c = await make_client(stream_video_codec="VP8", stream_fps=5.0, utterance_gap_s=30.0)
    lid, origin = await c.start_stream(width="320", height="180")
    tone = np.round(0.3 * np.sin(np.arange(4096) / 3) * 32767).astype("<i2").tobytes()
    async with c.ws() as chat, watching(c, origin, SpeechTrack()):
        await chat.send_json(c.pcm_message(tone, lid))  # a whole chunk: the take goes on
        await chat.send_json(c.text_message(LONG_REQUEST, lid))
        typed = await c.receive_json(chat)
        players = await c.sim.wait_for_stream(lid, lambda ps: ps[0]["samples_spoken"] > 0)
        await chat.send_json(c.pcm_message(tone[:4000], lid))  # a short chunk ends the take
        voiced = await c.receive_json(chat, within_s=30)
        # Half a second more of the typed question's reply, after the take's end and answer.
        spoken = players[0]["samples_spoken"]
        players = await c.sim.wait_for_stream(
            lid, lambda ps: ps[0]["samples_spoken"] >= spoken + 24_000)
    assert (typed["chat_type"], voiced["chat_type"]) == ("text", "voice")
    assert (players[0]["replies_spoken"], players[0]["replies_interrupted"]) == (1, 0)
