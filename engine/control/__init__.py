"""The control API of a running robot (#17): gRPC over a unix domain socket in the state home,
and optionally over TCP with a token (and TLS off loopback).

- ``proto/``: ``control.proto`` and its generated stubs (committed; ``proto/regen.py``);
- :mod:`engine.control.endpoint`: where a robot listens and how a socket is claimed (stale ones
  from a killed robot replaced, live ones never), mode 0600; generic, for any local service;
- :mod:`engine.control.service`: the ``Control`` servicer over the engine's public control
  methods (snapshots already built by the engine, commands through its thread-safe hand-off);
- :mod:`engine.control.reads`: chart bars, the log and its stream, incidents, the session, a
  strategy row's check, the workspace, the saved backtests; :mod:`engine.control.depth`: the
  order book and the tape;
- :mod:`engine.control.server`: the gRPC server(s) around it, started and stopped with a run;
- :mod:`engine.control.tcp`: the TCP endpoint (``[control] listen``): TLS, the token check;
- :mod:`engine.control.client`: what ``avin status/kill/resume`` and ``avin attach`` use.
"""
