"""Headless ``avin run`` in the sandbox (a token, no ``live``) against the fake server's sandbox
profile, which has no stop-order service (UNIMPLEMENTED, as the real sandbox): a strategy that
protects every entry with a stop-loss and a take-profit starts ACTIVE, its stops trigger from
prices, and a SIGKILL while stops wait loses none of them: the restart is ACTIVE, the stops are
open again under their keys and go on to trigger or be cancelled, and the robot's positions end
equal to the server's. StopOrdersService is never called."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
from tests.state.test_chaos import ServerThread
from tests.tinvest.helpers import START

AVIN = Path(sys.executable).with_name("avin")
CONFIG = """
[[strategies]]
name = "zigzag_breakout"
instrument = "{ticker}"
timeframe = "1M"
params = {{ lots = 1, term = 1, stop_p = 0.3, rr = 1.5 }}
"""
STOP_RPCS = {"PostStopOrder", "GetStopOrders", "CancelStopOrder"}


@pytest.fixture
def sandbox_server() -> Iterator[ServerThread]:
    box = ServerThread()
    box.server = FakeTInvestServer(
        exchange=FakeExchange(start=START, speed=300.0), profile="sandbox"
    )
    try:
        box.start()
        yield box
    finally:
        box.stop()


def _env(home: Path, server: FakeTInvestServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVIN_")}
    env.update(
        AVIN_HOME=str(home),
        AVIN_TOKEN=server.token,
        AVIN_TINVEST_TARGET=server.target,
        AVIN_ACCEPT_RISK="true",
    )
    return env


def _status(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [str(AVIN), "status", "--json"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout))


def _local_stops(status: dict[str, Any]) -> set[str]:
    return {o["key"] for o in status.get("open_orders", []) if o["type"].endswith("(local)")}


def _wait(what: str, done: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = done()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_sandbox_stops_survive_sigkill(tmp_path: Path, sandbox_server: ServerThread) -> None:
    assert AVIN.exists(), "run `.venv/bin/pip install -e .` first"
    server = sandbox_server.server
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "avin.toml").write_text(
        CONFIG.format(ticker="SBER") + CONFIG.format(ticker="GAZP")
    )
    env = _env(tmp_path, server)
    log = tmp_path / "logs" / "avin.log"
    run = [str(AVIN), "run", "--headless"]
    proc = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait("the start", lambda: log.exists() and "engine started" in log.read_text(), 30)
        assert _status(env)["trading_state"] == "ACTIVE"
        starts = 1
        killed_with: set[str] = set()
        for _ in range(3):  # a kill that found no stop waiting proves nothing: kill again
            waiting = _wait("a local stop waiting", lambda: _local_stops(_status(env)), 60)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            before = log.read_text()
            offset = len(before)
            # a stop seen waiting may still have finished before the kill landed (the status
            # was read a moment earlier, by another process): the robot logged it and rightly
            # does not restore it
            killed_with = {
                k
                for k in waiting
                if f"order {k[:8]} filled" not in before
                and f"order {k[:8]} cancelled" not in before
            }
            proc = subprocess.Popen(
                run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            starts += 1
            _wait("the restart", lambda n=starts: log.read_text().count("engine started") == n, 30)
            if killed_with:
                break
        assert killed_with, f"every stop seen waiting finished before the kill: {waiting}"
        text = log.read_text()
        assert "did not shut down cleanly" in text and "HALTED" not in text, text[-3000:]
        status = _status(env)
        assert status["trading_state"] == "ACTIVE"
        assert status["recovery"]["halted"] is False and not status["recovery"]["problems"]
        # every stop that waited at the kill is open again, or finished in the new run
        since = log.read_text()[offset:]
        finished = {k for k in killed_with if f"order {k[:8]} filled" in since}
        finished |= {k for k in killed_with if f"order {k[:8]} cancelled" in since}
        assert killed_with - finished <= _local_stops(status), (killed_with, status["open_orders"])
        # ... and triggers from prices in the new run. (Only one leg of a bracket: the pairing
        # of a bracket's legs lives in the strategy's memory and does not survive a SIGKILL, so
        # the other leg stays open; see the report of issue 14.)
        _wait(
            "a stop that waited at the kill to trigger",
            lambda: any(
                f"local stop {k[:8]} reached at" in log.read_text()[offset:] for k in killed_with
            ),
            90,
        )
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    assert not STOP_RPCS & set(server.calls)
    status = _status(env)
    assert status["trading_state"] == "ACTIVE"

    async def server_positions() -> dict[str, int]:
        [account] = server.exchange.accounts.values()
        out = {}
        for inst in server.exchange.instruments:
            pieces = account.positions.get(inst.uid, 0)
            if pieces:
                out[inst.code] = pieces // inst.lot
        return out

    theirs = sandbox_server.call(server_positions())
    ours = {p["instrument"]: p["lots"] for p in status["positions"] if p["lots"]}
    assert ours == theirs
