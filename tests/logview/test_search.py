"""Search, filters, entries and files of the log viewer, without Textual."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avin_tui.logview.files import log_files, previous_run, tail_lines
from avin_tui.logview.index import LineIndex
from avin_tui.logview.parse import RUN_MARK, parse_line
from avin_tui.logview.search import (
    LogFilter,
    Query,
    QueryError,
    filter_file,
    lines_matching_text,
    search_file,
)
from avin_tui.logview.sources import FileSource, MemorySource, Scan
from engine.runtime.logbook import RUN_START

LOG = """\
2026-12-04T10:00:00.000Z INFO    avin: --- avin started (pid 1) ---
2026-12-04T10:00:01.000Z INFO    avin.engine: connecting to sim (sim)
2026-12-04T10:00:02.000Z WARNING avin.orders: update for an unknown order 1a2b3c4d (filled)
2026-12-04T10:00:03.000Z ERROR   avin.engine: the engine failed on BarEvent: boom
Traceback (most recent call last):
  File "x.py", line 1, in <module>
ZeroDivisionError: boom
2026-12-04T10:00:04.000Z INFO    avin.strategy.sma:SBER:sim-1: signal MOEX_SHARE_SBER buy
2026-12-04 10:00:05,000 DEBUG   avin.engine: an old-format line
"""


def lines_with(text: str, needle: str) -> list[int]:
    return [i for i, line in enumerate(text.encode().splitlines()) if needle in line.decode()]


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "avin.log"
    path.write_text(LOG)
    return path


WORDS = st.sampled_from(["ab", "AB", "x", " ", "\n", "\r", "\r\n", "é", "b a"])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.lists(WORDS, max_size=30).map("".join), needle=st.sampled_from(["a", "b a", "x"]))
def test_search_finds_the_lines_a_line_by_line_search_finds(
    tmp_path: Path, text: str, needle: str
) -> None:
    expected = [i for i, line in enumerate(text.splitlines()) if needle in line.lower()]
    # str.splitlines knows no other breaks in this alphabet, so it agrees with bytes.splitlines
    assert lines_matching_text(text, Query(needle).compile()) == expected
    path = tmp_path / "s.log"
    path.write_bytes(text.encode())
    with LineIndex(path) as ix:
        ix.scan()
        found = [n for batch in search_file(ix, Query(needle)) for n in batch]
    assert found == expected


def test_query_smart_case_regex_and_bad_regex() -> None:
    assert Query("boom").compile().search("BOOM")
    assert not Query("Boom").compile().search("BOOM")
    assert Query(r"order [0-9a-f]{8}", regex=True).compile().search("order 1a2b3c4d")
    assert not Query("a.c").compile().search("abc")  # plain text: the dot is a dot
    with pytest.raises(QueryError, match="regular expression"):
        Query("(", regex=True).compile()
    assert lines_matching_text("a\nb\r\nc", Query("$", regex=True).compile()) == [0, 1, 2]


def test_search_a_file_in_blocks_and_stop_when_cancelled(log_file: Path) -> None:
    with LineIndex(log_file) as ix:
        ix.scan()
        found = [n for batch in search_file(ix, Query("boom")) for n in batch]
        assert found == lines_with(LOG, "boom")
        cancel = threading.Event()
        cancel.set()
        assert list(search_file(ix, Query("boom"), cancel=cancel)) == []


def test_filters_level_source_text_and_continuation_lines(log_file: Path) -> None:
    def shown(flt: LogFilter) -> list[int]:
        with LineIndex(log_file) as ix:
            ix.scan()
            return [n for batch in filter_file(ix, flt) for n in batch]

    assert shown(LogFilter()) == list(range(9))
    assert shown(LogFilter("WARNING")) == [2, 3, 4, 5, 6]  # the traceback goes with its error
    assert shown(LogFilter("ERROR")) == [3, 4, 5, 6]
    assert shown(LogFilter(source="orders")) == [2]
    assert shown(LogFilter(source="strategy")) == [7]
    assert shown(LogFilter("DEBUG", "engine", Query("boom"))) == [3, 6]
    assert not LogFilter().active and LogFilter("INFO").active


def test_parse_both_formats_incidents_and_fields(log_file: Path) -> None:
    head = parse_line(LOG.splitlines()[3])
    assert (head.ts, head.level, head.source) == (
        "2026-12-04T10:00:03.000Z",
        "ERROR",
        "avin.engine",
    )
    old = parse_line(LOG.splitlines()[8])
    assert old.level == "DEBUG" and old.message == "an old-format line"
    assert parse_line("  File x").level is None
    incident = parse_line('{"ts": "2026-12-04T10:00:00Z", "what": "kill switch", "orders": 3}')
    assert incident.level == "CRITICAL" and incident.extra == {"orders": 3}
    assert parse_line(LOG.splitlines()[0]).is_run_start
    assert RUN_MARK == RUN_START  # the engine writes what the viewer looks for

    source = FileSource(log_file)
    source.index.scan()
    entry = source.entry(5)  # inside the traceback: the whole error entry
    assert entry.line == 3 and entry.head.level == "ERROR"
    assert entry.traceback.startswith("Traceback") and "ZeroDivisionError" in entry.traceback
    assert source.entry(2).fields() == {"order": "1a2b3c4d"}
    assert source.entry(7).fields() == {
        "instrument": "MOEX_SHARE_SBER",
        "strategy": "sma:SBER:sim-1",
    }
    source.close()


def test_memory_source_keeps_numbers_when_the_ring_drops_lines() -> None:
    mem = MemorySource(capacity=3)
    mem.append([(f"2026-12-04T10:00:0{i}.000Z INFO    avin.x: line {i}", "") for i in range(5)])
    assert (mem.first, mem.count) == (2, 5)
    assert mem.lines(0, 5) == [
        f"2026-12-04T10:00:0{i}.000Z INFO    avin.x: line {i}" for i in (2, 3, 4)
    ]
    scan = Scan.search(mem, Query("line 3"))
    scan.run()
    assert list(scan.found) == [3] and scan.done
    mem.append([("2026-12-04T10:00:09.000Z ERROR   avin.x: line 9", "Traceback\nValueError")])
    assert not scan.done
    scan.run()
    assert mem.entry(5).traceback == "Traceback\nValueError"


def test_log_files_previous_run_and_tail(tmp_path: Path) -> None:
    for name in (
        "avin.log",
        "avin.log.2",
        "avin.log.1",
        "incidents.log",
        "other.txt",
        "avin.log.x",
    ):
        (tmp_path / name).write_text("x\n")
    assert [f.path.name for f in log_files(tmp_path)] == [
        "avin.log",
        "avin.log.1",
        "avin.log.2",
        "incidents.log",
    ]
    run1 = f"2026-12-04T09:00:00.000Z INFO    avin: {RUN_START} (pid 1) ---\nold 1\n"
    run2 = f"2026-12-04T10:00:00.000Z INFO    avin: {RUN_START} (pid 2) ---\nprevious end\n"
    (tmp_path / "avin.log").write_text(run1 + run2)
    offset = len((run1 + run2).encode())
    with (tmp_path / "avin.log").open("a") as f:
        f.write("this run\n")
    assert previous_run(tmp_path, offset) == run2.splitlines()
    (tmp_path / "avin.log.1").write_text(run1)
    assert previous_run(tmp_path, 0) == run1.splitlines()  # this run began a new file
    many = "".join(f"line {i}\n" for i in range(50_000))
    (tmp_path / "big.log").write_text(many)
    assert tail_lines(tmp_path / "big.log", None, 3) == ["line 49997", "line 49998", "line 49999"]


def test_scans_and_indexing_stop_when_asked(log_file: Path) -> None:
    """The app quitting cancels the workers: they stop at the next block, not at the end."""
    source = FileSource(log_file)
    source.index_all(stop=lambda: True)
    assert not source.scanning
    source.index.scan()
    scan = Scan.search(source, Query("boom"))
    scan.run(stop=lambda: True)
    assert list(scan.found) == [] and scan.next == 0 and not scan.running
    scan.run()
    assert list(scan.found) == [3, 6] and scan.done
    source.close()


LINE_KINDS = st.sampled_from(
    [
        "2026-12-04T10:00:00.000Z DEBUG   avin.engine: d",
        "2026-12-04T10:00:00.000Z INFO    avin.orders: i",
        "2026-12-04T10:00:00.000Z WARNING avin.risk: w",
        "2026-12-04T10:00:00.000Z ERROR   avin.strategy.a:B:c: e",
        "2026-12-04T10:00:00.000Z CRITICAL avin.incidents: c",
        "2026-12-04 10:00:00,000 ERROR   avin.engine: old format",
        '{"ts": "2026-12-04T10:00:00Z", "what": "kill"}',
        "Traceback (most recent call last):",
        "  File x",
        "",
        "2026-12-04T10:00:00.000Z INFO    no colon",
        "2026-12-04T10:00:00.000Z",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(LINE_KINDS, max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=4),
    level=st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR"]),
)
def test_level_filter_by_block_agrees_with_the_line_loop(
    lines: list[str], cuts: list[int], level: str
) -> None:
    """The numpy path (a level alone) and the per-line loop let the same lines through,
    however the lines are cut into blocks."""
    bounds = sorted({0, len(lines), *(c for c in cuts if c <= len(lines))})
    fast, slow = LogFilter(level).matcher(), LogFilter(level).matcher(per_line=True)
    got_fast: list[int] = []
    got_slow: list[int] = []
    for a, b in itertools.pairwise(bounds):
        got_fast += fast(lines[a:b], a)
        got_slow += slow(lines[a:b], a)
    assert got_fast == got_slow


def test_a_line_still_being_written_is_searched_again_once_whole(tmp_path: Path) -> None:
    path = tmp_path / "avin.log"
    path.write_bytes(b"first\nboo")  # the writer is in the middle of a line
    source = FileSource(path)
    source.index.scan()
    assert source.index.tail_open
    scan = Scan.search(source, Query("boom"))
    scan.run()
    assert list(scan.found) == [] and scan.next == 1 and scan.done
    with path.open("ab") as f:
        f.write(b"m")  # still no newline: found, and looked at again later
    source.index.scan()
    scan.run()
    assert list(scan.found) == [1] and scan.next == 1
    with path.open("ab") as f:
        f.write(b" boom\nlast\n")
    source.index.scan()
    assert not source.index.tail_open and not scan.done
    scan.run()
    assert list(scan.found) == [1] and scan.done  # once
