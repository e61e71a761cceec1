"""Position accounting with commission: whatever the fills (opening, adding, reducing, flipping),
realised + unrealised - commission equals the cash the fills moved plus the open position's value
at the mark; the commission is the fills' commission, and the round trips carry all of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.model import Fill, Position, Side

T0 = datetime(2024, 3, 1, 7, tzinfo=UTC)
TINY = Decimal("1e-12")  # avg_price is a quotient: 28 significant digits
LOT = 10

fills_strategy = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 7),
        st.integers(9000, 11000),  # price in kopecks
        st.integers(0, 300),  # commission in kopecks
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=400, deadline=None)
@given(fills_strategy, st.integers(8000, 12000))
def test_pnl_plus_commission_equals_the_cash_change(
    raw: list[tuple[Side, int, int, int]], mark_cents: int
) -> None:
    pos = Position("SBER", lot_size=LOT)
    cash = Decimal(0)
    paid = Decimal(0)
    for i, (side, lots, price_cents, fee_cents) in enumerate(raw):
        price = Decimal(price_cents) / 100
        fee = Decimal(fee_cents) / 100
        pos.apply_fill(Fill("k", "SBER", side, lots, price, fee, T0 + timedelta(minutes=i)))
        value = price * lots * LOT
        cash += value if side is Side.SELL else -value
        cash -= fee
        paid += fee
    mark = Decimal(mark_cents) / 100
    assert pos.commission == paid
    signed = sum(lots if side is Side.BUY else -lots for side, lots, _, _ in raw)
    assert pos.lots == signed
    # the identity: everything the fills did, valued at the mark
    assert abs(pos.total_pnl(mark) - (cash + mark * pos.lots * LOT)) < TINY
    assert (
        abs(pos.realized + pos.unrealized(mark) - pos.commission - cash - pos.market_value(mark))
        < TINY
    )
    # every kopeck of commission sits in some round trip
    assert abs(sum((t.commission for t in pos.trades), Decimal(0)) - paid) < TINY


def test_commission_in_a_hand_computed_flip() -> None:
    pos = Position("SBER", lot_size=1)
    pos.apply_fill(Fill("k", "SBER", Side.BUY, 2, Decimal(100), Decimal(2), T0))
    pos.apply_fill(Fill("k", "SBER", Side.SELL, 5, Decimal(110), Decimal(5), T0))
    # cash: -200 - 2 + 550 - 5 = 343; value at 105: -3 * 105 = -315; total 28
    assert pos.total_pnl(Decimal(105)) == Decimal(28)
    closed, open_ = pos.trades
    assert closed.commission == Decimal(4)  # 2 on the buy, 2 of 5 on the closing part of the sell
    assert open_.commission == Decimal(3)
