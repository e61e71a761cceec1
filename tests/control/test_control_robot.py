"""The control API against a real ``avin run --headless`` robot (a subprocess, its own home).

Status, kill (HALTED with every resting order cancelled) and resume through the socket, as the
commands do; two clients at once; a client that stops reading its snapshot stream; bad requests;
the socket's mode; a stale socket after SIGKILL replaced on the next start.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest

from engine.control.client import ControlClient, ControlError, connect, status_of
from engine.control.endpoint import is_live
from engine.control.proto import control_pb2 as pb
from engine.model.snapshot import EngineSnapshot
from engine.state.status_store import StatusStore

AVIN = Path(sys.executable).with_name("avin")
pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix domain sockets")

SPEED = "600"
WAIT = 60.0  # seconds: a bound on every wait (the machine may be busy), never a threshold

# Two rows keep one limit buy far below the market open (it never fills), one trades.
PROBE = """
from engine.strategy.base import Strategy


class Resting(Strategy):
    name = "control_resting"

    def on_bar(self, ctx, timeframe, bar):
        if not ctx.orders:  # one resting buy far below the market, again after a cancel
            ctx.buy(1, price=bar.close * 0.8)
"""
CONFIG = """
[control]
listen = "127.0.0.1:0"

[[strategies]]
name = "control_probe:Resting"
instrument = "SBER"
account = "sim-1"
timeframe = "1M"

[[strategies]]
name = "control_probe:Resting"
instrument = "GAZP"
account = "sim-1"
timeframe = "1M"

[[strategies]]
name = "sma_cross"
instrument = "LKOH"
account = "sim-1"
timeframe = "1M"
"""


def wait_for(what: str, check: Callable[[], Any], timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"waited {timeout:g} s for {what}")


class Robot:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.socket = home / "state" / "control.sock"
        (home / "config").mkdir(parents=True, exist_ok=True)
        (home / "config" / "avin.toml").write_text(textwrap.dedent(CONFIG))
        (home / "probe").mkdir(exist_ok=True)
        (home / "probe" / "control_probe.py").write_text(PROBE)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
        self.env["AVIN_HOME"] = str(home)
        self.env["PYTHONPATH"] = str(home / "probe")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.home / "robot.log").open("ab")
        self.proc = subprocess.Popen(
            [str(AVIN), "run", "--headless", "--speed", SPEED, "--seed", "3"],
            env=self.env,
            stdout=log,
            stderr=log,
        )
        wait_for("the control socket", lambda: self.running() and is_live(self.socket))

    def running(self) -> bool:
        assert self.proc is not None
        assert self.proc.poll() is None, self.output()[-3000:]
        return True

    def output(self) -> str:
        return (self.home / "robot.log").read_text(errors="replace")

    def client(self) -> ControlClient:
        client = connect(self.socket)
        assert client is not None
        return client

    def avin(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(AVIN), *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=WAIT)


@pytest.fixture(scope="module")
def robot() -> Iterator[Robot]:
    assert AVIN.exists(), "run `.venv/bin/pip install -e .` first"
    # a short path: a unix socket path holds at most 107 bytes
    robot = Robot(Path(tempfile.mkdtemp(prefix="avin-ctl-")))
    robot.start()
    try:
        with robot.client() as client:
            wait_for("the two resting orders", lambda: len(client.status()["open_orders"]) == 2)
        yield robot
    finally:
        code = robot.stop()
    assert code == 0, robot.output()[-3000:]
    assert not robot.socket.exists(), "a clean stop removes the socket"


def test_status_through_the_socket_and_its_mode(robot: Robot) -> None:
    mode = robot.socket.lstat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    done = robot.avin("status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["source"] == "control" and status["running"] is True
    assert status["pid"] == robot.proc.pid  # type: ignore[union-attr]
    assert status["trading_state"] == "ACTIVE" and len(status["open_orders"]) == 2
    assert "live (control socket)" in robot.avin("status").stdout


def test_kill_through_the_socket_halts_and_cancels_then_resume(robot: Robot) -> None:
    done = robot.avin("kill", "--reason", "test kill")
    assert done.returncode == 0, done.stderr
    assert f"(pid {robot.proc.pid}) is HALTED" in done.stdout  # type: ignore[union-attr]
    with robot.client() as client:
        status = wait_for(
            "the cancels",
            lambda: (s := client.status())["open_orders"] == [] and s,
        )
        assert status["trading_state"] == "HALTED" and status["halt_reason"] == "test kill"
        cancelled = [o for o in status["orders"] if o["status"] == "cancelled"]
        assert len(cancelled) == 2, status["orders"]
        assert all(s["state"] == "held" for s in status["strategies"] if s["state"] != "stopped")
    assert "control: kill (test kill)" in robot.output()
    done = robot.avin("resume", "--yes")
    assert done.returncode == 0, done.stderr
    assert "is ACTIVE" in done.stdout
    with robot.client() as client:
        assert client.status()["trading_state"] == "ACTIVE"


def test_two_clients_at_once_see_the_same_robot(robot: Robot) -> None:
    with robot.client() as one, robot.client() as two:
        stream = one.watch(min_interval=0.02)
        first = next(stream)
        assert two.command("reduce", "two clients").trading_state == "REDUCING"
        seen = wait_for("REDUCING on the other client's stream", lambda: _reducing(stream))
        assert seen.version > first.version and seen.pid == robot.proc.pid  # type: ignore[union-attr]
        assert two.snapshot().version >= seen.version
        assert two.command("resume", "two clients").trading_state == "ACTIVE"
        stream.close()


def _reducing(stream: Iterator[pb.EngineSnapshot]) -> pb.EngineSnapshot | None:
    message = next(stream)
    return message if message.trading_state == "REDUCING" else None


def _lag(status: dict[str, Any]) -> float:
    """Seconds between the robot's last event and now (printed; not asserted on)."""
    last = status.get("last_event_ts")
    if not last:
        return float("nan")
    return (datetime.now(UTC) - datetime.fromisoformat(last.replace("Z", "+00:00"))).total_seconds()


