"""The mutation check: break one wire mapping of the adapter, the wire tests must fail.

Each case runs ``test_wire_semantics.py`` in a child pytest with ``AVIN_WIRE_MUTATION`` set (the
``tests.tinvest.wire_mutations`` plugin swaps the pair in place) and asserts the run fails, and
that the tests named in ``CAUGHT_BY`` are among the failures: the record of which test catches
which mutation. An unmutated child run passes (so the failures come from the mutation).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests/tinvest/test_wire_semantics.py"
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts="]

# mutation -> tests that must fail under it (test function names, any parameter)
CAUGHT_BY: dict[str, set[str]] = {
    "direction": {  # BUY <-> SELL in DIRECTION (and SIDE)
        "test_order_direction_codes",
        "test_order_state_direction_is_read_from_the_facts",
        "test_a_limit_order_reaches_the_exchange_as_sent",
        "test_a_market_order_moves_the_position_the_right_way",
    },
    "stop_type": {  # STOP_LOSS <-> TAKE_PROFIT in STOP_TYPE (and STOP_KIND)
        "test_stop_order_type_codes",
        "test_stop_order_kind_is_read_from_the_facts",
        "test_a_stop_order_reaches_the_exchange_as_its_kind",
    },
    "stop_direction": {
        "test_stop_direction_codes",
        "test_a_stop_order_reaches_the_exchange_as_its_kind",
    },
    "order_type": {  # LIMIT <-> MARKET
        "test_order_type_codes",
        "test_a_limit_order_reaches_the_exchange_as_sent",
        "test_a_market_order_moves_the_position_the_right_way",
    },
    "status": {"test_execution_report_status_codes", "test_open_statuses_are_sent_as_new"},
    "stop_status": {"test_stop_order_status_codes"},
    "time_in_force": {"test_a_limit_order_reaches_the_exchange_as_sent"},
    "nano_sign": {
        "test_quotation_codec",
        "test_money_codec",
        "test_tenth_decimal_rounds_half_even",
    },
}


def _run(mutation: str) -> tuple[int, set[str], str]:
    env = {**os.environ, "AVIN_WIRE_MUTATION": mutation}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [*PYTEST, "-p", "tests.tinvest.wire_mutations", MODULE, "-q", "-rf"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    failed = set(re.findall(r"^FAILED \S+::(\w+)", proc.stdout, flags=re.M))
    return proc.returncode, failed, proc.stdout[-3000:]


def test_the_plugin_knows_every_recorded_mutation() -> None:
    from tests.tinvest.wire_mutations import MUTATIONS

    assert set(MUTATIONS) == set(CAUGHT_BY)


@pytest.mark.slow
def test_unmutated_wire_tests_pass() -> None:
    code, failed, out = _run("")
    assert code == 0 and not failed, out


@pytest.mark.slow
@pytest.mark.parametrize("mutation", sorted(CAUGHT_BY))
def test_a_swapped_wire_mapping_fails_the_wire_tests(mutation: str) -> None:
    code, failed, out = _run(mutation)
    assert code == 1, f"mutation {mutation!r} survived:\n{out}"
    missing = CAUGHT_BY[mutation] - failed
    assert not missing, f"{mutation}: expected {sorted(missing)} to fail; failed: {sorted(failed)}"
