"""The sources by their ``--source`` name."""

from __future__ import annotations

from typing import Any

from engine.data.errors import DataError
from engine.data.sources.protocol import DataSource

SOURCES = ("tinvest-archive", "tinvest", "moex", "remote")


def open_source(
    name: str,
    *,
    base_url: str | None = None,
    board: str | None = None,
    timeout: float | None = None,
    broker: Any = None,
) -> DataSource:
    """The source called ``name``, configured from the options and the environment
    (``AVIN_MOEX_URL``; the token and ``AVIN_HISTORY_URL`` for T-Invest). ``tinvest`` wraps
    ``broker`` (an unconnected one: the source connects it), which the caller builds: the data
    layer does not build brokers (``engine.runtime.data_broker.open_broker`` does)."""
    from engine.data.instruments import InstrumentCache

    if name == "moex":
        from engine.data.moex.client import IssClient, IssPolicy
        from engine.data.moex.source import DEFAULT_BOARD, MoexSource

        policy = IssPolicy() if timeout is None else IssPolicy(timeout=timeout)
        client = IssClient(base_url, policy=policy)
        return MoexSource(client, (board or DEFAULT_BOARD).upper(), InstrumentCache())
    if name == "tinvest":
        from engine.data.sources.tinvest import TInvestApiSource

        if broker is None:
            raise DataError(
                "--source tinvest needs the configured broker",
                "Configure a T-Invest token (AVIN_TOKEN) or use --source moex",
            )
        return TInvestApiSource(broker, InstrumentCache())
    if name == "tinvest-archive":
        from engine.data.history_client import HistoryClient, configured_token
        from engine.data.sources.tinvest import TInvestArchiveSource

        archives = HistoryClient(configured_token(), base_url=base_url, timeout=timeout or 60.0)
        return TInvestArchiveSource(archives, InstrumentCache())
    if name == "remote":
        try:
            from engine.data.sources.remote import RemoteSource
        except ImportError:
            from engine.data.flight_request import flight_missing

            raise flight_missing() from None

        return RemoteSource(base_url)
    raise ValueError(f"unknown source {name!r}: use one of {', '.join(SOURCES)}")
