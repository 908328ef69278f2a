"""The app's link to a RAVATAR service: the HTTP session, the REST client and the chat socket.

In demo mode (no project configured, or --demo) it first starts the bundled simulator inside the
running loop and points everything at it. One aiohttp.ClientSession serves the app's lifetime;
every task it creates is kept so that nothing is garbage-collected mid-flight.

The chat socket is a ReconnectingChatSocket: after an unexpected close or a missed heartbeat it
comes back by itself (exponential back-off with jitter). Meanwhile the connection stays
CONNECTED, so the user can keep typing: text is queued, a voice take is held whole and resent.
The window hears about it through `socket_lost` ("Reconnecting in 3 s…", refreshed every second),
`link_restored` and, for what could not be delivered, `not_sent`. TLS certificate checks are
aiohttp's defaults and are never turned off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from ravatar_live.api.backoff import CHAT_RECONNECT, REQUEST_RETRY, BackoffPolicy
from ravatar_live.api.errors import RavatarError, ServiceUnreachableError
from ravatar_live.api.link_status import LinkState, LinkStatus
from ravatar_live.api.models import ConnectionInfo, ServerMessage
from ravatar_live.api.urls import ws_url_from_api
from ravatar_live.live.error_kinds import ErrorKind, classify
from ravatar_live.live.states import ConnectionState
from ravatar_live.settings import Settings
from ravatar_live.token_store import TokenStore, account_for

# aiohttp and the REST and chat clients (~0.3 s of imports) load with the first connection, after
# the window shows; the simulator (aiohttp's server side) with demo mode's first use.
if TYPE_CHECKING:
    import aiohttp

    from ravatar_live.api.not_sent import NotSent
    from ravatar_live.api.reconnect import ReconnectingChatSocket
    from ravatar_live.api.rest import RavatarClient
    from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig

logger = logging.getLogger(__name__)

DEMO_PROJECT_ID = "ravatar-live-demo"
#: Heartbeat of the chat socket: a server that stops answering pings is noticed within 1.5x this.
CHAT_HEARTBEAT_S = 10.0
REQUEST_TIMEOUT_S = 15.0
CERTIFICATE_MESSAGE = (
    "The server's security certificate could not be verified, so the app did not connect. "
    "Check the server address; if it is right, the connection may be intercepted.")


def _certificate_problem(exc: BaseException) -> bool:
    """True when a TLS certificate check failed somewhere in the exception's chain."""
    import aiohttp  # noqa: PLC0415 - loaded by the connection that failed

    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError | aiohttp.ClientConnectorCertificateError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True)
class Endpoint:
    """Where to talk and as whom, resolved from the settings (or the embedded simulator)."""

    api_url: str
    ws_url: str
    project_id: str
    user_id: str
    demo: bool
    #: The user allowed the token over unencrypted http:// / ws:// to another computer.
    allow_plain_http_token: bool = False

    @staticmethod
    def from_settings(settings: Settings) -> Endpoint:
        return Endpoint(api_url=settings.api_url,
                        ws_url=settings.ws_url or ws_url_from_api(settings.api_url),
                        project_id=settings.project_id, user_id=settings.user_id, demo=False,
                        allow_plain_http_token=settings.allow_plain_http_token)

    @staticmethod
    def for_simulator(sim: RunningSimulator, user_id: str) -> Endpoint:
        return Endpoint(api_url=sim.base_url, ws_url=sim.ws_url, project_id=DEMO_PROJECT_ID,
                        user_id=user_id, demo=True)


async def _start_simulator(config: SimulatorConfig | None) -> RunningSimulator:
    """Demo mode's embedded simulator, imported here: with a real service it never loads, and
    in demo mode not before the window shows (~0.2 s of imports)."""
    from ravatar_live.simulator.server import (  # noqa: PLC0415
        SimulatorConfig,
        start_simulator,
    )

    return await start_simulator(config or SimulatorConfig())


