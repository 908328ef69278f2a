"""Start and stop the simulator inside an existing asyncio loop (plain asyncio or qasync).

    from ravatar_live.simulator.server import SimulatorConfig, start_simulator
    sim = await start_simulator(SimulatorConfig(port=0))
    sim.base_url, sim.ws_url, sim.stats(), sim.inject_fault(...), sim.revoke_tokens()
    sim.stream_origin(license_id), sim.stream_players(license_id), sim.signalling_log(...)
    await sim.wait_for_stream(license_id, lambda players: ..., within_s=20)
    await sim.close()

Every hook is for the loop that started the simulator; each license's stream instance runs on
its own thread, and the stream hooks read thread-safe snapshots of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ravatar_live.simulator import admin, rest
from ravatar_live.simulator.chat_ws import chat_socket
from ravatar_live.simulator.config import SimulatorConfig
from ravatar_live.simulator.faults import make_fault
from ravatar_live.simulator.middleware import (
    cors_middleware,
    faults_middleware,
    json_errors_middleware,
)
from ravatar_live.simulator.net import url_host
from ravatar_live.simulator.pixel_streaming.availability import (
    aiortc_missing_reason,
    webrtc_enabled,
)
from ravatar_live.simulator.pixel_streaming.players import PlayerFacts
from ravatar_live.simulator.state import STATE_KEY, SimulatorState, Utterance

__all__ = ["PlayerFacts", "RunningSimulator", "SimulatorConfig", "Utterance", "build_app",
           "start_simulator"]

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 0.5


def build_app(state: SimulatorState) -> web.Application:
    """The aiohttp application for a simulator state (also usable with aiohttp's test utils)."""
    app = web.Application(
        middlewares=[cors_middleware, json_errors_middleware, faults_middleware],
        client_max_size=32 * 1024 * 1024)
    app[STATE_KEY] = state
    rest.add_routes(app)
    app.router.add_get("/ws/chat", chat_socket)
    admin.add_routes(app)

    async def close_peers(_app: web.Application) -> None:
        await state.close_sockets()

    app.on_shutdown.append(close_peers)
    return app


class RunningSimulator:
    """A simulator serving on a real socket. Made by `start_simulator`; stop it with `close()`."""

    def __init__(self, state: SimulatorState, runner: web.AppRunner, host: str, port: int,
                 reaper: asyncio.Task[None]) -> None:
        self._state = state
        self._runner = runner
        self._reaper = reaper
        self.port = port
        tls = state.config.tls_cert is not None
        self.base_url = f"{'https' if tls else 'http'}://{url_host(host)}:{port}"
        self.ws_url = f"{'wss' if tls else 'ws'}://{url_host(host)}:{port}/ws/chat"
        self._closed = False

    @property
    def config(self) -> SimulatorConfig:
        """The configuration it runs with."""
        return self._state.config

    @property
    def utterances(self) -> list[Utterance]:
        """Voice utterances received so far (16 kHz mono s16le `pcm`, `transcript`, `source`)."""
        return self._state.utterances

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every well-formed JSON object received on chat sockets, in arrival order."""
        return self._state.messages

    def stats(self) -> dict[str, int]:
        """{"live": n, "issued": n, "ended": n, "expired": n}."""
        return self._state.licenses.stats()

    def live_license_ids(self) -> list[str]:
        """LicenseIds currently live, oldest first."""
        return [lic.license_id for lic in self._state.licenses.live]

    def license_size(self, license_id: str) -> tuple[int, int] | None:
        """(width, height) a live license was started with, or None when it is not live."""
        lic = self._state.licenses.get(license_id)
        return (lic.width, lic.height) if lic is not None else None

    def stream_watchers(self, license_id: str) -> int:
        """How many players are connected to the license's stream instance (0 when it is not
        live)."""
        lic = self._state.licenses.get(license_id)
        return lic.watchers if lic is not None else 0

    @property
    def webrtc_enabled(self) -> bool:
        """Whether stream instances send the avatar over WebRTC (aiortc installed and not
        turned off); see `webrtc_missing_reason()` for why not."""
        return webrtc_enabled(self._state.config)

    @staticmethod
    def webrtc_missing_reason() -> str | None:
        """Why aiortc cannot be used, or None when it can."""
        return aiortc_missing_reason()

    def stream_origin(self, license_id: str) -> str | None:
        """The origin (scheme://host:port) the license's instance really serves on, or None
        when it has none. `streamingUrl` is this origin's root unless `stream_origin` is set."""
        instance = self._state.instances.get(license_id)
        return instance.origin if instance is not None else None

    def stream_players(self, license_id: str) -> list[PlayerFacts]:
        """The players connected to the license's instance, in joining order: `player_id`,
        `subscribed`, peer `state`, `offered` video codecs, the answered video `codec` (None
        when rejected), `rejected` kinds, `frames_sent`, `samples_spoken`, `replies_spoken`,
        `replies_interrupted`, encoded `size`, `mic` {frames, speech, utterances},
        `pings_sent`, `pongs_received`."""
        instance = self._state.instances.get(license_id)
        return instance.players() if instance is not None else []

    def departed_stream_players(self, license_id: str) -> list[PlayerFacts]:
        """Players that have left the license's instance, oldest first, with their facts as
        they were when they left (e.g. a web view whose page the app unloaded)."""
        instance = self._state.instances.get(license_id)
        return instance.departed_players() if instance is not None else []

    def signalling_log(self, license_id: str) -> list[dict[str, str]]:
        """Signalling messages of the license's instance, oldest first: `player_id`,
        `direction` ("in" from the player, "out" to it) and `type` (no bodies)."""
        instance = self._state.instances.get(license_id)
        return instance.signalling_log() if instance is not None else []

    async def drop_stream_players(self, license_id: str) -> int:
        """Drop the connections of every player of the license's instance, as a network failure
        would (the license and its instance stay); how many. Players are expected to come
        back."""
        instance = self._state.instances.get(license_id)
        return await instance.drop_players() if instance is not None else 0

    async def wait_for_stream(self, license_id: str,
                              predicate: Callable[[list[PlayerFacts]], bool],
                              within_s: float = 20.0) -> list[PlayerFacts]:
        """Wait until `predicate(stream_players(license_id))` holds and return those players
        (TimeoutError otherwise). Re-checked whenever the instance reports a change."""
        await self._state.wait_for(lambda: predicate(self.stream_players(license_id)), within_s)
        return self.stream_players(license_id)

    def inject_fault(self, route: str = "/startLiveSession", status: int | None = None,
                     count: int | None = 1, *, delay_s: float | None = None,
                     body: str | None = None, answer_delay_s: float | None = None) -> None:
        """Make the next `count` requests to `route` misbehave (see faults.py for the kinds).
        Raises faults.FaultSpecError for a description that makes no sense."""
        self._state.faults.add(make_fault(route=route, status=status, count=count,
                                          delay_s=delay_s, body=body,
                                          answer_delay_s=answer_delay_s))

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        self._state.faults.clear()

    async def drop_chat_sockets(self) -> int:
        """Close every chat socket from the server side now (licenses stay live); how many."""
        return await self._state.drop_chat_sockets()

    def stall_chat(self, stalled: bool = True) -> None:
        """While stalled, new chat sockets are accepted and then never answered (no pongs, no
        replies); switching it off closes them."""
        self._state.set_chat_stalled(stalled)

    @property
    def hostile_frames_sent(self) -> int:
        """Hostile frames sent on chat sockets so far (hostile mode)."""
        return self._state.hostile_sent

    async def wait_for_hostile_frames(self, count: int, within_s: float = 30.0) -> int:
        """Wait until at least `count` hostile frames were sent (TimeoutError otherwise)."""
        await self._state.wait_for(lambda: self._state.hostile_sent >= count, within_s)
        return self._state.hostile_sent

    @property
    def issued_tokens(self) -> list[str]:
        """The most recent JWTs this simulator issued (for tests proving none leaks)."""
        return list(self._state.tokens.recent)

    def revoke_tokens(self) -> None:
        """Every JWT issued so far becomes invalid (403 on REST and at the WS upgrade)."""
        self._state.tokens.revoke_all()

    def mint_token(self, user_id: str = "test-user", project_id: str = "test-project",
                   ttl_s: float | None = None) -> str:
        """A JWT as POST /jwt would issue it; a negative `ttl_s` gives an already-expired one."""
        return self._state.tokens.issue(user_id, project_id, ttl_s)

    async def expire_license(self, license_id: str) -> bool:
        """End a license from the server side now, as an idle timeout would (counted as
        expired); its stream page posts "ravatar-session-close". False if it was not live."""
        lic = self._state.licenses.release(license_id)
        if lic is None:
            return False
        self._state.licenses.ended -= 1  # release() counted it as ended; it expired instead
        self._state.licenses.expired += 1
        await self._state.finish_license(lic, "was ended by the server", tell_chat=True)
        return True

    async def wait_for_utterances(self, count: int, within_s: float = 10.0) -> list[Utterance]:
        """Wait until at least `count` utterances arrived (TimeoutError otherwise)."""
        await self._state.wait_for(lambda: len(self._state.utterances) >= count, within_s)
        return self._state.utterances

    async def wait_for_speech(self, seconds: float, within_s: float = 10.0) -> float:
        """Wait until the utterances heard hold at least `seconds` of audio in all (a take may
        arrive as several utterances when its chunks came with a gap); their total."""
        def heard() -> float:
            return sum(u.duration_s for u in self._state.utterances)

        await self._state.wait_for(lambda: heard() >= seconds, within_s)
        return heard()

    async def wait_for_message(self, predicate: Callable[[dict[str, Any]], bool],
                               within_s: float = 10.0) -> dict[str, Any]:
        """Wait for a received chat message matching `predicate` and return it."""
        def found() -> dict[str, Any] | None:
            return next((m for m in self._state.messages if predicate(m)), None)

        await self._state.wait_for(lambda: found() is not None, within_s)
        match = found()
        assert match is not None
        return match

    async def close(self) -> None:
        """Close every connection and stop serving. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._state.set_chat_stalled(False)
        self._reaper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reaper
        await self._state.close_instances()
        await self._state.close_sockets()
        await self._runner.cleanup()
        for task in list(self._state.tasks):
            task.cancel()
        if self._state.tasks:
            await asyncio.gather(*self._state.tasks, return_exceptions=True)
        log.info("simulator on %s stopped", self.base_url)


def _tls_context(config: SimulatorConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context


def _own_certificate_trust(config: SimulatorConfig) -> ssl.SSLContext | None:
    """For the instances' calls to the simulator's own HTTPS API: trust exactly its certificate
    (which may be self-signed or from a private CA), verification on."""
    if config.tls_cert is None:
        return None
    context = ssl.create_default_context(cafile=str(config.tls_cert))
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the leaf itself is the anchor
    return context


async def start_simulator(config: SimulatorConfig | None = None) -> RunningSimulator:
    """Start serving on config.host:config.port (0 picks a free port) in the running loop."""
    config = config or SimulatorConfig()
    state = SimulatorState.create(config)
    runner = web.AppRunner(build_app(state), handle_signals=False,
                           shutdown_timeout=SHUTDOWN_TIMEOUT_S, access_log=None)
    await runner.setup()
    tls = _tls_context(config)
    site = web.TCPSite(runner, config.host, config.port, ssl_context=tls)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    host, port = runner.addresses[0][:2]
    reaper = asyncio.get_running_loop().create_task(state.reap_forever())
    sim = RunningSimulator(state, runner, str(host), int(port), reaper)
    state.instances.api_base_url = sim.base_url
    state.instances.server_ssl = tls
    state.instances.api_ssl = _own_certificate_trust(config)
    log.info("simulator serving on %s", sim.base_url)
    return sim
