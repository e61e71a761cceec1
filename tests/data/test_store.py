"""The Parquet store: schema, metadata, idempotent merges, atomic writes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from engine.data import atomic
from engine.data.errors import StoreError
from engine.data.schema import BAR_SCHEMA, SCHEMA_VERSION
from engine.data.store import BarStore
from engine.data.synthetic import minute_bars, trading_days

CODE = "MOEX_SHARE_SBER"


def bars_for(year: int, days: int = 2, seed: int = 0) -> pl.DataFrame:
    return minute_bars(trading_days(year, days), seed=seed)


def test_layout_schema_and_metadata(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    data = pl.concat([bars_for(2022), bars_for(2023)])
    result = store.merge(CODE, "uid-1", data, "tinvest-archive")
    assert result.added == data.height
    assert store.years(CODE) == [2022, 2023]
    path = tmp_path / CODE / "1M" / "2023.parquet"
    assert path.exists()
    frame = pl.read_parquet(path)
    assert frame.schema == BAR_SCHEMA
    meta = store.meta(CODE, 2023)
    assert (meta.instrument, meta.uid, meta.sources, meta.version) == (
        CODE,
        "uid-1",
        ("tinvest-archive",),
        SCHEMA_VERSION,
    )
    assert store.read(CODE).equals(data.sort("ts"))


def test_merge_is_idempotent_and_deduplicates_overlaps(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    data = bars_for(2023, days=3)
    store.merge(CODE, "uid-1", data, "a")
    path = store.year_path(CODE, 2023)
    before = path.stat().st_mtime_ns, path.read_bytes()
    again = store.merge(CODE, "uid-1", data, "a")
    assert (again.added, again.replaced, again.files) == (0, 0, [])
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
    # an overlapping slice with one changed bar: nothing duplicated, the new value wins
    overlap = data.slice(100, 900).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("volume") + 1).otherwise("volume")
    )
    result = store.merge(CODE, "uid-1", overlap, "a")
    assert (result.added, result.replaced) == (0, 1)
    stored = store.read(CODE)
    assert stored.height == data.height
    assert stored["ts"].is_unique().all() and stored["ts"].is_sorted()
    assert stored["volume"][100] == data["volume"][100] + 1


def test_uid_conflict_is_an_error(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    store.merge(CODE, "uid-1", bars_for(2023), "a")
    with pytest.raises(StoreError, match="uid"):
        store.merge(CODE, "uid-2", bars_for(2023, seed=5), "a")


def test_a_crash_mid_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BarStore(tmp_path)
    data = bars_for(2023)
    store.merge(CODE, "uid-1", data, "a")
    path = store.year_path(CODE, 2023)
    original = path.read_bytes()

    real_replace = atomic.os.replace

    def crash(src: object, dst: object) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(atomic.os, "replace", crash)
    more = minute_bars(trading_days(2023)[5:7], seed=9)
    with pytest.raises(KeyboardInterrupt):
        store.merge(CODE, "uid-1", more, "a")
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert path.read_bytes() == original
    assert not [p for p in path.parent.iterdir() if atomic.is_temp(p)]  # temp removed


def test_a_left_over_temp_file_is_ignored_and_cleaned(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    store.merge(CODE, "uid-1", bars_for(2023), "a")
    folder = store.instrument_dir(CODE)
    stale = folder / f"2024.parquet{atomic.TEMP_MARK}999-dead"
    stale.write_bytes(b"half a parquet file")
    assert store.years(CODE) == [2023]
    store.merge(CODE, "uid-1", bars_for(2024), "a")
    assert not stale.exists()
    assert store.years(CODE) == [2023, 2024]


def test_bounds_and_read_range(tmp_path: Path) -> None:
    store = BarStore(tmp_path)
    data = pl.concat([bars_for(2022), bars_for(2023)])
    store.merge(CODE, "uid-1", data, "a")
    bounds = store.bounds(CODE)
    assert bounds == (data["ts"].min(), data["ts"].max())
    begin = datetime(2023, 1, 1, tzinfo=UTC)
    assert store.read(CODE, begin=begin).height == bars_for(2023).height
    assert store.bounds("MOEX_SHARE_NONE") is None


def test_concurrent_merges_do_not_lose_rows(tmp_path: Path) -> None:
    import threading

    store = BarStore(tmp_path)
    days = trading_days(2023, 12)
    parts = [minute_bars(days[i : i + 1], seed=i) for i in range(12)]
    threads = [
        threading.Thread(target=store.merge, args=(CODE, "uid-1", part, "a")) for part in parts
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.read(CODE).height == 12 * 840
