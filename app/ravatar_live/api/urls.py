"""URL building for the RAVATAR hosts: API base, WebSocket URL, `token=` on stream and WS URLs.

The query is edited as text, segment by segment, so everything we do not touch keeps its exact
encoding (re-encoding a whole query can turn a literal '+' into a space on the far side).
"""

from __future__ import annotations

from urllib.parse import SplitResult, quote, unquote_plus, urlsplit, urlunsplit

from ravatar_live.api.errors import InvalidRequestError

WS_PATH = "/ws/chat"
_WS_SCHEME_FOR = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise InvalidRequestError(f"{url[:80]!r} is not a valid URL.") from exc


def normalise_api_url(api_url: str) -> str:
    """"https://chat.rvtr.ai/" -> "https://chat.rvtr.ai"; a bare host gets https://.

    Raises InvalidRequestError for anything that is not an http(s) URL with a host.
    """
    text = (api_url or "").strip()
    if text and "://" not in text:
        text = "https://" + text
    parts = _split(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(
            f"The server address must look like https://chat.rvtr.ai, not {api_url!r}.")
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


def api_endpoint(api_url: str, path: str) -> str:
    """Join a normalised API base and a route such as "/connection"."""
    return normalise_api_url(api_url) + "/" + path.lstrip("/")


def ws_url_from_api(api_url: str) -> str:
    """"https://chat.rvtr.ai" -> "wss://chat.rvtr.ai/ws/chat" (http -> ws; keeps port and path)."""
    base = urlsplit(normalise_api_url(api_url))
    return urlunsplit((_WS_SCHEME_FOR[base.scheme], base.netloc, base.path + WS_PATH, "", ""))


def _with_query_param(url: str, name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = _split((url or "").strip())
    if parts.scheme.lower() not in schemes or not parts.netloc:
        raise InvalidRequestError(
            f"Expected a {' or '.join(schemes)} URL, got {url[:80]!r}.")
    if not value:
        raise InvalidRequestError("There is no sign-in token to add to the URL.")
    try:
        encoded = quote(value, safe="")
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(
            "The sign-in token contains characters that cannot be put in a URL.") from exc
    kept = [seg for seg in parts.query.split("&")
            if seg and unquote_plus(seg.partition("=")[0]) != name]
    kept.append(f"{quote(name, safe='')}={encoded}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "&".join(kept), parts.fragment))


def stream_url_with_token(url: str, token: str) -> str:
    """The stream page URL with `token=<url-encoded JWT>` in its query (before any #fragment).

    An existing `token=` is replaced, not duplicated; other parameters keep their exact text.
    """
    return _with_query_param(url, "token", token, ("http", "https"))


def ws_url_with_token(ws_url: str, token: str) -> str:
    """The chat WebSocket URL with `token=<url-encoded JWT>`, keeping any existing query."""
    return _with_query_param(ws_url, "token", token, ("ws", "wss"))


def without_secrets(url: str) -> str:
    """The URL with its query and fragment dropped, safe to log."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
