"""Security: no secret on disk, TLS checks on, no mixed content.

- A full live session of the REAL app process (debug logging, the real rotating log file of
  logging_setup) leaves no JWT (the actual token strings the simulator issued), no `token=` URL
  and no Authorization header in the log file, the settings file or the license journal (read
  while the session is live, when it holds the license).
- TLS certificate checks stay on: the app's HTTP session refuses a server whose certificate no
  trusted authority signed, and says so in words; no app module turns verification off.
- An http:// stream URL under an https:// API is refused with a mixed-content explanation and its
  license is ended. That test trusts a private test CA the way an administrator would install a
  corporate CA (a stand-in: CI cannot change the OS trust store); verification stays on.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ravatar_live.api.models import StreamSize
from ravatar_live.live.connection import CERTIFICATE_MESSAGE, ServiceConnection
from ravatar_live.live.error_kinds import ErrorKind
from ravatar_live.live.session import LiveSession
from ravatar_live.live.states import ConnectionState, SessionState
from ravatar_live.settings import Settings
from ravatar_live.simulator.server import RunningSimulator, SimulatorConfig, start_simulator
from ravatar_live.simulator.threaded import SimulatorThread
from tests.support.app_process import AppProcess, secrets_in

APP_SOURCE = Path(__file__).resolve().parents[2] / "app" / "ravatar_live"
USER_ID = "0123456789abcdef01234567"
LIVE_AVATAR = "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"


# --- secrets on disk after a full session -----------------------------------------------------
@pytest.fixture
def remote() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimulatorConfig(port=0, transcribe=False, stream_webrtc=False,
                                         stream_voice=False)) as sim:
        yield sim


def test_a_full_session_leaves_no_secret_in_the_log_settings_or_journal(remote,
                                                                        tmp_path) -> None:
    settings_file = tmp_path / "settings.ini"
    log_dir = tmp_path / "logs"  # where AppProcess points --log-dir
    app = AppProcess(["--settings", str(settings_file), "--log-level", "DEBUG",
                      "--api-url", remote.base_url, "--project-id", "security-test", "--start"],
                     home=tmp_path, env={"QT_QPA_PLATFORM": "offscreen"})
    try:
        license_id = app.wait_for(r"live session (license-[0-9a-f]+) started").group(1)
        app.wait_for(r"stream event: ravatar-session-start")  # the token URL was loaded
        journal = tmp_path / "state" / "ravatar-live" / "open-licenses.json"
        journal_while_live = journal.read_text(encoding="utf-8")
        assert license_id in journal_while_live
        app.terminate()
        assert app.wait_exit() == 0
    finally:
        app.kill()
    tokens = remote.call(lambda s: s.issued_tokens)
    assert tokens, "the simulator issued no token: the session did not really run"
    log_files = sorted(log_dir.glob("*.log*"))
    assert log_files, "no log file was written"
    log_text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in log_files)
    assert "live session ended" in log_text
    assert "DEBUG" in log_text, "debug logging was on (the most that can be logged)"
    places = {
        "log file": log_text,
        "stderr": app.text(),
        "settings file": settings_file.read_text(encoding="utf-8"),
        "journal (while live)": journal_while_live,
        "journal (after)": journal.read_text(encoding="utf-8") if journal.exists() else "",
    }
    for place, text in places.items():
        assert not secrets_in(text, tokens), f"{place}: {secrets_in(text, tokens)}"
    assert remote.call(lambda s: s.stats())["live"] == 0


def test_the_secret_scan_itself_finds_secrets() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    assert secrets_in(f"GET /stream?token={token}", [token])
    assert secrets_in("Authorization: Bearer abc.def", [])
    assert secrets_in("headers {'Authorization': 'Bearer xyz'}", [])
    assert not secrets_in("GET /stream?token=[REDACTED] Authorization: Bearer [REDACTED]", [token])


# --- TLS ----------------------------------------------------------------------------------------
@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA and a certificate it signed for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(_name("RAVATAR Live test CA"))
               .issuer_name(_name("RAVATAR Live test CA")).public_key(ca_key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=True, content_commitment=False, key_encipherment=False,
                   data_encipherment=False, key_agreement=False, key_cert_sign=True,
                   crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                              critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return pki


@pytest.fixture
async def tls_sim(pki: Pki) -> AsyncIterator[RunningSimulator]:
    # Stream URLs on a plain-http origin, as a misconfigured stream server would hand out.
    sim = await start_simulator(SimulatorConfig(
        transcribe=False, stream_webrtc=False, stream_voice=False, tls_cert=pki.cert,
        tls_key=pki.key, stream_origin="http://127.0.0.1:9"))
    try:
        yield sim
    finally:
        await sim.close()


def tls_settings(sim: RunningSimulator) -> Settings:
    return Settings(user_id=USER_ID, project_id="tls-test", api_url=sim.base_url)


async def test_an_untrusted_certificate_is_refused_with_words(tls_sim) -> None:
    assert tls_sim.base_url.startswith("https://")
    connection = ServiceConnection()
    failures: list[tuple[str, str]] = []
    connection.failed.connect(lambda kind, message: failures.append((kind, message)))
    try:
        assert await connection.open(tls_settings(tls_sim), demo=False) is None
        http = connection.http
        assert http is not None
        # The session the app made keeps aiohttp's verifying default (no ssl=False anywhere).
        assert isinstance(http.connector, aiohttp.TCPConnector)
        assert http.connector._ssl is True  # private, the only place this is visible
    finally:
        await connection.close()
    assert connection.state is ConnectionState.OFFLINE
    assert failures == [(ErrorKind.UNREACHABLE.value, CERTIFICATE_MESSAGE)]
    assert tls_sim.stats()["issued"] == 0, "nothing was sent to the untrusted server"


def test_no_app_module_turns_certificate_checks_off() -> None:
    risky = re.compile(r"ssl\s*=\s*False|verify_ssl|CERT_NONE|check_hostname\s*=\s*False|"
                       r"_create_unverified_context")
    offenders = [f"{path.relative_to(APP_SOURCE)}:{n}" for path in APP_SOURCE.rglob("*.py")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if risky.search(line)]
    assert offenders == []


async def test_an_http_stream_under_an_https_api_is_refused_as_mixed_content(
        tls_sim, pki) -> None:
    trusted = ssl.create_default_context(cafile=str(pki.ca))  # the test CA, installed
    connection = ServiceConnection()
    connection._http = aiohttp.ClientSession(  # the stand-in trust store
        connector=aiohttp.TCPConnector(ssl=trusted))
    failures: list[tuple[str, str]] = []
    streams: list[object] = []

    async def connected() -> bool:
        return connection.state is ConnectionState.CONNECTED

    session = LiveSession(connection, connected)
    session.failed.connect(lambda kind, message: failures.append((kind, message)))
    session.stream_ready.connect(streams.append)
    try:
        assert await connection.open(tls_settings(tls_sim), demo=False) is not None
        assert not await session.start(LIVE_AVATAR, StreamSize(640, 360))
    finally:
        await connection.close()
    assert session.state is SessionState.ERROR
    assert streams == [], "the stream URL was never handed to the view"
    [(kind, message)] = failures
    assert kind == ErrorKind.STREAM.value
    assert "mixed content" in message and "http://" in message and "https://" in message
    # The license it came with was ended at once.
    assert tls_sim.stats() == {"live": 0, "issued": 1, "ended": 1, "expired": 0}
