"""Control API: the engine's event-loop lag while clients of its control API stop reading.

    .venv/bin/python bench/control_stall.py [--seconds 15] [--clients 4] [--speed 600] [--smoke]

A real engine (the simulated market, three strategy rows, log level debug: a busy log) runs in
this process as the terminal app runs it: its own event loop in a thread, the control server
around it. A probe coroutine on the engine's loop sleeps 5 ms again and again and records how
late it wakes: the loop's lag. Three phases of ``--seconds`` each, in the same run:

- baseline: no client;
- stalled: ``--clients`` client processes each open a snapshot stream (every 20 ms) and a log
  stream, read one message of each and then stop reading (blocked on stdin) for the whole phase;
- reading: the same number of clients read both streams as fast as they can.

Printed per phase: the loop lag p50/p99/max, the ratio of the p99 to the baseline's, the
messages the streams sent during the phase, and a status call's time through another client.
A stalled client must leave the lag where the baseline has it (the issue's bound: under 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONFIG = """
[log]
level = "debug"

[[strategies]]
name = "sma_cross"
instrument = "SBER"
account = "sim-1"
timeframe = "1M"

[[strategies]]
name = "sma_cross"
instrument = "GAZP"
account = "sim-1"
timeframe = "1M"

[[strategies]]
name = "sma_cross"
instrument = "LKOH"
account = "sim-1"
timeframe = "1M"
"""
# One client process: both streams; "stall" reads one message of each and then nothing.
CLIENT = """
import sys, threading
from pathlib import Path
from engine.control.client import ControlClient
client = ControlClient(Path(sys.argv[1]))
snaps, logs = client.watch(min_interval=0.02), client.watch_log(limit=5000)
next(snaps); next(logs)
print("ready", flush=True)
if sys.argv[2] == "stall":
    sys.stdin.read()
else:
    threading.Thread(target=lambda: [None for _ in logs], daemon=True).start()
    for _ in snaps:
        pass
"""
PROBE_SLEEP = 0.005
WAIT = 60.0


def stats(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99, ordered[-1]


class Probe:
    """Wakes on the engine's loop every PROBE_SLEEP and records how late."""

    def __init__(self) -> None:
        self.lags: list[float] = []

    async def run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(PROBE_SLEEP)
            self.lags.append(time.perf_counter() - t0 - PROBE_SLEEP)

    def take(self) -> list[float]:
        lags, self.lags = self.lags, []
        return lags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=4, help="client processes per phase")
    parser.add_argument("--speed", type=float, default=600.0, help="simulated s per second")
    parser.add_argument("--smoke", action="store_true", help="short phases (make bench-smoke)")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.clients = 2.0, 1
    home = Path(tempfile.mkdtemp(prefix="avin-stall-"))
    (home / "config").mkdir()
    (home / "config" / "avin.toml").write_text(textwrap.dedent(CONFIG))
    os.environ["AVIN_HOME"] = str(home)
    try:
        return run(args, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run(args: argparse.Namespace, home: Path) -> int:
    from engine.config import load_settings
    from engine.control.client import ControlClient
    from engine.control.server import engine_status, serve_control
    from engine.paths import homes
    from engine.runtime.launch import build_engine
    from engine.runtime.logbook import setup_logging

    settings = load_settings(token_needed=False)
    logbook = setup_logging(homes().ensure().logs, settings.log.level)
    engine = build_engine(settings, speed=args.speed, seed=3, logbook=logbook)
    probe = Probe()
    served: dict[str, Any] = {}
    up = threading.Event()

    def target() -> None:
        with serve_control(engine, status=engine_status(engine)) as server:
            served["server"] = server
            up.set()
            asyncio.run(engine.run())

    thread = threading.Thread(target=target, name="avin-engine", daemon=True)
    thread.start()
    assert up.wait(WAIT) and served["server"] is not None, "the control server did not start"
    server = served["server"]
    deadline = time.monotonic() + WAIT
    while not engine.started:
        assert time.monotonic() < deadline, "the engine did not start"
        time.sleep(0.05)
    engine.tasks.in_loop(lambda: engine.tasks.spawn(probe.run(), "lag-probe"))
    status = ControlClient(server.path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    print(
        f"control stall bench: {args.clients} client(s), {args.seconds:g} s per phase, "
        f"--speed {args.speed:g}, log level debug"
    )
    baseline = None
    try:
        for phase in ("baseline", "stalled", "reading"):
            clients = []
            if phase != "baseline":
                for _ in range(args.clients):
                    proc = subprocess.Popen(
                        [sys.executable, "-c", CLIENT, str(server.path), phase[:5]],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        env=env,
                    )
                    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
                    clients.append(proc)
            service = server.service
            sent0, batches0, events0 = service.sent, service.log_batches, engine.counters["events"]
            probe.take()
            answers = []
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                t0 = time.perf_counter()
                status.status()
                answers.append(time.perf_counter() - t0)
                time.sleep(0.1)
            lags = probe.take()
            p50, p99, worst = stats(lags)
            baseline = baseline or p99
            print(
                f"{phase:9} loop lag p50 {p50 * 1e3:6.2f}  p99 {p99 * 1e3:6.2f}  max "
                f"{worst * 1e3:7.2f} ms (p99 {p99 / baseline:4.1f}x baseline)  streams sent "
                f"{service.sent - sent0} snapshots, {service.log_batches - batches0} log batches; "
                f"{engine.counters['events'] - events0} events; status p50 "
                f"{statistics.median(answers) * 1e3:.1f} ms"
            )
            for proc in clients:
                proc.kill()
                proc.wait(WAIT)
    finally:
        status.close()
        engine.request_stop()
        thread.join(WAIT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
