"""Build the broker and the engine from the settings (the CLI and the TUI share this); the
engine's components are wired in :mod:`engine.runtime.factory`."""

from __future__ import annotations

from typing import Any

from engine.broker.base import Broker
from engine.broker.tinvest.safety import mode_for
from engine.config import Settings
from engine.model import Mode
from engine.paths import homes
from engine.runtime.engine import Engine, EngineOptions
from engine.runtime.worklist import initial_worklist
from engine.state import open_store


def build_broker(
    settings: Settings,
    *,
    live: bool = False,
    speed: float | None = None,
    seed: int | None = None,
) -> Broker:
    """SimBroker without a token; the T-Invest adapter for the sandbox, or production when
    ``mode = "live"`` and ``live`` (the ``--live`` flag) are both given.

    Raises BrokerError (LiveTradingRefused) when the mode, the token and the flag disagree.
    """
    mode = mode_for(settings, live)
    if mode is not Mode.SIM:
        from engine.broker.tinvest import TInvestBroker
        from engine.model.redact import register_secret

        assert settings.token is not None  # mode_for refuses sandbox/live without one
        token = settings.token.get_secret_value()
        register_secret(token)
        return TInvestBroker(
            token, mode=mode, target=settings.tinvest_target, app_name=settings.app_name
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


def engine_options(settings: Settings, live: bool = False) -> EngineOptions:
    return EngineOptions(
        mode=mode_for(settings, live),
        snapshot_interval=settings.engine.snapshot_interval,
        history_days=settings.engine.history_days,
        history_from_store=mode_for(settings, live) is not Mode.SIM,
        error_storm=settings.engine.error_storm,
        control=settings.control,
    )


def build_engine(
    settings: Settings,
    *,
    broker: Broker | None = None,
    live: bool = False,
    speed: float | None = None,
    seed: int | None = None,
    logbook: Any = None,
    persist: bool = True,
) -> Engine:
    """The engine for these settings, persisting its status in the state home."""
    if broker is None:
        broker = build_broker(settings, live=live, speed=speed, seed=seed)
    store = open_store(settings, homes().ensure().state) if persist else None  # [state]
    options = engine_options(settings, live)
    options.record_ticks = persist  # the tape into the tick store (docs/data.md, "Ticks")
    return Engine(
        broker,
        initial_worklist(settings.strategies, store),
        options,
        store=store,
        logbook=logbook,
        risk=settings.risk,
    )
