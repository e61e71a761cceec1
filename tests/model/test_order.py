from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.model import (
    TRANSITIONS,
    Fill,
    FillError,
    InvalidTransition,
    Order,
    OrderStatus,
    OrderType,
    Side,
)

TS = datetime(2024, 3, 1, 7, tzinfo=UTC)


def order(lots: int = 3) -> Order:
    return Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, lots, "acc")


def fill(lots: int, price: str, side: Side = Side.BUY) -> Fill:
    return Fill("k", "MOEX_SHARE_SBER", side, lots, Decimal(price), Decimal("0.1"), TS)


@given(st.lists(st.sampled_from(list(OrderStatus)), max_size=12))
def test_transitions_follow_the_table(path: list[OrderStatus]) -> None:
    o = order()
    for status in path:
        before = o.status
        if status in TRANSITIONS[before]:
            o.transition(status, TS)
            assert o.status is status
        else:
            with pytest.raises(InvalidTransition):
                o.transition(status, TS)
            assert o.status is before
    assert [s for _, s in o.history][-1] is o.status


def test_terminal_states_have_no_exit() -> None:
    for status in OrderStatus:
        assert (not TRANSITIONS[status]) == status.is_terminal


def test_partial_then_full_fill() -> None:
    o = order(3)
    o.transition(OrderStatus.SUBMITTED)
    o.transition(OrderStatus.ACCEPTED)
    o.apply_fill(fill(1, "100"))
    assert o.status is OrderStatus.PARTIALLY_FILLED and o.remaining_lots == 2
    o.apply_fill(fill(2, "103"))
    assert o.status is OrderStatus.FILLED
    assert o.avg_fill_price == Decimal(102)
    assert o.commission == Decimal("0.2")
    with pytest.raises(FillError):
        o.apply_fill(fill(1, "100"))


def test_fill_checks() -> None:
    o = order(2)
    o.transition(OrderStatus.SUBMITTED)
    with pytest.raises(FillError, match="exceeds"):
        o.apply_fill(fill(3, "1"))
    with pytest.raises(FillError, match="sell fill"):
        o.apply_fill(fill(1, "1", Side.SELL))


def test_order_validation() -> None:
    with pytest.raises(ValueError, match="positive"):
        Order("X", Side.BUY, OrderType.MARKET, 0, "a")
    with pytest.raises(ValueError, match="needs a price"):
        Order("X", Side.BUY, OrderType.LIMIT, 1, "a")
    with pytest.raises(ValueError, match="needs a stop price"):
        Order("X", Side.BUY, OrderType.STOP, 1, "a")
    assert len(order().id) == 36
