"""A small on-disk list of live licenses this app holds, so a crash never leaks one for long.

A license is written down when the session goes live and crossed out when /endLiveSession was
acknowledged. On the next start the app ends whatever is still listed for the same service.
Only the LicenseId and the API URL are stored: no token, nothing secret.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ravatar_live.state_files import state_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenLicense:
    license_id: str
    api_url: str
    started_at: float


def default_journal_path() -> Path:
    return state_file("open-licenses.json")


class LicenseJournal:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_journal_path()

    def entries(self) -> list[OpenLicense]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            logger.warning("license journal unreadable (%s); starting a new one", exc)
            return []
        result: list[OpenLicense] = []
        for item in raw if isinstance(raw, list) else []:
            try:
                result.append(OpenLicense(str(item["license_id"]), str(item["api_url"]),
                                          float(item["started_at"])))
            except (KeyError, TypeError, ValueError):
                continue
        return result

    def add(self, license_id: str, api_url: str) -> None:
        entries = [e for e in self.entries() if e.license_id != license_id]
        entries.append(OpenLicense(license_id, api_url, time.time()))
        self._write(entries)

    def remove(self, license_id: str) -> None:
        entries = self.entries()
        kept = [e for e in entries if e.license_id != license_id]
        if len(kept) != len(entries):
            self._write(kept)

    def for_service(self, api_url: str) -> list[OpenLicense]:
        return [e for e in self.entries() if e.api_url == api_url]

    def _write(self, entries: list[OpenLicense]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps([asdict(e) for e in entries]), encoding="utf-8")
            os.replace(tmp, self.path)  # atomic: a crash mid-write keeps the old list
        except OSError as exc:
            logger.warning("could not update the license journal: %s", exc)
