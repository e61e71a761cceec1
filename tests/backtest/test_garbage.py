"""A backtest leaves its orders, fills and trades to reference counting, not to the cyclic garbage
collector: a full collection over a run's objects (at the latest when the process ends) is a
noticeable share of a long ``avin backtest`` (issue #19)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.backtest.session import Market, run_backtest
from engine.model import Fill, Order, Trade
from tests.backtest.helpers import INST
from tests.backtest.test_sparse import walk


@pytest.fixture
def saved_garbage() -> Iterator[list[object]]:
    gc.collect()  # whatever earlier tests left
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def test_a_backtest_leaves_no_cycles_holding_its_orders(saved_garbage: list[object]) -> None:
    report = run_backtest("sma_cross", [Market(INST, walk(5, 2000))], params={"fast": 3, "slow": 7})
    assert report.trades.height > 50
    del report
    gc.collect()
    left = [o for o in saved_garbage if isinstance(o, Order | Fill | Trade)]
    assert left == []


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was_found(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        run_backtest("sma_cross", [Market(INST, walk(5, 200))], params={"fast": 3, "slow": 7})
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_the_command_pauses_the_collector_until_its_report_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.backtest.storage as storage
    from avin_tui.cli import main

    seen: list[bool] = []
    finish = storage.ReportSaver.finish

    def saving(self: storage.ReportSaver, report: Any) -> Path:
        seen.append(gc.isenabled())  # (in the saving thread: the collector is the process's)
        return finish(self, report)

    monkeypatch.setattr(storage.ReportSaver, "finish", saving)
    data = tmp_path / "bars.csv"
    walk(5, 500).write_csv(data)
    assert gc.isenabled()
    assert main(["backtest", "sma_cross", "--data", str(data), "--quiet"]) == 0
    assert seen == [False]  # the trade list, the table and the saved report: no collection
    assert gc.isenabled()  # and the collector back as it was


def test_a_sweep_runs_with_the_collector_and_a_bad_command_leaves_it_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import avin_tui.cli.sweep as sweep
    from avin_tui.cli import main

    seen: list[bool] = []
    monkeypatch.setattr(sweep, "run_sweep", lambda args, job: seen.append(gc.isenabled()) or 0)
    data = tmp_path / "bars.csv"
    walk(5, 300).write_csv(data)
    assert main(["backtest", "sma_cross", "--data", str(data), "--grid", "fast=3,4"]) == 0
    assert seen == [True]  # long, many backtests: the collector as usual between them
    with pytest.raises(SystemExit):
        main(["backtest", "sma_cross", "--no-such-option"])
    assert gc.isenabled()
