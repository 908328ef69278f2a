"""REST routes of the RAVATAR API (PROTOCOL.md section 2): /jwt, /connection, /chat,
/startLiveSession, /endLiveSession, /checkActiveInstance (what a stream instance asks before it
shows its page), plus the avatar icons /connection points at."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, NoReturn

from aiohttp import web

from ravatar_live.simulator.auth import PROJECT_ID_RE, USER_ID_RE, TokenClaims, TokenRejectedError
from ravatar_live.simulator.auth import bearer_token as _bearer
from ravatar_live.simulator.catalog import (
    AVATARS,
    CHAT_TYPES,
    ICON_SIZES,
    avatar_by_id,
    avatar_info,
    icon_svg,
    languages_info,
)
from ravatar_live.simulator.faults import STATUS_TEXT
from ravatar_live.simulator.licenses import PoolExhaustedError
from ravatar_live.simulator.state import STATE_KEY

log = logging.getLogger(__name__)

MAX_WIDTH, MAX_HEIGHT = 1920, 1080
DEFAULT_WIDTH, DEFAULT_HEIGHT = "1280", "720"
MAX_PER_PAGE = 100


def origin_of(request: web.Request) -> str:
    """scheme://host as the client addressed us, so handed-out URLs work from where it stands."""
    return f"{request.scheme}://{request.host}"


def api_error(status: int, error: str) -> web.Response:
    """The authenticated routes' error shape: `{"status": code, "error": text}`."""
    # status -1 is carried in the body only (PROTOCOL.md: the body's status is authoritative).
    return web.json_response({"status": status, "error": error},
                             status=200 if status == -1 else status)


def _raise_forbidden(reason: str) -> NoReturn:
    raise web.HTTPForbidden(text=json.dumps({"status": 403, "error": reason}),
                            content_type="application/json")


def require_token(request: web.Request) -> TokenClaims:
    """Claims of the request's Bearer token; 403 JSON when missing, bad, expired or revoked."""
    token = _bearer(request.headers.get("Authorization"))
    try:
        return request.app[STATE_KEY].tokens.verify(token)
    except TokenRejectedError as exc:
        _raise_forbidden(f"{exc}: send Authorization: Bearer <JWT from POST /jwt>")


