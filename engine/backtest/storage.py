"""Saved backtests: ``<data home>/backtests/<id>/`` with ``report.json``, ``trades.parquet``,
``equity.parquet`` and ``orders.parquet``. Money in JSON is a string (an exact Decimal)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from engine.backtest.report import Report
from engine.paths import homes


def backtests_home() -> Path:
    return homes().data / "backtests"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def new_id(strategy: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")
    slug = re.sub(r"[^a-z0-9]+", "-", strategy.lower()).strip("-") or "strategy"
    return f"{stamp}-{slug}"


def save_report(report: Report, home: Path | None = None, run_id: str | None = None) -> Path:
    base = home if home is not None else backtests_home()
    run_id = run_id or new_id(report.strategy)
    folder = base / run_id
    folder.mkdir(parents=True, exist_ok=False)
    doc = {
        "id": run_id,
        "created": datetime.now(UTC).isoformat(),
        "strategy": report.strategy,
        "params": report.params,
        "meta": report.meta,
        "sections": [
            {"name": s.name, "summary": s.summary, "metrics": s.metrics} for s in report.sections
        ],
    }
    report.trades.write_parquet(folder / "trades.parquet")
    report.equity_frame().write_parquet(folder / "equity.parquet")
    if report.orders.height:
        report.orders.write_parquet(folder / "orders.parquet")
    (folder / "report.json").write_text(json.dumps(_jsonable(doc), indent=2, default=str))
    return folder


@dataclass(frozen=True, slots=True)
class SavedBacktest:
    id: str
    folder: Path
    doc: dict[str, Any]

    @property
    def strategy(self) -> str:
        return str(self.doc.get("strategy", "?"))

    def section(self, name: str = "TOTAL") -> dict[str, Any]:
        for s in self.doc.get("sections", []):
            if s.get("name") == name:
                return dict(s)
        return {}

    def equity(self, name: str = "TOTAL") -> pl.DataFrame:
        path = self.folder / "equity.parquet"
        if not path.exists():
            return pl.DataFrame()
        return pl.read_parquet(path).filter(pl.col("instrument") == name)

    def trades(self) -> pl.DataFrame:
        path = self.folder / "trades.parquet"
        return pl.read_parquet(path) if path.exists() else pl.DataFrame()


def list_backtests(home: Path | None = None) -> list[SavedBacktest]:
    """Saved backtests, newest first (unreadable folders are skipped)."""
    base = home if home is not None else backtests_home()
    if not base.is_dir():
        return []
    out: list[SavedBacktest] = []
    for folder in sorted(base.iterdir(), reverse=True):
        path = folder / "report.json"
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        out.append(SavedBacktest(folder.name, folder, doc))
    return out
