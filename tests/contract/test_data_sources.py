"""The contract every data source keeps (engine.data.sources.protocol.DataSource).

One suite, parametrised over the sources: MOEX ISS against the local ISS-shaped server, the
T-Invest API through the simulated market's history and through the fake T-Invest server, the
T-Invest archives against the local history server, and the template (a CSV folder). A new source
adds a case to ``CASES`` (docs/adapters.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engine.data.errors import DataError
from engine.data.schema import BAR_SCHEMA
from engine.data.sources.fetch import fetch_bars
from engine.data.sources.protocol import DataSource
from engine.data.store import BarStore
from engine.data.ticks import TICK_SCHEMA
from engine.model import TimeFrame

MONDAY = date(2023, 1, 2)


@dataclass
class Case:
    """A source ready to use, the ticker it has, a range with bars and one without."""

    source: DataSource
    ticker: str
    begin: datetime
    end: datetime
    empty: tuple[datetime, datetime]


def _utc(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)


@contextlib.asynccontextmanager
async def moex(tmp_path: Path) -> AsyncIterator[Case]:
    from engine.data.moex import fake
    from engine.data.moex.client import IssClient, IssPolicy
    from engine.data.moex.source import MoexSource

    server = fake.FakeIss()
    server.add(fake.SBER, fake.generate_minutes(fake.SBER, [MONDAY], seed=2))
    with fake.serve(server):
        client = IssClient(server.base_url, policy=IssPolicy(min_interval=0, timeout=5))
        yield Case(MoexSource(client), "SBER", _utc(MONDAY), _utc(MONDAY, 24),
                   (_utc(MONDAY - timedelta(days=1)), _utc(MONDAY)))  # fmt: skip


@contextlib.asynccontextmanager
async def tinvest_sim(tmp_path: Path) -> AsyncIterator[Case]:
    from engine.data.sources.tinvest import TInvestApiSource
    from engine.runtime.data_broker import SimHistory

    sunday = MONDAY - timedelta(days=1)
    yield Case(TInvestApiSource(SimHistory(seed=3)), "SBER", _utc(MONDAY, 7), _utc(MONDAY, 12),
               (_utc(sunday), _utc(MONDAY)))  # fmt: skip


@contextlib.asynccontextmanager
async def tinvest_fake_server(tmp_path: Path) -> AsyncIterator[Case]:
    from engine.broker.fake_tinvest import FakeExchange, FakeTInvestServer
    from engine.data.sources.tinvest import TInvestApiSource
    from tests.tinvest.helpers import START, make_broker

    server = FakeTInvestServer(exchange=FakeExchange(start=START))
    await server.start()
    try:
        friday = START - timedelta(days=3)
        yield Case(TInvestApiSource(make_broker(server.target)), "SBER", friday,
                   friday + timedelta(hours=5), (START - timedelta(days=1), START))  # fmt: skip
    finally:
        await asyncio.wait_for(server.stop(), 10)


@contextlib.asynccontextmanager
async def tinvest_archive(tmp_path: Path) -> AsyncIterator[Case]:
    from engine.data.history_client import HistoryClient
    from engine.data.instruments import InstrumentCache
    from engine.data.sources.tinvest import TInvestArchiveSource
    from tests.data.conftest import HistoryServer, _handler

    state = HistoryServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/history-data"
    try:
        client = HistoryClient("good-token-123", base_url=state.base_url, sleep=lambda s: None)
        cache = InstrumentCache(tmp_path / "instruments.parquet")
        yield Case(TInvestArchiveSource(client, cache), "SBER", _utc(MONDAY), _utc(MONDAY, 24),
                   (_utc(date(2023, 1, 1)), _utc(MONDAY)))  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()


@contextlib.asynccontextmanager
async def template(tmp_path: Path) -> AsyncIterator[Case]:
    from engine.data.sources.template import CsvFolderSource

    (tmp_path / "instruments.csv").write_text("ticker,lot,step,name\nSBER,10,0.01,Sberbank\n")
    rows = ["ts,open,high,low,close,volume"]
    for minute in range(60):
        ts = _utc(MONDAY, 7) + timedelta(minutes=minute)
        rows.append(f"{ts.isoformat()},100,{100 + minute % 3},99,100.5,{10 * (minute + 1)}")
    (tmp_path / "SBER.csv").write_text("\n".join(rows) + "\n")
    yield Case(CsvFolderSource(tmp_path), "SBER", _utc(MONDAY), _utc(MONDAY, 24),
               (_utc(MONDAY - timedelta(days=1)), _utc(MONDAY)))  # fmt: skip


@contextlib.asynccontextmanager
async def remote(tmp_path: Path) -> AsyncIterator[Case]:
    from engine.data.instruments import InstrumentCache
    from engine.data.service import DataService
    from engine.data.sources.remote import RemoteSource
    from engine.data.synthetic import minute_bars

    served = BarStore(tmp_path / "served")
    served.merge("MOEX_SHARE_SBER", "sim-sber-0001", minute_bars([MONDAY], seed=5), "test")
    token = "contract-token-0123456789"
    service = DataService(
        token, store=served, instruments=InstrumentCache(tmp_path / "served-instruments.parquet")
    )
    thread = threading.Thread(target=service.serve, daemon=True)
    thread.start()
    try:
        yield Case(RemoteSource(f"127.0.0.1:{service.port}", token), "SBER", _utc(MONDAY),
                   _utc(MONDAY, 24), (_utc(MONDAY - timedelta(days=1)), _utc(MONDAY)))  # fmt: skip
    finally:
        service.shutdown()
        thread.join(timeout=10)


CASES: dict[str, Callable[[Path], Any]] = {
    "remote": remote,
    "moex": moex,
    "tinvest-sim": tinvest_sim,
    "tinvest-fake-server": tinvest_fake_server,
    "tinvest-archive": tinvest_archive,
    "template": template,
}


@pytest.fixture(params=sorted(CASES))
async def case(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Case]:
    async with CASES[request.param](tmp_path) as made:
        await made.source.open()
        try:
            yield made
        finally:
            await made.source.close()


def test_it_is_a_data_source(case: Case) -> None:
    assert isinstance(case.source, DataSource)
    assert case.source.name and "," not in case.source.name  # avin.source is a comma list
    assert TimeFrame.M1 in case.source.timeframes
    assert all(case.source.chunk_days(tf) >= 1 for tf in case.source.timeframes)


async def test_an_instrument_has_its_code_lot_and_step(case: Case) -> None:
    inst = await case.source.instrument(case.ticker)
    assert inst.code == f"MOEX_SHARE_{case.ticker}" and inst.lot >= 1 and inst.step > 0
    assert (await case.source.instrument(inst.code)).code == inst.code


async def test_an_unknown_instrument_is_a_data_error(case: Case) -> None:
    with pytest.raises(DataError):
        await case.source.instrument("NOSUCHTICKER")


async def test_bars_are_in_the_store_schema_inside_the_half_open_range(case: Case) -> None:
    inst = await case.source.instrument(case.ticker)
    bars = await case.source.bars(inst, TimeFrame.M1, case.begin, case.end)
    assert bars.schema == BAR_SCHEMA and bars.height > 0
    ts = bars["ts"]
    assert ts.min() >= case.begin and ts.max() < case.end  # type: ignore[operator]
    assert ts.is_sorted() and ts.n_unique() == bars.height
    assert (ts.dt.second() == 0).all() and (ts.dt.nanosecond() == 0).all()
    assert bars.filter(
        (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("low") <= 0)
        | (pl.col("volume") < 0)
    ).is_empty()
    inner = await case.source.bars(inst, TimeFrame.M1, ts[1], ts[3])
    assert inner["ts"].to_list() == ts[1:3].to_list()  # begin included, end excluded


async def test_a_range_without_trading_is_an_empty_frame(case: Case) -> None:
    inst = await case.source.instrument(case.ticker)
    bars = await case.source.bars(inst, TimeFrame.M1, *case.empty)
    assert bars.is_empty() and bars.schema == BAR_SCHEMA


async def test_trades_are_ticks_or_a_clear_refusal(case: Case) -> None:
    inst = await case.source.instrument(case.ticker)
    try:
        ticks = await case.source.trades(inst, case.begin.date())
    except DataError as exc:
        assert exc.hint  # says what to do instead
        return
    assert ticks.schema == TICK_SCHEMA


async def test_a_second_download_adds_nothing(case: Case, tmp_path: Path) -> None:
    options: dict[str, Any] = {
        "since": case.begin.date(),
        "until": case.begin.date(),
        "root": tmp_path / "store",
        "folder": tmp_path / "downloads",
        "now": case.end + timedelta(days=2),
    }
    [first] = await fetch_bars(case.source, [case.ticker], **options)
    assert not first.error and first.added > 0
    before = BarStore(tmp_path / "store").read(f"MOEX_SHARE_{case.ticker}")
    [second] = await fetch_bars(case.source, [case.ticker], **options | {"folder": tmp_path})
    assert not second.error and second.added == 0
    assert BarStore(tmp_path / "store").read(f"MOEX_SHARE_{case.ticker}").equals(before)


def test_every_source_of_the_command_line_is_in_the_suite() -> None:
    from engine.data.sources.registry import SOURCES

    covered = {
        "moex": "moex",
        "tinvest": "tinvest-sim",
        "tinvest-archive": "tinvest-archive",
        "remote": "remote",
    }
    assert set(SOURCES) == set(covered) and set(covered.values()) <= set(CASES)
