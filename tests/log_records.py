"""Log records of one logger, for tests that assert on what avin logged."""

from __future__ import annotations

import logging


class Records(logging.Handler):
    """Records of one logger, attached to it directly (another test's logging setup may have
    turned propagation to the root logger, and so pytest's caplog, off) and open to every level
    while it listens (another test's setup may have left a parent at ERROR, which would drop a
    WARNING before any handler sees it)."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.logger = logging.getLogger(name)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> Records:
        self.level_before = self.logger.level
        self.logger.setLevel(logging.DEBUG)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level_before)
