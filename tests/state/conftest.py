"""Both state engines behind one fixture: every test in this folder runs on diskcache and on a real
PostgreSQL server started for the session. The PostgreSQL runs FAIL when the server cannot start;
they are skipped only with AVIN_SKIP_POSTGRES=1."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.state.base import BaseStore
from engine.state.embedded import DiskcacheStore

from .pgserver import PgServer

_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    if os.environ.get("AVIN_SKIP_POSTGRES") == "1":
        pytest.skip("AVIN_SKIP_POSTGRES=1")
    server = PgServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(params=["diskcache", "postgres"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A callable opening (and reopening) the same store; closed at the end."""
    opened: list[BaseStore] = []
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        schema = f"t{next(_schemas)}_{os.getpid()}"

        def make() -> BaseStore:
            from engine.state.postgres import PostgresStore

            store = PostgresStore(dsn, schema=schema)
            opened.append(store)
            return store
    else:

        def make() -> BaseStore:
            store = DiskcacheStore(tmp_path / "state")
            opened.append(store)
            return store

    make.engine = request.param  # type: ignore[attr-defined]
    yield make
    for store in opened:
        with contextlib.suppress(Exception):
            store.close()


@pytest.fixture
def store(store_factory: object) -> BaseStore:
    return store_factory()  # type: ignore[operator]


def corrupt_latest_state(store: BaseStore) -> None:
    """Flip the newest snapshot's data so its checksum no longer matches."""
    sql = "UPDATE {t} SET data = data || ' ' WHERE seq = (SELECT max(seq) FROM {t})"
    if isinstance(store, DiskcacheStore):
        with store._db:
            store._db.execute(sql.format(t="states"))
    else:
        store._run(sql.format(t="@.states"))  # type: ignore[attr-defined]
