"""The stream's web view stays in its lane, in the real window on the real simulator's stream
page: the host page (on its own scheme) frames the stream with both local-content settings off,
reads nothing but its own three files, stays put; the stream frame is sandboxed, cannot leave the
stream's origin, open pop-ups or move the window's page; a link the user clicks is offered to the
system browser only after asking.

"Elsewhere" is a real HTTP server on 127.0.0.1 that counts its requests: a refused navigation
never reaches it.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineSettings

from ravatar_live.settings import Settings
from ravatar_live.ui.host_scheme import HOST_URL
from ravatar_live.ui.stream_view import stream_profile
from tests.gui.conftest import USER_ID, WAIT_MS

pytestmark = pytest.mark.gui

# The web view shows the stream throughout: in Auto the app may move an H.264 stream to its own
# player (QtWebEngine has no H.264 here) in the middle of a test on a busy machine.
WEB_PLAYER = Settings(user_id=USER_ID, stream_player="web")


class Elsewhere:
    """Another site: a real HTTP server that answers every GET with a small page."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        seen = self.paths

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                body = b"<!doctype html><title>elsewhere</title><p>elsewhere</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Chromium may open a connection it never uses: closing must not wait for it.
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[Elsewhere]:
    site = Elsewhere()
    yield site
    site.close()


def js(qtbot: Any, target: Any, script: str) -> Any:
    """Run `script` in a page or frame and return its result (JSON-decoded)."""
    results: list[Any] = []
    target.runJavaScript(f"JSON.stringify((function () {{ {script} }})())", 0, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=WAIT_MS)
    return json.loads(results[0]) if isinstance(results[0], str) else results[0]


def stream_frame(app: Any) -> Any:
    page = app.window.stream_view.page()
    app.qtbot.waitUntil(lambda: len(page.mainFrame().children()) == 1, timeout=WAIT_MS)
    return page.mainFrame().children()[0]


def stream_origin(app: Any) -> str:
    return str(app.sim.stream_origin(app.controller.session.license_id))


def test_the_host_page_frames_the_stream_with_local_content_access_off(make_app) -> None:
    app = make_app(settings=WEB_PLAYER)
    settings = app.window.stream_view.page().settings()
    for attribute in (QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls,
                      QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls):
        assert settings.testAttribute(attribute) is False, attribute
    app.go_live()  # the stream page's "ravatar-session-start" crossed into the app
    assert app.window.stream_view.url().toString() == HOST_URL
    frame = stream_frame(app)
    assert frame.url().toString().startswith(stream_origin(app) + "/")
    attributes = js(app.qtbot, app.window.stream_view.page(), """
        var f = document.querySelector("iframe");
        return [f.getAttribute("sandbox"), f.allow];""")
    assert attributes == ["allow-scripts allow-same-origin", "autoplay; fullscreen"]


def test_the_host_page_reads_nothing_but_its_own_files(make_app, qtbot) -> None:
    app = make_app(connect=False)
    app.qtbot.waitUntil(lambda: app.window.stream_view.host_ready, timeout=WAIT_MS)
    # Not the disk...
    outcome = js(qtbot, app.window.stream_view.page(), """
        var request = new XMLHttpRequest();
        try { request.open("GET", "file:///etc/hostname", false); request.send(); }
        catch (e) { return "refused: " + e.name; }
        return "read " + request.responseText.length;""")
    assert outcome.startswith("refused"), outcome
    # ...nor any other file of the app's: the scheme serves host.html, host.js and host.css.
    page = QWebEnginePage(stream_profile())
    try:
        for name, ok in (("host.css", True), ("stream_stats.js", False), ("../settings.ini", False),
                         ("style/app.qss", False)):
            with qtbot.waitSignal(page.loadFinished, timeout=WAIT_MS) as loaded:
                page.setUrl(QUrl(f"ravatar-host://app/{name}"))
            assert loaded.args[0] is ok, name
    finally:
        page.deleteLater()


def test_the_stream_frame_cannot_leave_the_streams_origin(make_app, elsewhere) -> None:
    app = make_app(settings=WEB_PLAYER)
    app.go_live()
    frame = stream_frame(app)
    before = frame.url().toString()
    js(app.qtbot, frame, f"location.href = {json.dumps(elsewhere.url + '/away')}; return 1;")
    app.qtbot.waitUntil(lambda: bool(app.questions), timeout=WAIT_MS)  # refused, user asked
    # A navigation within the stream's origin still works (its own files). Not /forbidden: that
    # page closes the session, which takes the frame away while this test looks at it.
    js(app.qtbot, frame, "location.href = location.origin + '/player.css'; return 1;")
    app.qtbot.waitUntil(lambda: stream_frame(app).url().path() == "/player.css",
                        timeout=WAIT_MS)
    assert before.startswith(stream_origin(app))
    # ...the one elsewhere never left.
    assert elsewhere.paths == [] and app.opened_urls == []


@pytest.mark.parametrize("answer", [True, False])
def test_a_clicked_link_elsewhere_is_offered_to_the_browser_after_asking(
        make_app, elsewhere, answer: bool) -> None:
    app = make_app(settings=WEB_PLAYER)
    asked: list[tuple[str, str]] = []

    def confirm(title: str, text: str) -> bool:
        asked.append((title, text))
        return answer

    app.window.confirm = confirm
    app.go_live()
    link = elsewhere.url + "/help?topic=avatars"
    js(app.qtbot, stream_frame(app), f"""
        var a = document.createElement("a");
        a.href = {json.dumps(link)};
        a.textContent = "help";
        document.body.appendChild(a);
        a.click();
        return 1;""")
    app.qtbot.waitUntil(lambda: bool(asked), timeout=WAIT_MS)
    [(title, text)] = asked
    assert title == "Open link in browser?" and elsewhere.url + "/help" in text
    assert "topic=" not in text  # the question names the site, not the address's parameters
    assert app.opened_urls == ([link] if answer else [])
    assert elsewhere.paths == []  # the web view never went there itself
    assert stream_frame(app).url().toString().startswith(stream_origin(app))


def test_the_sandbox_forbids_pop_ups_and_moving_the_window(make_app, elsewhere) -> None:
    app = make_app(settings=WEB_PLAYER)
    app.go_live()
    frame = stream_frame(app)
    target = json.dumps(elsewhere.url + "/popup")
    outcome = js(app.qtbot, frame, f"""
        var popup = window.open({target});
        var moved;
        try {{ window.top.location.href = {target}; moved = "moved"; }}
        catch (e) {{ moved = e.name; }}
        return [popup === null, moved];""")
    assert outcome == [True, "SecurityError"], outcome
    assert app.window.stream_view.url().toString() == HOST_URL
    assert elsewhere.paths == [] and app.opened_urls == []


def test_the_host_page_stays_put(make_app, elsewhere) -> None:
    app = make_app(settings=WEB_PLAYER)
    app.go_live()
    page = app.window.stream_view.page()
    js(app.qtbot, page, f"location.href = {json.dumps(elsewhere.url)}; return 1;")
    # Still the host page, still framing the stream and bridging it.
    assert js(app.qtbot, page, "return [location.href, document.querySelectorAll('iframe')"
                               ".length];") == [HOST_URL, 1]
    assert elsewhere.paths == []
