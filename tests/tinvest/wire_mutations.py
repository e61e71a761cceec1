"""A pytest plugin that breaks one wire mapping of the adapter, for the mutation check.

``AVIN_WIRE_MUTATION=<name>`` picks the mutation; it is applied in place when pytest starts, so
every module that imported the table by name sees the broken one. Loaded only by
``test_wire_mutations.py`` (``-p tests.tinvest.wire_mutations`` in a child pytest).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from engine.broker.tinvest import convert, numbers
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import OrderStatus, OrderType, Side


def _swap(table: dict[Any, Any], a: Any, b: Any) -> None:
    table[a], table[b] = table[b], table[a]


def _reverse(forward: dict[Any, Any], backward: dict[Any, Any]) -> None:
    for key, value in forward.items():
        backward[value] = key


def direction() -> None:
    _swap(convert.DIRECTION, Side.BUY, Side.SELL)
    _reverse(convert.DIRECTION, convert.SIDE)


def stop_type() -> None:
    _swap(convert.STOP_TYPE, OrderType.STOP, OrderType.TAKE_PROFIT)
    _reverse(convert.STOP_TYPE, convert.STOP_KIND)


def stop_direction() -> None:
    _swap(convert.STOP_DIRECTION, Side.BUY, Side.SELL)
    _reverse(convert.STOP_DIRECTION, convert.STOP_SIDE)


def order_type() -> None:
    _swap(convert.ORDER_TYPE, OrderType.LIMIT, OrderType.MARKET)
    _swap(convert.TYPE, pb.ORDER_TYPE_LIMIT, pb.ORDER_TYPE_MARKET)


def status() -> None:
    _swap(convert.STATUS, pb.EXECUTION_REPORT_STATUS_FILL, pb.EXECUTION_REPORT_STATUS_CANCELLED)
    _swap(convert.STATUS_CODE, OrderStatus.FILLED, OrderStatus.CANCELLED)


def stop_status() -> None:
    _swap(convert.STOP_STATUS, pb.STOP_ORDER_STATUS_EXECUTED, pb.STOP_ORDER_STATUS_CANCELED)


def time_in_force() -> None:
    pb.TIME_IN_FORCE_DAY = pb.TIME_IN_FORCE_FILL_AND_KILL


def nano_sign() -> None:
    """The classic codec bug: the sign lives only in ``units`` (so -0.01 becomes +0.01)."""
    real = numbers.units_nano

    def broken(value: Any) -> tuple[int, int]:
        units, nano = real(value)
        return units, abs(nano)

    numbers.units_nano = broken


MUTATIONS: dict[str, Callable[[], None]] = {
    f.__name__: f
    for f in (
        direction,
        stop_type,
        stop_direction,
        order_type,
        status,
        stop_status,
        time_in_force,
        nano_sign,
    )
}


def pytest_configure(config: Any) -> None:
    name = os.environ.get("AVIN_WIRE_MUTATION", "")
    if name:
        MUTATIONS[name]()
