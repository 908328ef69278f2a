"""Admin routes for tests and the CLI (no auth; the simulator is a local tool):
GET /admin/stats, POST|GET|DELETE /admin/faults, POST /admin/revoke-tokens, GET /admin/utterances,
POST /admin/drop-chat, POST /admin/stall-chat ({"stalled": bool}), GET /admin/hostile,
GET /admin/instances (each live license's stream instance: origin, codec, players).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ravatar_live.simulator.faults import FaultSpecError, make_fault
from ravatar_live.simulator.middleware import json_body_error
from ravatar_live.simulator.state import STATE_KEY


async def get_stats(request: web.Request) -> web.Response:
    """License counters: live, issued, ended, expired."""
    return web.json_response(request.app[STATE_KEY].licenses.stats())


async def post_fault(request: web.Request) -> web.Response:
    """Inject a fault: {"route", "status"?, "count"? (default 1, null = forever), "delay_s"?,
    "answer_delay_s"?, "body"? ("truncated" | "non_json")}."""
    try:
        spec: Any = json.loads(await request.text() or "null")
    except json.JSONDecodeError as exc:
        raise json_body_error("body must be a JSON object describing the fault") from exc
    if not isinstance(spec, dict):
        raise json_body_error("body must be a JSON object describing the fault")
    unknown = set(spec) - {"route", "status", "count", "delay_s", "answer_delay_s", "body"}
    if unknown:
        raise json_body_error(f"unknown fault fields: {sorted(unknown)}")
    try:
        fault = make_fault(route=spec.get("route", ""), status=spec.get("status"),
                           count=spec.get("count", 1), delay_s=spec.get("delay_s"),
                           body=spec.get("body"), answer_delay_s=spec.get("answer_delay_s"))
    except FaultSpecError as exc:
        raise json_body_error(str(exc)) from exc
    faults = request.app[STATE_KEY].faults
    faults.add(fault)
    return web.json_response({"status": "ok", "pending": faults.pending()})


async def get_faults(request: web.Request) -> web.Response:
    """The pending faults."""
    return web.json_response({"pending": request.app[STATE_KEY].faults.pending()})


async def delete_faults(request: web.Request) -> web.Response:
    """Drop every pending fault."""
    request.app[STATE_KEY].faults.clear()
    return web.json_response({"status": "ok", "pending": []})


async def post_revoke_tokens(request: web.Request) -> web.Response:
    """Invalidate every JWT issued so far."""
    request.app[STATE_KEY].tokens.revoke_all()
    return web.json_response({"status": "ok"})


async def get_utterances(request: web.Request) -> web.Response:
    """What voice requests arrived (no audio, just their description)."""
    return web.json_response(
        {"utterances": [u.describe() for u in request.app[STATE_KEY].utterances]})


async def post_drop_chat(request: web.Request) -> web.Response:
    """Close every chat socket from the server side (licenses stay live)."""
    dropped = await request.app[STATE_KEY].drop_chat_sockets()
    return web.json_response({"status": "ok", "dropped": dropped})


async def post_stall_chat(request: web.Request) -> web.Response:
    """{"stalled": true}: accept new chat sockets and never answer them; false ends it."""
    try:
        spec: Any = json.loads(await request.text() or "{}")
    except json.JSONDecodeError as exc:
        raise json_body_error("body must be a JSON object like {\"stalled\": true}") from exc
    stalled = spec.get("stalled", True) if isinstance(spec, dict) else None
    if not isinstance(stalled, bool):
        raise json_body_error("`stalled` must be true or false")
    request.app[STATE_KEY].set_chat_stalled(stalled)
    return web.json_response({"status": "ok", "stalled": stalled})


async def get_hostile(request: web.Request) -> web.Response:
    """How many hostile frames were sent (hostile mode)."""
    state = request.app[STATE_KEY]
    return web.json_response({"hostile": state.config.hostile, "sent": state.hostile_sent})


async def get_instances(request: web.Request) -> web.Response:
    """The stream instance of every live license and the players watching it."""
    return web.json_response({"instances": request.app[STATE_KEY].instances.describe()})


def add_routes(app: web.Application) -> None:
    """Register the admin routes."""
    app.router.add_get("/admin/stats", get_stats)
    app.router.add_post("/admin/faults", post_fault)
    app.router.add_get("/admin/faults", get_faults)
    app.router.add_delete("/admin/faults", delete_faults)
    app.router.add_post("/admin/revoke-tokens", post_revoke_tokens)
    app.router.add_get("/admin/utterances", get_utterances)
    app.router.add_post("/admin/drop-chat", post_drop_chat)
    app.router.add_post("/admin/stall-chat", post_stall_chat)
    app.router.add_get("/admin/hostile", get_hostile)
    app.router.add_get("/admin/instances", get_instances)
