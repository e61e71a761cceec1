from datetime import UTC, datetime

import polars as pl

from engine.broker.sim import SIM_INSTRUMENTS, SimBroker, generate_bars
from engine.data import BarStore
from engine.runtime.history import load_history

SBER = SIM_INSTRUMENTS[0]
DAY1 = datetime(2024, 3, 4, tzinfo=UTC)  # Monday
DAY2 = datetime(2024, 3, 5, tzinfo=UTC)
END = datetime(2024, 3, 5, 12, tzinfo=UTC)


async def test_store_first_then_broker_after_the_last_stored_bar() -> None:
    broker = SimBroker(seed=3, start=END, realtime=False)
    stored = generate_bars(SBER, DAY1, DAY2, seed=3).with_columns(
        pl.lit(999_999_999).alias("volume")
    )
    BarStore().merge(SBER.code, SBER.uid, stored, "test")

    bars = await load_history(broker, SBER, DAY1, END, use_store=True)

    assert [b.volume for b in bars[: len(stored)]] == [999_999_999] * len(stored)
    fresh = bars[len(stored) :]
    assert fresh and fresh[0].ts >= DAY2 and fresh[-1].ts < END
    assert all(b.volume != 999_999_999 for b in fresh)
    assert [b.ts for b in bars] == sorted({b.ts for b in bars})  # no gap-joins, no duplicates


async def test_without_the_store_only_the_broker() -> None:
    broker = SimBroker(seed=3, start=END, realtime=False)
    stored = generate_bars(SBER, DAY1, DAY2, seed=3).with_columns(
        pl.lit(999_999_999).alias("volume")
    )
    BarStore().merge(SBER.code, SBER.uid, stored, "test")
    bars = await load_history(broker, SBER, DAY1, END, use_store=False)
    assert bars and all(b.volume != 999_999_999 for b in bars)


async def test_empty_store_falls_back_to_the_broker() -> None:
    broker = SimBroker(seed=3, start=END, realtime=False)
    bars = await load_history(broker, SBER, DAY1, END, use_store=True)
    assert bars[0].ts == datetime(2024, 3, 4, 7, tzinfo=UTC)
