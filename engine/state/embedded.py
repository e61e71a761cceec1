"""The embedded engine (the default): diskcache for the status, an SQLite file for the journal.

Layout in the state home: ``status/`` is the diskcache directory ``avin status`` and ``avin kill``
read (the same keys as :class:`~engine.state.status_store.StatusStore`); ``journal.sqlite``
holds the journal, its archive and the state snapshots, in WAL mode.

Durability (``sync``): ``"normal"`` (SQLite ``synchronous=NORMAL`` in WAL mode) makes an
acknowledged write survive a crash or SIGKILL of avin; ``"full"`` (``synchronous=FULL``, an fsync
per commit) also survives power loss and an OS crash. A damaged file is detected when the store
opens: it is moved aside (``*.damaged-<time>``), what can still be read is copied into a fresh
file, and :attr:`damage` says what happened (recovery then starts trading HALTED).
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import diskcache

from engine.state.base import BaseStore, Row

Sync = Literal["normal", "full"]
_SYNC = {"normal": 1, "full": 2}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, kind TEXT NOT NULL,
    key TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_key ON journal(key);
CREATE TABLE IF NOT EXISTS archive (
    seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, kind TEXT NOT NULL,
    key TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS archive_key ON archive(key);
CREATE TABLE IF NOT EXISTS states (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, journal_seq INTEGER NOT NULL, ts TEXT NOT NULL,
    data TEXT NOT NULL, checksum TEXT NOT NULL);
"""
_RECOVER_HINT = (
    "the damaged file was kept next to the new one; check the positions at the broker, then "
    "`avin resume` to trade again (or stop avin and put a backup of the state home in place)"
)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


def _move_aside(path: Path) -> Path:
    target = path.with_name(f"{path.name}.damaged-{_stamp()}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            shutil.move(str(src), str(target) + suffix)
    return target


class DiskcacheStore(BaseStore):
    def __init__(self, state_dir: Path, *, sync: Sync = "normal") -> None:
        super().__init__()
        state_dir.mkdir(parents=True, exist_ok=True)
        self.sync = sync
        self.path = state_dir / "status"
        self.journal_path = state_dir / "journal.sqlite"
        self._lock = threading.RLock()
        self._cache = self._open_cache()
        self._db = self._open_journal()

    def describe(self) -> str:
        return f"diskcache store in {self.path.parent} (sync {self.sync})"

    # --- opening, damage ------------------------------------------------------------------------

    def _open_cache(self) -> diskcache.Cache:
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            cache = diskcache.Cache(str(self.path), timeout=5, sqlite_synchronous=_SYNC[self.sync])
            cache.get("marker")
            return cache
        except sqlite3.DatabaseError as exc:
            moved = _move_aside(self.path)
            self.damage.add(
                f"the status store {self.path} is damaged ({exc}); moved to {moved.name}: "
                "the running marker and the latched trading state are lost",
                fatal=True,
                hint=_RECOVER_HINT,
            )
            self.path.mkdir(parents=True, exist_ok=True)
            return diskcache.Cache(str(self.path), timeout=5, sqlite_synchronous=_SYNC[self.sync])

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.journal_path), timeout=10, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={_SYNC[self.sync]}")
        return db

    def _open_journal(self) -> sqlite3.Connection:
        existed = self.journal_path.exists() and self.journal_path.stat().st_size > 0
        try:
            db = self._connect()
            if existed:
                rows = db.execute("PRAGMA quick_check").fetchall()
                problems = [str(r[0]) for r in rows if r and r[0] != "ok"]
                if problems:
                    raise sqlite3.DatabaseError("; ".join(problems[:3]))
            db.executescript(_SCHEMA)
            return db
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                db.close()
            return self._replace_damaged(exc)

    def _replace_damaged(self, error: Exception) -> sqlite3.Connection:
        states, events = _salvage(self.journal_path)
        moved = _move_aside(self.journal_path)
        db = self._connect()
        db.executescript(_SCHEMA)
        with db:
            db.executemany("INSERT INTO journal VALUES (?,?,?,?,?)", events)
            db.executemany("INSERT INTO states VALUES (?,?,?,?,?)", states)
        self.damage.add(
            f"the journal {self.journal_path} is damaged ({error}); moved to {moved.name}; "
            f"salvaged {len(states)} snapshot(s) and {len(events)} event(s), but events after "
            "the damage may be missing",
            fatal=True,
            hint=_RECOVER_HINT,
        )
        return db

    def close(self) -> None:
        with self._lock:
            self._cache.close()
            with contextlib.suppress(sqlite3.Error):
                self._db.close()

    # --- journal --------------------------------------------------------------------------------

    def _append_rows(self, rows: list[tuple[str, str, str, str]]) -> int:
        with self._lock:
            cur = self._db.cursor()
            seq: int | None = None
            for row in rows:
                cur.execute("INSERT INTO journal (ts, kind, key, data) VALUES (?,?,?,?)", row)
                seq = cur.lastrowid
            self._db.commit()
        if seq is None:
            raise sqlite3.DatabaseError("no sequence number after an append")
        return int(seq)

    def _select_events(self, after: int, archived: bool, key: str | None) -> list[Row]:
        where = "seq > ?" + (" AND key = ?" if key is not None else "")
        args: tuple[Any, ...] = (after, key) if key is not None else (after,)
        sql = f"SELECT seq, ts, kind, key, data FROM journal WHERE {where}"
        if archived:
            sql += f" UNION ALL SELECT seq, ts, kind, key, data FROM archive WHERE {where}"
            args = args + args
        with self._lock:
            return list(self._db.execute(sql + " ORDER BY seq", args).fetchall())

    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT max(m) FROM (SELECT max(seq) AS m FROM journal "
                "UNION ALL SELECT max(seq) FROM archive)"
            ).fetchone()
        return int(row[0] or 0) if row else 0

    def _archive(self, keys: list[str], upto: int) -> int:
        moved = 0
        with self._lock, self._db:
            for key in keys:
                self._db.execute(
                    "INSERT INTO archive SELECT * FROM journal WHERE key = ? AND seq <= ?",
                    (key, upto),
                )
                cur = self._db.execute(
                    "DELETE FROM journal WHERE key = ? AND seq <= ?", (key, upto)
                )
                moved += cur.rowcount
        return moved

    # --- snapshots ------------------------------------------------------------------------------

    def _insert_state(self, journal_seq: int, ts: str, text: str, digest: str, keep: int) -> int:
        with self._lock, self._db:
            cur = self._db.execute(
                "INSERT INTO states (journal_seq, ts, data, checksum) VALUES (?,?,?,?)",
                (journal_seq, ts, text, digest),
            )
            seq = int(cur.lastrowid or 0)
            self._db.execute("DELETE FROM states WHERE seq <= ?", (seq - keep,))
        return seq

    def _select_states(self) -> list[tuple[int, int, str, str, str]]:
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT seq, journal_seq, ts, data, checksum FROM states ORDER BY seq DESC"
                ).fetchall()
            )


def _salvage(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Whatever rows of a damaged journal can still be read (both lists may be empty)."""
    states: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return states, events
    try:
        for table, out in (("states", states), ("journal", events), ("archive", events)):
            try:
                cur = db.execute(f"SELECT * FROM {table} ORDER BY seq")
                while True:
                    try:
                        row = cur.fetchone()
                    except sqlite3.DatabaseError:
                        break
                    if row is None:
                        break
                    out.append(tuple(row))
            except sqlite3.DatabaseError:
                continue
    finally:
        db.close()
    events.sort(key=lambda r: r[0])
    return states, events
