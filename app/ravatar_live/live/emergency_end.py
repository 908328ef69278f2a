"""End a license synchronously, for the moments the asyncio loop can no longer run.

Used only from `QGuiApplication.commitDataRequest` (OS log-out) and `aboutToQuit`, when the normal
asynchronous close path did not get the chance to run. The request goes through the standard
library (no event loop needed), bounded by a timeout; its answer is judged by the same rules as
the REST client's (`interpret_body`, then `check_end_live_session`).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from ravatar_live.api.errors import RavatarError
from ravatar_live.api.http_json import interpret_body
from ravatar_live.api.models import check_end_live_session
from ravatar_live.api.urls import api_endpoint

logger = logging.getLogger(__name__)

_ROUTE = "/endLiveSession"


def end_license_blocking(api_url: str, token: str, license_id: str,
                         timeout_s: float = 2.0) -> bool:
    """POST /endLiveSession and wait at most `timeout_s`; True when the server said success."""
    request = urllib.request.Request(
        api_endpoint(api_url, _ROUTE),
        data=json.dumps({"LicenseId": license_id}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                http_status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:  # an error status still has a body that says why
            http_status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning("emergency end of live session %s failed: %s", license_id,
                       type(exc).__name__)
        return False
    try:
        check_end_live_session(interpret_body(http_status, raw, _ROUTE))
    except RavatarError as exc:
        logger.warning("emergency end of live session %s was refused: %s", license_id, exc)
        return False
    logger.info("live session ended")
    return True
