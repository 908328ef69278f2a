"""Hand the newest item from one thread to another without a queue piling up.

The writer (`put`) replaces whatever the reader has not taken yet and counts it as dropped; it is
told to notify the reader only when no notification is pending, so the reader's thread gets at
most one wake-up per item it actually takes (`take` clears the pending mark).
"""

from __future__ import annotations

import threading


class LatestMailbox[T]:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: T | None = None
        self._pending = False
        self.dropped = 0
        self.delivered = 0

    def put(self, item: T) -> bool:
        """Store `item`; True when the caller must notify the reader."""
        with self._lock:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            notify = not self._pending
            self._pending = True
        return notify

    def take(self) -> T | None:
        """The newest item (None when there is none); the next put notifies again."""
        with self._lock:
            item, self._item = self._item, None
            self._pending = False
            if item is not None:
                self.delivered += 1
        return item

    def clear(self) -> None:
        with self._lock:
            self._item = None
            self._pending = False
