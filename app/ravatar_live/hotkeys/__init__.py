"""Push-to-talk from any window: a global key whose press and release reach the GUI thread.

- `keys`      the chosen key (Qt portable text such as "F9" or "Ctrl+Shift+F9") parsed once,
              and written the way each backend names keys;
- `backend`   the one small interface every platform implements, and the choice of backend for
              this desktop (or the reason there is none);
- `pynput_backend`  X11, Windows and macOS through pynput (X11: the RECORD extension, which
              sees key presses and releases without taking the key from other apps);
- `portal`    Wayland, through the desktop portal's org.freedesktop.portal.GlobalShortcuts;
- `service`   `GlobalPushToTalk`, the Qt face: `pressed` / `released` on the GUI thread.

No Qt widgets here; the hook threads only hand events over through a queued signal.
"""
