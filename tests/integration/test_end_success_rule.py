"""One success test for /endLiveSession: the REST client and the synchronous emergency end (used
at OS log-out) judge every answer the same way.

A small aiohttp server on 127.0.0.1 (port 0) answers /endLiveSession with the body under test;
the simulator cannot be told to answer "ok" or a bare `{"status": 200}`, and those are exactly the
answers the two paths used to disagree on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from ravatar_live.api.errors import RavatarError
from ravatar_live.api.rest import RavatarClient
from ravatar_live.live.emergency_end import end_license_blocking

TOKEN = "opaque-test-token"

# (HTTP status, body, acknowledged)
ANSWERS = [
    (200, '{"status": "success"}', True),
    (200, '{"status": "ok"}', True),
    (200, '{"status": "SUCCESS"}', True),
    (200, '{"status": 200}', True),
    (200, '{"status": "200"}', True),
    (200, "", True),
    (200, '{"status": "failure", "error": "no such license"}', False),
    (200, '{"status": -1, "error": "Unknown error"}', False),  # the body's status wins
    (503, '{"status": 503, "error": "All AI assistants are busy at the moment"}', False),
    (500, "<html>Internal Server Error</html>", False),
    (200, "not json", False),
]


class EndServer:
    """Answers every /endLiveSession with the configured status and body, and counts them."""

    def __init__(self) -> None:
        self.http_status = 200
        self.body = ""
        self.requests = 0
        self.url = ""

    async def end(self, request: web.Request) -> web.Response:
        assert request.headers.get("Authorization") == f"Bearer {TOKEN}"
        assert (await request.json()) == {"LicenseId": "license-1"}
        self.requests += 1
        return web.Response(status=self.http_status, text=self.body,
                            content_type="application/json")


@pytest.fixture
async def end_server() -> AsyncIterator[EndServer]:
    server = EndServer()
    app = web.Application()
    app.router.add_post("/endLiveSession", server.end)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(("http_status", "body", "acknowledged"), ANSWERS)
async def test_both_end_paths_agree_on_every_answer(end_server: EndServer, http_status: int,
                                                   body: str, acknowledged: bool) -> None:
    end_server.http_status, end_server.body = http_status, body
    async with aiohttp.ClientSession() as http:
        client = RavatarClient(http, end_server.url, "p-1", "u-1", token=TOKEN)
        try:
            await client.end_live_session("license-1", retry=False)
            async_ok = True
        except RavatarError:
            async_ok = False
    # The blocking call runs on a worker thread so that this loop can serve it.
    blocking_ok = await asyncio.to_thread(end_license_blocking, end_server.url, TOKEN,
                                          "license-1", 10.0)
    assert (async_ok, blocking_ok) == (acknowledged, acknowledged)
    assert end_server.requests == 2
