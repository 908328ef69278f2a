"""Integration fixtures: the REAL simulator in-process on 127.0.0.1 port 0, one aiohttp session
and one RavatarClient per test. Every test must leave no live license behind (asserted here)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ravatar_live.api.backoff import BackoffPolicy
from ravatar_live.api.rest import RavatarClient
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig, start_simulator

PROJECT_ID = "0123456789abcdef01234567"
USER_ID = "fedcba9876543210fedcba98"
# Back-off delays small enough for tests, distinct so the order can be checked.
TEST_RETRY = BackoffPolicy(base_s=0.01, cap_s=0.04, max_attempts=3)  # 0.01, 0.02, 0.04 s


@pytest.fixture
def sim_config() -> SimulatorConfig:
    """Override with @pytest.mark.parametrize("sim_config", [...]) for a special simulator."""
    # No speech recognition by default: fast and deterministic replies.
    return SimulatorConfig(host="127.0.0.1", port=0, transcribe=False)


@pytest.fixture
async def sim(sim_config: SimulatorConfig) -> AsyncIterator[RunningSimulator]:
    simulator = await start_simulator(sim_config)
    try:
        yield simulator
        live = simulator.stats()["live"]
        assert live == 0, (f"{live} live license(s) left behind: "
                           f"{simulator.live_license_ids()}")
    finally:
        await simulator.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def client(http: aiohttp.ClientSession, sim: RunningSimulator) -> RavatarClient:
    return RavatarClient(http, sim.base_url, PROJECT_ID, USER_ID,
                         retry_policy=TEST_RETRY, request_timeout_s=5.0)


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def speech_pcm(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Real synthetic speech ("hello, how are you today") as 16 kHz mono s16le PCM."""
    import shutil
    import subprocess
    import wave

    import numpy as np
    import soxr

    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required for the voice test (Debian package espeak-ng)"
    path = tmp_path_factory.mktemp("speech") / "hello.wav"
    subprocess.run([espeak, "-w", str(path), "hello, how are you today"], check=True,
                   capture_output=True, timeout=30)
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    resampled = soxr.resample(samples.astype(np.float32) / 32768.0, rate, 16000)
    # PROTOCOL.md 4: clamp to [-1, 1], then round(x * 32767).
    return (np.round(np.clip(resampled, -1.0, 1.0) * 32767).astype("<i2")).tobytes()
