"""The sparse backtest (engine.backtest.sparse) equals the bar-by-bar run, to the last fill."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backtest import Backtester, BacktestOptions, RunResult, StrategyFailed
from engine.backtest.array_charts import ArrayCharts
from engine.backtest.charts import make_charts
from engine.backtest.sparse import base_columns
from engine.model import Bar, OrderType, Side, TimeFrame
from engine.strategy import StrategyContext, build
from engine.strategy.base import Strategy
from engine.strategy.light import LightStrategy
from tests.backtest.helpers import INST, LOT10, T0, bars


def walk(seed: int, n: int, *, breaks: tuple[int, ...] = ()) -> pl.DataFrame:
    """A seeded random walk on the 0.01 grid (some bars gap at the open)."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.integers(-9, 10, n)) / 100
    gap = rng.random(n) < 0.1
    opens = (
        np.concatenate(([close[0]], close[:-1])) + np.where(gap, rng.integers(-20, 21, n), 0) / 100
    )
    high = np.maximum(opens, close) + rng.integers(0, 6, n) / 100
    low = np.minimum(opens, close) - rng.integers(0, 6, n) / 100
    rows = list(zip(opens.round(2), high.round(2), low.round(2), close.round(2), strict=True))
    return bars(rows, breaks=breaks)


def signature(result: RunResult) -> list[Any]:
    return [
        [
            (o.id, o.type, o.side, o.lots, o.price, o.stop_price, o.status, o.filled_lots)
            for o in result.orders
        ],
        [(f.order_id, f.side, f.lots, f.price, f.commission, f.ts) for f in result.fills],
        [
            (t.side, t.entry_ts, t.exit_ts, t.entry_price, t.exit_price, t.result)
            for t in result.trades
        ],
        result.position.tolist(),
        result.equity.tolist(),
    ]


def both(make: Any, frame: pl.DataFrame, **options: Any) -> tuple[RunResult, RunResult]:
    inst = options.pop("instrument", INST)
    start = options.pop("start", None)
    dense = Backtester(make(), inst, BacktestOptions(mode="bars", **options)).run(
        frame, start=start
    )
    sparse = Backtester(make(), inst, BacktestOptions(mode="sparse", **options)).run(
        frame, start=start
    )
    assert dense.meta["mode"] == "bar by bar" and sparse.meta["mode"] == "sparse"
    return dense, sparse


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    fast=st.integers(2, 6),
    extra=st.integers(1, 8),
    lots=st.integers(1, 3),
    slip=st.integers(0, 2),
)
def test_sma_cross_sparse_equals_bar_by_bar(
    seed: int, fast: int, extra: int, lots: int, slip: int
) -> None:
    frame = walk(seed, 400, breaks=(120, 250))
    params = {"fast": fast, "slow": fast + extra, "lots": lots}
    dense, sparse = both(
        lambda: build("sma_cross", params), frame, slippage_ticks=slip, instrument=LOT10
    )
    assert dense.fills, "the walk should cross"
    assert signature(sparse) == signature(dense)


def test_sma_cross_sparse_with_warm_up_and_commission() -> None:
    frame = walk(7, 600)
    start = T0 + timedelta(minutes=200)
    dense, sparse = both(lambda: build("sma_cross", {"fast": 3, "slow": 8}), frame, start=start)
    assert dense.fills and dense.fills[0].ts >= start
    assert signature(sparse) == signature(dense)
    assert dense.fills[0].commission > 0


class Ladder(LightStrategy):
    """Every fifth minute: cancel what rests, then a limit, stop or stop-limit entry near the
    close (by the minute), and a bracket (stop + take-profit) once filled. It wakes on those
    minutes only; exits and cancels also happen from on_fill."""

    name: ClassVar[str] = "test_ladder"
    default_params: ClassVar[dict[str, Any]] = {"every": 5}

    def wake(self, frame: pl.DataFrame) -> np.ndarray:
        return (frame["ts"].dt.minute() % self.params["every"] == 0).to_numpy()

    def on_1M(self, ctx: StrategyContext, bar: Bar) -> None:
        if bar.ts.minute % self.params["every"]:
            return
        for order in ctx.orders:
            if order.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) or (
                order.type is OrderType.STOP and not ctx.position
            ):
                ctx.cancel(order)
        if ctx.position:
            return
        kind = (bar.ts.minute // self.params["every"]) % 4
        close = Decimal(str(bar.close))
        step = Decimal("0.05")
        if kind == 0:
            self.bracket(ctx, Side.BUY, 2, stop_p=0.1, take_p=0.15)
        elif kind == 1:
            ctx.buy(1, close - step)
        elif kind == 2:
            ctx.place(Side.SELL, 1, OrderType.STOP, stop_price=close - step)
        else:
            ctx.place(
                Side.BUY, 1, OrderType.STOP_LIMIT, stop_price=close + step, price=close + 3 * step
            )

    def on_trade_fill(self, ctx: StrategyContext, fill: Any) -> None:
        if ctx.position and not any(o.type is OrderType.TAKE_PROFIT for o in ctx.orders):
            side = Side.SELL if ctx.position > 0 else Side.BUY
            price = fill.price * (Decimal("1.002") if ctx.position > 0 else Decimal("0.998"))
            ctx.place(side, abs(ctx.position), OrderType.TAKE_PROFIT, stop_price=price)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), gaps=st.sampled_from(["session", "always"]))
def test_resting_orders_sparse_equals_bar_by_bar(seed: int, gaps: str) -> None:
    frame = walk(seed, 300, breaks=(90, 200))
    dense, sparse = both(Ladder, frame, gaps=gaps)
    assert dense.orders
    assert signature(sparse) == signature(dense)


