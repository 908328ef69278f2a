"""End a license synchronously, for the moments the asyncio loop can no longer run.

Used only from `QGuiApplication.commitDataRequest` (OS log-out) and `aboutToQuit`, when the normal
asynchronous close path did not get the chance to run. Standard library only, bounded by a timeout.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from ravatar_live.api.urls import api_endpoint

logger = logging.getLogger(__name__)


def end_license_blocking(api_url: str, token: str, license_id: str,
                         timeout_s: float = 2.0) -> bool:
    """POST /endLiveSession and wait at most `timeout_s`; True when the server said success."""
    request = urllib.request.Request(
        api_endpoint(api_url, "/endLiveSession"),
        data=json.dumps({"LicenseId": license_id}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = json.loads(response.read().decode("utf-8") or "{}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("emergency end of live session %s failed: %s", license_id,
                       type(exc).__name__)
        return False
    ok = isinstance(body, dict) and body.get("status") == "success"
    if ok:
        logger.info("live session ended")
    return ok
