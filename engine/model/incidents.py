"""Incidents: critical events recorded apart from the ordinary log.

:func:`incident` writes to the ``avin.incidents`` logger; ``engine.runtime.logbook`` routes that
logger to ``incidents.log`` (one JSON line per incident, redacted), the main log and the UI. Any
layer may record an incident without knowing where it goes.
"""

from __future__ import annotations

import logging
from typing import Any

INCIDENTS = "avin.incidents"  # the logger name


def incident(what: str, **details: Any) -> None:
    """Record a critical event: the incidents log (JSON lines), the main log and the UI."""
    logging.getLogger(INCIDENTS).critical(what, extra={"details": details})
