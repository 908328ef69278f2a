"""Global keys on Wayland: the desktop portal's org.freedesktop.portal.GlobalShortcuts (D-Bus).

Wayland lets no app watch keys typed into other apps; the desktop does it and tells the app
when a shortcut it bound is pressed (`Activated`) and released (`Deactivated`). The flow:
`CreateSession`, then `BindShortcuts` with our one shortcut and the key we would like (the
desktop may show a dialog and let the person pick another), each answered later by a
`Response` signal on a request object; then the two signals arrive until the session closes.

jeepney (pure-Python D-Bus, already installed for the keychain) runs on this backend's own
thread with blocking calls; nothing here touches Qt. Desktops without the interface (older
GNOME, most wlroots compositors) are told apart and named in Settings. Untested against a real
desktop here (CI has none).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Mapping
from typing import Any, Final

from ravatar_live.hotkeys.backend import HotkeyUnavailable, KeyCallback
from ravatar_live.hotkeys.keys import HotkeyError, HotkeySpec

logger = logging.getLogger(__name__)

PORTAL_BUS: Final = "org.freedesktop.portal.Desktop"
PORTAL_PATH: Final = "/org/freedesktop/portal/desktop"
SHORTCUTS_INTERFACE: Final = "org.freedesktop.portal.GlobalShortcuts"
SHORTCUT_ID: Final = "push-to-talk"
#: The person may have to confirm the shortcut in a dialog of the desktop's.
BIND_TIMEOUT_S: Final = 120.0
CALL_TIMEOUT_S: Final = 5.0
POLL_S: Final = 0.25
NO_PORTAL: Final = ("This Wayland desktop offers no global shortcuts portal "
                    "(org.freedesktop.portal.GlobalShortcuts; KDE Plasma and GNOME 48 or newer "
                    "have it), so keys in other windows cannot be watched.")


class PortalBackend:
    name = "the desktop portal (Wayland)"

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._conn: Any = None
        self._session: str | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self, spec: HotkeySpec, on_press: KeyCallback, on_release: KeyCallback) -> None:
        try:
            from jeepney import message_bus  # noqa: PLC0415
            from jeepney.io.blocking import open_dbus_connection  # noqa: PLC0415
        except ImportError:
            raise HotkeyUnavailable("The D-Bus library (jeepney) is missing, so the desktop "
                                    "portal cannot be asked.") from None
        try:
            trigger = spec.portal_trigger()
        except HotkeyError as exc:
            raise HotkeyUnavailable(str(exc)) from None
        try:
            self._conn = open_dbus_connection(bus="SESSION")
        except (OSError, KeyError, ValueError) as exc:
            raise HotkeyUnavailable(f"The desktop's message bus (D-Bus) could not be reached "
                                    f"({exc}).") from None
        try:
            self._check_version()
            self._session = self._create_session()
            self._bind(self._session, trigger)
            # Subscribed before start() returns: no press right after it can be missed.
            self._conn.send_and_get_reply(message_bus.AddMatch(self._signals_rule()),
                                          timeout=CALL_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        self._stopping.clear()
        self._thread = threading.Thread(target=self._listen, args=(on_press, on_release),
                                        name="portal-shortcuts", daemon=True)
        self._thread.start()

    # --- the portal's calls ------------------------------------------------------------------
    def _call(self, method: str, signature: str, body: tuple[Any, ...],
              interface: str = SHORTCUTS_INTERFACE, path: str = PORTAL_PATH) -> Any:
        from jeepney import DBusAddress, DBusErrorResponse, new_method_call  # noqa: PLC0415
        from jeepney.wrappers import unwrap_msg  # noqa: PLC0415

        address = DBusAddress(path, bus_name=PORTAL_BUS, interface=interface)
        try:
            reply = self._conn.send_and_get_reply(
                new_method_call(address, method, signature, body), timeout=CALL_TIMEOUT_S)
            return unwrap_msg(reply)  # an error reply raises DBusErrorResponse
        except DBusErrorResponse as exc:
            raise HotkeyUnavailable(f"{NO_PORTAL} ({exc.name})") from None
        except TimeoutError:
            raise HotkeyUnavailable("The desktop portal did not answer.") from None

    def _check_version(self) -> None:
        self._call("Get", "ss", (SHORTCUTS_INTERFACE, "version"),
                   interface="org.freedesktop.DBus.Properties")

    def _request(self, method: str, signature: str, args: tuple[Any, ...],
                 options: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        """Call a portal method that answers through a Request object; its results."""
        from jeepney import MatchRule, message_bus  # noqa: PLC0415

        token = f"ravatar{secrets.token_hex(6)}"
        sender = self._conn.unique_name.lstrip(":").replace(".", "_")
        request_path = f"{PORTAL_PATH}/request/{sender}/{token}"
        rule = MatchRule(type="signal", interface="org.freedesktop.portal.Request",
                         member="Response", path=request_path)
        self._conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=CALL_TIMEOUT_S)
        with self._conn.filter(rule) as responses:
            self._call(method, signature, (*args, {**options,
                                                   "handle_token": ("s", token)}))
            try:
                reply = self._conn.recv_until_filtered(responses, timeout=timeout_s)
            except TimeoutError:
                raise HotkeyUnavailable("The desktop did not answer the request for a global "
                                        "shortcut in time.") from None
        code, results = reply.body
        if code != 0:
            raise HotkeyUnavailable("The global shortcut was not allowed (declined in the "
                                    "desktop's dialog).")
        return {key: value[1] for key, value in results.items()}

    def _create_session(self) -> str:
        token = f"ravatar{secrets.token_hex(6)}"
        results = self._request("CreateSession", "a{sv}", (),
                                {"session_handle_token": ("s", token)}, CALL_TIMEOUT_S)
        session = results.get("session_handle")
        if not isinstance(session, str) or not session:
            raise HotkeyUnavailable("The desktop portal opened no shortcuts session.")
        return session

    def _bind(self, session: str, trigger: str) -> None:
        shortcut = (SHORTCUT_ID, {"description": ("s", "Push to talk (RAVATAR Live)"),
                                  "preferred_trigger": ("s", trigger)})
        results = self._request("BindShortcuts", "oa(sa{sv})sa{sv}", (session, [shortcut], ""),
                                {}, BIND_TIMEOUT_S)
        bound = [entry[0] for entry in results.get("shortcuts", [])]
        if SHORTCUT_ID not in bound:
            raise HotkeyUnavailable("The desktop did not bind the push-to-talk shortcut.")
        logger.info("the desktop portal bound the push-to-talk shortcut (asked for %s)", trigger)

    # --- the signals -------------------------------------------------------------------------
    @staticmethod
    def _signals_rule() -> Any:
        from jeepney import MatchRule  # noqa: PLC0415

        return MatchRule(type="signal", interface=SHORTCUTS_INTERFACE, path=PORTAL_PATH)

    def _listen(self, on_press: KeyCallback, on_release: KeyCallback) -> None:
        from jeepney import HeaderFields  # noqa: PLC0415

        conn = self._conn
        try:
            with conn.filter(self._signals_rule(), bufsize=64) as signals:
                while not self._stopping.is_set():
                    try:
                        conn.recv_messages(timeout=POLL_S)
                    except TimeoutError:
                        continue
                    while signals:
                        message = signals.popleft()
                        session, shortcut_id = message.body[0], message.body[1]
                        if session != self._session or shortcut_id != SHORTCUT_ID:
                            continue
                        member = message.header.fields.get(HeaderFields.member)
                        if member == "Activated":
                            on_press()
                        elif member == "Deactivated":
                            on_release()
        except (OSError, ValueError) as exc:
            if not self._stopping.is_set():
                logger.warning("the desktop portal's shortcut signals stopped: %s", exc)

    def stop(self) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2 * POLL_S + 1)
        conn, self._conn = self._conn, None
        session, self._session = self._session, None
        if conn is None:
            return
        try:
            if session is not None:
                self._conn = conn
                self._call("Close", "", (), interface="org.freedesktop.portal.Session",
                           path=session)
        except HotkeyUnavailable:
            pass  # the session ends with our connection anyway
        finally:
            self._conn = None
            conn.close()
