"""Cross-cutting HTTP behaviour: CORS for browser clients, injected faults, JSON error pages."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ravatar_live.simulator.faults import STATUS_TEXT, Fault
from ravatar_live.simulator.state import STATE_KEY

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_ROUTES = frozenset({"/jwt", "/connection", "/chat", "/startLiveSession", "/endLiveSession",
                        "/checkActiveInstance", "/ws/chat"})

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer preflights on any route and stamp CORS headers on every plain response.

    Auth is a Bearer header, never a cookie, so a wildcard origin is safe and lets any page
    (the official web demo included) call the simulator.
    """
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(status=204, headers=CORS_HEADERS)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(CORS_HEADERS)
        raise
    if not response.prepared:  # WebSockets and streamed bodies are already on the wire
        response.headers.update(CORS_HEADERS)
    return response


@web.middleware
async def json_errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown paths and wrong methods answer JSON like the API's other errors."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        if exc.content_type == "application/json":
            raise
        return web.json_response(
            {"status": exc.status, "error": f"{exc.reason}: {request.method} {request.path}"},
            status=exc.status)


def _fault_response(path: str, status: int) -> web.Response:
    text = STATUS_TEXT.get(status, "Injected fault")
    if path == "/jwt":  # /jwt has its own error shape (PROTOCOL.md section 2)
        return web.json_response({"result": "failure", "error": text}, status=max(status, 400))
    return web.json_response({"status": status, "error": text},
                             status=200 if status == -1 else status)


def _spoil(response: web.Response, kind: str) -> web.Response:
    if kind == "non_json":
        return web.Response(status=response.status, content_type="text/html",
                            text="<html><body><h1>502 Bad Gateway</h1></body></html>")
    body = response.body if isinstance(response.body, bytes) else b""
    return web.Response(status=response.status, body=body[: len(body) // 2],
                        content_type="application/json")


@web.middleware
async def faults_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply the next injected fault for this API route, if any (see faults.py)."""
    if request.path not in API_ROUTES:
        return await handler(request)
    fault: Fault | None = request.app[STATE_KEY].faults.take(request.path)
    if fault is None:
        return await handler(request)
    log.info("injecting fault on %s: %s", request.path, fault.describe())
    if fault.delay_s:
        await asyncio.sleep(fault.delay_s)
    if fault.status is not None:
        response: web.StreamResponse = _fault_response(request.path, fault.status)
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = web.Response(status=exc.status, body=exc.body,
                                    content_type=exc.content_type)
    if fault.body and isinstance(response, web.Response) and not response.prepared:
        response = _spoil(response, fault.body)
    if fault.answer_delay_s:
        await asyncio.sleep(fault.answer_delay_s)
    return response


def json_body_error(message: str) -> web.HTTPBadRequest:
    """A 400 with a JSON explanation (admin API)."""
    return web.HTTPBadRequest(text=json.dumps({"status": 400, "error": message}),
                              content_type="application/json")
