"""The netting rule as pure functions: crossing a turn's market orders, splitting whole lots."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.model import Order, OrderType, Side
from engine.orders.netting import allocate, nets, plan, split

P = Decimal("250.10")


def _order(key: str, side: Side, lots: int, strategy: str = "") -> Order:
    return Order("SBER", side, OrderType.MARKET, lots, "acc", strategy=strategy or key, id=key)


def test_split_is_largest_remainder_with_ties_to_the_earlier() -> None:
    assert split(1, [1, 1, 1]) == [1, 0, 0]  # a tie: the earliest
    assert split(2, [1, 1, 1]) == [1, 1, 0]
    assert split(5, [1, 2, 3]) == [1, 2, 2]  # 0.83 1.67 2.5: floors 0 1 2, rests .83 .67 .5
    assert split(3, [3, 3, 4]) == [1, 1, 1]  # 0.9 0.9 1.2: floors 0 0 1, rests .9 .9 .2
    assert split(0, [2, 5]) == [0, 0]
    assert split(7, [2, 5]) == [2, 5]


@pytest.mark.parametrize("lots, weights", [(-1, [1]), (3, [1, 1]), (1, [2, -1])])
def test_split_refuses_what_cannot_be_split(lots: int, weights: list[int]) -> None:
    with pytest.raises(ValueError, match="cannot split"):
        split(lots, weights)


def test_opposite_orders_cross_and_the_rest_goes_out_as_one_net_order() -> None:
    orders = [_order("a", Side.BUY, 3), _order("b", Side.SELL, 1), _order("c", Side.BUY, 1)]
    assert nets(orders)
    net = plan(orders, P)
    # one lot crossed: the sell whole, the buys share it in proportion (3:1 -> 1, 0)
    assert net.crossed == {"a": 1, "b": 1}
    assert net.crossed_lots == 1
    assert net.side is Side.BUY and net.remainder == 3
    assert net.shares == {"a": 2, "c": 1}
    assert net.price == P


def test_equal_sides_cross_whole_and_send_nothing() -> None:
    net = plan([_order("a", Side.BUY, 2), _order("b", Side.SELL, 2)], P)
    assert net.crossed == {"a": 2, "b": 2} and net.side is None and net.shares == {}


def test_one_side_only_has_nothing_to_cross() -> None:
    assert not nets([_order("a", Side.BUY, 1), _order("b", Side.BUY, 4)])
    limit = Order("SBER", Side.SELL, OrderType.LIMIT, 1, "acc", price=P, id="l")
    assert not nets([_order("a", Side.BUY, 1), limit])  # only market orders net


def test_plan_refuses_mixed_instruments_and_bad_prices() -> None:
    other = Order("GAZP", Side.SELL, OrderType.MARKET, 1, "acc", id="g")
    with pytest.raises(ValueError, match="not a market order on acc SBER"):
        plan([_order("a", Side.BUY, 1), other], P)
    with pytest.raises(ValueError, match="not positive"):
        plan([_order("a", Side.BUY, 1), _order("b", Side.SELL, 1)], Decimal(0))


def test_allocate_a_partial_fill_over_the_open_shares() -> None:
    assert allocate(2, [("a", 2), ("c", 1)]) == [("a", 1), ("c", 1)]  # 1.33 0.67: rests .33 .67
    assert allocate(3, [("a", 2), ("c", 1)]) == [("a", 2), ("c", 1)]
