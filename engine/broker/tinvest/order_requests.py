"""What the order roles of the T-Invest adapter send and raise: requests, hints, outcomes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from engine.broker.base import BrokerError
from engine.broker.tinvest.convert import DIRECTION, ORDER_TYPE
from engine.broker.tinvest.errors import (
    AccessDenied,
    NotFound,
    PreconditionFailed,
    RequestRejected,
    TInvestError,
)
from engine.broker.tinvest.numbers import quotation
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Instrument, Order, OrderStatus, OrderType

# answers that say the broker refused the request (never an ambiguous outcome)
DEFINITE_REJECTIONS = (RequestRejected, AccessDenied, PreconditionFailed, NotFound)
_FILL_STATES = frozenset({OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})


class StopOrdersUnavailable(BrokerError):
    """The broker's stop-order listing failed; ``orders`` holds the regular orders it did list."""

    def __init__(self, message: str, orders: list[Order], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.orders = orders


class OrderOutcomeUnknown(TInvestError):
    """An order's fate could not be established; it stays in flight under its key."""


def post_request(order: Order, inst: Instrument) -> pb.PostOrderRequest:
    """The PostOrder request of ``order`` (a day order; its key is the idempotency key)."""
    request = pb.PostOrderRequest(
        quantity=order.lots,
        direction=DIRECTION[order.side],
        account_id=order.account,
        order_type=ORDER_TYPE[order.type],
        order_id=order.id,
        instrument_id=inst.uid,
        time_in_force=pb.TIME_IN_FORCE_DAY,
    )
    if order.type is OrderType.LIMIT and order.price is not None:
        request.price.CopyFrom(quotation(order.price))
    return request


def step_hint(order: Order, inst: Instrument) -> str:
    """The instrument's price step and the nearest valid prices of ``order``."""
    prices = [p for p in (order.price, order.stop_price) if p is not None]
    if not prices:
        return f"the price step of {inst.code} is {inst.step}"
    nearest = ", ".join(str(inst.round_price(p)) for p in prices)
    return f"the price step of {inst.code} is {inst.step}; the nearest valid price: {nearest}"


def with_hint(error: TInvestError, hint: str) -> TInvestError:
    """Add the price-step hint to errors about the price (30078, 30099)."""
    if error.api_code in ("30078", "30099") and hint and hint not in error.action:
        error.action = f"{error.action}; {hint}" if error.action else hint
    return error


def without_fills(order: Order) -> Order:
    """``order`` as accepted, before any fill: fills are booked as fills, never as a state."""
    if order.filled_lots == 0 and order.status not in _FILL_STATES:
        return order
    status = OrderStatus.ACCEPTED if order.status in _FILL_STATES else order.status
    return replace(
        order,
        status=status,
        filled_lots=0,
        avg_fill_price=None,
        commission=Decimal(0),
        history=[(order.created_ts, status)],
    )
