"""Notices (bot/alerts/notice.py): an alert as data, stored as JSON and read back exactly.

Round trips run on the extreme inputs of tests/fakes/extremes.py (shares 0 and 1, $0 and
absurd amounts, odd and lone-surrogate names, missing market figures, escalations to
2**40x), and the text rendered from the stored notice is the text of the original.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.notice import (
    FundingNotice,
    LiquidationNotice,
    NoticeError,
    from_json,
    to_json,
)
from bot.alerts.rules import ESCALATION, FIRST, Fire
from bot.domain import CoinMarket, RuleSpec
from bot.text.notice import notice_html, notice_plain
from bot.totals.result import Totals
from tests.fakes.extremes import amounts, coin_markets, totals
from tests.text.test_html_properties import alerts

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(alerts())
def test_a_liquidation_notice_round_trips_exactly(args: tuple[object, ...]) -> None:
    notice = LiquidationNotice(*args)  # type: ignore[arg-type]
    stored = to_json(notice)
    back = from_json(stored)
    assert back == notice
    assert to_json(back) == stored
    assert notice_html(back) == notice_html(notice)
    assert notice_plain(back) == notice_plain(notice)  # type: ignore[arg-type]
    stored.encode("utf-8")  # storable in SQLite whatever the names hold


@PROPERTY
@given(coin_markets(), st.sampled_from((1, 2, 8, 2**40)), amounts)
def test_a_funding_notice_round_trips_exactly(
    market: CoinMarket, multiple: int, total: float
) -> None:
    kind = ESCALATION if multiple > 1 else FIRST
    notice = FundingNotice(market, Fire(kind, multiple, total, 0.001))
    back = from_json(to_json(notice))
    assert back == notice
    assert notice_html(back) == notice_html(notice)


@given(totals("1h"), st.sampled_from((-0.0, math.inf, -math.inf, 5e-324, 1.7976931348623157e308)))
@settings(max_examples=30, deadline=None)
def test_odd_floats_keep_their_exact_value(t: Totals, value: float) -> None:
    notice = LiquidationNotice(RuleSpec("1h", 1.0), Fire(FIRST, 1, value, 1.0), t, None, None)
    back = from_json(to_json(notice))
    assert isinstance(back, LiquidationNotice)
    assert math.copysign(1.0, back.fire.total) == math.copysign(1.0, value)
    assert back.fire.total == value and back == notice


def test_nan_survives_the_round_trip() -> None:
    fire = Fire(FIRST, 1, math.nan, 1.0)
    notice_json = to_json(LiquidationNotice(RuleSpec("1h", 1.0), fire, _empty_totals()))
    back = from_json(notice_json)
    assert isinstance(back, LiquidationNotice) and math.isnan(back.fire.total)
    assert to_json(back) == notice_json


def test_whole_numbers_in_float_fields_come_back_as_floats() -> None:
    notice = LiquidationNotice(RuleSpec("1h", 100), Fire(FIRST, 1, 120, 100), _empty_totals())
    back = from_json(to_json(notice))
    assert isinstance(back, LiquidationNotice)
    assert type(back.spec.threshold) is float and type(back.fire.total) is float
    assert type(back.fire.multiple) is int


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not json",
        "[]",
        '{"kind": "whale"}',
        '{"kind": "funding"}',
        '{"kind": "liquidation", "spec": {"window": "1h", "threshold": "big"}}',
    ],
)
def test_an_unreadable_notice_is_a_clear_error(stored: str) -> None:
    with pytest.raises(NoticeError, match=r"notice|not a|expected|whale"):
        from_json(stored)


def test_an_extra_field_from_a_newer_version_is_ignored() -> None:
    notice = LiquidationNotice(RuleSpec("1h", 1.0), Fire(FIRST, 1, 2.0, 1.0), _empty_totals())
    data = json.loads(to_json(notice))
    data["spec"]["added_later"] = 1
    assert from_json(json.dumps(data)) == notice


def _empty_totals() -> Totals:
    return Totals(
        window="1h",
        start_ms=0,
        end_ms=3_600_000,
        long_usd=0.0,
        short_usd=0.0,
        long_count=0,
        short_count=0,
        by_exchange={},
        by_coin={},
        largest=None,
    )
