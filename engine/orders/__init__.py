"""Orders between the engine and a broker, independent of any one broker.

- :mod:`engine.orders.journal`: the intent journal protocol (:class:`IntentJournal`), the
  in-memory stand-in and the stop-order link a resolved order carries.

It imports only :mod:`engine.model`; brokers, the state store and the runtime build on it.
"""
