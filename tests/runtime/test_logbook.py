import json
import logging
import re
from pathlib import Path

import pytest

from engine.model.incidents import incident
from engine.model.redact import redact, register_secret
from engine.runtime.logbook import RUN_START, setup_logging, utc_stamp


def test_ring_numbering_and_files(tmp_path: Path) -> None:
    book = setup_logging(tmp_path, "info", capacity=3)
    log = logging.getLogger("avin.test")
    for i in range(5):
        log.info("line %d", i)
    log.debug("hidden")
    entries = book.entries_since(0)
    assert [e.message for e in entries] == ["line 2", "line 3", "line 4"]
    assert book.entries_since(entries[-2].seq)[0].message == "line 4"
    assert book.entries_since(book.last_seq) == []
    assert entries[0].source == "test"
    assert "line 4" in (tmp_path / "avin.log").read_text()


def test_incident_is_json_line(tmp_path: Path) -> None:
    setup_logging(tmp_path)
    incident("kill switch", reason="manual", orders=3)
    record = json.loads((tmp_path / "incidents.log").read_text().splitlines()[-1])
    assert record["what"] == "kill switch" and record["orders"] == 3
    assert record["ts"].endswith("Z")


def test_secrets_are_redacted(tmp_path: Path) -> None:
    token = "t." + "Abcdefghij" * 5  # shaped like a T-Invest token, built here
    assert token not in redact(f"auth failed for Bearer {token}")
    assert "hunter2" not in redact("password=hunter2 user=bob")
    register_secret("my-plain-secret")
    book = setup_logging(tmp_path)
    logging.getLogger("avin.x").error("token is %s and my-plain-secret", token)
    assert token not in book.entries_since(0)[-1].message
    text = (tmp_path / "avin.log").read_text()
    assert token not in text and "my-plain-secret" not in text


def test_file_times_are_utc_with_z_whatever_the_machines_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect 16: avin.log was written in the machine's zone without saying so."""
    import time
    from datetime import UTC, datetime

    monkeypatch.setenv("TZ", "Europe/Moscow")
    time.tzset()
    try:
        book = setup_logging(tmp_path, "info")
        logging.getLogger("avin.engine").warning("a warning")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    entry = book.entries_since(0)[-1]
    line = (tmp_path / "avin.log").read_text().splitlines()[-1]
    assert line == f"{utc_stamp(entry.ts)} WARNING avin.engine: a warning"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line.split()[0])
    assert abs(datetime.fromisoformat(line.split()[0]) - datetime.now(UTC)).total_seconds() < 3600


def test_each_run_starts_with_a_line_and_the_book_knows_where(tmp_path: Path) -> None:
    setup_logging(tmp_path, "error")
    size = (tmp_path / "avin.log").stat().st_size
    book = setup_logging(tmp_path, "error")  # the next run, at a level that hides INFO
    assert (book.log_path, book.start_offset) == (tmp_path / "avin.log", size)
    text = (tmp_path / "avin.log").read_text()
    assert text.count(RUN_START) == 2
    assert text[size:].startswith(text.splitlines()[-1]) and RUN_START in text[size:]
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("avin.x").error("failed", exc_info=True)
    assert book.entries_since(0)[-1].detail.endswith("ValueError: bad")


def test_entries_since_reads_only_what_is_new_and_matches_the_ring() -> None:
    from engine.runtime.logbook import LogBook

    book = LogBook(capacity=7)
    assert book.entries_since(0) == []
    for i in range(20):
        book.handle(logging.LogRecord("avin.x", logging.INFO, __file__, 1, f"m{i}", None, None))
    ring = [e.seq for e in book.entries_since(-5)]
    assert ring == list(range(14, 21))
    for seq in range(-2, 23):
        for limit in (None, 0, 1, 3, 100):
            expected = [n for n in ring if n > seq]
            if limit:
                expected = expected[-limit:]
            assert [e.seq for e in book.entries_since(seq, limit)] == expected, (seq, limit)
