"""The live runtime: the engine and its logging.

Modules (import what you need; this package imports nothing eagerly; what readers see of a
running engine is ``engine.model.snapshot``):

- ``engine``: :class:`~engine.runtime.engine.Engine` and ``EngineOptions``;
- ``factory``: ``build_broker`` / ``build_engine`` from the settings;
- ``router``: posting and cancelling at the broker; ``guards``: the error storm;
- ``logbook``: logging (secrets masked by ``engine.model.redact``).
"""
