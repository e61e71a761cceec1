"""Building T-Invest messages from the fake exchange's state."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from engine.broker.fake_tinvest.exchange import ServerOrder, Trade
from engine.broker.tinvest.convert import (
    DIRECTION,
    ORDER_TYPE,
    STATUS_CODE,
    STOP_DIRECTION,
    STOP_TYPE,
)
from engine.broker.tinvest.numbers import money, quotation, timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Bar, Instrument, OrderStatus, OrderType


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
        order_type=ORDER_TYPE.get(o.type, pb.ORDER_TYPE_MARKET),
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
        order_type=ORDER_TYPE.get(o.type, pb.ORDER_TYPE_MARKET),
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
        time_in_force=pb.TIME_IN_FORCE_DAY,
        order_type=ORDER_TYPE.get(o.type, pb.ORDER_TYPE_MARKET),
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


_STOP_STATUS = {
    OrderStatus.ACCEPTED: pb.STOP_ORDER_STATUS_ACTIVE,
    OrderStatus.FILLED: pb.STOP_ORDER_STATUS_EXECUTED,
    OrderStatus.CANCELLED: pb.STOP_ORDER_STATUS_CANCELED,
    OrderStatus.EXPIRED: pb.STOP_ORDER_STATUS_EXPIRED,
}


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
        order_type=STOP_TYPE.get(o.type, pb.STOP_ORDER_TYPE_STOP_LOSS),
        create_date=timestamp(record.created),
        price=money(o.price or Decimal(0)),
        stop_price=money(o.stop_price or Decimal(0)),
        instrument_uid=inst.uid,
        status=_STOP_STATUS.get(o.status, pb.STOP_ORDER_STATUS_ACTIVE),
        exchange_order_type=(
            pb.EXCHANGE_ORDER_TYPE_LIMIT
            if o.type is OrderType.STOP_LIMIT
            else pb.EXCHANGE_ORDER_TYPE_MARKET
        ),
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
