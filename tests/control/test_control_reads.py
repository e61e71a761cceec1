"""What an attached client reads and commands beyond the snapshot, in process against a small
engine: chart bars, the log (answers and the bounded stream), incidents, the session, strategy
rows by hand, the workspace, STOP; and the bad requests among them."""

from __future__ import annotations

import json
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest

from engine.control import reads
from engine.control.client import ControlClient, ControlError
from engine.control.server import ControlServer
from engine.model import (
    Bar,
    BookLevel,
    Instrument,
    MarketTrade,
    Mode,
    OrderBook,
    Side,
    TimeFrame,
)
from engine.model.snapshot import EngineSnapshot, StrategyRow, TradingState
from engine.runtime.logbook import LogBook
from engine.runtime.worklist import SpecCheck, StrategySpec

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="unix domain sockets")

T0 = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
WAIT = 30.0  # a bound on every wait, never a threshold


class Engine:
    """The engine's public control methods, recording what it was asked."""

    def __init__(self, logs: Path) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.logbook = LogBook(capacity=50)
        self.logbook.log_path = logs / "avin.log"
        self.instruments = {
            "MOEX_SHARE_SBER": Instrument(
                "MOEX", "SHARE", "SBER", "u1", "f1", "TQBR", 10, Decimal("0.01")
            )
        }
        self.restored_orders: frozenset[str] | None = frozenset({"abc"})
        self.rows = [
            StrategyRow("s1", "sma_cross", "MOEX_SHARE_SBER", "sim-1", "running", 2, Decimal(0))
        ]
        self.saved: dict[str, Any] = {}
        self.stop_requested = threading.Event()
        self.watched: dict[str, int] = {}
        self.version = 1

    trading_state = TradingState.ACTIVE
    halt_reason = ""

    def snapshot(self) -> EngineSnapshot:
        return EngineSnapshot(
            self.version, Mode.SIM, TradingState.ACTIVE, True, True, 77, False, None, None, None,
            strategies=tuple(self.rows),
        )  # fmt: skip

    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]:
        self.calls.append(("chart", (instrument, timeframe, count)))
        if instrument != "SBER":
            return []
        bars = [
            Bar(T0 + timedelta(minutes=i), 100.0 + i, 101.0 + i, 99.5, 100.5 + i, 10 * i)
            for i in range(10)
        ]
        return bars[-count:]

    def check_strategy(self, spec: StrategySpec) -> SpecCheck:
        return SpecCheck(spec, warnings=("sure?",) if spec.instrument == "GAZP" else ())

    def add_strategy(self, spec: StrategySpec) -> str:
        if spec.instrument == "NOPE":
            raise ValueError("cannot add sma_cross NOPE: no such instrument")
        self.calls.append(("add", spec))
        return "s2"

    def close_strategy_position(self, strategy_id: str) -> int:
        self.calls.append(("close", strategy_id))
        return 2

    def remove_strategy(self, strategy_id: str) -> None:
        raise ValueError(f"{strategy_id} holds 2 lot(s): close its position first")

    def workspace(self) -> dict[str, Any]:
        return dict(self.saved)

    def save_workspace(self, data: dict[str, Any]) -> None:
        self.saved = data

    def request_stop(self) -> None:
        self.stop_requested.set()

    def order_book(self, instrument: str) -> OrderBook | None:
        if instrument not in self.watched:
            return None
        return OrderBook(
            "MOEX_SHARE_SBER",
            T0,
            (BookLevel(Decimal("300.01"), 5), BookLevel(Decimal("300.00"), 7)),
            (BookLevel(Decimal("300.02"), 3),),
            self.watched[instrument],
            limit_up=Decimal("330.00"),
        )

    def watch_book(self, instrument: str, depth: int = 10) -> None:
        self.watched[instrument] = depth

    def tape(self, instrument: str, count: int) -> list[MarketTrade]:
        trades = [
            MarketTrade("MOEX_SHARE_SBER", T0, Decimal("300.01"), 2, Side.BUY),
            MarketTrade("MOEX_SHARE_SBER", T0, Decimal("300.00"), 1, None),
        ]
        return trades[:count] if instrument == "SBER" else []


def record(book: LogBook, message: str, level: int = logging.INFO) -> None:
    book.handle(logging.LogRecord("avin.engine", level, __file__, 1, message, None, None))


