"""/funding, /oi, /fundingalert and the market context of /liq, through the real PTB
Application and the fake Bot API, with a real MarketState over stored polls of known
figures (expected rates, APRs and changes computed here in Decimal)."""

import datetime as dtm
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.fakes.chat_bot import NOW, ChatBot, chat_bot
from bench.fakes.clock import Clock
from bot.chats import MAX_FUNDING_THRESHOLD as MAX_THRESHOLD
from bot.chats import MIN_FUNDING_THRESHOLD as MIN_THRESHOLD
from bot.domain import HOUR_MS, MINUTE_MS, MarketSnapshot
from bot.market.state import MarketState
from bot.totals.index import TotalsIndex
from bot.units import ArgError
from handlers.command import UsageError
from handlers.funding import parse_coin_arg, parse_fundingalert_args, parse_rate
from storage import funding_alerts as store
from storage.db import DbThread
from tests.fakes.market_figures import apply_poll, pct, snap, store_poll

POLL = NOW - 30_000
NEXT = NOW + (2 * 60 + 13) * MINUTE_MS
GROUP = -1001234
FUNDING_USAGE = "/funding [COIN] — e.g. /funding BTC"
OI_USAGE = "/oi [COIN] — e.g. /oi BTC"
ALERT_USAGE = "/fundingalert RATE — e.g. /fundingalert 0.1%"

# (venue, coin, rate per interval, interval h, OI now, OI 1h ago, OI 24h ago or None)
FIGURES = [
    ("binance", "BTC", "0.0001", 8, 3.0e9, 3.5e9, 2.5e9),
    ("bybit", "BTC", "0.00016", 4, 2.5e9, 2.5e9, 2.0e9),
    ("okx", "BTC", "0.0002", 8, 1.5e9, 1.5e9, None),
    ("bybit", "ETH", "-0.00005", 8, 2.0e9, 1.6e9, None),
    ("binance", "DOGE", "0.0005", 4, 100e6, 125e6, None),
    ("okx", "SOL", "-0.0003", 8, 50e6, 50e6, None),
    ("bybit", "DUST", "0.003", 1, 1e6, 2e6, None),  # under $5M: dust
]


def poll_at(ts: int, column: int) -> list[MarketSnapshot]:
    out = []
    for row in FIGURES:
        venue, coin, rate, interval = row[:4]
        oi = row[column]
        if oi is None:
            continue
        out.append(
            snap(
                venue,
                coin,
                ts,
                rate=float(rate),
                interval_h=float(interval),
                oi_usd=float(oi),
                mark=100_000.0 if coin == "BTC" else 1.0,
                next_ms=NEXT if coin == "BTC" else None,
                predicted=venue == "okx",
            )
        )
    return out


def rate_8h(rate: str, interval: int) -> D:
    return D(rate) * 8 / interval


def apr(rate_8h: D) -> str:
    return pct(rate_8h * 3 * 365 * 100, 2)


# BTC's open-interest-weighted 8 h funding now: (3 x 0.01% + 2.5 x 0.032% + 1.5 x 0.02%) / 7.
BTC_8H = (
    rate_8h("0.0001", 8) * 3 + rate_8h("0.00016", 4) * D("2.5") + rate_8h("0.0002", 8) * D("1.5")
) / 7


@pytest.fixture
async def market(tmp_path: Path, clock: Clock) -> AsyncIterator[MarketState]:
    """Polls stored 24 h and 1 h ago and now (the latest also in memory), on the clock
    the bot uses, so its staleness follows the test's time."""
    dbt = DbThread(tmp_path / "market.db")
    state = MarketState(dbt, 60, clock=clock)
    await store_poll(dbt, NOW - 24 * HOUR_MS, poll_at(NOW - 24 * HOUR_MS, 6))
    await store_poll(dbt, NOW - HOUR_MS, poll_at(NOW - HOUR_MS, 5))
    await store_poll(dbt, POLL, poll_at(POLL, 4))
    apply_poll(state, poll_at(POLL, 4))
    yield state
    await dbt.close()


@pytest.fixture
async def bot(tmp_path: Path, market: MarketState, clock: Clock) -> AsyncIterator[ChatBot]:
    async with chat_bot(tmp_path / "bot.db", clock=clock, market=market) as running:
        await running.ask(42, "/start")
        yield running


