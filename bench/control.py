"""Control API: `avin status` and `avin kill` answered by a running robot over its socket, against
the status-store path, in the same run.

    .venv/bin/python bench/control.py [--status 200] [--kills 10] [--speed 600] [--smoke]

A real ``avin run --headless`` robot (a subprocess, a temporary AVIN_HOME) trades the simulated
market; two strategy rows each keep one resting limit order open (placed again on the next bar
after a kill and resume), a third trades. Measured in this process, with the calls the commands
make (the command-line process's own start, about a second of Python imports, is left out):

- status via API: ``ControlClient.status()`` (the live snapshot as JSON), one client;
- status via store: the status store opened and read, as ``avin status`` does without a robot;
- kill via API: the ``Command(KILL)`` answer (HALTED), then HALTED *with cancels*: the first
  snapshot that shows no open order;
- kill via store: the command left in the store, then polled as ``avin kill`` does until the
  saved snapshot says HALTED (the engine reads the store about once a second).

Each kill is followed by a resume and a wait until both resting orders are open again. Printed:
p50/p99/max in ms per path and the store/API ratio of the medians. ``--smoke``: a few calls.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROBE = """
from engine.strategy.base import Strategy


class Resting(Strategy):
    name = "bench_resting"

    def on_bar(self, ctx, timeframe, bar):
        if not ctx.orders:
            ctx.buy(1, price=bar.close * 0.8)
"""
CONFIG = """
[[strategies]]
name = "bench_probe:Resting"
instrument = "SBER"
account = "sim-1"
timeframe = "1M"

[[strategies]]
name = "bench_probe:Resting"
instrument = "GAZP"
account = "sim-1"
timeframe = "1M"

[[strategies]]
name = "sma_cross"
instrument = "LKOH"
account = "sim-1"
timeframe = "1M"
"""
WAIT = 60.0


def wait_for(
    what: str, check: Callable[[], Any], timeout: float = WAIT, step: float = 0.002
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise SystemExit(f"bench/control.py: waited {timeout:g} s for {what}")


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:8.2f}  p99 {p99 * 1000:8.2f}  "
        f"max {ordered[-1] * 1000:8.2f} ms  (n={len(ordered)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--status", type=int, default=200, help="status calls per path")
    parser.add_argument("--kills", type=int, default=10, help="kills per path")
    parser.add_argument("--speed", default="600", help="simulated seconds per second")
    parser.add_argument("--smoke", action="store_true", help="a few calls (make bench-smoke)")
    args = parser.parse_args()
    if args.smoke:
        args.status, args.kills = 5, 1
    home = Path(tempfile.mkdtemp(prefix="avin-bench-ctl-"))
    (home / "config").mkdir()
    (home / "config" / "avin.toml").write_text(textwrap.dedent(CONFIG))
    (home / "probe").mkdir()
    (home / "probe" / "bench_probe.py").write_text(PROBE)
    os.environ["AVIN_HOME"] = str(home)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(home / "probe")
    avin = Path(sys.executable).with_name("avin")
    log = (home / "robot.log").open("wb")
    robot = subprocess.Popen(
        [str(avin), "run", "--headless", "--speed", args.speed, "--seed", "3"],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        return measure(args, home, robot)
    finally:
        robot.send_signal(signal.SIGTERM)
        robot.wait(timeout=WAIT)
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def measure(args: argparse.Namespace, home: Path, robot: subprocess.Popen[bytes]) -> int:
    from engine.control.client import connect
    from engine.control.endpoint import is_live
    from engine.state.status_store import StatusStore

    sock = home / "state" / "control.sock"
    wait_for("the control socket", lambda: robot.poll() is None and is_live(sock), step=0.05)
    client = connect(sock)
    assert client is not None

    def open_orders() -> int:
        return len(client.status()["open_orders"])

    wait_for("two resting orders", lambda: open_orders() == 2, step=0.05)
    api_status, store_status = [], []
    for _ in range(args.status):
        t0 = time.perf_counter()
        client.status()
        api_status.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with StatusStore(home / "state") as store:
            store.status()
        store_status.append(time.perf_counter() - t0)

    api_kill, api_cancelled, store_kill = [], [], []
    for _ in range(args.kills):
        wait_for("two resting orders", lambda: open_orders() == 2)
        t0 = time.perf_counter()
        reply = client.command("kill", "bench")
        api_kill.append(time.perf_counter() - t0)
        assert reply.trading_state == "HALTED", reply
        wait_for("the cancels", lambda: open_orders() == 0)
        api_cancelled.append(time.perf_counter() - t0)
        client.command("resume", "bench")
    for _ in range(args.kills):
        wait_for("two resting orders", lambda: open_orders() == 2)
        with StatusStore(home / "state") as store:
            wait_for(  # the resume saved: a HALTED left from the last kill confirms nothing
                "ACTIVE in the saved status",
                lambda s=store: (s.load_snapshot() or {}).get("trading_state") == "ACTIVE",
            )
            t0 = time.perf_counter()
            store.save_trading_state(*_halted())
            store.request_command("kill", "bench (store)")
            wait_for(
                "HALTED in the saved status",
                lambda s=store: (s.load_snapshot() or {}).get("trading_state") == "HALTED",
                step=0.1,  # as avin kill polls
            )
            store_kill.append(time.perf_counter() - t0)
        client.command("resume", "bench")
    client.close()
    print(f"control API bench: robot pid {robot.pid}, --speed {args.speed}")
    print(f"status via API    {stats(api_status)}")
    print(f"status via store  {stats(store_status)}")
    print(f"kill via API      {stats(api_kill)}   (the HALTED answer)")
    print(f"kill+cancels API  {stats(api_cancelled)}   (no open order in the snapshot)")
    print(f"kill via store    {stats(store_kill)}   (HALTED in the saved status)")
    print(
        f"ratio store/API (medians): status "
        f"{statistics.median(store_status) / statistics.median(api_status):.1f}x, kill "
        f"{statistics.median(store_kill) / statistics.median(api_kill):.1f}x"
    )
    return 0


def _halted() -> tuple[Any, str]:
    from engine.model.snapshot import TradingState

    return TradingState.HALTED, "bench (store)"


if __name__ == "__main__":
    sys.exit(main())
