"""Where the data commands get a broker from (instrument lists, historical candles).

The mode comes from the settings (``engine.config``: ``AVIN_MODE``, the token, ``avin.toml``). On
the simulated market it is :class:`SimHistory`: the simulator's catalog and its deterministic
1-minute bars for the configured seed (the same bars the SimBroker replays). Other modes use
``engine.runtime.launch.build_broker``. :func:`set_broker_factory` overrides both (tests).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from engine.broker.tinvest.safety import mode_for
from engine.data.errors import DataError, UnknownInstrumentError
from engine.model import Bar, Instrument, TimeFrame, as_utc

BrokerFactory = Callable[[], Any]
T = TypeVar("T")

_factory: BrokerFactory | None = None


def set_broker_factory(factory: BrokerFactory | None) -> None:
    """Use ``factory()`` for the data commands' broker (None restores the default)."""
    global _factory
    _factory = factory


def open_broker() -> Any:
    """An object with the Broker methods ``connect``, ``close``, ``instruments``,
    ``find_instrument`` and ``candles`` for the configured mode."""
    if _factory is not None:
        return _factory()
    from engine.config import ConfigError, load_settings
    from engine.model import Mode

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise DataError(str(exc), "Fix the configuration (`avin config check`)") from None
    from engine.broker.base import BrokerError
    from engine.runtime.launch import build_broker

    # data commands only read: a live configuration needs no --live to fetch history
    live = settings.mode == "live"
    try:
        if mode_for(settings, live) is Mode.SIM:
            return SimHistory(seed=settings.sim.seed)
        return build_broker(settings, live=live)
    except BrokerError as exc:
        raise DataError(
            str(exc),
            "History archives do not need the broker: `avin data download TICKER --from-year "
            "YYYY` works with just the token",
        ) from None


async def with_broker(broker: Any, action: Callable[[Any], Awaitable[T]]) -> T:
    """Connect, run ``action(broker)``, close."""
    await broker.connect()
    try:
        return await action(broker)
    finally:
        await broker.close()


class SimHistory:
    """The simulated market as a history source (catalog plus generated 1-minute bars)."""

    name = "sim"

    def __init__(self, seed: int | None = None, now: datetime | None = None) -> None:
        from engine.broker.sim.generator import DEFAULT_SEED

        self.seed = DEFAULT_SEED if seed is None else seed
        self._now = now

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def instruments(self) -> list[Instrument]:
        from engine.data.sim_catalog import SIM_INSTRUMENTS

        return list(SIM_INSTRUMENTS)

    async def find_instrument(self, query: str) -> Instrument:
        text = query.strip().upper()
        for item in await self.instruments():
            if text in (item.code, item.ticker.upper(), item.uid.upper(), item.figi.upper()):
                return item
        raise UnknownInstrumentError(
            f"the simulated market has no instrument {query!r}",
            "`avin data instruments` lists the known ones",
        )

    async def candles(
        self, instrument: Instrument, timeframe: TimeFrame, begin: datetime, end: datetime
    ) -> list[Bar]:
        """Complete bars with ``begin <= ts < end`` (1-minute generated, others derived)."""
        from engine.broker.sim.generator import generate_bar_list

        now = as_utc(self._now) if self._now is not None else datetime.now(UTC)
        end = min(as_utc(end), TimeFrame.M1.floor(now))
        begin = as_utc(begin)
        if end <= begin:
            return []
        bars = generate_bar_list(instrument, begin, end, seed=self.seed)
        if timeframe is TimeFrame.M1:
            return bars
        merged: list[Bar] = []
        for bar in bars:
            start = timeframe.floor(bar.ts)
            if merged and merged[-1].ts == start:
                merged[-1] = merged[-1].merge(bar)
            else:
                merged.append(Bar(start, bar.open, bar.high, bar.low, bar.close, bar.volume))
        return [bar for bar in merged if timeframe.next(bar.ts) <= end]
