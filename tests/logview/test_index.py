"""The line index finds exactly the lines ``bytes.splitlines`` finds, in one go or in steps."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avin_tui.logview import index as index_module
from avin_tui.logview.index import LineIndex

# bytes that make lines interesting: terminators, non-UTF-8, multi-byte UTF-8 pieces
ALPHABET = st.sampled_from([b"a", b"Z", b" ", b"\n", b"\r", b"\r\n", b"\xff", b"\xd0", b"\x9f"])
CONTENT = st.lists(ALPHABET, max_size=60).map(b"".join)


def write(tmp: Path, data: bytes) -> Path:
    path = tmp / "log.txt"
    path.write_bytes(data)
    return path


def all_lines(ix: LineIndex) -> list[bytes]:
    return [ix.line_bytes(i) for i in range(ix.line_count)]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=CONTENT, block=st.integers(1, 7), step=st.one_of(st.none(), st.integers(1, 9)))
def test_index_finds_exactly_splitlines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes, block: int, step: int | None
) -> None:
    monkeypatch.setattr(index_module, "BLOCK", block)  # terminators split across blocks
    with LineIndex(write(tmp_path, data)) as ix:
        if step is None:
            assert ix.scan() is True
        else:
            for _ in range(len(data) + 2):
                if ix.scan(step):
                    break
        assert ix.done
        assert all_lines(ix) == data.splitlines()
        expected = [b.decode("utf-8", "replace") for b in data.splitlines()]
        assert ix.lines(0, ix.line_count) == expected
        got = [(first, n, raw.splitlines()) for first, n, raw in ix.blocks(block=5)]
        assert [x for _, _, lines in got for x in lines] == data.splitlines()
        assert all(len(lines) == n for _, n, lines in got)
        back = [raw.splitlines() for _, _, raw in ix.blocks_before(ix.line_count, block=5)]
        assert [x for lines in reversed(back) for x in lines] == data.splitlines()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(CONTENT, min_size=1, max_size=5))
def test_a_growing_file_is_indexed_as_if_read_at_once(tmp_path: Path, parts: list[bytes]) -> None:
    """Appends may split a "\\r\\n" or a line: the index ends up the same as a fresh one."""
    path = write(tmp_path, b"")
    with LineIndex(path) as ix:
        so_far = b""
        for part in parts:
            with path.open("ab") as f:
                f.write(part)
            so_far += part
            ix.scan()
            assert all_lines(ix) == so_far.splitlines()


def test_truncated_file_is_indexed_again(tmp_path: Path) -> None:
    path = write(tmp_path, b"one\ntwo\nthree\n")
    with LineIndex(path) as ix:
        ix.scan()
        assert ix.line_count == 3
        path.write_bytes(b"new\n")
        ix.scan()
        assert all_lines(ix) == [b"new"] and ix.generation == 1


def test_long_line_is_cut_for_display_and_offsets_map_to_lines(tmp_path: Path) -> None:
    path = write(tmp_path, b"short\n" + b"x" * 200_000 + b"\nlast")
    with LineIndex(path) as ix:
        ix.scan()
        assert len(ix.line_bytes(1)) == index_module.MAX_LINE
        assert ix.line(2) == "last"
        assert [ix.line_at_offset(o) for o in (0, 5, 6, 200_006, 200_007)] == [0, 0, 1, 1, 2]


def test_closed_index_refuses_to_read(tmp_path: Path) -> None:
    ix = LineIndex(write(tmp_path, b"a\n"))
    ix.scan()
    ix.close()
    with pytest.raises(ValueError, match="closed"):
        ix.scan()
    ix.close()  # twice is fine
    assert not os.path.exists(tmp_path / "nothing")
