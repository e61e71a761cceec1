"""Order books and the tape on T-Invest: GetOrderBook, GetLastTrades and the stream's messages.

Depths are 1, 10, 20, 30, 40 or 50 (anything else is refused before it is sent: the service
answers 30032). GetLastTrades gives the trades of the last hour only, so :func:`last_trades` asks
in windows of at most an hour and clips ``begin`` to an hour before ``end``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from engine.broker.base import BrokerError
from engine.broker.tinvest.numbers import from_quotation, from_timestamp, timestamp
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import (
    BOOK_DEPTHS,
    BookLevel,
    Instrument,
    MarketTrade,
    OrderBook,
    Side,
    as_utc,
)

LAST_TRADES_REACH = timedelta(hours=1)
_SIDE = {pb.TRADE_DIRECTION_BUY: Side.BUY, pb.TRADE_DIRECTION_SELL: Side.SELL}

Call = Callable[[str, str, Any], Awaitable[Any]]


def check_depth(depth: int) -> int:
    if depth not in BOOK_DEPTHS:
        raise BrokerError(
            f"order book depth {depth} is not offered by T-Invest",
            code="30032",
            hint=f"Use one of {', '.join(map(str, BOOK_DEPTHS))}.",
        )
    return depth


def _levels(orders: Any) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(from_quotation(o.price), int(o.quantity)) for o in orders)


def book_from_stream(message: pb.OrderBook, code: str) -> OrderBook:
    return OrderBook(
        instrument=code,
        ts=from_timestamp(message.time),
        bids=_levels(message.bids),
        asks=_levels(message.asks),
        depth=message.depth,
        consistent=message.is_consistent,
        limit_up=from_quotation(message.limit_up) if message.HasField("limit_up") else None,
        limit_down=from_quotation(message.limit_down) if message.HasField("limit_down") else None,
    )


def book_from_response(message: pb.GetOrderBookResponse, code: str) -> OrderBook:
    return OrderBook(
        instrument=code,
        ts=from_timestamp(message.orderbook_ts),
        bids=_levels(message.bids),
        asks=_levels(message.asks),
        depth=message.depth,
        limit_up=from_quotation(message.limit_up) if message.HasField("limit_up") else None,
        limit_down=from_quotation(message.limit_down) if message.HasField("limit_down") else None,
    )


def trade_from_pb(message: pb.Trade, code: str) -> MarketTrade:
    return MarketTrade(
        instrument=code,
        ts=from_timestamp(message.time),
        price=from_quotation(message.price),
        lots=int(message.quantity),
        side=_SIDE.get(message.direction),
    )


async def order_book(call: Call, instrument: Instrument, depth: int) -> OrderBook:
    request = pb.GetOrderBookRequest(instrument_id=instrument.uid, depth=check_depth(depth))
    answer = await call("MarketDataService", "GetOrderBook", request)
    return book_from_response(answer, instrument.code)


async def last_trade_time(call: Call, instrument: Instrument) -> datetime | None:
    """The time of the instrument's last trade (GetLastPrices), None when the service has none."""
    request = pb.GetLastPricesRequest(instrument_id=[instrument.uid])
    answer = await call("MarketDataService", "GetLastPrices", request)
    for price in answer.last_prices:
        if price.instrument_uid == instrument.uid and price.HasField("time"):
            return from_timestamp(price.time)
    return None


async def last_trades(
    call: Call, instrument: Instrument, begin: datetime, end: datetime
) -> list[MarketTrade]:
    """Trades with ``begin <= ts < end`` that GetLastTrades still gives (the last hour)."""
    begin, end = as_utc(begin), as_utc(end)
    begin = max(begin, end - LAST_TRADES_REACH)
    if end <= begin:
        return []
    request = pb.GetLastTradesRequest(
        instrument_id=instrument.uid,
        to=timestamp(end),
        trade_source=pb.TRADE_SOURCE_EXCHANGE,
        **{"from": timestamp(begin)},
    )
    answer = await call("MarketDataService", "GetLastTrades", request)
    trades = [trade_from_pb(t, instrument.code) for t in answer.trades]
    trades = [t for t in trades if begin <= t.ts < end]
    trades.sort(key=lambda t: t.ts)  # stable: trades of one instant keep the server's order
    return trades
