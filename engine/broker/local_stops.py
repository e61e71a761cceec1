"""Stop orders kept by avin itself, for a broker that has none (the T-Invest sandbox).

A *local stop* is a stop-loss, take-profit or stop-limit order that never goes to the broker as a
stop order. avin keeps it (journalled under its client key, with :data:`LOCAL_STOP_ID` as its
``broker_id``, so a restart finds it again), watches the last prices, and when a price reaches the
stop price sends the order it becomes: a market order (stop-loss, take-profit) or a limit order at
its ``price`` (stop-limit). That order's key is derived from the stop's key
(:func:`triggered_key`), so after a crash the broker is asked for that key: found, the stop has
triggered; not found, it still waits. The condition is a level, not a crossing: a stop whose
price was passed while the robot was down triggers on the first price after the restart.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

from engine.model import Order, OrderStatus, OrderType, Side

LOCAL_STOP_ID = "local-stop"  # the broker_id of a stop order avin keeps itself
_NAMESPACE = uuid.UUID("5b0b7a4e-2f4c-4d8e-9c1a-6f3e2d1c0b9a")


def is_local_stop(order: Order) -> bool:
    return order.broker_id == LOCAL_STOP_ID


def triggered_key(stop_key: str) -> str:
    """The client key of the order a local stop becomes: a UUID derived from the stop's key
    (the same after a restart, so the broker's answer for it is found, never sent twice)."""
    return str(uuid.uuid5(_NAMESPACE, stop_key))


def reached(order: Order, price: Decimal) -> bool:
    """Does ``price`` trigger the stop ``order``? A buy stop (and a sell take-profit) at or above
    its stop price; a sell stop (and a buy take-profit) at or below."""
    if order.stop_price is None:
        return False
    rising = order.side is Side.BUY
    if order.type is OrderType.TAKE_PROFIT:
        rising = not rising
    return price >= order.stop_price if rising else price <= order.stop_price


def triggered_order(stop: Order) -> Order:
    """The order a triggered local stop sends (a fresh NEW order under :func:`triggered_key`)."""
    limit = stop.type is OrderType.STOP_LIMIT
    return Order(
        instrument=stop.instrument,
        side=stop.side,
        type=OrderType.LIMIT if limit else OrderType.MARKET,
        lots=stop.lots,
        account=stop.account,
        price=stop.price if limit else None,
        strategy=stop.strategy,
        id=triggered_key(stop.id),
    )


def accepted(stop: Order) -> Order:
    """The stop as avin holds it: ACCEPTED, marked local."""
    return replace(
        stop,
        status=OrderStatus.ACCEPTED,
        broker_id=LOCAL_STOP_ID,
        reason="local stop: avin watches the price (the broker has no stop orders)",
        history=[],
    )


__all__ = [
    "LOCAL_STOP_ID",
    "accepted",
    "is_local_stop",
    "reached",
    "triggered_key",
    "triggered_order",
]
