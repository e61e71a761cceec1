"""Kill switch: key press -> HALTED with every cancel request issued, under a ~2,000 events/s feed.

The real Engine runs on SimBroker (its own thread, as in ``avin run``) and the TUI runs, polls and
repaints at 160x48. Each trial places ``--orders`` resting limit orders, waits until the broker
accepted them, presses the kill key at a random moment and stops the clock when the engine is
HALTED *and* the broker has received a cancel request for every one of those orders. Then it
resumes trading and repeats. Two paths are measured:

- terminal (PRIMARY, the number for the goal): avin runs in a real terminal, a detached tmux
  session, and the key is typed into it with tmux ``send-keys`` (through a control-mode client, so
  no process is started per press). The key's bytes go through the pty to Textual's terminal
  driver, whose input thread parses them, as when a user presses the key. The press time is taken
  in this process just before the key is sent; both processes read CLOCK_MONOTONIC.
- pilot (secondary): the app runs headless in this process and ``pilot.press("ctrl+k")`` posts
  the key event as a task on the UI's event loop, so it starts only after whatever UI work is
  already due (a frame, a poll). There is no terminal and no input thread; this is how tests
  drive the app, not how a key reaches it.
- attach (issue #17): the engine runs here as a robot serving its control socket (as
  ``avin run --headless`` does), and ``avin attach --endpoint SOCKET`` runs in a tmux session; the
  key is typed into that terminal, goes through its driver to the attached app, which sends the
  kill over the socket. The clock is the same as the terminal path's.
- attach-pilot (secondary): the attached app headless in this process, ``pilot.press``.

    .venv/bin/python bench/killswitch.py [--trials 100] [--speed 3000] [--orders 5]
                                         [--path all|both|terminal|pilot|attach|attach-pilot]

``both`` is the in-process pair (terminal and pilot); ``all`` (the default) adds the attach pair.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZE = (160, 48)
POLL = 0.25  # the app's snapshot poll (4 Hz, the default refresh rate)
TRIAL_TIMEOUT = 10.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class BenchEngine:
    """The engine for these trials, with its kill and its broker's cancels timed."""

    def __init__(self, speed: float, seed: int, n_orders: int) -> None:
        from engine.config import RiskSettings, Settings
        from engine.runtime.launch import build_engine
        from engine.runtime.logbook import LogBook

        book = LogBook()
        logger = logging.getLogger("avin")
        logger.addHandler(book)
        logger.setLevel(logging.INFO)
        risk = RiskSettings(
            orders_per_minute_account=1_000_000, orders_per_minute_strategy=1_000_000
        )
        self.engine = build_engine(
            Settings(risk=risk), speed=speed, seed=seed, logbook=book, persist=False
        )
        self.n_orders = n_orders
        self.cancelled: dict[str, float] = {}
        self.halted_at: list[float] = []
        self._expected: set[str] = set()
        self._done = threading.Event()
        broker: Any = self.engine.broker
        real_cancel = broker.cancel_order
        real_kill = self.engine.kill

        async def timed_cancel(account: str, order_id: str) -> Any:
            self.cancelled.setdefault(order_id, time.monotonic())
            self._check_done()
            return await real_cancel(account, order_id)

        def timed_kill(reason: str = "manual") -> None:
            real_kill(reason)
            self.halted_at.append(time.monotonic())
            self._check_done()

        broker.cancel_order = timed_cancel
        real_cancel_now = getattr(broker, "cancel_now", None)
        if real_cancel_now is not None:  # the simulated market cancels synchronously too

            def timed_cancel_now(account: str, order_id: str) -> Any:
                self.cancelled.setdefault(order_id, time.monotonic())
                self._check_done()
                return real_cancel_now(account, order_id)

            broker.cancel_now = timed_cancel_now
        self.engine.kill = timed_kill  # type: ignore[method-assign]

    def _check_done(self) -> None:
        if self.halted_at and self._expected and self._expected.issubset(self.cancelled):
            self._done.set()

    @property
    def ready(self) -> bool:
        return bool(self.engine.started and self.engine.tasks.loop is not None)

    def place(self) -> list[Any]:
        """Resting buy limits 10% under the market (run on the engine's loop)."""
        from engine.model import Order, OrderType, Side, TimeFrame

        orders = []
        for _ in range(self.n_orders):
            bars = self.engine.chart("MOEX_SHARE_SBER", TimeFrame.M1, 1)
            last = Decimal(str(bars[-1].close)) if bars else Decimal(300)
            price = (last * Decimal("0.9")).quantize(Decimal("0.01"))
            order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 1, "sim-1", price=price)
            orders.append(self.engine.submit(order))
        return orders

    def arm(self, orders: list[Any]) -> None:
        """The next press is timed: forget the last kill, expect these orders' cancels."""
        self.halted_at.clear()
        self._done.clear()
        self._expected = {o.id for o in orders}

    def wait_done(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def finished_at(self) -> float:
        return max(self.halted_at[0], *(self.cancelled[k] for k in self._expected))

    def check_halted(self) -> None:
        from engine.model.snapshot import TradingState

        assert self.engine.trading_state is TradingState.HALTED


async def _call(fn: Any) -> Any:
    return fn()


PLACE_ATTEMPTS = 20


def _state(engine: Any, orders: list[Any]) -> str:
    """ "accepted" (all of them), "refused" (one was: the rest are cancelled) or "pending".

    The engine's own checks may refuse a bench order (e.g. it would cross a strategy's resting
    order: self-trade); the trial then places new ones.
    """
    if any(not o.is_open for o in orders):
        for o in orders:
            if o.is_open:
                engine.cancel_order(o.id)
        return "refused"
    return "accepted" if all(o.status.value == "accepted" for o in orders) else "pending"


# --- a robot in this process: the engine serving its control socket ------------------------------


class Robot:
    """The bench engine run as ``avin run --headless`` runs it: its loop in a thread, the control
    API served on a unix socket of its own."""

    def __init__(self, bench: BenchEngine) -> None:
        self.bench = bench
        self.dir = Path(tempfile.mkdtemp(prefix="avin-ksa-"))  # short: a socket path <= 107 B
        self.socket = self.dir / "control.sock"
        self.server: Any = None
        self.serving = threading.Event()
        self.thread = threading.Thread(target=self._run, name="bench-robot", daemon=True)

    def _run(self) -> None:
        from engine.control.server import serve_control

        with serve_control(self.bench.engine, self.socket) as server:
            self.server = server
            self.serving.set()
            asyncio.run(self.bench.engine.run())

    def start(self) -> None:
        self.thread.start()
        if not self.serving.wait(30) or self.server is None:
            raise SystemExit("the robot did not serve its control socket")
        deadline = time.monotonic() + 30
        while not self.bench.ready:
            if time.monotonic() > deadline:
                raise SystemExit("the engine did not start")
            time.sleep(0.05)

    def watchers(self) -> int:
        return int(self.server.service.watchers) if self.server is not None else 0

    def stop(self) -> None:
        self.bench.engine.request_stop()
        self.thread.join(30)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- pilot: headless, in this process -----------------------------------------------------------


async def run_pilot(
    trials: int, speed: float, n_orders: int, seed: int, attach: bool = False
) -> tuple[list[float], float]:
    """The app headless here, with the engine of its own, or (``attach``) attached to the robot
    this process runs, through the control socket."""
    from avin_tui.app import AvinApp

    bench = BenchEngine(speed, seed, n_orders)
    engine = bench.engine
    robot: Robot | None = None
    if attach:
        from avin_tui.remote_engine import RemoteEngine

        robot = Robot(bench)
        robot.start()
        remote = RemoteEngine(robot.socket, interval=POLL).start()
        if not remote.wait_connected(30):
            raise SystemExit(f"the attached app did not connect: {remote.problem}")
        app = AvinApp(remote, poll_interval=POLL, persist_layout=False, run_engine=False)
    else:
        app = AvinApp(engine, poll_interval=POLL, persist_layout=False)
    try:
        return await _pilot_trials(app, bench, trials, seed)
    finally:
        if robot is not None:
            robot.stop()


async def _pilot_trials(
    app: Any, bench: BenchEngine, trials: int, seed: int
) -> tuple[list[float], float]:
    engine = bench.engine
    rnd = random.Random(seed)
    latencies: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 30
        while not bench.ready:
            if time.monotonic() > deadline:
                raise SystemExit("the engine did not start")
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        loop = engine.tasks.loop
        assert loop is not None
        events0, t0 = engine.counters["events"], time.monotonic()
        for trial in range(trials):
            for _attempt in range(PLACE_ATTEMPTS):
                fut = asyncio.run_coroutine_threadsafe(_call(bench.place), loop)
                orders = await asyncio.wrap_future(fut)
                while (state := _state(engine, orders)) == "pending":
                    await asyncio.sleep(0.002)
                if state == "accepted":
                    break
                await asyncio.sleep(0.2)
            else:
                raise SystemExit(f"trial {trial}: orders refused {PLACE_ATTEMPTS} times")
            await asyncio.sleep(rnd.uniform(0.01, 0.1))
            bench.arm(orders)
            pressed = time.monotonic()
            await pilot.press("ctrl+k")
            done = await asyncio.to_thread(bench.wait_done, TRIAL_TIMEOUT)
            if not done:
                raise SystemExit(f"trial {trial}: no halt with every cancel within 10 s")
            bench.check_halted()
            latencies.append(bench.finished_at() - pressed)
            await pilot.pause(0.03)
            engine.resume_trading("bench: re-arm")
        rate = (engine.counters["events"] - events0) / (time.monotonic() - t0)
        await pilot.press("q")
        if app.screen.__class__.__name__ == "ConfirmQuitScreen":
            await pilot.press("y")
        elif app.screen.__class__.__name__ == "DetachOrStopScreen":
            await pilot.press("d")
    return latencies, rate


# --- terminal: avin in a tmux session, the key typed into it -------------------------------------


def _send(conn: socket.socket, **message: Any) -> None:
    conn.sendall((json.dumps(message) + "\n").encode())


def _lines(conn: socket.socket) -> Any:
    buffer = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)


