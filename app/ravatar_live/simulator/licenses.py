"""Live-session licenses: a fixed pool, freed at once when ended, reclaimed when left idle."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


class PoolExhaustedError(Exception):
    """Every license is in use."""


@dataclass
class License:
    """One live session. `watchers` counts players connected to its stream instance, which keep
    it alive."""

    license_id: str
    avatar_id: str
    user_id: str
    width: int
    height: int
    created_at: float
    last_activity: float
    watchers: int = 0
    project_id: str = ""


class LicensePool:
    """Accounting for live licenses: issued, ended (explicitly) and expired (idle) counts."""

    def __init__(self, max_licenses: int, idle_timeout_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_licenses
        self._idle_timeout_s = idle_timeout_s
        self._clock = clock
        self._live: dict[str, License] = {}
        self.issued = 0
        self.ended = 0
        self.expired = 0

    def acquire(self, avatar_id: str, user_id: str, width: int, height: int,
                project_id: str = "") -> License:
        """Take a free license or raise PoolExhaustedError."""
        if len(self._live) >= self._max:
            raise PoolExhaustedError
        now = self._clock()
        lic = License(license_id=f"license-{secrets.token_hex(8)}", avatar_id=avatar_id,
                      user_id=user_id, width=width, height=height, created_at=now,
                      last_activity=now, project_id=project_id)
        self._live[lic.license_id] = lic
        self.issued += 1
        return lic

    def release(self, license_id: str) -> License | None:
        """End a license; ending an unknown or already-ended one is a no-op returning None."""
        lic = self._live.pop(license_id, None)
        if lic is not None:
            self.ended += 1
        return lic

    def get(self, license_id: str) -> License | None:
        """The live license with this id, or None."""
        return self._live.get(license_id)

    def touch(self, license_id: str) -> bool:
        """Note activity on a license; False when it is not live."""
        lic = self._live.get(license_id)
        if lic is None:
            return False
        lic.last_activity = self._clock()
        return True

    def watch(self, license_id: str, delta: int) -> None:
        """A stream page connected (+1) or disconnected (-1)."""
        lic = self._live.get(license_id)
        if lic is not None:
            lic.watchers = max(0, lic.watchers + delta)
            lic.last_activity = self._clock()

    def reap_idle(self) -> list[License]:
        """Expire licenses idle for longer than the timeout and return them."""
        now = self._clock()
        idle = [lic for lic in self._live.values()
                if lic.watchers == 0 and now - lic.last_activity >= self._idle_timeout_s]
        for lic in idle:
            del self._live[lic.license_id]
            self.expired += 1
        return idle

    @property
    def live(self) -> list[License]:
        """Licenses in use, oldest first."""
        return list(self._live.values())

    def stats(self) -> dict[str, int]:
        """The counters the contract promises."""
        return {"live": len(self._live), "issued": self.issued, "ended": self.ended,
                "expired": self.expired}
