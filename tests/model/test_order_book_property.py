"""Invariants of the engine's order book under what brokers really send: status updates and fills
shuffled, duplicated and stale (a status report that runs ahead of its fill, an ACCEPTED that
arrives after a fill, the same fill twice from the stream and from polling).

- a terminal order never leaves its state;
- ``filled_lots`` equals the lots of the unique fills and never exceeds the order's lots;
- the position moves by the unique fills only;
- with no terminal report, the fills alone decide FILLED / PARTIALLY_FILLED.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import Fill, Order, OrderStatus, OrderType, Side
from engine.model.order_book import OrderManager

T0 = datetime(2024, 3, 4, 7, tzinfo=UTC)
SBER = "MOEX_SHARE_SBER"
REPORTS = [
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.EXPIRED,
    OrderStatus.REJECTED,
]
TERMINAL_REPORTS = {OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED}


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, Side, list[tuple[str, object]]]:
    lots = draw(st.integers(1, 12))
    side = draw(st.sampled_from([Side.BUY, Side.SELL]))
    # the broker's fills: parts of the order, at most all of it, each with its own id
    filled = draw(st.integers(0, lots))
    parts: list[int] = []
    left = filled
    while left:
        part = draw(st.integers(1, left))
        parts.append(part)
        left -= part
    fills = [
        Fill(
            "key",
            SBER,
            side,
            part,
            Decimal(draw(st.integers(25000, 26000))) / 100,
            Decimal(draw(st.integers(0, 500))) / 100,
            T0 + timedelta(seconds=i),
            f"fill-{i}",
            "acc",
        )
        for i, part in enumerate(parts)
    ]
    reports = draw(st.lists(st.sampled_from(REPORTS), max_size=6))
    events: list[tuple[str, object]] = [("fill", f) for f in fills]
    events += [("report", r) for r in reports]
    # duplicates: the same fill or report again (stream and polling both deliver it)
    dups = draw(st.lists(st.sampled_from(events), max_size=6)) if events else []
    events += dups
    return lots, side, draw(st.permutations(events))


@settings(max_examples=400, deadline=None)
@given(histories(), st.booleans())
def test_order_book_invariants_under_shuffled_duplicated_and_stale_events(
    history: tuple[int, Side, list[tuple[str, object]]], sent: bool
) -> None:
    lots, side, events = history
    book = OrderManager(lot_size=lambda code: 10)
    order = book.record(Order(SBER, side, OrderType.MARKET, lots, "acc", id="key"))
    if sent:  # else the broker's answer races the router's own SUBMITTED
        book.mark_submitted("key", T0)
    unique: dict[str, int] = {}
    saw_terminal_report = False
    for kind, item in events:
        before = order.status
        if kind == "fill":
            assert isinstance(item, Fill)
            book.apply_fill(item)
            unique[item.fill_id] = item.lots
        else:
            assert isinstance(item, OrderStatus)
            view = replace(order, status=item, history=[], broker_id="x-1")
            book.apply_update(view, T0)
            if item in TERMINAL_REPORTS:
                saw_terminal_report = True
        if before.is_terminal:
            assert order.status is before, f"{before.value} -> {order.status.value}"
        assert order.filled_lots == sum(unique.values())
        assert order.filled_lots <= order.lots
        pos = book.positions[("acc", SBER)] if unique else None
        sign = 1 if side is Side.BUY else -1
        assert (pos.lots if pos else 0) == sign * sum(unique.values())
    assert len(book.fills) == len(unique)  # each fill booked once
    if not saw_terminal_report:
        total = sum(unique.values())
        if total == lots:
            assert order.status is OrderStatus.FILLED
        elif total:
            assert order.status is OrderStatus.PARTIALLY_FILLED
        else:
            assert order.status in (OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED)


def test_updates_and_fills_of_unknown_orders() -> None:
    book = OrderManager(lot_size=lambda code: 10)
    stranger = Order(SBER, Side.BUY, OrderType.MARKET, 2, "acc", id="not-ours")
    assert book.apply_update(replace(stranger, status=OrderStatus.ACCEPTED), T0) is None
    assert book.orders == {}
    fill = Fill("not-ours", SBER, Side.BUY, 2, Decimal(250), Decimal(1), T0, "f-1", "acc")
    result = book.apply_fill(fill)
    assert result.order is None and not result.duplicate
    assert book.positions[("acc", SBER)].lots == 2  # money moved: the position is booked anyway
    assert book.apply_fill(fill).duplicate and book.positions[("acc", SBER)].lots == 2
