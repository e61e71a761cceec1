"""Keep Textual's rendered lines from referring to themselves (a workaround, installed by the app).

A ``textual.strip.Strip`` caches what its methods return; two of them return the strip itself in
the trivial case and cache it in the strip: ``divide`` at the strip's own length (the compositor
does it to nearly every line it paints) and ``crop_extend`` over the whole strip. Each painted
line is then a reference cycle, so it is not freed when the line is repainted but waits, with all
its segments, for the cyclic garbage collector. Under a fast feed that was thousands of objects a
second, and full collections of 100-300 ms every few seconds: pauses of every thread, so of the
kill key too. Returning the strip without caching it gives the same results without the cycle.

Measured with ``bench/killswitch.py`` at 2,000 events/s: cyclic garbage from about 3,700 objects a
second to about 50. Installed once; does nothing if Textual's ``Strip`` changed shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.style import Style
from textual.strip import Strip

_installed = False


def install() -> bool:
    """Patch ``Strip.divide`` and ``Strip.crop_extend`` (idempotent). True if installed."""
    global _installed
    if _installed:
        return True
    divide: Any = getattr(Strip, "divide", None)
    crop_extend: Any = getattr(Strip, "crop_extend", None)
    if divide is None or crop_extend is None or not hasattr(Strip, "cell_length"):
        return False

    def divide_without_cycle(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
        length = self.cell_length
        cuts = [cut for cut in cuts if cut <= length]
        if cuts == [length]:
            return [self]
        result: Sequence[Strip] = divide(self, cuts)
        return result

    def crop_extend_without_cycle(self: Strip, start: int, end: int, style: Style | None) -> Strip:
        if start <= 0 and end == self.cell_length:
            return self
        result: Strip = crop_extend(self, start, end, style)
        return result

    Strip.divide = divide_without_cycle  # type: ignore[method-assign]
    Strip.crop_extend = crop_extend_without_cycle  # type: ignore[method-assign]
    _installed = True
    return True
