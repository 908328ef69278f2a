"""ALSA's and JACK's probing chatter goes to our log at DEBUG level instead of the terminal.

PortAudio's initialisation makes ALSA and JACK print pages of harmless messages ("Unknown PCM
cards.pcm.rear", "jack server is not running") on stderr. Both libraries let a program install
its own message function, which is what this module does, once per process. An earlier approach
pointed fd 2 at /dev/null around `PyAudio()`; since the microphone opens on a worker thread, that
also swallowed every line the rest of the process wrote to stderr meanwhile (our log lines
included), so it must not come back.
"""

from __future__ import annotations

import ctypes
import logging
import threading

log = logging.getLogger(__name__)

# ALSA's handler is variadic (file, line, function, err, fmt, ...); a callee that reads only the
# fixed arguments is safe under the x86-64 and AArch64 C calling conventions, and the format's
# arguments are not needed to know that a message was printed.
_ALSA_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_int, ctypes.c_char_p)
_JACK_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p)

_lock = threading.Lock()
_routed: dict[str, object] = {}  # library -> its callback, which must stay alive
_tried = threading.Event()


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


def _on_alsa(file: bytes | None, line: int, function: bytes | None, err: int,
             fmt: bytes | None) -> None:
    log.debug("ALSA %s:%d %s: %s (error %d)", _text(file), line, _text(function), _text(fmt), err)


def _on_jack(message: bytes | None) -> None:
    log.debug("JACK: %s", _text(message))


def _load(soname: str) -> ctypes.CDLL | None:
    """The copy PortAudio already uses: by soname, the dynamic linker returns a loaded library
    (in the frozen app, the bundled one) rather than a second instance."""
    try:
        return ctypes.CDLL(soname)
    except OSError:
        return None


def route_native_audio_chatter() -> list[str]:
    """Install the message functions once per process; returns the libraries routed."""
    with _lock:
        if not _tried.is_set():
            _tried.set()
            alsa = _load("libasound.so.2")
            if alsa is not None and hasattr(alsa, "snd_lib_error_set_handler"):
                _routed["ALSA"] = on_alsa = _ALSA_HANDLER(_on_alsa)
                alsa.snd_lib_error_set_handler(on_alsa)
            jack = _load("libjack.so.0")
            if jack is not None and hasattr(jack, "jack_set_error_function"):
                _routed["JACK"] = on_jack = _JACK_HANDLER(_on_jack)
                jack.jack_set_error_function(on_jack)
                jack.jack_set_info_function(on_jack)
        return list(_routed)
