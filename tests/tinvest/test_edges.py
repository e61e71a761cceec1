"""Edges of the adapter's conversions and error mapping: numbers that cannot be sent, numbers
that cannot be read, a limit order reported without a price, a half-dead call, a bad reset."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest

from engine.broker.tinvest import convert
from engine.broker.tinvest.errors import RateLimited, Unavailable, from_rpc_error
from engine.broker.tinvest.numbers import quotation, to_decimal
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Instrument, OrderType
from tests.tinvest.test_errors import FakeRpcError
from tests.tinvest.wire_facts import ENUMS

INST = Instrument(
    exchange="MOEX",
    category="SHARE",
    ticker="SBER",
    uid="uid-sber",
    figi="BBG004730N88",
    class_code="TQBR",
    lot=10,
    step=Decimal("0.01"),
)
LIMIT = dict(ENUMS["OrderType"])["ORDER_TYPE_LIMIT"]


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_numbers_that_are_not_finite_are_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        quotation(value)


@pytest.mark.parametrize("value", [Decimal(2**63), Decimal("1e40"), Decimal("-1e40")])
def test_a_number_too_big_for_int64_units_is_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="does not fit a Quotation"):
        quotation(value)


def test_a_nano_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        to_decimal(1, 1_000_000_000)


def test_a_limit_order_state_without_a_price_reads_as_market() -> None:
    state = pb.OrderState(order_id="x", order_type=LIMIT, lots_requested=1)
    order = convert.order_from_state(state, instrument=INST, account="a", key="k")
    assert order.type is OrderType.MARKET and order.price is None


def test_a_limit_order_in_the_stream_without_a_price_reads_as_market() -> None:
    state = pb.OrderStateStreamResponse.OrderState(
        order_id="x", order_type=LIMIT, lots_requested=2, lot_size=10
    )
    order = convert.order_from_stream(state, instrument=INST, key="k")
    assert order.type is OrderType.MARKET and order.price is None
    priced = pb.OrderStateStreamResponse.OrderState(
        order_id="x",
        order_type=LIMIT,
        lots_requested=2,
        lot_size=10,
        initial_order_price=pb.MoneyValue(currency="rub", units=6000, nano=200_000_000),
    )
    assert convert.order_from_stream(priced, instrument=INST, key="k").price == Decimal("300.01")


class HalfDead(grpc.RpcError):
    """A call that fails to report even its own status."""

    def code(self) -> grpc.StatusCode:
        raise RuntimeError("channel closed")

    def details(self) -> str:
        raise RuntimeError("channel closed")


def test_a_call_that_cannot_report_itself_is_unavailable() -> None:
    err = from_rpc_error(HalfDead(), method="GetOrders")
    assert isinstance(err, Unavailable) and err.retryable


def test_an_unreadable_rate_limit_reset_is_ignored() -> None:
    err = from_rpc_error(
        FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "80002", x_ratelimit_reset="soon")
    )
    assert isinstance(err, RateLimited) and err.reset_seconds is None
