"""Fixtures for the simulator's own tests: a real simulator on 127.0.0.1:0 and a raw aiohttp
client (deliberately not ravatar_live.api: these tests pin the simulator to PROTOCOL.md)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig, start_simulator

USER_ID = "5f1e2d3c4b5a69788796a5b4"
PROJECT_ID = "64a1b2c3d4e5f60718293a4b"
LIVE_AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
CHAT_ONLY_AVATAR = "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b"


@dataclass
class Client:
    """A logged-in raw HTTP client for one simulator."""

    sim: RunningSimulator
    http: aiohttp.ClientSession
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, path: str, body: Any, *, auth: bool = True) -> tuple[int, Any]:
        async with self.http.post(self.sim.base_url + path, json=body,
                                  headers=self.auth if auth else {}) as r:
            return r.status, await r.json(content_type=None)

    async def get(self, path: str, *, auth: bool = True,
                  params: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.http.get(self.sim.base_url + path, params=params,
                                 headers=self.auth if auth else {}) as r:
            return r.status, await r.json(content_type=None)

    async def start(self, avatar_id: str = LIVE_AVATAR, width: Any = "640",
                    height: Any = "360") -> tuple[int, Any]:
        return await self.post("/startLiveSession",
                               {"avatar_id": avatar_id, "width": width, "height": height})

    async def start_license(self) -> str:
        status, body = await self.start()
        assert status == 200, body
        return str(body["LicenseId"])

    async def start_stream(self, width: str = "640", height: str = "360") -> tuple[str, str]:
        """A live license and its instance's origin (scheme://host:port)."""
        status, body = await self.start(width=width, height=height)
        assert status == 200, body
        origin = self.sim.stream_origin(body["LicenseId"])
        assert origin is not None and body["streamingUrl"] == origin + "/"
        return str(body["LicenseId"]), origin

    def ws(self, token: str | None = None) -> Any:
        return self.http.ws_connect(f"{self.sim.ws_url}?token={token or self.token}")

    # --- protocol helpers (on the client so test modules need no imports from here) ----------
    USER_ID = USER_ID
    PROJECT_ID = PROJECT_ID
    LIVE_AVATAR = LIVE_AVATAR
    CHAT_ONLY_AVATAR = CHAT_ONLY_AVATAR

    @staticmethod
    def text_message(text: str, license_id: str | None = None, **extra: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {"avatar_id": LIVE_AVATAR, "user_id": USER_ID,
                               "chat_type": "text", "language": "en", "requestType": "text",
                               "source": "sim-tests", "isLive": license_id is not None,
                               "request": text}
        if license_id:
            msg["LicenseId"] = license_id
        msg.update(extra)
        return msg

    @staticmethod
    def pcm_message(pcm: bytes, license_id: str, **extra: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {"avatar_id": LIVE_AVATAR, "user_id": USER_ID,
                               "chat_type": "voice", "language": "en", "requestType": "audio",
                               "source": "sim-tests", "isLive": True, "LicenseId": license_id,
                               "audio_base64_pcm": base64.b64encode(pcm).decode("ascii")}
        msg.update(extra)
        return msg

    @staticmethod
    def wav_message(wav: bytes, **extra: Any) -> dict[str, Any]:
        msg: dict[str, Any] = {"avatar_id": LIVE_AVATAR, "user_id": USER_ID,
                               "chat_type": "voice", "language": "en", "requestType": "audio",
                               "source": "sim-tests", "isLive": False,
                               "file_base64_data": base64.b64encode(wav).decode("ascii")}
        msg.update(extra)
        return msg

    @staticmethod
    async def receive_json(ws: aiohttp.ClientWebSocketResponse, within_s: float = 10.0) -> Any:
        """The next frame as JSON, failing clearly instead of hanging."""
        msg = await ws.receive(timeout=within_s)
        assert msg.type == aiohttp.WSMsgType.TEXT, f"expected a text frame, got {msg.type}"
        return msg.json()


MakeSim = Callable[..., Awaitable[RunningSimulator]]
MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
async def make_sim() -> AsyncIterator[MakeSim]:
    """Start simulators with config overrides; all are closed after the test.
    Speech recognition is off unless a test asks for it (it costs ~0.5 s to load)."""
    started: list[RunningSimulator] = []

    async def factory(**overrides: Any) -> RunningSimulator:
        overrides.setdefault("transcribe", False)
        sim = await start_simulator(SimulatorConfig(host="127.0.0.1", port=0, **overrides))
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        await sim.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client that keeps cookies, as a browser does (the simulator's hosts are IP
    addresses, which aiohttp's default cookie jar ignores)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


@pytest.fixture
async def make_client(make_sim: MakeSim, http: aiohttp.ClientSession) -> MakeClient:
    """A simulator (with overrides) plus a client holding a token from POST /jwt."""

    async def factory(sim: RunningSimulator | None = None, **overrides: Any) -> Client:
        sim = sim or await make_sim(**overrides)
        async with http.post(sim.base_url + "/jwt",
                             json={"user_id": USER_ID, "project_id": PROJECT_ID}) as r:
            assert r.status == 200
            token = (await r.json())["jwt"]
        return Client(sim=sim, http=http, token=token)

    return factory


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()
