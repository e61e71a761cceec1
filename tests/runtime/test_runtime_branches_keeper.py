"""The state keeper's less travelled paths: strategies that cannot restore or persist, a journal
that keeps failing, a workspace or resume request the store cannot take, compaction, and a
capture that races the loop."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from engine.broker.sim import SimBroker
from engine.model import Order, OrderType, Side
from engine.model.snapshot import TradingState
from engine.runtime import keeper as keeper_module
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.keeper import REARM, keys_of
from engine.runtime.worklist import StrategySpec
from engine.state.embedded import DiskcacheStore
from tests.runtime.simkit import START

SMA = StrategySpec("sma_cross", "SBER", params={"fast": 5, "slow": 20, "lots": 1})


def _engine(store: Any = None) -> Engine:
    return Engine(
        SimBroker(seed=7, start=START, realtime=False), [SMA], EngineOptions(), store=store
    )


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = DiskcacheStore(tmp_path / "state")
    yield s
    s.close()


def test_the_keeper_is_enabled_only_with_a_journalled_store(store: DiskcacheStore) -> None:
    assert _engine(store).keeper.enabled
    assert not _engine().keeper.enabled


def test_start_hook_falls_back_to_on_start_when_the_saved_state_cannot_be_restored(
    store: DiskcacheStore, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _engine(store)
    keeper, slot = engine.keeper, engine.slots[0]
    assert keeper.start_hook(slot) == "on_start"  # nothing saved
    keeper.strategy_states[slot.id] = {"state": "running", "data": {"x": 1}}
    restored: list[dict[str, Any]] = []
    slot.strategy.restore = restored.append  # type: ignore[union-attr,method-assign]
    assert keeper.start_hook(slot) == "on_resume" and restored == [{"x": 1}]

    def broken(state: dict[str, Any]) -> None:
        raise ValueError("schema changed")

    slot.strategy.restore = broken  # type: ignore[union-attr,method-assign]
    with caplog.at_level(logging.ERROR, "avin.state"):
        assert keeper.start_hook(slot) == "on_start"
    assert f"strategy {slot.id} cannot restore its state: schema changed" in caplog.text
    # a strategy object with no restore and no on_resume starts afresh
    slot.strategy = type("Bare", (), {"restore": None})()  # type: ignore[assignment]
    assert keeper.start_hook(slot) == "on_start"


def test_a_journal_that_keeps_failing_trips_the_kill_switch_once(
    store: DiskcacheStore, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _engine(store)
    keeper = engine.keeper
    calls: list[Any] = []

    def failing(item: Any) -> None:
        calls.append(item)
        raise OSError("disk full")

    order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "sim-1")
    with caplog.at_level(logging.CRITICAL):
        keeper._write(failing, order)
        assert engine.trading_state is TradingState.HALTED
        assert engine.halt_reason == "the order journal cannot be written: disk full"
        engine.switch.halt("later reason")
        keeper._write(failing, order)  # said once: the second failure does not kill again
    assert len(calls) == 2 and engine.halt_reason == "later reason"
    assert caplog.text.count("the order journal cannot be written") == 2  # the log + KILL line


def test_a_workspace_is_kept_in_memory_without_a_store_and_a_failed_save_is_logged(
    store: DiskcacheStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _engine().keeper
    plain.save_workspace({"layout": "a"})
    assert plain.workspace() == {"layout": "a"}

    keeper = _engine(store).keeper

    def refuse(*args: Any) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr(keeper_module, "save_workspace", refuse)
    with caplog.at_level(logging.ERROR, "avin.state"):
        keeper.save_workspace({"layout": "b", "version": "x"})
    assert "saving the workspace failed: read-only file system" in caplog.text
    assert keeper.workspace() == {"layout": "b", "version": "x"}  # the session still has it


def test_a_resume_request_is_taken_once_and_an_unreadable_one_is_not_taken(
    store: DiskcacheStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not _engine().keeper.take_rearm()
    keeper = _engine(store).keeper
    assert not keeper.take_rearm()
    store.put(REARM, True)
    assert keeper.take_rearm()
    assert not keeper.take_rearm()  # consumed
    store.put(REARM, True)

    def broken(name: str) -> Any:
        raise OSError("database is locked")

    monkeypatch.setattr(store, "get", broken)
    with caplog.at_level(logging.ERROR, "avin.state"):
        assert not keeper.take_rearm()
    assert "reading the resume request failed: database is locked" in caplog.text


def test_every_compact_every_saves_the_journal_is_compacted(
    store: DiskcacheStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    keeper = _engine(store).keeper
    assert _engine().keeper.compact_now() == 0
    assert keeper.compact_now() == 0  # an empty journal: nothing to archive
    monkeypatch.setattr(keeper_module, "COMPACT_EVERY", 2)
    compacted: list[int] = []
    real = store.compact

    def counting(upto: int) -> int:
        compacted.append(upto)
        return real(upto)

    monkeypatch.setattr(store, "compact", counting)
    keeper.save()
    assert compacted == []
    keeper.save()
    assert compacted == [keeper.journal.last_seq]  # type: ignore[union-attr]
    assert _engine().keeper.save() is None  # no store: nothing to save, no error


def test_a_strategy_that_cannot_persist_keeps_its_last_saved_data(
    store: DiskcacheStore, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _engine(store)
    keeper, slot = engine.keeper, engine.slots[0]
    keeper.strategy_states[slot.id] = {"data": {"count": 3}}

    def broken() -> dict[str, Any]:
        raise TypeError("not serialisable")

    slot.strategy.persist = broken  # type: ignore[union-attr,method-assign]
    with caplog.at_level(logging.ERROR, "avin.state"):
        saved = keeper.capture()["strategies"][slot.id]
    assert saved["data"] == {"count": 3}
    assert f"strategy {slot.id} cannot persist its state: not serialisable" in caplog.text
    slot.strategy = None  # a row that never built saves no data
    assert keeper.capture()["strategies"][slot.id]["data"] == {}


def test_keys_of_lists_the_order_keys_in_order() -> None:
    orders = [Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 1, "a", id=k) for k in "ba"]
    assert keys_of(orders) == ["b", "a"]
