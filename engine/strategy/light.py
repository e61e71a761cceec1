"""A lighter way to write strategies: handlers per timeframe, brackets, sizing by risk.

::

    class MyStrategy(LightStrategy):
        name = "my_strategy"
        timeframes = (TimeFrame.H1, TimeFrame.D)

        def on_1H(self, ctx, bar):          # one handler per timeframe code: on_1M, on_10M,
            if ctx.position == 0 and not ctx.orders:   # on_1H, on_D, on_W, on_M ...
                self.bracket(ctx, Side.BUY, 1, stop_p=1.0, take_p=2.0)

``bracket`` enters with a market order; when the entry fills it places a stop-loss (STOP) and a
take-profit (TAKE_PROFIT) for the filled lots, in percent of the fill price (``stop_p``,
``take_p``) or at prices (``stop_price``, ``take_price``); when one exit fills, the other is
cancelled (one-cancels-other). :func:`risk_lots` sizes a position so that hitting the stop loses
at most a given amount. The state is the strategy's own (rebuilt from its orders on restart: see
docs/strategies.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from engine.model import Bar, Fill, Instrument, Order, OrderType, Side, TimeFrame
from engine.strategy.base import Strategy
from engine.strategy.context import StrategyContext


@dataclass(slots=True)
class Bracket:
    side: Side  # of the entry
    stop_p: float | None = None
    take_p: float | None = None
    stop_price: Decimal | None = None
    take_price: Decimal | None = None
    stop_id: str = ""
    take_id: str = ""


def handler_name(timeframe: TimeFrame) -> str:
    return f"on_{timeframe.value}"


def exit_prices(
    side: Side,
    fill_price: Decimal,
    *,
    stop_p: float | None = None,
    take_p: float | None = None,
    stop_price: Decimal | float | None = None,
    take_price: Decimal | float | None = None,
) -> tuple[Decimal | None, Decimal | None]:
    """Stop and take prices for an entry filled at ``fill_price`` (percent or absolute)."""
    sign = Decimal(side.sign)
    stop = None if stop_price is None else Decimal(str(stop_price))
    take = None if take_price is None else Decimal(str(take_price))
    if stop is None and stop_p is not None:
        stop = fill_price * (1 - sign * Decimal(str(stop_p)) / 100)
    if take is None and take_p is not None:
        take = fill_price * (1 + sign * Decimal(str(take_p)) / 100)
    return stop, take


def risk_lots(
    instrument: Instrument,
    entry: Decimal | float,
    stop: Decimal | float,
    risk: Decimal | float,
    *,
    max_lots: int | None = None,
) -> int:
    """Lots such that a move from ``entry`` to ``stop`` loses at most ``risk`` money (>= 0)."""
    per_lot = abs(Decimal(str(entry)) - Decimal(str(stop))) * instrument.lot
    if per_lot <= 0:
        return 0
    lots = int((Decimal(str(risk)) / per_lot).to_integral_value(rounding=ROUND_FLOOR))
    lots = max(lots, 0)
    return min(lots, max_lots) if max_lots is not None else lots


class LightStrategy(Strategy):
    """A :class:`Strategy` with ``on_<timeframe>`` handlers and bracket orders."""

    def __init__(
        self, params: Mapping[str, Any] | None = None, timeframe: TimeFrame | None = None
    ) -> None:
        super().__init__(params, timeframe)
        self._brackets: dict[str, Bracket] = {}  # entry order id -> bracket
        self._exits: dict[str, str] = {}  # exit order id -> its sibling's id

    # --- dispatch ----------------------------------------------------------------------------

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Bar) -> None:
        handler = getattr(self, handler_name(timeframe), None)
        if handler is not None:
            handler(ctx, bar)

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        bracket = self._brackets.get(fill.order_id)
        if bracket is not None:
            self._place_exits(ctx, bracket, fill)
            return
        sibling = self._exits.pop(fill.order_id, None)
        if sibling is not None:
            self._exits.pop(sibling, None)
            if any(o.id == sibling for o in ctx.orders):
                ctx.cancel(sibling)
        self.on_trade_fill(ctx, fill)

    def on_trade_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        """Fills other than bracket entries (override instead of ``on_fill``)."""

    # --- orders ------------------------------------------------------------------------------

    def bracket(
        self,
        ctx: StrategyContext,
        side: Side,
        lots: int,
        *,
        stop_p: float | None = None,
        take_p: float | None = None,
        stop_price: Decimal | float | None = None,
        take_price: Decimal | float | None = None,
    ) -> Order:
        """A market entry whose fill places a stop-loss and a take-profit (OCO)."""
        order = ctx.buy(lots) if side is Side.BUY else ctx.sell(lots)
        self._brackets[order.id] = Bracket(
            side,
            stop_p,
            take_p,
            None if stop_price is None else Decimal(str(stop_price)),
            None if take_price is None else Decimal(str(take_price)),
        )
        return order

    def _place_exits(self, ctx: StrategyContext, bracket: Bracket, fill: Fill) -> None:
        stop, take = exit_prices(
            bracket.side,
            fill.price,
            stop_p=bracket.stop_p,
            take_p=bracket.take_p,
            stop_price=bracket.stop_price,
            take_price=bracket.take_price,
        )
        out = bracket.side.opposite
        ids = []
        if stop is not None:
            ids.append(ctx.place(out, fill.lots, OrderType.STOP, stop_price=stop).id)
        if take is not None:
            ids.append(ctx.place(out, fill.lots, OrderType.TAKE_PROFIT, stop_price=take).id)
        if len(ids) == 2:
            self._exits[ids[0]] = ids[1]
            self._exits[ids[1]] = ids[0]
        elif ids:
            self._exits[ids[0]] = ""
        if fill.order_id in self._brackets and not any(o.id == fill.order_id for o in ctx.orders):
            del self._brackets[fill.order_id]

    @property
    def flat_and_idle(self) -> bool:
        """No bracket in progress (exits all done)."""
        return not self._exits and not self._brackets