def serve_terminal(address: str, trials: int, speed: float, n_orders: int, seed: int) -> int:
    """The avin side (runs inside tmux): the app on the real terminal driver, trials on a thread."""
    from avin_tui.app import AvinApp

    bench = BenchEngine(speed, seed, n_orders)
    engine = bench.engine
    app = AvinApp(engine, poll_interval=POLL, persist_layout=False)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(address)

    def drive() -> None:
        try:
            replies = _lines(conn)
            deadline = time.monotonic() + 30
            while not bench.ready:
                if time.monotonic() > deadline:
                    raise SystemExit("the engine did not start")
                time.sleep(0.05)
            time.sleep(1.0)
            loop = engine.tasks.loop
            assert loop is not None
            events0, t0 = engine.counters["events"], time.monotonic()
            for trial in range(trials):
                for _attempt in range(PLACE_ATTEMPTS):
                    place = asyncio.run_coroutine_threadsafe(_call(bench.place), loop)
                    orders = place.result(10)
                    while (state := _state(engine, orders)) == "pending":
                        time.sleep(0.002)
                    if state == "accepted":
                        break
                    time.sleep(0.2)
                else:
                    raise SystemExit(f"trial {trial}: orders refused {PLACE_ATTEMPTS} times")
                bench.arm(orders)
                _send(conn, ready=trial)
                next(replies)  # the key was sent
                if not bench.wait_done(TRIAL_TIMEOUT):
                    raise SystemExit(f"trial {trial}: no halt with every cancel within 10 s")
                bench.check_halted()
                _send(conn, done=trial, at=bench.finished_at())
                time.sleep(0.03)
                engine.resume_trading("bench: re-arm")
            rate = (engine.counters["events"] - events0) / (time.monotonic() - t0)
            _send(conn, rate=rate)
        except BaseException as exc:
            _send(conn, error=f"{type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(Exception):  # the app is not running (any more)
                app.call_from_thread(app.exit, 0)

    threading.Thread(target=drive, name="bench-trials", daemon=True).start()
    app.run()
    return 0


class Tmux:
    """A private tmux server (its own socket) with one detached session."""

    def __init__(self, name: str) -> None:
        tmux = shutil.which("tmux")
        if tmux is None:
            raise RuntimeError("tmux is not installed")
        self.base = [tmux, "-L", name]
        self.session = "ks"
        self.client: subprocess.Popen[bytes] | None = None
        self.socket: Path | None = None

    def run(self, *args: str) -> str:
        out = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def start(self, command: str, env: dict[str, str]) -> None:
        width, height = SIZE
        extra = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        size = ["-x", str(width), "-y", str(height)]
        self.run("-f", "/dev/null", "new-session", "-d", "-s", self.session, *size, *extra, command)
        self.socket = Path(self.run("display-message", "-p", "#{socket_path}").strip())
        self.run("set-option", "-s", "escape-time", "10")
        self.run("set-option", "-t", self.session, "remain-on-exit", "on")
        # a control-mode client: each press is one line written to it, no process per key
        self.client = subprocess.Popen(
            [*self.base, "-C", "attach-session", "-t", self.session, "-f", "no-output,ignore-size"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def press(self, key: str) -> float:
        """Type ``key`` into the session; returns the monotonic time just before it was sent."""
        assert self.client is not None and self.client.stdin is not None
        pressed = time.monotonic()
        self.client.stdin.write(f"send-keys -t {self.session} {key}\n".encode())
        self.client.stdin.flush()
        return pressed

    def screen(self) -> str:
        try:
            return self.run("capture-pane", "-p", "-t", self.session)
        except Exception as exc:
            return f"(no screen: {exc})"

    def close(self) -> None:
        if self.client is not None:
            if self.client.stdin is not None:
                self.client.stdin.close()
            try:
                self.client.wait(5)
            except subprocess.TimeoutExpired:
                self.client.kill()
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=10)
        if self.socket is not None:
            self.socket.unlink(missing_ok=True)


def run_terminal(trials: int, speed: float, n_orders: int, seed: int) -> tuple[list[float], float]:
    rnd = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="avin-ks-"))
    address = str(workdir / "bench.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(1)
    listener.settimeout(60)
    tmux = Tmux(f"avin-ks-{os.getpid()}")
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", address]
    argv += ["--trials", str(trials), "--speed", str(speed), "--orders", str(n_orders)]
    argv += ["--seed", str(seed)]
    command = " ".join(shlex.quote(part) for part in argv)
    env = {"AVIN_HOME": os.environ["AVIN_HOME"]}
    latencies: list[float] = []
    rate = float("nan")
    try:
        tmux.start(command, env)
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            raise SystemExit(f"avin did not start in tmux:\n{tmux.screen()}") from None
        conn.settimeout(TRIAL_TIMEOUT + 30)
        pressed: dict[int, float] = {}
        for message in _lines(conn):
            if "ready" in message:
                time.sleep(rnd.uniform(0.01, 0.1))  # a random moment of the UI's cycle
                pressed[message["ready"]] = tmux.press("C-k")
                _send(conn, pressed=message["ready"])
            elif "done" in message:
                latencies.append(message["at"] - pressed[message["done"]])
            elif "rate" in message:
                rate = message["rate"]
            elif "error" in message:
                raise SystemExit(f"the avin side failed: {message['error']}\n{tmux.screen()}")
        if len(latencies) < trials:
            raise SystemExit(f"avin ended after {len(latencies)} trials\n{tmux.screen()}")
    finally:
        tmux.close()
        listener.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return latencies, rate


# --- attach: the robot here, `avin attach` in tmux, the key typed into it -----------------------


def run_attach(trials: int, speed: float, n_orders: int, seed: int) -> tuple[list[float], float]:
    rnd = random.Random(seed)
    bench = BenchEngine(speed, seed, n_orders)
    engine = bench.engine
    robot = Robot(bench)
    robot.start()
    tmux = Tmux(f"avin-ksa-{os.getpid()}")
    avin = Path(sys.executable).with_name("avin")
    command = " ".join(
        shlex.quote(p) for p in (str(avin), "attach", "--endpoint", str(robot.socket))
    )
    latencies: list[float] = []
    try:
        tmux.start(command, {"AVIN_HOME": os.environ["AVIN_HOME"]})
        deadline = time.monotonic() + 60
        while robot.watchers() < 1 or "Strategies" not in tmux.screen():
            if time.monotonic() > deadline:
                raise SystemExit(f"avin attach did not show the robot:\n{tmux.screen()}")
            time.sleep(0.1)
        time.sleep(1.0)
        loop = engine.tasks.loop
        assert loop is not None
        events0, t0 = engine.counters["events"], time.monotonic()
        for trial in range(trials):
            for _attempt in range(PLACE_ATTEMPTS):
                orders = asyncio.run_coroutine_threadsafe(_call(bench.place), loop).result(10)
                while (state := _state(engine, orders)) == "pending":
                    time.sleep(0.002)
                if state == "accepted":
                    break
                time.sleep(0.2)
            else:
                raise SystemExit(f"trial {trial}: orders refused {PLACE_ATTEMPTS} times")
            bench.arm(orders)
            time.sleep(rnd.uniform(0.01, 0.1))  # a random moment of the UI's cycle
            pressed = tmux.press("C-k")
            if not bench.wait_done(TRIAL_TIMEOUT):
                raise SystemExit(
                    f"trial {trial}: no halt with every cancel within 10 s\n{tmux.screen()}"
                )
            bench.check_halted()
            latencies.append(bench.finished_at() - pressed)
            time.sleep(0.03)
            engine.resume_trading("bench: re-arm")
        rate = (engine.counters["events"] - events0) / (time.monotonic() - t0)
    finally:
        tmux.close()
        robot.stop()
    return latencies, rate


# --- report -------------------------------------------------------------------------------------


def _line(label: str, values: list[float], rate: float) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"  {label} n={len(ms)} p50 {statistics.median(ms):6.2f} ms  "
        f"p99 {percentile(ms, 99):7.2f} ms  max {max(ms):7.2f} ms  "
        f"(feed {rate:,.0f} events/s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--speed", type=float, default=3000.0, help="sets the feed rate")
    parser.add_argument("--orders", type=int, default=5, help="open orders to cancel per trial")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--path",
        choices=("all", "both", "terminal", "pilot", "attach", "attach-pilot"),
        default="all",
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the avin side of the terminal path
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.trials = 2
    os.environ.setdefault("AVIN_HOME", tempfile.mkdtemp(prefix="avin-bench-"))
    if args.serve:
        return serve_terminal(args.serve, args.trials, args.speed, args.orders, args.seed)
    results: dict[str, tuple[list[float], float]] = {}
    sizes = (args.trials, args.speed, args.orders, args.seed)
    if args.path in ("all", "both", "terminal"):
        results["terminal"] = run_terminal(*sizes)
    if args.path in ("all", "attach"):
        results["attach"] = run_attach(*sizes)
    if args.path in ("all", "both", "pilot"):
        results["pilot"] = asyncio.run(run_pilot(*sizes))
    if args.path in ("all", "attach-pilot"):
        results["attach-pilot"] = asyncio.run(run_pilot(*sizes, attach=True))
    print(
        f"kill key -> HALTED + {args.orders} cancels issued, engine at speed {args.speed:g}x, "
        f"TUI at {SIZE[0]}x{SIZE[1]} polling at {1 / POLL:g} Hz (goal: p99 < 50 ms)"
    )
    if "terminal" in results:
        print("PRIMARY  - real terminal: avin in tmux, the key's bytes through the pty and")
        print("           Textual's terminal driver (what a user's key press goes through):")
        print(_line("terminal", *results["terminal"]))
    if "attach" in results:
        print("ATTACH   - real terminal: `avin attach` in tmux on a robot (the engine here serving")
        print(
            "           its control socket); the key through the pty, the attached app, the socket:"
        )
        print(_line("attach  ", *results["attach"]))
    if "terminal" in results and "attach" in results:
        ratio = statistics.median(results["attach"][0]) / statistics.median(results["terminal"][0])
        print(f"  attach / in-process terminal, p50: {ratio:.2f}x")
    if "pilot" in results:
        print("secondary - Pilot: headless app, pilot.press posts the key on the UI event loop")
        print("           (no terminal or input thread; the key waits for UI work already due):")
        print(_line("pilot   ", *results["pilot"]))
    if "attach-pilot" in results:
        print("secondary - Pilot, attached: the same, the app attached to the robot here:")
        print(_line("att-pilot", *results["attach-pilot"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
