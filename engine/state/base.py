"""The state store protocol and the logic both engines share.

A store keeps, for one robot:

- the *status*: the public snapshot JSON ``avin status`` prints, the running marker
  ``{pid, host, start_ts}``, the latched trading state and the command queue of ``avin kill``;
- the *journal*: an append-only list of events (``intent`` before an order is sent, ``order`` for
  every change of an order, ``fill``, ``external`` for adopted broker orders, ``note``), each with a
  sequence number, durable when :meth:`BaseStore.append` returns;
- *state snapshots*: the full engine state (positions, open orders, strategy states, trading
  state, session) with the journal sequence number they include, checksummed; the
  newest few are kept so that a damaged one falls back to an older one plus the journal;
- small named values (``put``/``get``): the UI workspace (:mod:`engine.state.workspace`).

The status part is :class:`~engine.state.status_store.StatusStore`'s own code working on
``self._cache`` (a diskcache, or :class:`~engine.state.postgres.PgCache` with the same methods), so
``avin status``/``avin kill`` and everything added to the status store work with both engines.

Compaction moves the events of finished orders into an archive table with their sequence numbers:
nothing is deleted, replay after any kept snapshot still sees every event.

Engines implement the primitives (``_append_rows``, ``_select_events``, snapshots,
``_archive``); everything else lives here, so both behave the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.model import OrderStatus
from engine.state.status_store import StatusStore

KEEP_SNAPSHOTS = 3
KINDS = frozenset({"intent", "order", "fill", "external", "resolve", "note", "net"})


class StoreError(RuntimeError):
    """The store cannot be used (cannot connect, cannot write)."""


@dataclass(frozen=True, slots=True)
class JournalEvent:
    seq: int
    ts: str
    kind: str
    key: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    seq: int
    journal_seq: int  # the last journal event this snapshot includes
    saved_ts: str
    data: dict[str, Any]


@dataclass(slots=True)
class Damage:
    """What was found damaged, in words for the user, and whether the state is still usable."""

    problems: list[str] = field(default_factory=list)
    fatal: bool = False  # the journal itself is unusable: nothing may trade on it
    hint: str = ""

    def add(self, problem: str, *, fatal: bool = False, hint: str = "") -> None:
        self.problems.append(problem)
        self.fatal = self.fatal or fatal
        if hint:
            self.hint = hint

    def __bool__(self) -> bool:
        return bool(self.problems)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


Row = tuple[int, str, str, str, str]  # seq, ts, kind, key, data (JSON text)


class BaseStore(StatusStore):
    """A :class:`StatusStore` (the status logic works on ``self._cache``: a diskcache or a
    table with the same interface) plus the journal and the state snapshots."""

    damage: Damage

    def __init__(self) -> None:  # engines set ``path`` and ``_cache``, not StatusStore.__init__
        self.damage = Damage()

    # --- primitives (engines) -------------------------------------------------------------------

    def describe(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _append_rows(self, rows: list[tuple[str, str, str, str]]) -> int:
        """Append (ts, kind, key, data) rows in one durable transaction; the last seq."""
        raise NotImplementedError

    def _select_events(self, after: int, archived: bool, key: str | None) -> list[Row]:
        raise NotImplementedError

    def last_seq(self) -> int:
        raise NotImplementedError

    def _insert_state(self, journal_seq: int, ts: str, text: str, digest: str, keep: int) -> int:
        raise NotImplementedError

    def _select_states(self) -> list[tuple[int, int, str, str, str]]:
        """(seq, journal_seq, ts, text, checksum), newest first."""
        raise NotImplementedError

    def _archive(self, keys: list[str], upto: int) -> int:
        raise NotImplementedError

    # --- named values -------------------------------------------------------------------------

    def put(self, name: str, value: Any) -> None:
        self._cache.set(f"value:{name}", dumps(value))

    def get_text(self, name: str) -> str | None:
        """The stored JSON text of a named value, unparsed (None when there is none)."""
        raw = self._cache.get(f"value:{name}")
        return raw if isinstance(raw, str) else None

    def get(self, name: str) -> Any:
        raw = self._cache.get(f"value:{name}")
        if not isinstance(raw, str):
            return None
        try:
            return json.loads(raw)
        except ValueError:
            self.damage.add(f"the stored value {name!r} is not valid JSON")
            return None

    # --- journal ------------------------------------------------------------------------------

    def append(self, kind: str, key: str, data: dict[str, Any]) -> int:
        """Append one event; durable (as configured) when it returns. Its sequence number."""
        return self.append_many([(kind, key, data)])

    def append_many(self, events: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
        ts = now_iso()
        rows = []
        for kind, key, data in events:
            if kind not in KINDS:
                raise ValueError(f"unknown journal event kind {kind!r}")
            rows.append((ts, kind, key, dumps(data)))
        return self._append_rows(rows) if rows else self.last_seq()

    def events(self, after: int = 0) -> list[JournalEvent]:
        """Every event with ``seq > after`` (archived ones included), in order."""
        rows = self._select_events(after, True, None)
        return self._decode(rows)

    def history(self, key: str | None = None) -> list[JournalEvent]:
        """The full history (journal and archive), of one order key or of everything."""
        return self._decode(self._select_events(0, True, key))

    def _decode(self, rows: list[Row]) -> list[JournalEvent]:
        out: list[JournalEvent] = []
        for seq, ts, kind, key, text in rows:
            try:
                data = json.loads(text)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                self.damage.add(
                    f"journal event {seq} ({kind} {key[:8]}) is unreadable: {exc}", fatal=True
                )
                continue
            out.append(JournalEvent(int(seq), str(ts), str(kind), str(key), data))
        return out

    def compact(self, upto: int) -> int:
        """Archive the events (``seq <= upto``) of orders that are finished; how many moved."""
        latest: dict[str, str] = {}
        for seq, _ts, kind, key, text in self._select_events(0, False, None):
            if seq > upto:
                break
            if kind in ("order", "intent", "external", "resolve"):
                try:
                    status = json.loads(text).get("status", "")
                except (ValueError, AttributeError):
                    status = ""
                latest[key] = status if kind != "resolve" else latest.get(key, "")
        terminal = {s.value for s in OrderStatus if s.is_terminal}
        done = sorted(k for k, status in latest.items() if status in terminal)
        done.append("")  # notes
        return self._archive(done, upto)

    # --- state snapshots ----------------------------------------------------------------------

    def save_state(self, data: dict[str, Any], journal_seq: int) -> int:
        text = dumps(data)
        return self._insert_state(journal_seq, now_iso(), text, checksum(text), KEEP_SNAPSHOTS)

    def load_state(self) -> StateSnapshot | None:
        """The newest snapshot whose checksum and JSON are valid; damaged ones are reported."""
        for seq, journal_seq, ts, text, digest in self._select_states():
            if checksum(text) != digest:
                self.damage.add(f"state snapshot {seq} ({ts}) fails its checksum")
                continue
            try:
                data = json.loads(text)
            except ValueError as exc:
                self.damage.add(f"state snapshot {seq} ({ts}) is not valid JSON: {exc}")
                continue
            return StateSnapshot(int(seq), int(journal_seq), str(ts), data)
        return None
