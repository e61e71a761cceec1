"""``avin web`` as a user runs it: the address it prints carries the token and works; stdout that
is not a terminal and stderr never show the token; a public address without TLS and a port in
use are clear errors, not tracebacks; SIGTERM stops it and removes the address file."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

AVIN = [sys.executable, "-m", "avin_tui.cli"]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env["AVIN_HOME"] = str(home)
    return env


def _status(url: str) -> int:
    cookies = urllib.request.HTTPCookieProcessor()  # a browser's: the redirect sets a cookie
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), cookies)
    try:
        with opener.open(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait_for(path: Path, process: subprocess.Popen[Any], timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and (text := path.read_text(encoding="utf-8")).endswith("\n"):
            return text.strip()
        time.sleep(0.05)
    raise AssertionError(f"avin web wrote no {path.name} (exit {process.poll()})")


def test_the_address_works_and_the_token_shows_nowhere_else(avin_home: Path) -> None:
    out, err = avin_home / "web.out", avin_home / "web.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [*AVIN, "web", "--port", "0", "--command", "false"],
            env=_env(avin_home),
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
    url_file = avin_home / "state" / "web.url"
    try:
        url = _wait_for(url_file, process)
        assert url_file.stat().st_mode & 0o777 == 0o600
        base, token = url.split("/?token=")
        assert base.startswith("http://127.0.0.1:") and len(token) >= 40
        assert _status(base + "/") == 401
        assert _status(base + "/?token=" + token[::-1]) == 403
        assert _status(url) == 200  # the redirect, then the page with the cookie
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    shown = out.read_text() + err.read_text()
    assert f"open the address in {url_file}" in shown
    assert "refused GET / from 127.0.0.1: no access token" in shown
    assert token not in shown
    assert "avin web: stopped" in shown
    assert not url_file.exists()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.com"])
def test_a_public_address_without_tls_is_refused(avin_home: Path, host: str) -> None:
    done = subprocess.run(
        [*AVIN, "web", "--host", host, "--port", "0"],
        env=_env(avin_home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"avin web: refusing to serve on {host} without TLS" in done.stderr
    assert "--tls-cert and --tls-key" in done.stderr and "Traceback" not in done.stderr


def test_half_of_tls_is_refused(avin_home: Path, tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate\n")
    done = subprocess.run(
        [*AVIN, "web", "--host", "0.0.0.0", "--tls-cert", str(cert)],
        env=_env(avin_home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "avin web: TLS needs both --tls-cert and --tls-key" in done.stderr
    done = subprocess.run(
        [*AVIN, "web", "--tls-cert", str(cert), "--tls-key", str(tmp_path / "missing.pem")],
        env=_env(avin_home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "avin web: cannot read the TLS certificate or key" in done.stderr


def test_a_port_in_use_is_a_clear_error(avin_home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*AVIN, "web", "--port", str(port)],
            env=_env(avin_home),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 3, done.stderr
    assert f"avin web: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "the port is in use; pick another with --port" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (avin_home / "state" / "web.url").exists()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def test_with_tls_a_public_address_is_served_over_https(avin_home: Path, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    process = subprocess.Popen(
        [
            *(*AVIN, "web", "--host", "0.0.0.0", "--port", "0", "--command", "false"),
            *("--tls-cert", str(cert), "--tls-key", str(key)),
        ],
        env=_env(avin_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = _wait_for(avin_home / "state" / "web.url", process)
        assert url.startswith(f"https://{socket.gethostname()}:")
        port, token = url.split(":")[2].split("/?token=")
        trusting = ssl.create_default_context(cafile=str(cert))
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=trusting)
        )
        base = f"https://127.0.0.1:{port}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(base + "/", timeout=10)
        assert refused.value.code == 401
        no_redirect = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=trusting),
            _NoRedirect(),
        )
        with pytest.raises(urllib.error.HTTPError) as redirected:
            no_redirect.open(f"{base}/?token={token}", timeout=10)
        assert redirected.value.code == 303
        cookie = redirected.value.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_a_key_that_is_not_pem_is_a_clear_error(avin_home: Path, tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path)
    bad = tmp_path / "bad-key.pem"
    bad.write_text("not a key\n")
    done = subprocess.run(
        [*AVIN, "web", "--tls-cert", str(cert), "--tls-key", str(bad)],
        env=_env(avin_home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "avin web: the TLS certificate (" in done.stderr
    assert "are not PEM or do not match" in done.stderr


def test_each_session_attaches_to_the_robot_given() -> None:
    from avin_tui.cli import build_parser
    from avin_tui.cli.web import _session_command

    parser = build_parser()
    default = _session_command(parser.parse_args(["web"]))
    assert default.endswith("-m avin_tui.cli attach") or default.endswith(" attach")
    given = _session_command(parser.parse_args(["web", "--endpoint", "/srv/robot/control.sock"]))
    assert given.endswith(" attach --endpoint /srv/robot/control.sock")
    assert _session_command(parser.parse_args(["web", "--command", "my-app --x"])) == "my-app --x"


def test_endpoint_and_command_together_are_refused(avin_home: Path) -> None:
    done = subprocess.run(
        [*AVIN, "web", "--endpoint", "/x/control.sock", "--command", "true"],
        env=_env(avin_home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "avin web: give --endpoint (for avin attach) or --command, not both" in done.stderr
