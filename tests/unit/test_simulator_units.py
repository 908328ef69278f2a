"""Pure parts of the simulator: licenses (with a fake clock), faults, tokens, replies, audio."""

from __future__ import annotations

import base64
import io
import wave

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ravatar_live.simulator.audio import (
    CHUNK_BYTES,
    UnusableAudioError,
    check_pcm_chunk,
    decode_base64,
    describe_pcm,
    float_to_pcm16,
    pcm_to_wav,
    wav_to_pcm16k,
)
from ravatar_live.simulator.auth import (
    PROJECT_ID_RE,
    USER_ID_RE,
    TokenAuthority,
    TokenRejectedError,
    bearer_token,
)
from ravatar_live.simulator.config import SimulatorConfig
from ravatar_live.simulator.faults import FaultBook, FaultSpecError, make_fault
from ravatar_live.simulator.licenses import LicensePool, PoolExhaustedError
from ravatar_live.simulator.replies import compose_reply, voice_answer
from tests.support.clock import ManualClock


def test_pool_counts_issued_ended_expired_and_frees_slots() -> None:
    clock = ManualClock(1000.0)
    pool = LicensePool(max_licenses=2, idle_timeout_s=10, clock=clock)
    a = pool.acquire("av", "u", 640, 360)
    b = pool.acquire("av", "u", 640, 360)
    with pytest.raises(PoolExhaustedError):
        pool.acquire("av", "u", 640, 360)
    assert pool.release(a.license_id) is a
    assert pool.release(a.license_id) is None  # idempotent
    c = pool.acquire("av", "u", 640, 360)
    clock.now += 9
    pool.touch(b.license_id)
    clock.now += 2
    assert [lic.license_id for lic in pool.reap_idle()] == [c.license_id]
    assert pool.stats() == {"live": 1, "issued": 3, "ended": 1, "expired": 1}
    clock.now += 10
    assert [lic.license_id for lic in pool.reap_idle()] == [b.license_id]
    assert pool.stats() == {"live": 0, "issued": 3, "ended": 1, "expired": 2}


def test_watched_license_never_idles() -> None:
    clock = ManualClock(1000.0)
    pool = LicensePool(max_licenses=1, idle_timeout_s=5, clock=clock)
    lic = pool.acquire("av", "u", 1, 1)
    pool.watch(lic.license_id, +1)
    clock.now += 100
    assert pool.reap_idle() == []
    pool.watch(lic.license_id, -1)
    clock.now += 4.9
    assert pool.reap_idle() == []
    clock.now += 0.2
    assert pool.reap_idle() == [lic]
    assert pool.touch(lic.license_id) is False


def test_fault_book_order_counts_and_wildcard() -> None:
    book = FaultBook()
    book.add(make_fault("/a", status=503, count=2))
    book.add(make_fault("/a", status=504))
    book.add(make_fault("*", delay_s=0.1, count=None))
    taken = [book.take("/a") for _ in range(4)]
    assert [f.status if f else None for f in taken] == [503, 503, 504, None]
    fallback = book.take("/b")
    assert fallback is not None and fallback.delay_s == 0.1
    assert len(book.pending()) == 1
    book.clear()
    assert book.take("/b") is None


@pytest.mark.parametrize("kwargs", [
    {"route": "x", "status": 503}, {"route": "/a", "status": 302}, {"route": "/a", "status": True},
    {"route": "/a", "body": "weird"}, {"route": "/a", "delay_s": -0.1},
    {"route": "/a", "status": 503, "count": 0}, {"route": "/a"}])
def test_make_fault_rejects_nonsense(kwargs) -> None:
    with pytest.raises(FaultSpecError):
        make_fault(**kwargs)


def test_tokens_verify_expire_and_revoke() -> None:
    auth = TokenAuthority(ttl_s=60)
    token = auth.issue("user-1", "proj-1")
    claims = auth.verify(token)
    assert (claims.user_id, claims.project_id) == ("user-1", "proj-1")
    with pytest.raises(TokenRejectedError, match="expired"):
        auth.verify(auth.issue("user-1", "proj-1", ttl_s=-1))
    with pytest.raises(TokenRejectedError, match="missing"):
        auth.verify(None)
    with pytest.raises(TokenRejectedError, match="invalid"):
        auth.verify(token + "x")
    with pytest.raises(TokenRejectedError, match="invalid"):
        TokenAuthority(60).verify(token)  # another simulator's secret
    auth.revoke_all()
    with pytest.raises(TokenRejectedError, match="revoked"):
        auth.verify(token)
    assert auth.verify(auth.issue("user-1", "proj-1")).user_id == "user-1"


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Bearer", None), ("Basic abc", None),
    ("", None), (None, None)])
