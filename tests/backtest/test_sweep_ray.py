"""Sweeps on Ray (``--ray``): the same rows as the local pool, on a local Ray; a plain error
without Ray installed."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from avin_tui.cli import main
from engine.backtest.session import Market
from engine.backtest.sweep import LocalPool, SweepJob, Task, combinations, sweep
from engine.backtest.walk_forward import Period, span, usable, walk, windows
from engine.broker.sim import SIM_INSTRUMENTS, generate_bars

HAS_RAY = importlib.util.find_spec("ray") is not None


def _job() -> SweepJob:
    inst = SIM_INSTRUMENTS[1]
    bars = generate_bars(inst, datetime(2024, 1, 8, tzinfo=UTC), datetime(2024, 1, 12, tzinfo=UTC))
    return SweepJob("sma_cross", (Market(inst, bars),))


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'avin[ray]')")
def test_ray_rows_equal_the_local_pool_s(local_ray: None) -> None:
    from engine.backtest.ray_pool import RayPool

    job = _job()
    combos = combinations({"fast": [3, 5], "slow": [12, 20]})
    local = list(sweep(job, combos, workers=1))
    with RayPool(job, address=None) as pool:  # the Ray this test started
        remote = [o.row for o in pool.map([Task(c) for c in combos])]
        steps = usable(job, windows(*span(job), Period(2, "D"), Period(1, "D")))
        on_ray = list(walk(job, combos, steps, pool, warmup=timedelta(days=1)))
    assert remote == local
    assert len({r["net_pnl"] for r in local}) > 1
    with LocalPool(job, 1) as here:
        at_home = list(walk(job, combos, steps, here, warmup=timedelta(days=1)))
    assert [(r.combo, r.in_sample, r.out.row) for r in on_ray] == [
        (r.combo, r.in_sample, r.out.row) for r in at_home
    ]
    assert all((a.out.equity == b.out.equity).all() for a, b in zip(on_ray, at_home, strict=True))


def test_without_ray_the_error_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if not installed
    data = tmp_path / "bars.csv"
    _job().markets[0].bars.write_csv(data)
    args = ["backtest", "sma_cross", "--data", str(data), "--quiet", "--no-save"]
    assert main([*args, "--grid", "fast=3,5", "--ray", "auto"]) == 2
    assert "pip install 'avin[ray]'" in capsys.readouterr().err
