"""The same suite for both engines (diskcache and PostgreSQL): status, journal, snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from engine.model import Fill, Order, OrderStatus, OrderType, Position, Side
from engine.model.snapshot import TradingState
from engine.state.base import BaseStore
from engine.state.codec import (
    decode_fill,
    decode_order,
    decode_position,
    encode_fill,
    encode_order,
    encode_position,
)
from engine.state.journal import OrderJournal

from .conftest import corrupt_latest_state

TS = datetime(2024, 3, 4, 7, 0, tzinfo=UTC)


def order(status: OrderStatus = OrderStatus.NEW) -> Order:
    o = Order("MOEX_SHARE_SBER", Side.BUY, OrderType.LIMIT, 2, "sim-1", price=Decimal("250.5"))
    o.status = status
    return o


def test_codec_round_trips() -> None:
    o = order()
    o.transition(OrderStatus.SUBMITTED, TS)
    assert decode_order(encode_order(o)) == o
    f = Fill(o.id, o.instrument, Side.BUY, 1, Decimal("250.5"), Decimal("0.12"), TS, account="a")
    assert decode_fill(encode_fill(f)) == f
    p = Position("MOEX_SHARE_SBER", lot_size=10, account="a")
    p.apply_fill(f)
    back = decode_position(encode_position(p))
    assert (back.lots, back.avg_price, back.commission) == (p.lots, p.avg_price, p.commission)
    back.apply_fill(Fill(o.id, o.instrument, Side.SELL, 1, Decimal("260"), Decimal(0), TS))
    assert back.lots == 0 and back.realized == Decimal("95.0")


def test_status_marker_latch_and_commands(store: BaseStore) -> None:
    start = store.begin_run()
    assert not start.recovered and store.marker() is not None
    store.save_snapshot({"mode": "sim", "pid": os.getpid()})
    status = store.status()
    assert status is not None and status["running"] is True
    store.save_trading_state(TradingState.HALTED, "test")
    assert store.trading_state() == (TradingState.HALTED, "test")
    store.request_command("kill", "why")
    assert store.take_command() == ("kill", "why") and store.take_command() is None
    store.end_run()
    assert store.marker() is None and store.load_snapshot()["running"] is False  # type: ignore[index]


def test_a_dead_marker_is_a_crash(store_factory: Callable[[], BaseStore]) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    store = store_factory()
    store.begin_run(pid=proc.pid)
    assert store.begin_run().recovered is True


def test_journal_append_is_ordered_and_survives_reopen(
    store_factory: Callable[[], BaseStore],
) -> None:
    store = store_factory()
    journal = OrderJournal(store)
    o = order()
    journal.record(o.id, o)
    journal.record(o.id, o)  # once per key
    assert [k for k, _ in journal.unresolved()] == [o.id]
    o.transition(OrderStatus.SUBMITTED, TS)
    o.transition(OrderStatus.ACCEPTED, TS)
    journal.order(o)
    assert journal.unresolved() == []
    journal.fill(Fill(o.id, o.instrument, Side.BUY, 1, Decimal(250), Decimal(0), TS, "f1"))
    store.close()
    again = store_factory()
    events = again.events()
    assert [e.kind for e in events] == ["intent", "order", "fill"]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert again.last_seq() == events[-1].seq
    assert again.events(after=events[0].seq)[0].kind == "order"
    assert decode_order(events[1].data).status is OrderStatus.ACCEPTED


def test_compaction_archives_finished_orders_and_keeps_history(store: BaseStore) -> None:
    done, working = order(), order()
    store.append("intent", done.id, encode_order(done))
    store.append("intent", working.id, encode_order(working))
    done.status = OrderStatus.FILLED
    store.append("order", done.id, encode_order(done))
    store.append("note", "", {"what": "x"})
    before = store.history()
    upto = store.last_seq()
    assert store.compact(upto) == 3  # the finished order's two events and the note
    assert store.history() == before  # nothing lost
    assert [e.key for e in store._decode(store._select_events(0, False, None))] == [working.id]
    assert [e.kind for e in store.history(done.id)] == ["intent", "order"]
    assert store.events(after=0) == before  # replay still sees archived events
    seq = store.append("note", "", {"after": True})
    assert seq > upto  # sequence numbers are never reused


def test_state_snapshots_checksummed_with_fallback(store: BaseStore) -> None:
    store.save_state({"n": 1}, 10)
    store.save_state({"n": 2}, 20)
    snap = store.load_state()
    assert snap is not None and snap.data == {"n": 2} and snap.journal_seq == 20
    corrupt_latest_state(store)
    snap = store.load_state()
    assert snap is not None and snap.data == {"n": 1} and snap.journal_seq == 10
    assert store.damage and "checksum" in store.damage.problems[0] and not store.damage.fatal
    for n in range(3, 8):
        store.save_state({"n": n}, n)
    assert len(store._select_states()) == 3  # only the newest few are kept


def test_named_values(store: BaseStore) -> None:
    assert store.get("workspace") is None
    store.put("workspace", {"panes": ["chart", "orders"], "sizes": [3, 1]})
    assert store.get("workspace") == {"panes": ["chart", "orders"], "sizes": [3, 1]}
