"""update: chunked candle requests, incomplete candles, resume, the simulated market."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from engine.data.store import BarStore
from engine.data.update import chunks, update
from engine.model import Bar, Instrument, TimeFrame
from engine.runtime.data_broker import SimHistory

NOW = datetime(2024, 3, 6, 12, 30, 25, tzinfo=UTC)


class FakeBroker:
    """Candles for every minute; records requests; the current minute comes back too."""

    name = "fake"

    def __init__(self, sim: SimHistory) -> None:
        self.sim = sim
        self.calls: list[tuple[datetime, datetime]] = []

    async def find_instrument(self, query: str) -> Instrument:
        return await self.sim.find_instrument(query)

    async def candles(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[Bar]:
        assert timeframe is TimeFrame.M1
        assert end - begin <= timedelta(days=1), "window limit for 1-minute candles"
        self.calls.append((begin, end))
        bars: list[Bar] = []
        ts = begin
        while ts < end:
            bars.append(Bar(ts, 10.0, 11.0, 9.0, 10.5, 1))
            ts += timedelta(minutes=1)
        if begin <= NOW.replace(second=0) < end:
            pass  # included above: the incomplete minute 12:30
        bars.append(Bar(begin, 10.0, 9.0, 11.0, 10.0, 1))  # an invalid duplicate, ignored
        return bars


def test_chunks_cover_the_range() -> None:
    begin = datetime(2024, 1, 1, 5, tzinfo=UTC)
    parts = chunks(begin, begin + timedelta(days=2, hours=3), timedelta(days=1))
    assert [b - a for a, b in parts] == [timedelta(days=1), timedelta(days=1), timedelta(hours=3)]
    assert parts[0][0] == begin and all(parts[i][1] == parts[i + 1][0] for i in range(2))


def test_update_fills_from_the_last_stored_bar_and_drops_the_open_minute() -> None:
    store = BarStore()
    last = datetime(2024, 3, 3, 23, 0, tzinfo=UTC)
    seed = pl.DataFrame(
        {"ts": [last], "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1]}
    ).with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))
    store.merge("MOEX_SHARE_SBER", "sim-sber-0001", seed, "test")
    broker = FakeBroker(SimHistory())
    [result] = update(["SBER"], broker=broker, now=NOW)
    assert result.error == ""
    assert broker.calls[0][0] == last + timedelta(minutes=1)
    assert broker.calls[-1][1] == datetime(2024, 3, 6, 12, 30, tzinfo=UTC)
    assert len(broker.calls) == 3
    stored = store.read("MOEX_SHARE_SBER")
    assert stored["ts"].max() == datetime(2024, 3, 6, 12, 29, tzinfo=UTC)
    expected_minutes = int((datetime(2024, 3, 6, 12, 30, tzinfo=UTC) - last).total_seconds() // 60)
    assert stored.height == expected_minutes
    assert result.invalid == 3
    # a second run has nothing left to fetch
    [again] = update(["SBER"], broker=broker, now=NOW)
    assert (again.requests, again.added) == (0, 0)


def test_update_on_the_simulated_market() -> None:
    now = datetime(2024, 3, 6, 12, 0, tzinfo=UTC)
    broker = SimHistory(now=now)
    [result] = update(["GAZP"], broker=broker, now=now, since=datetime(2024, 3, 4, tzinfo=UTC))
    assert result.error == "" and result.added > 0
    stored = BarStore().read("MOEX_SHARE_GAZP")
    assert stored["ts"].min() == datetime(2024, 3, 4, 7, 0, tzinfo=UTC)
    assert stored["ts"].max() == datetime(2024, 3, 6, 11, 59, tzinfo=UTC)
    assert BarStore().meta("MOEX_SHARE_GAZP", 2024).sources == ("broker:sim",)


def test_update_of_an_unknown_instrument_is_reported() -> None:
    [result] = update(["NOPE"], broker=SimHistory(), now=NOW)
    assert "NOPE" in result.error
