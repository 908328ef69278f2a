"""Who may see an instance's stream, as RAVATAR's stream web server decides it.

A request carries the user's JWT as `Authorization: Bearer <JWT>` or, failing that, `?token=`.
The instance asks the API: `POST <api>/checkActiveInstance` with that Bearer header and
`{"licenseId": "<its license>"}`; HTTP 200 means allowed. Success opens a session (an
express-session style cookie, one day), so later requests need no token. The instance really calls
the simulator's API over HTTP(S): it is another machine as far as the protocol goes.

The cookie is HttpOnly; under HTTPS `Secure; SameSite=None` like RAVATAR's; under plain HTTP
`SameSite=Lax`, because browsers drop `SameSite=None` cookies that are not `Secure`.
"""

from __future__ import annotations

import logging
import secrets
import ssl
import time

import aiohttp
from aiohttp import web

log = logging.getLogger(__name__)

SESSION_COOKIE = "connect.sid"  # express-session's default name
SESSION_MAX_AGE_S = 24 * 60 * 60
CHECK_TIMEOUT_S = 5.0


def token_of(request: web.Request) -> str | None:
    """The request's JWT: the Bearer header first, then the `token` query parameter."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token") or None


class AccessGate:
    """Token checks against the API and the sessions they open. Lives on the instance's loop."""

    def __init__(self, license_id: str, api_base_url: str, api_ssl: ssl.SSLContext | None,
                 secure: bool) -> None:
        self._license_id = license_id
        self._check_url = api_base_url.rstrip("/") + "/checkActiveInstance"
        self._api_ssl = api_ssl
        self._secure = secure
        self._sessions: dict[str, float] = {}  # session id -> expiry (monotonic)
        self._http: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the HTTP client for the API calls (on the instance's loop)."""
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S),
            connector=aiohttp.TCPConnector(ssl=self._api_ssl or True))

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def has_session(self, request: web.Request) -> bool:
        """Whether the request carries a live session cookie of this instance."""
        expires = self._sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        return expires is not None and expires > time.monotonic()

    async def refusal(self, token: str | None) -> str | None:
        """None when the API accepts `token` for this instance's license; otherwise why not
        (plain words, never the token)."""
        if not token:
            return "no token (neither a Bearer header nor ?token=)"
        if self._http is None:
            return "the instance is shutting down"
        try:
            async with self._http.post(self._check_url, json={"licenseId": self._license_id},
                                       headers={"Authorization": f"Bearer {token}"}) as answer:
                if answer.status == 200:
                    return None
                detail = await _error_text(answer)
                return f"checkActiveInstance answered HTTP {answer.status}{detail}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"checkActiveInstance could not be reached ({type(exc).__name__}: {exc})"

    def open_session(self, response: web.StreamResponse) -> None:
        """Start a session and set its cookie on `response`."""
        now = time.monotonic()
        self._sessions = {sid: exp for sid, exp in self._sessions.items() if exp > now}
        sid = secrets.token_urlsafe(24)
        self._sessions[sid] = now + SESSION_MAX_AGE_S
        response.set_cookie(SESSION_COOKIE, sid, max_age=SESSION_MAX_AGE_S, path="/",
                            httponly=True, secure=self._secure,
                            samesite="None" if self._secure else "Lax")


async def _error_text(answer: aiohttp.ClientResponse) -> str:
    try:
        body = await answer.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    return f": {str(error)[:200]}" if error else ""
