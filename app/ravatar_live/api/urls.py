"""URL building for the RAVATAR hosts: API base, WebSocket URL, `token=` on stream and WS URLs.

The query is edited as text, segment by segment, so everything we do not touch keeps its exact
encoding (re-encoding a whole query can turn a literal '+' into a space on the far side).

The token travels encrypted, or stays on this computer: `require_token_transport()` refuses an
unencrypted http:// or ws:// URL to any other host unless the user allowed it in Settings (the
demo simulator on 127.0.0.1 is fine either way).
"""

from __future__ import annotations

import ipaddress
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


_PLAIN_SCHEMES = ("http", "ws")


class PlainHttpTokenError(InvalidRequestError):
    """The sign-in token would travel unencrypted to another computer, and the user has not
    allowed that."""


def is_loopback_host(host: str) -> bool:
    """True for this computer: "localhost" (and its subdomains), 127.0.0.0/8 and ::1."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def plain_token_transport(url: str) -> bool:
    """True when a token sent to `url` would cross the network unencrypted: an http:// or ws://
    URL whose host is not this computer."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False  # not a URL: whoever parses it next refuses it in its own words
    return parts.scheme.lower() in _PLAIN_SCHEMES and not is_loopback_host(host)


def require_token_transport(url: str, *, allow_plain_http: bool) -> None:
    """Raise PlainHttpTokenError when a token must not be sent to `url` (see the module
    docstring); `allow_plain_http` is the user's explicit choice in Settings."""
    if allow_plain_http or not plain_token_transport(url):
        return
    parts = urlsplit(url)
    raise PlainHttpTokenError(
        f"The app did not connect to {parts.hostname}: its address starts with "
        f"{parts.scheme}://, which would send your sign-in unencrypted over the network. Use "
        "an https:// address, or allow unencrypted sign-in in Settings › Connection if you "
        "trust every network in between.", detail=without_secrets(url))
