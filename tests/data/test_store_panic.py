"""A stored Parquet file damaged so that polars' Rust code panics (a BaseException, not an
Exception) is reported as a damaged file like any other, never ending the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data.errors import StoreError
from engine.data.store import read_bars_file
from engine.data.ticks import _read_file

PANICS = Path(__file__).parents[1] / "fuzz" / "regressions" / "backtest_data"


@pytest.mark.parametrize("read", [read_bars_file, _read_file])
def test_a_file_that_makes_polars_panic_is_a_store_error(tmp_path: Path, read) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "2024.parquet"
    path.write_bytes((PANICS / "parquet-time-zone-panic").read_bytes()[1:])
    with pytest.raises(StoreError, match="Move the damaged file away"):
        read(path)
