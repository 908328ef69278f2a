"""The stream's host page is served on its own URL scheme, `ravatar-host://app/host.html`.

Why not a file:// URL: Chromium treats every remote page as cross-origin to local files, so a
file:// page can frame a remote stream only with QtWebEngine's `LocalContentCanAccessRemoteUrls`,
which also lets local content read any remote URL (measured here: without it the frame never
loads). A page on a scheme of our own is not local content: it frames the stream with both
local-content settings off, and it can read nothing but the three files this handler serves.

The scheme is registered as secure (a secure context, like https): the stream frame may only use
the microphone when every frame above it is secure. It must be registered before the
QApplication exists (`register_host_scheme()`, called by `__main__` and the tests' conftest).
"""

from __future__ import annotations

import logging
from typing import Final

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject
from PySide6.QtWebEngineCore import (
    QWebEngineProfile,
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)

from ravatar_live.resources import resource_path

logger = logging.getLogger(__name__)

HOST_SCHEME: Final = "ravatar-host"
HOST_URL: Final = f"{HOST_SCHEME}://app/host.html"
#: The only files the scheme serves (name -> content type): nothing else is reachable.
_SERVED: Final = {
    "/host.html": b"text/html;charset=utf-8",
    "/host.js": b"text/javascript;charset=utf-8",
    "/host.css": b"text/css;charset=utf-8",
}


class HostSchemeMissingError(RuntimeError):
    """The host scheme was not registered before the QApplication was made."""


def register_host_scheme() -> None:
    """Declare the host page's scheme to QtWebEngine; before the QApplication, once."""
    if is_host_scheme_registered():
        return
    scheme = QWebEngineUrlScheme(HOST_SCHEME.encode("ascii"))
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    # Secure: frames below it may be secure contexts (the microphone needs one). Not local:
    # local-content rules stay out of play.
    scheme.setFlags(QWebEngineUrlScheme.Flag.SecureScheme)
    QWebEngineUrlScheme.registerScheme(scheme)


def is_host_scheme_registered() -> bool:
    return bool(QWebEngineUrlScheme.schemeByName(HOST_SCHEME.encode("ascii")).name())


class HostSchemeHandler(QWebEngineUrlSchemeHandler):
    """Answers `ravatar-host://app/<file>` with the host page's own files, and nothing else."""

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 - Qt override
        url = job.requestUrl()
        content_type = _SERVED.get(url.path()) if url.host() == "app" else None
        if content_type is None or job.requestMethod() != b"GET":
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        try:
            data = resource_path("web", url.path().lstrip("/")).read_bytes()
        except OSError as exc:
            logger.error("the host page's %s could not be read: %s", url.path(), exc)
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        # The job reads the buffer later; parenting it to the job frees it with the job.
        buffer = QBuffer(job)
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        job.reply(content_type, buffer)


def install_host_scheme(profile: QWebEngineProfile, parent: QObject) -> HostSchemeHandler:
    """Serve the host page in `profile` (once per profile). Raises HostSchemeMissingError when
    `register_host_scheme()` did not run before the QApplication."""
    if not is_host_scheme_registered():
        raise HostSchemeMissingError(
            "register_host_scheme() must be called before the QApplication is created.")
    existing = profile.urlSchemeHandler(HOST_SCHEME.encode("ascii"))
    if isinstance(existing, HostSchemeHandler):
        return existing
    handler = HostSchemeHandler(parent)
    profile.installUrlSchemeHandler(HOST_SCHEME.encode("ascii"), handler)
    return handler