def test_bearer_token(header, token) -> None:
    assert bearer_token(header) == token


@given(st.text(max_size=140))
def test_id_rules_match_protocol(text: str) -> None:
    allowed_user = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    assert bool(USER_ID_RE.fullmatch(text)) == (1 <= len(text) <= 128
                                                and set(text) <= allowed_user)
    allowed_project = allowed_user - {"_"}
    assert bool(PROJECT_ID_RE.fullmatch(text)) == (1 <= len(text) <= 64
                                                   and set(text) <= allowed_project)


@given(st.text(min_size=1, max_size=300))
def test_reply_always_quotes_the_request_and_is_deterministic(text: str) -> None:
    reply = compose_reply(text, "Rebecca")
    assert reply == compose_reply(text, "Rebecca")
    collapsed = " ".join(text.split())
    if collapsed:
        assert collapsed[:150] in reply


def test_voice_answer_shapes() -> None:
    assert voice_answer("hello there", "1.0 s", "Rebecca").startswith(">hello there\n\nHello!")
    plain = voice_answer(None, "1.0 s of audio, silence", "Rebecca")
    assert plain.startswith(">(1.0 s of audio, silence)\n\n")
    assert voice_answer("", "2.0 s of audio, level -20 dBFS", "R").startswith(">(2.0 s")


@given(st.lists(st.floats(min_value=-4, max_value=4, allow_nan=False), max_size=64))
def test_float_to_pcm16_clamps_and_rounds(values: list[float]) -> None:
    out = np.frombuffer(float_to_pcm16(np.array(values)), dtype="<i2")
    expected = [round(min(1.0, max(-1.0, v)) * 32767) for v in values]
    assert out.tolist() == expected


def test_float_to_pcm16_turns_nan_into_silence_and_infinities_into_full_scale() -> None:
    out = np.frombuffer(float_to_pcm16(np.array([np.nan, np.inf, -np.inf, 0.5])), dtype="<i2")
    assert out.tolist() == [0, 32767, -32767, 16384]


def test_pcm_chunk_rules() -> None:
    assert check_pcm_chunk(b"\x00" * CHUNK_BYTES) is False
    assert check_pcm_chunk(b"\x00" * 2) is True
    for bad in (b"", b"\x00" * 3, b"\x00" * (CHUNK_BYTES + 2)):
        with pytest.raises(UnusableAudioError):
            check_pcm_chunk(bad)


def test_decode_base64_is_strict() -> None:
    assert decode_base64(base64.b64encode(b"abc").decode(), "f") == b"abc"
    for bad in ("abc", "a b c d", "data:x;base64,AAAA", "", 5):
        with pytest.raises(UnusableAudioError):
            decode_base64(bad, "f")


def test_wav_round_trip_and_description() -> None:
    pcm = float_to_pcm16(0.5 * np.sin(np.arange(16000) / 5))
    assert wav_to_pcm16k(pcm_to_wav(pcm)) == pcm
    assert describe_pcm(pcm) == "1.0 s of audio, level -9 dBFS"
    assert describe_pcm(b"\x00" * 3200) == "0.1 s of audio, silence"


def test_float_wav_is_refused_with_a_reason() -> None:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 10)
    raw = bytearray(buf.getvalue())
    raw[20:22] = (3).to_bytes(2, "little")  # WAVE_FORMAT_IEEE_FLOAT
    with pytest.raises(UnusableAudioError, match="not a readable PCM WAV"):
        wav_to_pcm16k(bytes(raw))


@pytest.mark.parametrize("kwargs", [
    {"port": 70000}, {"max_licenses": -1}, {"token_ttl_s": 0}, {"utterance_gap_s": -1},
    {"license_idle_timeout_s": 0}, {"reply_delay_s": -1}, {"force_start_status": 200}])
def test_config_validation(kwargs) -> None:
    with pytest.raises(ValueError, match="must be"):
        SimulatorConfig(**kwargs)
