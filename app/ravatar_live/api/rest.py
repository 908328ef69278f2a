"""RavatarClient: the RAVATAR REST calls on one shared aiohttp.ClientSession.

Error policy (PROTOCOL.md section 2): 403 -> fetch a new JWT once and retry once (concurrent
callers share a single refresh, under a lock); 402 -> PaymentError, no retry; 503/504 -> retry
as `retry_policy` says (backoff.REQUEST_RETRY: 1, 2, 4 s; cancellable; `on_retry` lets the UI
show a countdown), then raise. Ids are checked against api/ids.py before anything is sent.

Tokens travel encrypted: an http:// API or ws:// chat URL on another computer is refused
(`PlainHttpTokenError`, before anything is sent) unless `allow_plain_http_token` is set.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from ravatar_live.api.backoff import REQUEST_RETRY, BackoffPolicy
from ravatar_live.api.errors import (
    AuthError,
    InvalidRequestError,
    RavatarError,
    TokenRejectedError,
)
from ravatar_live.api.http_json import request_json
from ravatar_live.api.ids import AVATAR_ID, PROJECT_ID, USER_ID
from ravatar_live.api.models import (
    ChatHistoryPage,
    ConnectionInfo,
    LiveSessionInfo,
    StreamSize,
    check_end_live_session,
    parse_connection,
    parse_history,
    parse_jwt_response,
    parse_live_session,
)
from ravatar_live.api.tokens import DEFAULT_REFRESH_MARGIN_S, CachedToken
from ravatar_live.api.urls import (
    api_endpoint,
    normalise_api_url,
    require_token_transport,
    ws_url_from_api,
)
from ravatar_live.api.ws import ChatSocket

log = logging.getLogger(__name__)

MAX_PER_PAGE = 100

#: on_retry(attempt, delay_s, error): called before each back-off sleep; may be sync or async.
RetryCallback = Callable[[int, float, RavatarError], object]
#: on_token(jwt): called with every newly fetched token (e.g. to keep it in the TokenStore).
TokenCallback = Callable[[str], None]


class RavatarClient:
    """The REST side of the RAVATAR API for one project and user."""

    def __init__(self, http: aiohttp.ClientSession, api_url: str, project_id: str,
                 user_id: str, *, retry_policy: BackoffPolicy = REQUEST_RETRY,
                 request_timeout_s: float = 15.0, token: str | None = None,
                 on_token: TokenCallback | None = None,
                 refresh_margin_s: float = DEFAULT_REFRESH_MARGIN_S,
                 allow_plain_http_token: bool = False) -> None:
        for rule, value in ((USER_ID, user_id), (PROJECT_ID, project_id)):
            problem = rule.problem(value)
            if problem is not None:
                raise InvalidRequestError(problem)
        if request_timeout_s <= 0:
            raise InvalidRequestError("The request timeout must be more than 0 seconds.")
        self._http = http
        self._api_url = normalise_api_url(api_url)
        # Every call here carries or fetches the token: refuse an unencrypted remote API now.
        require_token_transport(self._api_url, allow_plain_http=allow_plain_http_token)
        self.allow_plain_http_token = allow_plain_http_token
        self.project_id = project_id
        self.user_id = user_id
        self.retry_policy = retry_policy
        self.request_timeout_s = request_timeout_s
        self._refresh_margin_s = refresh_margin_s
        self._on_token = on_token
        self._token_lock = asyncio.Lock()
        self._cached: CachedToken | None = (
            CachedToken.from_jwt(token, time.time(), refresh_margin_s) if token else None)
        #: How many tokens this client fetched with POST /jwt (for diagnostics and tests).
        self.tokens_fetched = 0

    @property
    def api_url(self) -> str:
        """The normalised REST base, e.g. "https://chat.rvtr.ai"."""
        return self._api_url

    @property
    def ws_url(self) -> str:
        """The chat WebSocket URL derived from the API base (without a token)."""
        return ws_url_from_api(self._api_url)

    # --- tokens ------------------------------------------------------------------------------
    async def token(self) -> str:
        """A valid JWT: the cached one, or a new one when it is missing or close to `exp`."""
        cached = self._cached
        if cached is not None and cached.fresh(time.time()):
            return cached.value
        async with self._token_lock:
            cached = self._cached  # another caller may have refreshed while we waited
            if cached is not None and cached.fresh(time.time()):
                return cached.value
            return await self._fetch_token()

    async def refresh_token(self, rejected: str | None = None) -> str:
        """A new JWT because the server refused `rejected`; concurrent callers refresh once."""
        async with self._token_lock:
            cached = self._cached
            if (cached is not None and cached.value != rejected
                    and cached.fresh(time.time())):
                return cached.value
            return await self._fetch_token()

    async def _fetch_token(self) -> str:
        try:
            body = await request_json(
                self._http, "POST", api_endpoint(self._api_url, "/jwt"),
                timeout_s=self.request_timeout_s,
                json_body={"user_id": self.user_id, "project_id": self.project_id})
        except TokenRejectedError as exc:  # a 403 on /jwt itself: no refresh can help
            raise AuthError(detail=exc.detail, status=exc.status) from exc
        token = parse_jwt_response(body)
        self._cached = CachedToken.from_jwt(token, time.time(), self._refresh_margin_s)
        self.tokens_fetched += 1
        log.info("obtained a new access token")
        if self._on_token is not None:
            self._on_token(token)
        return token

    # --- the authenticated request loop ------------------------------------------------------
    async def _authed(self, method: str, path: str, *, json_body: Mapping[str, Any] | None = None,
                      params: Mapping[str, str] | None = None,
                      on_retry: RetryCallback | None = None,
                      retry: bool = True) -> dict[str, Any]:
        attempt = 0
        refreshed = False
        url = api_endpoint(self._api_url, path)
        while True:
            token = await self.token()
            try:
                return await request_json(self._http, method, url, json_body=json_body,
                                           params=params, token=token,
                                           timeout_s=self.request_timeout_s)
            except TokenRejectedError as exc:
                if refreshed:
                    raise AuthError(
                        "The RAVATAR service refused the sign-in even after renewing it. "
                        "Check the project and user ids.",
                        detail=exc.detail, status=exc.status) from exc
                refreshed = True
                log.info("%s %s: token refused, renewing it and retrying once", method, path)
                await self.refresh_token(token)
            except RavatarError as exc:
                attempt += 1
                if not (retry and exc.retryable) or self.retry_policy.gives_up(attempt):
                    raise
                delay = self.retry_policy.delay(attempt)
                log.warning("%s %s: %s; retry %d in %.2f s", method, path, exc.user_message,
                            attempt, delay)
                if on_retry is not None:
                    outcome = on_retry(attempt, delay, exc)
                    if inspect.isawaitable(outcome):
                        await outcome
                await asyncio.sleep(delay)

    # --- the calls ---------------------------------------------------------------------------
    async def connection(self) -> ConnectionInfo:
        """GET /connection: avatars, languages, chat types, whether VAD is on."""
        return parse_connection(await self._authed("GET", "/connection"))

    async def chat_history(self, per_page: int = 20, page: int = 1) -> ChatHistoryPage:
        """GET /chat: one page of this user's stored messages."""
        if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
            raise InvalidRequestError(
                f"History pages hold 1 to {MAX_PER_PAGE} messages and start at page 1.")
        params = {"user_id": self.user_id, "per_page": str(per_page), "page": str(page)}
        return parse_history(await self._authed("GET", "/chat", params=params))

    async def start_live_session(self, avatar_id: str, size: StreamSize = StreamSize.DEFAULT,
                                 on_retry: RetryCallback | None = None) -> LiveSessionInfo:
        """POST /startLiveSession; 503/504 are retried per `retry_policy`, reporting to on_retry.

        Cancelling the awaiting task stops the retries at once.
        """
        if not isinstance(avatar_id, str) or not avatar_id.strip():
            raise InvalidRequestError("Choose an avatar before starting a live session.")
        problem = AVATAR_ID.problem(avatar_id)
        if problem is not None:
            raise InvalidRequestError(problem)
        if not isinstance(size, StreamSize):
            raise InvalidRequestError("The stream size must be a StreamSize.")
        body = {"avatar_id": avatar_id, **size.as_request()}
        info = parse_live_session(await self._authed("POST", "/startLiveSession",
                                                     json_body=body, on_retry=on_retry))
        log.info("live session %s started (%s)", info.license_id, size)
        return info

    async def end_live_session(self, license_id: str, *, retry: bool = True) -> None:
        """POST /endLiveSession; `{"status": "success"}` is success. `retry=False` for a fast
        shutdown path that cannot wait through the back-off."""
        if not isinstance(license_id, str) or not license_id:
            raise InvalidRequestError("There is no live session to end.")
        body = await self._authed("POST", "/endLiveSession", json_body={"LicenseId": license_id},
                                  retry=retry)
        check_end_live_session(body)
        log.info("live session %s ended", license_id)

    def chat_socket(self, *, ws_url: str | None = None, heartbeat_s: float = 20.0) -> ChatSocket:
        """A ChatSocket (not yet connected) that takes and renews its token through this client.
        Raises PlainHttpTokenError for an unencrypted remote `ws_url` (unless allowed)."""
        url = ws_url or self.ws_url
        require_token_transport(url, allow_plain_http=self.allow_plain_http_token)
        return ChatSocket(self._http, url, self.token,
                          heartbeat_s=heartbeat_s, token_refresher=self.refresh_token)
