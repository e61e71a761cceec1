"""Chart pane: candles of one instrument and timeframe with ZigZag T1..T5 over them.

The app calls :meth:`ChartPane.poll` on its timer. It fetches the newest bars (``engine.chart``)
and, only when the bars, the size, the timeframe or the enabled terms changed, builds the frame in
a thread worker (ZigZag + rasterising). ``render_line`` only returns the cached strips.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from rich.style import Style
from textual.binding import Binding, BindingType
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from avin_tui.widgets._format import msk, set_border_text, ticker
from avin_tui.widgets._zigzag import Leg, analysis_available, zigzag_legs
from avin_tui.widgets.chart_render import (
    PLAIN,
    ChartStyles,
    blank,
    quoted_decimals,
    render_chart,
)
from avin_tui.widgets.chart_view import ChartView
from avin_tui.widgets.depth import DepthStyles, DepthView
from engine.model import Bar, TimeFrame

TIMEFRAMES: tuple[TimeFrame, ...] = tuple(TimeFrame)
MIN_REBUILD_INTERVAL = 0.5  # seconds between frames rebuilt only because new bars came
HISTORY = 500  # bars fetched: the higher ZigZag terms need more history than the screen shows
MAX_FETCH = 5_000  # the engine keeps about this many bars per chart


class ChartSource(Protocol):
    def chart(self, instrument: str, timeframe: TimeFrame, count: int) -> list[Bar]: ...


def bars_fingerprint(bars: Sequence[Bar]) -> tuple[Any, ...]:
    if not bars:
        return (0,)
    last = bars[-1]
    return (len(bars), bars[0].ts, last.ts, last.open, last.high, last.low, last.close)


_TF = Binding.Group("TF", compact=True)
_TERMS = Binding.Group("ZigZag", compact=True)


class ChartPane(Widget, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "scroll_bars(1)", "Back", show=False),
        Binding("right", "scroll_bars(-1)", "Forward", show=False),
        Binding("home", "scroll_oldest", "Oldest", show=False),
        Binding("end", "follow", "Live edge", show=False),
        Binding("minus", "zoom(1)", "Zoom out", show=False),
        Binding("plus,equals_sign", "zoom(-1)", "Zoom in", show=False),
        Binding("t", "toggle_depth", "Depth", show=False),
        # the app's chart keys (they work from any pane), in the footer while the chart has focus
        Binding("left_square_bracket", "app.timeframe(-1)", "TF-", key_display="[", group=_TF),
        Binding("right_square_bracket", "app.timeframe(1)", "TF+", key_display="]", group=_TF),
        Binding("n", "app.next_instrument", "Next"),
        *(Binding(str(t), f"app.toggle_term({t})", f"T{t}", group=_TERMS) for t in range(1, 6)),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chart--bull",
        "chart--bear",
        "chart--axis",
        "chart--last",
        "chart--t1",
        "chart--t2",
        "chart--t3",
        "chart--t4",
        "chart--t5",
    }
    DEFAULT_CSS = """
    ChartPane {
        height: 1fr;
        & > .chart--bull { color: $success; }
        & > .chart--bear { color: $error; }
        & > .chart--axis { color: $text-muted; }
        & > .chart--last { color: $background; background: $foreground; }
        & > .chart--t1 { color: #29b6f6; }
        & > .chart--t2 { color: #ffca28; }
        & > .chart--t3 { color: #ab47bc; }
        & > .chart--t4 { color: #ff7043; }
        & > .chart--t5 { color: $foreground; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.source: ChartSource | None = None
        self.instrument: str | None = None
        self.timeframe: TimeFrame = TimeFrame.M1
        self.terms: set[int] = {2, 3}  # T1 on a small chart is close to every bar
        self.view = ChartView()
        self.bars: list[Bar] = []
        self._strips: list[Strip] = []
        self._built_key: tuple[Any, ...] | None = None
        self._pending_key: tuple[Any, ...] | None = None
        self._pending_worker: Worker[Any] | None = None
        self.builds = 0  # frames built (tests, benchmarks)
        self.fetch_error: str | None = None
        self._rebuild_wanted = False
        self._build_started = 0.0  # monotonic time the last build started
        self._built_frame: tuple[tuple[Any, ...], list[Strip]] | None = None  # (from the worker)
        self.min_rebuild_interval = MIN_REBUILD_INTERVAL
        self.depth = DepthView()  # the order book and the tape instead of candles (key t)
        self._depth_size = (0, 0)

    def on_mount(self) -> None:
        self._update_titles()

    def on_resize(self) -> None:
        self.poll()

    # --- commands from the app ----------------------------------------------------------------

    def set_instrument(self, instrument: str | None) -> None:
        if instrument != self.instrument:
            if self.depth.enabled:
                self._watch_book(self.instrument, 0)
                self._watch_book(instrument, self.depth.depth)
            self.instrument = instrument
            self.poll()

    # --- the depth view (avin_tui/widgets/depth.py) -------------------------------------------

    def toggle_depth(self) -> None:
        """Candles <-> the order book and the tape of the instrument."""
        self.depth.enabled = not self.depth.enabled
        self._watch_book(self.instrument, self.depth.depth if self.depth.enabled else 0)
        self._built_key = None  # back on candles: build the frame again
        self.poll()

    def action_toggle_depth(self) -> None:
        """``t`` on the focused pane (the app binds ``t`` everywhere too): toggle, then let the
        workspace save it."""
        self.toggle_depth()
        changed = getattr(self.app, "layout_changed", None)
        if callable(changed):
            changed()

    def get_state(self) -> dict[str, Any]:
        """The pane's view as JSON: ``{"mode": "chart" | "depth", "depth": 10}``."""
        return self.depth.get_state()

    def restore_state(self, state: Any) -> None:
        was = self.depth.enabled
        self.depth.restore_state(state)
        if self.depth.enabled != was:
            self.depth.enabled = was
            self.toggle_depth()

    def _watch_book(self, instrument: str | None, depth: int) -> None:
        watch = getattr(self.source, "watch_book", None)
        if instrument is None or not callable(watch):
            return
        try:
            watch(instrument, depth)
        except Exception as exc:  # the depth view must never take the app down
            self.depth.fetch_error = f"{type(exc).__name__}: {exc}"

    def _poll_depth(self) -> None:
        width, height = self.content_size
        rows = max(1, height - 1) if width >= 60 else max(1, height - (height * 3) // 5 - 1)
        changed = self.depth.fetch(self.source, self.instrument, rows)
        if changed or len(self._strips) != height or self._depth_size != (width, height):
            self._depth_size = (width, height)
            styles = DepthStyles(
                bid=self.get_component_rich_style("chart--bull", partial=True),
                ask=self.get_component_rich_style("chart--bear", partial=True),
                muted=self.get_component_rich_style("chart--axis", partial=True),
            )
            self._strips = self.depth.render(width, height, styles)
            self._update_titles()
            self.refresh()

    def shift_timeframe(self, step: int) -> None:
        i = TIMEFRAMES.index(self.timeframe)
        self.timeframe = TIMEFRAMES[(i + step) % len(TIMEFRAMES)]
        self.poll()

    def toggle_term(self, term: int) -> None:
        self.terms ^= {term}
        self.poll()

    def action_scroll_bars(self, direction: int) -> None:
        """Scroll a quarter of the screen back (1) or forward (-1)."""
        step = max(1, self.content_size.width // 4) * self.view.per_column
        self.view = self.view.scrolled(direction * step, len(self.bars))
        self.poll()

    def action_scroll_oldest(self) -> None:
        self.view = self.view.scrolled(len(self.bars), len(self.bars))
        self.poll()

    def action_follow(self) -> None:
        self.view = ChartView(0, self.view.per_column)
        self.poll()

    def action_zoom(self, step: int) -> None:
        self.view = self.view.zoomed(step)
        self.poll()

    # --- data ---------------------------------------------------------------------------------

    def poll(self) -> None:
        """Fetch the bars and start a rebuild if anything that shows changed.

        New bars alone rebuild the frame at most every ``min_rebuild_interval`` seconds (a fast
        feed changes the last bar on every poll); anything the user changes rebuilds at once.
        """
        if self.depth.enabled:
            self._poll_depth()
            return
        width, height = self.content_size
        view_key = self._view_key(width, height)
        built = self._pending_key or self._built_key
        if (
            built is not None
            and self._view_key_of(built) == view_key
            and time.monotonic() - self._build_started < self.min_rebuild_interval
        ):
            return
        if self.source is None or self.instrument is None:
            self.bars = []
        else:
            try:
                count = min(MAX_FETCH, max(HISTORY, self.view.needed(self.content_size.width)))
                self.bars = list(self.source.chart(self.instrument, self.timeframe, count))
                self.fetch_error = None
            except Exception as exc:  # a chart error must not take the app down
                self.bars = []
                self.fetch_error = f"{type(exc).__name__}: {exc}"
        key = (
            self.instrument,
            self.timeframe,
            bars_fingerprint(self.bars),
            width,
            height,
            tuple(sorted(self.terms)),
            self.app.theme,
            self.view,
        )
        if key == self._built_key or key == self._pending_key:
            self._update_titles()
            return
        if self._pending_key is not None:
            # a build is running: build again when it ends (never cancel it, or a feed faster
            # than a build would keep the chart from ever showing a frame)
            self._rebuild_wanted = True
            return
        # the titles change with the frame (when the build ends): one repaint, not two
        self._pending_key = key
        self._build_started = time.monotonic()
        styles = self._styles()
        terms = tuple(sorted(self.terms))
        view = self.view
        decimals = self.price_decimals()
        message = self.fetch_error or (
            "no instrument" if self.instrument is None else "waiting for bars"
        )
        bars = list(self.bars)

        def build() -> None:
            # the frame is handed over in an attribute, not as the worker's result: a finished
            # Worker is cyclic garbage, and its result (every segment of the frame) would wait
            # with it for a full collection (a pause of every thread) instead of being freed
            self._built_frame = self._build(
                key, bars, width, height, styles, message, terms, view, decimals
            )

        self._pending_worker = self.run_worker(
            build,
            thread=True,
            group="chart",
            name="chart-build",
            exit_on_error=False,
        )

    def _view_key(self, width: int, height: int) -> tuple[Any, ...]:
        """What the frame depends on besides the bars (see ``_view_key_of``)."""
        terms = tuple(sorted(self.terms))
        return (self.instrument, self.timeframe, width, height, terms, self.app.theme, self.view)

    @staticmethod
    def _view_key_of(key: tuple[Any, ...]) -> tuple[Any, ...]:
        return key[:2] + key[3:]

    def _build(
        self,
        key: tuple[Any, ...],
        bars: list[Bar],
        width: int,
        height: int,
        styles: ChartStyles,
        message: str,
        terms: tuple[int, ...],
        view: ChartView,
        decimals: int | None = None,
    ) -> tuple[tuple[Any, ...], list[Strip]]:
        if not bars:
            return key, blank(width, height, message, styles.axis)
        legs: list[Leg] = zigzag_legs(bars, terms) if terms else []
        shown, shown_legs = view.apply(bars, legs)
        return key, render_chart(shown, width, height, styles, shown_legs, decimals)

    def price_decimals(self) -> int | None:
        """The decimals of the instrument's price step (``engine.instruments``), None when the
        source does not say (the rasteriser then reads them off the prices)."""
        instruments = getattr(self.source, "instruments", None)
        if not isinstance(instruments, dict) or self.instrument is None:
            return None
        step = getattr(instruments.get(self.instrument), "step", None)
        if step is None:
            return None
        exponent = Decimal(step).normalize().as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "chart":
            return
        frame = None
        if event.state is WorkerState.SUCCESS:
            frame, self._built_frame = self._built_frame, None
        if frame is not None and self.depth.enabled:
            pass  # a candle frame finished after the switch to the depth view: not shown
        elif frame is not None:
            key, strips = frame
            self._strips = strips
            self._built_key = key
            self.builds += 1
            self._update_titles()
            self.refresh()
        elif event.state is WorkerState.ERROR:
            self.fetch_error = f"chart: {event.worker.error}"
        if event.worker is self._pending_worker and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self._pending_key = None
            self._pending_worker = None
            if self._rebuild_wanted:
                self._rebuild_wanted = False
                self.poll()

    def _styles(self) -> ChartStyles:
        def get(name: str) -> Style:
            return self.get_component_rich_style(name, partial=True)

        return ChartStyles(
            bull=get("chart--bull"),
            bear=get("chart--bear"),
            axis=get("chart--axis"),
            last=get("chart--last"),
            terms=tuple(get(f"chart--t{t}") for t in range(1, 6)),
            marks=bool(getattr(self.app, "no_color", False)),
        )

    def _update_titles(self) -> None:
        name = ticker(self.instrument) if self.instrument else "-"
        if self.depth.enabled:
            set_border_text(self, title=self.depth.title(name), subtitle=self.depth.subtitle())
            return
        zoom = self.view.label()
        title = f"[u]C[/u]hart {name} {self.timeframe.code}" + (f" {zoom}" if zoom else "")
        parts = []
        # the last close comes first when the pane is narrow: the date, then the unset terms go
        room = self.size.width - 6
        terms = ""
        if analysis_available():
            terms = " ".join(f"T{t}" if t in self.terms else "··" for t in range(1, 6))
        if self.bars:
            b = self.bars[-1]
            decimals = self.price_decimals()
            if decimals is None:
                decimals = quoted_decimals([b.close for b in self.bars[-200:]])
            close = f"C {b.close:.{decimals}f}"
            last = f"{msk(b.ts, '%d.%m %H:%M')} {close}"
            if len(last) + len(terms) + 3 > room:
                terms = " ".join(f"T{t}" for t in sorted(self.terms))
            if len(last) + len(terms) + 3 > room:
                last = f"{msk(b.ts, '%H:%M')} {close}"
            parts.append(last)
        if terms:
            parts.insert(0, terms)
        set_border_text(self, title=title, subtitle=" │ ".join(parts))

    # --- line API -----------------------------------------------------------------------------

    @property
    def showing_bars(self) -> bool:
        """True when the frame on screen is built from the bars fetched last (and there are some)."""
        key = self._built_key
        return bool(self.bars) and key is not None and key[2] == bars_fingerprint(self.bars)

    @property
    def built_for(self) -> tuple[Any, ...] | None:
        """(instrument, timeframe, terms) of the frame on screen."""
        key = self._built_key
        return None if key is None else (key[0], key[1], key[5])

    @property
    def rendered_strips(self) -> list[Strip]:
        return self._strips

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if y < len(self._strips):
            strip = self._strips[y]
            # (a no-op crop_extend caches the strip in itself: a cycle only a full GC frees)
            return strip if strip.cell_length == width else strip.crop_extend(0, width, PLAIN)
        return Strip.blank(width, PLAIN)
