"""Rules: a small expression layer over polars for entries and exits, live or vectorised.

::

    from engine.strategy.rules import Rule, close, sma, crosses_above, crosses_below, time_between

    fast, slow = sma(close, 10), sma(close, 20)
    rule = Rule(
        entry_long=crosses_above(fast, slow) & time_between("07:00", "15:00") & zz_bull(2),
        entry_short=crosses_below(fast, slow),
        exit_long=close < sma(close, 50),
    )

An :class:`Expr` is causal: its value at bar ``i`` uses bars ``0..i`` only, so the same rule
evaluated over a whole series at once (:func:`engine.backtest.vector.run_rule`) and bar by bar on
the closed bars of a live chart (:class:`RuleStrategy`) gives the same signals. Moving averages are
computed window by window (a plain sum of the window, then a division), never as a running sum,
so the value at a bar does not depend on where the series starts.

Position logic at the close of each bar (``lots`` per position): in a long, ``exit_long`` flattens;
in a short, ``exit_short`` flattens; then ``entry_long`` goes long (reversing a short) or else
``entry_short`` goes short. Orders are market orders: they fill at the next bar's open.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from engine.model import Bar, TimeFrame
from engine.strategy.base import Strategy, StrategyParamError
from engine.strategy.context import StrategyContext

Operand = "Expr | float | int"


def _window_mean_py(values: np.ndarray, length: int) -> np.ndarray:
    n = values.shape[0]
    out = np.full(n, np.nan)
    for i in range(length - 1, n):
        total = 0.0
        for k in range(i - length + 1, i + 1):
            total += values[k]
        out[i] = total / length
    return out


_KERNELS: dict[str, Callable[..., np.ndarray]] = {}


def window_mean(values: np.ndarray, length: int) -> np.ndarray:
    """Mean of each window of ``length`` (NaN before), summed left to right like ``sum()``.

    Compiled with numba on first use (imported lazily: the registry imports this module); without
    numba (the binary leaves it out) the same loop runs in Python."""
    kernel = _KERNELS.get("window_mean")
    if kernel is None:
        try:
            from numba import njit
        except ImportError:
            kernel = _KERNELS["window_mean"] = _window_mean_py
        else:
            kernel = _KERNELS["window_mean"] = njit(cache=True)(_window_mean_py)
    return kernel(np.ascontiguousarray(values, dtype=np.float64), length)


Env = dict[str, str]  # computed node label -> the column that holds its values
Builder = Callable[[Env], pl.Expr]
Kernel = Callable[[pl.DataFrame, Env], np.ndarray]


class Expr:
    """A causal column expression; ``window`` is the number of bars it looks at (>= 1).

    A node with a ``kernel`` (e.g. ``sma``) is computed once per distinct ``label`` by
    :meth:`Rule.signals` and shared by every expression that uses it.
    """

    __slots__ = ("_build", "children", "kernel", "label", "window")

    def __init__(
        self,
        build: Builder,
        window: int,
        label: str,
        children: tuple[Expr, ...] = (),
        kernel: Kernel | None = None,
    ) -> None:
        self._build = build
        self.window = window
        self.label = label
        self.children = children
        self.kernel = kernel

    def to_polars(self, env: Env | None = None) -> pl.Expr:
        return self._build(env or {})

    def computed(self) -> list[Expr]:
        """The nodes with a kernel below (and including) this one, children first."""
        out: list[Expr] = []
        for child in self.children:
            out.extend(child.computed())
        if self.kernel is not None:
            out.append(self)
        return out

    def __repr__(self) -> str:
        return self.label

    # comparisons and arithmetic ---------------------------------------------------------------
    def __gt__(self, other: Any) -> Expr:
        return _binary(self, other, operator.gt, ">")

    def __ge__(self, other: Any) -> Expr:
        return _binary(self, other, operator.ge, ">=")

    def __lt__(self, other: Any) -> Expr:
        return _binary(self, other, operator.lt, "<")

    def __le__(self, other: Any) -> Expr:
        return _binary(self, other, operator.le, "<=")

    def __add__(self, other: Any) -> Expr:
        return _binary(self, other, operator.add, "+")

    def __sub__(self, other: Any) -> Expr:
        return _binary(self, other, operator.sub, "-")

    def __mul__(self, other: Any) -> Expr:
        return _binary(self, other, operator.mul, "*")

    def __truediv__(self, other: Any) -> Expr:
        return _binary(self, other, operator.truediv, "/")

    def __and__(self, other: Expr) -> Expr:
        return _binary(self, other, operator.and_, "&")

    def __or__(self, other: Expr) -> Expr:
        return _binary(self, other, operator.or_, "|")

    def __invert__(self) -> Expr:
        return Expr(lambda env: ~self.to_polars(env), self.window, f"~{self.label}", (self,))


def _as_expr(value: Any) -> Expr:
    if isinstance(value, Expr):
        return value
    number = float(value)
    return Expr(lambda env: pl.lit(number, dtype=pl.Float64), 1, repr(value))


def _binary(left: Expr, right: Any, op: Callable[[Any, Any], Any], sign: str) -> Expr:
    other = _as_expr(right)
    return Expr(
        lambda env: op(left.to_polars(env), other.to_polars(env)),
        max(left.window, other.window),
        f"({left.label} {sign} {other.label})",
        (left, other),
    )


def col(name: str) -> Expr:
    return Expr(lambda env: pl.col(name), 1, name)


open_ = col("open")
high = col("high")
low = col("low")
close = col("close")
volume = col("volume")


def shift(x: Expr, bars: int = 1) -> Expr:
    """``x`` as it was ``bars`` closed bars ago (null before the series)."""
    return Expr(
        lambda env: x.to_polars(env).shift(bars), x.window + bars, f"{x.label}[{bars}]", (x,)
    )


def sma(x: Expr, length: int) -> Expr:
    """Simple moving average of ``x`` over ``length`` bars (null until there are enough)."""
    if length < 1:
        raise ValueError(f"sma length must be positive, got {length}")

    label = f"sma({x.label}, {length})"

    def build(env: Env) -> pl.Expr:
        if label in env:
            return pl.col(env[label])
        return (
            x.to_polars(env)
            .cast(pl.Float64)
            .map_batches(
                lambda s: pl.Series(s.name, window_mean(s.fill_null(np.nan).to_numpy(), length)),
                return_dtype=pl.Float64,
            )
            .fill_nan(None)
        )

    def kernel(frame: pl.DataFrame, env: Env) -> np.ndarray:
        values = frame.select(x.to_polars(env).cast(pl.Float64).fill_null(np.nan)).to_series()
        return window_mean(values.to_numpy(), length)

    return Expr(build, x.window + length - 1, label, (x,), kernel)


def crosses_above(a: Expr | float, b: Expr | float) -> Expr:
    """``a`` above ``b`` on this bar and not above it (<=) on the previous one."""
    ea, eb = _as_expr(a), _as_expr(b)
    return (ea > eb) & (shift(ea) < shift(eb))


def crosses_below(a: Expr | float, b: Expr | float) -> Expr:
    ea, eb = _as_expr(a), _as_expr(b)
    return (ea < eb) & (shift(ea) > shift(eb))


def time_between(start: str, end: str, tz: str = "UTC") -> Expr:
    """The bar starts at or after ``start`` and before ``end`` (``HH:MM`` in ``tz``)."""
    from datetime import time

    t0, t1 = time.fromisoformat(start), time.fromisoformat(end)

    def build(env: Env) -> pl.Expr:
        clock = pl.col("ts").dt.convert_time_zone(tz).dt.time()
        return (clock >= t0) & (clock < t1)

    return Expr(build, 1, f"time in [{start}, {end}) {tz}")


UNBOUNDED = 1_000_000_000  # the window of an expression that depends on the whole history


def zz_trend(term: int = 1) -> Expr:
    """+1 while the real-time trend of ZigZag term ``term`` is bull, -1 while bear, null before
    there is one (``FrameView.trend(term, 0)``: last confirmed pivot -> candidate, closed bars).

    It depends on the whole history: live, it is computed over every closed bar the chart holds,
    so both paths agree as long as the chart's depth covers the history the vectorised run saw.
    """
    label = f"zz_trend(T{term})"

    def kernel(frame: pl.DataFrame, env: Env) -> np.ndarray:
        from engine.analysis.incremental import TermsZigZag
        from engine.analysis.types import TrendKind, trend_kind

        zz = TermsZigZag(term)
        cols = [frame[c].to_list() for c in ("open", "high", "low", "close")]
        out = np.full(frame.height, np.nan)
        confirmed = zz.confirmed[term - 1]
        for i, (o, h, lo, c) in enumerate(zip(*cols, strict=True)):
            zz.update_values(i, o, h, lo, c)
            cand = zz.candidates[term - 1]
            if confirmed and cand is not None:
                kind = trend_kind(confirmed[-1].price, cand.price, cand.kind)
                out[i] = 1.0 if kind is TrendKind.BULL else -1.0
        return out

    def build(env: Env) -> pl.Expr:
        if label not in env:
            raise ValueError(f"{label} is computed by Rule.signals (use it inside a Rule)")
        return pl.col(env[label])

    return Expr(build, UNBOUNDED, label, (), kernel)


def zz_bull(term: int = 1) -> Expr:
    return zz_trend(term) > 0


def zz_bear(term: int = 1) -> Expr:
    return zz_trend(term) < 0


@dataclass(frozen=True)
class Rule:
    entry_long: Expr | None = None
    entry_short: Expr | None = None
    exit_long: Expr | None = None
    exit_short: Expr | None = None
    lots: int = 1

    SIGNALS: ClassVar[tuple[str, ...]] = ("entry_long", "exit_long", "entry_short", "exit_short")

    @property
    def window(self) -> int:
        exprs = [getattr(self, k) for k in self.SIGNALS]
        return max([e.window for e in exprs if e is not None] or [1])

    def signals(self, bars: pl.DataFrame) -> pl.DataFrame:
        """One boolean column per signal (null -> False), one row per bar.

        Shared computed nodes (moving averages...) are evaluated once each, first."""
        exprs = [getattr(self, k) for k in self.SIGNALS]
        env: Env = {}
        frame = bars
        for expr in exprs:
            for node in [] if expr is None else expr.computed():
                if node.label in env:
                    continue
                assert node.kernel is not None
                name = f"__rule_{len(env)}"
                values = node.kernel(frame, env)
                column = pl.Series(name, values, dtype=pl.Float64).fill_nan(None)
                frame = frame.with_columns(column)
                env[node.label] = name
        cols = []
        for key, expr in zip(self.SIGNALS, exprs, strict=True):
            value = pl.lit(False) if expr is None else expr.to_polars(env)
            cols.append(value.cast(pl.Boolean).fill_null(False).alias(key))
        return frame.select(cols)


def step(position: int, lots: int, el: bool, xl: bool, es: bool, xs: bool) -> int:
    """The target position after one bar's signals (see the module doc)."""
    target = position
    if (position > 0 and xl) or (position < 0 and xs):
        target = 0
    if el:
        target = lots
    elif es:
        target = -lots
    return target


