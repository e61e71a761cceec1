"""Orders between the engine and a broker, independent of any one broker.

- :mod:`engine.orders.journal`: the intent journal protocol (:class:`IntentJournal`), the
  in-memory stand-in and the stop-order link a resolved order carries.
- :mod:`engine.orders.netting`: the netting rule as pure functions (which market orders of one
  account and instrument cross inside, at which price, what goes out as one net order, how its
  fills are split back in whole lots); the engine's desk is :mod:`engine.runtime.netting`.

It imports only :mod:`engine.model`; brokers, the state store and the runtime build on it.
"""
