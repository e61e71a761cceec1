"""Risk: pre-trade checks, the automatic kill-switch triggers and the FLATTEN action.

Modules (nothing is imported eagerly):

- ``checks``: one small function per pre-trade rule; ``limits``: the effective limits of an order
  (global ``[risk]`` values, per-account and per-strategy overrides); ``exposure``: worst-case
  positions; ``gate``: runs the rules against the engine's book;
- ``triggers``: daily loss, drawdown, rejections, disconnects, stale data, clock skew (with the
  per-account baselines that persist in the state snapshot); ``clock``: the MOEX trading day and
  the local clock against the broker's; ``window``: the sliding window counter (also the
  engine's error storm);
- ``flatten``: the closing orders; ``control``: the glue the engine calls (docs/risk.md).
"""
