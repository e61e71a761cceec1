"""The kill switch owns the trading state: its transitions, the latch, what it tells its
listeners, the one REDUCING rule (open orders count), and recovery halting through it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.broker.base import BrokerError
from engine.broker.sim import SimBroker
from engine.model import Mode, Order, OrderStatus, OrderType, Side
from engine.model.snapshot import StrategyState, TradingState
from engine.risk import checks
from engine.risk.exposure import Book
from engine.risk.switch import TradingChange, TradingSwitch
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.recovery import recover
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore
from engine.state.status_store import StatusStore
from tests.risk.test_checks import inp, order
from tests.runtime.simkit import START, Driver

ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
SMA = StrategySpec("sma_cross", "SBER", params={"fast": 5, "slow": 20, "lots": 1})


def _switch() -> tuple[TradingSwitch, list[TradingChange]]:
    switch = TradingSwitch()
    seen: list[TradingChange] = []
    switch.subscribe(seen.append)
    return switch, seen


# --- transitions and the latch ---------------------------------------------------------------


def test_a_halt_latches_until_a_deliberate_resume() -> None:
    switch, seen = _switch()
    assert switch.halt("daily_loss: -10") is True
    assert (switch.state, switch.reason, switch.holds()) == (HALTED, "daily_loss: -10", "halted")
    assert switch.halt("again") is False  # already halted: the newer reason, not a new halt
    assert switch.reason == "again"
    assert switch.reduce("stale_data", automatic=True) is False  # a trigger cannot loosen it
    assert switch.state is HALTED
    switch.resume("operator")
    assert (switch.state, switch.reason, switch.holds()) == (ACTIVE, "", "")
    assert [(c.action, c.before, c.after, c.holds, c.releases) for c in seen] == [
        ("halt", ACTIVE, HALTED, True, False),
        ("halt", HALTED, HALTED, True, False),
        ("resume", HALTED, ACTIVE, False, True),
    ]
    assert [c.changed for c in seen] == [True, False, True]


def test_reduce_tightens_from_active_and_the_operator_may_leave_a_halt_for_it() -> None:
    switch, seen = _switch()
    assert switch.reduce("drawdown", automatic=True) is True
    assert (switch.state, switch.reason) == (REDUCING, "drawdown")
    assert switch.reduce("rejections", automatic=True) is False  # only from ACTIVE
    assert switch.reason == "drawdown"
    switch.halt("manual")
    assert switch.reduce("avin kill --reduce") is True  # deliberate: HALTED -> REDUCING
    assert switch.state is REDUCING and not any(c.holds for c in seen if c.action == "reduce")


def test_a_flatten_holds_the_strategies_until_its_orders_are_out() -> None:
    switch, seen = _switch()
    switch.flatten("manual")
    assert (switch.state, switch.reason) == (REDUCING, "flatten: manual")
    assert switch.flattening and switch.holds() == "flattening" and seen[-1].holds
    switch.flatten_done()
    assert not switch.flattening and switch.holds() == "" and switch.state is REDUCING
    switch.flatten("again")
    switch.resume()  # a resume ends a flatten under way too
    assert not switch.flattening and switch.state is ACTIVE and seen[-1].reason == "resumed"


def test_the_latch_of_the_previous_run_is_restored_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    switch, seen = _switch()
    switch.restore(ACTIVE, "")
    assert seen == []  # nothing latched: nothing to tell
    switch.restore(HALTED, "drawdown: -5")
    assert (switch.state, switch.reason) == (HALTED, "drawdown: -5")
    assert seen[-1].action == "restore" and seen[-1].holds
    switch.restore(REDUCING, "stale_data")
    assert seen[-1].holds is False
    assert "trading state HALTED latched from the previous run (drawdown: -5)" in caplog.text


# --- one REDUCING rule: the orders already open count --------------------------------------------


def test_reducing_counts_the_orders_already_open() -> None:
    """Long 2 with a sell of 2 resting: another sell of 2 would make the account short 2 when
    both fill. The old engine-side rule (``runtime.guards.order_block_reason``) looked at the
    position only and let it through; the one rule refuses it."""
    long2_selling2 = Book(lots=2, open_sell=2)
    sell2 = order(Side.SELL, 2)
    rejection = checks.trading_state(inp(sell2, state=REDUCING, account_book=long2_selling2))
    assert rejection is not None and rejection.rule == "trading_state"
    assert "open buy 0, sell 2" in rejection.message
    assert checks.trading_state(inp(sell2, state=REDUCING, account_book=Book(lots=2))) is None
    selling1 = Book(lots=2, open_sell=1)
    assert (
        checks.trading_state(inp(order(Side.SELL, 1), state=REDUCING, account_book=selling1))
        is None
    )
    assert checks.trading_state(inp(sell2, state=REDUCING, account_book=selling1)) is not None
    assert checks.trading_state(inp(order(Side.BUY, 1), state=REDUCING, account_book=Book(lots=2)))
    assert checks.trading_state(inp(order(Side.SELL, 1), state=REDUCING)) is not None  # flat
    assert str(checks.trading_state(inp(sell2, state=HALTED))) == "trading_state: trading is HALTED"
    assert checks.trading_state(inp(order(Side.BUY, 1), state=ACTIVE)) is None


async def test_the_engine_refuses_an_order_that_reduces_only_without_the_open_ones() -> None:
    """At submit and again just before sending, the same rule: a resting sell counts."""
    async with Driver([]) as d:
        engine = d.engine
        code = "MOEX_SHARE_SBER"
        engine.book.position("sim-1", code).lots = 2
        resting = Order(code, Side.SELL, OrderType.LIMIT, 2, "sim-1", price=Decimal("400"))
        resting.status = OrderStatus.ACCEPTED
        engine.book.orders[resting.id] = resting
        engine.reduce("test")
        another = Order(code, Side.SELL, OrderType.MARKET, 2, "sim-1")
        assert engine.risk.post_check(another).startswith("trading_state: trading is REDUCING")
        result = engine.submit(another)
        assert result.status is OrderStatus.REJECTED
        assert result.reason.startswith("trading_state: trading is REDUCING")
        assert engine.risk.gate.rejections["trading_state"] == 2


# --- the engine goes through the switch -----------------------------------------------------------


def _engine(**kw: Any) -> Engine:
    broker = SimBroker(seed=7, start=START, realtime=False)
    return Engine(broker, [SMA], EngineOptions(history_days=1), **kw)


def test_kill_reduce_flatten_and_resume_are_decisions_of_the_switch() -> None:
    engine = _engine()
    seen: list[TradingChange] = []
    engine.switch.subscribe(seen.append)
    slot = engine.slots[0]
    engine.kill("k")
    assert slot.state is StrategyState.HELD and engine.holds_strategies() == "halted"
    engine.set_trading_state(TradingState.ACTIVE, "operator")  # a resume: held ones run
    assert slot.state is StrategyState.RUNNING and engine.halt_reason == ""
    engine.set_trading_state(TradingState.REDUCING)
    assert (engine.trading_state, engine.halt_reason) == (REDUCING, "manual")
    assert slot.state is StrategyState.RUNNING  # REDUCING alone holds nobody
    engine.risk.flatten("f")
    assert slot.state is StrategyState.HELD and engine.risk.flattening
    engine.resume_trading()
    assert slot.state is StrategyState.RUNNING and not engine.risk.flattening
    assert [c.action for c in seen] == ["halt", "resume", "reduce", "flatten", "resume"]


async def test_a_latched_halt_comes_back_through_the_switch(tmp_path: Path) -> None:
    store = StatusStore(tmp_path)
    async with Driver([SMA], store=store) as d:
        d.engine.kill("latched")
    d2 = Driver([SMA], store=store)
    seen: list[TradingChange] = []
    d2.engine.switch.subscribe(seen.append)
    async with d2:
        assert [(c.action, c.after, c.reason) for c in seen] == [("restore", HALTED, "latched")]
        assert d2.engine.slots[0].state is StrategyState.HELD
    assert store.trading_state() == (HALTED, "latched")
    store.close()


async def test_recovery_that_cannot_reconcile_halts_through_the_switch(tmp_path: Path) -> None:
    store = DiskcacheStore(tmp_path / "state")
    engine = _engine(store=store)
    engine.options.mode = Mode.SANDBOX
    working = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 1, "sim-1", price=Decimal(250))
    working.status = OrderStatus.ACCEPTED
    engine.keeper.journal.order(working)  # type: ignore[union-attr]

    class Down:
        mode = None

        async def get_order(self, account: str, key: str) -> Order | None:
            raise BrokerError("unauthenticated")

    engine.parts.broker = Down()  # type: ignore[assignment]
    seen: list[TradingChange] = []
    engine.switch.subscribe(seen.append)
    report = await recover(engine.parts, engine.keeper, crashed=True)
    assert report.halted
    assert [(c.action, c.after) for c in seen] == [("halt", HALTED)]
    assert seen[0].reason == "recovery: reconciliation with the broker failed: unauthenticated"
    assert engine.halt_reason == seen[0].reason
    assert engine.slots[0].state is StrategyState.HELD
    store.close()
