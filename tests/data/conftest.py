"""Shared fixtures of the data tests: the CLI, archive builders and the local history server."""

from __future__ import annotations

import contextlib
import io
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.data.synthetic import archive_zip, minute_bars, trading_days

SBER_UID = "sim-sber-0001"
GAZP_UID = "sim-gazp-0002"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """Run ``avin <args>`` through avin_tui.cli.main with only the data commands registered."""
    import avin_tui.cli as cli

    monkeypatch.setattr(cli, "COMMAND_MODULES", {"avin_tui.cli.data": ("data",)})

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def small_archive(uid: str, year: int, days: int = 3, seed: int = 0) -> bytes:
    return archive_zip(uid, minute_bars(trading_days(year, days), seed=seed + year))


# --- the local history server ---------------------------------------------------------------


@dataclass
class HistoryServer:
    """Serves generated archives on 127.0.0.1; ``plan[(uid, year)]`` lists faults to inject."""

    base_url: str = ""
    plan: dict[tuple[str, int], list[tuple]] = field(default_factory=dict)
    requests: list[tuple[str, int, str]] = field(default_factory=list)  # uid, year, auth
    no_data: set[tuple[str, int]] = field(default_factory=set)
    days: int = 3
    _archives: dict[tuple[str, int], bytes] = field(default_factory=dict)

    def archive(self, uid: str, year: int) -> bytes:
        key = (uid, year)
        if key not in self._archives:
            self._archives[key] = small_archive(uid, year, self.days)
        return self._archives[key]

    def count(self, uid: str, year: int) -> int:
        return sum(1 for u, y, _ in self.requests if (u, y) == (uid, year))


def _handler(server_state: HistoryServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            uid = query.get("instrumentId", [""])[0]
            year = int(query.get("year", ["0"])[0])
            auth = self.headers.get("Authorization", "")
            server_state.requests.append((uid, year, auth))
            if auth != "Bearer good-token-123":
                self._send(401, b'{"message": "unauthorized"}')
                return
            steps = server_state.plan.get((uid, year), [])
            action = steps.pop(0) if steps else ("ok",)
            kind = action[0]
            if kind == "redirect":
                self._send(302, b"", {"Location": action[1]})
                return
            if kind == "status":
                self._send(action[1], b"error", action[2] if len(action) > 2 else None)
                return
            if (uid, year) in server_state.no_data:
                self._send(404, b"not found")
                return
            body = server_state.archive(uid, year)
            if kind == "slow":
                import time

                time.sleep(action[1])
            if kind == "truncate":  # promise the whole body, send half, hang up
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            if kind == "corrupt":  # a complete response whose ZIP is cut short
                self._send(200, body[: len(body) // 2])
                return
            self._send(200, body, {"Content-Type": "application/zip"})

    return Handler


@pytest.fixture
def history_server() -> Iterator[HistoryServer]:
    state = HistoryServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/history-data"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def zip_bytes_of(members: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
