"""The pre-trade rules at their edges (each refusal's words, each rule's "not my business")."""

from __future__ import annotations

from decimal import Decimal

from engine.broker.base import TradingStatus
from engine.config import RiskSettings, StrategyRiskSettings
from engine.model import Order, OrderType, Side
from engine.model.order_book import OrderManager
from engine.risk import checks
from engine.risk.control import RiskControl
from engine.risk.exposure import Book
from engine.risk.switch import TradingSwitch
from tests.risk.test_checks import SBER, inp, order


def test_unknown_instrument_and_no_step_check_without_it() -> None:
    c = inp(order(price="300.00"), instrument=None)
    assert str(checks.instrument_known(c)) == f"instrument: unknown instrument {SBER.code}"
    assert checks.price_step(c) is None


def test_lots_that_are_not_a_positive_whole_number() -> None:
    o = order()
    o.lots = True  # type: ignore[assignment]  # a bool is not a count of lots
    rej = checks.lot_validity(inp(o))
    assert rej is not None and "True is not a positive whole number of lots" in str(rej)


def test_the_session_refusal_names_the_brokers_status() -> None:
    c = inp(order(price="300.00"), market_open=False, market_note="BREAK_IN_TRADING")
    assert str(checks.session(c)) == (
        f"session: {SBER.code} does not take limit orders now: the broker's trading status is "
        "BREAK_IN_TRADING"
    )
    closed = inp(order(price="300.00"), market_open=False)
    assert str(checks.session(closed)) == f"session: the market for {SBER.code} is closed"


def test_no_last_price_no_collar_and_no_value() -> None:
    market = inp(order(), last_price=None)
    assert checks.price_collar(market) is None
    assert str(checks.max_order_value(market)) == (
        "max_order_value: no price to value the order (no market data yet)"
    )
    assert checks.gross_exposure(market) is None
    stop = inp(
        Order(SBER.code, Side.SELL, OrderType.STOP, 1, "sim-1", stop_price=Decimal("100.00"))
    )
    assert "stop price 100.00 is" in str(checks.price_collar(stop))


def test_a_strategy_order_that_shrinks_its_worst_case_passes() -> None:
    risk = RiskSettings(strategies={"s1": StrategyRiskSettings(max_position_lots=1)})
    short5 = Book(lots=-5)  # already over the limit (the limit was lowered): buying back is fine
    c = inp(order(Side.BUY, lots=2, strategy="s1"), risk, strategy_book=short5)
    assert checks.strategy_position(c) is None


def test_self_trade_rules() -> None:
    resting_buy = Order(SBER.code, Side.BUY, OrderType.LIMIT, 1, "sim-1", price=Decimal("299.00"))
    same_side = order(Side.BUY, price="300.00")
    assert not checks.crosses(same_side, resting_buy)
    sell_market = order(Side.SELL)
    assert checks.crosses(sell_market, resting_buy)
    c = inp(sell_market, resting=[resting_buy])
    assert "would cross the resting buy 1 @ 299.00 of manual" in str(checks.self_trade(c))
    assert (
        checks.self_trade(inp(sell_market, resting=[resting_buy], prevent_self_trade=False)) is None
    )


def _control(broker: object, charts: dict | None = None) -> RiskControl:
    """A risk desk given only a broker and the charted codes (it needs nothing else here)."""

    def unused(*args: object, **kw: object) -> None:
        raise AssertionError("not used by these checks")

    return RiskControl(
        None,
        switch=TradingSwitch(),
        book=OrderManager(),
        instruments={},
        broker=broker,  # type: ignore[arg-type]
        charted=lambda: list(charts or {}),
        last_close=lambda code: None,
        market_time=lambda: None,
        own_clock=lambda: None,
        budget=lambda sid: None,
        changed=unused,
        kill=unused,
        cancel_all=unused,
        submit=unused,  # type: ignore[arg-type]
        spawn=unused,
        in_loop=unused,
    )


def test_session_open_from_the_brokers_trading_status() -> None:
    class Statuses:
        def __init__(self, answers: dict[str, object]) -> None:
            self.answers = answers

        def market_status(self, code: str) -> object:
            answer = self.answers[code]
            if isinstance(answer, Exception):
                raise answer
            return answer

    assert _control(object()).session_open() is None  # a broker that does not say
    charts = {"A": None, "B": None}
    broken = Statuses({"A": RuntimeError("down"), "B": "not a status"})
    assert _control(broken, charts).session_open() is None
    closed = Statuses({"A": TradingStatus(False, False), "B": TradingStatus()})
    assert _control(closed, charts).session_open() is False
    one_open = Statuses({"A": TradingStatus(False, False), "B": TradingStatus(True, False)})
    assert _control(one_open, charts).session_open() is True
    assert _control(broken, charts).market_status("A") == TradingStatus(None, None)
    assert _control(one_open, charts).market_status("B") == TradingStatus(True, False)


def test_small_helpers_at_their_edges() -> None:
    from datetime import date, datetime

    import pytest

    from engine.risk.clock import trading_day
    from engine.risk.limits import _pick
    from engine.risk.triggers import Baseline, Triggers

    assert trading_day(datetime(2024, 3, 4, 22, 30)) == date(2024, 3, 5)  # naive: UTC; MSK +3
    assert _pick(None, 3, 4) == 3
    with pytest.raises(ValueError, match="no value"):
        _pick(None, None)
    assert Baseline.from_json("garbage") is None
    assert Baseline.from_json({"trading_day": "2024-03-04"}) is None  # numbers missing
    assert Baseline.from_json({"daily_baseline": "x", "equity_peak": "1"}) is None
    triggers = Triggers(RiskSettings())
    triggers.restore("not a dict")
    triggers.restore(
        {"baselines": {"acc": "bad", "ok": {"daily_baseline": "1", "equity_peak": "2"}}}
    )
    assert set(triggers.baselines) == {"ok"}
