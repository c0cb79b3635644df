"""Property tests: every command reply (/liq, /top, /settings, /status, /help, /funding,
/oi), the funding alert and the console's own texts hold up under extreme inputs.

Replies are checked as the bot sends them (``fit_html``, what ``handlers.command`` applies
to every reply); the funding alert goes out as formatted, so it must fit by itself.
Console output is plain text: no tag and no entity of the formatter's own.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fakes.telegram_html import check_telegram_html
from bot.alerts.rules import ESCALATION, FIRST, Fire
from bot.chats import ChatSettings
from bot.domain import HOUR_MS, MINUTE_MS, RuleSpec, RuleState
from bot.market.context import CoinMove, build_context
from bot.text.console import summary_line, totals_text
from bot.text.market import (
    format_funding_alert,
    format_funding_coin,
    format_funding_market,
    format_oi_coin,
    format_oi_market,
)
from bot.text.telegram import venue_name
from bot.text.totals import (
    fit_html,
    format_help,
    format_liq,
    format_settings,
    format_status,
    format_top,
)
from bot.totals.result import Totals
from storage.chats import ChatRow, RuleRow
from tests.fakes.extremes import (
    MARKUP_RE,
    NOW,
    amounts,
    coin_markets,
    names,
    totals,
    venues,
    windows,
    without,
)

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sent(text: str) -> None:
    """The reply as the bot sends it is accepted by Telegram."""
    check_telegram_html(fit_html(text))


@PROPERTY
@given(data=st.data(), coin=st.none() | names, with_context=st.booleans())
def test_liq_reply(data: st.DataObject, coin: str | None, with_context: bool) -> None:
    main = data.draw(totals())
    beside = data.draw(st.lists(totals(max_venues=2, max_coins=2), max_size=4))
    context = None
    if with_context:
        lead = coin or next(iter(main.by_coin), "BTC")
        before = data.draw(st.none() | coin_markets(lead, main.start_ms + MINUTE_MS))
        now = data.draw(st.none() | coin_markets(lead, NOW - 30_000))
        context = build_context(main, [CoinMove(lead, before, now)], NOW, 3 * MINUTE_MS)
    top_n = data.draw(st.integers(0, 60))
    sent(format_liq(main, beside, NOW, coin, top_n, context))


@PROPERTY
@given(t=totals(), limit=st.integers(0, 100))
def test_top_reply(t: Totals, limit: int) -> None:
    sent(format_top(t, limit))


rule_specs = st.builds(RuleSpec, windows, st.sampled_from((1.0, 250e6, 1e12)), st.none() | names)


@PROPERTY
@given(
    specs=st.lists(rule_specs, max_size=60),
    subscribed=st.booleans(),
    active=st.booleans(),
    muted=st.none() | st.sampled_from((NOW - 1, NOW + 1000, NOW + 30 * 24 * HOUR_MS)),
    title=names,
    defaults=st.dictionaries(windows, st.sampled_from((1.0, 1e12)), max_size=7),
    funding=st.none() | st.sampled_from((0.0001, 0.001, 1e-9, 10.0)),
    known=st.booleans(),
    max_watches=st.integers(0, 10**6),
)
def test_settings_reply(
    specs: list[RuleSpec],
    subscribed: bool,
    active: bool,
    muted: int | None,
    title: str,
    defaults: dict[str, float],
    funding: float | None,
    known: bool,
    max_watches: int,
) -> None:
    chat = ChatRow(7, "group", title, subscribed, active, muted, NOW, NOW)
    rows = tuple(RuleRow(7, s, RuleState(0, None, s.threshold)) for s in specs)
    sent(
        format_settings(
            ChatSettings(chat, rows) if known else None, NOW, defaults, max_watches, funding
        )
    )


health_snapshots = st.fixed_dictionaries(
    {
        "live": st.booleans(),
        "connected_since": st.none() | st.just(NOW - HOUR_MS),
        "down_since": st.none() | st.just(NOW - 10**9),
        "last_message_ms": st.none() | st.just(NOW - 5000),
        "last_error": st.none() | names | st.text(min_size=100, max_size=400),
        "rejects": st.integers(0, 10**12),
        "reconnects": st.integers(0, 10**9),
        "started_ms": st.none() | st.just(NOW - 2 * HOUR_MS),
        "dropped_topics": st.integers(0, 60),
    }
)
poll_snapshots = st.fixed_dictionaries(
    {
        "last_ok_ms": st.none() | st.just(NOW - 60_000),
        "streak": st.integers(0, 1000),
        "last_error": st.none() | names | st.text(max_size=300),
    }
)


@PROPERTY
@given(
    listed=st.lists(venues, max_size=12, unique=True),
    data=st.data(),
)
def test_status_reply(listed: list[str], data: st.DataObject) -> None:
    health = data.draw(st.dictionaries(st.sampled_from(listed or ["okx"]), health_snapshots))
    hour = data.draw(totals("1h"))
    market = data.draw(
        st.none() | st.dictionaries(st.sampled_from(listed or ["okx"]), poll_snapshots)
    )
    # H2 changes format_status's wording; this holds whatever the wording is.
    sent(format_status(listed, health, hour, dict(hour.coverage), NOW, market))


@PROPERTY
@given(
    commands=st.lists(st.tuples(names, names | st.text(max_size=200)), max_size=40),
    max_watches=st.integers(0, 10**9),
)
def test_help_reply(commands: list[tuple[str, str]], max_watches: int) -> None:
    sent(format_help(commands, max_watches))


@PROPERTY
@given(cm=coin_markets(), stale=st.booleans())
def test_funding_and_oi_coin_replies(cm: object, stale: bool) -> None:
    from bot.domain import CoinMarket

    assert isinstance(cm, CoinMarket)
    now = NOW + (HOUR_MS if stale else 0)
    sent(format_funding_coin(cm, now))
    labels = [("1h", 0.061), ("24h", None), ("<7d>", -1.0)]
    per = {(s.venue, s.symbol): [-0.5, None, 1e9] for s in cm.venues}
    sent(format_oi_coin(cm, labels, per, now))


@PROPERTY
@given(
    coins=st.lists(coin_markets(), max_size=30),
    min_oi=amounts,
    top=st.integers(0, 50),
    window=names,
    moves=st.lists(st.tuples(names, amounts, st.floats(-1, 1e6)), max_size=80),
)
def test_funding_and_oi_market_replies(
    coins: list[object],
    min_oi: float,
    top: int,
    window: str,
    moves: list[tuple[str, float, float]],
) -> None:
    sent(format_funding_market(coins, NOW, min_oi, top))  # type: ignore[arg-type]
    sent(format_oi_market(moves, window, min_oi, top))


@PROPERTY
@given(
    cm=coin_markets(),
    multiple=st.sampled_from((1, 2, 4, 2**40)),
    escalation=st.booleans(),
    threshold=st.sampled_from((0.0001, 0.001, 0.05)),
    total=st.sampled_from((-1.0, -0.001, 0.001, 1.0)),
)
def test_funding_alert(
    cm: object, multiple: int, escalation: bool, threshold: float, total: float
) -> None:
    kind = ESCALATION if escalation and multiple > 1 else FIRST
    text = format_funding_alert(cm, Fire(kind, multiple, total, threshold))  # type: ignore[arg-type]
    check_telegram_html(text)  # sent as formatted: it must fit by itself


@PROPERTY
@given(hour=totals("1h"), day=totals("24h"), live=st.dictionaries(venues, st.booleans()))
def test_console_texts_are_plain(hour: Totals, day: Totals, live: dict[str, bool]) -> None:
    pieces = [*hour.by_exchange, *day.by_exchange, *live, *hour.by_coin]
    pieces += [venue_name(v) for v in pieces]
    if hour.largest is not None:
        pieces += [hour.largest.coin, hour.largest.exchange, hour.largest.side]
    for text in (summary_line(hour, day, live), totals_text(hour)):
        text.encode("utf-8")  # printable on a UTF-8 terminal
        assert MARKUP_RE.search(without(text, pieces)) is None
