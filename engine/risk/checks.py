"""Pre-trade checks: one small function per rule, each returning a :class:`Rejection` or None.

Every check reads a :class:`CheckInput` (the order, its instrument, the reference price, the
effective limits, the worst-case books) prepared by :class:`~engine.risk.gate.RiskGate`. A
rejection names its rule and the numbers, e.g.
``max_order_value: 125,000.00 RUB > limit 100,000.00 RUB``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.model import Instrument, Order, OrderType, Side
from engine.model.snapshot import TradingState
from engine.risk.exposure import Book
from engine.risk.limits import OrderLimits


@dataclass(frozen=True, slots=True)
class Rejection:
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass(frozen=True, slots=True)
class CheckInput:
    order: Order
    instrument: Instrument | None
    last_price: Decimal | None  # the reference for the collar and for valuing market orders
    limits: OrderLimits
    state: TradingState
    account_book: Book  # this account + instrument, without the order
    strategy_book: Book  # the order's strategy, without the order
    account_gross: Decimal  # worst-case gross value of the account, without the order
    market_open: bool | None  # may this order trade now? None: the broker does not say
    resting: Sequence[Order] = ()  # other open orders on the same account + instrument
    strategy_orders: int = 0  # orders of this strategy in the last minute
    account_orders: int = 0
    check_session: bool = True
    prevent_self_trade: bool = True
    market_note: str = ""  # the broker's trading status behind market_open, e.g. "NORMAL_TRADING"

    @property
    def price(self) -> Decimal | None:
        """The price the order is valued at: its limit (or stop) price, else the last price."""
        return self.order.price or self.order.stop_price or self.last_price

    @property
    def lot(self) -> int:
        return self.instrument.lot if self.instrument else 1


Check = Callable[[CheckInput], Rejection | None]


def money(value: Decimal) -> str:
    return f"{value:,.2f} RUB"


def reduces(book: Book, side: Side, lots: int) -> bool:
    """Whether an order only reduces ``book``'s position, counting the orders already open."""
    if book.lots == 0 or (book.lots > 0) == (side is Side.BUY):
        return False
    pending = book.open_sell if side is Side.SELL else book.open_buy
    return lots + pending <= abs(book.lots)


# --- the rules ----------------------------------------------------------------------------------


def trading_state(c: CheckInput) -> Rejection | None:
    if c.state is TradingState.HALTED:
        return Rejection("trading_state", "trading is HALTED")
    if c.state is TradingState.REDUCING and not reduces(c.account_book, c.order.side, c.order.lots):
        return Rejection(
            "trading_state",
            f"trading is REDUCING: {c.order.side.value} {c.order.lots} lot(s) does not reduce "
            f"the position {c.account_book.lots:+d} (open buy {c.account_book.open_buy}, "
            f"sell {c.account_book.open_sell})",
        )
    return None


def instrument_known(c: CheckInput) -> Rejection | None:
    if c.instrument is None:
        return Rejection("instrument", f"unknown instrument {c.order.instrument}")
    return None


def lot_validity(c: CheckInput) -> Rejection | None:
    lots = c.order.lots
    if isinstance(lots, bool) or not isinstance(lots, int) or lots <= 0:
        return Rejection("lot_validity", f"{lots!r} is not a positive whole number of lots")
    return None


def price_step(c: CheckInput) -> Rejection | None:
    if c.instrument is None:
        return None
    step = c.instrument.step
    for label, price in (("price", c.order.price), ("stop price", c.order.stop_price)):
        if price is not None and (price <= 0 or price % step != 0):
            return Rejection(
                "price_step", f"{label} {price} is not a positive multiple of the step {step}"
            )
    return None


def session(c: CheckInput) -> Rejection | None:
    if c.check_session and c.market_open is False:
        if c.market_note:
            return Rejection(
                "session",
                f"{c.order.instrument} does not take {c.order.type.value} orders now: the "
                f"broker's trading status is {c.market_note}",
            )
        return Rejection("session", f"the market for {c.order.instrument} is closed")
    return None


def price_collar(c: CheckInput) -> Rejection | None:
    last, collar = c.last_price, c.limits.price_collar
    if last is None or last <= 0:
        return None
    for label, price in (("price", c.order.price), ("stop price", c.order.stop_price)):
        if price is None:
            continue
        off = abs(price - last) / last
        if off > Decimal(str(collar)):
            return Rejection(
                "price_collar",
                f"{label} {price} is {off:.2%} from the last price {last} > limit {collar:.2%}",
            )
    return None


def max_order_lots(c: CheckInput) -> Rejection | None:
    limit = c.limits.max_order_lots
    if c.order.lots > limit:
        return Rejection("max_order_lots", f"{c.order.lots} lots > limit {limit}")
    return None


