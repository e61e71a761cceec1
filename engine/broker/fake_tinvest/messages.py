"""Building T-Invest messages from the fake exchange's state.

The fake keeps its own wire tables and number codecs, written out from the wire facts
(``shared/reference/tinvest-wire.md``, contract 1.43), and never imports the adapter's: a wrong
code in the adapter (say STOP_LOSS sent as TAKE_PROFIT) then reaches a fake that reads the code
as the real service does, and a test notices.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from engine.broker.fake_tinvest.records import ServerOrder, Trade
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Bar, Instrument, OrderStatus, OrderType, Side, TimeFrame

# --- enum codes, as the wire facts number them --------------------------------------------------

# OrderDirection: ORDER_DIRECTION_BUY=1, ORDER_DIRECTION_SELL=2
DIRECTION: dict[Side, Any] = {Side.BUY: 1, Side.SELL: 2}
SIDE: dict[int, Side] = {1: Side.BUY, 2: Side.SELL}
# OrderType: ORDER_TYPE_LIMIT=1, ORDER_TYPE_MARKET=2, ORDER_TYPE_BESTPRICE=3
ORDER_TYPE: dict[OrderType, Any] = {OrderType.LIMIT: 1, OrderType.MARKET: 2}
ORDER_KIND: dict[int, OrderType] = {1: OrderType.LIMIT, 2: OrderType.MARKET, 3: OrderType.MARKET}
# OrderExecutionReportStatus: FILL=1, REJECTED=2, CANCELLED=3, NEW=4, PARTIALLYFILL=5
STATUS_CODE: dict[OrderStatus, Any] = {
    OrderStatus.NEW: 4,
    OrderStatus.SUBMITTED: 4,
    OrderStatus.ACCEPTED: 4,
    OrderStatus.PARTIALLY_FILLED: 5,
    OrderStatus.FILLED: 1,
    OrderStatus.REJECTED: 2,
    OrderStatus.CANCELLED: 3,
    OrderStatus.EXPIRED: 3,
}
# TimeInForceType: TIME_IN_FORCE_DAY=1, FILL_AND_KILL=2, FILL_OR_KILL=3
TIME_IN_FORCE_DAY: Any = 1
# StopOrderDirection: STOP_ORDER_DIRECTION_BUY=1, STOP_ORDER_DIRECTION_SELL=2
STOP_DIRECTION: dict[Side, Any] = {Side.BUY: 1, Side.SELL: 2}
STOP_SIDE: dict[int, Side] = {1: Side.BUY, 2: Side.SELL}
# StopOrderType: STOP_ORDER_TYPE_TAKE_PROFIT=1, STOP_ORDER_TYPE_STOP_LOSS=2, STOP_LIMIT=3
STOP_TYPE: dict[OrderType, Any] = {
    OrderType.TAKE_PROFIT: 1,
    OrderType.STOP: 2,
    OrderType.STOP_LIMIT: 3,
}
STOP_KIND: dict[int, OrderType] = {
    1: OrderType.TAKE_PROFIT,
    2: OrderType.STOP,
    3: OrderType.STOP_LIMIT,
}
# StopOrderStatusOption: ALL=1, ACTIVE=2, EXECUTED=3, CANCELED=4, EXPIRED=5
STOP_STATUS_CODE: dict[OrderStatus, Any] = {
    OrderStatus.ACCEPTED: 2,
    OrderStatus.FILLED: 3,
    OrderStatus.CANCELLED: 4,
    OrderStatus.EXPIRED: 5,
}
# ExchangeOrderType: EXCHANGE_ORDER_TYPE_MARKET=1, EXCHANGE_ORDER_TYPE_LIMIT=2
EXCHANGE_MARKET: Any = 1
EXCHANGE_LIMIT: Any = 2
# CandleInterval: 1_MIN=1, 5_MIN=2, 15_MIN=3, HOUR=4, DAY=5, 10_MIN=8, 4_HOUR=11, WEEK=12, MONTH=13
INTERVAL_TIMEFRAME: dict[int, TimeFrame] = {
    1: TimeFrame.M1,
    2: TimeFrame.M5,
    8: TimeFrame.M10,
    3: TimeFrame.M15,
    4: TimeFrame.H1,
    11: TimeFrame.H4,
    5: TimeFrame.D,
    12: TimeFrame.W,
    13: TimeFrame.MONTH,
}
# The longest GetCandles window (30014 beyond it): 1 day for minutes, 1 week for 5/10 minutes,
# 3 weeks for 15 minutes, 3 months for hours, 6 years for days, 5 years for weeks and 10 for
# months (the contract's comments); 4 hours as hours.
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

# --- rate limits per user and minute (the facts) ------------------------------------------------

SERVICE_LIMITS: dict[str, int] = {
    "UsersService": 100,
    "InstrumentsService": 200,
    "MarketDataService": 600,
    "OperationsService": 200,
    "StopOrdersService": 50,
    "SandboxService": 200,
    "OrdersService": 100,
}
METHOD_LIMITS: dict[tuple[str, str], int] = {
    ("OrdersService", "PostOrder"): 300,
    ("OrdersService", "CancelOrder"): 100,
    ("OrdersService", "GetOrders"): 200,
}

# --- numbers: value = units + nano * 1e-9, nano carries the sign of the value -------------------

_BILLION = 10**9


def _parts(value: Decimal | int | str) -> tuple[int, int]:
    with localcontext() as ctx:
        ctx.prec = 60
        billionths = int((Decimal(value) * _BILLION).to_integral_value(rounding=ROUND_HALF_EVEN))
    whole = abs(billionths) // _BILLION
    frac = abs(billionths) % _BILLION
    return (-whole, -frac) if billionths < 0 else (whole, frac)


def quotation(value: Decimal | int | str) -> pb.Quotation:
    units, nano = _parts(value)
    return pb.Quotation(units=units, nano=nano)


def money(value: Decimal | int | str, currency: str = "rub") -> pb.MoneyValue:
    units, nano = _parts(value)
    return pb.MoneyValue(currency=currency, units=units, nano=nano)


def _value(units: int, nano: int) -> Decimal:
    if nano == 0:
        return Decimal(units)
    return (Decimal(units * _BILLION + nano).scaleb(-9)).normalize()


def from_quotation(q: Any) -> Decimal:
    return _value(q.units, q.nano)


def from_money(m: Any) -> Decimal:
    return _value(m.units, m.nano)


def timestamp(ts: datetime) -> Timestamp:
    if ts.tzinfo is None:
        raise ValueError(f"naive timestamp {ts!r}")
    out = Timestamp()
    out.FromDatetime(ts.astimezone(UTC))
    return out


def from_timestamp(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def share(inst: Instrument) -> pb.Share:
    return pb.Share(
        figi=inst.figi,
        ticker=inst.ticker,
        class_code=inst.class_code,
        lot=inst.lot,
        currency=inst.currency,
        name=inst.name,
        exchange="MOEX",
        min_price_increment=quotation(inst.step),
        uid=inst.uid,
        real_exchange=pb.REAL_EXCHANGE_MOEX,
        api_trade_available_flag=True,
        buy_available_flag=True,
        sell_available_flag=True,
        trading_status=pb.SECURITY_TRADING_STATUS_NORMAL_TRADING,
    )


def instrument(inst: Instrument) -> pb.Instrument:
    return pb.Instrument(
        figi=inst.figi,
        ticker=inst.ticker,
        class_code=inst.class_code,
        lot=inst.lot,
        currency=inst.currency,
        name=inst.name,
        exchange="MOEX",
        instrument_type="share",
        min_price_increment=quotation(inst.step),
        uid=inst.uid,
        api_trade_available_flag=True,
        instrument_kind=pb.INSTRUMENT_TYPE_SHARE,
    )


def short(inst: Instrument) -> pb.InstrumentShort:
    return pb.InstrumentShort(
        figi=inst.figi,
        ticker=inst.ticker,
        class_code=inst.class_code,
        instrument_type="share",
        name=inst.name,
        uid=inst.uid,
        instrument_kind=pb.INSTRUMENT_TYPE_SHARE,
        api_trade_available_flag=True,
        lot=inst.lot,
    )


def _q(value: float, inst: Instrument) -> pb.Quotation:
    return quotation(inst.round_price(value))


def historic(bar: Bar, inst: Instrument, complete: bool) -> pb.HistoricCandle:
    return pb.HistoricCandle(
        open=_q(bar.open, inst),
        high=_q(bar.high, inst),
        low=_q(bar.low, inst),
        close=_q(bar.close, inst),
        volume=bar.volume,
        time=timestamp(bar.ts),
        is_complete=complete,
        candle_source=pb.CANDLE_SOURCE_EXCHANGE,
    )


def candle(bar: Bar, inst: Instrument, last_trade: datetime) -> pb.Candle:
    return pb.Candle(
        figi=inst.figi,
        interval=pb.SUBSCRIPTION_INTERVAL_ONE_MINUTE,
        open=_q(bar.open, inst),
        high=_q(bar.high, inst),
        low=_q(bar.low, inst),
        close=_q(bar.close, inst),
        volume=bar.volume,
        time=timestamp(bar.ts),
        last_trade_ts=timestamp(last_trade),
        instrument_uid=inst.uid,
        ticker=inst.ticker,
        class_code=inst.class_code,
    )


def _avg(record: ServerOrder) -> Decimal:
    return record.order.avg_fill_price or Decimal(0)


def order_state(record: ServerOrder, initial_commission: Decimal = Decimal(0)) -> pb.OrderState:
    """``executed_commission`` is the sum of the trades' commissions (the matching engine's rate);
    ``initial_commission`` the estimate for the whole order."""
    o = record.order
    inst = record.instrument
    price = o.price or Decimal(0)
    avg = _avg(record)
    return pb.OrderState(
        order_id=record.exchange_id,
        execution_report_status=STATUS_CODE[o.status],
        lots_requested=o.lots,
        lots_executed=o.filled_lots,
        initial_order_price=money(price * o.lots * inst.lot),
        executed_order_price=money(avg * o.filled_lots * inst.lot),
        total_order_amount=money(price * o.lots * inst.lot),
        average_position_price=money(avg),
        initial_commission=money(initial_commission),
        executed_commission=money(record.commission),
        figi=inst.figi,
        direction=DIRECTION[o.side],
        initial_security_price=money(price),
        stages=[
            pb.OrderStage(
                price=money(t.price),
                quantity=t.lots,
                trade_id=t.trade_id,
                execution_time=timestamp(t.ts),
            )
            for t in record.trades
        ],
        service_commission=money(0),
        currency=inst.currency,
        order_type=ORDER_TYPE.get(o.type, ORDER_TYPE[OrderType.MARKET]),
        order_date=timestamp(record.created),
        instrument_uid=inst.uid,
        order_request_id=record.key,
        ticker=inst.ticker,
        class_code=inst.class_code,
    )


def post_response(
    record: ServerOrder,
    tracking_id: str,
    now: datetime,
    initial_commission: Decimal = Decimal(0),
) -> pb.PostOrderResponse:
    o = record.order
    inst = record.instrument
    price = o.price or Decimal(0)
    return pb.PostOrderResponse(
        order_id=record.exchange_id,
        execution_report_status=STATUS_CODE[o.status],
        lots_requested=o.lots,
        lots_executed=o.filled_lots,
        initial_order_price=money(price * o.lots * inst.lot),
        executed_order_price=money(_avg(record)),
        total_order_amount=money(price * o.lots * inst.lot),
        initial_commission=money(initial_commission),
        executed_commission=money(record.commission),
        figi=inst.figi,
        direction=DIRECTION[o.side],
        initial_security_price=money(price),
        order_type=ORDER_TYPE.get(o.type, ORDER_TYPE[OrderType.MARKET]),
        instrument_uid=inst.uid,
        ticker=inst.ticker,
        class_code=inst.class_code,
        order_request_id=record.key,
        response_metadata=pb.ResponseMetadata(tracking_id=tracking_id, server_time=timestamp(now)),
    )


def stream_state(
    record: ServerOrder, trades: list[Trade]
) -> pb.OrderStateStreamResponse.OrderState:
    """The order-state stream message. It has no commission field (the API's neither): clients
    read ``executed_commission`` with GetOrderState. The order a triggered stop order became has
    no client key, so ``order_request_id`` is left out."""
    o = record.order
    inst = record.instrument
    price = o.price or Decimal(0)
    avg = _avg(record)
    state = pb.OrderStateStreamResponse.OrderState(
        order_id=record.exchange_id,
        created_at=timestamp(record.created),
        execution_report_status=STATUS_CODE[o.status],
        ticker=inst.ticker,
        class_code=inst.class_code,
        lot_size=inst.lot,
        direction=DIRECTION[o.side],
        time_in_force=TIME_IN_FORCE_DAY,
        order_type=ORDER_TYPE.get(o.type, ORDER_TYPE[OrderType.MARKET]),
        account_id=record.account,
        initial_order_price=money(price * o.lots * inst.lot),
        order_price=money(price * o.lots * inst.lot),
        executed_order_price=money(avg * o.filled_lots * inst.lot),
        currency=inst.currency,
        lots_requested=o.lots,
        lots_executed=o.filled_lots,
        lots_left=o.remaining_lots if o.is_open else 0,
        lots_cancelled=o.remaining_lots if o.status is OrderStatus.CANCELLED else 0,
        trades=[
            pb.OrderTrade(
                date_time=timestamp(t.ts),
                price=quotation(t.price),
                quantity=t.lots * inst.lot,
                trade_id=t.trade_id,
            )
            for t in trades
        ],
        exchange="MOEX",
        instrument_uid=inst.uid,
    )
    if record.key:
        state.order_request_id = record.key
    return state


def order_trades(record: ServerOrder, trades: list[Trade]) -> pb.OrderTrades:
    return pb.OrderTrades(
        order_id=record.exchange_id,
        created_at=timestamp(record.created),
        direction=DIRECTION[record.order.side],
        figi=record.instrument.figi,
        trades=[
            pb.OrderTrade(
                date_time=timestamp(t.ts),
                price=quotation(t.price),
                quantity=t.lots * record.instrument.lot,
                trade_id=t.trade_id,
            )
            for t in trades
        ],
        account_id=record.account,
        instrument_uid=record.instrument.uid,
    )


def stop_order(record: ServerOrder) -> pb.StopOrder:
    """A stop order; once triggered (EXECUTED) ``exchange_order_id`` names the order it became."""
    o = record.order
    inst = record.instrument
    stop = pb.StopOrder(
        stop_order_id=record.exchange_id,
        lots_requested=o.lots,
        figi=inst.figi,
        direction=STOP_DIRECTION[o.side],
        currency=inst.currency,
        order_type=STOP_TYPE.get(o.type, STOP_TYPE[OrderType.STOP]),
        create_date=timestamp(record.created),
        price=money(o.price or Decimal(0)),
        stop_price=money(o.stop_price or Decimal(0)),
        instrument_uid=inst.uid,
        status=STOP_STATUS_CODE.get(o.status, STOP_STATUS_CODE[OrderStatus.ACCEPTED]),
        exchange_order_type=EXCHANGE_LIMIT if o.type is OrderType.STOP_LIMIT else EXCHANGE_MARKET,
        ticker=inst.ticker,
        class_code=inst.class_code,
    )
    if record.child_id:
        stop.exchange_order_id = record.child_id
    if record.triggered is not None:
        stop.activation_date_time.CopyFrom(timestamp(record.triggered))
    if record.expire is not None:
        stop.expiration_time.CopyFrom(timestamp(record.expire))
    return stop