def one_line(text: str, usage: str) -> None:
    assert "\n" not in text, text
    assert text.endswith(f"Usage: {usage}"), text


async def test_funding_of_one_coin_per_venue(bot: ChatBot) -> None:
    weighted = BTC_8H
    at = dtm.datetime.fromtimestamp(NEXT / 1000, dtm.UTC).strftime("%H:%M UTC")
    text = await bot.ask(42, "/funding btc")
    assert text.split("\n") == [
        "<b>💸 BTC funding</b>",
        f"OI-weighted {pct(weighted * 100)}/8h · APR {apr(weighted)} · longs pay shorts",
        "",
        "<b>Binance</b> BTCUSDT",
        f"+0.0100%/8h · every 8h · 8h +0.0100% · APR {apr(rate_8h('0.0001', 8))}",
        f"Next in 2h 13m ({at}) · OI $3B",
        "",
        "<b>Bybit</b> BTCUSDT",
        f"+0.0160%/4h · every 4h · 8h {pct(rate_8h('0.00016', 4) * 100)}"
        f" · APR {apr(rate_8h('0.00016', 4))}",
        f"Next in 2h 13m ({at}) · OI $2.5B",
        "",
        "<b>OKX</b> BTC-USDT-SWAP",
        f"+0.0200%/8h predicted · every 8h · 8h +0.0200% · APR {apr(rate_8h('0.0002', 8))}",
        f"Next in 2h 13m ({at}) · OI $1.5B",
        "",
        "<i>Polled 30s ago.</i>",
    ]
    assert "OI-weighted +0.0200%/8h · APR +21.90%" in text  # the same, written out


async def test_funding_extremes_leave_dust_out(bot: ChatBot) -> None:
    text = await bot.ask(42, "/funding")
    lines = text.split("\n")
    assert lines[1] == "4 coins with at least $5M open interest"
    doge, btc = rate_8h("0.0005", 4), BTC_8H
    sol, eth = rate_8h("-0.0003", 8), rate_8h("-0.00005", 8)
    i = lines.index("<b>Most positive</b> (longs pay shorts)")
    assert lines[i + 1 : i + 3] == [
        f"1. <b>DOGE</b> {pct(doge * 100)}/8h · APR {apr(doge)} · OI $100M",
        f"2. <b>BTC</b> {pct(btc * 100)}/8h · APR {apr(btc)} · OI $7B",
    ]
    j = lines.index("<b>Most negative</b> (shorts pay longs)")
    assert lines[j + 1 : j + 3] == [
        f"1. <b>SOL</b> {pct(sol * 100)}/8h · APR {apr(sol)} · OI $50M",
        f"2. <b>ETH</b> {pct(eth * 100)}/8h · APR {apr(eth)} · OI $2B",
    ]
    assert "DUST" not in text


async def test_open_interest_of_one_coin_with_1h_and_24h_changes(bot: ChatBot) -> None:
    total_1h = D("7.0") / D("7.5") * 100 - 100
    # 24 h ago OKX had no figure: the change is over the venues present at both times.
    total_24h = (D("3.0") + D("2.5")) / (D("2.5") + D("2.0")) * 100 - 100
    text = await bot.ask(42, "/oi BTC")
    assert text.split("\n") == [
        "<b>📊 BTC open interest</b>",
        f"Total <b>$7B</b> · 1h {pct(total_1h, 1)} · 24h {pct(total_24h, 1)}",
        "",
        f"<b>Binance</b> BTCUSDT $3B · 1h {pct(D(3) / D('3.5') * 100 - 100, 1)}"
        f" · 24h {pct(D(3) / D('2.5') * 100 - 100, 1)}",
        f"<b>Bybit</b> BTCUSDT $2.5B · 1h 0.0% · 24h {pct(D('2.5') / D(2) * 100 - 100, 1)}",
        "<b>OKX</b> BTC-USDT-SWAP $1.5B · 1h 0.0% · 24h no history",
        "",
        "<i>Polled 30s ago.</i>",
    ]
    assert "1h −6.7% · 24h +22.2%" in text


