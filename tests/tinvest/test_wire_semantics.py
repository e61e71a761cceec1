"""Every wire mapping of the adapter, checked against the wire facts (not against itself).

The expected codes come from ``wire_facts.ENUMS`` by name (the facts number them, the compiled
proto is not consulted), the numbers from hand-worked examples of the Quotation rule. The fake
server decodes with its own tables (``fake_tinvest.messages``), so a round trip through it tells
what the real service would have understood. ``test_wire_mutations.py`` swaps pairs in the
adapter's tables and expects this module to fail.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from engine.broker.fake_tinvest import FakeTInvestServer
from engine.broker.fake_tinvest import messages as fake
from engine.broker.tinvest import convert
from engine.broker.tinvest.broker import TInvestBroker
from engine.broker.tinvest.numbers import from_money, from_quotation, money, quotation
from engine.broker.tinvest.proto import investapi_pb2 as pb
from engine.model import Instrument, Order, OrderStatus, OrderType, Side, TimeFrame
from tests.tinvest.wire_facts import ENUMS

ACCOUNT = "fake-account-1"
SBER = "MOEX_SHARE_SBER"


def code(enum: str, name: str) -> int:
    """The number the wire facts give ``name`` in ``enum``."""
    return dict(ENUMS[enum])[name]


# --- what the adapter sends ---------------------------------------------------------------------

DIRECTIONS = [(Side.BUY, "ORDER_DIRECTION_BUY"), (Side.SELL, "ORDER_DIRECTION_SELL")]
ORDER_TYPES = [(OrderType.LIMIT, "ORDER_TYPE_LIMIT"), (OrderType.MARKET, "ORDER_TYPE_MARKET")]
STOP_TYPES = [
    (OrderType.STOP, "STOP_ORDER_TYPE_STOP_LOSS"),
    (OrderType.TAKE_PROFIT, "STOP_ORDER_TYPE_TAKE_PROFIT"),
    (OrderType.STOP_LIMIT, "STOP_ORDER_TYPE_STOP_LIMIT"),
]
STOP_DIRECTIONS = [(Side.BUY, "STOP_ORDER_DIRECTION_BUY"), (Side.SELL, "STOP_ORDER_DIRECTION_SELL")]
STATUSES = [
    ("EXECUTION_REPORT_STATUS_FILL", OrderStatus.FILLED),
    ("EXECUTION_REPORT_STATUS_REJECTED", OrderStatus.REJECTED),
    ("EXECUTION_REPORT_STATUS_CANCELLED", OrderStatus.CANCELLED),
    ("EXECUTION_REPORT_STATUS_NEW", OrderStatus.ACCEPTED),
    ("EXECUTION_REPORT_STATUS_PARTIALLYFILL", OrderStatus.PARTIALLY_FILLED),
]
STOP_STATUSES = [
    ("STOP_ORDER_STATUS_ACTIVE", OrderStatus.ACCEPTED),
    ("STOP_ORDER_STATUS_EXECUTED", OrderStatus.FILLED),
    ("STOP_ORDER_STATUS_CANCELED", OrderStatus.CANCELLED),
    ("STOP_ORDER_STATUS_EXPIRED", OrderStatus.EXPIRED),
]


@pytest.mark.parametrize(("side", "name"), DIRECTIONS)
def test_order_direction_codes(side: Side, name: str) -> None:
    assert convert.DIRECTION[side] == code("OrderDirection", name)
    assert convert.SIDE[code("OrderDirection", name)] is side


@pytest.mark.parametrize(("kind", "name"), ORDER_TYPES)
def test_order_type_codes(kind: OrderType, name: str) -> None:
    assert convert.ORDER_TYPE[kind] == code("OrderType", name)
    assert convert.TYPE[code("OrderType", name)] is kind


def test_best_price_orders_read_as_market() -> None:
    assert convert.TYPE[code("OrderType", "ORDER_TYPE_BESTPRICE")] is OrderType.MARKET


@pytest.mark.parametrize(("kind", "name"), STOP_TYPES)
def test_stop_order_type_codes(kind: OrderType, name: str) -> None:
    assert convert.STOP_TYPE[kind] == code("StopOrderType", name)
    assert convert.STOP_KIND[code("StopOrderType", name)] is kind


@pytest.mark.parametrize(("side", "name"), STOP_DIRECTIONS)
def test_stop_direction_codes(side: Side, name: str) -> None:
    assert convert.STOP_DIRECTION[side] == code("StopOrderDirection", name)
    assert convert.STOP_SIDE[code("StopOrderDirection", name)] is side


@pytest.mark.parametrize(("name", "status"), STATUSES)
def test_execution_report_status_codes(name: str, status: OrderStatus) -> None:
    wire = code("OrderExecutionReportStatus", name)
    assert convert.STATUS[wire] is status
    state = pb.OrderState(execution_report_status=wire, order_id="x", lots_requested=1)
    inst = _inst()
    assert convert.order_from_state(state, instrument=inst, account=ACCOUNT, key="k").status is (
        status
    )


@pytest.mark.parametrize(("name", "status"), STOP_STATUSES)
def test_stop_order_status_codes(name: str, status: OrderStatus) -> None:
    assert convert.STOP_STATUS[code("StopOrderStatusOption", name)] is status


def test_open_statuses_are_sent_as_new() -> None:
    new = code("OrderExecutionReportStatus", "EXECUTION_REPORT_STATUS_NEW")
    for status in (OrderStatus.NEW, OrderStatus.SUBMITTED, OrderStatus.ACCEPTED):
        assert convert.STATUS_CODE[status] == new
    assert convert.STATUS_CODE[OrderStatus.FILLED] == code(
        "OrderExecutionReportStatus", "EXECUTION_REPORT_STATUS_FILL"
    )


def test_candle_intervals() -> None:
    expected = {
        TimeFrame.M1: "CANDLE_INTERVAL_1_MIN",
        TimeFrame.M5: "CANDLE_INTERVAL_5_MIN",
        TimeFrame.M10: "CANDLE_INTERVAL_10_MIN",
        TimeFrame.M15: "CANDLE_INTERVAL_15_MIN",
        TimeFrame.H1: "CANDLE_INTERVAL_HOUR",
        TimeFrame.H4: "CANDLE_INTERVAL_4_HOUR",
        TimeFrame.D: "CANDLE_INTERVAL_DAY",
        TimeFrame.W: "CANDLE_INTERVAL_WEEK",
        TimeFrame.MONTH: "CANDLE_INTERVAL_MONTH",
    }
    assert {tf: c for tf, c in convert.CANDLE_INTERVAL.items()} == {
        tf: code("CandleInterval", n) for tf, n in expected.items()
    }


# --- decoding whole messages ---------------------------------------------------------------------


def _inst() -> Instrument:
    return Instrument(
        exchange="MOEX",
        category="SHARE",
        ticker="SBER",
        uid="uid-sber",
        figi="BBG004730N88",
        class_code="TQBR",
        lot=10,
        step=Decimal("0.01"),
    )


@pytest.mark.parametrize(("side", "name"), DIRECTIONS)
def test_order_state_direction_is_read_from_the_facts(side: Side, name: str) -> None:
    state = pb.OrderState(
        order_id="x",
        direction=code("OrderDirection", name),
        order_type=code("OrderType", "ORDER_TYPE_LIMIT"),
        initial_security_price=pb.MoneyValue(currency="rub", units=250, nano=500_000_000),
        lots_requested=3,
    )
    order = convert.order_from_state(state, instrument=_inst(), account=ACCOUNT, key="k")
    assert order.side is side and order.type is OrderType.LIMIT
    assert order.price == Decimal("250.5")


@pytest.mark.parametrize(("kind", "name"), STOP_TYPES)
def test_stop_order_kind_is_read_from_the_facts(kind: OrderType, name: str) -> None:
    stop = pb.StopOrder(
        stop_order_id="stop-1",
        lots_requested=1,
        direction=code("StopOrderDirection", "STOP_ORDER_DIRECTION_SELL"),
        order_type=code("StopOrderType", name),
        stop_price=pb.MoneyValue(currency="rub", units=99, nano=990_000_000),
        price=pb.MoneyValue(currency="rub", units=99, nano=900_000_000),
        status=code("StopOrderStatusOption", "STOP_ORDER_STATUS_ACTIVE"),
    )
    order = convert.stop_order_to_model(stop, instrument=_inst(), account=ACCOUNT)
    assert order.type is kind and order.side is Side.SELL
    assert order.stop_price == Decimal("99.99")


# --- numbers: hand-worked Quotation / MoneyValue examples ----------------------------------------

NUMBERS = [
    ("114.25", 114, 250_000_000),
    ("-114.25", -114, -250_000_000),
    ("-0.01", 0, -10_000_000),
    ("0.01", 0, 10_000_000),
    ("-1.5", -1, -500_000_000),
    ("0.000000001", 0, 1),
    ("-0.000000001", 0, -1),
    ("0", 0, 0),
    ("7", 7, 0),
    ("-7", -7, 0),
    ("123456789.123456789", 123_456_789, 123_456_789),
    ("-999999.999999999", -999_999, -999_999_999),
]


@pytest.mark.parametrize(("text", "units", "nano"), NUMBERS)
def test_quotation_codec(text: str, units: int, nano: int) -> None:
    q = quotation(Decimal(text))
    assert (q.units, q.nano) == (units, nano)
    assert from_quotation(pb.Quotation(units=units, nano=nano)) == Decimal(text)


@pytest.mark.parametrize(("text", "units", "nano"), NUMBERS)
def test_money_codec(text: str, units: int, nano: int) -> None:
    m = money(Decimal(text), "rub")
    assert (m.currency, m.units, m.nano) == ("rub", units, nano)
    assert from_money(pb.MoneyValue(currency="rub", units=units, nano=nano)) == Decimal(text)


@pytest.mark.parametrize(
    ("text", "nano"),
    [("0.0000000005", 0), ("0.0000000015", 2), ("0.0000000025", 2), ("-0.0000000015", -2)],
)
def test_tenth_decimal_rounds_half_even(text: str, nano: int) -> None:
    assert quotation(Decimal(text)).nano == nano


# --- the fake's own tables say what the facts say -------------------------------------------------


def test_the_fake_tables_follow_the_facts() -> None:
    for side, name in DIRECTIONS:
        assert fake.DIRECTION[side] == code("OrderDirection", name)
        assert fake.SIDE[code("OrderDirection", name)] is side
    for kind, name in STOP_TYPES:
        assert fake.STOP_TYPE[kind] == code("StopOrderType", name)
        assert fake.STOP_KIND[code("StopOrderType", name)] is kind
    for side, name in STOP_DIRECTIONS:
        assert fake.STOP_DIRECTION[side] == code("StopOrderDirection", name)
    for kind, name in ORDER_TYPES:
        assert fake.ORDER_TYPE[kind] == code("OrderType", name)
    for name, status in STATUSES:
        if status is not OrderStatus.ACCEPTED:
            assert fake.STATUS_CODE[status] == code("OrderExecutionReportStatus", name)
    for name, status in STOP_STATUSES:
        assert fake.STOP_STATUS_CODE[status] == code("StopOrderStatusOption", name)
    assert code("TimeInForceType", "TIME_IN_FORCE_DAY") == fake.TIME_IN_FORCE_DAY
    for text, units, nano in NUMBERS:
        q = fake.quotation(Decimal(text))
        assert (q.units, q.nano) == (units, nano)
        assert fake.from_quotation(q) == Decimal(text)


# --- round trips through the fake server -----------------------------------------------------------


def _parts(value: Decimal) -> tuple[int, int]:
    """units and nano of a positive price with at most nine decimals, by hand."""
    units = int(value)
    return units, int((value - units) * 1_000_000_000)


def _spy(broker: TInvestBroker, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []
    real = broker._call

    async def spy(service: str, method: str, request: Any, **kw: Any) -> Any:
        sent.append((method, request))
        return await real(service, method, request, **kw)

    monkeypatch.setattr(broker, "_call", spy)
    return sent


@pytest.mark.parametrize(("side", "name"), DIRECTIONS)
async def test_a_limit_order_reaches_the_exchange_as_sent(
    broker: TInvestBroker,
    server: FakeTInvestServer,
    monkeypatch: pytest.MonkeyPatch,
    side: Side,
    name: str,
) -> None:
    sent = _spy(broker, monkeypatch)
    sber = await broker.find_instrument("SBER")
    last = server.exchange.last_price(sber)
    factor = Decimal("0.95") if side is Side.BUY else Decimal("1.05")
    price = sber.round_price(last * factor)
    order = Order(SBER, side, OrderType.LIMIT, 2, ACCOUNT, price=price)
    placed = await broker.post_order(order)
    request = next(r for m, r in sent if m == "PostOrder")
    assert request.direction == code("OrderDirection", name)
    assert request.order_type == code("OrderType", "ORDER_TYPE_LIMIT")
    assert request.time_in_force == code("TimeInForceType", "TIME_IN_FORCE_DAY")
    assert (request.price.units, request.price.nano) == _parts(price)
    assert request.quantity == 2 and request.order_id == order.id
    record = server.exchange.orders[placed.broker_id]
    assert record.order.side is side and record.order.type is OrderType.LIMIT
    assert record.order.price == price and record.order.lots == 2
    assert placed.side is side and placed.price == price


@pytest.mark.parametrize(("side", "name"), DIRECTIONS)
async def test_a_market_order_moves_the_position_the_right_way(
    broker: TInvestBroker,
    server: FakeTInvestServer,
    monkeypatch: pytest.MonkeyPatch,
    side: Side,
    name: str,
) -> None:
    sent = _spy(broker, monkeypatch)
    placed = await broker.post_order(Order(SBER, side, OrderType.MARKET, 1, ACCOUNT))
    request = next(r for m, r in sent if m == "PostOrder")
    assert request.order_type == code("OrderType", "ORDER_TYPE_MARKET")
    assert request.direction == code("OrderDirection", name)
    for _ in range(50):
        if server.exchange.orders[placed.broker_id].order.status is OrderStatus.FILLED:
            break
        server.step()
        await asyncio.sleep(0)
    assert server.exchange.orders[placed.broker_id].order.status is OrderStatus.FILLED
    lots = {p.instrument: p.lots for p in await broker.positions(ACCOUNT)}
    assert lots == {SBER: 1 if side is Side.BUY else -1}


@pytest.mark.parametrize(("kind", "name"), STOP_TYPES)
async def test_a_stop_order_reaches_the_exchange_as_its_kind(
    broker: TInvestBroker,
    server: FakeTInvestServer,
    monkeypatch: pytest.MonkeyPatch,
    kind: OrderType,
    name: str,
) -> None:
    sent = _spy(broker, monkeypatch)
    sber = await broker.find_instrument("SBER")
    last = server.exchange.last_price(sber)
    # a sell stop-loss below the market, a sell take-profit above it
    factor = Decimal("1.05") if kind is OrderType.TAKE_PROFIT else Decimal("0.95")
    stop = sber.round_price(last * factor)
    price = sber.round_price(stop - sber.step * 5) if kind is OrderType.STOP_LIMIT else None
    order = Order(SBER, Side.SELL, kind, 1, ACCOUNT, price=price, stop_price=stop)
    placed = await broker.post_order(order)
    request = next(r for m, r in sent if m == "PostStopOrder")
    assert request.stop_order_type == code("StopOrderType", name)
    assert request.direction == code("StopOrderDirection", "STOP_ORDER_DIRECTION_SELL")
    assert (request.stop_price.units, request.stop_price.nano) == _parts(stop)
    exchange_kind = (
        "EXCHANGE_ORDER_TYPE_LIMIT"
        if kind is OrderType.STOP_LIMIT
        else "EXCHANGE_ORDER_TYPE_MARKET"
    )
    assert request.exchange_order_type == code("ExchangeOrderType", exchange_kind)
    record = server.exchange.orders[placed.broker_id]
    assert record.order.type is kind and record.order.side is Side.SELL
    assert record.order.stop_price == stop
    [back] = [o for o in await broker.open_orders(ACCOUNT) if o.id == order.id]
    assert back.type is kind and back.side is Side.SELL and back.stop_price == stop


def test_the_fake_never_imports_the_adapters_tables_or_codecs() -> None:
    """A fake that decodes with the adapter's own tables agrees with any mistake in them."""
    import ast
    from pathlib import Path

    import engine.broker.fake_tinvest as fake_package

    forbidden = {
        "engine.broker.tinvest.convert",
        "engine.broker.tinvest.numbers",
        "engine.broker.tinvest.limiter",
    }
    found = []
    for path in Path(fake_package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in forbidden:
                found.append(f"{path.name}: from {node.module} import ...")
            if isinstance(node, ast.Import):
                found += [
                    f"{path.name}: import {a.name}" for a in node.names if a.name in forbidden
                ]
    assert found == []
