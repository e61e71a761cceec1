"""The live runtime: the engine, logging and snapshots.

Modules (import what you need; this package imports nothing eagerly, so the UI can import
``engine.runtime.snapshot`` without the engine):

- ``engine``: :class:`~engine.runtime.engine.Engine` and ``EngineOptions``;
- ``factory``: ``build_broker`` / ``build_engine`` from the settings;
- ``router``: posting and cancelling at the broker; ``guards``: trading-state checks, error storm;
- ``snapshot``: what readers see; ``logbook`` / ``redact``: logging.
"""
