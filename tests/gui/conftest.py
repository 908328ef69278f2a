"""GUI test harness: one qasync loop for the session, the real app window on the real simulator.

Every test that uses `qloop` (or `aloop`) runs inside that loop's `run_forever()`, the way the app
runs (tests/support/qt_loop.py); qtbot's waits spin Qt's event loop within it. Outside those
tests no loop is marked as running, so the async tests of other layers (pytest-asyncio) never
see a foreign one.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

# QtWebEngine wants to be imported before the QApplication exists.
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWebEngineCore import QWebEngineScript
from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: F401
from PySide6.QtWidgets import QApplication

QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

import qasync  # noqa: E402  (after PySide6)

from ravatar_live.api.backoff import BackoffPolicy  # noqa: E402
from ravatar_live.audio.capture import AudioCapture  # noqa: E402
from ravatar_live.audio.capture_file import FileReplayCapture  # noqa: E402
from ravatar_live.audio.settings import VoiceSettings  # noqa: E402
from ravatar_live.audio.voice import VoiceController  # noqa: E402
from ravatar_live.live.controller import AppController  # noqa: E402
from ravatar_live.live.license_journal import LicenseJournal  # noqa: E402
from ravatar_live.live.player_choice import PlayerMemory  # noqa: E402
from ravatar_live.live.states import ConnectionState, SessionState, StreamStage  # noqa: E402
from ravatar_live.live.voice_service import voice_settings_from  # noqa: E402
from ravatar_live.settings import Settings  # noqa: E402
from ravatar_live.settings_service import SettingsService  # noqa: E402
from ravatar_live.settings_store import SettingsStore  # noqa: E402
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig  # noqa: E402
from ravatar_live.stream.worker import PlayerSettings  # noqa: E402
from ravatar_live.ui.main_window import MainWindow  # noqa: E402
from ravatar_live.ui.stream_view import stream_profile  # noqa: E402
from ravatar_live.ui.theme import apply_theme  # noqa: E402
from tests.support.qt_loop import session_loop  # noqa: E402

T = TypeVar("T")
WAIT_MS = 30_000  # generous: the first QtWebEngine start on a 2-core CI box is slow
USER_ID = "0123456789abcdef01234567"
#: 503/504 retried three times, 50 ms apart: the protocol's schedule, shortened for tests.
QUICK_RETRY = BackoffPolicy(base_s=0.05, cap_s=0.05, max_attempts=3)


@pytest.fixture(scope="session")
def qloop(qapp: QApplication, pytestconfig: pytest.Config) -> qasync.QEventLoop:
    """The session's one qasync loop; a test that uses it runs inside it. Another test directory
    may import this fixture (the end-to-end demo test does): they share the loop."""
    loop = session_loop(pytestconfig)
    apply_theme(qapp)
    return loop


@pytest.fixture
def aloop(qloop: qasync.QEventLoop, qtbot: Any) -> Iterator[qasync.QEventLoop]:
    """The qasync loop, running throughout one test."""
    assert qloop.is_running(), "GUI tests run inside the qasync loop (tests/support/qt_loop.py)"
    yield qloop
    # Let callbacks already queued on the loop (socket closes, task ends) run now.
    qtbot.wait(50)


def run[T](qtbot: Any, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T],
        timeout_ms: int = WAIT_MS) -> T:
    """Run a coroutine on the qasync loop while Qt's event loop spins."""
    task = loop.create_task(coro)
    qtbot.waitUntil(task.done, timeout=timeout_ms)
    return task.result()


def wait_while_progressing(qtbot: Any, done: Callable[[], bool], progress: Callable[[], object],
                           stall_ms: int = WAIT_MS) -> None:
    """Wait until `done()`, failing only when `progress()` has stood still for `stall_ms`: for
    work whose length the machine's speed decides, bounded by events rather than a total time."""
    last = progress()
    while not done():
        try:
            qtbot.waitUntil(lambda seen=last: done() or progress() != seen, timeout=stall_ms)
        except qtbot.TimeoutError:
            raise AssertionError(f"no progress for {stall_ms} ms, still at {last!r}") from None
        last = progress()


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short spoken sentence (espeak-ng), the stand-in microphone's audio."""
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is required for the GUI voice tests (apt-get install espeak-ng)"
    path = tmp_path_factory.mktemp("speech") / "hello.wav"
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(path),
                    "Hello there. What is the weather like today?"], check=True)
    return path


def quick_simulator(**changes: Any) -> SimulatorConfig:
    """The embedded simulator, minus what GUI tests do not need: speech recognition, the WebRTC
    video stream (aiortc encoding on this loop) and the avatar's synthesized voice."""
    base: dict[str, Any] = {"transcribe": False, "utterance_gap_s": 0.3,
                            "stream_webrtc": False, "stream_voice": False}
    return SimulatorConfig(**{**base, **changes})


