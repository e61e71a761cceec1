"""The fake server's order books and tape (GetOrderBook, GetLastTrades, the stream's books/trades).

The tape and the book come from :mod:`engine.broker.sim.tape`, fed by the fake exchange's own
ticks, so they agree with everything else the fake says: the trades of a minute rebuild the
minute's candle (GetCandles) exactly, the last trade's price is GetLastPrices' price, the touch of
the book on the last aggressor's side is that price (where a market order of that side fills), and
the client's own resting limit orders are in the book at their prices.

Like the real service:

- GetOrderBook takes depth 1, 10, 20, 30, 40 or 50; 0 answers 30031 ("missing parameter:
  'depth'"), any other 30032 ("depth is invalid"); a stream subscription with another depth gets
  SUBSCRIPTION_STATUS_DEPTH_IS_INVALID;
- the book is empty while the instrument does not trade (closed session, trading switched off);
- GetLastTrades gives the trades of the last hour only: an older ``from`` is cut to an hour ago
  (``from`` missing: 30001, ``to`` missing: 30004, ``to`` before ``from``: 30012).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from engine.broker.fake_tinvest import messages as msg
from engine.broker.fake_tinvest.records import ExchangeError
from engine.broker.sim import session
from engine.broker.sim.market import MarketTick
from engine.broker.sim.tape import Tape, make_book
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import BOOK_DEPTHS, Instrument, MarketTrade, OrderBook, OrderType, Side

if TYPE_CHECKING:
    from engine.broker.fake_tinvest.exchange import FakeExchange

# TradeDirection: TRADE_DIRECTION_BUY=1, TRADE_DIRECTION_SELL=2
TRADE_DIRECTION = {Side.BUY: 1, Side.SELL: 2, None: 0}
# TradeSourceType: TRADE_SOURCE_EXCHANGE=1, TRADE_SOURCE_ALL=3
TRADE_SOURCE_EXCHANGE, TRADE_SOURCE_ALL = 1, 3
# OrderBookType: ORDERBOOK_TYPE_EXCHANGE=1
ORDERBOOK_TYPE_EXCHANGE = 1
LAST_TRADES_WINDOW = timedelta(hours=1)


class MarketDataFeed:
    """The fake exchange's tape and books. Built before any stream opens: it hears each batch
    of ticks first, so ``batch`` holds that batch's trades when the streams hear it."""

    def __init__(self, exchange: FakeExchange) -> None:
        self.exchange = exchange
        self.tape = Tape(keep=LAST_TRADES_WINDOW)
        self.batch: list[MarketTrade] = []
        exchange.add_tick_listener(self._on_ticks)

    def _on_ticks(self, ticks: list[MarketTick]) -> None:
        self.batch = self.tape.on_ticks(ticks)

    def book(self, inst: Instrument, depth: int) -> OrderBook:
        """The book of ``inst`` now (empty while it does not trade)."""
        now = self.exchange.market.now
        if not self.exchange.is_trading(inst):
            return OrderBook(inst.code, now, (), (), depth)
        resting = [
            (o.order.side, o.order.price, o.order.remaining_lots)
            for o in self.exchange.orders.values()
            if not o.stop
            and o.instrument.code == inst.code
            and o.order.is_open
            and o.order.type is OrderType.LIMIT
            and o.order.price is not None
        ]
        return make_book(
            inst,
            self.exchange.last_price(inst),
            now,
            depth,
            side=self.tape.last_side(inst.code),
            volume=self.tape.minute_volume(inst.code),
            resting=resting,
        )

    def last_trades(self, inst: Instrument, begin: datetime, end: datetime) -> list[MarketTrade]:
        horizon = self.exchange.market.now - LAST_TRADES_WINDOW
        return self.tape.trades(inst.code, max(begin, horizon), end)

    def close_price(self, inst: Instrument) -> tuple[Decimal, datetime]:
        """The previous session's close and its time."""
        day = session.previous_trading_day(self.exchange.market.now.date())
        bars = self.exchange.market.generator.day(inst, day)
        return inst.round_price(float(bars.close[-1])), session.session_close(day)


def check_depth(depth: int) -> None:
    if depth == 0:
        raise ExchangeError("30031", "missing parameter: 'depth'")
    if depth not in BOOK_DEPTHS:
        raise ExchangeError("30032", "depth is invalid")


def check_window(request: pb.GetLastTradesRequest) -> tuple[datetime, datetime]:
    if not request.HasField("from"):
        raise ExchangeError("30001", "missing parameter: 'from'")
    if not request.HasField("to"):
        raise ExchangeError("30004", "missing parameter: 'to'")
    begin = msg.from_timestamp(getattr(request, "from"))
    end = msg.from_timestamp(request.to)
    if end < begin:
        raise ExchangeError("30012", "'to' can't be less than 'from'")
    return begin, end


def _orders(levels: tuple[object, ...]) -> list[pb.Order]:
    return [pb.Order(price=msg.quotation(lv.price), quantity=lv.lots) for lv in levels]  # type: ignore[attr-defined]


def order_book(book: OrderBook, inst: Instrument) -> pb.OrderBook:
    """The stream's ``orderbook`` message."""
    out = pb.OrderBook(
        figi=inst.figi,
        depth=book.depth,
        is_consistent=book.consistent,
        bids=_orders(book.bids),
        asks=_orders(book.asks),
        time=msg.timestamp(book.ts),
        instrument_uid=inst.uid,
        order_book_type=ORDERBOOK_TYPE_EXCHANGE,  # type: ignore[arg-type]
        ticker=inst.ticker,
        class_code=inst.class_code,
    )
    if book.limit_up is not None and book.limit_down is not None:
        out.limit_up.CopyFrom(msg.quotation(book.limit_up))
        out.limit_down.CopyFrom(msg.quotation(book.limit_down))
    return out


def order_book_response(
    feed: MarketDataFeed, book: OrderBook, inst: Instrument
) -> pb.GetOrderBookResponse:
    last = feed.exchange.last_price(inst)
    close, close_ts = feed.close_price(inst)
    out = pb.GetOrderBookResponse(
        figi=inst.figi,
        depth=book.depth,
        bids=_orders(book.bids),
        asks=_orders(book.asks),
        last_price=msg.quotation(last),
        close_price=msg.quotation(close),
        instrument_uid=inst.uid,
        ticker=inst.ticker,
        class_code=inst.class_code,
        last_price_ts=msg.timestamp(feed.exchange.market.now),
        close_price_ts=msg.timestamp(close_ts),
        orderbook_ts=msg.timestamp(book.ts),
    )
    if book.limit_up is not None and book.limit_down is not None:
        out.limit_up.CopyFrom(msg.quotation(book.limit_up))
        out.limit_down.CopyFrom(msg.quotation(book.limit_down))
    return out


def trade(t: MarketTrade, inst: Instrument) -> pb.Trade:
    return pb.Trade(
        figi=inst.figi,
        direction=TRADE_DIRECTION[t.side],  # type: ignore[arg-type]
        price=msg.quotation(t.price),
        quantity=t.lots,
        time=msg.timestamp(t.ts),
        instrument_uid=inst.uid,
        trade_source=TRADE_SOURCE_EXCHANGE,  # type: ignore[arg-type]
        ticker=inst.ticker,
        class_code=inst.class_code,
    )
