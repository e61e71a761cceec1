"""Golden results of fixed ``avin backtest`` runs: speed work can never silently change them.

The command of ``bench/backtest_process.py`` (sma_cross 10/20 on one-minute bars from a CSV,
commission 0, ``--trades-out``, the default pre-trade rules, the saved report) on a fixed series,
and the same with commission, slippage and a per-minute order limit that refuses orders. Each run
is pinned by its trade count, its net PnL (exact), and SHA-256 fingerprints of the trade list
file, the saved trades (commission and result in percent too), the saved orders (every column: times, status, fill price, commission, reason), every
section's equity curve as the saved report gives it back (money rounded to 1e-6) and the saved summary and metrics. The sparse run and the bar by
bar run must both give the pinned values.

The series comes from a tiny LCG (no library's random generator). When a change is *meant* to
change results, run with ``AVIN_REGEN_GOLDEN=1`` (refused under CI; the run fails on purpose and
prints the new values), check why each value moved, and paste them below.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from avin_tui.cli import main
from engine.backtest.storage import SavedBacktest, list_backtests

BARS = 20_000


def golden_csv(path: Path, n: int = BARS) -> None:
    """A random walk on a 0.01 grid, one bar a minute (the shape of the bench's bars)."""
    state = 20261204
    close = 10_000
    rows = []
    start = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp())

    def draw(k: int) -> int:
        nonlocal state
        state = (1103515245 * state + 12345) % 2**31
        return (state >> 8) % k

    for i in range(n):
        prev = close
        close = max(100, close + draw(13) - 6)
        o = max(100, prev + draw(3) - 1)
        h = max(o, close) + draw(4)
        lo = min(o, close) - draw(4)
        ts = datetime.fromtimestamp(start + 60 * i, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(f"{ts},{o / 100},{h / 100},{lo / 100},{close / 100},{draw(999) + 1}")
    path.write_text("ts,open,high,low,close,volume\n" + "\n".join(rows) + "\n")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def fingerprint(saved: SavedBacktest, trades_csv: Path) -> dict[str, Any]:
    folder = saved.folder
    doc = json.loads((folder / "report.json").read_text())
    total = doc["sections"][-1]
    orders = pl.read_parquet(folder / "orders.parquet")
    # every section's curve as the saved report gives it back (one instrument's is stored once)
    equity = pl.concat([saved.equity(s["name"]) for s in doc["sections"]]).with_columns(
        pl.col("equity").round(6), pl.col("drawdown").round(6)
    )
    return {
        "trades": total["summary"]["total"],
        "net_pnl": total["summary"]["profit"],
        "orders": orders.height,
        "rejections": doc["meta"]["rejections"],
        "trade_list": _sha(trades_csv.read_bytes()),
        "trades_sha": _sha(pl.read_parquet(folder / "trades.parquet").write_csv().encode()),
        "orders_sha": _sha(orders.write_csv().encode()),
        "equity_sha": _sha(equity.write_csv().encode()),
        "report_sha": _sha(
            json.dumps(
                [[s["name"], s["summary"], _rounded(s["metrics"])] for s in doc["sections"]],
                sort_keys=True,
            ).encode()
        ),
    }


BENCH = ["--param", "fast=10", "--param", "slow=20", "--commission", "0"]
COSTS = ["--param", "fast=10", "--param", "slow=20", "--slippage", "1", "--config", "{config}"]

GOLDEN: dict[str, dict[str, Any]] = {
    "bench": {
        "trades": 1028,
        "net_pnl": "12.10",
        "orders": 1030,
        "rejections": {},
        "trade_list": "4a0475c799115438",
        "trades_sha": "e715caed6bb3fdb6",
        "orders_sha": "1ee0480a6e30b85b",
        "equity_sha": "6feeea812468cb26",
        "report_sha": "e0ed24583d57b57d",
    },
    "costs": {
        "trades": 506,
        "net_pnl": "-56.705",
        "orders": 775,
        "rejections": {"max_order_value": 246, "orders_per_minute_strategy": 21},
        "trade_list": "fcbf6ca385f5d961",
        "trades_sha": "02c6029319e0213c",
        "orders_sha": "d1c60c2e3ac78366",
        "equity_sha": "9bc416a61833317b",
        "report_sha": "ecf893e95c138910",
    },
}


@pytest.mark.parametrize("mode", ["auto", "bars"])
@pytest.mark.parametrize("case", ["bench", "costs"])
def test_golden_backtest(tmp_path: Path, case: str, mode: str) -> None:
    data = tmp_path / "bars.csv"
    golden_csv(data)
    config = tmp_path / "avin.toml"
    config.write_text("[risk]\norders_per_minute_strategy = 1\nmax_order_value = 197\n")
    trades = tmp_path / "trades.csv"
    extra = [a.replace("{config}", str(config)) for a in (BENCH if case == "bench" else COSTS)]
    args = ["backtest", "sma_cross", "--data", str(data), *extra, "--mode", mode]
    assert main([*args, "--trades-out", str(trades), "--quiet"]) == 0
    (saved,) = list_backtests()
    got = fingerprint(saved, trades)
    if os.environ.get("AVIN_REGEN_GOLDEN"):
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("AVIN_REGEN_GOLDEN is refused under CI: regenerate locally, check by hand")
        pytest.fail(f"{case} ({mode}): {got!r}")
    assert got == GOLDEN[case]
