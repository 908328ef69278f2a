"""One JSON request over the shared aiohttp session, with every failure turned into a typed error.

The RAVATAR rule (PROTOCOL.md section 2): the body's `status` is authoritative, so a 200 response
carrying `{"status": -1}` is an error, and a body without a numeric status falls back to the HTTP
status. Retries and token refresh are the caller's business (rest.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ravatar_live.api.errors import (
    MalformedResponseError,
    ServiceUnreachableError,
    error_for_status,
)
from ravatar_live.api.models import body_status

if TYPE_CHECKING:  # aiohttp loads with the first request (after the window shows)
    import aiohttp

log = logging.getLogger(__name__)

def _server_text(body: Mapping[str, Any]) -> str | None:
    for key in ("error", "message"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:300]
    return None


def interpret_body(http_status: int, raw: bytes, route: str) -> dict[str, Any]:
    """Decode a response body and apply the status rules; raise the typed error on failure."""
    if not raw.strip() and 200 <= http_status < 300:
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        if http_status >= 400:
            # A proxy's HTML error page still tells us what happened through the HTTP status.
            raise error_for_status(http_status, "the answer was not JSON")
        raise MalformedResponseError(
            "The RAVATAR service sent an incomplete or unreadable answer. Please try again.",
            detail=f"{route}: HTTP {http_status}, {len(raw)} bytes that are not a JSON object")
    status = body_status(body)
    if status is None:
        status = http_status if http_status >= 300 else 200
    if status != 200:
        raise error_for_status(status, _server_text(body))
    return body


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


async def request_json(http: aiohttp.ClientSession, method: str, url: str, *,
                       timeout_s: float, json_body: Mapping[str, Any] | None = None,
                       params: Mapping[str, str] | None = None,
                       token: str | None = None) -> dict[str, Any]:
    """Send one request and return its JSON object body; RavatarError subclasses on failure."""
    import aiohttp  # noqa: PLC0415 - the caller's session has loaded it

    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    route = urlsplit(url).path
    try:
        async with http.request(method, url, json=json_body, params=params, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            raw = await response.read()
            http_status = response.status
    except TimeoutError as exc:
        raise ServiceUnreachableError(
            f"The RAVATAR service did not answer within {timeout_s:g} seconds. "
            "Please try again.", detail=f"{method} {route} timed out") from exc
    except aiohttp.ClientConnectorError as exc:
        raise ServiceUnreachableError(
            f"Could not connect to {_host_of(url)}. Check the internet connection "
            "and the server address.", detail=f"{method} {route}: {exc.os_error}") from exc
    except aiohttp.ClientPayloadError as exc:
        raise MalformedResponseError(
            "The answer from the RAVATAR service was cut off. Please try again.",
            detail=f"{method} {route}: {type(exc).__name__}") from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise ServiceUnreachableError(
            "The RAVATAR service closed the connection without answering. Please try again.",
            detail=f"{method} {route}") from exc
    except aiohttp.ClientError as exc:
        raise ServiceUnreachableError(
            detail=f"{method} {route}: {type(exc).__name__}") from exc
    log.debug("%s %s -> HTTP %d (%d bytes)", method, route, http_status, len(raw))
    return interpret_body(http_status, raw, route)
