"""``avin data serve`` and ``avin data export --remote`` through the command line."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.data.flight_request import TOKEN_ENV, token_path
from engine.data.service import DataService
from engine.data.store import BarStore
from engine.data.synthetic import minute_bars, trading_days

from .conftest import SBER_UID

Run = Any
TOKEN = "cli-test-token-0123456789abcdef"
CODE = "MOEX_SHARE_SBER"


@pytest.fixture
def stored() -> BarStore:
    store = BarStore()
    for year in (2022, 2023):
        store.merge(CODE, SBER_UID, minute_bars(trading_days(year, 3), seed=year), "test")
    return store


@pytest.fixture
def server(stored: BarStore) -> Iterator[DataService]:
    service = DataService(TOKEN)
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.shutdown()
        thread.join(timeout=10)


@pytest.mark.parametrize("name", ["bars.csv", "bars.parquet"])
@pytest.mark.parametrize(
    ("tf", "span"),
    [("1M", ()), ("W", ()), ("1H", ("--from", "2022-01-04", "--to", "2023-01-03"))],
)
def test_remote_export_writes_the_same_bytes_as_the_local_one(
    server: DataService,
    run_cli: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    tf: str,
    span: tuple[str, ...],
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    local, remote = tmp_path / f"local-{name}", tmp_path / f"remote-{name}"
    done = run_cli("data", "export", "SBER", "--tf", tf, *span, "-o", str(local))
    assert done.code == 0, done.err
    endpoint = f"127.0.0.1:{server.port}"
    done = run_cli(
        "data", "export", "SBER", "--tf", tf, *span, "-o", str(remote), "--remote", endpoint
    )
    assert done.code == 0, done.err
    assert f"bars written to {remote} (from {endpoint})" in done.out
    assert remote.read_bytes() == local.read_bytes()


def test_remote_export_reads_the_local_token_file(
    server: DataService, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    out = tmp_path / "d.csv"
    args = ("data", "export", "SBER", "--tf", "D", "-o", str(out), "--remote")
    missing = run_cli(*args, f"127.0.0.1:{server.port}")
    assert missing.code == 2
    assert "no token for the data service" in missing.err and TOKEN_ENV in missing.err
    token_path().parent.mkdir(parents=True, exist_ok=True)
    token_path().write_text(TOKEN + "\n")
    assert run_cli(*args, f"127.0.0.1:{server.port}").code == 0
    assert out.read_text().startswith("ts,open,high,low,close,volume\n2022-")


def test_remote_export_errors_are_one_paragraph(
    server: DataService, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"127.0.0.1:{server.port}"
    out = str(tmp_path / "d.csv")
    monkeypatch.setenv(TOKEN_ENV, "a-wrong-token-0123456789")
    wrong = run_cli("data", "export", "SBER", "--tf", "D", "-o", out, "--remote", endpoint)
    assert wrong.code == 2 and "refused the token" in wrong.err
    assert "a-wrong-token" not in wrong.err + wrong.out
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    cases = {
        ("GAZP", "D", out): "stores no bars of GAZP",
        ("SBER", "7M", out): "unknown timeframe",
        ("SBER", "D --from 2030-01-01", out): "the data service stores 2022-01-03 03:50 .. 2023-",
        ("SBER", "D", str(tmp_path / "d.txt")): "cannot tell the export format",
    }
    for (ticker, tf, target), message in cases.items():
        args = ("data", "export", ticker, "--tf", *tf.split(), "-o", target, "--remote", endpoint)
        result = run_cli(*args)
        assert result.code == 2 and message in result.err, result.err
        assert result.err.startswith("avin data export: ") and "Traceback" not in result.err
    unreachable = run_cli(
        "data", "export", "SBER", "--tf", "D", "-o", out, "--remote", "127.0.0.1:1"
    )
    assert unreachable.code == 2 and "is not reachable" in unreachable.err
    stray = run_cli("data", "export", "SBER", "--tf", "D", "-o", out, "--tls-root-cert", out)
    assert stray.code == 2 and "--tls-root-cert goes with --remote" in stray.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--host", "0.0.0.0"), "refusing to serve on 0.0.0.0 without TLS"),
        (("--host", "10.1.2.3", "--port", "0"), "refusing to serve on 10.1.2.3 without TLS"),
        (("--tls-cert", "cert.pem"), "TLS needs both --tls-cert and --tls-key"),
    ],
)
def test_serve_refuses_a_public_address_without_tls(
    run_cli: Run, args: tuple, message: str
) -> None:
    result = run_cli("data", "serve", *args)
    assert result.code == 2
    assert result.err.startswith("avin data serve: ") and message in result.err
    assert not token_path().exists()


def test_serve_on_a_taken_port_is_a_clear_error(run_cli: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("data", "serve", "--port", str(port))
    assert result.code == 2 and "cannot serve on 127.0.0.1:" in result.err
    assert "Traceback" not in result.err


# --- the real command in its own process ---------------------------------------------------


def _read_until(process: subprocess.Popen[bytes], marker: str, timeout: float = 60) -> str:
    """stdout of ``process`` up to ``marker`` (bounded wait on the pipe, no sleeps)."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    data = b""
    deadline = time.monotonic() + timeout
    while marker.encode() not in data:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} in time; got {data!r}"
        if selector.select(left):
            chunk = os.read(process.stdout.fileno(), 65536)
            assert chunk, f"the service exited: {data!r}"
            data += chunk
    return data.decode()


