"""Recovery's less travelled paths, on crafted snapshots, journal events and broker answers:
saved strategy states, resolve events that must not win, orders that cannot be finished, a key
looked up again, a broker that cannot list or answer, and the settle at a clean stop."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engine.broker.base import BrokerError
from engine.broker.sim import SimBroker
from engine.model import Mode, Order, OrderStatus, OrderType, Position, Side
from engine.model.snapshot import StrategyState, TradingState
from engine.runtime import recovery
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.recovery import (
    RecoveryReport,
    _finish,
    _load_snapshot,
    _look_again,
    _open_orders,
    _replay,
    book_missed_fill,
    recover,
    settle_open_orders,
)
from engine.runtime.sim_restart import fresh_simulated
from engine.runtime.worklist import StrategySpec
from engine.state.base import JournalEvent, StateSnapshot
from engine.state.codec import encode_order
from engine.state.embedded import DiskcacheStore
from tests.runtime.simkit import START

SBER = "MOEX_SHARE_SBER"
SPECS = [
    StrategySpec("sma_cross", "SBER", params={"fast": 5, "slow": 20, "lots": 1}),
    StrategySpec("sma_cross", "GAZP", params={"fast": 5, "slow": 20, "lots": 1}),
    StrategySpec("sma_cross", "LKOH", params={"fast": 5, "slow": 20, "lots": 1}),
]


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = DiskcacheStore(tmp_path / "state")
    yield s
    s.close()


def _engine(store: Any, mode: Mode = Mode.SIM) -> Engine:
    broker = SimBroker(seed=7, start=START, realtime=False)
    return Engine(broker, SPECS, EngineOptions(mode=mode, history_days=1), store=store)


def _order(status: OrderStatus = OrderStatus.NEW, **kw: Any) -> Order:
    order = Order(SBER, Side.BUY, OrderType.LIMIT, 2, "sim-1", price=Decimal("250"), **kw)
    order.status = status
    return order


class _Broker:
    """Answers the recovery questions as told (async, like a broker)."""

    mode = None

    def __init__(self, answers: list[Any] | None = None, **kw: Any) -> None:
        self.answers = list(answers or [])
        self.asked: list[str] = []
        self.open: list[Order] = kw.get("open", [])
        self.held: list[Position] = kw.get("positions", [])

    async def get_order(self, account: str, key: str) -> Order | None:
        self.asked.append(key)
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    async def open_orders(self, account: str) -> list[Order]:
        if isinstance(self.open, Exception):
            raise self.open
        return list(self.open)

    async def positions(self, account: str) -> list[Position]:
        return list(self.held)


# --- snapshot and replay --------------------------------------------------------------------------


def test_saved_strategy_states_and_counters_come_back(store: DiskcacheStore) -> None:
    engine = _engine(store)
    paused, failed, running = engine.slots
    running.state = StrategyState.FAILED  # failed on this start already: stays as it is
    running.error = "on this start"
    data = {
        "counters": {"fills": 4, "bogus": "many"},
        "strategies": {
            paused.id: {"state": "paused"},
            failed.id: {"state": "failed", "error": ""},
            running.id: {"state": "paused"},
        },
    }
    _load_snapshot(engine.parts, engine.keeper, StateSnapshot(1, 0, "then", data))
    assert paused.state is StrategyState.PAUSED
    assert failed.state is StrategyState.FAILED and failed.error == "failed before the restart"
    assert running.state is StrategyState.FAILED and running.error == "on this start"
    assert engine.counters["fills"] == 4 and "bogus" not in engine.counters


def test_a_resolve_event_never_overrides_a_finished_order(store: DiskcacheStore) -> None:
    engine = _engine(store)
    filled = _order(OrderStatus.FILLED)
    engine.book.orders[filled.id] = filled
    stale = encode_order(replace(filled, status=OrderStatus.ACCEPTED))
    in_flight = _order(OrderStatus.SUBMITTED)
    engine.book.orders[in_flight.id] = in_flight
    answered = replace(in_flight, status=OrderStatus.ACCEPTED, broker_id="b-1")
    events = [
        JournalEvent(1, "t", "resolve", filled.id, {"order": stale}),
        JournalEvent(2, "t", "resolve", in_flight.id, {"order": encode_order(answered)}),
        JournalEvent(3, "t", "resolve", "x", {}),  # the broker's answer was not an order
    ]
    assert _replay(engine.parts, events) == 3
    assert engine.book.orders[filled.id].status is OrderStatus.FILLED
    assert engine.book.orders[in_flight.id].status is OrderStatus.ACCEPTED
    assert engine.book.orders[in_flight.id].broker_id == "b-1"
    assert "x" not in engine.book.orders


def test_finish_moves_only_what_may_move_and_journals_when_it_can(store: DiskcacheStore) -> None:
    engine = _engine(store)
    new = _order()
    _finish(
        engine.parts, engine.keeper, new, OrderStatus.CANCELLED, "the simulated market restarted"
    )
    assert new.status is OrderStatus.CANCELLED and new.reason == "the simulated market restarted"
    assert [e.kind for e in store.history(new.id)] == ["order"]
    done = _order(OrderStatus.FILLED)
    _finish(engine.parts, engine.keeper, done, OrderStatus.CANCELLED, "late")
    assert done.status is OrderStatus.FILLED  # a filled order cannot be cancelled
    unjournalled = _order(OrderStatus.SUBMITTED)
    _finish(engine.parts, SimpleNamespace(journal=None), unjournalled, OrderStatus.REJECTED, "r")  # type: ignore[arg-type]
    assert unjournalled.status is OrderStatus.REJECTED and store.history(unjournalled.id) == []


# --- the broker's answers -------------------------------------------------------------------------


async def test_a_key_looked_up_again_is_found_or_given_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(recovery, "IN_FLIGHT_LOOKUP_PAUSES", (0, 0, 0))
    order = _order(OrderStatus.SUBMITTED)
    placed = replace(order, status=OrderStatus.ACCEPTED)
    broker = _Broker([None, placed])
    assert await _look_again(broker, order) is placed and len(broker.asked) == 2
    broker = _Broker([BrokerError("unavailable", code="UNAVAILABLE")])
    with caplog.at_level(logging.WARNING, "avin.recovery"):
        assert await _look_again(broker, order) is None
    assert f"order {order.id}: asking again failed: unavailable" in caplog.text
    assert len(broker.asked) == 1  # not asked again after the failure
    broker = _Broker()
    assert await _look_again(broker, order) is None and len(broker.asked) == 3


async def test_a_failed_listing_raises_unless_it_has_the_regular_orders() -> None:
    broker = _Broker()
    broker.open = BrokerError("listing failed")  # type: ignore[assignment]
    with pytest.raises(BrokerError, match="listing failed"):
        await _open_orders(broker, "sim-1")
    regular = _order(OrderStatus.ACCEPTED)
    partial = BrokerError("stop orders cannot be listed", hint="check them in the app")
    partial.orders = [regular]  # type: ignore[attr-defined]
    broker.open = partial  # type: ignore[assignment]
    assert await _open_orders(broker, "sim-1") == [regular]


async def test_a_simulated_market_holding_a_position_is_not_fresh(store: DiskcacheStore) -> None:
    engine = _engine(store)
    engine.parts.broker = _Broker(positions=[Position(SBER, lots=1, account="sim-1")])  # type: ignore[assignment]
    assert not await fresh_simulated(engine.parts, [], ["sim-1"])
    engine.parts.broker = _Broker(positions=[Position(SBER, lots=0, account="sim-1")])  # type: ignore[assignment]
    assert await fresh_simulated(engine.parts, [], ["sim-1"])


def test_nothing_is_booked_when_the_broker_saw_no_more_fills(store: DiskcacheStore) -> None:
    engine = _engine(store)
    order = _order(OrderStatus.ACCEPTED)
    engine.book.orders[order.id] = order
    cancelled = replace(order, status=OrderStatus.CANCELLED)
    book_missed_fill(engine.keeper, order, cancelled, now=None, on_fill=engine.kernel.on_fill)
    assert engine.book.fills == [] and engine.keeper.credits == {}


async def test_recovery_with_a_stop_the_broker_cannot_tell_about_halts(
    store: DiskcacheStore,
) -> None:
    engine = _engine(store, Mode.SANDBOX)
    stop = Order(SBER, Side.SELL, OrderType.STOP, 1, "sim-1", stop_price=Decimal("200"))
    stop.status = OrderStatus.ACCEPTED
    engine.keeper.journal.order(stop)  # type: ignore[union-attr]
    store.damage.add("an unreadable snapshot was skipped")  # not fatal: a warning
    broker = _Broker([BrokerError("stop order service unavailable")])
    engine.parts.broker = broker  # type: ignore[assignment]
    report = await recover(engine.parts, engine.keeper, crashed=True)
    assert report.halted and engine.trading_state is TradingState.HALTED
    assert report.problems == [
        f"stop order {stop.id} cannot be verified at the broker (stop order service "
        "unavailable); check it in the broker's app, cancel it there if it is not wanted, then "
        "`avin resume`"
    ]
    assert report.damage == ["an unreadable snapshot was skipped"]


async def test_a_broker_that_fails_on_a_regular_order_halts_recovery(
    store: DiskcacheStore,
) -> None:
    engine = _engine(store, Mode.SANDBOX)
    working = _order(OrderStatus.ACCEPTED)
    engine.keeper.journal.order(working)  # type: ignore[union-attr]
    engine.parts.broker = _Broker([BrokerError("unauthenticated")])  # type: ignore[assignment]
    report = await recover(engine.parts, engine.keeper, crashed=True)
    assert report.problems == ["reconciliation with the broker failed: unauthenticated"]
    assert engine.trading_state is TradingState.HALTED


async def test_an_order_the_broker_still_has_in_flight_is_not_called_resolved(
    store: DiskcacheStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(store, Mode.SANDBOX)
    sent = _order(OrderStatus.SUBMITTED)
    engine.keeper.journal.record(sent.id, sent)  # type: ignore[union-attr]
    broker = _Broker([replace(sent, status=OrderStatus.SUBMITTED)])
    engine.parts.broker = broker  # type: ignore[assignment]
    report = await recover(engine.parts, engine.keeper, crashed=True)
    assert engine.book.orders[sent.id].status is OrderStatus.SUBMITTED
    assert sent.id not in report.resolved and report.problems == []


async def test_settle_at_stop_journals_what_the_broker_changed(store: DiskcacheStore) -> None:
    engine = _engine(store)
    working = _order(OrderStatus.ACCEPTED)
    unknown = _order(OrderStatus.ACCEPTED)
    engine.book.orders[working.id] = working
    engine.book.orders[unknown.id] = unknown
    cancelled = replace(working, status=OrderStatus.CANCELLED, reason="expired at the close")
    engine.parts.broker = _Broker([cancelled, None])  # type: ignore[assignment]
    assert await settle_open_orders(engine.parts, engine.keeper) == 0
    assert working.status is OrderStatus.CANCELLED
    assert [e.kind for e in store.history(working.id)] == ["order"]
    assert unknown.status is OrderStatus.ACCEPTED and store.history(unknown.id) == []


def test_a_report_says_what_recovery_did() -> None:
    report = RecoveryReport(crashed=True, replayed=3, problems=["p"], seconds=0.12345)
    data = report.to_json()
    assert data["crashed"] and data["replayed_events"] == 3 and data["problems"] == ["p"]
    assert data["seconds"] == 0.123


def test_the_market_time_comes_back_from_a_snapshot_when_the_market_keeps_none(
    store: DiskcacheStore,
) -> None:
    engine = _engine(store)
    engine.parts.broker = _Broker()  # type: ignore[assignment]
    then = "2024-03-04T09:30:00+00:00"
    _load_snapshot(engine.parts, engine.keeper, StateSnapshot(1, 0, "then", {"market_ts": then}))
    assert engine.market.now is not None and engine.market.now.isoformat() == then


async def test_a_fresh_simulated_market_cancels_the_open_orders_of_the_last_run(
    store: DiskcacheStore,
) -> None:
    engine = _engine(store)
    working = _order(OrderStatus.ACCEPTED)
    engine.keeper.journal.order(working)  # type: ignore[union-attr]
    engine.parts.broker = _Broker()  # type: ignore[assignment]
    report = await recover(engine.parts, engine.keeper, crashed=True)
    assert report.fresh_broker and report.cancelled == [working.id] and not report.problems
    booked = engine.book.orders[working.id]
    assert booked.status is OrderStatus.CANCELLED
    assert booked.reason == "the simulated market restarted"


def test_fills_the_broker_has_and_the_engine_missed_are_booked_once(store: DiskcacheStore) -> None:
    engine = _engine(store)
    order = _order(OrderStatus.ACCEPTED)
    engine.book.orders[order.id] = order
    view = replace(order, status=OrderStatus.FILLED, filled_lots=2, avg_fill_price=Decimal("250"))
    book_missed_fill(engine.keeper, order, view, now=None, on_fill=engine.kernel.on_fill)
    assert [f.lots for f in engine.book.fills] == [2] and engine.keeper.credits == {order.id: 2}
    assert order.filled_lots == 2


async def test_settle_at_stop_books_fills_that_raced_it_and_survives_a_failing_broker(
    store: DiskcacheStore, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _engine(store)
    order = _order(OrderStatus.ACCEPTED)
    engine.book.orders[order.id] = order
    filled = replace(order, status=OrderStatus.FILLED, filled_lots=2, avg_fill_price=Decimal(250))
    engine.parts.broker = _Broker([filled])  # type: ignore[assignment]
    assert await settle_open_orders(engine.parts, engine.keeper) == 1
    assert order.status is OrderStatus.FILLED
    assert [e.kind for e in store.history(order.id)] == ["fill"]  # the fill moved it already
    other = _order(OrderStatus.ACCEPTED)
    engine.book.orders[other.id] = other
    engine.parts.broker = _Broker([BrokerError("unavailable")])  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, "avin.recovery"):
        assert await settle_open_orders(engine.parts, engine.keeper) == 0
    assert "settling open orders at stop failed: unavailable" in caplog.text
    assert other.status is OrderStatus.ACCEPTED
