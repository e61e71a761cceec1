"""Snapshot diffs for ``WatchSnapshots(diffs=true)``: what changed between two status objects.

A patch is a JSON object: ``set`` (top-level keys whose value changed, with the new value),
``drop`` (keys gone) and ``rows`` for the tables (strategies, orders, positions...): per table
the rows added or changed (``put``), the ids removed (``del``) and, only when the order is not
the old one with new rows at the end, every id in order (``ids``). :func:`apply` rebuilds the
new object from the old one and the patch; ``apply(old, diff(old, new)) == new`` always.
"""

from __future__ import annotations

from typing import Any

# table: the fields that identify a row
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "strategies": ("id",),
    "orders": ("key",),
    "open_orders": ("key",),
    "positions": ("account", "instrument"),
}


def _row_id(row: Any, fields: tuple[str, ...]) -> str | None:
    if not isinstance(row, dict) or any(not isinstance(row.get(f), str) for f in fields):
        return None
    return "\x1f".join(row[f] for f in fields)


def _ids(rows: Any, fields: tuple[str, ...]) -> list[str] | None:
    """The rows' ids, or None when they are not a table of unique ids (sent whole then)."""
    if not isinstance(rows, list):
        return None
    ids = [_row_id(r, fields) for r in rows]
    if any(i is None for i in ids) or len(set(ids)) != len(ids):
        return None
    return [i for i in ids if i is not None]


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key, _MISSING)
        if before == value:
            continue
        fields = ROW_KEYS.get(key)
        table = _table_diff(before, value, fields) if fields else None
        if table is None:
            changed[key] = value
        else:
            tables[key] = table
    if changed:
        patch["set"] = changed
    if tables:
        patch["rows"] = tables
    dropped = [key for key in old if key not in new]
    if dropped:
        patch["drop"] = dropped
    return patch


def _table_diff(before: Any, after: Any, fields: tuple[str, ...]) -> dict[str, Any] | None:
    old_ids, new_ids = _ids(before, fields), _ids(after, fields)
    if old_ids is None or new_ids is None:
        return None
    old_rows = dict(zip(old_ids, before, strict=True))
    kept = set(new_ids)
    table: dict[str, Any] = {}
    put = [row for i, row in zip(new_ids, after, strict=True) if old_rows.get(i) != row]
    if put:
        table["put"] = put
    gone = [i for i in old_ids if i not in kept]
    if gone:
        table["del"] = gone
    if _merged_order(old_ids, gone, new_ids) != new_ids:
        table["ids"] = new_ids
    return table


def _merged_order(old_ids: list[str], gone: list[str], new_ids: list[str]) -> list[str]:
    """The order :func:`apply` gives without ``ids``: the old order, then the new rows."""
    removed = set(gone)
    order = [i for i in old_ids if i not in removed]
    present = set(order)
    return order + [i for i in new_ids if i not in present]


def apply(old: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The new status object: ``old`` (not changed) with ``patch`` applied; ValueError when the
    patch does not fit ``old`` (the client then asks for a fresh snapshot)."""
    dropped = set(patch.get("drop", ()))
    new = {key: value for key, value in old.items() if key not in dropped}
    new.update(patch.get("set", {}))
    for key, table in patch.get("rows", {}).items():
        fields = ROW_KEYS.get(key)
        old_ids = _ids(old.get(key), fields) if fields else None
        if fields is None or old_ids is None:
            raise ValueError(f"the patch changes rows of {key!r}, which the base has not")
        rows = dict(zip(old_ids, old[key], strict=True))
        put = table.get("put", [])
        for row in put:
            rows[_row_id(row, fields) or ""] = row
        gone = table.get("del", [])
        order = table.get("ids") or _merged_order(
            old_ids, gone, [_row_id(r, fields) or "" for r in put]
        )
        try:
            new[key] = [rows[i] for i in order]
        except KeyError as exc:
            raise ValueError(f"the patch names a row of {key!r} the base has not: {exc}") from None
    return new


_MISSING = object()