def _stop_signals_default() -> None:
    """The service as a terminal starts it: a test run under nohup, or in the background of a
    shell without job control, would pass SIGHUP or SIGINT on ignored (and they stay ignored)."""
    for number in (signal.SIGHUP, signal.SIGINT):
        signal.signal(number, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_serve_runs_hands_out_a_private_token_and_stops_cleanly(
    stored: BarStore, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: int
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop(TOKEN_ENV, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "avin_tui.cli", "data", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_stop_signals_default,
    )
    try:
        banner = _read_until(process, "Ctrl-C stops the service.")
        path = token_path()
        token = path.read_text().strip()
        assert len(token) >= 32
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert token not in banner  # stdout is not a terminal: the token is only in the file
        assert f"token: in {path} (mode 0600)" in banner
        endpoint = banner.split("--remote ", 1)[1].split()[0]
        out = tmp_path / "remote.csv"
        done = run_cli("data", "export", "SBER", "--tf", "1H", "-o", str(out), "--remote", endpoint)
        assert done.code == 0, done.err
        process.send_signal(stop)
        rest_bytes, error_bytes = process.communicate(timeout=30)
        rest, errors = rest_bytes.decode(), error_bytes.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert "avin data serve: stopped" in rest
    assert not path.exists()
    assert "data service: get 'MOEX_SHARE_SBER' 1H" in errors
    assert token not in banner + rest + errors


# --- --source remote: another machine's store into this one ---------------------------------


def test_download_source_remote_copies_the_served_minutes(
    tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.data.instruments import InstrumentCache
    from engine.data.loading import load_bars

    served = BarStore(tmp_path / "server" / "bars")
    served.merge(CODE, SBER_UID, minute_bars(trading_days(2023, 5), seed=7), "test")
    service = DataService(
        TOKEN, store=served, instruments=InstrumentCache(tmp_path / "server" / "i.parquet")
    )
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        endpoint = f"127.0.0.1:{service.port}"
        args = ("data", "download", "SBER", "--source", "remote", "--from", "2023-01-01")
        monkeypatch.delenv(TOKEN_ENV, raising=False)
        no_token = run_cli(*args, "--to", "2023-02-28", "--base-url", endpoint, "--no-progress")
        assert no_token.code == 2 and "no token for the data service" in no_token.err
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        no_url = run_cli(*args, "--no-progress")
        assert no_url.code == 2 and "needs the data service's address" in no_url.err
        done = run_cli(*args, "--to", "2023-02-28", "--base-url", endpoint, "--no-progress")
        assert done.code == 0, done.err
        local = BarStore()
        assert local.read(CODE).equals(served.read(CODE))
        assert local.read(CODE).height == 5 * 840
        again = run_cli(*args, "--to", "2023-02-28", "--base-url", endpoint, "--no-progress")
        assert again.code == 0 and local.read(CODE).equals(served.read(CODE))
        begin, end = datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 3, 1, tzinfo=UTC)
        assert load_bars("SBER", "1H", begin, end).equals(
            load_bars("SBER", "1H", begin, end, store=served)
        )
        unknown = run_cli("data", "download", "NOPE", *args[3:], "--base-url", endpoint)
        assert unknown.code == 1 and "knows no instrument 'NOPE'" in unknown.err
        trades = run_cli(
            "data", "download", "SBER", "--source", "remote", "--trades", "--base-url", endpoint
        )
        assert trades.code == 1 and "serves no trades" in trades.err
    finally:
        service.shutdown()
        thread.join(timeout=10)


def test_remote_export_over_tls_trusting_the_servers_certificate(
    stored: BarStore, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.data.test_service import _self_signed

    cert, key = _self_signed(tmp_path)
    service = DataService(TOKEN, host="127.0.0.1", tls_cert=cert, tls_key=key)
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv(TOKEN_ENV, TOKEN)
        local, remote = tmp_path / "local.parquet", tmp_path / "remote.parquet"
        assert run_cli("data", "export", "SBER", "--tf", "4H", "-o", str(local)).code == 0
        endpoint = f"localhost:{service.port}"
        args = ("data", "export", "SBER", "--tf", "4H", "-o", str(remote), "--remote", endpoint)
        untrusted = run_cli(*args)  # clear text to a TLS port
        assert untrusted.code == 2 and untrusted.err.startswith("avin data export: ")
        assert "is not reachable" in untrusted.err and "--tls-root-cert" in untrusted.err
        done = run_cli(*args, "--tls-root-cert", str(cert))
        assert done.code == 0, done.err
        assert remote.read_bytes() == local.read_bytes()
    finally:
        service.shutdown()
        thread.join(timeout=10)
