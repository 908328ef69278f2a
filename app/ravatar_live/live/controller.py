"""The app's services wired together; the main window binds to this and to its parts.

Owns: ServiceConnection (HTTP, REST client, chat socket, demo simulator), LiveSession (licenses),
ChatService (turns), VoiceService (the app's microphone route), PageMicrophone and NativeMicFeed
(the stream page's microphone route), TalkRouter (which route the talk controls drive),
StreamMonitor (stream stages), StreamHealth (stream figures and problems) and StreamPlayers
(which player shows the stream). It decides what follows what: connect at launch (ending
licenses a previous run left open, and saying so), start a session on request, open the voice
route in use while live, end the license when the stream closes or the app shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, Signal, Slot

from ravatar_live.api.backoff import REQUEST_RETRY, BackoffPolicy
from ravatar_live.api.errors import InvalidRequestError, RavatarError
from ravatar_live.api.models import ConnectionInfo, StreamSize
from ravatar_live.audio.voice import VoiceController
from ravatar_live.hotkeys.service import GlobalPushToTalk
from ravatar_live.live.chat import ChatService
from ravatar_live.live.connection import CHAT_HEARTBEAT_S, Endpoint, ServiceConnection
from ravatar_live.live.echo_reference import EchoReference
from ravatar_live.live.license_journal import LicenseJournal
from ravatar_live.live.native_mic_feed import NativeMicFeed
from ravatar_live.live.page_microphone import PageMicrophone
from ravatar_live.live.player_choice import PlayerChoice, PlayerMemory
from ravatar_live.live.session import LiveSession, LiveStream
from ravatar_live.live.states import ConnectionState, SessionState
from ravatar_live.live.stream_health import StreamHealth
from ravatar_live.live.stream_monitor import StreamMonitor
from ravatar_live.live.stream_players import StreamPlayers
from ravatar_live.live.talk_router import TalkRouter
from ravatar_live.live.voice_service import VoiceService
from ravatar_live.settings import Settings
from ravatar_live.tasks import TaskSet
from ravatar_live.token_store import TokenStore

if TYPE_CHECKING:
    from ravatar_live.simulator.server import SimulatorConfig
    from ravatar_live.stream.worker import PlayerSettings

logger = logging.getLogger(__name__)

#: A journaled license older than this has long been reclaimed by the service's idle timeout.
STALE_LICENSE_S: Final = 24 * 3600.0
LEFTOVER_END_TIMEOUT_S: Final = 3.0
STREAM_CLOSED_NOTICE: Final = ("The avatar's stream ended, so the live session was ended too. "
                               "Press Start session to talk again.")


class AppController(QObject):
    settings_changed = Signal(object)  # Settings
    avatar_changed = Signal(str)  # avatar id now in use

    def __init__(self, settings: Settings, voice: VoiceController, *, force_demo: bool = False,
                 journal: LicenseJournal | None = None,
                 simulator_config: SimulatorConfig | None = None,
                 retry_policy: BackoffPolicy = REQUEST_RETRY,
                 end_timeout_s: float = 2.0, stream_start_timeout_s: float = 30.0,
                 token_store: TokenStore | None = None,
                 chat_heartbeat_s: float = CHAT_HEARTBEAT_S,
                 chat_backoff: BackoffPolicy | None = None,
                 player_memory: PlayerMemory | None = None,
                 native_player_settings: PlayerSettings | None = None,
                 global_talk: GlobalPushToTalk | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self.force_demo = force_demo
        self.journal = journal
        self.connection = ServiceConnection(simulator_config=simulator_config,
                                            retry_policy=retry_policy, token_store=token_store,
                                            chat_heartbeat_s=chat_heartbeat_s,
                                            chat_backoff=chat_backoff, parent=self)
        self.session = LiveSession(self.connection, self.ensure_connected, journal=journal,
                                   end_timeout_s=end_timeout_s, parent=self)
        self.chat = ChatService(self.connection, self.session, parent=self)
        self.voice = VoiceService(voice, self.chat, parent=self)
        self.stream = StreamMonitor(stream_start_timeout_s, parent=self)
        self.health = StreamHealth(parent=self)
        self.players = StreamPlayers(self.stream, self.health, tell=self.chat.tell,
                                     memory=player_memory,
                                     native_settings=native_player_settings, parent=self)
        self.session.stream_teardown = self.players.stop
        #: The push-to-talk key that works while other apps have the focus (off by default).
        self.global_talk = global_talk or GlobalPushToTalk(parent=self)
        self.page_mic = PageMicrophone(tell=self.chat.tell, parent=self)
        self.native_mic = NativeMicFeed(voice.capture, parent=self)
        self.talk = TalkRouter(self.voice, self.page_mic, self.native_mic, self.players,
                               parent=self)
        self.echo_reference = EchoReference(self.players, voice.echo.far_end, parent=self)
        voice.on_avatar_yield.connect(self.players.set_avatar_yields)
        self._connect_task: asyncio.Task[bool] | None = None
        self._tasks = TaskSet("app controller")
        self._shutting_down = False
        self._apply_to_services(settings)

        self.connection.connected.connect(self._on_connected)
        self.session.state_changed.connect(self._on_session_state)
        self.session.stream_ready.connect(self._on_stream_ready)
        self.session.late_end.connect(self._on_late_end)
        self.stream.session_closed.connect(self._on_stream_closed)
        self.connection.link_restored.connect(self._on_link_restored)

    # --- properties --------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def demo(self) -> bool:
        return self.force_demo or self._settings.is_demo

    @property
    def avatar_id(self) -> str:
        return self.chat.avatar_id

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    # --- connecting --------------------------------------------------------------------------
    async def ensure_connected(self) -> bool:
        """Connect once; concurrent callers wait for the same attempt."""
        if self.connection.state is ConnectionState.CONNECTED:
            return True
        if self._connect_task is None or self._connect_task.done():
            self._connect_task = asyncio.get_running_loop().create_task(self._connect())
        return await asyncio.shield(self._connect_task)

    async def _connect(self) -> bool:
        info = await self.connection.open(self._settings, demo=self.demo)
        if info is None:
            return False
        await self._end_leftover_licenses()
        return True

    async def startup(self, *, start_session: bool) -> None:
        """Connect at launch; with `start_session` go live straight away (--start), the native
        player's modules loading while the app connects when it will likely be needed."""
        if start_session and not self.demo:
            self.players.prepare()
        if not await self.ensure_connected():
            return
        if start_session:
            self.start_session()

    async def reconnect(self) -> bool:
        """Connect afresh (new connection settings, "Try again", "Sign in again"): end any
        session first. When only the chat link is down for the same service, the session is
        kept and the link just retries now."""
        if self._same_service() and self.connection.retry_link_now():
            return True
        await self.session.end()
        self.talk.deactivate()
        self._connect_task = None
        return await self.ensure_connected()

    def _same_service(self) -> bool:
        endpoint = self.connection.endpoint
        if endpoint is None:
            return False
        if self.demo:
            return endpoint.demo
        return endpoint == Endpoint.from_settings(self._settings)

    async def _end_leftover_licenses(self) -> None:
        """End licenses a previous run could not (crash, kill, power loss) for this same service,
        and tell the user. One that cannot be ended now stays journaled and is retried in the
        background."""
        endpoint, client = self.connection.endpoint, self.connection.client
        if self.journal is None or endpoint is None or client is None or endpoint.demo:
            return
        ended = pending = 0
        now = time.time()
        for entry in self.journal.for_service(endpoint.api_url):
            if entry.license_id in self.session.pending_ends:
                continue
            if now - entry.started_at > STALE_LICENSE_S:
                logger.info("forgetting live session %s: journaled over a day ago, long expired",
                            entry.license_id)
                self.journal.remove(entry.license_id)
                continue
            try:
                async with asyncio.timeout(LEFTOVER_END_TIMEOUT_S):
                    await client.end_live_session(entry.license_id, retry=False)
            except InvalidRequestError as exc:
                logger.warning("the service refused to end left-over live session %s: %s",
                               entry.license_id, exc)
            except (RavatarError, TimeoutError) as exc:
                logger.warning("could not end left-over live session %s yet: %s",
                               entry.license_id, exc)
                self.session.retry_end_later(entry.license_id)
                pending += 1
                continue
            else:
                ended += 1
                logger.info("ended live session %s left over from a previous run",
                            entry.license_id)
            self.journal.remove(entry.license_id)
        logger.info("license journal checked: %d left-over session(s) ended, %d pending",
                    ended, pending)
        if ended:
            self.chat.tell(
                f"The app ended {ended} live session{'s' if ended != 1 else ''} left open when "
                "it last closed unexpectedly, so no avatar stays reserved.")
        if pending:
            self.chat.tell(
                f"{pending} live session{'s' if pending != 1 else ''} left open when the app "
                "last closed could not be ended yet; the app keeps trying.")

    # --- the session -------------------------------------------------------------------------
    def stream_size(self) -> StreamSize:
        return StreamSize(self._settings.stream_width, self._settings.stream_height)

    @Slot()
    def start_session(self) -> None:
        if self._shutting_down:
            return
        if not self.demo:
            self.players.prepare()
        self.session.request_start(self.chat.avatar_id, self.stream_size())

    @Slot()
    def cancel_start(self) -> None:
        self.session.cancel_start()

    @Slot()
    def end_session(self) -> None:
        self._spawn(self.session.end())

    async def restart_session(self) -> None:
        """End the running session and start a new one (new size, avatar)."""
        await self.session.end()
        self.start_session()

    async def shutdown(self) -> bool:
        """Everything the close path needs: mic off, license ended (bounded), links closed.
        Returns whether the license end was acknowledged (True when there was none)."""
        self._shutting_down = True
        logger.info("shutting down (session %s)", self.session.state.value)
        self.talk.deactivate()
        self.voice.close()
        self.global_talk.close()
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
        ended = await self.session.end()
        await self.session.flush_pending_ends()
        self._tasks.cancel_all()
        await self.connection.close()
        return ended

    def end_session_blocking(self) -> bool:
        """Last resort when the loop cannot run (OS log-out, quit from outside)."""
        self.native_mic.stop()
        self.voice.close()
        return self.session.end_blocking()

    # --- settings ----------------------------------------------------------------------------
    def update_settings(self, settings: Settings) -> None:
        """Take new settings for this run (the caller decides about saving and restarting)."""
        self._settings = settings
        self._apply_to_services(settings)
        self.settings_changed.emit(settings)

    def adjust_sound(self, *, muted: bool, volume: int) -> None:
        """The avatar's mute and volume (percent), changed live from the window: the players
        follow at once; nothing else restarts."""
        self._settings = self._settings.replace(avatar_muted=muted, avatar_volume=volume)
        self.players.set_muted(muted)
        self.players.set_volume(volume / 100)

    @Slot(str)
    def choose_avatar(self, avatar_id: str) -> None:
        if avatar_id and avatar_id != self.chat.avatar_id:
            self.chat.avatar_id = avatar_id
            self.avatar_changed.emit(avatar_id)

    @Slot(str)
    def choose_language(self, code: str) -> None:
        if code:
            self.chat.language = code

    def _apply_to_services(self, settings: Settings) -> None:
        self.players.choice = PlayerChoice(settings.stream_player)
        self.talk.set_route(settings.voice_route)
        self.players.set_volume(settings.avatar_volume / 100)
        self.players.set_muted(settings.avatar_muted)
        self.players.set_output_device(settings.speaker_id or None)
        self.global_talk.set_key(settings.global_push_to_talk_key)
        self.chat.user_id = settings.user_id
        self.chat.language = settings.language
        if settings.avatar_id:
            self.chat.avatar_id = settings.avatar_id
        try:
            self.voice.apply_settings(settings)
        except Exception as exc:  # a bad voice setting must not stop the app
            logger.warning("voice settings not applied: %s", exc)

    # --- reactions ---------------------------------------------------------------------------
    @Slot(object)
    def _on_connected(self, info: ConnectionInfo) -> None:
        wanted = self._settings.avatar_id
        avatar = info.avatar(wanted) if wanted else None
        if avatar is None or not avatar.has_live_mode:
            live = info.live_avatars
            avatar = live[0] if live else (info.avatars[0] if info.avatars else None)
            if wanted and avatar is not None:
                logger.warning("avatar %s is not available; using %s", wanted, avatar.id)
        if avatar is not None:
            self.choose_avatar(avatar.id)
        codes = [lang.code for lang in info.languages]
        if codes and self.chat.language not in codes:
            self.chat.language = codes[0]

    @Slot(str)
    def _on_session_state(self, state: str) -> None:
        if state == SessionState.LIVE.value:
            self.talk.activate()
        elif state in (SessionState.ENDING.value, SessionState.ENDED.value,
                       SessionState.ERROR.value):
            self.talk.deactivate()
            if state != SessionState.ENDING.value:
                self.stream.reset()
                self.players.reset()

    @Slot(object)
    def _on_stream_ready(self, stream: LiveStream) -> None:
        self.players.begin(stream)

    @Slot()
    def _on_stream_closed(self) -> None:
        # The page says the stream is over (or the token was refused): let the license go too,
        # and say why the session ended (the Start button offers a new one).
        if self.session.state is SessionState.LIVE and not self._shutting_down:
            logger.info("the stream page closed the stream: ending the live session")
            self.chat.tell(STREAM_CLOSED_NOTICE)
            self.end_session()

    @Slot(str)
    def _on_late_end(self, _license_id: str) -> None:
        self.chat.tell("The service has now confirmed the end of the earlier live session.")

    @Slot()
    def _on_link_restored(self) -> None:
        self.chat.tell("The chat connection is back.")

    def _spawn(self, coro: Coroutine[object, object, object]) -> None:
        self._tasks.spawn(coro)

