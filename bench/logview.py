"""Log viewer on a big log: first screen, indexing, a search and a filter over the whole file.

Generates an ``avin.log``-shaped file of ``--lines`` lines (5 million by default) in a temporary
folder, then measures, in this process:

- the viewer's first screen (headless Textual: the full-screen viewer pushed, until its first
  lines are drawn), and the same through the index layer alone (open, first block, read a screen);
- indexing the whole file (what the viewer's worker does in the background);
- a search for a rare string and for a common one, and a level filter (>= ERROR), all streamed
  from the index without putting lines into widgets;
- peak memory (tracemalloc, Python allocations) of indexing plus searching, and the RSS.

Baselines measured in the same run: reading the file raw and counting newlines (``wc -l``-like),
and Python's own line iteration with a substring test (a naive search). Ratios are printed against
them; they are not asserted (timings belong here, not in the tests).

    .venv/bin/python bench/logview.py [--lines N] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from avin_tui.logview.index import LineIndex  # noqa: E402
from avin_tui.logview.search import LogFilter, Query  # noqa: E402
from avin_tui.logview.sources import FileSource, Scan  # noqa: E402

T = TypeVar("T")
RARE = "order deadbeef rejected"  # once, near the end
COMMON = "filled"  # in about one line in ten


def block_of_lines(n: int, day: int) -> list[str]:
    """``n`` lines shaped like avin.log: levels, sources, an error with a traceback now and then."""
    sources = ["avin.engine", "avin.orders", "avin.strategy.sma:SBER:sim-1", "avin.risk"]
    out: list[str] = []
    i = 0
    while len(out) < n:
        s, ms = divmod(i, 1000)
        ts = f"2026-12-{day:02d}T{(s // 3600) % 24:02d}:{(s // 60) % 60:02d}:{s % 60:02d}.{ms:03d}Z"
        src = sources[i % len(sources)]
        if i % 997 == 0:
            out.append(f"{ts} ERROR   {src}: the engine failed on BarEvent: boom {i}")
            out += [
                "Traceback (most recent call last):",
                '  File "engine/runtime/engine.py", line 436, in _on_event',
                "ZeroDivisionError: division by zero",
            ]
        elif i % 101 == 0:
            out.append(f"{ts} WARNING {src}: cancel of order {i:08x} failed: not found")
        elif i % 10 == 0:
            out.append(
                f"{ts} INFO    {src}: order {i:08x} filled: MOEX_SHARE_SBER buy 1/1 lot(s) @ 300.10"
            )
        else:
            out.append(
                f"{ts} DEBUG   {src}: bar MOEX_SHARE_SBER 1m close 300.{i % 100:02d} vol {i}"
            )
        i += 1
    return out[:n]


def generate(path: Path, lines: int) -> int:
    """Write ``lines`` lines fast: blocks of 20,000 lines repeated, the rare line at the end."""
    block = "\n".join(block_of_lines(20_000, 1)).encode() + b"\n"
    per_block = 20_000
    written = 0
    with path.open("wb") as f:
        while written + per_block <= lines - 1:
            f.write(block)
            written += per_block
        rest = block_of_lines(lines - 1 - written, 2)
        if rest:
            f.write(("\n".join(rest) + "\n").encode())
        f.write(f"2026-12-02T23:59:59.999Z ERROR   avin.orders: {RARE} by the broker\n".encode())
    return path.stat().st_size


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def raw_count(path: Path) -> int:
    """The baseline: read every byte and count newlines (what ``wc -l`` does)."""
    n = 0
    with path.open("rb", buffering=0) as f:
        while chunk := f.read(8 << 20):
            n += chunk.count(b"\n")
    return n


def naive_search(path: Path, needle: str) -> int:
    """The other baseline: Python's line iteration and a substring test."""
    found = 0
    with path.open("r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if needle in line:
                found += 1
    return found


def first_screen_index(path: Path, rows: int = 40) -> list[str]:
    ix = LineIndex(path)
    ix.scan(8 << 20)
    lines = ix.lines(0, rows)
    ix.close()
    return lines


async def first_screen_tui(path: Path) -> tuple[float, float]:
    """Seconds from pushing the viewer to its first drawn lines, and to the whole file indexed."""
    from textual.app import App

    from avin_tui.screens.log_viewer import LogViewerScreen

    marks: dict[str, float] = {}

    class Bench(App[None]):
        pass

    app = Bench()
    async with app.run_test(size=(120, 40)) as pilot:
        started = time.perf_counter()
        screen = LogViewerScreen(path)
        await app.push_screen(screen)
        view = screen.view
        while "first" not in marks:
            await pilot.pause(0.005)
            strips = app.screen._compositor.render_strips()
            if view.row_count and any("2026-12-" in s.text for s in strips):
                marks["first"] = time.perf_counter() - started
            if time.perf_counter() - started > 60:
                raise SystemExit("the viewer drew nothing within 60 s")
        source = view.source
        assert isinstance(source, FileSource)
        while source.scanning or not source.index.done:
            await pilot.pause(0.02)
        marks["indexed"] = time.perf_counter() - started
    return marks["first"], marks["indexed"]


def search_all(source: FileSource, query: Query) -> int:
    scan = Scan.search(source, query)
    scan.run()
    return len(scan.found)


def filter_all(source: FileSource, flt: LogFilter) -> int:
    scan = Scan.filter(source, flt)
    scan.run()
    return len(scan.found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only that it runs")
    args = parser.parse_args()
    if args.smoke:  # make bench-smoke
        args.lines = 20_000

    folder = Path(tempfile.mkdtemp(prefix="avin-logbench-"))
    path = folder / "avin.log"
    try:
        t_gen, size = timed(lambda: generate(path, args.lines))
        print(f"generated {args.lines:,} lines, {size / 1e6:.0f} MB in {t_gen:.1f} s ({path})")

        t_raw, counted = timed(lambda: raw_count(path))
        t_naive, naive_hits = timed(lambda: naive_search(path, RARE))
        assert counted == args.lines and naive_hits == 1, (counted, naive_hits)
        print(f"baseline raw read + count newlines : {t_raw:7.3f} s")
        print(f"baseline Python lines + 'in'       : {t_naive:7.3f} s")

        t_first_ix, shown = timed(lambda: first_screen_index(path))
        assert len(shown) == 40
        t_first_tui, t_indexed_tui = asyncio.run(first_screen_tui(path))

        source = FileSource(path)
        t_index, lines = timed(source.index.scan_all)
        assert lines == args.lines, lines
        t_rare, rare = timed(lambda: search_all(source, Query(RARE)))
        t_common, common = timed(lambda: search_all(source, Query(COMMON)))
        t_filter, errors = timed(lambda: filter_all(source, LogFilter("ERROR")))
        assert rare == 1 and common > 0 and errors > 0
        source.close()

        tracemalloc.start()
        source = FileSource(path)
        source.index.scan_all()
        search_all(source, Query(RARE))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        source.close()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB -> MB on Linux

        def row(what: str, seconds: float, note: str = "") -> None:
            print(
                f"{what:<36}: {seconds:7.3f} s  x{seconds / t_raw:6.2f} raw"
                f"  x{seconds / t_naive:5.2f} naive  {note}"
            )

        row("first screen (index layer)", t_first_ix)
        row("first screen (headless viewer)", t_first_tui)
        row("whole file indexed (viewer worker)", t_indexed_tui)
        row("index the whole file", t_index, f"{lines:,} lines")
        row(f"search {RARE!r}", t_rare, f"{rare} match")
        row(f"search {COMMON!r}", t_common, f"{common:,} matches")
        row("filter level >= ERROR", t_filter, f"{errors:,} lines")
        print(
            f"peak Python memory, index + search: {peak / 1e6:7.1f} MB"
            f" ({peak / lines:.1f} bytes/line; the file is {size / 1e6:.0f} MB)"
        )
        print(f"peak RSS of this process          : {rss:7.1f} MB")
    finally:
        if args.keep:
            print(f"kept {path}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
