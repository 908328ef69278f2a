""""Test your setup…" in the gear menu, and its offer on the banner at the first run: opens the
checklist dialog window-modally (the window keeps running behind it) on a `SetupCheck` that
uses the app's chosen microphone and speaker and the service the app talks to."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from ravatar_live.audio.capture import AudioCapture
from ravatar_live.audio.capture_default import default_capture
from ravatar_live.live.connection import Endpoint
from ravatar_live.live.controller import AppController
from ravatar_live.live.setup_check import SetupCheck, SetupParts
from ravatar_live.stream.audio_output import DEFAULT_BACKENDS
from ravatar_live.ui.banner import Banner, BannerKind
from ravatar_live.ui.setup_check_dialog import SetupCheckDialog

if TYPE_CHECKING:
    import aiohttp

OFFER_TOPIC = "setup"
OFFER_TITLE = "New here? Test your setup"


class SetupCheckBinding(QObject):
    def __init__(self, controller: AppController, banner: Banner, *, window: QWidget,
                 announce: Callable[[str], object]) -> None:
        super().__init__(window)
        self._c = controller
        self._banner = banner
        self._window = window
        self._announce = announce
        self.dialog: SetupCheckDialog | None = None
        #: A fresh microphone backend for the test (replaced in tests by a stand-in).
        self.capture_factory: Callable[[], AudioCapture] = default_capture
        self.output_backends: tuple[str, ...] = DEFAULT_BACKENDS
        self.action = QAction("Test your setup…", window)
        self.action.setToolTip("Check the microphone, the speakers, the connection to RAVATAR "
                               "and the avatar's video")
        self.action.triggered.connect(self.open)

    def offer(self) -> None:
        """The first run: suggest the test on the banner (dismissable, never in the way)."""
        self._banner.post(OFFER_TOPIC, BannerKind.INFO, OFFER_TITLE,
                          "Check your microphone, speakers and connection before you talk to "
                          "the avatar; it takes about ten seconds.",
                          actions=(("Test your setup", self._open_from_offer),))

    @Slot()
    def _open_from_offer(self) -> None:
        self._banner.withdraw(OFFER_TOPIC)
        self.open()

    @Slot()
    def open(self) -> SetupCheckDialog:
        """Open the dialog and start the checks (raise it when it is already open)."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        settings = self._c.settings
        check = SetupCheck(SetupParts(
            capture=self.capture_factory, microphone_id=settings.microphone_id or None,
            speaker_id=settings.speaker_id or None, service=self._service_target,
            output_backends=self.output_backends))
        # The check outlives its dialog until it has wound down (a cancel ends a moment later).
        check.setParent(self)
        check.finished.connect(check.deleteLater)
        dialog = SetupCheckDialog(check, self._window, announce=self._announce)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._on_closed)
        dialog.open()
        dialog.run()
        self.dialog = dialog
        return dialog

    @Slot()
    def _on_closed(self) -> None:
        self.dialog = None

    async def _service_target(self) -> tuple[aiohttp.ClientSession | None, Endpoint]:
        """The service the app talks to (the demo's simulator starts with the app's link)."""
        connection = self._c.connection
        if connection.endpoint is None and self._c.demo:
            await self._c.ensure_connected()
        return connection.http, connection.endpoint or Endpoint.from_settings(self._c.settings)