def max_order_value(c: CheckInput) -> Rejection | None:
    price = c.price
    if price is None:
        return Rejection("max_order_value", "no price to value the order (no market data yet)")
    value = price * c.order.lots * c.lot
    limit = c.limits.max_order_value
    if value > limit:
        return Rejection("max_order_value", f"{money(value)} > limit {money(limit)}")
    return None


def _grows_past(before: Book, after: Book, limit: int) -> bool:
    return after.worst > limit and after.worst > before.worst


def max_position(c: CheckInput) -> Rejection | None:
    before = c.account_book
    after = before.with_order(c.order.side, c.order.lots)
    limit = c.limits.account_position_lots
    if _grows_past(before, after, limit):
        return Rejection(
            "max_position",
            f"{c.order.instrument} on {c.order.account} could reach {after.worst} lots "
            f"(position {before.lots:+d}, open buy {before.open_buy}, sell {before.open_sell}, "
            f"this {c.order.side.value} {c.order.lots}) > limit {limit}",
        )
    return None


def strategy_position(c: CheckInput) -> Rejection | None:
    limit = c.limits.strategy_position_lots
    if limit is None or not c.order.strategy:
        return None
    before = c.strategy_book
    after = before.with_order(c.order.side, c.order.lots)
    if _grows_past(before, after, limit):
        return Rejection(
            "strategy_position",
            f"{c.order.strategy} could reach {after.worst} lots > limit {limit}",
        )
    return None


def gross_exposure(c: CheckInput) -> Rejection | None:
    price = c.price
    if price is None:
        return None  # max_order_value already refused it
    before = c.account_book
    after = before.with_order(c.order.side, c.order.lots)
    if after.worst <= before.worst:
        return None
    added = price * (after.worst - before.worst) * c.lot
    total = c.account_gross + added
    limit = c.limits.gross_exposure
    if total > limit:
        return Rejection(
            "max_gross_exposure",
            f"account {c.order.account} could reach {money(total)} > limit {money(limit)}",
        )
    return None


def budget(c: CheckInput) -> Rejection | None:
    limit = c.limits.budget
    price = c.price
    if limit is None or not c.order.strategy or price is None:
        return None
    before = c.strategy_book
    after = before.with_order(c.order.side, c.order.lots)
    if after.worst <= before.worst:
        return None
    value = price * after.worst * c.lot
    if value > limit:
        return Rejection(
            "budget",
            f"{c.order.strategy} could use {money(value)} ({after.worst} lots) "
            f"> budget {money(limit)}",
        )
    return None


def strategy_rate(c: CheckInput) -> Rejection | None:
    limit = c.limits.strategy_rate
    if c.order.strategy and c.strategy_orders + 1 > limit:
        return Rejection(
            "orders_per_minute_strategy",
            f"{c.order.strategy}: {c.strategy_orders + 1} orders in a minute > limit {limit}",
        )
    return None


def account_rate(c: CheckInput) -> Rejection | None:
    limit = c.limits.account_rate
    if c.account_orders + 1 > limit:
        return Rejection(
            "orders_per_minute_account",
            f"account {c.order.account}: {c.account_orders + 1} orders in a minute > limit {limit}",
        )
    return None


def crosses(new: Order, resting: Order) -> bool:
    """Whether ``new`` would trade against ``resting`` (opposite sides, prices overlap)."""
    if new.side is resting.side:
        return False
    new_price = new.price if new.type is OrderType.LIMIT else None
    rest_price = resting.price if resting.type is OrderType.LIMIT else None
    if new_price is None or rest_price is None:
        return True  # a market (or stop) order can trade at any price
    return new_price >= rest_price if new.side is Side.BUY else new_price <= rest_price


def self_trade(c: CheckInput) -> Rejection | None:
    if not c.prevent_self_trade:
        return None
    return crossing(c.order, c.resting)


def crossing(order: Order, resting: Sequence[Order]) -> Rejection | None:
    """The ``self_trade`` refusal of ``order`` against the first open order of ``resting`` it
    would cross (the netting desk asks it again for what a turn leaves for the broker)."""
    for other in resting:
        if other.id != order.id and other.is_open and crosses(order, other):
            owner = other.strategy or "manual"
            price = other.price if other.price is not None else "market"
            return Rejection(
                "self_trade",
                f"{order.side.value} would cross the resting {other.side.value} "
                f"{other.remaining_lots} @ {price} of {owner} (order {other.id[:8]}) "
                f"on {order.account}",
            )
    return None


# The order matters: the cheapest and most fundamental refusals first.
RULES: tuple[Check, ...] = (
    trading_state,
    instrument_known,
    lot_validity,
    price_step,
    session,
    max_order_lots,
    max_order_value,
    price_collar,
    max_position,
    strategy_position,
    gross_exposure,
    budget,
    self_trade,
    strategy_rate,
    account_rate,
)


def first_rejection(c: CheckInput, rules: Sequence[Check] = RULES) -> Rejection | None:
    for rule in rules:
        rejection = rule(c)
        if rejection is not None:
            return rejection
    return None
