"""The app's link to a RAVATAR service: the HTTP session, the REST client and the chat socket.

In demo mode (no project configured, or --demo) it first starts the bundled simulator inside the
running loop and points everything at it. One aiohttp.ClientSession serves the app's lifetime;
every task it creates is kept so that nothing is garbage-collected mid-flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from PySide6.QtCore import QObject, Signal

from ravatar_live.api.errors import ServiceUnreachableError
from ravatar_live.api.models import ConnectionInfo, ServerMessage
from ravatar_live.api.rest import RavatarClient
from ravatar_live.api.urls import ws_url_from_api
from ravatar_live.api.ws import ChatSocket
from ravatar_live.live.error_kinds import classify
from ravatar_live.live.states import ConnectionState
from ravatar_live.settings import Settings
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig, start_simulator
from ravatar_live.token_store import TokenStore, account_for

logger = logging.getLogger(__name__)

DEMO_PROJECT_ID = "ravatar-live-demo"


@dataclass(frozen=True)
class Endpoint:
    """Where to talk and as whom, resolved from the settings (or the embedded simulator)."""

    api_url: str
    ws_url: str
    project_id: str
    user_id: str
    demo: bool

    @staticmethod
    def from_settings(settings: Settings) -> Endpoint:
        return Endpoint(api_url=settings.api_url,
                        ws_url=settings.ws_url or ws_url_from_api(settings.api_url),
                        project_id=settings.project_id, user_id=settings.user_id, demo=False)

    @staticmethod
    def for_simulator(sim: RunningSimulator, user_id: str) -> Endpoint:
        return Endpoint(api_url=sim.base_url, ws_url=sim.ws_url, project_id=DEMO_PROJECT_ID,
                        user_id=user_id, demo=True)


class ServiceConnection(QObject):
    """Opens and holds the connection; forwards every chat message as `message_received`."""

    state_changed = Signal(str)  # ConnectionState value
    connected = Signal(object)  # ConnectionInfo
    failed = Signal(str, str)  # ErrorKind value, plain-words message
    message_received = Signal(object)  # ServerMessage
    socket_lost = Signal(str)  # plain-words message

    def __init__(self, *, simulator_config: SimulatorConfig | None = None,
                 retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0),
                 token_store: TokenStore | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._token_store = token_store
        self._simulator_config = simulator_config or SimulatorConfig()
        self._retry_delays = retry_delays
        self._http: aiohttp.ClientSession | None = None
        self._simulator: RunningSimulator | None = None
        self._client: RavatarClient | None = None
        self._socket: ChatSocket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._info: ConnectionInfo | None = None
        self._endpoint: Endpoint | None = None
        self._state = ConnectionState.OFFLINE

    # --- read-only views ---------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def info(self) -> ConnectionInfo | None:
        return self._info

    @property
    def endpoint(self) -> Endpoint | None:
        return self._endpoint

    @property
    def client(self) -> RavatarClient | None:
        return self._client

    @property
    def simulator(self) -> RunningSimulator | None:
        return self._simulator

    @property
    def http(self) -> aiohttp.ClientSession | None:
        return self._http

    # --- lifecycle ---------------------------------------------------------------------------
    async def open(self, settings: Settings, *, demo: bool) -> ConnectionInfo | None:
        """Connect (closing any previous connection first). Returns None and emits `failed`
        when it cannot; never raises for service problems."""
        await self._close_link()
        self._set_state(ConnectionState.CONNECTING)
        try:
            if self._http is None:
                self._http = aiohttp.ClientSession()
            if demo:
                if self._simulator is None:
                    self._simulator = await start_simulator(self._simulator_config)
                    logger.info("demo mode: embedded simulator at %s", self._simulator.base_url)
                endpoint = Endpoint.for_simulator(self._simulator, settings.user_id)
            else:
                endpoint = Endpoint.from_settings(settings)
            self._endpoint = endpoint
            client = self._make_client(self._http, endpoint)
            self._client = client
            info = await client.connection()
            socket = client.chat_socket(ws_url=endpoint.ws_url)
            await socket.connect()
        except asyncio.CancelledError:
            self._set_state(ConnectionState.OFFLINE)
            raise
        except Exception as exc:  # every failure becomes words in the window
            kind, message = classify(exc)
            logger.warning("connecting failed: %s", exc)
            self._set_state(ConnectionState.FAILED)
            self.failed.emit(kind.value, message)
            return None
        self._socket = socket
        self._info = info
        self._reader = asyncio.get_running_loop().create_task(self._read_messages(socket))
        self._set_state(ConnectionState.CONNECTED)
        self.connected.emit(info)
        return info

    def _make_client(self, http: aiohttp.ClientSession, endpoint: Endpoint) -> RavatarClient:
        store = self._token_store
        if store is None or endpoint.demo:
            # The simulator signs with a fresh secret every run: nothing worth keeping.
            return RavatarClient(http, endpoint.api_url, endpoint.project_id, endpoint.user_id,
                                 retry_delays=self._retry_delays)
        account = account_for(endpoint.project_id, endpoint.user_id)
        return RavatarClient(http, endpoint.api_url, endpoint.project_id, endpoint.user_id,
                             retry_delays=self._retry_delays, token=store.load(account),
                             on_token=lambda token: store.save(account, token))

    async def close(self) -> None:
        """Close the socket, the HTTP session and the embedded simulator."""
        await self._close_link()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._simulator is not None:
            await self._simulator.close()
            self._simulator = None
        self._set_state(ConnectionState.OFFLINE)

    async def send(self, message: dict[str, Any]) -> None:
        """Send one chat message; raises a RavatarError when there is no open socket."""
        if self._socket is None or not self._socket.connected:
            raise ServiceUnreachableError("Not connected to the RAVATAR service.")
        await self._socket.send(message)

    async def _close_link(self) -> None:
        reader, self._reader = self._reader, None
        socket, self._socket = self._socket, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        if socket is not None:
            with contextlib.suppress(Exception):
                await socket.close()
        self._info = None

    async def _read_messages(self, socket: ChatSocket) -> None:
        try:
            async for message in socket.messages():
                self._deliver(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _kind, text = classify(exc)
            logger.warning("chat socket failed: %s", exc)
            self.socket_lost.emit(text)
            return
        if self._socket is socket:
            logger.warning("chat socket closed by the server")
            self.socket_lost.emit("The chat connection to the RAVATAR service was closed.")

    def _deliver(self, message: ServerMessage) -> None:
        self.message_received.emit(message)

    def _set_state(self, state: ConnectionState) -> None:
        if state is not self._state:
            self._state = state
            self.state_changed.emit(state.value)
