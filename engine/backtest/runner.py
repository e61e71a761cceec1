"""One strategy on one instrument, bar by bar: the engine's semantics without asyncio.

Per bar ``i`` of the base timeframe (1M by default):

1. the orders working since bar ``i - 1`` closed are matched against bar ``i`` by the engine's
   :class:`~engine.broker.sim.matching.MatchingEngine` along :func:`bar_path` (open, nearer
   extreme, other extreme, close): a market order fills at the open, a limit or stop when the bar
   crosses it (at the open when the bar gaps through it). A bar gaps when it does not follow the
   previous one directly in time (a session break) or always with ``gaps="always"``; daily and
   coarser bars always gap. Fills go through the engine's order book
   (:class:`~engine.backtest.book.BacktestBook`: order state machine, Position accounting) and
   the strategy's ``on_fill`` / ``on_order``; orders placed there join the matching at once and
   see only the rest of the bar;
2. the bar is fed to the charts; the strategy's ``on_bar`` runs for every frame it closed.

Hooks run through the engine's :class:`~engine.strategy.host.StrategyHost`, as live: the orders
a hook queues pass the pre-trade rules (``BacktestOptions.risk``; a refused order is REJECTED
with the rule and its numbers and the strategy learns it in ``on_order``), then the market's
own validity check (``check_order``), are accepted and start working: the earliest price they
can see is the next bar's open. A hook that raises stops the run (:class:`StrategyFailed`).

Nothing waits: an order that never fills stays working until the end, where it expires.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl

from engine.backtest.array_charts import ArrayCharts
from engine.backtest.book import BacktestBook, BarMatching, PriceCache, path_offsets
from engine.backtest.charts import make_charts
from engine.backtest.gate import BacktestGate
from engine.backtest.options import BacktestOptions, Progress, RunResult, StrategyFailed
from engine.backtest.sparse import SparseRun, base_columns, layout_frame
from engine.broker.sim.matching import bar_path, check_order
from engine.model import Bar, Fill, Instrument, Order, OrderStatus, Side, TimeFrame
from engine.strategy.base import Strategy
from engine.strategy.chart import InstrumentCharts
from engine.strategy.context import StrategyContext
from engine.strategy.host import HostedStrategy, StrategyHost

log = logging.getLogger("avin.backtest")

__all__ = ["BacktestOptions", "Backtester", "Progress", "RunResult", "StrategyFailed"]


class Backtester:
    """Runs ``strategy`` on ``instrument``; :meth:`run` once per instance.

    The attributes and methods without a leading underscore are what a pass over the bars
    (:meth:`_run_dense`, :class:`~engine.backtest.sparse.SparseRun`) drives: the clock
    (``now``, ``bar``), the matching, the position and its marks, :meth:`match`,
    ``on_bar``, :meth:`start`.
    """

    # what release() lets go of (compiled by mypyc, an attribute may be deleted only if listed)
    __deletable__ = (
        "strategy",
        "book",
        "matching",
        "charts",
        "position",
        "marks",
        "rounded",
        "gate",
        "slot",
        "host",
        "on_bar",
        "_on_fill_hook",
        "_on_order_hook",
        "_flow_bars",
        "_flow_cash",
    )

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
        self.charts: InstrumentCharts = make_charts(code, base, self.options.chart_depth)
        for tf in strategy.timeframes:
            self.charts.get(tf)
        self.now: datetime | None = None  # the market clock the strategy sees
        self.bar = 0  # the bar being run, counted from the first traded bar
        self.last_close = 0.0  # the close of the last closed base bar: the rules' reference
        self.position = self.book.strategy_position(self.id)
        # the position mark of a close, Decimal(repr(close)), and the rounded path prices
        self.marks: Callable[[float], Decimal] = PriceCache(lambda c: Decimal(repr(c))).get
        self.rounded: Callable[[float], Decimal] = PriceCache(instrument.round_price).get
        self.gate: BacktestGate | None = None
        if self.options.risk is not None:
            self.gate = BacktestGate(
                self.options.risk,
                self.book,
                instrument,
                clock=lambda: self.now,
                price=self._reference_price,
            )
        self.slot = HostedStrategy(self.id, strategy, self._make_context(self.charts))
        self.host: StrategyHost[HostedStrategy] = StrategyHost(
            post=self._post,
            reject=self._reject,
            cancel=self._cancel,
            failed=self._failed,
            clock=lambda: self.now,
            gate=self.gate.check if self.gate is not None else None,
        )
        # the hot paths: on_bar without a frame of its own, fills without no-op hooks
        self.on_bar: Callable[[TimeFrame, Bar], bool] = self.host.bind(self.slot, "on_bar")
        self._on_fill_hook = self.host.overrides(strategy, "on_fill")
        self._on_order_hook = self.host.overrides(strategy, "on_order")
        self._flow_bars: list[int] = []  # per fill: the bar index (from the first traded bar)...
        self._flow_cash: list[float] = []  # ... and the cash change, commission included
        self._keys = 0
        self._verify: set[int] | None = None  # verify_wake: the quiet main bars (ns)
        self._done = False

    @property
    def ctx(self) -> StrategyContext:
        ctx = self.slot.ctx
        assert ctx is not None
        return ctx

    def _make_context(self, charts: InstrumentCharts) -> StrategyContext:
        return StrategyContext(
            strategy_id=self.id,
            instrument=self.instrument,
            account=self.options.account,
            timeframe=self.strategy.timeframe,
            charts=charts,
            book=self.book,
            clock=lambda: self.now,
            params=self.strategy.params,
            logger=logging.getLogger(f"avin.backtest.{self.id}"),
            new_key=self._next_key,
        )

    def _next_key(self) -> str:
        """Order keys numbered in order (a backtest is deterministic down to its keys)."""
        self._keys += 1
        return "bt-" + str(self._keys).zfill(8)

    def _reference_price(self) -> Decimal | None:
        return self.marks(self.last_close) if self.last_close else None

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

    def release(self) -> None:
        """Let go of everything the run built (book, orders, charts, host), once its result is
        taken: the hooks' context and the gate hold closures over this tester, so without this
        the whole run would wait for the cyclic garbage collector (a full pass over every order,
        fill and trade, at the latest when the process ends). The tester is unusable after."""
        del self.strategy, self.book, self.matching, self.charts, self.position, self.marks
        del self.rounded, self.gate, self.slot, self.host, self.on_bar
        del self._on_fill_hook, self._on_order_hook, self._flow_bars, self._flow_cash

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
        self.host.dispatch(self.slot, "on_stop")
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
        self.slot.ctx = self._make_context(charts)
        self.on_bar = self.host.bind(self.slot, "on_bar")  # the new context
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

    def start(self, now: datetime | None) -> None:
        """Trading starts at ``now``: ``on_start``."""
        self.now = now
        self.host.dispatch(self.slot, "on_start")

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
        offsets = path_offsets(step)
        wanted = tuple(self.strategy.timeframes)  # identity comparisons: no Enum hashing per bar
        position = self.position
        code = self.instrument.code
        held: list[int] = []
        marks = self.marks
        prev_end: datetime | None = None  # the end of the previous bar (warm-up included)
        prev_close = 0.0
        if first > 0:
            last = ts_list[first - 1]
            prev_end = last + step if step is not None else self.base.next(last)
            prev_close = self.last_close = closes[first - 1]
        self.start(ts_list[first] if first < n else None)
        every = max(1, (n - first) // 200)
        on_bar = self.on_bar if self._verify is None else self._on_bar_verified
        for j, i in enumerate(range(first, n)):
            ts = ts_list[i]
            bar = Bar(ts, opens[i], highs[i], lows[i], closes[i], volumes[i])
            self.bar = j
            if self.matching.busy:
                gap = always or prev_end is None or ts != prev_end
                if not gap:
                    self.matching.mark(code, self.rounded(prev_close))
                self.match(ts, bar_path(bar), gap, offsets)
            end = ts + step if step is not None else self.base.next(ts)
            self.now = end
            closed = charts.update(bar, True)
            prev_close = self.last_close = bar.close
            if position.lots:  # marked like the engine marks on each bar: Decimal(str(close))
                position.last_price = marks(prev_close)
            for timeframe, done in closed:
                if timeframe in wanted:
                    on_bar(timeframe, done)
            held.append(position.lots)
            prev_end = end
            if progress is not None and j % every == 0:
                progress(j, n - first)
        return np.array(held, dtype=np.int64)

    def match(self, ts: datetime, path: list[float], gap: bool, offsets: list[timedelta]) -> None:
        """Match the working orders along a bar's price ``path`` (it starts at ``ts``)."""
        code = self.instrument.code
        matching = self.matching
        working = matching.live
        rounded = self.rounded
        for k, value in enumerate(path):
            if not working:
                return
            price = rounded(value)
            when = ts + offsets[k]
            self.now = when
            for fill in matching.on_price(code, price, when, gap=gap and k == 0):
                self._on_fill(fill)

    def _on_fill(self, fill: Fill) -> None:
        order = self.book.apply_matched(fill)
        value = float(fill.price * (fill.lots * self.instrument.lot))
        if fill.side is Side.BUY:
            value = -value
        self._flow_bars.append(self.bar)
        self._flow_cash.append(value - float(fill.commission))
        if self._on_fill_hook:
            self.host.dispatch(self.slot, "on_fill", fill)
        if order is not None and self._on_order_hook:
            self.host.dispatch(self.slot, "on_order", order)

    # --- strategy hooks and orders -------------------------------------------------------------

    def _on_bar_verified(self, timeframe: TimeFrame, bar: Bar) -> None:
        """``on_bar`` that fails when the strategy acts on a bar its wake mask calls quiet."""
        quiet = (
            self._verify is not None
            and timeframe is self.strategy.timeframe
            and (
                int(bar.ts.timestamp()) * 1_000_000_000 + bar.ts.microsecond * 1000 in self._verify
            )
        )
        if not quiet:
            self.on_bar(timeframe, bar)
            return
        before = self.strategy.persist()
        ctx = self.ctx
        host = self.host
        host.depth += 1  # the hook alone: its intents are looked at before they are acted on
        try:
            self.strategy.on_bar(ctx, timeframe, bar)
        except Exception as exc:
            self._failed(self.slot, "on_bar", exc, 0)
        finally:
            host.depth -= 1
        if ctx.pending_intents or self.strategy.persist() != before:
            raise StrategyFailed(
                f"{self.id}: its wake mask calls the {timeframe.value} bar of "
                f"{bar.ts.isoformat()} quiet, but on_bar placed or cancelled an order or changed "
                "its state there: widen wake() (True on every bar where on_bar may act)"
            )

    def _failed(self, slot: HostedStrategy, hook: str, exc: BaseException, dropped: int) -> None:
        """The host's ``failed``: a hook raised, the run stops with the hook, time and error."""
        if isinstance(exc, StrategyFailed):
            raise exc
        if isinstance(exc, RecursionError):
            raise StrategyFailed(f"{self.id}: {exc}") from exc
        raise StrategyFailed(
            f"{self.id} failed in {hook} at {self.now}: {type(exc).__name__}: {exc}"
        ) from exc

    def _post(self, order: Order) -> None:
        """The host's ``post`` (the order passed the pre-trade rules): recorded, checked by the
        market, accepted and working (or rejected by the market); the strategy's ``on_order``."""
        now = self.now
        self.book.record(order)
        order.transition(OrderStatus.SUBMITTED, now)
        reason = check_order(order, self.instrument)
        if reason is not None:
            order.transition(OrderStatus.REJECTED, now, reason)
        else:
            order.transition(OrderStatus.ACCEPTED, now)
            self.matching.add(order, self.instrument)
        if self._on_order_hook:
            self.host.dispatch(self.slot, "on_order", order)

    def _reject(self, order: Order, reason: str) -> None:
        """The host's ``reject`` (the pre-trade rules refused it): REJECTED, never working."""
        log.debug("%s: order %s rejected: %s", self.id, order.id, reason)
        self.book.reject_local(order, reason, self.now)
        self.host.dispatch(self.slot, "on_order", order)

    def _cancel(self, key: str) -> None:
        order = self.book.get(key)
        if order is None or not order.is_open:
            return
        self.matching.remove(key)
        order.transition(OrderStatus.CANCELLED, self.now, "cancelled by the strategy")
        self.host.dispatch(self.slot, "on_order", order)

    def _expire(self) -> None:
        for order in self.book.open_orders():
            self.matching.remove(order.id)
            order.transition(OrderStatus.EXPIRED, self.now, "the backtest ended")

    # --- the result ----------------------------------------------------------------------------

    def _result(self, frame: pl.DataFrame, lots: np.ndarray) -> RunResult:
        n = frame.height
        flows = np.zeros(n, dtype=np.float64)
        np.add.at(flows, np.array(self._flow_bars, dtype=np.int64), self._flow_cash)  # in order
        close = frame["close"].to_numpy().astype(np.float64)
        capital = self.options.capital
        equity = float(capital) + np.cumsum(flows) + lots * self.instrument.lot * close
        position = self.position
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
            rejections=self.gate.rejections if self.gate is not None else {},
        )


def _order(tf: TimeFrame) -> int:
    return list(TimeFrame).index(tf)
