"""GET /connection, GET /chat, POST /startLiveSession and /endLiveSession, icons, CORS, 404s."""

from __future__ import annotations

import uuid

import pytest


async def test_connection_lists_avatars_languages_and_settings(client) -> None:
    status, body = await client.get("/connection")
    assert status == 200 and body["status"] == 200
    assert isinstance(body["session"], str) and body["session"]
    avatars = body["avatars_info"]
    assert len(avatars) >= 2
    for avatar in avatars:
        uuid.UUID(avatar["_id"])
        assert avatar["name"] and avatar["greetingText"]
        assert set(avatar["previewIcons"]) == {"small", "medium", "large"}
        assert avatar["startButtonIcon"].startswith(client.sim.base_url)
    assert {a["hasLiveMode"] for a in avatars} == {True, False}
    assert len(body["languages"]) >= 2
    assert all(set(lang) == {"name", "language_code"} for lang in body["languages"])
    assert body["chat_types"] == ["text", "voice"]
    assert body["vadEnabled"] is True


async def test_connection_reports_vad_setting(make_client) -> None:
    c = await make_client(vad_enabled=False)
    _, body = await c.get("/connection")
    assert body["vadEnabled"] is False


async def test_preview_icons_are_served_as_svg(client) -> None:
    _, body = await client.get("/connection")
    avatar = body["avatars_info"][0]
    for url in [*avatar["previewIcons"].values(), avatar["startButtonIcon"]]:
        async with client.http.get(url) as r:
            assert r.status == 200
            assert r.content_type == "image/svg+xml"
            assert (await r.text()).startswith("<svg")
    async with client.http.get(client.sim.base_url + "/avatars/nobody/small.svg") as r:
        assert r.status == 404


async def test_start_live_session_hands_out_license_and_stream_url(client) -> None:
    status, body = await client.start(width="1280", height="720")
    assert status == 200 and body["status"] == 200
    assert body["LicenseId"]
    # The root of the license's own stream instance (its size lives with the license).
    assert body["streamingUrl"] == f"{client.sim.stream_origin(body['LicenseId'])}/"
    assert client.sim.stats() == {"live": 1, "issued": 1, "ended": 0, "expired": 0}
    assert client.sim.live_license_ids() == [body["LicenseId"]]
    assert client.sim.license_size(body["LicenseId"]) == (1280, 720)
    assert client.sim.license_size("license-nope") is None


async def test_start_defaults_and_tolerates_int_sizes(client) -> None:
    status, body = await client.post("/startLiveSession", {"avatar_id": client.LIVE_AVATAR})
    assert status == 200
    assert client.sim.license_size(body["LicenseId"]) == (1280, 720)
    status, body = await client.start(width=1920, height=1080)
    assert status == 200
    assert client.sim.license_size(body["LicenseId"]) == (1920, 1080)


@pytest.mark.parametrize(("width", "height", "fragment"), [
    ("1921", "720", "width must be between 1 and 1920"),
    ("1280", "1081", "height must be between 1 and 1080"),
    ("0", "720", "width must be between"),
    ("-5", "720", "width must be a string holding an integer"),
    ("12.5", "720", "width must be a string holding an integer"),
    ("wide", "720", "width must be a string holding an integer"),
    (True, "720", "width must be a string holding an integer"),
    (None, "720", "width must be a string holding an integer"),
    ("1280", [720], "height must be a string holding an integer"),
])
async def test_start_rejects_bad_sizes(client, width, height, fragment: str) -> None:
    status, body = await client.start(width=width, height=height)
    assert (status, body["status"]) == (400, 400)
    assert fragment in body["error"]
    assert client.sim.stats()["issued"] == 0


async def test_start_rejects_unknown_avatar_and_avatar_without_live_mode(client) -> None:
    status, body = await client.start(avatar_id="00000000-0000-0000-0000-000000000000")
    assert (status, body["status"]) == (400, 400) and "unknown avatar_id" in body["error"]
    status, body = await client.start(avatar_id=client.CHAT_ONLY_AVATAR)
    assert (status, body["status"]) == (400, 400) and "no Live Mode" in body["error"]
    async with client.http.post(client.sim.base_url + "/startLiveSession", data=b"{oops",
                                headers=client.auth) as r:
        assert r.status == 400
        assert "JSON object" in (await r.json())["error"]


async def test_all_licenses_busy_is_503(make_client) -> None:
    c = await make_client(max_licenses=2)
    first = await c.start_license()
    await c.start_license()
    status, body = await c.start()
    assert (status, body) == (503, {"status": 503,
                                    "error": "All AI assistants are busy at the moment"})
    status, body = await c.post("/endLiveSession", {"LicenseId": first})
    assert (status, body) == (200, {"status": "success"})
    status, _ = await c.start()  # an ended license is free at once
    assert status == 200
    assert c.sim.stats() == {"live": 2, "issued": 3, "ended": 1, "expired": 0}


