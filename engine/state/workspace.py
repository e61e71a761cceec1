"""The UI's workspace: one versioned record in the state store (diskcache or PostgreSQL).

The front end (the TUI) owns what the workspace holds and the version of that layout; the store
keeps it as one named value, in an envelope that says what it is::

    {"kind": "avin.workspace", "version": <the front end's layout version>,
     "saved_ts": "<UTC ISO time>", "data": {...}}

:func:`read_workspace` never raises for a bad record: a value that is not an envelope of this
kind (foreign), not JSON (damaged) or of an unknown version comes back as ``data=None`` with the
reason in words, so that the front end can fall back to its defaults and say so once. It reads
the raw text itself, so a damaged workspace is not reported as damage of the trading state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

KEY = "workspace"
KIND = "avin.workspace"


class ValueStore(Protocol):
    """What the workspace needs of a store (:class:`~engine.state.BaseStore` has it)."""

    def put(self, name: str, value: Any) -> None: ...
    def get_text(self, name: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class LoadedWorkspace:
    """What was read: the layout and its version, or why there is none.

    ``data is None`` and ``problem is None``: nothing was ever saved (no notice is due).
    """

    data: dict[str, Any] | None
    version: int | None = None
    saved_ts: str | None = None
    problem: str | None = None


def envelope(data: dict[str, Any], version: int, saved_ts: str) -> dict[str, Any]:
    return {"kind": KIND, "version": int(version), "saved_ts": saved_ts, "data": dict(data)}


def save_workspace(store: ValueStore, data: dict[str, Any], version: int) -> None:
    """Write the record (one value: a reader sees the old record or the new one, never half)."""
    from engine.state.base import now_iso

    if not isinstance(data, dict):
        raise TypeError("the workspace is a dict")
    store.put(KEY, envelope(data, version, now_iso()))


def parse_workspace(text: str | None, versions: tuple[int, ...] | None = None) -> LoadedWorkspace:
    """The record in ``text``; ``versions`` are the layout versions the caller can read (None:
    any)."""
    if text is None:
        return LoadedWorkspace(None)
    try:
        raw = json.loads(text)
    except ValueError as exc:
        return LoadedWorkspace(None, problem=f"the saved workspace is damaged (not JSON: {exc})")
    except RecursionError:  # json's decoder recurses per nesting level
        return LoadedWorkspace(None, problem="the saved workspace is damaged (nested too deep)")
    if raw is None:
        return LoadedWorkspace(None)
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        return LoadedWorkspace(None, problem="the saved workspace is not avin's (foreign record)")
    version, data = raw.get("version"), raw.get("data")
    if not isinstance(data, dict):
        return LoadedWorkspace(None, problem="the saved workspace is damaged (no data)")
    if not isinstance(version, int) or (versions is not None and version not in versions):
        return LoadedWorkspace(
            None,
            version if isinstance(version, int) else None,
            problem=f"the saved workspace has layout version {version!r}; this avin reads "
            f"{', '.join(map(str, versions or ()))}",
        )
    saved = raw.get("saved_ts")
    return LoadedWorkspace(data, version, saved if isinstance(saved, str) else None)


def read_workspace(store: ValueStore, versions: tuple[int, ...] | None = None) -> LoadedWorkspace:
    """The saved record, or why it cannot be used (a store that fails to read is a problem)."""
    try:
        text = store.get_text(KEY)
    except Exception as exc:
        return LoadedWorkspace(None, problem=f"the saved workspace cannot be read: {exc}")
    return parse_workspace(text, versions)
