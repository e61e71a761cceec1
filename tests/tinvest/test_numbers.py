from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.broker.tinvest.numbers import (
    from_money,
    from_quotation,
    from_timestamp,
    money,
    quotation,
    timestamp,
    to_decimal,
    units_nano,
)

nine_places = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=9, allow_nan=False
)
small_negative = st.decimals(
    min_value=Decimal("-0.999999999"), max_value=Decimal("-0.000000001"), places=9
)


def test_facts_examples() -> None:
    assert units_nano(Decimal("-0.01")) == (0, -10_000_000)
    assert units_nano(Decimal("114.25")) == (114, 250_000_000)
    assert to_decimal(0, -10_000_000) == Decimal("-0.01")
    assert to_decimal(114, 250_000_000) == Decimal("114.25")
    assert str(to_decimal(100, 0)) == "100"
    assert units_nano(Decimal("-3.5")) == (-3, -500_000_000)


@given(nine_places)
def test_quotation_round_trip(value: Decimal) -> None:
    q = quotation(value)
    assert from_quotation(q) == value
    assert q.nano == 0 or q.units == 0 or (q.units < 0) == (q.nano < 0)
    assert abs(q.nano) < 1_000_000_000


@given(small_negative)
def test_values_between_minus_one_and_zero(value: Decimal) -> None:
    q = quotation(value)
    assert q.units == 0 and q.nano < 0
    assert from_quotation(q) == value


@given(nine_places, st.sampled_from(["rub", "usd"]))
def test_money_round_trip(value: Decimal, currency: str) -> None:
    m = money(value, currency)
    assert m.currency == currency
    assert from_money(m) == value


def test_more_than_nine_places_rounds_half_even() -> None:
    assert units_nano(Decimal("0.0000000005")) == (0, 0)
    assert units_nano(Decimal("0.0000000015")) == (0, 2)


def test_mixed_signs_are_refused() -> None:
    with pytest.raises(ValueError):
        to_decimal(1, -5)


def test_timestamps_need_aware_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        timestamp(datetime(2024, 3, 1, 7, 0))
    msk = timezone(timedelta(hours=3))
    ts = timestamp(datetime(2024, 3, 1, 10, 0, tzinfo=msk))
    assert from_timestamp(ts) == datetime(2024, 3, 1, 7, 0, tzinfo=UTC)
    assert from_timestamp(ts).tzinfo is UTC