def test_a_client_that_stops_reading_does_not_hold_the_engine(robot: Robot) -> None:
    with robot.client() as reader, robot.client() as other:
        before = other.status()
        lag_before = _lag(before)
        stream = reader.watch(min_interval=0.02)
        start = next(stream)
        # it stops reading: the robot keeps sending until the stream's window is full, then
        # the stream waits; the engine goes on handling events meanwhile
        target = before["counters"]["events"] + 3000
        after = wait_for(
            "3000 more events while a stream is not read",
            lambda: (s := other.status())["counters"]["events"] >= target and s,
        )
        lag_after = _lag(after)
        assert other.command("kill", "while stalled").trading_state == "HALTED"
        assert other.command("resume", "while stalled").trading_state == "ACTIVE"
        newest = other.snapshot().version
        # reading again: at most what the window held, then the newest snapshot (no queue)
        for count, message in enumerate(stream, 1):
            if message.version >= newest:
                break
            assert count <= 3, "the stream replays a queue of old snapshots"
        assert message.version > start.version
        print(
            f"event lag before {lag_before:.3f} s, while a stream is not read {lag_after:.3f} s; "
            f"{count - 1} older snapshot(s) before the newest"
        )


def test_bad_requests_get_clear_errors(robot: Robot) -> None:
    with robot.client() as client:
        with pytest.raises(ControlError) as err:
            client.command("kill", "x" * 300)
        assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT
        assert "at most 200" in str(err.value)
        with pytest.raises(ControlError) as err:
            client.command("kill", "x" * 200_000)
        assert err.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
        with pytest.raises(ControlError) as err:
            client.command("pause_strategy", "", target="no-such-strategy")
        assert err.value.code is grpc.StatusCode.NOT_FOUND
        with pytest.raises(ControlError) as err:
            client.command("cancel_order")
        assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT
        raw = client.channel.unary_unary("/avin.control.v1.Control/Command")
        # the reason (field 2) not UTF-8; a length running past the end
        for garbage in (b"\x12\x03\xff\xfe\xfd", b"\x12\x05ab"):
            with pytest.raises(grpc.RpcError) as rpc:
                raw(garbage, timeout=5)
            assert rpc.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert "not a valid CommandRequest" in rpc.value.details()
        with pytest.raises(grpc.RpcError) as rpc:
            raw(pb.CommandRequest(kind=99).SerializeToString(), timeout=5)
        assert rpc.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert client.status()["trading_state"] == "ACTIVE"  # nothing acted on


def test_strategy_commands(robot: Robot) -> None:
    with robot.client() as client:
        row = client.status()["strategies"][0]["id"]
        assert client.command("pause_strategy", target=row).strategy_state == "paused"
        assert client.command("resume_strategy", target=row).strategy_state == "running"


def test_flatten_then_resume(robot: Robot) -> None:
    with robot.client() as client:
        wait_for(
            "a position (sma_cross)",
            lambda: any(p["lots"] != 0 for p in client.status()["positions"]),
        )
        reply = client.command("flatten", "end of day")
        try:
            assert reply.trading_state == "REDUCING" and "end of day" in reply.halt_reason
            wait_for(
                "every position closed",
                lambda: all(p["lots"] == 0 for p in client.status()["positions"]),
            )
        finally:
            assert client.command("resume", "next day").trading_state == "ACTIVE"


