"""The one reading function (bot/market/reading.py): each reading against facts that call for it
and facts that forbid it, and for random facts, no claim the facts do not support."""

from __future__ import annotations

import datetime as dtm
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import HOUR_MS
from bot.market.reading import CoinFacts, read
from bot.totals.result import Totals

M = 1_000_000.0
END = int(dtm.datetime(2026, 12, 2, 7, 30, tzinfo=dtm.UTC).timestamp() * 1000)
INSIDE = int(dtm.datetime(2026, 12, 2, 6, 54, tzinfo=dtm.UTC).timestamp() * 1000)


def window(long_usd: float, short_usd: float) -> Totals:
    return Totals(
        window="1h",
        start_ms=END - HOUR_MS,
        end_ms=END,
        long_usd=long_usd,
        short_usd=short_usd,
        long_count=1,
        short_count=1,
        by_exchange={},
        by_coin={},
        largest=None,
    )


def facts(
    price: float | None = None,
    before: float | None = None,
    now: float | None = None,
    oi: float | None = None,
    oi_usd: float | None = None,
    since: int | None = None,
    *,
    current: bool = True,
    earlier: bool = True,
) -> CoinFacts:
    return CoinFacts("BTC", price, before, now, oi, oi_usd, since, current, earlier)


LONGS = window(5.24 * M, 0.01 * M)  # longs >99%
SHORTS = window(1 * M, 9 * M)
BOTH = window(55 * M, 45 * M)


def test_the_reported_contradiction_is_gone() -> None:
    """``Long squeeze: longs 100% of $5.25M; funding now −0.012%/8h (crowded shorts)``:
    the label now says what negative funding means."""
    r = read(LONGS, facts(now=-0.00012, oi_usd=991.8 * M, earlier=False))
    assert r.text == (
        "Long squeeze: longs >99% of $5.25M; funding now −0.012%/8h"
        " (negative: shorts are paying longs); open interest $991.8M;"
        " no earlier poll in the window to compare"
    )
    assert "crowded shorts" not in r.text and "missing" not in r.text
    was = read(LONGS, facts(before=-0.00012, now=0.0001, current=True))
    assert (
        "funding was −0.012%/8h (negative: shorts were paying longs), now +0.010%/8h" in was.text
    )
    short = read(SHORTS, facts(now=0.0005))
    assert "funding now +0.050%/8h (positive: longs are paying shorts)" in short.text


def test_crowding_label_where_it_agrees_with_the_side() -> None:
    assert "(crowded longs)" in read(LONGS, facts(before=0.00031)).text
    assert "(crowded shorts)" in read(SHORTS, facts(now=-0.0002)).text
    assert "(crowded shorts)" in read(BOTH, facts(now=-0.0002)).text
    neutral = read(LONGS, facts(now=0.0001)).text  # the +0.01%/8h baseline: no label
    assert "; funding now +0.010%/8h;" in neutral


@pytest.mark.parametrize(
    ("totals", "price", "mark", "label"),
    [
        (LONGS, -0.042, "📉", "Long squeeze"),
        (LONGS, 0.0, "📉", "Long squeeze"),  # flat: the side is the fact, no move claimed
        (LONGS, None, "📉", "Long squeeze"),
        (LONGS, 0.02, "🔴", "Longs liquidated"),  # the price rose: no "squeeze"
        (SHORTS, 0.04, "📈", "Short squeeze"),
        (SHORTS, -0.01, "🟢", "Shorts liquidated"),
        (BOTH, -0.05, "↔️", "Two-sided"),
    ],
)
def test_side_label_from_shares_and_price(
    totals: Totals, price: float | None, mark: str, label: str
) -> None:
    r = read(totals, facts(price=price))
    assert (r.mark, r.label) == (mark, label)
    assert r.text.startswith(f"{label}: ")
    if price is not None:
        assert f"BTC {'+' if price > 0 else '−' if price < 0 else ''}" in r.text


def test_without_market_figures_no_claim_about_them() -> None:
    assert read(LONGS, None, market=False).text == "Long squeeze: longs were >99% of it."
    assert read(SHORTS, None, market=False).text == "Short squeeze: shorts were 90% of it."
    assert read(BOTH, None, market=False).text == (
        "Two-sided: longs 55%, shorts 45%; both sides were flushed."
    )
    for t in (LONGS, SHORTS, BOTH):
        text = read(t, None, market=False).text
        assert "price" not in text and "forced out" not in text
    assert read(window(0, 0), None).text == "No liquidations in this window."


