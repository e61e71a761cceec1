"""The worklist's less travelled paths: unreadable saved rows, refusals with their reasons, the
broker that cannot be asked, and rows started, stopped and closed at the edges."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.broker.sim import SimBroker
from engine.model.snapshot import StrategyState
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import (
    StrategySpec,
    _fingerprint,
    duplicate_problems,
    initial_worklist,
    instrument_key,
    spec_problems,
    unique_id,
    worklist_from_rows,
)
from engine.state.status_store import StatusStore
from tests.runtime.simkit import START, Driver

OPTIONS = EngineOptions(history_days=1)
SMA = StrategySpec("sma_cross", "SBER", params={"fast": 5, "slow": 20, "lots": 1})
GAZP = StrategySpec("sma_cross", "GAZP", params={"fast": 5, "slow": 20, "lots": 1})


class _SavedOnly:
    """A status store that holds one saved worklist (and can refuse to save)."""

    def __init__(self, saved: dict[str, Any] | None, fail_save: bool = False) -> None:
        self.saved = saved
        self.fail_save = fail_save

    def load_worklist(self) -> dict[str, Any] | None:
        return self.saved

    def save_worklist(self, data: dict[str, Any]) -> None:
        if self.fail_save:
            raise OSError("disk full")
        self.saved = data


def _engine(specs: list[StrategySpec], store: Any = None) -> Engine:
    return Engine(SimBroker(seed=7, start=START, realtime=False), specs, OPTIONS, store=store)


# --- offline --------------------------------------------------------------------------------------


def test_an_unreadable_saved_worklist_falls_back_to_the_configuration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configured = worklist_from_rows([])
    store = _SavedOnly({"config": _fingerprint(configured), "rows": [{"instrument": "SBER"}]})
    with caplog.at_level(logging.ERROR, "avin.worklist"):
        assert initial_worklist([], store) == configured  # type: ignore[arg-type]
    assert "the saved worklist is unreadable" in caplog.text
    # the same saved rows, readable, win over the configuration
    store.saved = {"config": _fingerprint(configured), "rows": [GAZP.to_json()]}
    assert initial_worklist([], store) == [GAZP]  # type: ignore[arg-type]


def test_an_instrument_key_that_is_no_code_stays_as_it_is_upper_cased() -> None:
    assert instrument_key("sber") == instrument_key("MOEX_SHARE_SBER") == "MOEX_SHARE_SBER"
    assert instrument_key(" bbg_004730n88 ") == "BBG_004730N88"  # two parts: not a code
    assert instrument_key("a__b") == "A__B"


def test_each_missing_field_and_a_non_positive_budget_is_named() -> None:
    problems = spec_problems(StrategySpec("sma_cross", " ", account="", budget=Decimal("0")))
    assert problems == [
        "instrument: required (a ticker like SBER or a code like MOEX_SHARE_SBER)",
        "account: required (e.g. sim-1)",
        "budget: an amount must be a positive number of RUB (or empty for none)",
    ]
    assert spec_problems(StrategySpec("sma_cross", "SBER", budget=Decimal("1"))) == []


def test_rows_that_do_not_build_compare_by_what_they_say() -> None:
    bad = StrategySpec("no_such", "SBER", params={"x": 1})
    errors, warnings = duplicate_problems(bad, [("a", bad, "")])
    assert errors and "duplicate" in errors[0] and not warnings
    other = StrategySpec("no_such", "SBER", params={"x": 2})
    errors, warnings = duplicate_problems(other, [("a", bad, "")])
    assert not errors and warnings and '{"x": 1}' in warnings[0]


def test_unique_id_counts_past_every_taken_suffix() -> None:
    assert unique_id("a", ["b"]) == "a"
    assert unique_id("a", ["a", "a#2", "a#3"]) == "a#4"


def test_saved_states_come_back_only_for_the_same_rows() -> None:
    rows = [SMA]
    saved = {
        "config": "cfg-1",
        "rows": [SMA.to_json()],
        "states": {"sma_cross:SBER:sim-1": "paused"},
    }
    engine = _engine(rows, _SavedOnly(saved))
    assert engine.slots[0].state is StrategyState.PAUSED
    assert engine.worklist.config_fingerprint == "cfg-1"
    # other saved rows (the configuration won): the states stay as configured
    other = dict(saved, rows=[GAZP.to_json()])
    engine = _engine(rows, _SavedOnly(other))
    assert engine.slots[0].state is not StrategyState.PAUSED
    assert engine.worklist.config_fingerprint == _fingerprint(rows)
    # unreadable saved rows: ignored as well
    broken = dict(saved, rows=[{"name": "sma_cross"}])
    engine = _engine(rows, _SavedOnly(broken))
    assert engine.slots[0].state is not StrategyState.PAUSED


def test_a_failed_save_is_logged_and_the_engine_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    store = _SavedOnly(None, fail_save=True)
    engine = _engine([SMA], store)
    with caplog.at_level(logging.ERROR, "avin.worklist"):
        engine.worklist.persist()
    assert "saving the worklist failed: disk full" in caplog.text
    store.fail_save = False
    engine.worklist.persist()
    assert store.saved is not None and store.saved["states"] == {"sma_cross:SBER:sim-1": "running"}


def test_a_stopped_engine_adds_a_row_without_asking_the_broker(tmp_path: Path) -> None:
    with StatusStore(tmp_path) as store:
        engine = _engine([SMA], store)
        # the broker cannot be asked: an unknown ticker is resolved (and refused) on start
        sid = engine.add_strategy(StrategySpec("sma_cross", "XXXXSBER"))
        assert sid == "sma_cross:XXXXSBER:sim-1"
        assert engine.strategy(sid).state is StrategyState.RUNNING  # type: ignore[union-attr]
        assert [r["instrument"] for r in store.load_worklist()["rows"]] == ["SBER", "XXXXSBER"]


def test_close_position_refuses_on_a_stopped_engine() -> None:
    from engine.model import Fill, Order, OrderType, Side

    engine = _engine([SMA])
    sid = engine.slots[0].id
    order = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.MARKET, 2, account="sim-1", strategy=sid)
    engine.book.record(order)
    engine.book.mark_submitted(order.id, START)
    engine.book.apply_fill(
        Fill(
            order.id,
            "MOEX_SHARE_SBER",
            Side.BUY,
            2,
            Decimal("100"),
            Decimal(0),
            START,
            "f1",
            "sim-1",
        )
    )
    assert engine.book.strategy_positions[sid].lots == 2
    with pytest.raises(ValueError, match="the engine is not running"):
        engine.close_strategy_position(sid)
    with pytest.raises(ValueError, match=r"holds \+2 lot\(s\): close the position"):
        engine.remove_strategy(sid)
    with pytest.raises(KeyError, match="no strategy 'nope'"):
        engine.remove_strategy("nope")


# --- on a running engine --------------------------------------------------------------------------


async def test_on_the_engine_thread_a_broker_without_lookup_is_not_asked() -> None:
    async with Driver([SMA], OPTIONS) as d:
        # the SimBroker answers at once on the loop thread: an unknown ticker is refused
        assert not d.engine.check_strategy(StrategySpec("sma_cross", "XXXXSBER")).ok
        # a broker that cannot answer at once (no InstantLookup) is not asked: the row is
        # resolved on start
        d.engine.worklist.broker = WithoutLookup(d.broker)  # type: ignore[assignment]
        try:
            checked = d.engine.check_strategy(StrategySpec("sma_cross", "XXXXSBER"))
        finally:
            d.engine.worklist.broker = d.broker
        assert checked.ok and checked.spec.account == "sim-1"


class WithoutLookup:
    """The simulated broker without its synchronous ``lookup`` (like T-Invest)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "lookup":
            raise AttributeError(name)
        return getattr(self._inner, name)


