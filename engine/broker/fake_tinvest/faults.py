"""Fault injection for the fake T-Invest server, settable from tests (and ``--faults``)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(slots=True)
class Faults:
    """What the server should break next. Counters are consumed as faults fire."""

    unauthenticated: bool = False  # every call and stream fails with 40003
    unavailable_calls: int = 0  # the next N unary calls / stream opens fail with UNAVAILABLE
    rate_limit_calls: int = 0  # the next N unary calls fail with 80002
    rate_limit_reset: float = 1.0  # seconds in x-ratelimit-reset of those 80002 answers
    only_methods: set[str] = field(default_factory=set)  # limit the two above to these RPCs
    drop_streams: int = 0  # the next N market-data streams are dropped ...
    drop_after: int = 3  # ... after this many data messages (UNAVAILABLE "GOAWAY received")
    stall_streams: int = 0  # the next N market-data streams go silent (no data, no pings)
    drop_order_streams: int = 0  # the next N order-state / trades streams fail right away
    stop_orders_unavailable: bool = False  # StopOrders RPCs: UNIMPLEMENTED, as in the sandbox
    internal_after_place: int = 0  # the next N PostOrder / PostStopOrder place, then 70002
    reject_next: list[str] = field(default_factory=list)  # codes for the next PostOrder calls
    reject_stop_next: list[str] = field(default_factory=list)  # ... the next PostStopOrder calls
    fill_delay_ticks: int = 0  # new orders start matching only after this many price ticks
    max_fill_lots: int = 0  # one trade takes at most this many lots (partial fills); 0: all
    slow_calls: int = 0  # the next N unary calls (see only_methods) answer after slow_seconds
    slow_seconds: float = 1.0
    slow_after_place: float = 0.0  # PostOrder places the order, then waits this long to answer

    def applies(self, method: str) -> bool:
        return not self.only_methods or method in self.only_methods

    def take(self, name: str) -> bool:
        """Consume one unit of counter ``name``; True if the fault fires."""
        value = getattr(self, name)
        if value > 0:
            setattr(self, name, value - 1)
            return True
        return False

    def reset(self) -> None:
        default = Faults()
        for f in fields(self):
            setattr(self, f.name, getattr(default, f.name))

    @classmethod
    def parse(cls, text: str) -> Faults:
        """From ``"drop_streams=1,drop_after=5,reject_next=30078+30034,unauthenticated"``."""
        faults = cls()
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            name = name.strip().replace("-", "_")
            if name not in {f.name for f in fields(cls)}:
                known = ", ".join(f.name for f in fields(cls))
                raise ValueError(f"unknown fault {name!r}; known: {known}")
            current = getattr(faults, name)
            if isinstance(current, bool):
                setattr(faults, name, value.strip().lower() not in ("0", "false", "no", "off"))
            elif isinstance(current, int):
                setattr(faults, name, int(value))
            elif isinstance(current, float):
                setattr(faults, name, float(value))
            elif isinstance(current, list):
                setattr(faults, name, [v for v in value.split("+") if v])
            elif isinstance(current, set):
                setattr(faults, name, {v for v in value.split("+") if v})
        return faults
