"""One strategy on one instrument, bar by bar: the engine's semantics without asyncio.

Per bar ``i`` of the base timeframe (1M by default):

1. the orders working since bar ``i - 1`` closed are matched against bar ``i`` by the engine's
   :class:`~engine.broker.sim.matching.MatchingEngine` along :func:`bar_path` (open, nearer
   extreme, other extreme, close): a market order fills at the open, a limit or stop when the bar
   crosses it (at the open when the bar gaps through it). A bar gaps when it does not follow the
   previous one directly in time (a session break) or always with ``gaps="always"``; daily and
   coarser bars always gap. Fills go through the engine's
   :class:`~engine.model.order_book.OrderManager` (order state machine, Position accounting) and
   the strategy's ``on_fill`` / ``on_order``; orders placed there join the matching at once and
   see only the rest of the bar;
2. the bar is fed to the charts; the strategy's ``on_bar`` runs for every frame it closed; the
   orders it places are checked (``check_order``), accepted and start working: the earliest price
   they can see is the next bar's open.

Nothing waits: an order that never fills stays working until the end, where it expires.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from engine.backtest.array_charts import ArrayCharts
from engine.backtest.charts import make_charts
from engine.backtest.sparse import SparseRun, base_columns, layout_frame
from engine.broker.sim.matching import (
    DEFAULT_COMMISSION,
    MatchingEngine,
    Working,
    bar_path,
    check_order,
)
from engine.model import Bar, Fill, Instrument, Order, OrderStatus, Side, TimeFrame, Trade
from engine.model.order import TERMINAL
from engine.model.order_book import DuplicateOrder, FillResult, OrderManager
from engine.strategy.base import Strategy
from engine.strategy.chart import DEFAULT_DEPTH, InstrumentCharts
from engine.strategy.context import CancelIntent, PostIntent, StrategyContext

log = logging.getLogger("avin.backtest")

_MAX_DEPTH = 8
Progress = Callable[[int, int], None]


class StrategyFailed(RuntimeError):
    """A strategy hook raised: the backtest stops (a live engine would mark it FAILED)."""


@dataclass(slots=True)
class BacktestOptions:
    commission: Decimal = DEFAULT_COMMISSION  # rate of the fill value; 0 allowed
    slippage_ticks: int = 0  # each fill this many price steps worse
    capital: Decimal = Decimal(1_000_000)  # for returns, drawdown in percent, Sharpe
    chart_depth: int = DEFAULT_DEPTH
    account: str = "backtest"
    gaps: str = "session"  # "session": gap on a time break; "always": every open is a gap
    mode: str = "auto"  # "auto": sparse when the strategy has a wake mask; "bars"; "sparse"
    verify_wake: bool = False  # bar by bar, failing where on_bar acts on a bar its mask skips

    def __post_init__(self) -> None:
        self.commission = Decimal(self.commission)
        self.capital = Decimal(self.capital)
        if self.commission < 0:
            raise ValueError(f"commission must not be negative, got {self.commission}")
        if self.slippage_ticks < 0:
            raise ValueError(f"slippage must not be negative, got {self.slippage_ticks}")
        if self.gaps not in ("session", "always"):
            raise ValueError(f"gaps must be 'session' or 'always', got {self.gaps!r}")
        if self.mode not in ("auto", "bars", "sparse"):
            raise ValueError(f"mode must be 'auto', 'bars' or 'sparse', got {self.mode!r}")
        if self.verify_wake and self.mode == "sparse":
            raise ValueError(
                "verify_wake runs bar by bar: it cannot be combined with mode 'sparse'"
            )


class BarMatching(MatchingEngine):
    """The engine's matching, plus setting the last price without matching anything.

    It works the book's own order objects (a broker keeps copies; here nothing else can touch
    them), so a fill is applied to its order once, by the matching.
    """

    def add(self, order: Order, instrument: Instrument) -> None:
        self._working[order.id] = Working(order, instrument)

    def mark(self, code: str, price: Decimal) -> None:
        self._last[code.upper()] = price

    @property
    def busy(self) -> bool:
        """True while some order is working."""
        return bool(self._working)


class BacktestBook(OrderManager):
    """The engine's order book for one strategy on one account (as a backtest has).

    Open orders are kept apart (a backtest records many orders), and the account's position is
    the strategy's position object itself, so a fill is booked once, not twice.
    """

    def __init__(self, lot_size: Callable[[str], int]) -> None:
        super().__init__(lot_size)
        self._open: list[Order] = []

    def bind_strategy(self, strategy_id: str, instrument: str, account: str) -> None:
        super().bind_strategy(strategy_id, instrument, account)
        self.positions[(account, instrument)] = self.strategy_positions[strategy_id]

    def apply_fill(self, fill: Fill) -> FillResult:
        order = self._strategy_order(fill)
        if order is None:
            return super().apply_fill(fill)  # the general path (logs, duplicates)
        order.apply_fill(fill)
        return FillResult(self._book_fill(fill, order))

    def apply_matched(self, fill: Fill) -> Order | None:
        """:meth:`apply_fill` for a fill the backtest's matching has already applied to its
        order (it works the book's own orders): the fill and the strategy's position only."""
        order = self._strategy_order(fill)
        if order is None:
            return super().apply_fill(fill).order
        return self._book_fill(fill, order)

    def _strategy_order(self, fill: Fill) -> Order | None:
        """The recorded strategy order of a new fill (None: unknown order or a repeated fill)."""
        order = self.orders.get(fill.order_id)
        if order is None or not order.strategy or fill.fill_id in self._fill_ids:
            return None
        return order

    def _book_fill(self, fill: Fill, order: Order) -> Order:
        self._fill_ids.add(fill.fill_id)
        self.fills.append(fill)
        self.strategy_positions[order.strategy].apply_fill(fill)
        self.version += 1
        return order

    def record(self, order: Order) -> Order:
        if order.id in self.orders:
            raise DuplicateOrder(f"order key {order.id} is already recorded")
        self.orders[order.id] = order
        self.version += 1
        self._open.append(order)
        return order

    def open_orders(
        self, *, account: str | None = None, strategy: str | None = None
    ) -> list[Order]:
        if not self._open:
            return []
        self._open = [o for o in self._open if o.status not in TERMINAL]
        return [
            o
            for o in self._open
            if (account is None or o.account == account)
            and (strategy is None or o.strategy == strategy)
        ]


@dataclass(slots=True)
class RunResult:
    strategy_id: str
    instrument: Instrument
    base: TimeFrame
    orders: list[Order]
    fills: list[Fill]
    trades: list[Trade]  # closed round trips
    open_trade: Trade | None
    ts: np.ndarray  # int64 ns, one per traded bar
    close: np.ndarray  # float64
    position: np.ndarray  # int64 lots at each bar's close
    equity: np.ndarray  # float64 capital + PnL (net of commission) at each bar's close
    capital: Decimal
    meta: dict[str, Any] = field(default_factory=dict)


class Backtester:
    """Runs ``strategy`` on ``instrument``; :meth:`run` once per instance."""

    def __init__(
        self,
        strategy: Strategy,
        instrument: Instrument,
        options: BacktestOptions | None = None,
        *,
        base: TimeFrame = TimeFrame.M1,
        strategy_id: str | None = None,
    ) -> None:
        self.strategy = strategy
        self.instrument = instrument
        self.options = options or BacktestOptions()
        self.base = base
        if _order(strategy.timeframe) < _order(base):
            raise ValueError(
                f"the strategy's timeframe {strategy.timeframe.value} is finer than the bars "
                f"({base.value})"
            )
        code = instrument.code
        self.id = strategy_id or f"{strategy.name or type(strategy).__name__}:{instrument.ticker}"
        self.book = BacktestBook(lambda _code: instrument.lot)
        self.book.bind_strategy(self.id, code, self.options.account)
        self.matching = BarMatching(
            self.options.commission, slippage_ticks=self.options.slippage_ticks
        )
        self.charts = make_charts(code, base, self.options.chart_depth)
        for tf in strategy.timeframes:
            self.charts.get(tf)
        self._now: datetime | None = None
        self.ctx = self._make_context(self.charts)
        self._position = self.book.strategy_position(self.id)
        self._on_bar_hook = strategy.on_bar
        self._depth = 0
        self._bar = 0
        self._flow_bars: list[int] = []  # per fill: the bar index (from the first traded bar)...
        self._flow_cash: list[float] = []  # ... and the cash change, commission included
        # the position mark of a close, Decimal(repr(close)), and the rounded path prices
        self._marks = PriceCache(lambda close: Decimal(repr(close))).get
        self._rounded = PriceCache(instrument.round_price).get
        self._keys = 0
        self._hooks = {  # the hooks the strategy overrides (the others do nothing)
            hook
            for hook in ("on_start", "on_stop", "on_order", "on_fill")
            if getattr(type(strategy), hook) is not getattr(Strategy, hook)
        }
        self._verify: set[int] | None = None  # verify_wake: the quiet main bars (ns)
        self._done = False

    def _make_context(self, charts: InstrumentCharts) -> StrategyContext:
        return StrategyContext(
            strategy_id=self.id,
            instrument=self.instrument,
            account=self.options.account,
            timeframe=self.strategy.timeframe,
            charts=charts,
            book=self.book,
            clock=lambda: self._now,
            params=self.strategy.params,
            logger=logging.getLogger(f"avin.backtest.{self.id}"),
            new_key=self._next_key,
        )

    def _next_key(self) -> str:
        """Order keys numbered in order (a backtest is deterministic down to its keys)."""
        self._keys += 1
        return "bt-" + str(self._keys).zfill(8)

    # --- the run -----------------------------------------------------------------------------

    def run(
        self, bars: pl.DataFrame, *, start: datetime | None = None, progress: Progress | None = None
    ) -> RunResult:
        """Bars before ``start`` only fill the charts (warm-up); trading starts at ``start``.

        The run is sparse (:mod:`engine.backtest.sparse`) when the strategy has a wake mask and
        ``options.mode`` allows it, bar by bar otherwise; both give the same result.
        """
        if self._done:
            raise RuntimeError("a Backtester runs once")
        self._done = True
        collect = gc.isenabled()
        gc.disable()  # a run makes many objects and no garbage cycles: refcounting frees them
        try:
            return self._run(bars, start, progress)
        finally:
            if collect:
                gc.enable()

    def _run(
        self, bars: pl.DataFrame, start: datetime | None, progress: Progress | None
    ) -> RunResult:
        frame = bars if bars["ts"].is_sorted() else bars.sort("ts")
        first = 0 if start is None else frame["ts"].search_sorted(start, side="left")
        sparse = self._sparse_run(frame)
        if sparse is None:
            held = self._run_dense(frame, int(first), progress)
        else:
            held = sparse.run(int(first), progress)
        self._dispatch("on_stop")
        self._expire()
        total = frame.height - int(first)
        if progress is not None:
            progress(total, total)
        result = self._result(frame.slice(int(first)), held)
        result.meta["mode"] = "bar by bar" if sparse is None else "sparse"
        return result

    def _sparse_run(self, frame: pl.DataFrame) -> SparseRun | None:
        """The sparse pass when the strategy's wake mask allows it (and the mode wants it)."""
        mode = self.options.mode
        if mode == "bars" or (mode == "auto" and self.options.verify_wake):
            self._verify = self._quiet_bars(frame) if self.options.verify_wake else None
            return None
        why = None
        if len(self.strategy.timeframes) != 1:
            why = "the strategy reads more than one timeframe"
        elif frame.height and not frame["ts"].diff().drop_nulls().gt(timedelta(0)).all():
            why = "the bars have repeated timestamps"
        charts = wake = None
        if why is None:
            charts = ArrayCharts(
                self.instrument.code, base_columns(frame, self.base), self.options.chart_depth
            )
            wake = self._wake(charts)
            if wake is None:
                why = "the strategy has no wake mask"
        if why is not None or charts is None or wake is None:
            if mode == "sparse":
                raise ValueError(f"cannot run {self.id} sparse: {why}")
            return None
        self.charts = charts
        self.ctx = self._make_context(charts)
        return SparseRun(self, charts, wake)

    def _wake(self, charts: ArrayCharts) -> np.ndarray | None:
        main = charts.layout(self.strategy.timeframe)
        mask = self.strategy.wake(layout_frame(main))
        if mask is None:
            return None
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(main),):
            raise StrategyFailed(
                f"{self.id}: wake() returned {mask.shape[0] if mask.ndim else 0} values for "
                f"{len(main)} {self.strategy.timeframe.value} bars"
            )
        return mask

    def _quiet_bars(self, frame: pl.DataFrame) -> set[int] | None:
        """The main-timeframe bars (ns) the strategy's mask calls quiet (``verify_wake``)."""
        charts = ArrayCharts(self.instrument.code, base_columns(frame, self.base), 2)
        mask = self._wake(charts)
        if mask is None:
            return None
        main = charts.layout(self.strategy.timeframe)
        return set(main.ts[~mask].tolist())

    def _run_dense(self, frame: pl.DataFrame, first: int, progress: Progress | None) -> np.ndarray:
        ts_list: list[datetime] = frame["ts"].to_list()
        opens = frame["open"].to_list()
        highs = frame["high"].to_list()
        lows = frame["low"].to_list()
        closes = frame["close"].to_list()
        volumes = frame["volume"].to_list()
        n = len(ts_list)
        charts = self.charts
        for i in range(first):  # warm-up: charts only, no hooks
            charts.update(Bar(ts_list[i], opens[i], highs[i], lows[i], closes[i], volumes[i]), True)
        step = self.base.step
        always = self.options.gaps == "always" or step is None or step >= timedelta(days=1)
        offsets = _path_offsets(step)
        strategy = self.strategy
        wanted = tuple(strategy.timeframes)  # identity comparisons: no Enum hashing per bar
        position = self._position
        code = self.instrument.code
        held: list[int] = []
        marks = self._marks
        self._now = ts_list[first] if first < n else None
        self._dispatch("on_start")
        prev_end: datetime | None = None  # the end of the previous bar (warm-up included)
        prev_close = 0.0
        if first > 0:
            last = ts_list[first - 1]
            prev_end = last + step if step is not None else self.base.next(last)
            prev_close = closes[first - 1]
        every = max(1, (n - first) // 200)
        on_bar = self._on_bar if self._verify is None else self._on_bar_verified
        for j, i in enumerate(range(first, n)):
            ts = ts_list[i]
            bar = Bar(ts, opens[i], highs[i], lows[i], closes[i], volumes[i])
            self._bar = j
            if self.matching.busy:
                gap = always or prev_end is None or ts != prev_end
                if not gap:
                    self.matching.mark(code, self._rounded(prev_close))
                self._match(ts, bar_path(bar), gap, offsets)
            end = ts + step if step is not None else self.base.next(ts)
            self._now = end
            closed = charts.update(bar, True)
            if position.lots:  # marked like the engine marks on each bar: Decimal(str(close))
                position.last_price = marks(bar.close)
            for timeframe, done in closed:
                if timeframe in wanted:
                    on_bar(timeframe, done)
            held.append(position.lots)
            prev_end = end
            prev_close = bar.close
            if progress is not None and j % every == 0:
                progress(j, n - first)
        return np.array(held, dtype=np.int64)

    def _match(self, ts: datetime, path: list[float], gap: bool, offsets: list[timedelta]) -> None:
        """Match the working orders along a bar's price ``path`` (it starts at ``ts``)."""
        code = self.instrument.code
        matching = self.matching
        rounded = self._rounded
        for k, value in enumerate(path):
            if not matching._working:
                return
            price = rounded(value)
            when = ts + offsets[k]
            self._now = when
            for fill in matching.on_price(code, price, when, gap=gap and k == 0):
                self._on_fill(fill)

    def _on_fill(self, fill: Fill) -> None:
        order = self.book.apply_matched(fill)
        value = float(fill.price * (fill.lots * self.instrument.lot))
        if fill.side is Side.BUY:
            value = -value
        self._flow_bars.append(self._bar)
        self._flow_cash.append(value - float(fill.commission))
        hooks = self._hooks
        if "on_fill" in hooks:
            self._dispatch("on_fill", fill)
        if order is not None and "on_order" in hooks:
            self._dispatch("on_order", order)

    # --- strategy hooks and orders -------------------------------------------------------------

    def _on_bar(self, timeframe: TimeFrame, bar: Bar) -> None:
        """``_dispatch("on_bar", ...)`` without the lookups (the hot path)."""
        self._call_on_bar(timeframe, bar)
        if self.ctx.pending_intents:
            self._process_intents()

    def _call_on_bar(self, timeframe: TimeFrame, bar: Bar) -> None:
        self._depth += 1
        try:
            self._on_bar_hook(self.ctx, timeframe, bar)
        except StrategyFailed:
            raise
        except Exception as exc:
            raise StrategyFailed(
                f"{self.id} failed in on_bar at {self._now}: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            self._depth -= 1

    def _on_bar_verified(self, timeframe: TimeFrame, bar: Bar) -> None:
        """``_on_bar`` that fails when the strategy acts on a bar its wake mask calls quiet."""
        quiet = (
            self._verify is not None
            and timeframe is self.strategy.timeframe
            and (
                int(bar.ts.timestamp()) * 1_000_000_000 + bar.ts.microsecond * 1000 in self._verify
            )
        )
        before = self.strategy.persist() if quiet else None
        self._call_on_bar(timeframe, bar)
        if quiet and (self.ctx.pending_intents or self.strategy.persist() != before):
            raise StrategyFailed(
                f"{self.id}: its wake mask calls the {timeframe.value} bar of "
                f"{bar.ts.isoformat()} quiet, but on_bar placed or cancelled an order or changed "
                "its state there: widen wake() (True on every bar where on_bar may act)"
            )
        if self.ctx.pending_intents:
            self._process_intents()

    def _dispatch(self, hook: str, *args: Any) -> None:
        if hook not in self._hooks:
            return  # the base class's no-op
        if self._depth >= _MAX_DEPTH:
            raise StrategyFailed(f"{self.id}: orders placed from {hook} loop endlessly")
        self._depth += 1
        try:
            try:
                getattr(self.strategy, hook)(self.ctx, *args)
            except StrategyFailed:
                raise
            except Exception as exc:
                raise StrategyFailed(
                    f"{self.id} failed in {hook} at {self._now}: {type(exc).__name__}: {exc}"
                ) from exc
            self._process_intents()
        finally:
            self._depth -= 1

    def _process_intents(self) -> None:
        for intent in self.ctx.take_intents():
            if isinstance(intent, CancelIntent):
                self._cancel(intent.order_key)
            elif isinstance(intent, PostIntent):
                self._post(intent.order)

    def _post(self, order: Order) -> None:
        now = self._now
        if order.created_ts is None:
            order.created_ts = now
        self.book.record(order)
        order.transition(OrderStatus.SUBMITTED, now)
        reason = check_order(order, self.instrument)
        if reason is not None:
            order.transition(OrderStatus.REJECTED, now, reason)
        else:
            order.transition(OrderStatus.ACCEPTED, now)
            self.matching.add(order, self.instrument)
        if "on_order" in self._hooks:
            self._dispatch("on_order", order)

    def _cancel(self, key: str) -> None:
        order = self.book.get(key)
        if order is None or not order.is_open:
            return
        self.matching.remove(key)
        order.transition(OrderStatus.CANCELLED, self._now, "cancelled by the strategy")
        self._dispatch("on_order", order)

    def _expire(self) -> None:
        for order in self.book.open_orders():
            self.matching.remove(order.id)
            order.transition(OrderStatus.EXPIRED, self._now, "the backtest ended")

    # --- the result ----------------------------------------------------------------------------

    def _result(self, frame: pl.DataFrame, lots: np.ndarray) -> RunResult:
        n = frame.height
        flows = np.zeros(n, dtype=np.float64)
        np.add.at(flows, np.array(self._flow_bars, dtype=np.int64), self._flow_cash)  # in order
        close = frame["close"].to_numpy().astype(np.float64)
        capital = self.options.capital
        equity = float(capital) + np.cumsum(flows) + lots * self.instrument.lot * close
        position = self._position
        return RunResult(
            strategy_id=self.id,
            instrument=self.instrument,
            base=self.base,
            orders=list(self.book.orders.values()),
            fills=list(self.book.fills),
            trades=[t for t in position.trades if t.closed],
            open_trade=position.open_trade,
            ts=frame["ts"].cast(pl.Int64).to_numpy(),
            close=close,
            position=lots,
            equity=equity,
            capital=capital,
        )


class PriceCache:
    """Decimal prices of float bar prices, made once each (bars repeat their prices)."""

    _SIZE = 65_536  # prices kept (then the cache starts again)

    def __init__(self, make: Callable[[float], Decimal]) -> None:
        self._make = make
        self._prices: dict[float, Decimal] = {}

    def get(self, value: float) -> Decimal:
        price = self._prices.get(value)
        if price is None:
            if len(self._prices) > self._SIZE:
                self._prices.clear()
            price = self._prices[value] = self._make(value)
        return price


def _path_offsets(step: timedelta | None) -> list[timedelta]:
    """When within a bar its path prices trade: the simulated market's ticks for minutes."""
    if step != timedelta(minutes=1):
        return [timedelta(0)] * 4  # coarser bars: fills carry the bar's own time
    return [timedelta(0), step / 3, step * 2 / 3, step * 5 / 6]  # 0, 20, 40, 50 seconds


def _order(tf: TimeFrame) -> int:
    return list(TimeFrame).index(tf)
