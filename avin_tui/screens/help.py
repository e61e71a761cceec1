"""Help: every key of the app and of the panes."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]avin keys[/b]   (up/down, page up/down scroll this help; escape closes it)

[b]Anywhere[/b]
  [b]ctrl+k[/b] [b]K[/b]    KILL SWITCH: halt, pause strategies, cancel open orders
  [b]F[/b]           FLATTEN: cancel orders, close positions at market (asks)
  [b]R[/b]           back to ACTIVE after a kill or a flatten (asks for y)
  [b]q[/b]           quit (asks when orders or positions are open); attached
              (avin attach): d detaches, the robot runs on; s stops it
  [b]?[/b] [b]F1[/b]        this help           [b]escape[/b]  close a dialog
  [b]s o p l c[/b]   focus Strategies / Orders / Positions / Log / Chart
  [b]tab[/b]         next pane           [b]shift+tab[/b]  previous pane
  [b]> <[/b]         grow / shrink the focused pane   [b]Z[/b]  sizes back
  [b]z[/b]           maximise the focused pane / restore (also escape)
  [b]T[/b]           dark / light theme
  [b]b[/b]           saved backtests and sweeps (enter opens a sweep)
  [b]A[/b]           accounts: each row's budget, what it uses, what is free
  [b]L[/b]           the log file full screen (the Log pane's keys)
  [b]I[/b]           after a crash: what start-up recovery restored

[b]Chart[/b]
  [b]\\[[/b] [b]][/b]         previous / next timeframe (1M 5M 10M 15M 1H 4H D W M)
  [b]n[/b]           next instrument (a table row also selects its instrument)
  [b]1[/b]..[b]5[/b]        ZigZag term T1..T5 on / off; dimmed leg: real-time, may
              move; without colour (NO_COLOR) pivots show the term's digit
  [b]left right[/b]  scroll back / forward   [b]home[/b] oldest   [b]end[/b] live edge
  [b]- +[/b]         zoom out / in (1, 2, 4 or 8 bars per column)
  [b]t[/b]           order book and tape instead of candles (again: back)

[b]Tables[/b]      arrows, page up/down, home/end move the cursor;
              [b],[/b] sorts by the next column (again: descending, then off);
              narrow panes show their most important columns ([b]z[/b]: all)
[b]Strategies[/b]  [b]space[/b] pause / resume (start a stopped one)   [b]S[/b] stop
              [b]a[/b] add a row (form)   [b]d[/b] remove the row (asks first)
              [b]C[/b] close the row's position (asks; the row pauses)
[b]Orders[/b]      [b]x[/b] [b]delete[/b]  cancel the selected order   [b]f[/b] open only / all
[b]Log[/b]         [b]v[/b] level [b]S[/b] source [b]f[/b] text [b]x[/b] clear [b]/[/b] search [b]n N[/b] [b]end[/b] follow
              [b]enter[/b] entry [b]w[/b] wrap [b]e E[/b] warn/err [b]i[/b] incidents [b]r[/b] older runs

Times: the clock, chart and orders in Moscow time (MSK, UTC+3); the log
in UTC (Z), as avin.log has them. The layout (panes, sizes, chart, sorts,
log filters, theme) is saved and comes back at the next start.
Over SSH in tmux set [b]escape-time 10[/b]; on a slow link try TEXTUAL_FPS=15
and TEXTUAL_COLOR_SYSTEM=256. `avin kill` from another shell halts a
frozen UI.
"""


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > VerticalScroll {
            width: auto;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: round $accent;
            background: $surface;
            padding: 0 1;
        }
        & Static { width: auto; }
    }
    """
    AUTO_FOCUS = "VerticalScroll"  # the arrows scroll the help at 80x24
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP, id="help-text")
