"""Conversions between the T-Invest messages and avin's model (instruments, bars, orders)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from engine.broker.tinvest.errors import TInvestError
from engine.broker.tinvest.numbers import from_money, from_quotation, from_timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Bar, Instrument, Order, OrderStatus, OrderType, Side, TimeFrame

CANDLE_INTERVAL: dict[TimeFrame, Any] = {
    TimeFrame.M1: pb.CANDLE_INTERVAL_1_MIN,
    TimeFrame.M5: pb.CANDLE_INTERVAL_5_MIN,
    TimeFrame.M10: pb.CANDLE_INTERVAL_10_MIN,
    TimeFrame.M15: pb.CANDLE_INTERVAL_15_MIN,
    TimeFrame.H1: pb.CANDLE_INTERVAL_HOUR,
    TimeFrame.H4: pb.CANDLE_INTERVAL_4_HOUR,
    TimeFrame.D: pb.CANDLE_INTERVAL_DAY,
    TimeFrame.W: pb.CANDLE_INTERVAL_WEEK,
    TimeFrame.MONTH: pb.CANDLE_INTERVAL_MONTH,
}
INTERVAL_TIMEFRAME: dict[int, TimeFrame] = {v: k for k, v in CANDLE_INTERVAL.items()}

SUBSCRIPTION_INTERVAL: dict[TimeFrame, Any] = {
    TimeFrame.M1: pb.SUBSCRIPTION_INTERVAL_ONE_MINUTE,
    TimeFrame.M5: pb.SUBSCRIPTION_INTERVAL_FIVE_MINUTES,
    TimeFrame.M10: pb.SUBSCRIPTION_INTERVAL_10_MIN,
    TimeFrame.M15: pb.SUBSCRIPTION_INTERVAL_FIFTEEN_MINUTES,
    TimeFrame.H1: pb.SUBSCRIPTION_INTERVAL_ONE_HOUR,
    TimeFrame.H4: pb.SUBSCRIPTION_INTERVAL_4_HOUR,
    TimeFrame.D: pb.SUBSCRIPTION_INTERVAL_ONE_DAY,
    TimeFrame.W: pb.SUBSCRIPTION_INTERVAL_WEEK,
    TimeFrame.MONTH: pb.SUBSCRIPTION_INTERVAL_MONTH,
}
SUBSCRIPTION_TIMEFRAME: dict[int, TimeFrame] = {v: k for k, v in SUBSCRIPTION_INTERVAL.items()}

# The longest GetCandles window per interval (a larger one is refused with 30014). The facts give
# 1 day for 1 minute, 1 week for 5/10 minutes, 3 weeks for 15/30 minutes, 3 months for hours and
# 6 years for days; the contract's comments 5 years for weeks and 10 for months; 4 hours uses
# the hourly window (conservative). A server that still says 30014 gets the window split in two.
CANDLE_WINDOW: dict[TimeFrame, timedelta] = {
    TimeFrame.M1: timedelta(days=1),
    TimeFrame.M5: timedelta(weeks=1),
    TimeFrame.M10: timedelta(weeks=1),
    TimeFrame.M15: timedelta(weeks=3),
    TimeFrame.H1: timedelta(days=90),
    TimeFrame.H4: timedelta(days=90),
    TimeFrame.D: timedelta(days=6 * 365),
    TimeFrame.W: timedelta(days=5 * 365),  # the contract: a week's candles up to 5 years
    TimeFrame.MONTH: timedelta(days=10 * 365),  # a month's up to 10 years
}

STATUS: dict[int, OrderStatus] = {
    pb.EXECUTION_REPORT_STATUS_UNSPECIFIED: OrderStatus.SUBMITTED,
    pb.EXECUTION_REPORT_STATUS_FILL: OrderStatus.FILLED,
    pb.EXECUTION_REPORT_STATUS_REJECTED: OrderStatus.REJECTED,
    pb.EXECUTION_REPORT_STATUS_CANCELLED: OrderStatus.CANCELLED,
    pb.EXECUTION_REPORT_STATUS_NEW: OrderStatus.ACCEPTED,
    pb.EXECUTION_REPORT_STATUS_PARTIALLYFILL: OrderStatus.PARTIALLY_FILLED,
}
STATUS_CODE: dict[OrderStatus, Any] = {
    OrderStatus.NEW: pb.EXECUTION_REPORT_STATUS_NEW,
    OrderStatus.SUBMITTED: pb.EXECUTION_REPORT_STATUS_NEW,
    OrderStatus.ACCEPTED: pb.EXECUTION_REPORT_STATUS_NEW,
    OrderStatus.PARTIALLY_FILLED: pb.EXECUTION_REPORT_STATUS_PARTIALLYFILL,
    OrderStatus.FILLED: pb.EXECUTION_REPORT_STATUS_FILL,
    OrderStatus.REJECTED: pb.EXECUTION_REPORT_STATUS_REJECTED,
    OrderStatus.CANCELLED: pb.EXECUTION_REPORT_STATUS_CANCELLED,
    OrderStatus.EXPIRED: pb.EXECUTION_REPORT_STATUS_CANCELLED,
}
DIRECTION: dict[Side, Any] = {Side.BUY: pb.ORDER_DIRECTION_BUY, Side.SELL: pb.ORDER_DIRECTION_SELL}
SIDE: dict[int, Side] = {v: k for k, v in DIRECTION.items()}
ORDER_TYPE: dict[OrderType, Any] = {
    OrderType.MARKET: pb.ORDER_TYPE_MARKET,
    OrderType.LIMIT: pb.ORDER_TYPE_LIMIT,
}
TYPE: dict[int, OrderType] = {
    pb.ORDER_TYPE_MARKET: OrderType.MARKET,
    pb.ORDER_TYPE_LIMIT: OrderType.LIMIT,
    pb.ORDER_TYPE_BESTPRICE: OrderType.MARKET,
}
STOP_TYPE: dict[OrderType, Any] = {
    OrderType.STOP: pb.STOP_ORDER_TYPE_STOP_LOSS,
    OrderType.TAKE_PROFIT: pb.STOP_ORDER_TYPE_TAKE_PROFIT,
    OrderType.STOP_LIMIT: pb.STOP_ORDER_TYPE_STOP_LIMIT,
}
STOP_KIND: dict[int, OrderType] = {v: k for k, v in STOP_TYPE.items()}
STOP_DIRECTION: dict[Side, Any] = {
    Side.BUY: pb.STOP_ORDER_DIRECTION_BUY,
    Side.SELL: pb.STOP_ORDER_DIRECTION_SELL,
}
STOP_SIDE: dict[int, Side] = {v: k for k, v in STOP_DIRECTION.items()}


class MessageError(TInvestError, ValueError):
    """A message from the server that cannot be our model: a number whose units and nano
    disagree, a time outside the calendar. Says which message and what is wrong."""


_Converter = TypeVar("_Converter", bound=Callable[..., Any])


def _checked(convert: _Converter) -> _Converter:
    """``convert`` raising :class:`MessageError` for a value it cannot read (never a bare
    ValueError/OverflowError from deep inside a number or a timestamp)."""

    @functools.wraps(convert)
    def wrapper(message: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return convert(message, *args, **kwargs)
        except MessageError:
            raise
        except (ValueError, OverflowError, ArithmeticError) as exc:
            raise MessageError(
                f"the server sent a {type(message).__name__} that avin cannot read: {exc}",
                explanation="a field of the message is out of its range (a broker fault, or a "
                "newer API than avin knows)",
                action="report it with the log to the avin maintainers",
                method=type(message).__name__,
            ) from exc

    return wrapper  # type: ignore[return-value]


STOP_STATUS: dict[int, OrderStatus] = {
    pb.STOP_ORDER_STATUS_ACTIVE: OrderStatus.ACCEPTED,
    pb.STOP_ORDER_STATUS_EXECUTED: OrderStatus.FILLED,
    pb.STOP_ORDER_STATUS_CANCELED: OrderStatus.CANCELLED,
    pb.STOP_ORDER_STATUS_EXPIRED: OrderStatus.EXPIRED,
}


def _category(kind: str) -> str:
    return {"share": "SHARE", "etf": "ETF", "bond": "BOND", "futures": "FUTURES"}.get(
        kind.lower(), kind.upper() or "SHARE"
    )


@_checked
def share_to_instrument(share: pb.Share) -> Instrument:
    return _to_instrument(share, "SHARE")


@_checked
def instrument_to_model(item: pb.Instrument) -> Instrument:
    return _to_instrument(item, _category(item.instrument_type))


def _to_instrument(item: pb.Share | pb.Instrument, category: str) -> Instrument:
    """Share and Instrument carry the same identity fields under the same names."""
    return Instrument(
        exchange="MOEX",
        category=category,
        ticker=item.ticker.upper(),
        uid=item.uid,
        figi=item.figi,
        class_code=item.class_code,
        lot=max(1, item.lot),
        step=from_quotation(item.min_price_increment) or Decimal("0.01"),
        currency=item.currency or "rub",
        name=item.name,
    )


@_checked
def historic_to_bar(candle: pb.HistoricCandle) -> Bar:
    return Bar(
        ts=from_timestamp(candle.time),
        open=float(from_quotation(candle.open)),
        high=float(from_quotation(candle.high)),
        low=float(from_quotation(candle.low)),
        close=float(from_quotation(candle.close)),
        volume=int(candle.volume),
    )


@_checked
def candle_to_bar(candle: pb.Candle) -> Bar:
    return Bar(
        ts=from_timestamp(candle.time),
        open=float(from_quotation(candle.open)),
        high=float(from_quotation(candle.high)),
        low=float(from_quotation(candle.low)),
        close=float(from_quotation(candle.close)),
        volume=int(candle.volume),
    )


@_checked
def order_from_state(
    state: pb.OrderState | pb.PostOrderResponse,
    *,
    instrument: Instrument,
    account: str,
    key: str,
) -> Order:
    """Our view of an order from ``OrderState`` or ``PostOrderResponse``.

    Prices per share: ``initial_security_price`` is the requested price; the average fill price
    is ``average_position_price`` in an OrderState and ``executed_order_price`` in a
    PostOrderResponse (both per one instrument).
    """
    status = STATUS.get(state.execution_report_status, OrderStatus.SUBMITTED)
    kind = TYPE.get(state.order_type, OrderType.MARKET)
    price = from_money(state.initial_security_price) if kind is OrderType.LIMIT else None
    if kind is OrderType.LIMIT and not price:
        kind = OrderType.MARKET
        price = None
    if isinstance(state, pb.OrderState):
        avg = from_money(state.average_position_price)
        created = from_timestamp(state.order_date) if state.HasField("order_date") else None
        commission = from_money(state.executed_commission)
    else:
        avg = from_money(state.executed_order_price)
        created = None
        commission = from_money(state.executed_commission)
    filled = int(state.lots_executed)
    return Order(
        instrument=instrument.code,
        side=SIDE.get(state.direction, Side.BUY),
        type=kind,
        lots=max(1, int(state.lots_requested)),
        account=account,
        price=price,
        id=state.order_request_id or key,
        status=status,
        filled_lots=filled,
        avg_fill_price=avg if filled else None,
        commission=commission,
        broker_id=state.order_id,
        created_ts=created,
        updated_ts=created,
    )


@_checked
def order_from_stream(
    state: pb.OrderStateStreamResponse.OrderState, *, instrument: Instrument, key: str
) -> Order:
    status = STATUS.get(state.execution_report_status, OrderStatus.SUBMITTED)
    kind = TYPE.get(state.order_type, OrderType.MARKET)
    lot = max(1, state.lot_size or instrument.lot)
    price: Decimal | None = None
    if kind is OrderType.LIMIT:
        price = from_money(state.initial_order_price) / (max(1, state.lots_requested) * lot)
        price = instrument.round_price(price) if price else None
        if price is None:
            kind = OrderType.MARKET
    created = from_timestamp(state.created_at) if state.HasField("created_at") else None
    return Order(
        instrument=instrument.code,
        side=SIDE.get(state.direction, Side.BUY),
        type=kind,
        lots=max(1, int(state.lots_requested)),
        account=state.account_id,
        price=price,
        id=state.order_request_id or key,
        status=status,
        filled_lots=int(state.lots_executed),
        broker_id=state.order_id,
        created_ts=created,
        updated_ts=created,
    )


@_checked
def stop_order_to_model(
    stop: pb.StopOrder, *, instrument: Instrument, account: str, key: str = ""
) -> Order:
    kind = STOP_KIND.get(stop.order_type, OrderType.STOP)
    price = from_money(stop.price) if kind is OrderType.STOP_LIMIT else None
    return Order(
        instrument=instrument.code,
        side=STOP_SIDE.get(stop.direction, Side.BUY),
        type=kind,
        lots=max(1, int(stop.lots_requested)),
        account=account,
        price=price,
        stop_price=from_money(stop.stop_price),
        id=key or stop.stop_order_id,
        status=STOP_STATUS.get(stop.status, OrderStatus.ACCEPTED),
        broker_id=stop.stop_order_id,
        created_ts=from_timestamp(stop.create_date) if stop.HasField("create_date") else None,
    )
