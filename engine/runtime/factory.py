"""Build the broker and the engine from the settings (the CLI and the TUI share this)."""

from __future__ import annotations

from typing import Any

from engine.broker.base import Broker
from engine.config import Settings
from engine.model import Mode
from engine.paths import homes
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.status_store import StatusStore
from engine.runtime.worklist import worklist_from_rows


class BrokerUnavailable(RuntimeError):
    """The configured mode needs a broker adapter that is not there."""


def build_broker(
    settings: Settings, *, speed: float | None = None, seed: int | None = None
) -> Broker:
    """SimBroker in SIM mode (no token); sandbox and live need the T-Invest adapter."""
    mode = settings.resolved_mode()
    if mode is not Mode.SIM:
        raise BrokerUnavailable(
            f"mode {mode.value!r}: the T-Invest adapter is not available yet; "
            'run without a token (or with mode = "sim") to use the simulated market'
        )
    from engine.broker.sim import SimBroker

    sim = settings.sim
    return SimBroker(
        seed=sim.seed if seed is None else seed,
        speed=sim.speed if speed is None else speed,
        start=sim.start,
        commission=sim.commission,
        cash=sim.cash,
    )


def engine_options(settings: Settings) -> EngineOptions:
    return EngineOptions(
        mode=settings.resolved_mode(),
        snapshot_interval=settings.engine.snapshot_interval,
        history_days=settings.engine.history_days,
        error_storm=settings.engine.error_storm,
    )


def build_engine(
    settings: Settings,
    *,
    broker: Broker | None = None,
    speed: float | None = None,
    seed: int | None = None,
    logbook: Any = None,
    persist: bool = True,
) -> Engine:
    """The engine for these settings, persisting its status in the state home."""
    if broker is None:
        broker = build_broker(settings, speed=speed, seed=seed)
    store = StatusStore(homes().ensure().state) if persist else None
    return Engine(
        broker,
        worklist_from_rows(settings.strategies),
        engine_options(settings),
        store=store,
        logbook=logbook,
    )
