"""The order book and the tape of an instrument for an attached client (the depth pane).

``WatchBook`` asks the robot to keep a book streaming (``engine.watch_book``: thread-safe, the
work handed to its loop), ``OrderBook`` reads the newest one, ``Tape`` the newest trades. Prices
go as decimal strings: the exchange's price step stays exact.
"""

from __future__ import annotations

from typing import Any

import grpc

from engine.control.proto import control_pb2 as pb
from engine.control.reads import invalid, method, micros
from engine.model import BOOK_DEPTHS

MAX_TAPE = 1_000  # trades per answer


def _instrument(request: Any, context: grpc.ServicerContext) -> str:
    text = str(request.instrument)
    if not text or len(text) > 128:
        invalid(context, "instrument: a ticker (SBER) or a code (MOEX_SHARE_SBER) is needed")
    return text


def order_book(engine: Any, request: Any, context: grpc.ServicerContext) -> pb.OrderBookReply:
    book = method(engine, "order_book", context)(_instrument(request, context))
    if book is None:
        return pb.OrderBookReply(present=False)
    return pb.OrderBookReply(
        present=True,
        instrument=book.instrument,
        ts_us=micros(book.ts),
        bids=[pb.BookLevel(price=str(level.price), lots=level.lots) for level in book.bids],
        asks=[pb.BookLevel(price=str(level.price), lots=level.lots) for level in book.asks],
        depth=book.depth,
        consistent=book.consistent,
        limit_up="" if book.limit_up is None else str(book.limit_up),
        limit_down="" if book.limit_down is None else str(book.limit_down),
    )


def watch_book(engine: Any, request: Any, context: grpc.ServicerContext) -> pb.OrderBookReply:
    instrument = _instrument(request, context)
    if request.depth and request.depth not in BOOK_DEPTHS:
        depths = ", ".join(str(d) for d in BOOK_DEPTHS)
        invalid(context, f"depth must be one of {depths} (0: stop streaming the book)")
    method(engine, "watch_book", context)(instrument, request.depth)
    return order_book(engine, request, context)


def tape(engine: Any, request: Any, context: grpc.ServicerContext) -> pb.TapeReply:
    instrument = _instrument(request, context)
    if not 1 <= request.count <= MAX_TAPE:
        invalid(context, f"count must be between 1 and {MAX_TAPE}")
    trades = method(engine, "tape", context)(instrument, request.count)
    return pb.TapeReply(
        instrument=trades[0].instrument if trades else "",
        trades=[
            pb.TapeTrade(
                ts_us=micros(t.ts),
                price=str(t.price),
                lots=t.lots,
                side="" if t.side is None else t.side.value,
            )
            for t in trades
        ],
    )
