"""State that survives crashes: the store (diskcache or PostgreSQL), journal and snapshots.

- :mod:`engine.state.base`: :class:`BaseStore`, the logic both engines share;
- :mod:`engine.state.embedded`: :class:`DiskcacheStore` (the default, in the state home);
- :mod:`engine.state.postgres`: :class:`PostgresStore` (psycopg 3);
- :mod:`engine.state.status_store`: :class:`StatusStore`, the persisted status, run marker and
  latched trading state (read by ``avin status`` from another process);
- :mod:`engine.state.codec`: orders, fills and positions as JSON;
- :mod:`engine.state.journal`: :class:`OrderJournal`, the engine's writer (the persistent
  :class:`engine.orders.journal.IntentJournal`);

Recovery after a crash is :mod:`engine.runtime.recovery`; the guarantees are in docs/state.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.state.base import BaseStore, Damage, JournalEvent, StateSnapshot, StoreError

if TYPE_CHECKING:
    from engine.config import Settings

__all__ = [
    "BaseStore",
    "Damage",
    "JournalEvent",
    "StateSnapshot",
    "StoreError",
    "open_configured_store",
    "open_store",
]


def open_configured_store() -> BaseStore:
    """The store of the configuration in force: what ``avin status`` and ``avin kill`` read and
    write from another shell (raises ConfigError or StoreError)."""
    from engine.config import load_settings

    return open_store(load_settings(token_needed=False))  # the kill switch works whatever the token


def open_store(settings: Settings, state_dir: Path | None = None) -> BaseStore:
    """The store the settings choose (``[state] engine``), in ``state_dir`` for the embedded one."""
    cfg = settings.state
    if cfg.engine == "postgres":
        from engine.state.postgres import PostgresStore

        if cfg.dsn is None:
            raise StoreError(
                "[state] engine = 'postgres' needs a dsn (AVIN_STATE__DSN or [state] dsn)"
            )
        return PostgresStore(cfg.dsn.get_secret_value(), schema=cfg.schema_name)
    from engine.paths import homes
    from engine.state.embedded import DiskcacheStore

    return DiskcacheStore(state_dir or homes().ensure().state, sync=cfg.sync)