async def test_open_interest_moves_across_the_market(bot: ChatBot) -> None:
    text = await bot.ask(42, "/oi")
    assert text.split("\n") == [
        "<b>📊 Open interest · last 1h</b>",
        "4 coins with at least $5M open interest and a figure 1h ago",
        "",
        "<b>Biggest drops</b>",
        f"1. <b>DOGE</b> {pct(D(100) / D(125) * 100 - 100, 1)} · $100M now",
        f"2. <b>BTC</b> {pct(D(7) / D('7.5') * 100 - 100, 1)} · $7B now",
        "",
        "<b>Biggest rises</b>",
        f"1. <b>ETH</b> {pct(D(2) / D('1.6') * 100 - 100, 1)} · $2B now",
    ]


async def test_stale_unknown_and_bad_input(bot: ChatBot) -> None:
    one_line(await bot.ask(42, "/funding XYZ"), FUNDING_USAGE)
    assert "No exchange lists XYZ" in await bot.ask(42, "/funding XYZ")
    one_line(await bot.ask(42, "/funding BTC ETH"), FUNDING_USAGE)
    one_line(await bot.ask(42, "/oi <b>"), OI_USAGE)
    one_line(await bot.ask(42, "/oi BTC 1h"), OI_USAGE)
    bot.clock.now += 10 * MINUTE_MS  # no poll for 10 minutes
    assert await bot.ask(42, "/funding BTC") == (
        "The BTC figures are stale: last polled 10m 30s ago; the exchanges' polls may be failing."
    )
    assert await bot.ask(42, "/funding") == (
        "No fresh funding figures: last poll 10m 30s ago; the polls may be failing."
    )


async def test_without_market_polling_the_commands_say_so(tmp_path: Path) -> None:
    async with chat_bot(tmp_path / "plain.db") as plain:
        for command in ("/funding", "/funding BTC", "/oi", "/oi ETH"):
            assert (await plain.ask(7, command)).startswith("Funding and open-interest figures")
        await plain.ask(7, "/start")
        text = await plain.ask(7, "/fundingalert 0.1%")
        assert text.endswith("Market polling is off here, so no funding alert can fire yet.")


async def test_fundingalert_show_set_change_off(bot: ChatBot) -> None:
    assert await bot.ask(42, "/fundingalert") == (
        "No funding alert is set. Set one: /fundingalert 0.1%"
    )
    scope = "the top 20 coins by open interest and this chat's watched coins"
    assert await bot.ask(42, "/fundingalert 0.1%") == (
        f"✅ Alert when the OI-weighted funding of {scope} reaches ±0.1000%/8h (either sign)."
    )
    assert await bot.dbt.run(store.get_threshold, 42) == 0.001
    changed = await bot.ask(42, "/fundingalert -0.05%")
    assert changed.endswith("reaches ±0.0500%/8h (either sign) (was ±0.1000%/8h).")
    assert await bot.dbt.run(store.get_threshold, 42) == 0.0005
    assert "±0.2000%/8h" in await bot.ask(42, "/fundingalert 0.002")
    shown = await bot.ask(42, "/fundingalert")
    assert shown.split("\n")[:2] == [
        "<b>💸 Funding alert</b>",
        f"When the OI-weighted funding (8h equivalent) of {scope} reaches ±0.2000%/8h"
        " (APR ±219.00%), either sign.",
    ]
    assert await bot.ask(42, "/fundingalert off") == "✅ The funding alert is off."
    assert await bot.ask(42, "/fundingalert OFF") == "There was no funding alert to turn off."
    assert await bot.dbt.run(store.get_threshold, 42) is None


FUNDINGALERT_BAD = [
    ("abc", '"abc" is not a rate; write e.g. 0.1% (8h equivalent).'),
    ("0%", 'The rate must be more than zero, got "0%".'),
    ("0.1", 'Rate "0.1" is too large; the maximum is 5% per 8h (a bare number is a fraction'),
    ("6%", 'Rate "6%" is too large; the maximum is 5% per 8h.'),
    ("0.0000001%", "is too small; the minimum is 0.001%."),
    ("0.1% 1h", "Too many arguments (2); give one rate like 0.1% or off."),
]


async def test_fundingalert_bad_input_is_one_line_with_usage(bot: ChatBot) -> None:
    for args, what in FUNDINGALERT_BAD:
        text = await bot.ask(42, f"/fundingalert {args}")
        one_line(text, ALERT_USAGE)
        assert what.replace('"', "&quot;") in text or what in text, text
    assert "not subscribed yet" in await bot.ask(43, "/fundingalert 0.1%")