async def read_json_object(request: web.Request) -> dict[str, Any] | None:
    """The body as a JSON object, or None. Content-Type is not enforced: browsers' sendBeacon
    posts JSON as text/plain, and /endLiveSession must still work then."""
    try:
        body = json.loads(await request.text() or "null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


# --- POST /jwt -------------------------------------------------------------------------------
def _jwt_failure(status: int, error: str, message: str) -> web.Response:
    # Assumption (PROTOCOL.md): body {"result": "failure", "error": "<id>"}; `message` is ours.
    return web.json_response({"result": "failure", "error": error, "message": message},
                             status=status)


async def post_jwt(request: web.Request) -> web.Response:
    """Issue a JWT for a valid user_id/project_id pair."""
    state = request.app[STATE_KEY]
    body = await read_json_object(request) or {}
    user_id, project_id = body.get("user_id"), body.get("project_id")
    if not isinstance(user_id, str) or not USER_ID_RE.fullmatch(user_id):
        return _jwt_failure(400, "invalid_user_id",
                            "user_id must be 1-128 characters of A-Z, a-z, 0-9, '_' or '-'")
    if not isinstance(project_id, str) or not PROJECT_ID_RE.fullmatch(project_id):
        return _jwt_failure(400, "invalid_project_id",
                            "project_id must be 1-64 characters of A-Z, a-z, 0-9 or '-'")
    if state.config.projects is not None and project_id not in state.config.projects:
        return _jwt_failure(401, "project_not_found", f"no project with id {project_id}")
    token = state.tokens.issue(user_id, project_id)
    log.info("issued a token for user %s", user_id)
    return web.json_response({"result": "success", "jwt": token})


# --- GET /connection -------------------------------------------------------------------------
async def get_connection(request: web.Request) -> web.Response:
    """The project's avatars, languages and chat settings."""
    require_token(request)
    state = request.app[STATE_KEY]
    origin = origin_of(request)
    return web.json_response({
        "status": 200,
        "session": f"session-{uuid.uuid4().hex}",
        "avatars_info": [avatar_info(a, origin) for a in AVATARS],
        "languages": languages_info(),
        "chat_types": list(CHAT_TYPES),
        "vadEnabled": state.config.vad_enabled,
    })


# --- GET /chat -------------------------------------------------------------------------------
def _positive_int(raw: str | None, name: str, default: int, maximum: int | None = None) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum else ""
        raise web.HTTPBadRequest(
            text=json.dumps({"status": 400, "error": f"{name} must be an integer >= 1{bound}"}),
            content_type="application/json")
    return value


async def get_chat(request: web.Request) -> web.Response:
    """The token holder's chat history, newest first, paginated."""
    claims = require_token(request)
    asked_for = request.query.get("user_id")
    if asked_for and asked_for != claims.user_id:
        _raise_forbidden("user_id does not match the token's user")
    per_page = _positive_int(request.query.get("per_page"), "per_page", 20, MAX_PER_PAGE)
    page = _positive_int(request.query.get("page"), "page", 1)
    entries, more = request.app[STATE_KEY].history.page(claims.project_id, claims.user_id,
                                                        per_page, page)
    return web.json_response({"payload": entries, "has_more_messages": more})


# --- POST /startLiveSession ------------------------------------------------------------------
def _dimension(body: dict[str, Any], name: str, default: str, maximum: int) -> int | str:
    """An integer in 1..maximum, or an error text. Strings are documented; ints are tolerated."""
    raw = body.get(name, default)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return f"{name} must be a string holding an integer, e.g. \"{default}\""
    text = str(raw).strip()
    if not text.isdigit():
        return f"{name} must be a string holding an integer, got {raw!r}"
    value = int(text)
    if not 1 <= value <= maximum:
        return f"{name} must be between 1 and {maximum}, got {value}"
    return value


async def post_start_live_session(request: web.Request) -> web.Response:
    """Take a license for an avatar with Live Mode and hand out its stream URL."""
    claims = require_token(request)
    state = request.app[STATE_KEY]
    body = await read_json_object(request)
    if body is None:
        return api_error(400, "request body must be a JSON object")
    avatar = avatar_by_id(body.get("avatar_id"))
    if avatar is None:
        return api_error(400, f"unknown avatar_id {body.get('avatar_id')!r}")
    if not avatar.has_live_mode:
        return api_error(400, f"avatar {avatar.name} has no Live Mode")
    width = _dimension(body, "width", DEFAULT_WIDTH, MAX_WIDTH)
    height = _dimension(body, "height", DEFAULT_HEIGHT, MAX_HEIGHT)
    for checked in (width, height):
        if isinstance(checked, str):
            return api_error(400, checked)
    assert isinstance(width, int) and isinstance(height, int)
    forced = state.config.force_start_status
    if forced is not None:
        return api_error(forced, STATUS_TEXT[forced])
    try:
        lic = state.licenses.acquire(avatar.avatar_id, claims.user_id, width, height,
                                     claims.project_id)
    except PoolExhaustedError:
        return api_error(503, STATUS_TEXT[503])
    try:
        origin = await state.instances.start(lic, avatar.color)
    except Exception:
        log.exception("could not start the stream instance of license %s", lic.license_id)
        state.licenses.release(lic.license_id)
        return api_error(504, STATUS_TEXT[504])
    if state.licenses.get(lic.license_id) is None:  # ended while its instance was starting
        await state.instances.stop(lic.license_id)
    log.info("license %s started for avatar %s (%dx%d), streaming on %s", lic.license_id,
             avatar.name, width, height, origin)
    # The instance's root, like RAVATAR's stream servers (or the configured stand-in origin).
    url = (state.config.stream_origin or origin) + "/"
    return web.json_response({"status": 200, "LicenseId": lic.license_id, "streamingUrl": url})


# --- POST /endLiveSession --------------------------------------------------------------------
async def post_end_live_session(request: web.Request) -> web.Response:
    """Free a license. Idempotent (PROTOCOL.md assumption): unknown or ended ids succeed too."""
    require_token(request)
    state = request.app[STATE_KEY]
    body = await read_json_object(request)
    license_id = body.get("LicenseId") if body else None
    if not isinstance(license_id, str) or not license_id:
        return api_error(400, "LicenseId is required")
    lic = state.licenses.release(license_id)
    if lic is not None:
        log.info("license %s ended", license_id)
        await state.finish_license(lic, "ended", tell_chat=False)
    return web.json_response({"status": "success"})


# --- POST /checkActiveInstance -----------------------------------------------------------------
async def post_check_active_instance(request: web.Request) -> web.Response:
    """May the token's holder see this license's stream? 200 when the token is valid, the license
    is live and it is the token's user's; 403 (token or owner) or 404 (license) otherwise."""
    claims = require_token(request)
    state = request.app[STATE_KEY]
    body = await read_json_object(request)
    license_id = body.get("licenseId") if body else None
    if not isinstance(license_id, str) or not license_id:
        return api_error(400, "licenseId is required")
    lic = state.licenses.get(license_id)
    if lic is None:
        log.info("checkActiveInstance: license %s is not live", license_id)
        return api_error(404, f"license {license_id} is not live")
    if lic.user_id != claims.user_id:
        log.info("checkActiveInstance: license %s belongs to another user", license_id)
        return api_error(403, "the license belongs to another user")
    state.licenses.touch(license_id)
    return web.json_response({"status": 200})


# --- avatar icons ----------------------------------------------------------------------------
async def get_avatar_icon(request: web.Request) -> web.Response:
    """The SVG icons /connection lists."""
    avatar = avatar_by_id(request.match_info["avatar_id"])
    size = request.match_info["size"]
    if avatar is None or size not in ICON_SIZES:
        raise web.HTTPNotFound(text=json.dumps({"status": 404, "error": "no such icon"}),
                               content_type="application/json")
    return web.Response(text=icon_svg(avatar, size), content_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=3600"})


def add_routes(app: web.Application) -> None:
    """Register the REST routes."""
    app.router.add_post("/jwt", post_jwt)
    app.router.add_get("/connection", get_connection)
    app.router.add_get("/chat", get_chat)
    app.router.add_post("/startLiveSession", post_start_live_session)
    app.router.add_post("/endLiveSession", post_end_live_session)
    app.router.add_post("/checkActiveInstance", post_check_active_instance)
    app.router.add_get("/avatars/{avatar_id}/{size}.svg", get_avatar_icon)