class RuleStrategy(Strategy):
    """A :class:`Rule` run live (or in the event-driven backtester) as an ordinary strategy.

    Subclass it and set ``rule`` (or override :meth:`make_rule` to build it from ``params``).
    """

    name: ClassVar[str] = ""
    rule: ClassVar[Rule | None] = None

    def make_rule(self) -> Rule:
        if self.rule is None:
            raise StrategyParamError(f"{type(self).__name__} has no rule")
        return self.rule

    def on_start(self, ctx: StrategyContext) -> None:
        self._rule = self.make_rule()

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        if timeframe is not self.timeframe:
            return
        rule = getattr(self, "_rule", None) or self.make_rule()
        self._rule = rule
        bars = ctx.chart(timeframe).closed_bars(rule.window + 1)
        frame = pl.DataFrame(
            {
                "ts": pl.Series([b.ts for b in bars], dtype=pl.Datetime("ns", "UTC")),
                "open": [b.open for b in bars],
                "high": [b.high for b in bars],
                "low": [b.low for b in bars],
                "close": [b.close for b in bars],
                "volume": pl.Series([b.volume for b in bars], dtype=pl.Int64),
            }
        )
        last = rule.signals(frame).row(-1)
        target = step(ctx.position, rule.lots, *last)
        ctx.order_target(target)


class SmaCrossRule(RuleStrategy):
    """``sma_cross`` written as a rule (``fast``, ``slow``, ``lots``): the same trades."""

    name: ClassVar[str] = "sma_cross_rule"
    default_params: ClassVar[dict[str, Any]] = {"fast": 5, "slow": 20, "lots": 1}

    def validate(self) -> None:
        p = self.params
        if not 0 < p["fast"] < p["slow"] or p["lots"] <= 0:
            raise StrategyParamError("sma_cross_rule: need 0 < fast < slow and lots > 0")

    def make_rule(self) -> Rule:
        return sma_cross_rule(self.params["fast"], self.params["slow"], self.params["lots"])


def sma_cross_rule(fast: int, slow: int, lots: int = 1) -> Rule:
    f, s = sma(close, fast), sma(close, slow)
    return Rule(entry_long=crosses_above(f, s), entry_short=crosses_below(f, s), lots=lots)