@pytest.fixture
def served() -> Iterator[tuple[Engine, ControlClient, ControlServer]]:
    folder = Path(tempfile.mkdtemp(prefix="avin-rd-"))
    engine = Engine(folder)
    server = ControlServer(engine, folder / "control.sock")  # type: ignore[arg-type]
    server.start()
    client = ControlClient(folder / "control.sock", timeout=WAIT)
    try:
        yield engine, client, server
    finally:
        client.close()
        server.stop()


def test_chart_bars_come_back_as_the_engine_keeps_them(served: Any) -> None:
    engine, client, _ = served
    bars = client.chart("SBER", "1M", 3).bars
    assert [b.close for b in bars] == [107.5, 108.5, 109.5]
    first = bars[0]
    assert datetime.fromtimestamp(first.ts_us / 1e6, UTC) == T0 + timedelta(minutes=7)
    assert first.volume == 70
    assert engine.calls[-1] == ("chart", ("SBER", TimeFrame.M1, 3))
    assert client.chart("GAZP", "1H", 5).bars == []
    for bad, text in (
        (("SBER", "2M", 3), "not one of 1M 5M"),
        (("SBER", "1M", 0), "between 1 and 5000"),
        (("SBER", "1M", 5001), "between 1 and 5000"),
        (("", "1M", 3), "a ticker"),
    ):
        with pytest.raises(ControlError, match=text) as err:
            client.chart(*bad)
        assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT


def test_log_answers_the_newest_records_and_says_how_many_it_skipped(served: Any) -> None:
    engine, client, _ = served
    for i in range(1, 61):  # a ring of 50: the first 10 are gone
        record(engine.logbook, f"line {i}")
    batch = client.log(after_seq=0, limit=5)
    assert [r.message for r in batch.records] == [f"line {i}" for i in range(56, 61)]
    assert (batch.skipped, batch.last_seq) == (55, 60)
    assert batch.records[0].source == "engine" and batch.records[0].level == "INFO"
    whole = client.log(after_seq=58)
    assert [r.seq for r in whole.records] == [59, 60] and whole.skipped == 0
    assert client.log(after_seq=60).records == []
    # a number from an earlier run of the robot (above its newest): from the oldest kept
    again = client.log(after_seq=10_000, limit=3)
    assert [r.seq for r in again.records] == [58, 59, 60]


def test_the_log_stream_skips_ahead_for_a_client_that_fell_behind(served: Any) -> None:
    engine, client, server = served
    for i in range(30):  # written before the client asks: it gets the newest 4 and the count
        record(engine.logbook, f"burst {i}")
    stream = client.watch_log(after_seq=0, limit=4)
    batch = next(stream)
    assert [r.message for r in batch.records] == [f"burst {i}" for i in range(26, 30)]
    assert (batch.skipped, batch.last_seq) == (26, 30)
    record(engine.logbook, "later")
    batch = next(b for b in stream if b.records)  # (an empty keep-alive may come first)
    assert [r.message for r in batch.records] == ["later"] and batch.skipped == 0
    keepalive = next(stream)  # nothing new: an empty batch with the newest number
    assert keepalive.records == [] and keepalive.last_seq == 31
    assert server.service.watchers == 1


def test_incidents_are_the_newest_lines_of_the_incidents_log(served: Any) -> None:
    engine, client, _ = served
    path = engine.logbook.log_path.parent / "incidents.log"
    assert client.incidents() == []  # no file yet
    lines = [
        json.dumps({"ts": f"2026-12-04T10:00:0{i}Z", "what": f"incident {i}"}) for i in range(5)
    ]
    path.write_text("\n".join(["an old plain line", *lines]) + "\n")
    newest = client.incidents(limit=2)
    assert [i["what"] for i in newest] == ["incident 3", "incident 4"]
    assert client.incidents()[0] == {"what": "an old plain line"}


def test_session_has_the_instruments_and_the_restored_orders(served: Any) -> None:
    engine, client, _ = served
    info = client.session()
    (sber,) = json.loads(info.instruments_json)
    assert (
        Instrument(**{**sber, "step": Decimal(sber["step"])})
        == engine.instruments["MOEX_SHARE_SBER"]
    )
    assert (list(info.restored_orders), info.recovery_over, info.mode, info.pid) == (
        ["abc"],
        True,
        "sim",
        77,
    )
    engine.restored_orders = None
    assert client.session().recovery_over is False


