"""The live runtime: the engine and its logging.

Modules (import what you need; this package imports nothing eagerly; what readers see of a
running engine is ``engine.model.snapshot``):

- ``engine``: :class:`~engine.runtime.engine.Engine`, the kernel plus its loop;
- ``kernel``: one broker event in, charts, positions, hooks and orders out;
- ``parts``: ``EngineOptions`` and the parts of the engine's state its components are given;
- ``controls``: the kill switch and strategies by hand (the control API);
- ``worklist`` / ``worklist_manager``: the rows, their checks, and their changes at runtime;
- ``slots``: a strategy row's state and its transition table;
- ``keeper`` / ``recovery`` / ``startup``: the journal and state snapshots, recovery, start-up;
- ``status_saver``: snapshots for readers, saved with the latch; ``tasks``, ``market_time``;
- ``factory``: ``build_broker`` / ``build_engine`` from the settings;
- ``router``: posting and cancelling at the broker; ``guards``: the error storm;
- ``logbook``: logging (secrets masked by ``engine.model.redact``).
"""
