"""The control API over TCP: a token on every call (UNAUTHENTICATED without it, never logged),
TLS with a certificate made here, loopback only without TLS, the token file's rules."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from avin_tui.cli.control import remote_problem
from engine.config import ConfigError, load_settings
from engine.control.client import ControlClient, ControlError, connect_endpoint
from engine.control.server import ControlServer, serve_control
from engine.control.tcp import Refusals, TcpEndpoint, endpoint_from
from engine.model import Mode
from engine.model.redact import redact
from engine.model.snapshot import EngineSnapshot, TradingState
from engine.security.service_access import CONTROL_TOKEN_ENV, AccessError, read_token

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix domain sockets")

TOKEN = "tok-" + "s3cr3t" * 6


class Engine:
    trading_state = TradingState.ACTIVE
    halt_reason = ""

    def __init__(self, control: Any = None) -> None:
        self.options = SimpleNamespace(control=control)
        self.kills = 0

    def snapshot(self) -> EngineSnapshot:
        return EngineSnapshot(
            3, Mode.SIM, TradingState.ACTIVE, True, True, 99, False, None, None, None
        )

    def kill(self, reason: str = "manual") -> None:
        self.kills += 1
        self.trading_state = TradingState.HALTED


@pytest.fixture
def folder(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(CONTROL_TOKEN_ENV, raising=False)
    return Path(tempfile.mkdtemp(prefix="avin-tcp-"))


@pytest.fixture
def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "control.pem", folder / "control.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def plain(folder: Path) -> Iterator[tuple[Engine, ControlServer, str]]:
    engine = Engine()
    server = ControlServer(engine, folder / "control.sock")  # type: ignore[arg-type]
    server.start()
    port = server.start_tcp(TcpEndpoint("127.0.0.1", 0, TOKEN))
    try:
        yield engine, server, f"127.0.0.1:{port}"
    finally:
        server.stop()


def test_every_call_needs_the_token(
    plain: tuple[Engine, ControlServer, str], caplog: pytest.LogCaptureFixture
) -> None:
    engine, server, endpoint = plain
    with ControlClient(endpoint=endpoint, token=TOKEN) as client:
        assert client.snapshot().pid == 99
        assert client.command("kill", "over tcp").trading_state == "HALTED"
    assert engine.kills == 1
    caplog.set_level(logging.DEBUG)  # every logger, every level: the token is in none
    for token in (None, "wrong-" + TOKEN, TOKEN[:-1]):
        with ControlClient(endpoint=endpoint, token=token) as client:
            with pytest.raises(ControlError, match="a valid token is required") as err:
                client.command("kill", "no token")
            assert err.value.code is grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(ControlError) as err:  # a stream, too
                next(client.watch())
            assert err.value.code is grpc.StatusCode.UNAUTHENTICATED
    assert engine.kills == 1, "a call without the right token was acted on"
    assert server.refusals.count == 6
    refused = [r for r in caplog.records if "refused a call" in r.getMessage()]
    assert len(refused) == 1, "one line for a burst of refusals (no log flood)"
    assert "127.0.0.1" in refused[0].getMessage()
    assert TOKEN not in caplog.text and TOKEN[:-1] not in caplog.text
    with ControlClient(server.path) as local:  # the unix socket: its mode says who may call
        assert local.snapshot().pid == 99


def test_tls_with_a_certificate(folder: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    settings = SimpleNamespace(listen="127.0.0.1:0", tls_cert=cert, tls_key=key, token_file=None)
    os.environ[CONTROL_TOKEN_ENV] = TOKEN
    try:
        tcp = endpoint_from(settings, folder)
    finally:
        del os.environ[CONTROL_TOKEN_ENV]
    assert tcp is not None and tcp.tls is not None and TOKEN not in repr(tcp)
    engine = Engine()
    with serve_control(engine, folder / "control.sock", tcp=tcp) as server:  # type: ignore[arg-type]
        assert server is not None and server.tcp_port
        endpoint = f"127.0.0.1:{server.tcp_port}"
        with ControlClient(endpoint=endpoint, token=TOKEN, tls_root_cert=cert.read_bytes()) as c:
            assert c.status()["pid"] == 99
        with ControlClient(endpoint=endpoint, token="x" * 20, tls_root_cert=cert.read_bytes()) as c:
            with pytest.raises(ControlError) as err:
                c.snapshot()
            assert err.value.code is grpc.StatusCode.UNAUTHENTICATED
        with ControlClient(endpoint=endpoint, token=TOKEN, timeout=5) as c:  # no TLS: no answer
            with pytest.raises(ControlError) as err:
                c.snapshot()
            assert err.value.code is grpc.StatusCode.UNAVAILABLE
        root = cert.read_bytes()
        with ControlClient(
            endpoint=endpoint, token=TOKEN, tls_root_cert=root, tls_server_name="other.example"
        ) as c:  # the certificate names another host: the handshake fails, and says so
            with pytest.raises(ControlError) as err:
                c.snapshot()
            assert "TLS handshake" in remote_problem(endpoint, err.value)
        # the command-line way: the token from a file, the certificate as the root
        token_file = folder / "my.token"
        token_file.write_text(TOKEN + "\n")
        token_file.chmod(0o600)
        os.environ[CONTROL_TOKEN_ENV] = "an-old-token-in-the-environment"
        try:  # the file asked for wins over the environment
            with connect_endpoint(endpoint, token_file=token_file, tls_root_cert=cert) as c:
                assert c.snapshot().version == 3
        finally:
            del os.environ[CONTROL_TOKEN_ENV]


def test_a_public_address_needs_tls(folder: Path, certificate: tuple[Path, Path]) -> None:
    public = SimpleNamespace(listen="0.0.0.0:7700", tls_cert=None, tls_key=None, token_file=None)
    with pytest.raises(AccessError, match=r"not a loopback address.*tls_cert and tls_key"):
        endpoint_from(public, folder)
    config = folder / "avin.toml"
    config.write_text('[control]\nlisten = "192.0.2.7:7700"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config, token_needed=False)
    assert "not a loopback address" in str(err.value.problems)
    config.write_text(f'[control]\nlisten = "0.0.0.0:7700"\ntls_cert = "{certificate[0]}"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config, token_needed=False)
    assert "go together" in str(err.value.problems)
    config.write_text('[control]\nlisten = "7700"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(config, token_needed=False)
    assert "is not host:port" in str(err.value.problems)
    with pytest.raises(ValueError, match="not a loopback address"):
        ControlClient(endpoint="192.0.2.7:7700", token=TOKEN)  # the token would go in clear


def test_the_token_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = folder / "state" / "control.token"
    settings = SimpleNamespace(listen="127.0.0.1:0", tls_cert=None, tls_key=None, token_file=None)
    made = endpoint_from(settings, folder / "state")  # none yet: made, 0600, random
    assert made is not None and len(made.token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_token(path) == made.token and redact(f"t={made.token}") != f"t={made.token}"
    assert endpoint_from(settings, folder / "state").token == made.token  # kept  # type: ignore[union-attr]
    path.chmod(0o644)
    with pytest.raises(AccessError, match="chmod 600"):
        read_token(path)
    monkeypatch.setenv(CONTROL_TOKEN_ENV, "short")
    with pytest.raises(AccessError, match="shorter than 16"):
        read_token(path)
    monkeypatch.setenv(CONTROL_TOKEN_ENV, TOKEN)
    assert read_token(path) == TOKEN  # the environment first
    monkeypatch.delenv(CONTROL_TOKEN_ENV)
    with pytest.raises(AccessError, match="no token"):
        read_token(folder / "missing.token")
    named = SimpleNamespace(**{**vars(settings), "token_file": folder / "credential"})
    with pytest.raises(AccessError, match="credential not found"):
        endpoint_from(named, folder / "state")  # a file the user names is never made here
    assert not (folder / "credential").exists()


def test_the_engine_options_ask_for_tcp(folder: Path) -> None:
    os.environ[CONTROL_TOKEN_ENV] = TOKEN
    try:
        settings = SimpleNamespace(
            listen="127.0.0.1:0", tls_cert=None, tls_key=None, token_file=folder / "t"
        )
        engine = Engine(control=settings)
        with serve_control(engine, folder / "control.sock") as server:  # type: ignore[arg-type]
            assert server is not None and server.tcp_port > 0
            with ControlClient(endpoint=f"127.0.0.1:{server.tcp_port}", token=TOKEN) as client:
                assert client.snapshot().pid == 99
    finally:
        del os.environ[CONTROL_TOKEN_ENV]


def test_the_commands_with_an_endpoint(
    plain: tuple[Engine, ControlServer, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from avin_tui.cli.kill import kill_command
    from avin_tui.cli.status import cmd_status

    engine, _, endpoint = plain
    monkeypatch.setenv("AVIN_HOME", tempfile.mkdtemp(prefix="avin-tcp-home-"))
    monkeypatch.setenv(CONTROL_TOKEN_ENV, TOKEN)
    args = SimpleNamespace(
        endpoint=endpoint,
        token_file=None,
        tls_root_cert=None,
        tls_server_name=None,
        reason="over ssh",
        wait=5.0,
        flatten=False,
        reduce=False,
        json=True,
    )
    assert cmd_status(args) == 0  # type: ignore[arg-type]
    assert json.loads(capsys.readouterr().out)["pid"] == 99
    assert kill_command(args) == 0  # type: ignore[arg-type]
    assert f"at {endpoint} is HALTED" in capsys.readouterr().out
    assert engine.kills == 1
    monkeypatch.setenv(CONTROL_TOKEN_ENV, "not-the-token-at-all")
    assert kill_command(args) == 1  # type: ignore[arg-type]
    err = capsys.readouterr().err
    assert "refused the token" in err and "not-the-token-at-all" not in err
    assert engine.kills == 1
    assert cmd_status(args) == 1  # type: ignore[arg-type]
    assert "refused the token" in json.loads(capsys.readouterr().out)["message"]


def test_refused_calls_are_logged_without_flooding(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    refusals = Refusals(every=10.0, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, "avin.control")
    for _ in range(5):
        refusals.refused("ipv4:192.0.2.1:5000")
    now[0] += 10.0
    refusals.refused("ipv4:192.0.2.1:5001")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and refusals.count == 6
    assert lines[1].endswith("from ipv4:192.0.2.1:5001 (4 more refused before it)")


def test_config_check_says_what_control_serves(
    folder: Path, certificate: tuple[Path, Path]
) -> None:
    from engine.security.checkup import control_notes

    none = SimpleNamespace(listen=None, tls_cert=None, tls_key=None, token_file=None)
    assert control_notes(none, folder) == [
        "control: the unix socket state/control.sock only ([control] listen is not set)"
    ]
    cert, key = certificate
    tls = SimpleNamespace(listen="0.0.0.0:7700", tls_cert=cert, tls_key=key, token_file=None)
    notes = control_notes(tls, folder)
    assert notes[0] == "control: also on TCP at 0.0.0.0:7700 (TLS), a token on every call"
    assert "is made on the first start" in notes[1] and len(notes) == 2
    token = folder / "control.token"
    token.write_text(TOKEN)
    token.chmod(0o644)
    missing = SimpleNamespace(**{**vars(tls), "tls_key": folder / "gone.key"})
    warnings = [n for n in control_notes(missing, folder) if n.startswith("warning")]
    assert any("cannot read" in w and "gone.key" in w for w in warnings)
    assert any("chmod 600" in w for w in warnings)
    assert all(TOKEN not in n for n in control_notes(missing, folder))


def test_a_port_another_robot_serves_is_never_shared(
    plain: tuple[Engine, ControlServer, str],
) -> None:
    """gRPC binds with SO_REUSEPORT unless told not to: two robots on one port would each get
    some of the calls (a kill could reach the wrong one). The second is refused, and says so."""
    _, first, endpoint = plain
    second = ControlServer(Engine(), Path(tempfile.mkdtemp(prefix="avin-tcp2-")) / "c.sock")  # type: ignore[arg-type]
    try:
        with pytest.raises(AccessError, match="in use"):
            second.start_tcp(TcpEndpoint("127.0.0.1", first.tcp_port, TOKEN))
    finally:
        second.stop()
    with ControlClient(endpoint=endpoint, token=TOKEN) as client:
        assert client.snapshot().pid == 99