async def test_on_the_engine_thread_a_broker_lookup_answers_at_once() -> None:
    from engine.broker.base import UnknownInstrument

    async with Driver([SMA], OPTIONS) as d:
        known = {i.ticker: i for i in await d.broker.instruments()}

        def lookup(text: str) -> Any:
            if text == "BROKEN":
                raise RuntimeError("socket closed")
            if text not in known:
                raise UnknownInstrument(text)
            return known[text]

        d.broker.lookup = lookup  # type: ignore[attr-defined]
        bad = d.engine.check_strategy(StrategySpec("sma_cross", "XXXXSBER"))
        assert bad.errors == (
            "instrument 'XXXXSBER' is not known to the broker: "
            + str(UnknownInstrument("XXXXSBER")),
        )
        broken = d.engine.check_strategy(StrategySpec("sma_cross", "BROKEN"))
        assert broken.errors == ("cannot look up instrument 'BROKEN' at the broker: socket closed",)
        # found by its ticker, it is the same row as the configured one
        dup = d.engine.check_strategy(GAZP)
        assert dup.ok
        dup = d.engine.check_strategy(StrategySpec("sma_cross", "SBER", params=SMA.params))
        assert dup.errors and "duplicate" in dup.errors[0]


async def test_from_another_thread_a_broker_that_fails_or_hangs_is_reported() -> None:
    async with Driver([SMA], OPTIONS) as d:
        broker = d.broker
        real_accounts = broker.accounts
        release = asyncio.Event()

        async def no_accounts() -> Any:
            raise ConnectionError("accounts down")

        broker.accounts = no_accounts  # type: ignore[method-assign]
        checked = await asyncio.to_thread(d.engine.check_strategy, GAZP)
        assert checked.errors == ("cannot list the broker's accounts: accounts down",)

        async def hanging() -> Any:
            await release.wait()
            return await real_accounts()

        broker.accounts = hanging  # type: ignore[method-assign]
        worklist = d.engine.worklist
        checked = await asyncio.to_thread(worklist.check, GAZP, timeout=0.05)
        assert checked.errors == ("the broker did not answer within 0 s: try again",)
        release.set()

        async def raising(spec: StrategySpec) -> Any:
            raise RuntimeError("no facts")

        worklist._broker_facts = raising  # type: ignore[method-assign,assignment]
        checked = await asyncio.to_thread(worklist.check, GAZP)
        assert checked.errors == ("cannot check the row at the broker: no facts",)


