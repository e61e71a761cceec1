"""The snapshot's ``budgets`` (the account view) go through ``avin status --json`` and back
(the control API, ``avin attach``) unchanged; an older robot's JSON without them reads as none."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from engine.model import Mode
from engine.model.snapshot import BudgetRow, EngineSnapshot, TradingState

ROWS = (
    BudgetRow(
        "sma_cross:SBER:sim-1",
        "sim-1",
        "SBER",
        "10%",
        Decimal("99474.80"),
        Decimal("9365.40"),
        Decimal("90109.40"),
        Decimal("994748.04"),
        "2026-12-10",
        Decimal("0.94"),
    ),
    BudgetRow("sma_cross:GAZP:sim-1", "sim-1", "GAZP", "", None, Decimal(0), None, None),
)
BASE = EngineSnapshot(
    version=3,
    mode=Mode.SIM,
    trading_state=TradingState.ACTIVE,
    running=True,
    connected=True,
    pid=1,
    recovered=False,
    heartbeat_ts=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
    market_ts=None,
    last_event_ts=None,
)


def test_budget_rows_go_through_the_status_json_and_back() -> None:
    snap = replace(BASE, budgets=ROWS)
    data = json.loads(json.dumps(snap.to_json()))
    assert data["budgets"][0]["limit"] == "99474.80" and data["budgets"][1]["limit"] is None
    assert EngineSnapshot.from_json(data).budgets == ROWS


def test_a_status_without_budgets_reads_as_none() -> None:
    data = BASE.to_json()
    del data["budgets"]
    assert EngineSnapshot.from_json(data).budgets == ()