async def test_end_live_session_is_idempotent(client) -> None:
    lid = await client.start_license()
    for _ in range(2):
        status, body = await client.post("/endLiveSession", {"LicenseId": lid})
        assert (status, body) == (200, {"status": "success"})
    status, body = await client.post("/endLiveSession", {"LicenseId": "license-never-was"})
    assert (status, body) == (200, {"status": "success"})
    assert client.sim.stats() == {"live": 0, "issued": 1, "ended": 1, "expired": 0}


async def test_end_live_session_accepts_sendbeacon_text_plain(client) -> None:
    lid = await client.start_license()
    async with client.http.post(client.sim.base_url + "/endLiveSession",
                                data=f'{{"LicenseId": "{lid}"}}',
                                headers={**client.auth, "Content-Type": "text/plain"}) as r:
        assert r.status == 200
    assert client.sim.stats()["ended"] == 1


async def test_end_live_session_needs_license_id(client) -> None:
    status, body = await client.post("/endLiveSession", {})
    assert (status, body["status"]) == (400, 400)
    assert "LicenseId" in body["error"]


@pytest.mark.parametrize("force", [503, 504, -1])
async def test_forced_start_status(make_client, force: int) -> None:
    c = await make_client(force_start_status=force)
    status, body = await c.start()
    assert body["status"] == force and body["error"]
    assert status == (200 if force == -1 else force)
    assert c.sim.stats()["issued"] == 0


async def test_chat_history_records_exchanges_newest_first_paginated(client) -> None:
    async with client.ws() as ws:
        for n in range(3):
            await ws.send_json(client.text_message(f"question number {n}?"))
            reply = await client.receive_json(ws)
            assert reply["type"] == "incoming"
    status, body = await client.get("/chat", params={"user_id": client.USER_ID,
                                                     "per_page": "4", "page": "1"})
    assert status == 200
    page1 = body["payload"]
    assert len(page1) == 4 and body["has_more_messages"] is True
    assert page1[0]["direction"] == "incoming" and page1[0]["request"] == "question number 2?"
    assert "question number 2?" in page1[0]["answer"]
    assert page1[1]["direction"] == "outgoing" and "answer" not in page1[1]
    assert all(e["chat_type"] == "text" and e["language_code"] == "en" for e in page1)
    assert page1[0]["date"] >= page1[1]["date"]
    status, body = await client.get("/chat", params={"per_page": "4", "page": "2"})
    assert len(body["payload"]) == 2 and body["has_more_messages"] is False
    assert body["payload"][-1]["request"] == "question number 0?"


async def test_chat_history_is_per_user(client, make_client) -> None:
    async with client.ws() as ws:
        await ws.send_json(client.text_message("mine"))
        await client.receive_json(ws)
    other = await make_client(client.sim)
    status, body = await other.post("/jwt", {"user_id": "someone-else",
                                             "project_id": client.PROJECT_ID}, auth=False)
    other.token = body["jwt"]
    _, body = await other.get("/chat")
    assert body == {"payload": [], "has_more_messages": False}
    status, _ = await other.get("/chat", params={"user_id": client.USER_ID})
    assert status == 403


@pytest.mark.parametrize("params", [{"per_page": "0"}, {"per_page": "x"}, {"page": "-1"},
                                    {"per_page": "101"}])
async def test_chat_history_rejects_bad_paging(client, params) -> None:
    status, body = await client.get("/chat", params=params)
    assert (status, body["status"]) == (400, 400)


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/jwt"), ("GET", "/connection"), ("GET", "/chat"), ("POST", "/startLiveSession"),
    ("POST", "/endLiveSession")])
async def test_cors_preflight_on_every_rest_route(client, method: str, path: str) -> None:
    headers = {"Origin": "https://demo.example", "Access-Control-Request-Method": method,
               "Access-Control-Request-Headers": "authorization, content-type"}
    async with client.http.options(client.sim.base_url + path, headers=headers) as r:
        assert r.status == 204
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert method in r.headers["Access-Control-Allow-Methods"]
        allowed = r.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed


async def test_cors_headers_on_success_and_error_responses(client) -> None:
    origin = {"Origin": "https://demo.example"}
    async with client.http.get(client.sim.base_url + "/connection",
                               headers={**client.auth, **origin}) as r:
        assert r.status == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    async with client.http.get(client.sim.base_url + "/connection", headers=origin) as r:
        assert r.status == 403 and r.headers["Access-Control-Allow-Origin"] == "*"
    async with client.http.post(client.sim.base_url + "/jwt", json={}, headers=origin) as r:
        assert r.status == 400 and r.headers["Access-Control-Allow-Origin"] == "*"


async def test_unknown_route_and_wrong_method_answer_json(client) -> None:
    status, body = await client.get("/nope")
    assert (status, body["status"]) == (404, 404)
    status, body = await client.get("/startLiveSession")
    assert (status, body["status"]) == (405, 405)
