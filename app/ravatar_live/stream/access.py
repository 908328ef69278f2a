"""Getting into a Pixel Streaming stream page, and the signalling URL that goes with it.

RAVATAR's stream web server checks the token once (`Authorization: Bearer <JWT>`, or `?token=`),
then keeps a session cookie; an unauthenticated request is redirected `/login` -> `/forbidden`
(a black page), and unknown paths serve that page with 404. The signalling WebSocket is at `/`
of the page's origin; we open it with the cookie and, per PROTOCOL.md's assumption, `?token=`.

The URLs here carry the token: never log them (log `without_secrets(url)` at most).
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import aiohttp

from ravatar_live.api.urls import without_secrets, ws_url_with_token
from ravatar_live.stream.errors import StreamAccessError, StreamUnavailableError

logger = logging.getLogger(__name__)

FORBIDDEN_PATHS = ("/forbidden", "/login")
REFUSED_STATUSES = (401, 403, 404)
_WS_SCHEMES = {"http": "ws", "https": "wss"}


def token_of(url: str) -> str | None:
    """The `token` query parameter of `url` (decoded), or None."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    return next((value for name, value in parse_qsl(query) if name == "token" and value), None)


def signalling_url(page_url: str) -> str:
    """The signalling WebSocket of a stream page: same origin, path "/", `ws://` for `http://`,
    `wss://` for `https://`, with the page's `token` (when it has one)."""
    try:
        parts = urlsplit(page_url)
    except ValueError as exc:
        raise StreamAccessError("The stream address is not a valid URL.") from exc
    scheme = _WS_SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise StreamAccessError("The stream address must be an http or https URL.",
                                 detail=without_secrets(page_url))
    url = urlunsplit((scheme, parts.netloc, "/", "", ""))
    token = token_of(page_url)
    return ws_url_with_token(url, token) if token else url


def _refused(response: aiohttp.ClientResponse) -> bool:
    visited = [r.url.path for r in response.history] + [response.url.path]
    return response.status in REFUSED_STATUSES or any(
        path.rstrip("/") in FORBIDDEN_PATHS for path in visited)


async def open_stream_page(http: aiohttp.ClientSession, page_url: str,
                           timeout_s: float = 10.0) -> str:
    """Fetch the stream page (token as Bearer too) so its session cookie lands in `http`'s jar;
    return the signalling URL. Raises StreamAccessError when the page refuses us and
    StreamUnavailableError when it cannot be reached now."""
    token = token_of(page_url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    where = without_secrets(page_url)
    try:
        async with http.get(page_url, headers=headers, allow_redirects=True,
                            timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            await response.read()
            if _refused(response):
                logger.warning("the stream page at %s refused access (HTTP %d, ended at %s)",
                               where, response.status, response.url.path)
                raise StreamAccessError(
                    "The stream refused access: the sign-in was not accepted or the session "
                    "has ended.", detail=f"HTTP {response.status}")
            if response.status >= 400:
                raise StreamUnavailableError("The stream page is not available right now.",
                                        detail=f"HTTP {response.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise StreamUnavailableError("The stream page could not be reached.",
                                detail=type(exc).__name__) from exc
    return signalling_url(page_url)
