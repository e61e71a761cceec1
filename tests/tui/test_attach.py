"""``avin attach``: the terminal app on a real ``avin run --headless`` robot (a subprocess with a
home of its own), through the control socket.

The app shows the robot's state and its kill key halts it (HALTED, every resting order
cancelled); attached and detached 20 times while it trades, the robot keeps its pid and its
orders (none lost, none doubled, no command sent by attaching); two attached clients see the same
state; a robot that goes away is said in the banner and found again when it is back; ``q`` then
``s`` stops it.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from avin_tui.app import AvinApp
from avin_tui.cli.attach import is_tcp
from avin_tui.remote_engine import RemoteEngine, RobotUnreachable
from avin_tui.remote_records import RemoteWorkspace
from avin_tui.screens.detach_or_stop import DetachOrStopScreen
from avin_tui.widgets.banner import Banner
from avin_tui.widgets.log_pane import LogPane
from avin_tui.widgets.orders import OrdersTable
from avin_tui.widgets.strategies import StrategiesTable
from engine.control.client import ControlError, connect_endpoint
from engine.control.endpoint import KEEPALIVE_MS
from engine.control.service import MAX_WATCHERS
from engine.model import TimeFrame
from engine.model.snapshot import EngineSnapshot, TradingState
from tests.control.test_control_robot import AVIN, WAIT, Robot, wait_for

from .conftest import wait_for as wait_in_app

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix domain sockets"),
]

CYCLES = 20


@pytest.fixture(scope="module")
def robot() -> Iterator[Robot]:
    assert AVIN.exists(), "run `.venv/bin/pip install -e .` first"
    robot = Robot(Path(tempfile.mkdtemp(prefix="avin-att-")))  # short: a socket path <= 107 B
    robot.start()
    try:
        with robot.client() as client:
            wait_for("the two resting orders", lambda: len(client.status()["open_orders"]) == 2)
        yield robot
    finally:
        code = robot.stop()
    assert code == 0, robot.output()[-3000:]


def attached(robot: Robot, **kwargs: Any) -> tuple[AvinApp, RemoteEngine]:
    remote = RemoteEngine(robot.socket, interval=0.05).start()
    assert remote.wait_connected(WAIT), remote.problem
    app = AvinApp(remote, run_engine=False, persist_layout=False, poll_interval=0.05, **kwargs)
    return app, remote


def shown(app: AvinApp) -> EngineSnapshot | None:
    return app.feed.snapshot


async def detach(app: AvinApp, pilot: Any) -> None:
    await pilot.press("q")
    await wait_in_app(pilot, lambda: isinstance(app.screen, DetachOrStopScreen), WAIT)
    await pilot.press("d")
    await wait_in_app(pilot, lambda: app.return_code is not None, WAIT)
    assert app.return_code == 0


async def test_the_attached_app_shows_the_robot_and_its_kill_key_halts_it(robot: Robot) -> None:
    app, remote = attached(robot)
    pid = robot.proc.pid  # type: ignore[union-attr]
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.get_screen_main()
        assert main is not None
        await wait_in_app(pilot, lambda: main.query_one(StrategiesTable).row_count == 3, WAIT)
        await wait_in_app(pilot, lambda: main.query_one(LogPane).line_count > 0, WAIT)
        snap = shown(app)
        assert snap is not None and snap.pid == pid and snap.running
        assert len(snap.open_orders) == 2 and main.query_one(OrdersTable).row_count >= 2
        assert app.engine_host.thread is None, "an attached app runs no engine of its own"

        await pilot.press("ctrl+k")
        with robot.client() as client:
            status = wait_for(
                "the cancels", lambda: (s := client.status())["open_orders"] == [] and s
            )
        assert status["trading_state"] == "HALTED" and status["halt_reason"] == "manual: keyboard"
        assert len([o for o in status["orders"] if o["status"] == "cancelled"]) >= 2
        await wait_in_app(pilot, lambda: "TRADING HALTED" in main.query_one(Banner).text, WAIT)
        remote.resume_trading("test: re-arm")
        await detach(app, pilot)
    with robot.client() as client:
        status = client.status()
        assert status["pid"] == pid and status["running"]
        assert status["trading_state"] == "ACTIVE"
        wait_for("the resting orders again", lambda: len(client.status()["open_orders"]) == 2)


async def test_attach_and_detach_twenty_times_while_the_robot_trades(robot: Robot) -> None:
    pid = robot.proc.pid  # type: ignore[union-attr]
    with robot.client() as client:
        before = wait_for("two resting orders", lambda: _resting(client.status()))
        sent_before = client.status()["counters"].get("orders_sent", 0)
    log_before = len(robot.output())
    for _ in range(CYCLES):
        app, remote = attached(robot)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_in_app(pilot, lambda: shown(app) is not None, WAIT)  # noqa: B023
            assert shown(app).pid == pid  # type: ignore[union-attr]
            await detach(app, pilot)
        assert not remote.connected.is_set(), "detaching closes the stream"
        assert robot.running()
    with robot.client() as client:
        after = client.status()
    assert after["pid"] == pid and after["running"] and after["trading_state"] == "ACTIVE"
    # the two resting orders are the same ones: attaching neither cancelled nor repeated them
    assert _resting(after) == before
    keys = [o["key"] for o in after["orders"]]
    assert len(keys) == len(set(keys)), "an order shows twice"
    assert after["counters"].get("orders_sent", 0) > sent_before, "the robot traded meanwhile"
    # attaching and detaching sent the robot no command (a detach is not a stop, nor a kill)
    commands = re.compile(
        r"control: (kill|reduce|flatten|resume|stop|cancel|pause|close|add|remove|start)"
    )
    assert not commands.search(robot.output()[log_before:])


def _resting(status: dict[str, Any]) -> tuple[str, ...] | None:
    keys = tuple(sorted(o["key"] for o in status["open_orders"] if o["type"] == "limit"))
    return keys if len(keys) == 2 else None


def test_the_attached_chart_pane_reads_the_robots_bars_book_and_tape(robot: Robot) -> None:
    remote = RemoteEngine(robot.socket).start()
    try:
        assert remote.wait_connected(WAIT), remote.problem
        bars = wait_for("bars", lambda: remote.chart("SBER", TimeFrame.M1, 50))
        assert 0 < len(bars) <= 50 and bars[0].ts < bars[-1].ts and bars[-1].ts.tzinfo is not None
        remote.watch_book("SBER", 10)
        book = wait_for("the book", lambda: remote.order_book("SBER"))
        assert book.depth == 10 and book.bids and book.asks
        assert isinstance(book.bids[0].price, Decimal) and book.bids[0].price < book.asks[0].price
        trades = wait_for("the tape", lambda: remote.tape("SBER", 5))
        assert 0 < len(trades) <= 5 and isinstance(trades[0].price, Decimal)
        remote.watch_book("SBER", 0)
    finally:
        remote.request_stop()


def test_two_attached_clients_see_the_same_state(robot: Robot) -> None:
    one = RemoteEngine(robot.socket, interval=0.02).start()
    two = RemoteEngine(robot.socket, interval=0.02).start()
    try:
        assert one.wait_connected(WAIT) and two.wait_connected(WAIT)
        one.reduce("two clients")
        seen = [
            wait_for(
                "REDUCING on both",
                lambda e=engine: (s := e.snapshot()).trading_state is TradingState.REDUCING and s,  # type: ignore[misc]
            )
            for engine in (one, two)
        ]
        assert seen[0].pid == seen[1].pid == robot.proc.pid  # type: ignore[union-attr]
        # a state version is one state: whatever version both saw, they saw the same snapshot
        seen_by: tuple[dict[int, EngineSnapshot], dict[int, EngineSnapshot]] = ({}, {})
        stop = threading.Event()

        def sample(engine: RemoteEngine, into: dict[int, EngineSnapshot]) -> None:
            while not stop.is_set():
                snap = engine.snapshot()
                into.setdefault(snap.version, snap)
                stop.wait(0.005)

        threads = [
            threading.Thread(target=sample, args=(e, d))
            for e, d in zip((one, two), seen_by, strict=True)
        ]
        for thread in threads:
            thread.start()
        try:
            wait_for("a version both saw", lambda: len(set(seen_by[0]) & set(seen_by[1])) >= 3)
        finally:
            stop.set()
            for thread in threads:
                thread.join(WAIT)
        for version in set(seen_by[0]) & set(seen_by[1]):
            assert seen_by[0][version] == seen_by[1][version], version
        two.resume_trading("two clients")
        wait_for("ACTIVE on one", lambda: one.snapshot().trading_state is TradingState.ACTIVE)
    finally:
        one.request_stop()
        two.request_stop()


def test_a_robot_watched_by_too_many_says_so_and_the_client_gets_in_when_one_leaves(
    robot: Robot,
) -> None:
    with robot.client() as client:
        # streams of the clients before this test end on the robot's side a moment after they
        # closed: all of them taken here once those are gone
        streams = wait_for("every stream for this test", lambda: _all_streams(client))
        remote = RemoteEngine(robot.socket).start()
        try:
            wait_for("the refusal", lambda: "RESOURCE_EXHAUSTED" in remote.problem)
            assert not remote.connected.is_set() and "at most" in remote.problem
            for stream in streams[:2]:  # snapshots and log: two streams for an attached app
                stream.close()
            assert remote.wait_connected(WAIT), remote.problem
        finally:
            remote.request_stop()
            for stream in streams:
                stream.close()


def _all_streams(client: Any) -> list[Any] | None:
    """MAX_WATCHERS open snapshot streams, or None (all closed again) when the robot refused."""
    streams = []
    try:
        for _ in range(MAX_WATCHERS):
            # the shortest interval: a stream closed here ends on the robot's side within it
            stream = client.watch(0.02)
            streams.append(stream)
            next(stream)  # open: it holds one of the robot's stream workers
    except ControlError:
        for stream in streams:
            stream.close()
        return None
    return streams


async def test_a_robot_that_goes_away_is_found_again_and_q_s_stops_it() -> None:
    robot = Robot(Path(tempfile.mkdtemp(prefix="avin-att2-")))
    robot.start()
    app, remote = attached(robot)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            main = app.get_screen_main()
            assert main is not None
            await wait_in_app(pilot, lambda: shown(app) is not None, WAIT)
            first_pid = shown(app).pid  # type: ignore[union-attr]
            assert robot.stop() == 0
            banner = main.query_one(Banner)
            await wait_in_app(
                pilot, lambda: banner.shown and "ROBOT NOT REACHABLE" in banner.text, WAIT
            )
            with pytest.raises(RobotUnreachable):
                remote.kill("nobody there")
            assert main.query_one(StrategiesTable).row_count == 3, "the last state stays"

            robot.start()  # the same home: the same socket
            new_pid = robot.proc.pid  # type: ignore[union-attr]
            await wait_in_app(
                pilot, lambda: (s := shown(app)) is not None and s.pid == new_pid, WAIT
            )
            assert new_pid != first_pid and remote.connects == 2
            # the log pane follows the new robot's log from its start (its numbers begin anew)
            await wait_in_app(pilot, lambda: _starts_logged(remote) == 2, WAIT)
            await wait_in_app(pilot, lambda: not banner.shown, WAIT)

            await pilot.press("q")
            await wait_in_app(pilot, lambda: isinstance(app.screen, DetachOrStopScreen), WAIT)
            await pilot.press("s")
            await wait_in_app(pilot, lambda: app.return_code is not None, WAIT)
        assert robot.proc is not None
        assert await asyncio.to_thread(robot.proc.wait, WAIT) == 0, robot.output()[-3000:]
        assert "stopped from an attached terminal" in robot.output()
    finally:
        remote.request_stop()
        if robot.proc is not None and robot.proc.poll() is None:
            robot.stop(signal.SIGKILL)


def test_a_robot_that_stops_answering_is_said_to_and_found_again_when_it_runs() -> None:
    """A hung robot keeps its socket open: the client's keepalive (engine.control.client) ends
    the stream within about two intervals; when the robot runs again the client is back."""
    robot = Robot(Path(tempfile.mkdtemp(prefix="avin-att3-")))
    robot.start()
    assert robot.proc is not None
    remote = RemoteEngine(robot.socket).start()
    try:
        wait_for("the first snapshot", remote.connected.is_set)
        robot.proc.send_signal(signal.SIGSTOP)
        wait_for(
            "the hung robot said",
            lambda: not remote.connected.is_set() and "stopped answering" in remote.problem,
            timeout=4 * KEEPALIVE_MS / 1000 + WAIT,
        )
        robot.proc.send_signal(signal.SIGCONT)
        wait_for("the robot again", remote.connected.is_set)
    finally:
        remote.request_stop()
        robot.proc.send_signal(signal.SIGCONT)
        assert robot.stop() == 0, robot.output()[-3000:]


async def test_attach_over_tcp_with_the_token(robot: Robot, tmp_path: Path) -> None:
    found = re.search(r"control: serving on 127\.0\.0\.1:(\d+) \(loopback", robot.output())
    assert found, "the robot serves [control] listen"
    endpoint = f"127.0.0.1:{found.group(1)}"
    token = robot.home / "state" / "control.token"
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token-of-this-robot\n")
    wrong.chmod(0o600)
    refused = RemoteEngine(
        None, connect=lambda: connect_endpoint(endpoint, token_file=wrong), where=endpoint
    ).start()
    remote = RemoteEngine(
        None, connect=lambda: connect_endpoint(endpoint, token_file=token), where=endpoint
    ).start()
    try:
        assert remote.wait_connected(WAIT), remote.problem
        assert not refused.wait_connected(WAIT)  # refused: it does not wait the whole bound
        assert refused.refused and "UNAUTHENTICATED" in refused.problem
        assert not refused.connected.is_set()
        app = AvinApp(remote, run_engine=False, persist_layout=False, poll_interval=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_in_app(pilot, lambda: shown(app) is not None, WAIT)
            await pilot.press("ctrl+k")
            with robot.client() as client:
                wait_for("HALTED", lambda: client.status()["trading_state"] == "HALTED")
                assert client.command("resume", "test: re-arm").trading_state == "ACTIVE"
            await detach(app, pilot)
        assert robot.running()
    finally:
        refused.request_stop()
        remote.request_stop()


async def test_over_tcp_the_workspace_is_kept_by_the_robot(robot: Robot) -> None:
    found = re.search(r"control: serving on 127\.0\.0\.1:(\d+) \(loopback", robot.output())
    assert found, "the robot serves [control] listen"
    endpoint = f"127.0.0.1:{found.group(1)}"
    first = await _flip_theme(robot, endpoint)
    second = await _flip_theme(robot, endpoint)  # back: the robot's workspace as it was found
    assert second != first, "the second attach restored what the first one saved"


async def _flip_theme(robot: Robot, endpoint: str) -> str:
    """Attach over TCP, press T, wait until the robot keeps the other theme, detach; the theme
    the app found."""
    token = robot.home / "state" / "control.token"
    remote = RemoteEngine(
        None, connect=lambda: connect_endpoint(endpoint, token_file=token), where=endpoint
    ).start()
    remote.store = RemoteWorkspace(remote.control_client)
    try:
        assert remote.wait_connected(WAIT), remote.problem
        app = AvinApp(remote, run_engine=False, poll_interval=0.05, layout_debounce=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_in_app(pilot, lambda: app.panes_ready, WAIT)
            found = app.theme_name
            flipped = "light" if found == "dark" else "dark"
            await pilot.press("T")
            with robot.client() as client:
                saved = await asyncio.to_thread(
                    wait_for, "the save", lambda: client.workspace().get("theme") == flipped
                )
                assert saved and client.workspace()["version"] == 2
            await detach(app, pilot)
        return found
    finally:
        remote.request_stop()


def _starts_logged(remote: RemoteEngine) -> int:
    entries = remote.logbook.entries_since(0)
    return sum(1 for e in entries if e.message == f"serving on {remote.path}")


def test_avin_attach_without_a_robot_says_how_to_start_one(tmp_path: Path) -> None:
    robot = Robot(tmp_path)
    done = robot.avin("attach")
    assert done.returncode == 3
    assert f"no robot runs on {tmp_path / 'state'}" in done.stderr
    assert "avin run --headless" in done.stderr


def test_avin_attach_to_a_socket_path_that_is_not_there_says_what_endpoint_takes(
    tmp_path: Path,
) -> None:
    robot = Robot(tmp_path)
    done = robot.avin("attach", "--endpoint", "nonsense")
    assert done.returncode == 3
    assert "there is no control socket at nonsense" in done.stderr, done.stderr
    assert "HOST:PORT" in done.stderr
    stale = tmp_path / "stale.sock"
    stale.touch()  # a file nobody serves: a robot of that home is not running
    done = robot.avin("attach", "--endpoint", str(stale))
    assert f"no robot answers on {stale}" in done.stderr, done.stderr


def test_plain_avin_offers_to_attach_when_a_robot_runs(robot: Robot) -> None:
    done = subprocess.run(
        [str(AVIN)],
        env=robot.env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 3, done.stderr
    assert f"(pid {robot.proc.pid}) already runs" in done.stderr  # type: ignore[union-attr]
    assert "avin attach" in done.stderr
    assert robot.running()


@pytest.mark.parametrize(
    ("endpoint", "tcp"),
    [
        ("127.0.0.1:7700", True),
        ("server.example:7700", True),
        ("[::1]:7700", True),
        ("/run/avin/control.sock", False),
        ("state/control.sock", False),
        ("./host:7700", False),  # a path that happens to hold a colon
        ("control.sock", False),
        (":7700", False),
    ],
)
def test_an_endpoint_is_a_socket_path_or_host_and_port(endpoint: str, tcp: bool) -> None:
    assert is_tcp(endpoint) is tcp