def test_cancel_order(robot: Robot) -> None:
    with robot.client() as client:
        orders = wait_for("a resting order", lambda: client.status()["open_orders"])
        key = orders[0]["key"]
        assert client.command("cancel_order", "by hand", target=key).trading_state == "ACTIVE"
        wait_for(
            "the cancel",
            lambda: any(
                o["key"] == key and o["status"] == "cancelled" for o in client.status()["orders"]
            ),
        )


def test_what_attach_reads_from_a_real_robot(robot: Robot) -> None:
    with robot.client() as client:
        snap = EngineSnapshot.from_json(status_of(client.snapshot()))
        assert snap.pid == robot.proc.pid and "MOEX_SHARE_SBER" in snap.instruments
        bars = client.chart("SBER", "1M", 5).bars
        assert 1 <= len(bars) <= 5 and all(b.low <= b.close <= b.high for b in bars)
        assert [b.ts_us for b in bars] == sorted(b.ts_us for b in bars)
        batch = client.log(limit=10)
        assert 1 <= len(batch.records) <= 10 and batch.last_seq >= batch.records[-1].seq
        info = client.session()
        tickers = {i["ticker"] for i in json.loads(info.instruments_json)}
        assert {"SBER", "GAZP", "LKOH"} <= tickers and info.recovery_over
        client.save_workspace({"attach": 1})
        assert client.workspace()["attach"] == 1
        check = client.check_strategy({"name": "sma_cross", "instrument": "NOSUCH"})
        assert check.errors, "an unknown instrument is refused"
        client.watch_book("SBER", 10)
        book = wait_for(
            "the order book of SBER",
            lambda: client.order_book("SBER").present and client.order_book("SBER"),
        )
        assert book.bids and book.asks and book.instrument == "MOEX_SHARE_SBER"
        assert wait_for("trades on the tape", lambda: client.tape("SBER", 5).trades)
        client.watch_book("SBER", 0)
        assert client.backtests() == []  # none saved in this home
        stream = client.watch_status(min_interval=0.02)  # diffs after the first
        versions = [EngineSnapshot.from_json(next(stream)).version for _ in range(5)]
        assert versions == sorted(set(versions)), versions
        stream.close()


def test_the_tcp_endpoint_of_a_real_robot(robot: Robot) -> None:
    found = re.search(r"control: serving on 127\.0\.0\.1:(\d+) \(loopback", robot.output())
    assert found, "[control] listen is served"
    endpoint = f"127.0.0.1:{found.group(1)}"
    token_file = robot.home / "state" / "control.token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    with ControlClient(endpoint=endpoint, token=token) as client:
        assert client.status()["pid"] == robot.proc.pid  # type: ignore[union-attr]
    with ControlClient(endpoint=endpoint, token="not-" + token) as client:
        with pytest.raises(ControlError) as err:
            client.command("kill", "a stranger")
        assert err.value.code is grpc.StatusCode.UNAUTHENTICATED
    done = robot.avin("status", "--json", "--endpoint", endpoint)  # the home's token file
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["trading_state"] == "ACTIVE"
    assert token not in robot.output()


@pytest.mark.slow
def test_a_stale_socket_after_sigkill_is_replaced() -> None:
    robot = Robot(Path(tempfile.mkdtemp(prefix="avin-ctl-")))
    try:
        _stale_socket(robot)
    finally:
        if robot.proc is not None and robot.proc.poll() is None:
            robot.stop(signal.SIGKILL)


def _stale_socket(robot: Robot) -> None:
    robot.start()
    first = robot.proc.pid  # type: ignore[union-attr]
    with StatusStore(robot.home / "state") as store:  # a status saved: the store path has one
        wait_for("a saved status", lambda: (store.load_snapshot() or {}).get("pid") == first)
    assert robot.stop(signal.SIGKILL) == -signal.SIGKILL
    assert robot.socket.exists() and not is_live(robot.socket)  # left behind, nobody serves it
    done = robot.avin("status", "--json")  # the store path, as without a robot
    status = json.loads(done.stdout)
    assert "source" not in status and status["running"] is False and status.get("crashed")
    robot.start()
    assert "replaced the stale socket" in robot.output()
    with robot.client() as client:
        assert client.status()["pid"] == robot.proc.pid != first  # type: ignore[union-attr]
    assert robot.stop() == 0
    assert not robot.socket.exists()
