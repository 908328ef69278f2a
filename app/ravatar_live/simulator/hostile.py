"""Hostile mode: random server frames a client must survive, interleaved with the real replies.

A real server (or a proxy in between) may send anything: arbitrary JSON, known message types with
the wrong field types, huge strings, binary frames, bytes that are not UTF-8, types nobody
documented. `HostileFrames` draws such frames from a seeded RNG so a failing run can be replayed.
Invalid UTF-8 goes in BINARY frames: in a TEXT frame it is a WebSocket protocol violation that
makes the client library close the connection (1007), which is a reconnect test, not a parser one.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from typing import Any, Final

#: The message types PROTOCOL.md section 4 names, used to build wrong-typed look-alikes.
KNOWN_TYPES: Final = ("incoming", "system", "event")
HUGE_STRING_CHARS: Final = 256 * 1024
_ALPHABET: Final = string.ascii_letters + string.digits + " \n\t\"'\\{}[]:,<>&é漢🙂\u0000\u202e"

Frame = str | bytes


class HostileFrames:
    """An endless supply of hostile frames (str: a TEXT frame, bytes: a BINARY frame)."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self._makers: tuple[tuple[float, Callable[[], Frame]], ...] = (
            (0.22, self._random_json),
            (0.20, self._wrong_types),
            (0.12, self._unknown_type),
            (0.10, self._not_json_text),
            (0.10, self._binary_garbage),
            (0.08, self._binary_json),
            (0.08, self._empty_known),
            (0.05, self._deep_nesting),
            (0.03, self._huge_string),
            (0.02, self._plausible_notice),
        )
        self.sent = 0

    def next(self) -> Frame:
        """One hostile frame."""
        (make,) = self.rng.choices([m for _, m in self._makers],
                                   weights=[w for w, _ in self._makers])
        self.sent += 1
        return make()

    # --- building blocks ---------------------------------------------------------------------
    def _text(self, max_len: int = 40) -> str:
        return "".join(self.rng.choice(_ALPHABET) for _ in range(self.rng.randint(0, max_len)))

    def _value(self, depth: int = 0) -> Any:
        roll = self.rng.random()
        if depth > 3 or roll < 0.5:
            return self.rng.choice((
                None, True, False, self.rng.randint(-2**63, 2**63), self.rng.random() * 1e308,
                -0.0, self._text(), "", [], {}))
        if roll < 0.75:
            return [self._value(depth + 1) for _ in range(self.rng.randint(0, 4))]
        return {self._text(10): self._value(depth + 1) for _ in range(self.rng.randint(0, 4))}

    def _dump(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=self.rng.random() < 0.5)

    # --- the kinds ---------------------------------------------------------------------------
    def _random_json(self) -> Frame:
        return self._dump(self._value())

    def _wrong_types(self) -> Frame:
        """A known type whose fields have the wrong types (numbers, lists, objects, null)."""
        message: dict[str, Any] = {self.rng.choice(("type", "direction")):
                                   self.rng.choice((*KNOWN_TYPES, 7, None, ["incoming"], {}))}
        for key in ("answer", "content", "message", "text", "fileUrl", "chat_type",
                    "requestType", "audio_base64", "file_base64_data", "timestamp"):
            if self.rng.random() < 0.4:
                message[key] = self.rng.choice((
                    self.rng.randint(-5, 5), [self._text()], {"x": self._text()}, None,
                    True, 1.5e300, self._text()))
        return self._dump(message)

    def _unknown_type(self) -> Frame:
        return self._dump({"type": self._text(30) or "?", "payload": self._value()})

    def _not_json_text(self) -> Frame:
        return self.rng.choice((
            self._text(200), "{\"type\": \"incoming\", \"answer\": \"cut", "NaN", "[1, 2",
            "", " ", "null", "\"just a string\"", "{'single': 'quotes'}", "Infinity"))

    def _binary_garbage(self) -> Frame:
        data = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(0, 300)))
        # Always include a byte sequence that can never be UTF-8.
        return data + b"\xff\xfe\xc0\x80"

    def _binary_json(self) -> Frame:
        return self._dump({"type": "incoming", "answer": self._text()}).encode("utf-8")

    def _empty_known(self) -> Frame:
        return self._dump(self.rng.choice((
            {"type": "incoming"}, {"type": "system"}, {"type": "event"},
            {"type": "incoming", "answer": ""}, {"type": "system", "content": ""},
            {"direction": "incoming"}, {"type": "INCOMING", "content": None})))

    def _deep_nesting(self) -> Frame:
        depth = self.rng.choice((200, 5_000, 100_000))
        return "[" * depth + "]" * depth if self.rng.random() < 0.5 else \
            "{\"a\":" * depth + "1" + "}" * depth

    def _huge_string(self) -> Frame:
        blob = self.rng.choice(string.ascii_letters) * self.rng.randint(1, HUGE_STRING_CHARS)
        key = self.rng.choice(("answer", "content", "blob", "audio_base64"))
        kind = self.rng.choice(("incoming", "system", "unknown-huge"))
        return self._dump({"type": kind, key: blob})

    def _plausible_notice(self) -> Frame:
        """A well-formed frame with junk text: the client shows it, so it must be harmless."""
        return self._dump({"type": self.rng.choice(("system", "event")),
                           "content": f"hostile notice {self._text(20)}"})
