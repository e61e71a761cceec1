"""Orders, fills and positions as plain JSON-able dicts (the journal and snapshot format).

Decimals are strings, timestamps ISO 8601 UTC, enums their values. ``decode`` functions accept what
``encode`` wrote and raise :class:`ValueError` (or ``KeyError``/``TypeError``) on anything else.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.model import Fill, Order, OrderStatus, OrderType, Position, Side, Trade


def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_ts(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _parse_dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def encode_order(o: Order) -> dict[str, Any]:
    return {
        "id": o.id,
        "instrument": o.instrument,
        "side": o.side.value,
        "type": o.type.value,
        "lots": o.lots,
        "account": o.account,
        "price": _dec(o.price),
        "stop_price": _dec(o.stop_price),
        "strategy": o.strategy,
        "status": o.status.value,
        "filled_lots": o.filled_lots,
        "avg_fill_price": _dec(o.avg_fill_price),
        "commission": str(o.commission),
        "broker_id": o.broker_id,
        "reason": o.reason,
        "created_ts": _ts(o.created_ts),
        "updated_ts": _ts(o.updated_ts),
        "history": [[_ts(ts), st.value] for ts, st in o.history],
        **({"internal": True} if o.internal else {}),
    }


def decode_order(d: dict[str, Any]) -> Order:
    order = Order(
        instrument=str(d["instrument"]),
        side=Side(d["side"]),
        type=OrderType(d["type"]),
        lots=int(d["lots"]),
        account=str(d["account"]),
        price=_parse_dec(d.get("price")),
        stop_price=_parse_dec(d.get("stop_price")),
        strategy=str(d.get("strategy", "")),
        id=str(d["id"]),
        status=OrderStatus(d["status"]),
        filled_lots=int(d.get("filled_lots", 0)),
        avg_fill_price=_parse_dec(d.get("avg_fill_price")),
        commission=Decimal(str(d.get("commission", "0"))),
        broker_id=str(d.get("broker_id", "")),
        reason=str(d.get("reason", "")),
        created_ts=_parse_ts(d.get("created_ts")),
        updated_ts=_parse_ts(d.get("updated_ts")),
        history=[(_parse_ts(ts), OrderStatus(st)) for ts, st in d.get("history", [])],
        internal=bool(d.get("internal", False)),
    )
    if not order.history:
        order.history.append((order.created_ts, order.status))
    return order


def encode_fill(f: Fill) -> dict[str, Any]:
    return {
        "order_id": f.order_id,
        "instrument": f.instrument,
        "side": f.side.value,
        "lots": f.lots,
        "price": str(f.price),
        "commission": str(f.commission),
        "ts": _ts(f.ts),
        "fill_id": f.fill_id,
        "account": f.account,
    }


def decode_fill(d: dict[str, Any]) -> Fill:
    ts = _parse_ts(d["ts"])
    if ts is None:
        raise ValueError("a fill without a timestamp")
    return Fill(
        order_id=str(d["order_id"]),
        instrument=str(d["instrument"]),
        side=Side(d["side"]),
        lots=int(d["lots"]),
        price=Decimal(str(d["price"])),
        commission=Decimal(str(d["commission"])),
        ts=ts,
        fill_id=str(d["fill_id"]),
        account=str(d.get("account", "")),
    )


def encode_position(p: Position) -> dict[str, Any]:
    """The position without its trade list (the journal's fills are the trade history)."""
    return {
        "instrument": p.instrument,
        "lot_size": p.lot_size,
        "lots": p.lots,
        "avg_price": str(p.avg_price),
        "realized": str(p.realized),
        "commission": str(p.commission),
        "last_price": _dec(p.last_price),
        "account": p.account,
        "open_trade": None if p.open_trade is None else _encode_trade(p.open_trade),
    }


def _encode_trade(t: Trade) -> dict[str, Any]:
    return {
        "instrument": t.instrument,
        "side": t.side.value,
        "entry_ts": _ts(t.entry_ts),
        "entry_price": str(t.entry_price),
        "lots": t.lots,
        "buy_value": str(t.buy_value),
        "sell_value": str(t.sell_value),
        "commission": str(t.commission),
        "strategy": t.strategy,
        "entered": t._entered_lots,
        "exited": t._exited_lots,
        "exit_value": str(t._exit_value),
    }


def _decode_trade(d: dict[str, Any]) -> Trade:
    entry = _parse_ts(d["entry_ts"])
    if entry is None:
        raise ValueError("a trade without an entry time")
    return Trade(
        instrument=str(d["instrument"]),
        side=Side(d["side"]),
        entry_ts=entry,
        entry_price=Decimal(str(d["entry_price"])),
        lots=int(d["lots"]),
        buy_value=Decimal(str(d["buy_value"])),
        sell_value=Decimal(str(d["sell_value"])),
        commission=Decimal(str(d["commission"])),
        strategy=str(d.get("strategy", "")),
        _entered_lots=int(d.get("entered", 0)),
        _exited_lots=int(d.get("exited", 0)),
        _exit_value=Decimal(str(d.get("exit_value", "0"))),
    )


def decode_position(d: dict[str, Any]) -> Position:
    return Position(
        instrument=str(d["instrument"]),
        lot_size=int(d.get("lot_size", 1)),
        lots=int(d["lots"]),
        avg_price=Decimal(str(d["avg_price"])),
        realized=Decimal(str(d["realized"])),
        commission=Decimal(str(d["commission"])),
        last_price=_parse_dec(d.get("last_price")),
        account=str(d.get("account", "")),
        trades=[] if not d.get("open_trade") else [_decode_trade(d["open_trade"])],
    )
