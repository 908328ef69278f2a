"""Per-user chat history, as GET /chat pages it (newest first)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


@dataclass
class ChatHistory:
    """Exchanges keyed by (project_id, user_id). Each exchange stores the user's request as an
    "outgoing" entry and the avatar's reply as an "incoming" one (the client's point of view, as
    the official demo's `type: "incoming"` replies suggest)."""

    _entries: dict[tuple[str, str], list[dict[str, object]]] = field(default_factory=dict)

    def record(self, *, project_id: str, user_id: str, avatar_id: str, avatar_name: str,
               chat_type: str, language: str, request: str, answer: str) -> None:
        """Append one exchange."""
        now_ms = int(time.time() * 1000)
        common: dict[str, object] = {"user_id": user_id, "request": request,
                                     "avatar_id": avatar_id, "avatar_name": avatar_name,
                                     "chat_type": chat_type, "language_code": language}
        log = self._entries.setdefault((project_id, user_id), [])
        log.append({"_id": uuid.uuid4().hex, "direction": "outgoing", "date": now_ms, **common})
        log.append({"_id": uuid.uuid4().hex, "direction": "incoming", "date": now_ms + 1,
                    "answer": answer, **common})

    def page(self, project_id: str, user_id: str, per_page: int,
             page: int) -> tuple[list[dict[str, object]], bool]:
        """One page, newest first, and whether older entries remain."""
        log = self._entries.get((project_id, user_id), [])
        newest_first = log[::-1]
        start = (page - 1) * per_page
        return newest_first[start:start + per_page], start + per_page < len(newest_first)