def test_strategy_rows_by_hand(served: Any) -> None:
    engine, client, _ = served
    spec = StrategySpec("sma_cross", "GAZP").to_json()
    assert list(client.check_strategy(spec).warnings) == ["sure?"]
    assert client.command("add_strategy", spec=spec).result == "s2"
    assert engine.calls[-1] == ("add", StrategySpec("sma_cross", "GAZP"))
    reply = client.command("close_position", target="s1")
    assert (reply.result, reply.strategy_state) == ("2", "running")
    with pytest.raises(ControlError, match="close its position first") as err:
        client.command("remove_strategy", target="s1")
    assert err.value.code is grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(ControlError, match="no such instrument") as err:
        client.command("add_strategy", spec=StrategySpec("sma_cross", "NOPE").to_json())
    assert err.value.code is grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(ControlError, match="no strategy 'nope'") as err:
        client.command("close_position", target="nope")
    assert err.value.code is grpc.StatusCode.NOT_FOUND
    with pytest.raises(ControlError, match="cannot stop strategy") as err:
        client.command("stop_strategy", target="s1")  # this engine has no stop_strategy
    assert err.value.code is grpc.StatusCode.UNIMPLEMENTED
    for spec_json, text in (
        (b"[1]", "must be a JSON object"),
        (b'{"name": "x"}', "lacks 'instrument'"),
    ):
        raw = client.channel.unary_unary("/avin.control.v1.Control/CheckStrategy")
        with pytest.raises(grpc.RpcError) as rpc:
            raw(reads.pb.StrategySpecRequest(spec_json=spec_json).SerializeToString(), timeout=5)
        assert rpc.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert text in rpc.value.details()


def test_the_workspace_is_kept_and_bounded(served: Any) -> None:
    engine, client, _ = served
    assert client.workspace() == {}
    client.save_workspace({"panes": {"log": 12}})
    assert engine.saved == {"panes": {"log": 12}} and client.workspace() == engine.saved
    with pytest.raises(ControlError, match="at most 65536") as err:
        client.save_workspace({"x": "y" * 70_000})
    assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(ControlError) as err:
        client.save_workspace({"x": "y" * 200_000})  # over the request bound: gRPC refuses it
    assert err.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    raw = client.channel.unary_unary("/avin.control.v1.Control/SaveWorkspace")
    for data, text in (
        (b"[" * 30_000 + b"]" * 30_000, "is not JSON"),  # a bomb for a recursive parser
        (b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", "nested more than 32 levels"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{oops", "is not JSON"),
    ):
        with pytest.raises(grpc.RpcError) as rpc:
            raw(reads.pb.Workspace(json=data).SerializeToString(), timeout=5)
        assert rpc.value.code() is grpc.StatusCode.INVALID_ARGUMENT, rpc.value.details()
        assert text in rpc.value.details()
    assert engine.saved == {"panes": {"log": 12}}  # none of them saved


def test_stop_asks_the_robot_to_stop(served: Any) -> None:
    engine, client, _ = served
    with pytest.raises(ControlError, match="STOP takes no target"):
        client.command("stop", target="s1")
    assert not engine.stop_requested.is_set()
    assert client.command("stop", "q in attach").trading_state == "ACTIVE"
    assert engine.stop_requested.is_set()


def test_a_log_stream_nobody_reads_holds_only_itself(served: Any) -> None:
    """A client that stops reading: its stream waits (a bounded number of batches sent), the
    writer of the log never waits, commands are answered, and reading again skips ahead."""
    engine, client, server = served
    service = server.service
    stream = client.watch_log(after_seq=0, limit=reads.LOG_MAX)
    record(engine.logbook, "start")
    next(b for b in stream if b.records)  # then the client stops reading
    long = "x" * 2000  # about 10 MB a batch of 5000: the transport's windows fill at once
    written = 0

    def stalled() -> bool:
        nonlocal written
        before = service.log_batches
        for _ in range(5):
            for _ in range(50):
                record(engine.logbook, long)  # the writer never waits for the client
            written += 50
            time.sleep(reads.LOG_TURN)  # a stream turn or two: would it send more?
        return service.log_batches == before

    deadline = time.monotonic() + WAIT
    while not stalled():
        assert time.monotonic() < deadline, "the stream never stopped sending"
    assert service.log_batches < 20, "batches pile up for a client that does not read"
    assert client.command("stop", "while stalled").trading_state == "ACTIVE"  # answered
    assert engine.stop_requested.is_set()
    newest = engine.logbook.last_seq
    skipped = 0
    for batch in stream:  # reading again: what the transport held, then the newest
        skipped += batch.skipped
        if batch.last_seq >= newest:
            break
    assert skipped > 0, "a client that fell behind is told how many records it missed"
    print(f"{written} records written while stalled; {service.log_batches} batches sent")


