"""The PostgreSQL engine (psycopg 3): the same store on a server, for robots on several machines.

Every robot uses its own schema (``[state] schema``). Writes commit before they return; with the
server's default ``synchronous_commit = on`` an acknowledged write is on the server's disk (it
survives a crash of avin, of the machine avin runs on, and of the server).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.state.base import BaseStore, Row, StoreError

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _schema_sql(schema: str) -> str:
    return f"""
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {schema}.journal (
    seq BIGSERIAL PRIMARY KEY, ts TEXT NOT NULL, kind TEXT NOT NULL,
    key TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_key ON {schema}.journal(key);
CREATE TABLE IF NOT EXISTS {schema}.archive (
    seq BIGINT PRIMARY KEY, ts TEXT NOT NULL, kind TEXT NOT NULL,
    key TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS archive_key ON {schema}.archive(key);
CREATE TABLE IF NOT EXISTS {schema}.states (
    seq BIGSERIAL PRIMARY KEY, journal_seq BIGINT NOT NULL, ts TEXT NOT NULL,
    data TEXT NOT NULL, checksum TEXT NOT NULL);
"""


class PgCache:
    """The diskcache methods the status store uses, on the ``kv`` table (values as JSON)."""

    def __init__(self, run: Callable[..., list[tuple[Any, ...]]]) -> None:
        self._run = run

    def get(self, key: str, default: Any = None) -> Any:
        rows = self._run("SELECT value FROM @.kv WHERE key = %s", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set(self, key: str, value: Any) -> bool:
        self._run(
            "INSERT INTO @.kv (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            (key, json.dumps(value)),
        )
        return True

    def delete(self, key: str) -> bool:
        return bool(self._run("DELETE FROM @.kv WHERE key = %s RETURNING key", (key,)))

    def pop(self, key: str, default: Any = None) -> Any:
        rows = self._run("DELETE FROM @.kv WHERE key = %s RETURNING value", (key,))
        return json.loads(rows[0][0]) if rows else default

    def close(self) -> None:
        pass


class PostgresStore(BaseStore):
    def __init__(self, dsn: str, *, schema: str = "avin") -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise StoreError(
                "the postgres state engine needs psycopg: pip install 'avin[postgres]'"
            ) from exc
        if not _IDENT.match(schema):
            raise StoreError(f"bad schema name {schema!r}: lower-case letters, digits and _")
        self.dsn = dsn
        self.schema = schema
        self._lock = threading.RLock()
        self.path = Path(f"postgres/{schema}")
        try:
            self._conn = psycopg.connect(dsn, autocommit=False, connect_timeout=10)
            with self._conn.transaction():
                self._conn.execute(_schema_sql(schema))
        except psycopg.Error as exc:
            raise StoreError(f"cannot use the PostgreSQL state store: {exc}") from exc
        self._cache = PgCache(self._run)

    def describe(self) -> str:
        return f"postgres store (schema {self.schema})"

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._conn.transaction():
            cur = self._conn.execute(sql.replace("@", self.schema), args)
            return list(cur.fetchall()) if cur.description else []

    # --- journal --------------------------------------------------------------------------------

    def _append_rows(self, rows: list[tuple[str, str, str, str]]) -> int:
        sql = f"INSERT INTO {self.schema}.journal (ts, kind, key, data) VALUES (%s,%s,%s,%s) RETURNING seq"
        seq = 0
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            for row in rows:
                cur.execute(sql, row)
                got = cur.fetchone()
                seq = int(got[0]) if got else seq
        return seq

    def _select_events(self, after: int, archived: bool, key: str | None) -> list[Row]:
        where = "seq > %s" + (" AND key = %s" if key is not None else "")
        args: tuple[Any, ...] = (after, key) if key is not None else (after,)
        sql = f"SELECT seq, ts, kind, key, data FROM @.journal WHERE {where}"
        if archived:
            sql += f" UNION ALL SELECT seq, ts, kind, key, data FROM @.archive WHERE {where}"
            args = args + args
        return [tuple(r) for r in self._run(sql + " ORDER BY seq", args)]

    def last_seq(self) -> int:
        rows = self._run(
            "SELECT greatest((SELECT max(seq) FROM @.journal), (SELECT max(seq) FROM @.archive))"
        )
        return int(rows[0][0] or 0) if rows else 0

    def _archive(self, keys: list[str], upto: int) -> int:
        with self._lock, self._conn.transaction():
            self._conn.execute(
                f"INSERT INTO {self.schema}.archive SELECT * FROM {self.schema}.journal "
                "WHERE key = ANY(%s) AND seq <= %s",
                (keys, upto),
            )
            cur = self._conn.execute(
                f"DELETE FROM {self.schema}.journal WHERE key = ANY(%s) AND seq <= %s",
                (keys, upto),
            )
            return int(cur.rowcount)

    # --- snapshots ------------------------------------------------------------------------------

    def _insert_state(self, journal_seq: int, ts: str, text: str, digest: str, keep: int) -> int:
        rows = self._run(
            "INSERT INTO @.states (journal_seq, ts, data, checksum) VALUES (%s,%s,%s,%s) "
            "RETURNING seq",
            (journal_seq, ts, text, digest),
        )
        seq = int(rows[0][0])
        self._run("DELETE FROM @.states WHERE seq <= %s", (seq - keep,))
        return seq

    def _select_states(self) -> list[tuple[int, int, str, str, str]]:
        rows = self._run(
            "SELECT seq, journal_seq, ts, data, checksum FROM @.states ORDER BY seq DESC"
        )
        return [(int(a), int(b), str(c), str(d), str(e)) for a, b, c, d, e in rows]
