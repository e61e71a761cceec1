"""The strategy host: hooks called fail-safe, intents drained after the hook, admit, gate, post."""

from __future__ import annotations

from typing import Any

from engine.model import Order, Side, TimeFrame
from engine.strategy import Strategy, StrategyContext
from engine.strategy.host import HostedStrategy, StrategyHost

from .helpers import Harness, minute


class Scripted(Strategy):
    """Runs ``self.script(ctx)`` in on_bar; on_order may place more (``self.on_order_script``)."""

    timeframes = (TimeFrame.M1,)

    def __init__(self) -> None:
        super().__init__()
        self.script: Any = lambda ctx: None
        self.on_order_script: Any = lambda ctx, order: None
        self.answers: list[Order] = []

    def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Any) -> None:
        self.script(ctx)

    def on_order(self, ctx: StrategyContext, order: Order) -> None:
        self.answers.append(order)
        self.on_order_script(ctx, order)


class Desk:
    """The caller's side of the host, recording what it is asked to do."""

    def __init__(self, strategy: Strategy, gate: Any = None, admit: Any = None) -> None:
        self.harness = Harness(strategy, fill=False)
        self.harness.now = minute(5, 1.0).ts
        self.slot = HostedStrategy("s1", strategy, self.harness.ctx)
        self.posted: list[Order] = []
        self.rejected: list[tuple[Order, str]] = []
        self.cancelled: list[str] = []
        self.failures: list[tuple[str, BaseException, int]] = []
        self.host: StrategyHost[HostedStrategy] = StrategyHost(
            post=self.post,
            reject=self.reject,
            cancel=self.cancelled.append,
            failed=lambda slot, hook, exc, dropped: self.failures.append((hook, exc, dropped)),
            clock=lambda: self.harness.now,
            gate=gate,
            admit=admit,
        )

    def post(self, order: Order) -> None:
        self.posted.append(order)
        self.host.dispatch(self.slot, "on_order", order)

    def reject(self, order: Order, reason: str) -> None:
        self.rejected.append((order, reason))
        self.host.dispatch(self.slot, "on_order", order)

    def bar(self) -> bool:
        return self.host.dispatch(self.slot, "on_bar", TimeFrame.M1, minute(5, 1.0))


def test_a_hook_that_raises_drops_its_orders_and_reports_once() -> None:
    strategy = Scripted()
    desk = Desk(strategy)

    def boom(ctx: StrategyContext) -> None:
        ctx.buy(1)
        ctx.sell(2)
        raise ZeroDivisionError("oops")

    strategy.script = boom
    assert desk.bar() is False
    assert [(hook, type(exc), dropped) for hook, exc, dropped in desk.failures] == [
        ("on_bar", ZeroDivisionError, 2)
    ]
    assert desk.posted == [] and desk.rejected == [] and not desk.slot.ctx.pending_intents  # type: ignore[union-attr]
    assert desk.host.depth == 0


def test_orders_are_posted_after_the_hook_and_cancels_passed_on() -> None:
    strategy = Scripted()
    desk = Desk(strategy)
    seen_during_hook: list[int] = []

    def act(ctx: StrategyContext) -> None:
        ctx.buy(1)
        ctx.cancel("key-1")
        seen_during_hook.append(len(desk.posted))

    strategy.script = act
    assert desk.bar() is True
    assert seen_during_hook == [0]  # nothing left the context while the hook ran
    (order,) = desk.posted
    assert order.side is Side.BUY and order.created_ts == desk.harness.now
    assert desk.cancelled == ["key-1"]
    assert strategy.answers == [order]  # on_order of its own post


