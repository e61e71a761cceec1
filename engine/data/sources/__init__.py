"""Where bars, instruments and trades come from: one :class:`DataSource` protocol, four sources.

=====================  =====================================================  ===============
``--source``           module                                                 ``avin.source``
=====================  =====================================================  ===============
``moex``               :mod:`engine.data.moex.source` (the exchange's ISS)     ``moex-iss``
``tinvest``            :mod:`engine.data.sources.tinvest` (GetCandles)        ``broker:tinvest``
``tinvest-archive``    :mod:`engine.data.sources.tinvest` (yearly ZIPs)       ``tinvest-archive``
``remote``             :mod:`engine.data.sources.remote` (``avin data serve``) ``avin-data-service``
=====================  =====================================================  ===============

:mod:`engine.data.sources.fetch` downloads any of them into the store, one whole chunk of days
at a time. docs/adapters.md says how to add one.
"""
