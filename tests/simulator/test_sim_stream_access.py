"""Who may see a license's stream instance: the token (Bearer or ?token=) checked against the
simulator's API (POST /checkActiveInstance), the session cookie, the redirect chain to the black
/forbidden page, and the signalling socket's admission. Real sockets, raw aiohttp clients."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import ssl
from pathlib import Path

import aiohttp
import pytest

from tests.simulator.stream_player import signalling, signalling_url

CLOSE_SCRIPT = 'window.parent.postMessage("ravatar-session-close", "*")'


async def get(http: aiohttp.ClientSession, url: str,
              **kwargs: object) -> tuple[aiohttp.ClientResponse, str]:
    async with http.get(url, **kwargs) as r:  # type: ignore[arg-type]
        return r, await r.text()


def assert_forbidden_chain(response: aiohttp.ClientResponse, html: str, origin: str) -> None:
    assert [(h.status, h.headers["Location"]) for h in response.history] == [
        (302, "/login"), (302, "/forbidden")]
    assert str(response.url) == origin + "/forbidden"
    assert response.status == 200
    assert_forbidden_page(html)


def assert_forbidden_page(html: str) -> None:
    assert CLOSE_SCRIPT in html
    assert "background: #000" in html


async def test_the_streaming_url_is_the_instances_own_origin(client) -> None:
    lid, origin = await client.start_stream()
    assert origin.startswith("http://127.0.0.1:")
    assert origin != client.sim.base_url  # a machine of its own, as far as a client can tell
    _, other_origin = await client.start_stream()
    assert other_origin != origin
    assert client.sim.stream_origin("license-nope") is None
    async with client.http.get(client.sim.base_url + "/admin/instances") as r:
        listed = (await r.json())["instances"]
    assert [(i["license_id"], i["origin"], i["video_codec"]) for i in listed] == [
        (lid, origin, "H264"), (listed[1]["license_id"], other_origin, "H264")]


async def test_a_token_in_the_query_opens_the_page_and_a_session(client, browser) -> None:
    _lid, origin = await client.start_stream()
    response, html = await get(browser, f"{origin}/?token={client.token}")
    assert response.status == 200 and response.history == ()
    assert 'src="/player.js"' in html and 'data-config="' in html
    cookie = response.cookies["connect.sid"]
    assert cookie["httponly"] and cookie["max-age"] == "86400" and cookie["path"] == "/"
    assert cookie["samesite"] == "Lax" and not cookie["secure"]  # plain HTTP: Lax, not Secure
    assert response.headers["Cache-Control"] == "no-store"
    assert "X-Frame-Options" not in response.headers
    # The assets are public, like the web server's static files.
    asset, js = await get(client.http, origin + "/player.js")
    assert asset.status == 200 and "ravatar-session-start" in js


async def test_the_cookie_serves_the_player_page_without_a_token(client, browser) -> None:
    _lid, origin = await client.start_stream()
    await get(browser, origin + "/", headers=client.auth)  # the Bearer header works as well
    response, html = await get(browser, origin + "/player.html")
    assert response.status == 200 and 'src="/player.js"' in html
    # Without the cookie the same page is refused.
    refused, _ = await get(client.http, origin + "/player.html")
    assert str(refused.url).endswith("/forbidden")
    # RAVATAR's server re-checks the token on every request for "/": a cookie is not enough.
    root, html = await get(browser, origin + "/")
    assert_forbidden_chain(root, html, origin)


@pytest.mark.parametrize("case", ["no token", "garbage token", "expired token", "revoked token",
                                  "another user's token"])
async def test_bad_tokens_end_on_the_forbidden_page(client, case: str, caplog) -> None:
    _lid, origin = await client.start_stream()
    token = {"no token": "", "garbage token": "x.y.z",
             "expired token": client.sim.mint_token(client.USER_ID, ttl_s=-10),
             "another user's token": client.sim.mint_token("someone-else")}.get(case, client.token)
    if case == "revoked token":
        client.sim.revoke_tokens()
    caplog.set_level(logging.INFO, logger="ravatar_live.simulator")
    response, html = await get(client.http, f"{origin}/?token={token}" if token else origin)
    assert_forbidden_chain(response, html, origin)
    assert "connect.sid" not in response.cookies
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    expected = {"no token": "no token", "garbage token": "invalid token",
                "expired token": "token expired", "revoked token": "token revoked",
                "another user's token": "another user"}[case]
    assert refusals and expected in refusals[0], refusals
    if token:
        assert all(token not in r.getMessage() for r in caplog.records)


async def test_unknown_paths_serve_the_forbidden_page_with_404(client) -> None:
    _lid, origin = await client.start_stream()
    for path in ("/nope", "/stream/x", "/player.html/../secret"):
        response, html = await get(client.http, origin + path)
        assert response.status == 404, path
        assert_forbidden_page(html)
    login, _ = await get(client.http, origin + "/login", allow_redirects=False)
    assert (login.status, login.headers["Location"]) == (302, "/forbidden")


async def test_the_signalling_socket_needs_a_cookie_or_a_valid_token(client, browser) -> None:
    _lid, origin = await client.start_stream()
    for token in (None, "x.y.z", client.sim.mint_token("someone-else")):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.http.ws_connect(signalling_url(origin, token)).__aenter__()
        assert refused.value.status == 401
    async with signalling(client.http, origin, client.token) as by_token:
        assert (await by_token.receive())["type"] == "config"
    await get(browser, f"{origin}/?token={client.token}")
    async with signalling(browser, origin) as by_cookie:
        assert (await by_cookie.receive())["type"] == "config"


async def test_check_active_instance_answers_for_the_license_and_its_user(client) -> None:
    lid = await client.start_license()
    assert await client.post("/checkActiveInstance", {"licenseId": lid}) == (
        200, {"status": 200})
    status, body = await client.post("/checkActiveInstance", {"licenseId": "license-nope"})
    assert (status, body["status"]) == (404, 404)
    status, body = await client.post("/checkActiveInstance", {})
    assert (status, body["status"]) == (400, 400)
    status, body = await client.post("/checkActiveInstance", {"licenseId": lid}, auth=False)
    assert (status, body["status"]) == (403, 403)
    other = client.sim.mint_token("someone-else")
    async with client.http.post(client.sim.base_url + "/checkActiveInstance",
                                json={"licenseId": lid},
                                headers={"Authorization": f"Bearer {other}"}) as r:
        assert r.status == 403 and "another user" in (await r.json())["error"]


async def test_an_ended_license_takes_its_instance_away(client) -> None:
    lid, origin = await client.start_stream()
    await client.post("/endLiveSession", {"LicenseId": lid})
    assert client.sim.stream_origin(lid) is None
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(client.http, origin + "/forbidden")


async def test_deny_framing_headers_on_the_page(make_client) -> None:
    c = await make_client(deny_framing=True)
    _lid, origin = await c.start_stream()
    response, _ = await get(c.http, f"{origin}/?token={c.token}")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def test_over_tls_the_instance_serves_https_and_checks_through_https(
        make_sim, tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    sim = await make_sim(tls_cert=cert, tls_key=key)
    trust = ssl.create_default_context(cafile=str(cert))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust),
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as https:
        async with https.post(sim.base_url + "/jwt", json={"user_id": "tls", "project_id": "tls"}
                              ) as r:
            token = (await r.json())["jwt"]
        async with https.post(sim.base_url + "/startLiveSession",
                              json={"avatar_id": "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"},
                              headers={"Authorization": f"Bearer {token}"}) as r:
            url = (await r.json())["streamingUrl"]
        assert url.startswith("https://127.0.0.1:")
        response, html = await get(https, f"{url}?token={token}")
        assert response.status == 200 and 'src="/player.js"' in html  # the check went through
        cookie = response.cookies["connect.sid"]
        assert cookie["secure"] and cookie["samesite"] == "None"
        async with signalling(https, url.rstrip("/")) as sig:  # wss://, with the cookie
            assert (await sig.receive())["type"] == "config"
