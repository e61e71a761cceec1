"""The dataclasses whose ``__init__`` is written by hand (so that mypyc compiles it: see
engine/native.py) take every field, in field order, with the field's default; a default factory
is a ``None`` default that the ``__init__`` replaces with a fresh value, as the factory did."""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from engine.broker.sim.matching import Working
from engine.model import Instrument, OrderStatus, OrderType, Side
from engine.model.order import Fill, Order
from engine.model.position import Trade

T0 = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)
INST = Instrument("MOEX", "SHARE", "TEST", "uid-test", "", "TQBR", 1, Decimal("0.01"))


@pytest.mark.parametrize("cls", [Order, Fill, Trade, Working])
def test_the_init_takes_every_field_with_its_default(cls: type) -> None:
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for param, field in zip(params, fields, strict=True):
        if field.default is not dataclasses.MISSING:
            assert param.default == field.default, field.name
        elif field.default_factory is not dataclasses.MISSING:
            assert param.default is None, field.name
        else:
            assert param.default is inspect.Parameter.empty, field.name


def test_default_factories_give_fresh_values() -> None:
    a = Order("MOEX_SHARE_TEST", Side.BUY, OrderType.MARKET, 1, "acc")
    b = Order("MOEX_SHARE_TEST", Side.BUY, OrderType.MARKET, 1, "acc")
    assert len(a.id) == 36 and a.id != b.id
    assert a.history == [(None, OrderStatus.NEW)] and a.history is not b.history
    f = Fill("o", "MOEX_SHARE_TEST", Side.BUY, 1, Decimal(1), Decimal(0), T0)
    g = Fill("o", "MOEX_SHARE_TEST", Side.BUY, 1, Decimal(1), Decimal(0), T0)
    assert len(f.fill_id) == 32 and f.fill_id != g.fill_id


def test_replace_and_validation_still_go_through_the_init() -> None:
    order = Order("MOEX_SHARE_TEST", Side.SELL, OrderType.LIMIT, 2, "acc", price=Decimal("10.5"))
    moved = dataclasses.replace(order, price=Decimal("10.6"))
    assert (moved.id, moved.price, moved.lots) == (order.id, Decimal("10.6"), 2)
    with pytest.raises(ValueError, match="needs a price"):
        dataclasses.replace(order, price=None)
    with pytest.raises(ValueError, match="lots must be positive"):
        Order("MOEX_SHARE_TEST", Side.BUY, OrderType.MARKET, 0, "acc")
    trade = Trade("MOEX_SHARE_TEST", Side.BUY, T0, _entered_lots=3)
    assert dataclasses.replace(trade, lots=3) == Trade(
        "MOEX_SHARE_TEST", Side.BUY, T0, lots=3, _entered_lots=3
    )
    assert Working(order, INST).triggered is False
