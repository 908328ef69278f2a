"""`ravatar-live-simulator`: prints its base URL, serves, honours flags, exits cleanly on Ctrl-C."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ravatar_live.simulator.cli import build_parser, config_from_args, parse_command_line


def launch(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "ravatar_live.simulator.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def post_json(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_cli_serves_and_exits_cleanly_on_sigint() -> None:
    proc = launch("--port", "0", "--no-transcribe", "--force-start-status", "504")
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()  # blocks until the server is up
        assert base.startswith("http://127.0.0.1:"), base
        with urllib.request.urlopen(base + "/admin/stats", timeout=10) as r:
            assert json.load(r) == {"live": 0, "issued": 0, "ended": 0, "expired": 0}
        _, body = post_json(base + "/jwt", {"user_id": "u1", "project_id": "p1"})
        req = urllib.request.Request(
            base + "/startLiveSession", method="POST",
            data=json.dumps({"avatar_id": "e2a4c6d8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"}).encode(),
            headers={"Authorization": "Bearer " + body["jwt"]})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=10)
        assert info.value.code == 504  # --force-start-status reached the server
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 3
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_reports_a_busy_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = launch("--port", str(port), "--no-transcribe")
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "message"), [
    (["--force-start-status", "200"], "invalid choice"),
    (["--utterance-gap", "0"], "must be greater than 0"),
    (["--max-licenses", "-1"], "max_licenses must be >= 0"),
    (["--reply-delay", "soon"], "'soon' is not a number"),
    (["--port", "70000"], "port must be 0..65535")])
def test_cli_rejects_bad_flags(args: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        parse_command_line(args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_flags_map_to_config(tmp_path) -> None:
    args = build_parser().parse_args([
        "--host", "0.0.0.0", "--port", "9000", "--max-licenses", "5",
        "--license-idle-timeout", "30", "--utterance-gap", "0.5",
        "--save-audio-dir", str(tmp_path), "--deny-framing", "--force-start-status", "-1",
        "--token-ttl", "60", "--reply-delay", "1.5", "--project", "a1", "--project", "b2",
        "--no-transcribe"])
    cfg = config_from_args(args)
    assert (cfg.host, cfg.port, cfg.max_licenses) == ("0.0.0.0", 9000, 5)
    assert (cfg.license_idle_timeout_s, cfg.utterance_gap_s) == (30.0, 0.5)
    assert cfg.save_audio_dir == tmp_path and cfg.deny_framing is True
    assert (cfg.force_start_status, cfg.token_ttl_s, cfg.reply_delay_s) == (-1, 60.0, 1.5)
    assert cfg.projects == frozenset({"a1", "b2"}) and cfg.transcribe is False