def test_resting_orders_of_every_kind_fill_alike() -> None:
    dense, sparse = both(Ladder, walk(11, 1200, breaks=(300, 700)))
    filled = {o.type for o in dense.orders if o.filled_lots}
    assert filled == set(OrderType)  # market, limit, stop, stop-limit and take-profit all filled
    assert signature(sparse) == signature(dense)


class ChartProbe(Strategy):
    """Records what its charts show on every 5-minute close (main 5M; also reads 15M and 1H)."""

    name: ClassVar[str] = "test_probe"
    timeframes = (TimeFrame.M5,)

    def __init__(self, params: Any = None, timeframe: Any = None) -> None:
        super().__init__(params, timeframe)
        self.log: list[Any] = []

    def wake(self, frame: pl.DataFrame) -> np.ndarray:
        return np.ones(frame.height, dtype=bool)

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        row: list[Any] = [bar, ctx.now_ts]
        for tf in (TimeFrame.M5, TimeFrame.M15, TimeFrame.H1, TimeFrame.M1):
            chart = ctx.chart(tf)
            row += [
                len(chart),
                chart.now,
                chart.last,
                chart.bar(2),
                chart.closes(3),
                chart.closed_bars(2),
                chart.bars(3),
            ]
        self.log.append(row)


def test_charts_at_a_cursor_show_what_fed_charts_show() -> None:
    frame = walk(3, 700, breaks=(37, 200, 201, 433))  # frames cut by session breaks
    probes = []
    for mode in ("bars", "sparse"):
        probe = ChartProbe()
        tester = Backtester(probe, INST, BacktestOptions(mode=mode, chart_depth=40))
        for tf in (TimeFrame.M15, TimeFrame.H1):  # fed from the first bar (the sparse ones are)
            tester.charts.get(tf)
        tester.run(frame, start=T0 + timedelta(minutes=100))
        probes.append(probe.log)
    assert len(probes[0]) > 100
    assert probes[1] == probes[0]


@pytest.mark.parametrize("timeframe", [TimeFrame.D, TimeFrame.W, TimeFrame.MONTH])
def test_calendar_frames_close_as_in_fed_charts(timeframe: TimeFrame) -> None:
    frame = walk(5, 300, breaks=())
    day0 = T0.replace(hour=0)
    days = pl.datetime_range(day0, day0 + timedelta(days=299), "1d", eager=True, time_zone="UTC")
    frame = frame.with_columns(ts=days.dt.cast_time_unit("ns")).filter(
        pl.col("ts").dt.weekday() <= 5  # weekdays only: weeks end without a Sunday bar
    )
    fed = make_charts(INST.code, TimeFrame.D, depth=500)
    cursor = ArrayCharts(INST.code, base_columns(frame, TimeFrame.D), depth=500)
    for i, row in enumerate(frame.iter_rows(named=True)):
        fed.update(
            Bar(row["ts"], row["open"], row["high"], row["low"], row["close"], row["volume"]), True
        )
        cursor.seek(i)
        a, b = fed.get(timeframe), cursor.get(timeframe)
        assert (len(b), b.now, b.last, b.closes(4)) == (len(a), a.now, a.last, a.closes(4)), i


class Liar(Strategy):
    """Says it wakes on no bar, and trades on bar 30."""

    name: ClassVar[str] = "test_liar"

    def __init__(self, params: Any = None, timeframe: Any = None) -> None:
        super().__init__(params, timeframe)
        self.n = 0

    def wake(self, frame: pl.DataFrame) -> np.ndarray:
        return np.zeros(frame.height, dtype=bool)

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        self.n += 1
        if self.n == 30:
            ctx.buy(1)


def test_verify_wake_catches_a_mask_that_hides_an_order() -> None:
    frame = walk(1, 100)
    with pytest.raises(StrategyFailed, match=r"wake mask calls the 1M bar of .* quiet"):
        Backtester(Liar(), INST, BacktestOptions(verify_wake=True)).run(frame)
    honest = Backtester(
        build("sma_cross", {"fast": 3, "slow": 7}), INST, BacktestOptions(verify_wake=True)
    ).run(frame)
    assert honest.meta["mode"] == "bar by bar" and honest.fills


def test_auto_mode_and_its_fallbacks() -> None:
    frame = walk(2, 200)
    assert Backtester(build("sma_cross"), INST).run(frame).meta["mode"] == "sparse"
    assert Backtester(build("pin_bar"), INST).run(frame).meta["mode"] == "bar by bar"
    with pytest.raises(ValueError, match="no wake mask"):
        Backtester(build("pin_bar"), INST, BacktestOptions(mode="sparse")).run(frame)
    with pytest.raises(ValueError, match="mode must be"):
        BacktestOptions(mode="fast")


def test_order_keys_are_numbered_in_order() -> None:
    result = Backtester(build("sma_cross", {"fast": 3, "slow": 7}), INST).run(walk(4, 300))
    keys = [o.id for o in result.orders]
    assert keys == [f"bt-{k:08d}" for k in range(1, len(keys) + 1)]


def test_a_wake_mask_of_the_wrong_length_is_a_clear_error() -> None:
    class Short(Liar):
        def wake(self, frame: pl.DataFrame) -> np.ndarray:
            return np.ones(3, dtype=bool)

    with pytest.raises(StrategyFailed, match=r"wake\(\) returned 3 values for 50 1M bars"):
        Backtester(Short(), INST).run(walk(1, 50))
