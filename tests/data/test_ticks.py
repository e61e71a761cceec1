"""The tick store, the recorder and `avin data download TICKER --trades`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.broker.fake_tinvest import DEFAULT_TOKEN, FakeExchange, FakeTInvestServer
from engine.data import trades_download
from engine.data.errors import StoreError
from engine.data.ticks import TICK_SCHEMA, TickStore, bars_from_trades
from engine.model import Bar, MarketTrade, Side
from engine.runtime.market_feed import TickRecorder

from .conftest import strip_ansi

CODE = "MOEX_SHARE_SBER"
T0 = datetime(2026, 11, 24, 15, 39, 58, tzinfo=UTC)


def _trades() -> list[MarketTrade]:
    return [
        MarketTrade(CODE, T0, Decimal("310.01"), 5, Side.BUY),
        MarketTrade(CODE, T0 + timedelta(seconds=1), Decimal("310.00"), 2, Side.SELL),
        MarketTrade(CODE, T0 + timedelta(hours=9), Decimal("311.5"), 1, None),  # the next day
    ]


def test_merge_is_per_day_idempotent_and_round_trips(tmp_path: Path) -> None:
    store = TickStore(tmp_path)
    first = store.merge(CODE, "uid-1", _trades(), "broker:sim")
    assert first.added == 3 and len(first.files) == 2
    assert store.days(CODE) == [T0.date(), (T0 + timedelta(hours=9)).date()]
    assert store.merge(CODE, "uid-1", _trades(), "broker:fake").added == 0  # nothing new
    assert store.trades(CODE) == _trades()
    assert store.read(CODE).schema == TICK_SCHEMA
    assert store.read(CODE, T0 + timedelta(seconds=1), T0 + timedelta(hours=1)).height == 1
    assert store.codes() == [CODE]
    with pytest.raises(StoreError, match="uid-1"):
        store.merge(CODE, "uid-2", [MarketTrade(CODE, T0, Decimal(1), 1)], "x")


def test_bars_from_trades_follow_the_exchange_rule() -> None:
    bars = bars_from_trades(_trades()[:2])
    assert bars == [Bar(T0.replace(second=0), 310.01, 310.01, 310.0, 310.0, 7)]
    assert bars_from_trades([]) == []


def test_a_damaged_day_file_is_a_clear_error(tmp_path: Path) -> None:
    store = TickStore(tmp_path)
    store.merge(CODE, "uid-1", _trades()[:1], "x")
    store.day_path(CODE, T0.date()).write_bytes(b"not parquet")
    with pytest.raises(StoreError, match="Move the damaged file away"):
        store.read(CODE)


def test_the_recorder_keeps_what_it_could_not_write(tmp_path: Path) -> None:
    store = TickStore(tmp_path)
    recorder = TickRecorder(store, "broker:test", lambda code: "uid-1")
    for trade in _trades():
        recorder.add(trade)
    blocker = tmp_path / CODE
    blocker.write_text("a file where the folder should be")  # every write fails
    assert recorder.flush() == 0
    assert recorder.pending == 3 and recorder.failures == 1
    blocker.unlink()
    assert recorder.flush() == 3 and recorder.pending == 0
    assert store.trades(CODE) == _trades()


def test_the_recorder_buffer_is_bounded(tmp_path: Path) -> None:
    recorder = TickRecorder(TickStore(tmp_path), "x", lambda code: "", max_buffer=2)
    for trade in _trades():
        recorder.add(trade)
    assert recorder.pending == 2 and recorder.dropped == 1


# --- avin data download --trades against the fake server ----------------------------------------


@pytest.fixture
def fake_server() -> Iterator[FakeTInvestServer]:
    """The fake server, 90 minutes into a session, on its own loop in a thread (the CLI runs
    asyncio.run itself)."""
    loop = asyncio.new_event_loop()
    server = FakeTInvestServer(exchange=FakeExchange(start=datetime(2025, 3, 3, 7, 0, tzinfo=UTC)))
    server.advance(90)
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_download_trades_through_the_cli(
    fake_server: FakeTInvestServer, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVIN_MODE", "sandbox")
    monkeypatch.setenv("AVIN_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("AVIN_TINVEST_TARGET", fake_server.target)
    now = fake_server.exchange.market.now  # the fake's clock: long before the wall clock
    kept = fake_server.market_data.tape.trades(CODE)

    # the wall clock's last hour has no trade: the hour before the last one is fetched
    result = run_cli("data", "download", "SBER", "--trades")
    assert result.code == 0, result.err
    assert "MOEX_SHARE_SBER" in strip_ansi(result.out)
    stored = TickStore().trades(CODE)
    assert stored and stored == [
        t for t in kept if t.ts >= now + timedelta(seconds=1) - timedelta(hours=1)
    ]

    # while the market trades (the wall clock at the fake's), the last hour: nothing new
    monkeypatch.setattr(trades_download, "wall_clock", lambda: now + timedelta(seconds=1))
    again = run_cli("data", "download", "SBER", "--trades")
    assert again.code == 0, again.err
    assert TickStore().trades(CODE) == stored
    assert " 0 " in strip_ansi(again.out)  # new rows
    listing = strip_ansi(run_cli("data", "list").out)
    assert "stored trades" in listing and CODE in listing and "2025-03-03" in listing


def test_download_needs_a_year_or_trades(run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AVIN_MODE", "sim")
    result = run_cli("data", "download", "SBER")
    assert result.code == 2 and "--from-year" in result.err and "--trades" in result.err
    both = run_cli("data", "download", "SBER", "--trades", "--from-year", "2023")
    assert both.code == 2 and "takes no --from-year" in both.err
    sim = run_cli("data", "download", "SBER", "--trades")
    assert sim.code == 2 and "recorded while avin runs" in sim.err
    assert "Traceback" not in sim.err
