"""Help: every key of the app and of the panes."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]avin keys[/b]

[b]Anywhere[/b]
  [b]ctrl+k[/b] or [b]K[/b]   KILL SWITCH: halt trading, pause strategies, cancel open orders
  [b]F[/b]            FLATTEN: cancel every order, close every position at market (REDUCING)
  [b]R[/b]            reset the kill switch to ACTIVE (asks for an explicit y)
  [b]q[/b]            quit (asks first when orders are open; the engine stops cleanly)
  [b]?[/b] or [b]F1[/b]       this help          [b]escape[/b]  close a dialog
  [b]s o p l c[/b]    focus Strategies / Orders / Positions / Log / Chart
  [b]tab[/b]          next pane              [b]shift+tab[/b]  previous pane
  [b]b[/b]            saved backtests: summaries, equity and drawdown

[b]Chart[/b]
  [b]\\[[/b] / [b]][/b]        previous / next timeframe (1M 5M 10M 15M 1H 4H D W M)
  [b]n[/b]            next instrument (highlighting a row also selects its instrument)
  [b]1[/b]..[b]5[/b]         show / hide ZigZag term T1..T5 (dimmed leg = real-time, may move)
  [b]left[/b] / [b]right[/b]  scroll back / forward   [b]home[/b] oldest   [b]end[/b] follow the live edge
  [b]-[/b] / [b]+[/b]        zoom out / in (1, 2, 4 or 8 bars per column)
  [b]t[/b]            order book and tape of the instrument instead of candles (again: back)

[b]Strategies[/b]   [b]space[/b]  pause / resume (start a stopped one)   [b]S[/b]  stop
             [b]a[/b]  add a row (form)   [b]d[/b]  remove the selected row (asks first)
[b]Orders[/b]       [b]x[/b] or [b]delete[/b]  cancel the selected order
[b]Log[/b]          [b]v[/b]  cycle minimum level     [b]end[/b] or [b]f[/b]  follow the tail again
Tables          arrows, page up/down, home/end move the cursor

Times are Moscow time (UTC+3). Over SSH in tmux set [b]escape-time 10[/b]; on a slow link try
TEXTUAL_FPS=15 and TEXTUAL_COLOR_SYSTEM=256. `avin kill` from another shell halts a frozen UI.
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
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(HELP, id="help-text")
