"""Copy and pickle of the model's value types through their constructor.

The compiled backtest core (engine/native.py) builds these classes with mypyc, whose instances
cannot be made empty and then filled field by field, as ``copy`` and ``pickle`` do by default.
Rebuilt from their fields through ``__init__``, they copy and pickle the same way compiled or
not, so a strategy that keeps a copy of a bar or a fill runs the same in either build.

Not Order: its ``__init__`` refuses what a broker must be handed to reject (no lots, a limit
without a price), and the simulated market copies such orders. A compiled Order cannot be
copied or pickled (docs/strategies.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any


def by_fields(obj: Any) -> tuple[Any, ...]:
    """``__reduce__`` of a dataclass whose ``__init__`` takes every field, in field order."""
    return type(obj), tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))
