"""MOEX ISS source against the local ISS-shaped server: conversion, paging, faults, resume."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from engine.data.errors import DataError, UnknownInstrumentError
from engine.data.moex import fake
from engine.data.moex.client import IssClient, IssPolicy
from engine.data.moex.source import MoexSource
from engine.data.sources.fetch import fetch_bars, fetch_trades
from engine.data.store import BarStore
from engine.data.ticks import TickStore
from engine.model import TimeFrame

MSK = ZoneInfo("Europe/Moscow")
DAYS = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]  # Mon-Wed
NOW = datetime(2024, 4, 1, tzinfo=UTC)


@pytest.fixture
def iss() -> Iterator[fake.FakeIss]:
    server = fake.FakeIss()
    server.add(fake.SBER, fake.generate_minutes(fake.SBER, DAYS, seed=3, gaps=0.2))
    with fake.serve(server):
        yield server


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def source(iss: fake.FakeIss, sleeps: Sleeps | None = None, **policy: float) -> MoexSource:
    options = {"min_interval": 0.0, "timeout": 2.0, **policy}
    client = IssClient(
        iss.base_url, policy=IssPolicy(**options), sleep=sleeps if sleeps is not None else Sleeps()
    )  # type: ignore[arg-type]
    return MoexSource(client)


def expected(minutes: list[fake.Minute], lot: int) -> pl.DataFrame:
    """The served minutes converted by hand: Moscow -> UTC, shares -> lots (half up)."""
    return pl.DataFrame(
        {
            "ts": [m.begin.replace(tzinfo=MSK).astimezone(UTC) for m in minutes],
            "open": [m.open for m in minutes],
            "high": [m.high for m in minutes],
            "low": [m.low for m in minutes],
            "close": [m.close for m in minutes],
            "volume": [int(m.volume / lot + 0.5) for m in minutes],
        },
        schema=BarStore().read("NOTHING").schema,
    )


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the hash of its bytes."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


async def fetch(src: MoexSource, tmp_path: Path, **kwargs: object) -> list:
    options: dict[str, object] = {
        "since": DAYS[0],
        "until": DAYS[-1],
        "root": tmp_path / "bars",
        "folder": tmp_path / "downloads",
        "now": NOW,
    }
    options.update(kwargs)
    try:
        return await fetch_bars(src, ["SBER"], **options)  # type: ignore[arg-type]
    finally:
        await src.close()


async def test_stored_bars_equal_the_served_ones_in_utc_and_lots(
    iss: fake.FakeIss, tmp_path: Path
) -> None:
    minutes = iss.minutes["SBER"]
    [result] = await fetch(source(iss), tmp_path)
    assert not result.error, result.error
    stored = BarStore(tmp_path / "bars").read("MOEX_SHARE_SBER")
    assert stored.equals(expected(minutes, fake.SBER.lot))
    assert result.bars == result.added == len(minutes)
    # Moscow 10:00 is 07:00 UTC; a minute without trades has no bar (nothing filled in)
    assert stored["ts"][0] == datetime(2024, 3, 4, 7, tzinfo=UTC) or minutes[0].begin.minute
    assert len(minutes) < len(DAYS) * len(fake.session_minutes(DAYS[0]))
    starts = [int(q.get("start", 0)) for p, q in iss.requests if p.endswith("candles.json")]
    assert max(starts) >= 500 and starts.count(0) == 1  # one query, paged through start
    assert {q["till"] for p, q in iss.requests if p.endswith("candles.json")} == {
        "2024-03-07 02:59:59"  # the end of the last UTC day, in Moscow time, inclusive
    }


async def test_the_source_records_moex_iss_and_keeps_1m_in_the_loaded_store(
    iss: fake.FakeIss, tmp_path: Path
) -> None:
    await fetch(source(iss), tmp_path)
    store = BarStore(tmp_path / "bars")
    assert store.meta("MOEX_SHARE_SBER", 2024).sources == ("moex-iss",)
    assert store.instrument_dir("MOEX_SHARE_SBER").name == "1M"


async def test_a_volume_that_is_not_whole_lots_is_rounded_half_up_and_counted(
    tmp_path: Path,
) -> None:
    server = fake.FakeIss()
    minutes = fake.generate_minutes(fake.SBER, DAYS[:1], seed=5, remainder=True)
    server.add(fake.SBER, minutes)
    with fake.serve(server):
        [result] = await fetch(source(server), tmp_path, until=DAYS[0])
    stored = BarStore(tmp_path / "bars").read("MOEX_SHARE_SBER")
    assert stored["volume"].to_list() == [int(m.volume / 10 + 0.5) for m in minutes]
    assert result.remainders == len(minutes)


async def test_security_facts(iss: fake.FakeIss) -> None:
    src = source(iss)
    sec = await src.security("sber")
    inst = await src.instrument("MOEX_SHARE_SBER")
    await src.close()
    assert (sec.lot, sec.step, sec.decimals, sec.isin) == (10, Decimal("0.01"), 2, "RU0009029540")
    assert (inst.code, inst.lot, inst.step, inst.class_code) == (
        "MOEX_SHARE_SBER", 10, Decimal("0.01"), "TQBR",
    )  # fmt: skip


async def test_an_unknown_ticker_is_a_clear_error(iss: fake.FakeIss, tmp_path: Path) -> None:
    src = source(iss)
    with pytest.raises(UnknownInstrumentError, match="ISS knows no share 'NOPE' on the board"):
        await src.instrument("nope")
    [result] = await fetch(src, tmp_path)  # the SBER fetch is fine; NOPE alone fails
    assert not result.error


async def test_a_5xx_is_retried_with_backoff(iss: fake.FakeIss, tmp_path: Path) -> None:
    sleeps = Sleeps()
    iss.faults_at[("candles", 500)] = ["500", "500"]
    [result] = await fetch(source(iss, sleeps), tmp_path)
    assert not result.error
    assert len(sleeps) == 2 and 1.0 <= sleeps[0] < sleeps[1] <= 2.4  # 1 s, 2 s, jittered
    assert BarStore(tmp_path / "bars").read("MOEX_SHARE_SBER").height == len(iss.minutes["SBER"])


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("500", "server error (HTTP 500)"),
        ("timeout", "no answer within 0.3 s"),
        ("malformed", "the answer is not JSON"),
        ("empty", "an empty answer"),
        ("noblock", "has no 'candles' table"),
    ],
)
async def test_a_bad_answer_is_a_clear_error_and_leaves_the_store_as_it_was(
    iss: fake.FakeIss, tmp_path: Path, fault: str, message: str
) -> None:
    await fetch(source(iss), tmp_path, since=DAYS[0], until=DAYS[0])
    before = tree(tmp_path)
    iss.faults_at[("candles", 500)] = [fault] * 5  # the 2nd page of the next chunk fails
    [result] = await fetch(source(iss, timeout=0.3), tmp_path, since=DAYS[1])
    assert message in result.error
    assert "ISS" in result.error and ("again" in result.error or "--base-url" in result.error)
    assert tree(tmp_path) == before  # no bar of the failed chunk, nothing rewritten


async def test_a_failed_chunk_keeps_the_whole_chunks_before_it_and_a_rerun_resumes(
    iss: fake.FakeIss, tmp_path: Path
) -> None:
    class OneDayChunks(MoexSource):
        def chunk_days(self, timeframe: TimeFrame) -> int:
            return 1

    def one_day(server: fake.FakeIss) -> MoexSource:
        return OneDayChunks(IssClient(server.base_url, policy=IssPolicy(min_interval=0),
                                      sleep=Sleeps()))  # fmt: skip

    third_day = DAYS[2].isoformat()
    plan = iss.faults_at
    original = iss.answer

    def failing(path: str, query: dict[str, str]) -> tuple[int, bytes]:
        if path.endswith("candles.json") and query.get("from", "").startswith(third_day):
            return 500, b"down"
        return original(path, query)

    iss.answer = failing  # type: ignore[method-assign]
    [first] = await fetch(one_day(iss), tmp_path)
    assert "HTTP 500" in first.error and first.chunks == 2
    stored = BarStore(tmp_path / "bars").read("MOEX_SHARE_SBER")
    days = {ts.astimezone(MSK).date() for ts in stored["ts"].to_list()}
    assert days == set(DAYS[:2])  # whole days only
    iss.answer = original  # type: ignore[method-assign]
    iss.requests.clear()
    [second] = await fetch(one_day(iss), tmp_path)
    assert not second.error and second.skipped_days == 2 and second.chunks == 1
    froms = {q["from"][:10] for p, q in iss.requests if p.endswith("candles.json")}
    assert froms == {third_day}  # the days stored whole were not fetched again
    assert not plan
    stored = BarStore(tmp_path / "bars").read("MOEX_SHARE_SBER")
    assert stored.equals(expected(iss.minutes["SBER"], 10))


async def test_update_continues_from_the_last_stored_bar(iss: fake.FakeIss, tmp_path: Path) -> None:
    await fetch(source(iss), tmp_path, until=DAYS[0])
    iss.requests.clear()
    [result] = await fetch(
        source(iss), tmp_path, since=None, until=None, continue_from_store=True,
        folder=tmp_path / "other",  # no coverage record: the store alone says where to go on
    )  # fmt: skip
    assert not result.error and result.since == DAYS[0]
    froms = sorted(q["from"] for p, q in iss.requests if p.endswith("candles.json"))
    assert froms[0] == "2024-03-04 03:00:00"  # the stored day is fetched again, not earlier
    assert BarStore(tmp_path / "bars").read("MOEX_SHARE_SBER").height == len(iss.minutes["SBER"])


async def test_days_without_trades_store_nothing_and_are_no_error(tmp_path: Path) -> None:
    server = fake.FakeIss()
    server.add(fake.SBER, fake.generate_minutes(fake.SBER, [DAYS[0]], seed=1))
    with fake.serve(server):  # Sat 2 - Sun 3 March have no candles at all
        [empty] = await fetch(
            source(server), tmp_path, since=date(2024, 3, 2), until=date(2024, 3, 3)
        )
        [full] = await fetch(source(server), tmp_path, since=date(2024, 3, 2), until=DAYS[0])
    assert not empty.error and empty.bars == 0 and empty.chunks == 1
    assert not BarStore(tmp_path / "bars").has("MOEX_SHARE_SBER") or full.added
    assert full.added == len(server.minutes["SBER"])


async def test_the_minute_in_progress_is_not_stored(iss: fake.FakeIss, tmp_path: Path) -> None:
    now = datetime(2024, 3, 6, 8, 30, 30, tzinfo=UTC)  # 11:30:30 Moscow
    [result] = await fetch(source(iss), tmp_path, now=now)
    stored = BarStore(tmp_path / "bars").read("MOEX_SHARE_SBER")
    assert stored["ts"].max() < datetime(2024, 3, 6, 8, 30, tzinfo=UTC)
    assert not result.error


async def test_day_candles_start_at_midnight_utc_in_their_own_folder(
    iss: fake.FakeIss, tmp_path: Path
) -> None:
    [result] = await fetch(source(iss), tmp_path, timeframe=TimeFrame.D)
    assert not result.error
    daily = BarStore(tmp_path / "bars", timeframe="D")
    bars = daily.read("MOEX_SHARE_SBER")
    assert bars["ts"].to_list() == [datetime(d.year, d.month, d.day, tzinfo=UTC) for d in DAYS]
    one_day = [m for m in iss.minutes["SBER"] if m.begin.date() == DAYS[0]]
    assert bars.row(0)[1:] == (
        one_day[0].open,
        max(m.high for m in one_day),
        min(m.low for m in one_day),
        one_day[-1].close,
        sum(int(m.volume / 10 + 0.5) for m in one_day),
    )
    assert not BarStore(tmp_path / "bars").has("MOEX_SHARE_SBER")  # 1M untouched


async def test_a_timeframe_iss_does_not_serve_is_refused(iss: fake.FakeIss, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no 5M bars"):
        await fetch(source(iss), tmp_path, timeframe=TimeFrame.M5)


async def test_trades_of_one_day_in_utc_and_lots(iss: fake.FakeIss, tmp_path: Path) -> None:
    iss.add_trades("SBER", DAYS[0], [("10:00:00", 280.0, 30, "B"), ("10:00:00", 280.01, 10, "S"),
                                     ("18:39:59", 281.5, 200, "B")])  # fmt: skip
    iss.trades_page = 2
    src = source(iss)
    store = TickStore(tmp_path / "ticks")
    [result] = await fetch_trades(src, ["SBER"], day=DAYS[0], store=store)
    await src.close()
    assert not result.error and result.added == 3
    stored = store.read("MOEX_SHARE_SBER")
    assert stored.rows() == [
        (datetime(2024, 3, 4, 7, tzinfo=UTC), 280.0, 3, 1),
        (datetime(2024, 3, 4, 7, tzinfo=UTC), 280.01, 1, 2),
        (datetime(2024, 3, 4, 15, 39, 59, tzinfo=UTC), 281.5, 20, 1),
    ]
    assert [int(q.get("start", 0)) for p, q in iss.requests if "trades" in p] == [
        0,
        2,
        3,
    ]  # the end: an empty page


async def test_trades_of_a_day_iss_no_longer_serves_are_refused(
    iss: fake.FakeIss, tmp_path: Path
) -> None:
    iss.add_trades("SBER", DAYS[1], [("10:00:00", 280.0, 30, "B")])
    src = source(iss)
    [result] = await fetch_trades(src, ["SBER"], day=DAYS[0], store=TickStore(tmp_path / "t"))
    await src.close()
    assert "serves the trades of 2024-03-05 only" in result.error
    assert not (tmp_path / "t").exists()


async def test_a_failed_trades_page_stores_nothing(iss: fake.FakeIss, tmp_path: Path) -> None:
    iss.add_trades("SBER", DAYS[0], [("10:00:00", 280.0, 30, "B")] * 3)
    iss.trades_page = 1
    iss.faults_at[("trades", 2)] = ["malformed"] * 5
    src = source(iss)
    [result] = await fetch_trades(src, ["SBER"], store=TickStore(tmp_path / "t"))
    await src.close()
    assert "not JSON" in result.error
    assert not (tmp_path / "t").exists()


def test_the_moscow_offset_of_old_dates_comes_from_the_zone_database() -> None:
    from engine.data.moex.client import Table
    from engine.data.moex.convert import candles

    row = [100.0, 100.0, 100.0, 100.0, 0.0, 10, "2013-07-01 10:00:00", "2013-07-01 10:00:59"]
    frame = candles(Table(fake.CANDLE_COLUMNS, [row]), TimeFrame.M1, 10).frame
    assert frame["ts"][0] == datetime(2013, 7, 1, 6, tzinfo=UTC)  # MSK was UTC+4 then
    assert frame["ts"][0] + timedelta(0) != datetime(2013, 7, 1, 7, tzinfo=UTC)


@pytest.mark.parametrize(("timeframe", "interval"), [(TimeFrame.H1, 60), (TimeFrame.M10, 10)])
async def test_hour_and_ten_minute_candles_equal_the_served_ones_in_their_folder(
    iss: fake.FakeIss, tmp_path: Path, timeframe: TimeFrame, interval: int
) -> None:
    [result] = await fetch(source(iss), tmp_path, timeframe=timeframe)
    assert not result.error, result.error
    served = fake.candles(iss.minutes["SBER"], interval)  # ISS rows: o, c, h, l, value, volume
    stored = BarStore(tmp_path / "bars", timeframe=timeframe.code).read("MOEX_SHARE_SBER")
    moscow = [datetime.strptime(row[6], "%Y-%m-%d %H:%M:%S").replace(tzinfo=MSK) for row in served]
    assert stored["ts"].to_list() == [ts.astimezone(UTC) for ts in moscow]
    assert stored.select("open", "high", "low", "close", "volume").rows() == [
        (o, h, lo, c, int(v / 10 + 0.5)) for o, c, h, lo, _, v, *_ in served
    ]


async def test_a_429_waits_as_long_as_the_server_asks(iss: fake.FakeIss, tmp_path: Path) -> None:
    sleeps = Sleeps()
    iss.retry_after = 7
    iss.faults_at[("candles", 0)] = ["429"]
    [result] = await fetch(source(iss, sleeps), tmp_path)
    assert not result.error and sleeps == [7.0]


async def test_requests_are_spaced_by_the_polite_interval(iss: fake.FakeIss) -> None:
    from engine.data.moex.client import IssClient, IssPolicy

    now = [100.0]
    sleeps = Sleeps()
    client = IssClient(
        iss.base_url, policy=IssPolicy(min_interval=0.5), sleep=sleeps, clock=lambda: now[0]
    )
    path = "iss/engines/stock/markets/shares/boards/TQBR/securities/SBER.json"
    await client.page(path, "securities", {})
    now[0] += 0.2  # the next request comes 0.2 s later: it waits the other 0.3 s
    await client.page(path, "securities", {})
    now[0] += 5.0  # long after: no wait
    await client.page(path, "securities", {})
    await client.close()
    assert sleeps == [pytest.approx(0.3)] and client.requests == 3


async def test_a_server_that_ignores_start_is_an_error_not_an_endless_loop(
    iss: fake.FakeIss, tmp_path: Path
) -> None:
    original = iss.answer

    def no_paging(path: str, query: dict[str, str]) -> tuple[int, bytes]:
        return original(path, {k: v for k, v in query.items() if k != "start"})

    iss.answer = no_paging  # type: ignore[method-assign]
    [result] = await fetch(source(iss), tmp_path)
    assert "sent the same page again for start=500" in result.error
    assert not (tmp_path / "bars").exists()


async def test_days_stored_whole_from_one_board_do_not_skip_another(
    iss: fake.FakeIss, tmp_path: Path
) -> None:
    await fetch(source(iss), tmp_path)
    iss.board = "SMAL"
    other = MoexSource(IssClient(iss.base_url, policy=IssPolicy(min_interval=0)), board="SMAL")
    [result] = await fetch(other, tmp_path)
    assert not result.error and result.skipped_days == 0 and result.chunks == 1
    again = MoexSource(IssClient(iss.base_url, policy=IssPolicy(min_interval=0)), board="SMAL")
    [second] = await fetch(again, tmp_path)
    assert second.skipped_days == len(DAYS) and second.chunks == 0