def test_the_gate_rejects_with_its_reason_and_the_strategy_hears_it() -> None:
    strategy = Scripted()
    checked: list[Order] = []

    def gate(order: Order) -> str:
        checked.append(order)
        return "max_order_lots: 5 lots > limit 3" if order.lots > 3 else ""

    desk = Desk(strategy, gate=gate)
    strategy.script = lambda ctx: (ctx.buy(5), ctx.buy(1))
    desk.bar()
    assert [o.lots for o in checked] == [5, 1]
    assert [(o.lots, why) for o, why in desk.rejected] == [(5, "max_order_lots: 5 lots > limit 3")]
    assert [o.lots for o in desk.posted] == [1]
    assert [o.lots for o in strategy.answers] == [5, 1]


def test_an_order_not_admitted_never_reaches_the_gate() -> None:
    strategy = Scripted()
    gated: list[Order] = []
    desk = Desk(strategy, gate=lambda o: gated.append(o) or "", admit=lambda slot: "paused")
    strategy.script = lambda ctx: ctx.sell(1)
    desk.bar()
    assert gated == [] and desk.posted == []
    assert [why for _, why in desk.rejected] == ["paused"]


def test_orders_placed_from_on_order_in_a_loop_fail_the_strategy() -> None:
    strategy = Scripted()
    desk = Desk(strategy)
    strategy.script = lambda ctx: ctx.buy(1)
    strategy.on_order_script = lambda ctx, order: ctx.buy(1)  # every answer places another
    desk.bar()
    assert len(desk.posted) == desk.host.max_depth  # the one posted at the deepest level
    ((hook, exc, dropped),) = desk.failures
    assert hook == "on_order" and isinstance(exc, RecursionError) and dropped == 0
    assert "loop endlessly" in str(exc)
    assert desk.host.depth == 0


def test_hooks_the_strategy_does_not_override_are_not_called() -> None:
    calls: list[str] = []

    class OnlyBar(Strategy):
        timeframes = (TimeFrame.M1,)

        def on_bar(self, ctx: StrategyContext, timeframe: TimeFrame, bar: Any) -> None:
            calls.append("on_bar")

    strategy = OnlyBar()
    desk = Desk(strategy)
    assert desk.host.skips(strategy) == {"on_start", "on_order", "on_fill", "on_stop"}
    assert not desk.host.overrides(strategy, "on_fill") and desk.host.overrides(strategy, "on_bar")
    assert desk.host.dispatch(desk.slot, "on_start") and desk.bar()
    assert calls == ["on_bar"]
    # a row without a context (its instrument never resolved) is not called at all
    assert desk.host.dispatch(HostedStrategy("s2", strategy, None), "on_bar") is True  # type: ignore[arg-type]
    assert calls == ["on_bar"]


def test_a_bound_hook_behaves_as_dispatch() -> None:
    strategy = Scripted()
    desk = Desk(strategy, gate=lambda o: "too big" if o.lots > 1 else "")
    on_bar = desk.host.bind(desk.slot, "on_bar")
    strategy.script = lambda ctx: (ctx.buy(1), ctx.buy(2))
    assert on_bar(TimeFrame.M1, minute(5, 1.0)) is True
    assert [o.lots for o in desk.posted] == [1] and [why for _, why in desk.rejected] == ["too big"]

    def boom(ctx: StrategyContext) -> None:
        ctx.buy(1)
        raise KeyError("x")

    strategy.script = boom
    assert on_bar(TimeFrame.M1, minute(6, 1.0)) is False
    assert [(hook, dropped) for hook, _, dropped in desk.failures] == [("on_bar", 1)]
    assert len(desk.posted) == 1 and desk.host.depth == 0
    # a hook the strategy does not override stays a no-op when bound
    assert desk.host.bind(desk.slot, "on_fill")(object()) is True


def test_a_missing_hook_fails_the_strategy_instead_of_escaping() -> None:
    strategy = Scripted()
    desk = Desk(strategy)
    assert desk.host.dispatch(desk.slot, "on_no_such_hook") is False
    ((hook, exc, _),) = desk.failures
    assert hook == "on_no_such_hook" and isinstance(exc, AttributeError)
