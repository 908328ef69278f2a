"""Voice requests: Live PCM streams (validation, utterance gap, final short chunk), recorded blobs
(WAV of any rate/width/channels, WebM/Opus and Ogg/Opus, to 16 kHz mono), saved utterances, and
real pocketsphinx recognition."""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import shutil
import subprocess
import time
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from ravatar_live.simulator.audio import wav_to_pcm16k

CHUNK = 8192


def tone(seconds: float, rate: int = 16000, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def pcm16(samples: np.ndarray) -> bytes:
    return np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def chunks(pcm: bytes, pad_last: bool = True) -> list[bytes]:
    out = [pcm[i:i + CHUNK] for i in range(0, len(pcm), CHUNK)]
    if pad_last and out and len(out[-1]) < CHUNK:
        out[-1] = out[-1] + b"\x00" * (CHUNK - len(out[-1]))
    return out


def make_wav(samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> bytes:
    data = np.repeat(samples[:, None], channels, axis=1).reshape(-1)
    if width == 1:
        raw = np.round(data * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        raw = pcm16(data)
    elif width == 3:
        ints = np.round(data * 8388607).astype("<i4").tobytes()
        raw = b"".join(ints[i:i + 3] for i in range(0, len(ints), 4))
    else:
        raw = np.round(data * 2147483647).astype("<i4").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return buf.getvalue()


async def test_pcm_chunks_form_one_utterance_ended_by_the_gap(make_client) -> None:
    c = await make_client(utterance_gap_s=0.3)
    lid = await c.start_license()
    pcm = pcm16(tone(1.0))
    parts = chunks(pcm)
    async with c.ws() as ws:
        for part in parts:
            await ws.send_json(c.pcm_message(part, lid))
        sent_last = time.monotonic()
        [utt] = await c.sim.wait_for_utterances(1, within_s=5)
        waited = time.monotonic() - sent_last
        reply = await c.receive_json(ws)
    assert waited >= 0.25  # the utterance ended only once chunks had stopped for the gap
    assert utt.source == "pcm" and utt.license_id == lid and utt.user_id == c.USER_ID
    assert utt.pcm == b"".join(parts)
    assert utt.duration_s == pytest.approx(len(parts) * 0.256)
    assert utt.transcript is None  # recognition off in this test
    assert reply["type"] == "incoming"
    assert (reply["chat_type"], reply["requestType"], reply["LicenseId"]) == ("voice", "audio", lid)
    assert reply["answer"].startswith(">(1.0 s of audio, level -1")  # a 0.3 tone: ~-13 dBFS
    assert "dBFS)\n\n" in reply["answer"]


async def test_pause_longer_than_gap_splits_utterances(make_client) -> None:
    c = await make_client(utterance_gap_s=0.3)
    lid = await c.start_license()
    burst = chunks(pcm16(tone(0.5)))
    async with c.ws() as ws:
        for part in burst:
            await ws.send_json(c.pcm_message(part, lid))
        await c.sim.wait_for_utterances(1, within_s=5)
        for part in burst:
            await ws.send_json(c.pcm_message(part, lid))
        utts = await c.sim.wait_for_utterances(2, within_s=5)
        replies = [await c.receive_json(ws) for _ in range(2)]
    assert [u.pcm for u in utts] == [b"".join(burst)] * 2
    assert all(r["type"] == "incoming" for r in replies)
    # Speech counted across utterances (a take split by a gap still adds up).
    assert await c.sim.wait_for_speech(2 * 0.256 * len(burst) - 0.01, within_s=1) == \
        pytest.approx(2 * 0.256 * len(burst))
    with pytest.raises(TimeoutError):
        await c.sim.wait_for_speech(5.0, within_s=0.2)


async def test_short_chunk_ends_the_utterance_at_once(make_client) -> None:
    c = await make_client(utterance_gap_s=60.0)
    lid = await c.start_license()
    pcm = pcm16(tone(0.6))
    parts = chunks(pcm, pad_last=False)
    assert len(parts[-1]) < CHUNK
    async with c.ws() as ws:
        for part in parts:
            await ws.send_json(c.pcm_message(part, lid))
        [utt] = await c.sim.wait_for_utterances(1, within_s=5)  # far less than the 60 s gap
    assert utt.pcm == pcm


@pytest.mark.parametrize(("payload", "fragment"), [
    ("!!!not base64!!!", "not valid base64"),
    ("data:audio/pcm;base64,AAAA", "without a data: URL prefix"),
    ("", "non-empty base64 string"),
    (base64.b64encode(b"\x01\x02\x03").decode(), "even count"),
    (base64.b64encode(b"\x00" * (CHUNK + 2)).decode(), "at most 8192"),
])
async def test_bad_pcm_chunks_get_notices(client, payload: str, fragment: str) -> None:
    lid = await client.start_license()
    msg = client.pcm_message(b"", lid)
    msg["audio_base64_pcm"] = payload
    async with client.ws() as ws:
        await ws.send_json(msg)
        notice = await client.receive_json(ws)
    assert notice["type"] == "system" and fragment in notice["content"]
    assert client.sim.utterances == []


async def test_pcm_needs_a_live_license(client) -> None:
    lid = await client.start_license()
    await client.post("/endLiveSession", {"LicenseId": lid})
    good = pcm16(tone(0.256))
    async with client.ws() as ws:
        no_license = client.pcm_message(good, lid)
        del no_license["LicenseId"]
        await ws.send_json(no_license)
        notice = await client.receive_json(ws)
        assert "needs isLive: true and the LicenseId" in notice["content"]
        for _ in range(3):  # a stream to a dead license: told once, not once per chunk
            await ws.send_json(client.pcm_message(good, lid))
        await ws.send_json(client.text_message("ping"))
        frames = [await client.receive_json(ws) for _ in range(2)]
    assert frames[0]["type"] == "system" and "not a live session" in frames[0]["content"]
    assert frames[1]["type"] == "incoming" and "ping" in frames[1]["answer"]
    assert client.sim.utterances == []


@pytest.mark.parametrize(("rate", "channels", "width"), [
    (16000, 1, 2), (44100, 2, 2), (48000, 1, 3), (8000, 1, 1), (22050, 2, 4)])
async def test_wav_blob_is_converted_to_16k_mono(client, rate: int, channels: int,
                                                 width: int) -> None:
    samples = tone(0.5, rate=rate)
    async with client.ws() as ws:
        await ws.send_json(client.wav_message(make_wav(samples, rate, channels, width),
                                              isPushToTalk=True))
        reply = await client.receive_json(ws)
    [utt] = client.sim.utterances
    assert utt.source == "wav" and utt.push_to_talk is True and utt.license_id is None
    assert len(utt.pcm) // 2 == pytest.approx(8000, abs=40)
    got = np.frombuffer(utt.pcm, dtype="<i2").astype(np.float64) / 32767
    # Same tone, same level: compare RMS rather than samples (resampling shifts phase a bit).
    assert np.sqrt(np.mean(got[400:-400] ** 2)) == pytest.approx(0.3 / np.sqrt(2), rel=0.03)
    if (rate, channels, width) == (16000, 1, 2):
        assert utt.pcm == pcm16(samples)  # already 16 kHz mono s16le: passed through untouched
    assert reply["type"] == "incoming" and reply["chat_type"] == "voice"
    assert reply["answer"].startswith(">(0.5 s of audio")


@pytest.mark.parametrize(("blob", "fragment"), [
    (b"OggS" + b"\x00" * 40, "not readable Ogg audio"),
    (b"\x1a\x45\xdf\xa3" + b"\x00" * 40, "not readable WebM audio"),
    (b"hello, not audio", "neither a WAV file (RIFF/WAVE) nor WebM or Ogg audio"),
    (b"RIFF\x10\x00\x00\x00WAVEjunkjunk", "not a readable PCM WAV"),
])
async def test_undecodable_blobs_get_notices(client, blob: bytes, fragment: str,
                                             caplog) -> None:
    caplog.set_level(logging.INFO, logger="ravatar_live.simulator")
    async with client.ws() as ws:
        await ws.send_json(client.wav_message(blob))
        notice = await client.receive_json(ws)
    assert notice["type"] == "system" and fragment in notice["content"]
    assert any("refused" in r.getMessage() and fragment in r.getMessage()
               for r in caplog.records)
    assert client.sim.utterances == []


def opus_blob(pcm_16k: bytes, container: str) -> bytes:
    """16 kHz speech as a WebM/Opus or Ogg/Opus file, as a browser's MediaRecorder makes it."""
    samples = np.frombuffer(pcm_16k, dtype="<i2").reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = 16000
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as media:
        stream = media.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        for resampled in av.AudioResampler(format="s16", layout="mono", rate=48000).resample(frame):
            for packet in stream.encode(resampled):
                media.mux(packet)
        for packet in stream.encode(None):
            media.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize("container", ["webm", "ogg"])
async def test_webm_and_ogg_opus_blobs_are_heard_like_wav(make_client, tmp_path: Path,
                                                          container: str) -> None:
    from ravatar_live.simulator.transcriber import pocketsphinx_available

    assert pocketsphinx_available(), "pocketsphinx is not installed (pip install '.[asr]')"
    c = await make_client(transcribe=True)
    speech = wav_to_pcm16k(espeak("what is the weather like today", tmp_path / "speech.wav"))
    blob = opus_blob(speech, container)
    assert blob[:4] == {"webm": b"\x1a\x45\xdf\xa3", "ogg": b"OggS"}[container]
    async with c.ws() as ws:
        await ws.send_json(c.wav_message(blob, isPushToTalk=True))
        reply = await c.receive_json(ws, within_s=30)
    [utt] = c.sim.utterances
    assert utt.source == "wav" and utt.push_to_talk is True  # a recorded blob, like a WAV
    assert abs(utt.duration_s - len(speech) / 2 / 16000) < 0.05  # decoded to 16 kHz mono
    assert utt.transcript and {"weather", "today", "like"} & set(utt.transcript.split()), \
        f"recognised {utt.transcript!r}"
    assert reply["type"] == "incoming" and reply["chat_type"] == "voice"
    assert reply["answer"].startswith(f">{utt.transcript}\n\n")


async def test_save_audio_dir_writes_16k_mono_wavs(make_client, tmp_path: Path) -> None:
    c = await make_client(save_audio_dir=tmp_path / "takes")
    lid = await c.start_license()
    async with c.ws() as ws:
        await ws.send_json(c.wav_message(make_wav(tone(0.3, rate=44100), 44100, 2)))
        for part in chunks(pcm16(tone(0.3)), pad_last=False):
            await ws.send_json(c.pcm_message(part, lid))
        utts = await c.sim.wait_for_utterances(2, within_s=5)
    files = sorted((tmp_path / "takes").glob("*.wav"))
    assert len(files) == 2
    assert {u.saved_path for u in utts} == set(files)
    for utt in utts:
        assert utt.saved_path is not None
        with wave.open(str(utt.saved_path), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
            assert w.readframes(w.getnframes()) == utt.pcm


async def test_admin_utterances_lists_what_arrived(client) -> None:
    async with client.ws() as ws:
        await ws.send_json(client.wav_message(make_wav(tone(0.25), 16000)))
        await client.receive_json(ws)
    async with client.http.get(client.sim.base_url + "/admin/utterances") as r:
        body = await r.json()
    [entry] = body["utterances"]
    assert entry["source"] == "wav" and entry["bytes"] == 8000


def espeak(text: str, path: Path) -> bytes:
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is required for the speech-recognition test (Debian: espeak-ng)"
    subprocess.run([exe, "-v", "en-us", "-s", "140", "-w", str(path), text], check=True,
                   capture_output=True, timeout=30)
    return path.read_bytes()


async def test_pocketsphinx_transcribes_espeak_speech(make_client, tmp_path: Path) -> None:
    from ravatar_live.simulator.transcriber import pocketsphinx_available

    # A missing recogniser must fail this test, not skip it.
    assert pocketsphinx_available(), "pocketsphinx is not installed (pip install '.[asr]')"
    c = await make_client(transcribe=True)
    lid = await c.start_license()
    wav = espeak("what is the weather like today", tmp_path / "speech.wav")
    pcm = wav_to_pcm16k(wav)
    async with c.ws() as ws:
        for part in chunks(pcm):  # as the app streams it: 8192-byte chunks, last one padded
            await ws.send_json(c.pcm_message(part, lid))
        reply = await c.receive_json(ws, within_s=30)
    [utt] = c.sim.utterances
    assert utt.transcript, "nothing was recognised"
    words = set(utt.transcript.split())
    assert words & {"weather", "today", "like"}, f"recognised {utt.transcript!r}"
    assert reply["answer"].startswith(f">{utt.transcript}\n\n")
    assert utt.transcript in reply["answer"].split("\n\n", 1)[1]


async def test_transcription_off_says_plainly_what_arrived(client) -> None:
    async with client.ws() as ws:
        await ws.send_json(client.wav_message(make_wav(np.zeros(16000), 16000)))
        reply = await client.receive_json(ws)
    assert reply["answer"].startswith(">(1.0 s of audio, silence)\n\n")
    assert "could not make out any words" in reply["answer"]


async def test_unfinished_utterance_is_kept_when_client_disconnects(make_client) -> None:
    c = await make_client(utterance_gap_s=60.0)
    lid = await c.start_license()
    async with c.ws() as ws:
        await ws.send_json(c.pcm_message(pcm16(tone(0.256)), lid))
        await c.sim.wait_for_message(lambda m: "audio_base64_pcm" in m, within_s=5)
    [utt] = await c.sim.wait_for_utterances(1, within_s=5)
    assert len(utt.pcm) == CHUNK
    await asyncio.sleep(0)  # let the reply attempt run against the closed socket (no crash)