def test_the_order_book_and_the_tape(served: Any) -> None:
    engine, client, _ = served
    assert client.order_book("SBER").present is False  # not watched yet
    book = client.watch_book("SBER", 20)
    assert engine.watched == {"SBER": 20} and book.present and book.depth == 20
    assert [(b.price, b.lots) for b in book.bids] == [("300.01", 5), ("300.00", 7)]
    assert (book.asks[0].price, book.limit_up, book.limit_down) == ("300.02", "330.00", "")
    assert datetime.fromtimestamp(book.ts_us / 1e6, UTC) == T0
    with pytest.raises(ControlError, match="depth must be one of 1, 10, 20") as err:
        client.watch_book("SBER", 7)
    assert err.value.code is grpc.StatusCode.INVALID_ARGUMENT
    client.watch_book("SBER", 0)  # stop streaming it
    assert engine.watched == {"SBER": 0}
    tape = client.tape("SBER", 5)
    assert [(t.price, t.lots, t.side) for t in tape.trades] == [
        ("300.01", 2, "buy"),
        ("300.00", 1, ""),
    ]
    assert tape.instrument == "MOEX_SHARE_SBER" and client.tape("GAZP", 5).trades == []
    with pytest.raises(ControlError, match="between 1 and 1000"):
        client.tape("SBER", 0)


def test_the_saved_backtests(served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.backtest.storage import backtests_home

    _, client, _ = served
    monkeypatch.setenv("AVIN_HOME", tempfile.mkdtemp(prefix="avin-bt-"))
    assert client.backtests() == []
    for name in ("20261201-aaa", "20261203-bbb", "broken"):
        folder = backtests_home() / name
        folder.mkdir(parents=True)
        if name != "broken":
            (folder / "report.json").write_text(json.dumps({"strategy": name[-3:]}))
    assert client.backtests() == [
        ("20261203-bbb", {"strategy": "bbb"}),
        ("20261201-aaa", {"strategy": "aaa"}),
    ]
    assert [i for i, _ in client.backtests(limit=1)] == ["20261203-bbb"]
    monkeypatch.setattr(reads, "BACKTESTS_BYTES", 10)  # a bound in bytes: the newest always
    assert [i for i, _ in client.backtests()] == ["20261203-bbb"]


def test_huge_log_records_are_cut_and_a_batch_is_bounded(served: Any) -> None:
    engine, client, _ = served
    engine.logbook = LogBook(capacity=500)
    record(engine.logbook, "small")
    for i in range(200):  # 200 records of 100 000 characters: 20 MB of text
        record(engine.logbook, f"{i:03d}" + "x" * 100_000)
    batch = client.log(after_seq=0, limit=5_000)
    assert batch.records[-1].message.startswith("199x")
    assert batch.records[-1].message.endswith("… (cut: 100003 characters in avin.log)")
    assert len(batch.records[-1].message) < reads.LOG_TEXT + 100
    assert batch.ByteSize() <= reads.LOG_BATCH_BYTES + reads.LOG_TEXT * 4
    newest = len(batch.records)
    assert 100 < newest < 150, newest  # about 32 KB each: about 128 fit in 4 MiB
    assert (batch.skipped, batch.last_seq) == (201 - newest, 201)  # the older ones: skipped
    assert [r.seq for r in batch.records] == list(range(202 - newest, 202))


def test_a_snapshot_stream_of_diffs_rebuilds_every_snapshot(served: Any) -> None:
    engine, client, _ = served
    raw = client.watch(min_interval=0.02, diffs=True)
    assembled = client.watch_status(min_interval=0.02)
    assert next(raw).status_json and next(assembled) == client.status()  # the first: whole
    for step in range(1, 6):
        row = StrategyRow(
            f"s{step + 1}", "sma_cross", "GAZP", "sim-1", "paused", step, Decimal(step)
        )
        engine.rows = [*engine.rows[:1], row, *engine.rows[1:]]  # a row, changed rows
        engine.rows[0] = StrategyRow(
            "s1", "sma_cross", "MOEX_SHARE_SBER", "sim-1", "running", step, Decimal(0)
        )
        engine.version += 1
        patch = next(raw)
        assert not patch.status_json and patch.base_version == engine.version - 1
        assert len(patch.patch_json) < len(client.snapshot().status_json)
        assert next(assembled) == client.status()
        assert EngineSnapshot.from_json(client.status()).version == engine.version
