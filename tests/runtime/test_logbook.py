import json
import logging
from pathlib import Path

from engine.runtime.logbook import incident, setup_logging
from engine.runtime.redact import redact, register_secret


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
