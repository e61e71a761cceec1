"""Each pre-trade rule on its own, with the numbers in the message."""

from __future__ import annotations

from decimal import Decimal

from engine.broker.sim import SIM_INSTRUMENTS
from engine.config import RiskSettings, StrategyRiskSettings
from engine.model import Order, OrderType, Side
from engine.model.snapshot import TradingState
from engine.risk import checks
from engine.risk.checks import CheckInput, first_rejection
from engine.risk.exposure import Book
from engine.risk.flatten import Holding, closing_orders
from engine.risk.limits import resolve
from engine.risk.window import WindowCounter

SBER = SIM_INSTRUMENTS[0]  # lot 10, step 0.01


def order(side: Side = Side.BUY, lots: int = 1, price: str | None = None, **kw: object) -> Order:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return Order(
        SBER.code, side, kind, lots, "sim-1", price=None if price is None else Decimal(price), **kw
    )  # type: ignore[arg-type]


def inp(o: Order, risk: RiskSettings | None = None, **kw: object) -> CheckInput:
    risk = risk or RiskSettings()
    base: dict[str, object] = dict(
        order=o,
        instrument=SBER,
        last_price=Decimal(300),
        limits=resolve(risk, o.account, o.strategy),
        state=TradingState.ACTIVE,
        account_book=Book(),
        strategy_book=Book(),
        account_gross=Decimal(0),
        market_open=True,
    )
    base.update(kw)
    return CheckInput(**base)  # type: ignore[arg-type]


def test_a_plain_order_passes() -> None:
    assert first_rejection(inp(order(price="300.00"))) is None


def test_max_order_value_names_the_rule_and_the_numbers() -> None:
    risk = RiskSettings(max_order_value=Decimal(100_000))
    rej = first_rejection(inp(order(lots=50, price="250.00"), risk))  # 50*10*250 = 125,000
    assert str(rej) == "max_order_value: 125,000.00 RUB > limit 100,000.00 RUB"


def test_max_order_lots_and_strategy_override_wins() -> None:
    risk = RiskSettings(
        max_order_lots=10, strategies={"s1": StrategyRiskSettings(max_order_lots=2)}
    )
    assert first_rejection(inp(order(lots=5), risk)) is None
    rej = first_rejection(inp(order(lots=3, strategy="s1"), risk))
    assert str(rej) == "max_order_lots: 3 lots > limit 2"


def test_price_collar_step_and_session() -> None:
    assert str(first_rejection(inp(order(price="400.00")))).startswith("price_collar: price 400.00")
    assert str(first_rejection(inp(order(price="300.001")))).startswith("price_step:")
    assert str(first_rejection(inp(order(), market_open=False))).startswith("session:")


def test_position_and_exposure_use_the_worst_case_but_let_reductions_through() -> None:
    risk = RiskSettings(max_position_lots=5, max_gross_exposure=Decimal(1_000_000))
    book = Book(lots=4, open_buy=1)
    assert str(first_rejection(inp(order(lots=1), risk, account_book=book))).startswith(
        "max_position: MOEX_SHARE_SBER on sim-1 could reach 6 lots"
    )
    over = Book(lots=9)  # over the limit already (it was lowered): a reduction still passes
    assert first_rejection(inp(order(Side.SELL, 2), risk, account_book=over)) is None
    rej = first_rejection(inp(order(lots=5), risk, account_gross=Decimal(990_000)))
    assert str(rej).startswith("max_gross_exposure: account sim-1 could reach 1,005,000.00 RUB")


def test_budget_of_a_strategy() -> None:
    o = order(lots=4, strategy="s1")
    c = inp(o, limits=resolve(RiskSettings(), "sim-1", "s1", Decimal(10_000)))
    assert str(first_rejection(c)) == (
        "budget: s1 could use 12,000.00 RUB (4 lots) > budget 10,000.00 RUB"
    )


def test_rates_per_strategy_and_account() -> None:
    risk = RiskSettings(orders_per_minute_strategy=3, orders_per_minute_account=5)
    o = order(strategy="s1")
    assert first_rejection(inp(o, risk, strategy_orders=2)) is None
    assert str(first_rejection(inp(o, risk, strategy_orders=3))).startswith(
        "orders_per_minute_strategy: s1: 4 orders in a minute > limit 3"
    )
    assert str(first_rejection(inp(o, risk, account_orders=5))).startswith(
        "orders_per_minute_account:"
    )


def test_no_self_trade_against_a_resting_order_of_another_strategy() -> None:
    resting = order(Side.SELL, 1, "301.00", strategy="other")
    buy_low = order(Side.BUY, 1, "300.00", strategy="s1")
    buy_high = order(Side.BUY, 1, "301.50", strategy="s1")
    assert first_rejection(inp(buy_low, resting=[resting])) is None
    rej = first_rejection(inp(buy_high, resting=[resting]))
    assert str(rej).startswith("self_trade: buy would cross the resting sell 1 @ 301.00 of other")
    assert checks.crosses(order(Side.BUY, 1), resting)  # a market order crosses anything


def test_trading_states() -> None:
    assert str(first_rejection(inp(order(), state=TradingState.HALTED))) == (
        "trading_state: trading is HALTED"
    )
    long2 = Book(lots=2, open_sell=1)
    reducing = TradingState.REDUCING
    assert first_rejection(inp(order(Side.SELL, 1), state=reducing, account_book=long2)) is None
    assert first_rejection(inp(order(Side.SELL, 2), state=reducing, account_book=long2))
    assert first_rejection(inp(order(Side.BUY, 1), state=reducing, account_book=long2))


def test_flatten_nets_per_strategy_when_it_can() -> None:
    acc = [Holding("a", "X", 3), Holding("a", "Y", 1)]
    subs = [
        Holding("a", "X", 2, "s1"),
        Holding("a", "X", 1, "s2"),
        Holding("a", "Y", 2, "s3"),
        Holding("a", "Y", -1, "s4"),
    ]
    orders = closing_orders(acc, subs)
    got = sorted((o.instrument, o.side.value, o.lots, o.strategy) for o in orders)
    assert got == [("X", "sell", 1, "s2"), ("X", "sell", 2, "s1"), ("Y", "sell", 1, "")]


def test_window_counter() -> None:
    w = WindowCounter(3, 60)
    assert not w.record(0) and not w.record(10) and w.record(20)
    assert w.count(75) == 1 and w.would_exceed(75, 1)
