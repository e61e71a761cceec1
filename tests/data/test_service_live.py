"""Live bars of the data service and its cap on concurrent requests, against a real Arrow Flight
server on loopback and a real control server on this home's socket (``state/control.sock``) in
front of a small engine whose chart grows as the test says.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow.flight as flight
import pytest

from engine.control.charts import robot_on
from engine.control.endpoint import socket_path
from engine.control.server import ControlServer
from engine.data.loading import load_bars
from engine.data.remote import BusyError, RemoteError, RemoteStore
from engine.data.schema import BAR_SCHEMA
from engine.data.service import DataService
from engine.data.store import BarStore
from engine.data.synthetic import minute_bars
from engine.model import Bar, TimeFrame
from engine.model.aggregation import BarAggregator

from .conftest import SBER_UID

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix domain sockets")

TOKEN = "test-token-0123456789abcdef"
CODE = "MOEX_SHARE_SBER"
DAY = date(2024, 3, 4)
WAIT = 30.0  # a bound on every wait, never a threshold


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"waited {WAIT:g} s for {what}")


class Robot:
    """The engine's ``chart`` as a running robot answers it: fed 1-minute bars, the newest may be
    forming (``Chart.bars``)."""

    def __init__(self) -> None:
        self.minutes: list[Bar] = []
        self.lock = threading.Lock()

    def feed(self, bars: list[Bar]) -> None:
        with self.lock:
            self.minutes.extend(bars)

    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]:
        if instrument not in ("SBER", CODE):
            return []
        with self.lock:
            minutes = list(self.minutes)
        if timeframe is TimeFrame.M1:
            return minutes[-count:]
        aggregator, out = BarAggregator(timeframe), []
        for minute in minutes:
            result = aggregator.update(minute)
            if result.closed is not None:
                out.append(result.closed)
        if aggregator.current is not None:
            out.append(aggregator.current)
        return out[-count:]


def minutes_from(start: datetime, count: int, price: float = 200.0) -> list[Bar]:
    return [
        Bar(start + timedelta(minutes=i), price + i, price + i + 1, price + i - 1, price + i, 5 + i)
        for i in range(count)
    ]


@pytest.fixture
def stored() -> BarStore:
    store = BarStore()  # this test's home: one day of SBER, 07:00..(07:00 + 300 min) UTC
    store.merge(CODE, SBER_UID, minute_bars([DAY], seed=4, bars_per_day=300), "test")
    return store


def last_stored(store: BarStore) -> datetime:
    bounds = store.bounds(CODE)
    assert bounds is not None
    return bounds[1]


@pytest.fixture
def robot() -> Iterator[Robot]:
    engine = Robot()
    server = ControlServer(engine, socket_path())  # type: ignore[arg-type]
    server.start()
    try:
        yield engine
    finally:
        server.stop()


def serve(**options: Any) -> Iterator[DataService]:
    options.setdefault("robot", robot_on())
    service = DataService(TOKEN, poll_interval=0.02, **options)
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        service.shutdown()
        thread.join(timeout=10)
        assert not thread.is_alive()


@pytest.fixture
def server(stored: BarStore) -> Iterator[DataService]:
    yield from serve()


@pytest.fixture
def remote(server: DataService) -> Iterator[RemoteStore]:
    with RemoteStore(f"127.0.0.1:{server.port}", TOKEN) as client:
        yield client


def day_start() -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)


def test_live_bars_are_the_stored_ones_then_the_robots_closed_ones(
    remote: RemoteStore, stored: BarStore, robot: Robot
) -> None:
    last = last_stored(stored)
    # the robot's chart overlaps the store by 10 minutes and runs 20 minutes past it
    robot.feed(minutes_from(last - timedelta(minutes=9), 30))
    got = remote.live_bars("SBER", "1M", day_start())
    history = load_bars(CODE, TimeFrame.M1, day_start(), last + timedelta(minutes=1))
    assert got.schema == history.schema == BAR_SCHEMA
    assert got["ts"].dtype == pl.Datetime("ns", "UTC")
    assert got["ts"].is_sorted() and got["ts"].n_unique() == got.height
    newest = robot.minutes[-2].ts  # the very newest may be forming: not served
    assert got["ts"][-1] == newest
    # the robot covers the last stored minute: its bars win from there on
    assert got.filter(pl.col("ts") < last).equals(history.filter(pl.col("ts") < last))
    tail = got.filter(pl.col("ts") >= last)
    assert tail["close"].to_list() == [b.close for b in robot.minutes[9:-1]]
    # a history request is unchanged by the robot
    assert remote.bars("SBER", "1M", day_start(), last + timedelta(minutes=1)).equals(history)


def test_live_hour_bars_join_without_duplicates(
    remote: RemoteStore, stored: BarStore, robot: Robot
) -> None:
    last = last_stored(stored)
    robot.feed(minutes_from(last + timedelta(minutes=1), 150))  # starts after the store
    got = remote.live_bars(CODE, TimeFrame.H1, day_start())
    stored_hours = load_bars(CODE, TimeFrame.H1, day_start(), last + timedelta(minutes=1))
    assert got["ts"].n_unique() == got.height and got["ts"].is_sorted()
    assert got.head(stored_hours.height).equals(stored_hours)
    robot_hours = got.tail(got.height - stored_hours.height)
    assert robot_hours.height >= 1
    assert robot_hours["ts"][0] > stored_hours["ts"][-1]
    assert all(ts.minute == 0 for ts in got["ts"].to_list())
    # with an end: nothing at or after it
    end = robot_hours["ts"][0]
    bounded = remote.live_bars(CODE, TimeFrame.H1, day_start(), end)
    assert bounded.equals(stored_hours.filter(pl.col("ts") < end))


def test_no_robot_is_a_clear_error_and_history_still_works(
    remote: RemoteStore, stored: BarStore
) -> None:
    assert not socket_path().exists()
    with pytest.raises(RemoteError, match="no robot runs on this home") as err:
        remote.live_bars("SBER", "1M", day_start())
    assert "avin run --headless" in str(err.value)
    assert remote.bars("SBER", "1M", day_start(), day_start() + timedelta(days=1)).height == 300


def test_a_service_given_no_robot_says_so_for_live_requests_only(
    stored: BarStore, robot: Robot
) -> None:
    # a library user's DataService without a robot opener: a robot runs on the home, but this
    # service was not told to ask it
    for service in serve(robot=None):
        with RemoteStore(f"127.0.0.1:{service.port}", TOKEN) as client:
            with pytest.raises(RemoteError, match="started without a robot"):
                client.live_bars("SBER", "1M", day_start())
            day = (day_start(), day_start() + timedelta(days=1))
            assert client.bars("SBER", "1M", *day).height == 300


def test_a_robot_that_does_not_chart_the_instrument(
    remote: RemoteStore, stored: BarStore, robot: Robot
) -> None:
    with pytest.raises(RemoteError, match="no closed 1M bars of MOEX_SHARE_SBER"):
        remote.live_bars("SBER", "1M", day_start())


@pytest.mark.parametrize(
    ("ticket", "text"),
    [
        (b'{"ticker": "SBER", "tf": "1M", "from": "2024-03-04", "follow": true}', "needs"),
        (b'{"ticker": "SBER", "tf": "1M", "from": "2024-03-04", "live": "yes"}', "true or false"),
        (b'{"ticker": "SBER", "tf": "1M", "from": "2024-03-04"}', '"to"'),
    ],
)
def test_bad_live_requests(server: DataService, ticket: bytes, text: str) -> None:
    client = flight.FlightClient(f"grpc+tcp://127.0.0.1:{server.port}")
    options = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {TOKEN}".encode())])
    with pytest.raises(flight.FlightServerError, match=text):
        client.do_get(flight.Ticket(ticket), options).read_all()
    client.close()


def test_flight_info_answers_a_live_request_but_not_a_stream(
    server: DataService, stored: BarStore, robot: Robot
) -> None:
    robot.feed(minutes_from(last_stored(stored) + timedelta(minutes=1), 6))
    client = flight.FlightClient(f"grpc+tcp://127.0.0.1:{server.port}")
    options = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {TOKEN}".encode())])
    live = b'{"ticker": "SBER", "tf": "1M", "from": "2024-03-04", "live": true}'
    info = client.get_flight_info(flight.FlightDescriptor.for_command(live), options)
    assert info.total_records == 300 + 5
    follow = live[:-1] + b', "follow": true}'
    with pytest.raises(flight.FlightServerError, match='"follow" is a stream: ask it with DoGet'):
        client.get_flight_info(flight.FlightDescriptor.for_command(follow), options)
    client.close()


def test_follow_sends_each_bar_the_robot_closes_until_cancelled(
    server: DataService, remote: RemoteStore, stored: BarStore, robot: Robot
) -> None:
    last = last_stored(stored)
    fresh = minutes_from(last + timedelta(minutes=1), 40)
    robot.feed(fresh[:5])
    stream = remote.follow("SBER", "1M", day_start())
    first = next(stream)  # the stored bars (one batch) then the robot's closed ones
    got = [first]
    while sum(f.height for f in got) < 300 + 4:
        got.append(next(stream))
    assert server.slots.in_use == 1
    for step in range(5, 40, 7):  # the robot closes more minutes, a few at a time
        robot.feed(fresh[step : step + 7])
        want = min(step + 7, 40) - 1
        while sum(f.height for f in got) < 300 + want:
            got.append(next(stream))
    joined = pl.concat(got)
    assert joined["ts"].n_unique() == joined.height == 300 + 39
    assert joined.tail(39)["close"].to_list() == [b.close for b in fresh[:39]]
    stream.close()  # cancels the call: the service gives its place back
    wait_for("the stream's place given back", lambda: server.slots.in_use == 0)


def test_a_follow_stream_ends_with_an_error_when_the_robot_stops(
    server: DataService, remote: RemoteStore, stored: BarStore
) -> None:
    engine = Robot()
    engine.feed(minutes_from(last_stored(stored) + timedelta(minutes=1), 3))
    control = ControlServer(engine, socket_path())  # type: ignore[arg-type]
    control.start()
    stream = remote.follow("SBER", "1M", day_start())
    next(stream)
    control.stop()
    with pytest.raises(RemoteError, match="the robot on this home stopped"):
        for _ in stream:
            pass
    wait_for("the stream's place given back", lambda: server.slots.in_use == 0)


@pytest.fixture
def capped(stored: BarStore) -> Iterator[DataService]:
    yield from serve(max_requests=2)


def test_requests_beyond_the_cap_are_told_to_retry(
    capped: DataService, stored: BarStore, robot: Robot
) -> None:
    robot.feed(minutes_from(last_stored(stored) + timedelta(minutes=1), 3))
    slots = capped.slots
    with RemoteStore(f"127.0.0.1:{capped.port}", TOKEN) as remote:
        streams = [remote.follow("SBER", "1M", day_start()) for _ in range(2)]
        for stream in streams:
            next(stream)  # both hold their place
        assert slots.in_use == 2
        with pytest.raises(BusyError, match="busy: it answers at most 2 requests") as err:
            remote.bars("SBER", "1M", day_start(), day_start() + timedelta(days=1))
        assert "retry" in str(err.value)
        client = flight.FlightClient(f"grpc+tcp://127.0.0.1:{capped.port}")
        auth = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {TOKEN}".encode())])
        info = b'{"ticker": "SBER", "tf": "1M", "from": "2024-03-04", "to": "2024-03-05"}'
        with pytest.raises(flight.FlightUnavailableError, match="busy"):
            client.get_flight_info(flight.FlightDescriptor.for_command(info), auth)
        assert len(list(client.list_flights(b"", auth))) == 1  # a listing is not counted
        client.close()
        streams[0].close()
        wait_for("a place given back", lambda: slots.in_use == 1)
        got = remote.bars("SBER", "1M", day_start(), day_start() + timedelta(days=1))
        assert got.height == 300
        assert slots.in_use == 1  # the answered request gave its place back
        streams[1].close()
        wait_for("every place given back", lambda: slots.in_use == 0)


def test_export_remote_live_writes_the_joined_bars(
    server: DataService,
    stored: BarStore,
    robot: Robot,
    run_cli: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.data.flight_request import TOKEN_ENV

    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    robot.feed(minutes_from(last_stored(stored) + timedelta(minutes=1), 12))
    out = tmp_path / "live.csv"
    endpoint = f"127.0.0.1:{server.port}"
    done = run_cli("data", "export", "SBER", "--tf", "1M", "-o", str(out), "--remote", endpoint)
    assert done.code == 0 and "300 1M bars" in done.out, done.err
    live = run_cli(
        "data", "export", "SBER", "--tf", "1M", "-o", str(out), "--remote", endpoint, "--live"
    )
    assert live.code == 0 and "311 1M bars" in live.out, live.err
    written = pl.read_csv(out)
    assert written.height == 311 and written["ts"].n_unique() == 311
    assert written["close"][-1] == robot.minutes[-2].close
    stray = run_cli("data", "export", "SBER", "--tf", "1M", "-o", str(out), "--live")
    assert stray.code == 2 and "--live goes with --remote" in stray.err


def test_serve_refuses_a_cap_below_one(run_cli: Any) -> None:
    result = run_cli("data", "serve", "--port", "0", "--max-requests", "0")
    assert result.code == 2 and "--max-requests must be at least 1" in result.err


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT"])
def test_serve_stops_at_once_with_a_live_stream_open(
    stored: BarStore, robot: Robot, monkeypatch: pytest.MonkeyPatch, stop: str
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from engine.data.flight_request import TOKEN_ENV

    from .test_service_cli import _read_until, _stop_signals_default

    robot.feed(minutes_from(last_stored(stored) + timedelta(minutes=1), 3))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", TOKEN_ENV: TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-m", "avin_tui.cli", "data", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_stop_signals_default,
    )
    try:
        banner = _read_until(process, "Ctrl-C stops the service.")
        endpoint = banner.split("--remote ", 1)[1].split()[0]
        with RemoteStore(endpoint, TOKEN) as remote:
            stream = remote.follow("SBER", "1M", day_start())
            got = 0
            while got < 302:  # the stored bars and the robot's two closed ones
                got += next(stream).height
            process.send_signal(getattr(signal, stop))
            rest, errors = (b.decode() for b in process.communicate(timeout=30))
            with pytest.raises((RemoteError, StopIteration)):
                next(stream)  # the stream ended with the service
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors
    assert "avin data serve: stopped" in rest


@pytest.fixture
def headless() -> Iterator[Any]:
    """``avin run --headless`` on the simulated market, in its own home (a short socket path)."""
    import tempfile
    from pathlib import Path

    from tests.control.test_control_robot import AVIN
    from tests.control.test_control_robot import Robot as HeadlessRobot

    assert AVIN.exists(), "run `.venv/bin/pip install -e .` first"
    robot = HeadlessRobot(Path(tempfile.mkdtemp(prefix="avin-lv-")))
    robot.start()
    try:
        yield robot
    finally:
        assert robot.stop() == 0, robot.output()[-3000:]


@pytest.fixture
def headless_server(headless: Any) -> Iterator[DataService]:
    yield from serve(robot=robot_on(headless.socket))


@pytest.mark.slow
def test_live_bars_of_a_real_headless_robot(headless_server: DataService) -> None:
    """The robot's closed 1-minute bars (nothing stored on this home): the live answer, then
    the follow stream carries every minute it closes, once, in order."""
    since = datetime(2000, 1, 1, tzinfo=UTC)
    slots = headless_server.slots
    with RemoteStore(f"127.0.0.1:{headless_server.port}", TOKEN) as remote:

        def live() -> list[pl.DataFrame]:
            try:
                return [remote.live_bars("SBER", "1M", since)]
            except RemoteError as exc:  # the robot has not closed a bar yet
                assert "no closed 1M bars" in str(exc), exc
                return []

        [bars] = wait_for("closed bars on the robot's chart", live)
        assert bars.schema == BAR_SCHEMA and bars.height >= 1
        assert bars["ts"].is_sorted() and bars["ts"].n_unique() == bars.height
        last = bars["ts"][-1]
        stream = remote.follow("SBER", "1M", last)
        got = [next(stream)]
        while pl.concat(got).height < 5:  # the robot closes more minutes
            got.append(next(stream))
        stream.close()
        followed = pl.concat(got)
        assert followed["ts"][0] >= last
        assert all(a < b for a, b in itertools.pairwise(followed["ts"].to_list()))
        # every bar the robot closed meanwhile, once: as its chart holds them now
        now = remote.live_bars("SBER", "1M", since)
        held = now.filter(pl.col("ts").is_between(followed["ts"][0], followed["ts"][-1]))
        assert held.equals(followed)
        wait_for("the stream's place given back", lambda: slots.in_use == 0)