async def test_a_default_account_becomes_the_brokers_first_account() -> None:
    async with Driver([SMA], OPTIONS) as d:
        first = (await d.broker.accounts())[0].id
        broker = d.broker
        real = broker.accounts

        async def renamed() -> Any:
            import dataclasses

            return [dataclasses.replace(a, id="real-7") for a in await real()]

        broker.accounts = renamed  # type: ignore[method-assign]
        checked = await asyncio.to_thread(d.engine.check_strategy, GAZP)
        assert first == "sim-1" and checked.ok and checked.spec.account == "real-7"


async def test_start_says_why_a_row_cannot_start_and_ignores_a_running_one() -> None:
    similar = StrategySpec("sma_cross", "SBER", account="sim-1", params={"fast": 3, "lots": 1})
    async with Driver([SMA, similar], OPTIONS) as d:
        first, second = (s.id for s in d.engine.slots)
        d.engine.start_strategy(first)  # running: nothing to do
        assert d.engine.strategy(first).state is StrategyState.RUNNING  # type: ignore[union-attr]
        d.engine.stop_strategy(second)
        await d.settle()
        # the stopped row now says the same as the running one: starting it would double it
        slot = d.engine.strategy(second)
        assert slot is not None
        slot.spec = SMA
        with pytest.raises(ValueError, match=f"cannot start {second}: duplicate"):
            d.engine.start_strategy(second)
        slot.spec = StrategySpec("sma_cross", "SBER", params={"fast": 50, "slow": 20})
        with pytest.raises(ValueError, match=f"cannot start {second}: .*shorter"):
            d.engine.start_strategy(second)
        assert slot.state is StrategyState.STOPPED


async def test_close_position_of_a_paused_row_keeps_it_paused_and_a_flat_row_is_left() -> None:
    plan = {"plan": {"1": 1}}
    rows = [StrategySpec("test_script", "SBER", params=plan)]
    async with Driver(rows, OPTIONS) as d:
        await d.minutes(2)
        sid = rows[0].name + ":SBER:sim-1"
        assert d.engine.book.strategy_positions[sid].lots == 1
        d.engine.pause_strategy(sid)
        worklist = d.engine.worklist
        slot = d.engine.strategy(sid)
        assert slot is not None
        assert d.engine.close_strategy_position(sid) == 1
        assert slot.state is StrategyState.PAUSED
        for _ in range(20):
            await d.minutes(1)
            if d.engine.book.strategy_positions[sid].lots == 0:
                break
        assert d.engine.book.strategy_positions[sid].lots == 0
        sent = len(d.engine.book.orders)
        await worklist._close(slot)  # flat already: nothing more is sent
        assert len(d.engine.book.orders) == sent


async def test_a_row_whose_instrument_does_not_resolve_is_not_started() -> None:
    async with Driver([SMA], OPTIONS) as d:
        sid = d.engine.add_strategy(StrategySpec("sma_cross", "GAZP", params=SMA.params))
        await d.settle()
        slot = d.engine.strategy(sid)
        assert slot is not None and slot.started and slot.instrument is not None
        d.engine.stop_strategy(sid)
        await d.settle()
        # a row stopped before its activation finishes does not get on_start
        slot.started = False
        await d.engine.worklist._activate(slot)
        assert slot.state is StrategyState.STOPPED and not slot.started


def test_on_a_stopped_engine_a_row_stops_once_and_starts_again() -> None:
    engine = _engine([SMA])
    sid = engine.slots[0].id
    engine.stop_strategy(sid)
    engine.stop_strategy(sid)  # stopped already: nothing to cancel again
    assert engine.strategy(sid).state is StrategyState.STOPPED  # type: ignore[union-attr]
    engine.start_strategy(sid)
    slot = engine.strategy(sid)
    assert slot is not None and slot.state is StrategyState.RUNNING and not slot.started


async def test_a_row_whose_instrument_is_unknown_fails_on_activation() -> None:
    from engine.runtime.slots import StrategySlot
    from engine.strategy.registry import build

    async with Driver([SMA], OPTIONS) as d:
        slot = StrategySlot("ghost", StrategySpec("sma_cross", "XXXXSBER"))
        slot.strategy = build("sma_cross", {}, "1M")
        await d.engine.worklist._activate(slot)
        assert slot.state is StrategyState.FAILED and not slot.started
        assert slot.error.startswith("unknown instrument 'XXXXSBER'")
        # a row that never started is stopped without its on_stop
        d.engine.worklist._stopped(slot, [], StrategyState.RUNNING)
        assert slot.state is StrategyState.FAILED
