"""Parameter sweeps: the grid syntax, and every row equals a single backtest with its parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.backtest.session import Market, run_backtest
from engine.backtest.sweep import (
    METRICS,
    GridError,
    SweepJob,
    combinations,
    parse_grid,
    summary_row,
    sweep,
)
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars


def test_lists_and_inclusive_ranges() -> None:
    grid = parse_grid(["fast=5:15:5", "slow=20,30", "mode=fast", "k=0.5:1.0:0.25"])
    assert grid == {
        "fast": [5, 10, 15],
        "slow": [20, 30],
        "mode": ["fast"],
        "k": [0.5, 0.75, 1.0],
    }
    combos = combinations({"fast": [5, 10], "slow": [20, 30]})
    assert combos == [
        {"fast": 5, "slow": 20},
        {"fast": 5, "slow": 30},
        {"fast": 10, "slow": 20},
        {"fast": 10, "slow": 30},
    ]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["fast"], "NAME=V1,V2"),
        (["=1,2"], "NAME=V1,V2"),
        (["fast=1,2", "fast=3"], "twice"),
        (["fast=1,1"], "listed twice"),
        (["fast=1,,2"], "empty value"),
        (["fast=1:5"], "START:STOP:STEP"),
        (["fast=a:5:1"], "must be numbers"),
        (["fast=1:5:0"], "STEP must be positive"),
        (["fast=5:1:1"], "below START"),
        (["a=1:400:1", "b=1:400:1"], "160,000 combinations"),
    ],
)
def test_bad_grids_say_what_is_wrong(items: list[str], message: str) -> None:
    with pytest.raises(GridError, match=message):
        parse_grid(items)


def _job() -> SweepJob:
    inst = SIM_INSTRUMENTS[1]
    bars = generate_bars(inst, datetime(2024, 1, 8, tzinfo=UTC), datetime(2024, 1, 16, tzinfo=UTC))
    return SweepJob("sma_cross", (Market(inst, bars),))


@pytest.mark.parametrize("workers", [1, 2], ids=["here", "two-processes"])
def test_each_row_equals_a_single_backtest(workers: int) -> None:
    job = _job()
    combos = combinations(parse_grid(["fast=3,5", "slow=12:20:8"]))
    rows = list(sweep(job, combos, workers=workers))
    assert [{k: r[k] for k in ("fast", "slow")} for r in rows] == combos
    for combo, row in zip(combos, rows, strict=True):
        single = run_backtest("sma_cross", job.markets, params=combo)
        assert row == summary_row(combo, single)
        assert list(row)[2:] == list(METRICS)
    assert len({r["net_pnl"] for r in rows}) > 1, "the grid should change the results"
    assert all(r["trades"] > 0 for r in rows)


def test_a_bad_combination_fails_the_sweep_with_the_strategy_s_message() -> None:
    job = _job()
    with pytest.raises(ValueError, match=r"fast .* must be shorter than slow"):
        list(sweep(job, combinations({"fast": [30], "slow": [10]}), workers=1))


def test_workers_read_the_shared_bars_with_or_without_pyarrow(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The binary ships without pyarrow: the workers then read the Arrow file with polars."""
    import sys

    from engine.backtest.sweep import _mapped

    bars = _job().markets[0].bars
    path = tmp_path / "bars.arrow"
    bars.write_ipc(path, compression="uncompressed")
    assert _mapped(str(path)).equals(bars)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert _mapped(str(path)).equals(bars)


def test_a_python_without_process_pools_runs_the_sweep_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The binary's Python has no sem_open: creating the pool fails with ImportError, and the
    sweep runs in this process with a note instead of crashing."""
    import multiprocessing.context

    from engine.backtest.sweep import local_pool

    def no_pool(*args: object, **kwargs: object) -> None:
        raise ImportError("This platform lacks a functioning sem_open implementation")

    monkeypatch.setattr(multiprocessing.context.SpawnContext, "Pool", no_pool)
    job = _job()
    combos = combinations({"fast": [3, 5], "slow": [12]})
    pool = local_pool(job, 2, len(combos))
    rows = list(sweep(job, combos, pool=pool))
    assert rows == list(sweep(job, combos, workers=1))
    assert "sem_open" in pool.note and pool.workers == 1
