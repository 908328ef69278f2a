"""The embedded avatar stream: a QWebEngineView showing our host page, which frames the stream.

Bridge: the host page (resources/web/host.js) forwards the iframe's postMessage strings as console
lines `RAVATAR_BRIDGE {json}`; `StreamPage.javaScriptConsoleMessage` picks them up. When the stream
is loaded directly (not framed), a script injected into that page forwards its own messages the
same way, so the rest of the app cannot tell the difference. Console lines are trusted only from
the host page itself or, in direct mode, from the stream's origin.

Microphone: the stream page's requests are denied unless the setting allows them, and even then
granted only to the stream's origin. Nothing else (camera, location, notifications) is granted.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import override
from urllib.parse import urlsplit

from PySide6.QtCore import QCoreApplication, Qt, QUrl, Signal, Slot
from PySide6.QtWebEngineCore import (
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineScript,
    QWebEngineSettings,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from ravatar_live.resources import resource_path

logger = logging.getLogger(__name__)

BRIDGE_PREFIX = "RAVATAR_BRIDGE "
PROBE_SCRIPT_NAME = "ravatar-stream-stats"
_MIC_TYPES = (
    QWebEnginePermission.PermissionType.MediaAudioCapture,
    QWebEnginePermission.PermissionType.MediaAudioVideoCapture,
)
_DIRECT_BRIDGE_SCRIPT = "ravatar-direct-bridge"


def origin_of(url: str) -> str:
    """scheme://host[:port] as the browser writes an origin (default ports left out)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"


def may_grant(kind: QWebEnginePermission.PermissionType, origin: str, *,
              allow_microphone: bool, stream_origin: str) -> bool:
    """The web view's whole permission policy: the microphone only, only to the stream's own
    origin, only when the user allowed it (the app sends voice over the WebSocket itself)."""
    return (kind in _MIC_TYPES and allow_microphone and bool(stream_origin)
            and origin == stream_origin)


def _direct_bridge_source(stream_origin: str) -> str:
    # Runs in the stream page when it is the top frame: its window.parent is itself, so its
    # postMessage strings arrive as message events on its own window.
    return f"""(function () {{
  if (window.top !== window || location.origin !== {json.dumps(stream_origin)}) {{ return; }}
  window.addEventListener("message", function (ev) {{
    if (ev.origin !== location.origin || typeof ev.data !== "string") {{ return; }}
    console.info({json.dumps(BRIDGE_PREFIX)} + JSON.stringify(
      {{kind: "message", data: ev.data, origin: ev.origin}}));
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
    """One off-the-record profile for the app: no cookies, cache or permission grants on disk.

    It is parented to the application so that it outlives every page (Qt warns, and may crash,
    when a profile dies before its pages).
    """
    global _profile  # noqa: PLW0603 - one profile per process, created on first use
    if _profile is None:
        _profile = QWebEngineProfile(QCoreApplication.instance())
        _profile.setPersistentPermissionsPolicy(
            QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime)
    return _profile


class StreamPage(QWebEnginePage):
    """Reads bridge lines from the console and applies the permission policy."""

    bridge_message = Signal(str)  # a string the stream page posted
    host_loaded = Signal()
    framing_refused = Signal()

    def __init__(self, profile: QWebEngineProfile, parent: QWidget | None = None) -> None:
        super().__init__(profile, parent)
        self.host_url = QUrl.fromLocalFile(str(resource_path("web", "host.html")))
        self.stream_origin = ""
        self.direct_mode = False
        self.allow_microphone = False
        settings = self.settings()
        # Autoplay with sound without a click: the avatar greets the user on its own.
        settings.setAttribute(QWebEngineSettings.WebAttribute.PlaybackRequiresUserGesture, False)
        # The host page is a local file that frames a remote page.
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
                              True)
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, True)
        self.permissionRequested.connect(self._on_permission_requested)

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
        # host.html and host.js sit side by side; anything else local is not ours.
        return source.isLocalFile() and (
            Path(source.toLocalFile()).parent == Path(self.host_url.toLocalFile()).parent
        )

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
        elif kind == "message" and isinstance(message.get("data"), str):
            if self.stream_origin and message.get("origin") != self.stream_origin:
                logger.warning("ignored a stream message from an unexpected origin")
                return
            self.bridge_message.emit(message["data"])

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


class StreamView(QWebEngineView):
    """Shows the host page; `show_stream()` frames a stream URL, `show_direct()` loads it alone."""

    page_message = Signal(str)
    framing_refused = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._page = StreamPage(stream_profile(), self)
        self.setPage(self._page)
        self._host_ready = False
        self._pending_js: list[str] = []
        self._page.host_loaded.connect(self._on_host_ready)
        self._page.bridge_message.connect(self.page_message)
        self._page.framing_refused.connect(self.framing_refused)
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
        self._page.allow_microphone = allowed

    def load_host(self) -> None:
        self._host_ready = False
        self._page.direct_mode = False
        self._remove_direct_bridge()
        self.setUrl(self._page.host_url)

    def show_stream(self, url: str, width: int, height: int) -> None:
        """Frame `url` (token already appended) in the host page, letter-boxed at width:height."""
        self._page.stream_origin = origin_of(url)
        if self._page.direct_mode:
            self.load_host()
        args = json.dumps([url, width, height, self._page.allow_microphone])[1:-1]
        self._run_in_host(f"window.ravatarHost.load({args});")

    def show_direct(self, url: str) -> None:
        """Load the stream page as the top page (for servers that refuse framing)."""
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

    @Slot(bool)
    def _keep_focus_out(self, _ok: bool) -> None:
        proxy = self.focusProxy()
        if proxy is not None:
            proxy.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def _remove_direct_bridge(self) -> None:
        for script in self._page.scripts().find(_DIRECT_BRIDGE_SCRIPT):
            self._page.scripts().remove(script)

    def _run_in_host(self, js: str) -> None:
        if self._host_ready:
            self._page.runJavaScript(js)
        else:
            self._pending_js.append(js)

    @Slot()
    def _on_host_ready(self) -> None:
        self._host_ready = True
        pending, self._pending_js = self._pending_js, []
        for js in pending:
            self._page.runJavaScript(js)
