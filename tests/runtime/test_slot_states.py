"""A strategy slot's state follows one transition table: legal changes happen, illegal ones raise
and change nothing; under any sequence of controls and kill-switch decisions the engine only
makes legal changes, never runs a strategy while HALTED and never runs one paused by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.broker.sim import SimBroker
from engine.model.snapshot import StrategyState, TradingState
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.recovery import _load_snapshot
from engine.runtime.slots import (
    TRANSITIONS,
    IllegalSlotTransition,
    StrategySlot,
    can_move,
    hold_running,
    release_held,
)
from engine.runtime.worklist import StrategySpec
from engine.state.base import StateSnapshot
from engine.state.embedded import DiskcacheStore
from tests.runtime.simkit import START

STATES = list(StrategyState)
SPECS = [
    StrategySpec("sma_cross", "SBER", params={"fast": 5, "slow": 20, "lots": 1}),
    StrategySpec("sma_cross", "GAZP", params={"fast": 5, "slow": 20, "lots": 1}),
]


def _slot() -> StrategySlot:
    return StrategySlot("s", SPECS[0])


def test_the_table_names_every_state_and_no_dead_end() -> None:
    assert set(TRANSITIONS) == set(StrategyState)
    for before, after in TRANSITIONS.items():
        assert before not in after and after  # self-moves are no-ops, every state can leave
    # a stopped or failed row is started or restarted, never "paused"
    for idle in (StrategyState.STOPPED, StrategyState.FAILED):
        assert not can_move(idle, StrategyState.PAUSED)


def test_an_illegal_transition_raises_and_changes_nothing() -> None:
    slot = _slot()
    slot.state = StrategyState.STOPPED
    with pytest.raises(IllegalSlotTransition, match="stopped -> paused is not allowed"):
        slot.state = StrategyState.PAUSED
    assert slot.state is StrategyState.STOPPED
    slot.state = StrategyState.STOPPED  # the state it has: nothing happens
    assert slot.state is StrategyState.STOPPED


@given(st.lists(st.sampled_from(STATES), max_size=30))
def test_any_sequence_of_moves_follows_the_table(moves: list[StrategyState]) -> None:
    slot = _slot()
    for after in moves:
        before = slot.state
        if can_move(before, after):
            slot.state = after
            assert slot.state is after
        else:
            with pytest.raises(IllegalSlotTransition):
                slot.state = after
            assert slot.state is before


def test_hold_and_release_touch_only_running_and_held_slots() -> None:
    slots = [StrategySlot(str(i), SPECS[0]) for i in range(3)]
    slots[1].state = StrategyState.PAUSED
    slots[2].state = StrategyState.FAILED
    assert hold_running(slots) == [slots[0]]
    assert [s.state for s in slots] == [StrategyState.HELD, StrategyState.PAUSED, _F]
    assert release_held(slots) == [slots[0]]
    assert [s.state for s in slots] == [StrategyState.RUNNING, StrategyState.PAUSED, _F]


_F = StrategyState.FAILED
CONTEXT = object()  # never called: the engine does not run in this test

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["pause", "resume", "stop", "start", "kill", "reduce", "flatten", "trade", "fail"]
        ),
        st.integers(0, len(SPECS) - 1),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(ACTIONS)
def test_controls_and_the_kill_switch_make_only_legal_moves(
    actions: list[tuple[str, int]],
) -> None:
    engine = Engine(SimBroker(seed=7, start=START, realtime=False), SPECS, EngineOptions())
    by_hand: set[str] = set()  # paused by hand and not resumed since
    for action, i in actions:
        slot = engine.slots[i]
        if slot.ctx is None:  # as if resolved: a resume by hand needs a context
            slot.ctx = CONTEXT  # type: ignore[assignment]
        if action == "pause":
            if slot.state in (StrategyState.RUNNING, StrategyState.HELD):
                by_hand.add(slot.id)
            engine.pause_strategy(slot.id)
        elif action == "resume":
            by_hand.discard(slot.id)
            engine.resume_strategy(slot.id)
        elif action == "stop":
            by_hand.discard(slot.id)
            engine.stop_strategy(slot.id)
        elif action == "start":
            engine.start_strategy(slot.id)
        elif action == "kill":
            engine.kill("test")
        elif action == "reduce":
            engine.reduce("test")
        elif action == "flatten":
            engine.flatten("test")
        elif action == "trade":
            engine.resume_trading("test")
        else:  # a hook raised
            by_hand.discard(slot.id)
            engine.kernel.fail(slot, "on_bar", ValueError("boom"))
        states = {s.id: s.state for s in engine.slots}
        if engine.trading_state is TradingState.HALTED or engine.holds_strategies():
            assert StrategyState.RUNNING not in states.values()
        for sid in by_hand:
            assert states[sid] is StrategyState.PAUSED


def test_a_row_stopped_since_the_last_snapshot_is_not_paused_by_it(tmp_path: Path) -> None:
    """Recovery brings a "paused" back only where the table allows it: a row stopped (by the
    saved worklist) since the snapshot stays stopped instead of raising."""
    store = DiskcacheStore(tmp_path / "state")
    engine = Engine(
        SimBroker(seed=7, start=START, realtime=False), SPECS, EngineOptions(), store=store
    )
    stopped, running = engine.slots
    stopped.state = StrategyState.STOPPED
    saved = {s.id: {"state": "paused"} for s in engine.slots}
    _load_snapshot(engine.parts, engine.keeper, StateSnapshot(1, 0, "then", {"strategies": saved}))
    assert stopped.state is StrategyState.STOPPED and running.state is StrategyState.PAUSED
    store.close()
