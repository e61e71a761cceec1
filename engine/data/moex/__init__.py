"""MOEX ISS, the exchange's public REST service, as a data source.

- :mod:`engine.data.moex.client`: the HTTP client (httpx): paging through ``start``, timeouts,
  retries with backoff on 5xx, timeouts and unreadable answers, a polite request rate.
- :mod:`engine.data.moex.convert`: ISS tables into the store's schemas (Moscow local times to
  UTC, volumes in shares to lots) and the security's facts (lot, price step, decimals, ISIN).
- :mod:`engine.data.moex.source`: the :class:`~engine.data.sources.protocol.DataSource` of ISS.
- :mod:`engine.data.moex.crosscheck`: stored bars against the exchange's, per day.

See docs/data.md, "MOEX ISS".
"""