def test_missing_only_when_there_is_nothing() -> None:
    assert read(LONGS, None).text.endswith("; funding/OI data missing or stale")
    nothing = facts(current=False, earlier=False)
    assert read(LONGS, nothing).text.endswith("; funding/OI data missing or stale")
    oi_only = read(LONGS, facts(oi_usd=991.8 * M, earlier=False)).text
    assert "open interest $991.8M" in oi_only and "OI data missing" not in oi_only
    assert "funding data missing or stale" in oi_only  # no rate at either end: said
    funding_only = read(LONGS, facts(before=0.0001, current=False)).text
    assert funding_only.endswith("funding was +0.010%/8h; OI data missing or stale")


def test_changes_from_inside_the_window_say_since_when() -> None:
    r = read(LONGS, facts(price=-0.04, before=0.0001, now=0.0001, oi=-0.061, since=INSIDE))
    assert r.text == (
        "Long squeeze: longs >99% of $5.25M; BTC −4.0% since 06:54 UTC;"
        " funding was +0.010%/8h at 06:54 UTC, now +0.010%/8h;"
        " open interest −6.1% since 06:54 UTC (deleveraging)"
    )


@pytest.mark.parametrize(
    ("oi", "label"),
    [
        (-0.061, "deleveraging"),
        (-0.0099, None),
        (0.0, None),
        (0.0099, None),
        (0.033, "positions added"),
    ],
)
def test_oi_label_follows_the_change(oi: float, label: str | None) -> None:
    text = read(SHORTS, facts(oi=oi)).text
    for name in ("deleveraging", "positions added"):
        assert (name in text) == (name == label)


rates = st.none() | st.sampled_from((-0.003, -0.0002, -0.0001, 0.0, 0.0001, 0.0003, 0.002))
changes = (
    st.none() | st.sampled_from((-0.2, -0.01, -0.0049, 0.0, 0.0049, 0.01, 0.2)) | st.floats(-1, 1)
)


@settings(max_examples=500, deadline=None)
@given(
    longs=st.sampled_from((0.0, 0.001, 0.5, 0.75, 0.76, 0.999, 1.0)) | st.floats(0, 1),
    total=st.sampled_from((1.0, 5.25 * M, 1e12)),
    price=changes,
    before=rates,
    now=rates,
    oi=changes,
    oi_usd=st.none() | st.just(991.8 * M),
    since=st.none() | st.just(INSIDE),
    lead=st.booleans(),
    market=st.booleans(),
)
def test_random_facts_never_contradicted(
    longs: float,
    total: float,
    price: float | None,
    before: float | None,
    now: float | None,
    oi: float | None,
    oi_usd: float | None,
    since: int | None,
    lead: bool,
    market: bool,
) -> None:
    t = window(total * longs, total - total * longs)
    f = facts(price, before, now, oi, oi_usd, since, current=now is not None or oi_usd is not None)
    r = read(t, f if lead else None, market=market)
    text = r.text
    share = t.long_usd / t.total_usd
    # Side labels follow the shares, and a "squeeze" never has the price against it.
    if "Long squeeze" in text or "Longs liquidated" in text:
        assert share > 0.75
    if "Short squeeze" in text or "Shorts liquidated" in text:
        assert 1 - share > 0.75
    if "Long squeeze" in text and lead:
        assert price is None or price < 0.005
    if "Short squeeze" in text and lead:
        assert price is None or price > -0.005
    assert (r.mark == "📉") == ("Long squeeze" in text)
    assert (r.mark == "📈") == ("Short squeeze" in text)
    # Nothing is said of the market unless it was looked up; no causes are invented.
    assert "forced out" not in text and "fell" not in text and "rose" not in text
    if not market or not lead:
        assert "BTC " not in text and "funding now" not in text and "funding was" not in text
    # A stated price move has the sign of the fact.
    m = re.search(r"BTC ([+−]?)[0-9.]+%", text)
    if m:
        assert price is not None
        sign = {"+": 1, "−": -1, "": 0}[m.group(1)]
        assert sign * price > 0 if sign else abs(price) <= 0.0005
    # Funding labels: crowding only in agreement with the side; otherwise explained.
    if "crowded longs" in text:
        assert "Short squeeze" not in text and "Shorts liquidated" not in text
        assert max(x for x in (before, now) if x is not None) >= 0.0003
    if "crowded shorts" in text:
        assert "Long squeeze" not in text and "Longs liquidated" not in text
        assert min(x for x in (before, now) if x is not None) <= -0.0001
    if "shorts were paying" in text:
        assert before is not None and before < 0
    if "shorts are paying" in text:
        assert now is not None and now < 0 and before is None
    if "longs were paying" in text:
        assert before is not None and before > 0
    # OI labels follow the change; "missing" only for figures that are not there.
    if "deleveraging" in text:
        assert oi is not None and oi <= -0.01
    if "positions added" in text:
        assert oi is not None and oi >= 0.01
    if "OI data missing" in text or "funding/OI data missing" in text:
        assert not lead or (oi is None and oi_usd is None)
    if "funding data missing" in text:
        assert before is None and now is None
    if "since 06:54 UTC" in text:
        assert since == INSIDE