@dataclass
class AppHarness:
    """A real MainWindow on a real AppController in demo mode (embedded simulator)."""

    window: MainWindow
    controller: AppController
    store: SettingsStore
    loop: asyncio.AbstractEventLoop
    qtbot: Any
    tmp_path: Path
    opened_urls: list[str] = field(default_factory=list)
    #: Yes/no questions the window asked (title, text); each answered "no".
    questions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sim(self) -> RunningSimulator:
        sim = self.controller.connection.simulator
        assert sim is not None, "the embedded simulator is not running"
        return sim

    def run(self, coro: Coroutine[Any, Any, T], timeout_ms: int = WAIT_MS) -> T:
        return run(self.qtbot, self.loop, coro, timeout_ms)

    def wait_connected(self) -> None:
        self.qtbot.waitUntil(
            lambda: self.controller.connection.state is ConnectionState.CONNECTED,
            timeout=WAIT_MS)

    def wait_session(self, state: SessionState) -> None:
        self.qtbot.waitUntil(lambda: self.controller.session.state is state, timeout=WAIT_MS)

    def wait_stream(self, stage: StreamStage) -> None:
        self.qtbot.waitUntil(lambda: self.controller.stream.stage is stage, timeout=WAIT_MS)

    def go_live(self) -> str:
        """Click Start and wait for the stream page's "ravatar-session-start"."""
        self.wait_connected()
        assert self.window.session_button.isEnabled()
        self.window.session_button.click()
        self.wait_session(SessionState.LIVE)
        self.wait_stream(StreamStage.PLAYING)
        license_id = self.controller.session.license_id
        assert license_id is not None
        return license_id

    def close(self) -> None:
        if not self.window.has_closed:
            with self.qtbot.waitSignal(self.window.closed, timeout=WAIT_MS):
                self.window.close()


@pytest.fixture
def make_app(aloop: qasync.QEventLoop, qtbot: Any, tmp_path: Path,
             speech_wav: Path) -> Iterator[Any]:
    """Factory: make_app(sim=SimulatorConfig(...), settings=Settings(...), ...) -> AppHarness.
    The microphone replays `speech_wav` unless `capture` gives a real one."""
    made: list[AppHarness] = []

    def factory(*, sim: SimulatorConfig | None = None, settings: Settings | None = None,
                retry_policy: BackoffPolicy = QUICK_RETRY,
                stream_start_timeout_s: float = 30.0, connect: bool = True,
                microphone: bool = True, demo: bool = True,
                capture: AudioCapture | None = None,
                native_player_settings: PlayerSettings | None = None) -> AppHarness:
        store = SettingsStore(tmp_path / "settings.ini")
        base = settings or Settings(user_id=USER_ID)
        store.save(base)
        if capture is None:
            capture = FileReplayCapture(speech_wav, realtime=True, repeat=True) if microphone \
                else _NoMicrophone()
        voice = VoiceController(capture, voice_settings_from(base, VoiceSettings(
            vad_backend="webrtc")), loop=aloop)
        controller = AppController(
            base, voice, force_demo=demo, journal=LicenseJournal(tmp_path / "licenses.json"),
            simulator_config=sim or quick_simulator(),
            retry_policy=retry_policy, stream_start_timeout_s=stream_start_timeout_s,
            player_memory=PlayerMemory(tmp_path / "stream-players.json"),
            # No sound card here (and the e2e layer's PulseAudio may be up): the native player
            # plays no audio in GUI tests (unless asked); its levels and voice onsets still work.
            native_player_settings=native_player_settings or PlayerSettings(audio_backends=()))
        service = SettingsService(store, lambda: controller.settings, controller.update_settings)
        window = MainWindow(controller, service)
        harness = AppHarness(window, controller, store, aloop, qtbot, tmp_path)

        def fake_open(url: str) -> bool:
            harness.opened_urls.append(url)
            return True

        # No real browser can be opened in CI: the URL is recorded instead.
        window.open_external = fake_open

        def fake_confirm(title: str, text: str) -> bool:
            harness.questions.append((title, text))
            return False

        # No one to click a modal question: it is recorded and answered "no".
        window.confirm = fake_confirm
        # Not qtbot.addWidget: pytest-qt would delete the window before its close path (which
        # ends the live session) has finished; the fixture closes it the way a user does.
        window.show()
        made.append(harness)
        if connect:
            harness.run(controller.startup(start_session=False))
        return harness

    yield factory
    for harness in made:
        harness.close()
        harness.window.deleteLater()
    qtbot.wait(10)


class _NoMicrophone:
    """A capture backend for a machine with no microphone: listing finds nothing and opening
    fails the way the real backends do (a stand-in: CI cannot unplug a device)."""

    backend_name = "none"
    device = None
    running = False
    finished = False
    overflow_count = 0

    def list_devices(self) -> list[Any]:
        return []

    def start(self, device_id: str | None, listener: Any) -> Any:
        from ravatar_live.audio.errors import NoMicrophoneError

        raise NoMicrophoneError("No microphone was found. Connect one and try again.")

    def stop(self) -> None:
        pass

    def read(self) -> list[Any]:
        return []


@contextlib.contextmanager
def in_every_frame(name: str, source: str) -> Iterator[None]:
    """`source` runs in every frame of the app's web profile at document creation (main world),
    for the duration of the block: a stand-in for a page's surroundings in one test."""
    script = QWebEngineScript()
    script.setName(name)
    script.setSourceCode(source)
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    script.setRunsOnSubFrames(True)
    scripts = stream_profile().scripts()
    scripts.insert(script)
    try:
        yield
    finally:
        scripts.remove(script)


def frame_js(app: AppHarness, script: str) -> Any:
    """`script`'s value in the stream frame (the page inside the host page)."""
    page = app.window.stream_view.page()
    app.qtbot.waitUntil(lambda: bool(page.mainFrame().children()), timeout=WAIT_MS)
    frames = page.mainFrame().children()
    assert len(frames) == 1, f"expected the stream frame alone, got {len(frames)}"
    result: list[Any] = []
    frames[0].runJavaScript(script, 0, result.append)
    app.qtbot.waitUntil(lambda: bool(result), timeout=WAIT_MS)
    return result[0]
