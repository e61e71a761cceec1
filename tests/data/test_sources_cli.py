"""`avin data download --source tinvest`: the configured broker's candles through the DataSource
layer (on the simulated market without a token: the simulator's deterministic history)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from engine.data.store import BarStore
from engine.model import TimeFrame
from engine.runtime.data_broker import SimHistory, open_broker

Run = Any


def test_download_from_the_broker_stores_its_candles_and_resumes(run_cli: Run) -> None:
    args = ("data", "download", "SBER", "--source", "tinvest", "--from", "2024-03-04",
            "--to", "2024-03-05", "--no-progress")  # fmt: skip
    first = run_cli(*args)
    assert first.code == 0, first.err
    history = open_broker()  # the configured mode's: SimHistory with the settings' seed
    assert isinstance(history, SimHistory)
    inst = asyncio.run(history.find_instrument("SBER"))
    begin, end = datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC)
    expected = asyncio.run(history.candles(inst, TimeFrame.M1, begin, end))
    stored = BarStore().read(inst.code)
    assert stored["ts"].to_list() == [bar.ts for bar in expected]
    assert stored["volume"].to_list() == [bar.volume for bar in expected]
    assert BarStore().meta(inst.code, 2024).sources == ("broker:sim",)
    again = run_cli(*args)
    assert again.code == 0 and "2 days already stored whole" in again.out


def test_the_broker_source_refuses_a_timeframe_it_has_not(run_cli: Run) -> None:
    result = run_cli("data", "download", "SBER", "--source", "tinvest", "--from", "2024-03-04",
                     "--tf", "W", "--no-progress")  # fmt: skip
    assert result.code == 2 and "has no W bars" in result.err
