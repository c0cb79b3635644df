"""Property tests: every liquidation alert is valid Telegram HTML whatever the inputs, and
the console prints the same words without any markup.

Extreme inputs (tests/fakes/extremes.py): shares of exactly 0, 0.001, 0.005, 0.995, 0.999
and 1, amounts from $0 to beyond $1T, odd coin / venue / symbol names, missing, stale and
in-window market figures, many venues, long coin lists, coin rules and escalations.
"""

from __future__ import annotations

import html
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fakes.telegram_html import check_telegram_html
from bot.domain import MINUTE_MS, CoinMarket
from bot.market.context import CoinMove, MarketContext, build_context, dominant_coins
from bot.text.alert import alert_text, format_alert
from bot.text.telegram import venue_name
from bot.totals.result import Totals
from tests.fakes.extremes import (
    EDGE_SHARES,
    MARKUP_RE,
    NOW,
    coin_markets,
    rule_and_fire,
    totals,
    windows,
    without,
)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_TAG = re.compile(r"<[^>]+>")


@st.composite
def contexts(draw: st.DrawFn, t: Totals, coin: str | None) -> MarketContext | None:
    """No context, or one whose figures are fresh, stale, from inside the window, from
    long before it, or missing, coin by coin."""
    if not draw(st.booleans()):
        return None
    moves = []
    for name in dominant_coins(t, coin) or [draw(st.text(max_size=3))]:
        before_ts = draw(
            st.sampled_from((t.start_ms - 30_000, t.start_ms + 5 * MINUTE_MS, t.start_ms - 10**9))
        )
        before: CoinMarket | None = draw(st.none() | coin_markets(name, before_ts))
        now_ts = draw(st.sampled_from((NOW - 30_000, NOW - 60 * MINUTE_MS)))
        now: CoinMarket | None = draw(st.none() | coin_markets(name, now_ts))
        moves.append(CoinMove(name, before, now))
    return build_context(t, moves, NOW, 3 * MINUTE_MS)


@st.composite
def alerts(draw: st.DrawFn) -> tuple[object, ...]:
    window = draw(windows.filter(lambda w: w != "7d"))
    spec, fire = draw(rule_and_fire(window))
    t = draw(totals(window))
    day = draw(st.none() | totals("24h"))
    return spec, fire, t, day, draw(contexts(t, spec.coin))


def dynamic_pieces(args: tuple[object, ...]) -> list[str]:
    """Every name the inputs carry (coins, venues, symbols), to tell the formatter's own
    words from what it was given."""
    spec, _fire, t, day, context = args
    pieces: list[str] = []
    for x in (t, day):
        if isinstance(x, Totals):
            pieces += list(x.by_coin) + [venue_name(v) for v in (*x.by_exchange, *x.coverage)]
            if x.largest is not None:
                big = x.largest
                pieces += [big.coin, big.symbol, venue_name(big.exchange)]
    coin = getattr(spec, "coin", None)
    if coin:
        pieces.append(coin)
    if isinstance(context, MarketContext):
        pieces += [f.coin for f in context.facts]
    return pieces


@PROPERTY
@given(alerts())
def test_every_alert_is_valid_telegram_html(args: tuple[object, ...]) -> None:
    spec, fire, t, day, context = args
    text = format_alert(spec, fire, t, day, context)  # type: ignore[arg-type]
    check_telegram_html(text)  # only Telegram's tags, balanced, all escaped, <= 4096
    # The headline is never the line cut to fit (only a venue-down banner precedes it).
    assert any(x.startswith("🚨 ") for x in text.split("\n"))


@PROPERTY
@given(alerts())
def test_console_alert_is_the_telegram_alert_without_markup(args: tuple[object, ...]) -> None:
    spec, fire, t, day, context = args
    telegram = format_alert(spec, fire, t, day, context)  # type: ignore[arg-type]
    console = alert_text(spec, fire, t, day, context)  # type: ignore[arg-type]
    # The same lines in the same words (the Telegram text may have been cut to fit).
    sent = html.unescape(_TAG.sub("", telegram)).split("\n")
    assert console.split("\n")[: len(sent)] == sent
    # Plain text: no tag, no entity, except inside the names it was given.
    assert MARKUP_RE.search(without(console, dynamic_pieces(args))) is None
    console.encode("utf-8")  # printable on a UTF-8 terminal


@PROPERTY
@given(share=st.sampled_from(EDGE_SHARES), total=st.sampled_from((118e6, 1e12, 5e12)))
def test_one_sided_cascade_alert_shows_its_shares(share: float, total: float) -> None:
    """The 99.5%-longs alert that no chat received: its shares are there, escaped."""
    from bot.alerts.rules import FIRST, Fire
    from bot.domain import RuleSpec
    from bot.totals.result import ExchangeTotals

    long_usd, short_usd = total * share, total * (1 - share)
    t = Totals(
        window="1h",
        start_ms=NOW - 3_600_000,
        end_ms=NOW,
        long_usd=long_usd,
        short_usd=short_usd,
        long_count=2000,
        short_count=3,
        by_exchange={"binance": ExchangeTotals(long_usd, short_usd, 2000, 3)},
        by_coin={},
        largest=None,
    )
    text = format_alert(RuleSpec("1h", 100e6), Fire(FIRST, 1, total, 100e6), t)
    check_telegram_html(text)
    shown = {0.0: ("0%", "100%"), 0.001: ("&lt;1%", "&gt;99%"), 0.005: ("&lt;1%", "&gt;99%")}
    shown |= {1.0: ("100%", "0%"), 0.995: ("&gt;99%", "&lt;1%"), 0.999: ("&gt;99%", "&lt;1%")}
    longs, shorts = shown[share]
    assert f"({longs}) · Shorts" in text and f"({shorts}) · 2,003 liquidations" in text
