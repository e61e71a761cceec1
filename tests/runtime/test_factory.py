"""The components are wired from parts and callables (engine/runtime/factory.py), without an
engine: what one component calls on another reaches the same objects the engine would hold."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.broker.sim import SimBroker
from engine.model import Order, OrderType, Side
from engine.model.order_book import OrderManager
from engine.model.snapshot import EngineSnapshot, TradingState
from engine.risk.switch import TradingSwitch
from engine.runtime.engine import Engine
from engine.runtime.factory import EngineHooks, wire
from engine.runtime.parts import EngineOptions, EngineParts
from engine.runtime.slots import SlotTable

START = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_components_are_wired_from_parts_and_hooks_alone() -> None:
    halts: list[str] = []
    changes: list[str] = []
    parts = EngineParts(
        SimBroker(seed=7, start=START, realtime=False),
        None,
        EngineOptions(),
        OrderManager(),
        SlotTable([]),
        TradingSwitch(),
        counters=dict.fromkeys(("events", "orders_sent", "orders_rejected", "fills"), 0),
    )

    def no_snapshot(*_: object) -> EngineSnapshot:
        raise AssertionError("no snapshot is asked for while wiring")

    hooks = EngineHooks(
        kill=halts.append,
        touch=lambda: changes.append("touch"),
        significant=lambda: changes.append("significant"),
        market_clock=lambda: None,
        running=lambda: False,
        connected=lambda: False,
        started=lambda: False,
        version=lambda: 0,
        build_snapshot=no_snapshot,
        snapshot=no_snapshot,
    )
    c = wire(parts, None, hooks)
    # one risk desk, known to the parts and the kernel; the router and host are the kernel's
    assert parts.risk is c.risk and c.kernel.risk is c.risk
    assert c.kernel.router is not None and c.kernel.host is not None
    # the controls act on the parts' switch, and a halt reaches the engine's callbacks
    c.controls.kill("from a test")
    assert parts.switch.state is TradingState.HALTED and "significant" in changes
    # an order refused by the pre-trade rules (HALTED) is booked in the parts' order book
    refused = c.kernel.submit(Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "sim-1"))
    assert parts.book.get(refused.id) is refused and refused.reason.startswith("trading_state")
    for component in (c.keeper, c.kernel, c.risk, c.worklist, c.controls, c.saver, c.budgets):
        held = getattr(component, "__dict__", {}).values()
        assert not any(isinstance(v, Engine) for v in held)