async def test_group_members_read_admins_change(bot: ChatBot) -> None:
    bot.fake.set_member(GROUP, 1, "creator")
    bot.fake.set_member(GROUP, 3, "member")
    await bot.ask(GROUP, "/start", user_id=1)
    refused = await bot.ask(GROUP, "/fundingalert 0.1%", user_id=3)
    assert refused.startswith("Only this group's administrators") and "\n" not in refused
    assert (await bot.ask(GROUP, "/fundingalert off", user_id=3)).startswith("Only this group's")
    assert "No funding alert is set" in await bot.ask(GROUP, "/fundingalert", user_id=3)
    assert "BTC funding" in await bot.ask(GROUP, "/funding BTC", user_id=3)
    assert "open interest" in await bot.ask(GROUP, "/oi BTC", user_id=3)
    assert "✅" in await bot.ask(GROUP, "/fundingalert 0.1%", user_id=1)
    assert await bot.dbt.run(store.get_threshold, GROUP) == 0.001


async def test_liq_carries_the_market_context(
    tmp_path: Path, market: MarketState, clock: Clock
) -> None:
    minute = NOW - 20 * MINUTE_MS
    index = TotalsIndex()
    index.load(
        [
            (minute, "bybit", "BTC", "long", 80e6, 5, 10e6, minute, "BTCUSDT"),
            (minute, "bybit", "BTC", "short", 20e6, 2, 5e6, minute, "BTCUSDT"),
        ]
    )
    async with chat_bot(tmp_path / "liq.db", index=index, clock=clock, market=market) as b:
        lines = (await b.ask(42, "/liq BTC 1h")).split("\n")
        i = lines.index("<b>Market</b>")
        oi = pct(D(7) / D("7.5") * 100 - 100, 1)
        was = (
            rate_8h("0.0001", 8) * D("3.5")
            + rate_8h("0.00016", 4) * D("2.5")
            + rate_8h("0.0002", 8) * D("1.5")
        ) / D("7.5")
        assert pct(was * 100, 3) == "+0.019%"
        assert lines[i + 1 : i + 3] == [
            f"BTC: price 0.0% in 1h · funding +0.019%/8h → +0.020%/8h · OI $7B ({oi})",
            f"Long squeeze: longs 80% of $100M; BTC 0.0% in 1h; funding was +0.019%/8h,"
            f" now +0.020%/8h; open interest {oi} (deleveraging)",
        ]
        # No poll was stored just before the 4h window: the first one inside it (11:00)
        # is compared with now, and the reading says since when.
        day = (await b.ask(42, "/liq BTC 4h")).split("\n")
        assert day[day.index("<b>Market</b>") + 1 : day.index("<b>Market</b>") + 3] == [
            f"BTC: price 0.0% since 11:00 UTC · funding +0.019%/8h → +0.020%/8h since"
            f" 11:00 UTC · OI $7B ({oi} since 11:00 UTC)",
            "Long squeeze: longs 80% of $100M; BTC 0.0% since 11:00 UTC; funding was"
            " +0.019%/8h at 11:00 UTC, now +0.020%/8h; open interest"
            f" {oi} since 11:00 UTC (deleveraging)",
        ]


@settings(max_examples=400, deadline=None)
@given(args=st.lists(st.text(st.characters(codec="utf-8"), max_size=12), max_size=3))
def test_argument_parsers_return_or_explain_in_one_line(args: list[str]) -> None:
    words = " ".join(args).split()  # what PTB gives handlers as context.args
    for parser in (parse_fundingalert_args, parse_coin_arg):
        try:
            value = parser(words)
        except (ArgError, UsageError) as exc:
            assert str(exc) and "\n" not in str(exc) and len(str(exc)) < 200
        else:
            if parser is parse_fundingalert_args and isinstance(value, float):
                assert MIN_THRESHOLD <= value <= MAX_THRESHOLD


@given(rate=st.decimals(min_value=D("0.001"), max_value=D("5"), places=4))
def test_rates_in_percent_parse_to_their_fraction_whatever_the_sign(rate: D) -> None:
    assert parse_rate(f"{rate}%") == parse_rate(f"-{rate}%") == float(rate) / 100
