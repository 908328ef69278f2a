"""The embedded avatar stream: a QWebEngineView showing our host page, which frames the stream.

Bridge: the host page (resources/web/host.js, served as `ravatar-host://app/host.html` by
ui.host_scheme) forwards the iframe's postMessage strings, and its microphone reports (objects,
rebuilt field by field), as console lines `RAVATAR_BRIDGE {json}`;
`StreamPage.javaScriptConsoleMessage` picks them up. When the stream is loaded directly (not
framed), a script injected into that page forwards its own messages the same way, so the rest of
the app cannot tell the difference. Console lines are trusted only from the host page itself or,
in direct mode, from the stream's origin. Microphone commands (`rvo-ps-mic-mute`/`-unmute`) go
the other way: into the frame, addressed to the stream's origin.

The view stays in its lane (ui.web_policy): the host page stays put, the stream frame stays on the
stream's origin (a link elsewhere is refused and offered on `link_requested`, for the window to
ask about), the frame is sandboxed, local content gets no access to files or remote URLs, and
only the microphone is ever granted, only to the stream's origin, only in the stream page's voice
route.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import override

from PySide6.QtCore import QCoreApplication, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWebEngineCore import (
    QWebEngineNewWindowRequest,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineScript,
    QWebEngineSettings,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from ravatar_live.resources import resource_path
from ravatar_live.ui.host_scheme import HOST_SCHEME, HOST_URL, install_host_scheme
from ravatar_live.ui.web_policy import (
    may_grant,
    may_offer_externally,
    navigation_allowed,
    origin_of,
)

logger = logging.getLogger(__name__)

__all__ = ["BRIDGE_PREFIX", "StreamPage", "StreamView", "may_grant", "origin_of",
           "stream_profile"]

BRIDGE_PREFIX = "RAVATAR_BRIDGE "
PROBE_SCRIPT_NAME = "ravatar-stream-stats"
_DIRECT_BRIDGE_SCRIPT = "ravatar-direct-bridge"
MIC_COMMANDS = ("rvo-ps-mic-mute", "rvo-ps-mic-unmute")
_MIC_REPORT_NAMES = ("ravatar-ps-mic-ready", "ravatar-ps-mic-state")
_MAX_DIRECT_REPORT_CHARS = 2048


def _direct_bridge_source(stream_origin: str) -> str:
    # Runs in the stream page when it is the top frame: its window.parent is itself, so its
    # postMessage strings (and microphone reports) arrive as message events on its own window.
    return f"""(function () {{
  if (window.top !== window || location.origin !== {json.dumps(stream_origin)}) {{ return; }}
  var prefix = {json.dumps(BRIDGE_PREFIX)}, names = {json.dumps(list(_MIC_REPORT_NAMES))};
  window.addEventListener("message", function (ev) {{
    if (ev.origin !== location.origin) {{ return; }}
    var data = ev.data;
    if (typeof data === "string") {{
      console.info(prefix + JSON.stringify({{kind: "message", data: data, origin: ev.origin}}));
    }} else if (data && typeof data === "object" && names.indexOf(data.name) >= 0) {{
      var line = JSON.stringify({{kind: "mic", report: data, origin: ev.origin}});
      if (line.length <= {_MAX_DIRECT_REPORT_CHARS}) {{ console.info(prefix + line); }}
    }}
  }});
}})();"""


def install_stats_probe(profile: QWebEngineProfile) -> QWebEngineScript:
    """Add the stream-health probe (resources/stream_stats.js) to a web profile, once; later
    calls return the installed script. Its reports arrive as "ravatar-stats {json}" page
    messages, which `live.stream_health.StreamHealth` reads.

    Profile scripts, not page scripts: QtWebEngine injects page scripts into same-process
    frames only, and the stream is a cross-origin iframe (another renderer process)."""
    scripts = profile.scripts()
    found = scripts.find(PROBE_SCRIPT_NAME)
    if found:
        return found[0]
    script = QWebEngineScript()
    script.setName(PROBE_SCRIPT_NAME)
    script.setSourceCode(resource_path("stream_stats.js").read_text(encoding="utf-8"))
    # Before the page's own scripts, in the page's world: it must see the page's connections.
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    script.setRunsOnSubFrames(True)
    scripts.insert(script)
    return script


_profile: QWebEngineProfile | None = None


def stream_profile() -> QWebEngineProfile:
    """One off-the-record profile for the app: no cookies, cache or permission grants on disk;
    it serves the host page on its own scheme.

    It is parented to the application so that it outlives every page (Qt warns, and may crash,
    when a profile dies before its pages).
    """
    global _profile  # noqa: PLW0603 - one profile per process, created on first use
    if _profile is None:
        app = QCoreApplication.instance()
        profile = QWebEngineProfile(app)
        profile.setPersistentPermissionsPolicy(
            QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime)
        install_host_scheme(profile, profile)
        _profile = profile
    return _profile


class StreamPage(QWebEnginePage):
    """Reads bridge lines from the console; applies the permission and navigation policy."""

    bridge_message = Signal(str)  # a string the stream page posted
    mic_report = Signal(object)  # a microphone report (dict; live.page_microphone parses it)
    frame_loaded = Signal()  # the stream frame (re)loaded a document
    host_loaded = Signal()
    framing_refused = Signal()
    link_requested = Signal(str)  # a refused link the user clicked: offer the system browser?

    def __init__(self, profile: QWebEngineProfile, parent: QWidget | None = None) -> None:
        super().__init__(profile, parent)
        self.host_url = QUrl(HOST_URL)
        self.stream_origin = ""
        self.direct_mode = False
        self.allow_microphone = False
        settings = self.settings()
        # Autoplay with sound without a click: the avatar greets the user on its own.
        settings.setAttribute(QWebEngineSettings.WebAttribute.PlaybackRequiresUserGesture, False)
        # The host page is not local content (ui.host_scheme), so nothing needs these; off,
        # a local document could read neither local files nor remote URLs.
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
                              False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls,
                              False)
        self.permissionRequested.connect(self._on_permission_requested)
        self.newWindowRequested.connect(self._on_new_window_requested)

    @override
    def acceptNavigationRequest(self, url: QUrl | str,
                                navigation: QWebEnginePage.NavigationType,
                                main_frame: bool) -> bool:
        target = url.toString() if isinstance(url, QUrl) else url  # may carry a token: no logs
        if navigation_allowed(target, main_frame=main_frame, direct_mode=self.direct_mode,
                              stream_origin=self.stream_origin):
            return True
        logger.warning("refused to take the %s to %s", "view" if main_frame else
                       "stream frame", origin_of(target) or "an address without an origin")
        if (navigation is QWebEnginePage.NavigationType.NavigationTypeLinkClicked
                and may_offer_externally(target)):
            self.link_requested.emit(target)
        return False

    @override
    def javaScriptConsoleMessage(self, level: QWebEnginePage.JavaScriptConsoleMessageLevel,
                                 message: str, line_number: int, source_id: str) -> None:
        # source_id may carry the stream URL with its token: never log it.
        if message.startswith(BRIDGE_PREFIX):
            self._on_bridge_line(message[len(BRIDGE_PREFIX):], source_id)
            return
        if level is QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel and (
            message.startswith(("Refused to frame", "Refused to display"))
            and ("frame-ancestors" in message or "X-Frame-Options" in message)
        ):
            logger.warning("stream page refused to be framed")
            self.framing_refused.emit()
            return
        logger.debug("web console (%s): %s", level.name, message[:300].split("?", 1)[0])

    def _trusted_source(self, source_id: str) -> bool:
        if self.direct_mode:
            # Our injected bridge reports as "userscript:<name>"; the page as its own URL.
            return source_id == f"userscript:{_DIRECT_BRIDGE_SCRIPT}" or (
                bool(self.stream_origin) and origin_of(source_id) == self.stream_origin)
        source = QUrl(source_id)
        # host.js, served by our own scheme; nothing else is ours.
        return source.scheme() == HOST_SCHEME and source.host() == "app"

    def _on_bridge_line(self, payload: str, source_id: str) -> None:
        if not self._trusted_source(source_id):
            # Also normal for a moment when switching between framed and direct mode.
            logger.debug("ignored a bridge line from an untrusted source")
            return
        try:
            message = json.loads(payload)
        except ValueError:
            logger.warning("ignored a malformed bridge line")
            return
        if not isinstance(message, dict):
            return
        kind = message.get("kind")
        if kind == "host-ready":
            self.host_loaded.emit()
            return
        if kind == "frame-loaded":
            self.frame_loaded.emit()
            return
        if kind not in ("message", "mic"):
            return
        if self.stream_origin and message.get("origin") != self.stream_origin:
            logger.warning("ignored a stream message from an unexpected origin")
            return
        if kind == "message" and isinstance(message.get("data"), str):
            self.bridge_message.emit(message["data"])
        elif kind == "mic" and isinstance(message.get("report"), dict):
            self.mic_report.emit(message["report"])

    @Slot(QWebEnginePermission)
    def _on_permission_requested(self, permission: QWebEnginePermission) -> None:
        kind = permission.permissionType()
        origin = origin_of(permission.origin().toString())
        if may_grant(kind, origin, allow_microphone=self.allow_microphone,
                     stream_origin=self.stream_origin):
            logger.info("granted the stream page's microphone request")
            permission.grant()
            return
        logger.info("denied a %s request from the page", kind.name)
        permission.deny()

    @Slot(QWebEngineNewWindowRequest)
    def _on_new_window_requested(self, request: QWebEngineNewWindowRequest) -> None:
        # No pop-ups in the app (the framed stream's sandbox forbids them anyway); a link the
        # user clicked may be offered to the system browser.
        target = request.requestedUrl().toString()
        logger.info("refused a new window for %s", origin_of(target) or "an unknown address")
        if request.isUserInitiated() and may_offer_externally(target):
            self.link_requested.emit(target)


class StreamView(QWebEngineView):
    """Shows the host page; `show_stream()` frames a stream URL, `show_direct()` loads it alone."""

    page_message = Signal(str)
    mic_report = Signal(object)  # dict: a `ravatar-ps-mic-ready` / `-state` report
    frame_loaded = Signal()
    framing_refused = Signal()
    link_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._page = StreamPage(stream_profile(), self)
        self.setPage(self._page)
        self._host_ready = False
        self._pending_js: list[tuple[str, Callable[[object], None] | None]] = []
        self._avatar_gain = 1.0
        self._page.host_loaded.connect(self._on_host_ready)
        self._page.bridge_message.connect(self.page_message)
        self._page.mic_report.connect(self.mic_report)
        self._page.frame_loaded.connect(self.frame_loaded)
        self._page.framing_refused.connect(self.framing_refused)
        self._page.link_requested.connect(self.link_requested)
        self.setAccessibleName("Avatar stream")
        # The stream takes no typing; keeping focus out of it keeps Space for hold-to-talk.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loadFinished.connect(self._keep_focus_out)
        self.load_host()

    @property
    def stream_page(self) -> StreamPage:
        return self._page

    @property
    def host_ready(self) -> bool:
        return self._host_ready

    def set_allow_microphone(self, allowed: bool) -> None:
        """Whether the stream page may have the microphone (the page's voice route); applies to
        the next stream shown (the frame's `allow` list is set when it is made)."""
        self._page.allow_microphone = allowed

    @property
    def renderer_released(self) -> bool:
        return self._page.lifecycleState() is QWebEnginePage.LifecycleState.Discarded

    def release_renderer(self) -> None:
        """Let the page's renderer process go while another view shows the stream (it holds
        ~70 MiB of memory for a hidden page). The host page loads afresh the next time this
        view is shown or told to show something. Only a hidden view can let go."""
        if self.isVisible() or self.renderer_released:
            return
        # After what the host page was told last has run (the stream frame removed): discarded
        # at once, while the frame's WebRTC page was still going, QtWebEngine 6.12 crashed
        # (the switch from the web view to the native player, tests/gui/test_stream_players).
        self._run_in_host("0;", self._discard_if_hidden)

    def _discard_if_hidden(self, _result: object = None) -> None:
        if self.isVisible() or self.renderer_released:
            return
        self._host_ready = False
        self._page.setLifecycleState(QWebEnginePage.LifecycleState.Discarded)
        logger.info("the hidden web view let its renderer process go")

    def _wake(self) -> None:
        """Bring a released page back: it reloads its URL (the host page) in a new renderer;
        JavaScript waits for the host to say it is ready."""
        if self.renderer_released:
            self._host_ready = False
            self._page.setLifecycleState(QWebEnginePage.LifecycleState.Active)

    @override
    def showEvent(self, event: QShowEvent) -> None:
        self._wake()
        super().showEvent(event)

    def load_host(self) -> None:
        self._wake()
        self._host_ready = False
        self._page.direct_mode = False
        self._remove_direct_bridge()
        self.setUrl(self._page.host_url)

    def show_stream(self, url: str, width: int, height: int) -> None:
        """Frame `url` (token already appended) in the host page: at width x height device
        pixels when the view has room (never scaled up), else scaled down to fit, letter-boxed."""
        self._page.stream_origin = origin_of(url)
        if self._page.direct_mode:
            self.load_host()
        args = json.dumps([url, width, height, self._page.allow_microphone])[1:-1]
        self._run_in_host(f"window.ravatarHost.load({args});")

    def show_direct(self, url: str) -> None:
        """Load the stream page as the top page (for servers that refuse framing)."""
        self._wake()
        self._page.stream_origin = origin_of(url)
        self._page.direct_mode = True
        self._host_ready = False
        self._pending_js.clear()
        self._remove_direct_bridge()
        script = QWebEngineScript()
        script.setName(_DIRECT_BRIDGE_SCRIPT)
        script.setSourceCode(_direct_bridge_source(self._page.stream_origin))
        script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
        script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
        script.setRunsOnSubFrames(False)
        self._page.scripts().insert(script)
        self.setUrl(QUrl(url))

    def show_placeholder(self, text: str) -> None:
        self._page.stream_origin = ""
        if self._page.direct_mode:
            self.load_host()
        self._run_in_host(f"window.ravatarHost.clear({json.dumps(text)});")

    def post_mic_command(self, command: str) -> None:
        """Post `{type: command, timestamp}` to the stream page (PROTOCOL.md section 3)."""
        if command not in MIC_COMMANDS:
            raise ValueError(f"not a microphone command: {command!r}")
        if self._page.direct_mode:
            # The stream page is the top page: it hears its own window's messages.
            self._page.runJavaScript(
                f"window.postMessage({{type: {json.dumps(command)}, timestamp: Date.now()}}, "
                "location.origin);")
            return
        self._run_in_host(f"window.ravatarHost.micCommand({json.dumps(command)});")

    @property
    def avatar_gain(self) -> float:
        return self._avatar_gain

    @Slot(float)
    def set_avatar_gain(self, gain: float) -> None:
        """The avatar's loudness in the stream frame's player, 0..1 (resources/stream_stats.js
        plays the avatar's track and taps it after this gain, so the echo canceller's reference
        follows it). The host page posts it again whenever the frame reloads. A stream page
        shown alone keeps its own sound (the probe leaves it to a page that may use the
        microphone), so it is not told."""
        self._avatar_gain = min(1.0, max(0.0, gain))
        # A released page is not woken for it: it gets the gain when its host is ready.
        if not self._page.direct_mode and not self.renderer_released:
            self._run_in_host(self._gain_js())

    def _gain_js(self) -> str:
        return f"window.ravatarHost.avatarGain({self._avatar_gain!r});"

    @Slot(bool)
    def _keep_focus_out(self, _ok: bool) -> None:
        proxy = self.focusProxy()
        if proxy is not None:
            proxy.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def _remove_direct_bridge(self) -> None:
        for script in self._page.scripts().find(_DIRECT_BRIDGE_SCRIPT):
            self._page.scripts().remove(script)

    def _run_in_host(self, js: str, then: Callable[[object], None] | None = None) -> None:
        self._wake()
        if self._host_ready:
            self._run(js, then)
        else:
            self._pending_js.append((js, then))

    def _run(self, js: str, then: Callable[[object], None] | None) -> None:
        if then is None:
            self._page.runJavaScript(js)
        else:
            self._page.runJavaScript(js, 0, then)

    @Slot()
    def _on_host_ready(self) -> None:
        self._host_ready = True
        # A host page loaded afresh (first start, back from the stream page shown alone or
        # from a released renderer) knows no gain yet.
        pending, self._pending_js = [(self._gain_js(), None), *self._pending_js], []
        for js, then in pending:
            self._run(js, then)