class ServiceConnection(QObject):
    """Opens and holds the connection; forwards every chat message as `message_received`."""

    state_changed = Signal(str)  # ConnectionState value
    connected = Signal(object)  # ConnectionInfo
    failed = Signal(str, str)  # ErrorKind value, plain-words message
    message_received = Signal(object)  # ServerMessage
    socket_lost = Signal(str)  # plain-words message ("… Reconnecting in 3 s…")
    link_changed = Signal(object)  # LinkStatus, every change of the chat link
    link_restored = Signal()  # the chat link is back after it was lost
    not_sent = Signal(object)  # NotSent: a take or queued messages that were given up

    def __init__(self, *, simulator_config: SimulatorConfig | None = None,
                 retry_policy: BackoffPolicy = REQUEST_RETRY,
                 token_store: TokenStore | None = None,
                 chat_heartbeat_s: float = CHAT_HEARTBEAT_S,
                 chat_backoff: BackoffPolicy | None = None,
                 request_timeout_s: float = REQUEST_TIMEOUT_S,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._token_store = token_store
        self._simulator_config = simulator_config  # None: the default one
        self._retry_policy = retry_policy
        #: Used by the next open(): the chat socket's heartbeat and reconnect back-off.
        self.chat_heartbeat_s = chat_heartbeat_s
        self.chat_backoff = chat_backoff or CHAT_RECONNECT
        #: Used by the next open(): how long one REST call may take.
        self.request_timeout_s = request_timeout_s
        self._http: aiohttp.ClientSession | None = None
        self._simulator: RunningSimulator | None = None
        self._client: RavatarClient | None = None
        self._socket: ReconnectingChatSocket | None = None
        self._reader: asyncio.Task[None] | None = None
        self._info: ConnectionInfo | None = None
        self._endpoint: Endpoint | None = None
        self._state = ConnectionState.OFFLINE
        self._link_lost = False  # the link dropped and has not come back yet
        self._wake_link: asyncio.Event | None = None  # cuts a back-off wait short
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._on_countdown_tick)

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

    @property
    def link(self) -> LinkStatus | None:
        """The chat link's latest status (None before a connection was opened)."""
        return self._socket.status if self._socket is not None else None

    @property
    def chat_socket(self) -> ReconnectingChatSocket | None:
        return self._socket

    # --- lifecycle ---------------------------------------------------------------------------
    async def open(self, settings: Settings, *, demo: bool) -> ConnectionInfo | None:
        """Connect (closing any previous connection first). Returns None and emits `failed`
        when it cannot; never raises for service problems."""
        import aiohttp  # noqa: PLC0415 - see the TYPE_CHECKING imports

        from ravatar_live.api.reconnect import ReconnectingChatSocket  # noqa: PLC0415

        await self._close_link()
        self._set_state(ConnectionState.CONNECTING)
        try:
            if self._http is None:
                self._http = aiohttp.ClientSession()
            if demo:
                if self._simulator is None:
                    self._simulator = await _start_simulator(self._simulator_config)
                    logger.info("demo mode: embedded simulator at %s", self._simulator.base_url)
                endpoint = Endpoint.for_simulator(self._simulator, settings.user_id)
            else:
                endpoint = Endpoint.from_settings(settings)
            self._endpoint = endpoint
            client = self._make_client(self._http, endpoint)
            self._client = client
            info = await client.connection()
            socket = ReconnectingChatSocket.from_client(
                client, ws_url=endpoint.ws_url, heartbeat_s=self.chat_heartbeat_s,
                backoff=self.chat_backoff, sleep=self._backoff_sleep)
            socket.add_state_listener(self._on_link_status)
            socket.add_not_sent_listener(self._on_not_sent)
            await socket.connect()  # a failure here is reported below, not as a link loss
        except asyncio.CancelledError:
            self._set_state(ConnectionState.OFFLINE)
            raise
        except Exception as exc:  # every failure becomes words in the window
            kind, message = classify(exc)
            if _certificate_problem(exc):
                kind, message = ErrorKind.UNREACHABLE, CERTIFICATE_MESSAGE
            logger.warning("connecting failed: %s", exc)
            self._set_state(ConnectionState.FAILED)
            self.failed.emit(kind.value, message)
            return None
        self._socket = socket
        self._info = info
        self._link_lost = False
        self._reader = asyncio.get_running_loop().create_task(self._read_messages(socket))
        self._set_state(ConnectionState.CONNECTED)
        self.connected.emit(info)
        return info

    def _make_client(self, http: aiohttp.ClientSession, endpoint: Endpoint) -> RavatarClient:
        from ravatar_live.api.rest import RavatarClient  # noqa: PLC0415 - see TYPE_CHECKING

        store = self._token_store
        if store is None or endpoint.demo:
            # The simulator signs with a fresh secret every run: nothing worth keeping.
            return RavatarClient(http, endpoint.api_url, endpoint.project_id, endpoint.user_id,
                                 retry_policy=self._retry_policy,
                                 request_timeout_s=self.request_timeout_s,
                                 allow_plain_http_token=endpoint.allow_plain_http_token)
        account = account_for(endpoint.project_id, endpoint.user_id)
        return RavatarClient(http, endpoint.api_url, endpoint.project_id, endpoint.user_id,
                             retry_policy=self._retry_policy, token=store.load(account),
                             on_token=lambda token: store.save(account, token),
                             request_timeout_s=self.request_timeout_s,
                             allow_plain_http_token=endpoint.allow_plain_http_token)

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

    def send_nowait(self, message: Mapping[str, Any]) -> None:
        """Send one chat message: at once when the link is up, else queued for the reconnect.
        Raises a RavatarError when there is no connection or the queue is full."""
        if self._socket is None:
            raise ServiceUnreachableError("Not connected to the RAVATAR service.")
        self._socket.send_nowait(message)

    async def send(self, message: Mapping[str, Any]) -> None:
        """`send_nowait` for callers written against an awaitable send."""
        self.send_nowait(message)

    def begin_take(self) -> int | None:
        """A voice take starts: its chunks are held until it is delivered whole."""
        if self._socket is None:
            return None
        try:
            return self._socket.begin_take()
        except RavatarError as exc:
            logger.info("voice take not tracked: %s", exc)
            return None

    def end_take(self) -> int | None:
        """The voice take is complete."""
        return self._socket.end_take() if self._socket is not None else None

    @property
    def link_up(self) -> bool:
        """True while the chat link is open (messages go out at once)."""
        return self._socket is not None and self._socket.connected

    def retry_link_now(self) -> bool:
        """Cut a reconnect back-off short (the user pressed "Reconnect"); False if the link is
        not waiting to reconnect."""
        link = self.link
        if link is None or link.state is not LinkState.RECONNECTING or self._wake_link is None:
            return False
        logger.info("reconnecting the chat link now, as asked")
        self._wake_link.set()
        return True

    async def _backoff_sleep(self, delay_s: float) -> None:
        # The reconnecting socket's sleep, made interruptible for retry_link_now().
        wake = self._wake_link = asyncio.Event()
        try:
            async with asyncio.timeout(delay_s):
                await wake.wait()
        except TimeoutError:
            pass
        finally:
            if self._wake_link is wake:
                self._wake_link = None

    async def _close_link(self) -> None:
        reader, self._reader = self._reader, None
        socket, self._socket = self._socket, None
        self._countdown.stop()
        if socket is not None:
            with contextlib.suppress(Exception):
                await socket.close()  # reports held takes / queued text as not sent
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
        self._info = None
        self._link_lost = False

    async def _read_messages(self, socket: ReconnectingChatSocket) -> None:
        async for message in socket.messages():  # survives reconnects; ends at close
            self._deliver(message)

    def _deliver(self, message: ServerMessage) -> None:
        try:
            self.message_received.emit(message)
        except Exception:  # one bad message must never stop the reader
            logger.exception("handling a chat message failed")

    # --- the chat link's reports (run on the loop thread) ------------------------------------
    def _on_link_status(self, status: LinkStatus) -> None:
        if status.state is LinkState.RECONNECTING:
            first = not self._link_lost
            self._link_lost = True
            if first:
                logger.warning("chat link lost: %s", status.error)
            self.socket_lost.emit(status.user_message)
            if (status.next_delay_s or 0.0) >= 1.5:
                self._countdown.start()
        elif status.state is LinkState.CONNECTED:
            self._countdown.stop()
            if self._link_lost:
                self._link_lost = False
                logger.info("chat link restored")
                self.link_restored.emit()
        elif status.state is LinkState.CLOSED:
            self._countdown.stop()
            if status.error is not None and self._socket is not None:
                # Closed for good by an error no retry can fix (e.g. sign-in refused).
                kind, message = classify(status.error)
                logger.warning("chat link closed for good: %s", status.error)
                self._set_state(ConnectionState.FAILED)
                self.failed.emit(kind.value, message)
        self.link_changed.emit(status)

    @Slot()
    def _on_countdown_tick(self) -> None:
        socket = self._socket
        status = socket.status if socket is not None else None
        if status is None or status.state is not LinkState.RECONNECTING \
                or status.retry_at is None:
            self._countdown.stop()
            return
        left = status.retry_at - time.monotonic()  # the socket's default clock
        if left < 0.5:
            self._countdown.stop()
            return
        self.socket_lost.emit(LinkStatus(LinkState.RECONNECTING, attempt=status.attempt,
                                         next_delay_s=left, error=status.error).user_message)

    def _on_not_sent(self, report: NotSent) -> None:
        logger.warning("chat link gave up on %s (%s)",
                       "a voice take" if report.take_id is not None
                       else f"{len(report.messages)} message(s)", report.reason.value)
        self.not_sent.emit(report)

    def _set_state(self, state: ConnectionState) -> None:
        if state is not self._state:
            self._state = state
            self.state_changed.emit(state.value)
