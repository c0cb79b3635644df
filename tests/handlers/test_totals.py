import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.fakes.chat_bot import NOW, ChatBot, chat_bot
from bot.domain import HOUR_MS, MINUTE_MS, WINDOWS
from bot.totals.coverage import VenueCoverage
from bot.totals.index import TotalsIndex
from bot.units import format_pct, format_usd

LIQ_USAGE = "/liq [COIN] [WINDOW] — e.g. /liq BTC 4h"
TOP_USAGE = "/top [WINDOW] — e.g. /top 1h"

# (minutes before now, venue, coin, side, usd, count); each row is one minute bucket.
ROWS = [
    (30, "binance", "BTC", "long", 30_000_000.0, 12),
    (20, "bybit", "BTC", "short", 10_000_000.0, 4),
    (10, "okx", "ETH", "long", 5_000_000.0, 2),
    (150, "bybit", "BTC", "long", 40_000_000.0, 9),
    (200, "binance", "SOL", "short", 2_500_000.0, 3),
    (600, "binance", "ETH", "long", 100_000_000.0, 1),
    (900, "bybit", "DOGE", "short", 1_234_567.0, 6),
    (3 * 24 * 60, "binance", "BTC", "long", 500_000_000.0, 50),  # only in 7d
]


def bucket_rows() -> list[tuple[int, str, str, str, float, int, float, int, str]]:
    out = []
    for minutes, venue, coin, side, usd, count in ROWS:
        minute = NOW - minutes * MINUTE_MS
        # The largest single liquidation of a bucket: half of it, 5 s into the minute.
        out.append((minute, venue, coin, side, usd, count, usd / 2, minute + 5000, coin + "USDT"))
    return out


def expected(window: str, coin: str | None = None) -> dict[str, object]:
    """Independent sums of ROWS for a window ending now."""
    start = NOW - WINDOWS[window]
    rows = [
        r for r in ROWS if start <= NOW - r[0] * MINUTE_MS < NOW and (coin is None or r[2] == coin)
    ]
    long_usd = math.fsum(r[4] for r in rows if r[3] == "long")
    short_usd = math.fsum(r[4] for r in rows if r[3] == "short")
    venues = {}
    for venue in ("binance", "bybit", "okx"):
        v_long = math.fsum(r[4] for r in rows if r[1] == venue and r[3] == "long")
        v_short = math.fsum(r[4] for r in rows if r[1] == venue and r[3] == "short")
        venues[venue] = (v_long + v_short, v_long)
    return {
        "total": long_usd + short_usd,
        "long": long_usd,
        "short": short_usd,
        "count": sum(r[5] for r in rows),
        "venues": venues,
    }


class Coverage:
    """An async coverage provider: OKX was down 12 minutes; records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int]] = []

    async def __call__(self, window_ms: int, end_ms: int) -> dict[str, VenueCoverage]:
        self.asked.append((window_ms, end_ms))
        gap = ((end_ms - 30 * MINUTE_MS, end_ms - 18 * MINUTE_MS),)
        return {
            "binance": VenueCoverage("binance", True, False, (), 0),
            "bybit": VenueCoverage("bybit", True, True, (), 0),
            "okx": VenueCoverage("okx", False, False, gap, 12 * MINUTE_MS),
        }


@pytest.fixture
def coverage() -> Coverage:
    return Coverage()


@pytest.fixture
async def bot(tmp_path: Path, coverage: Coverage) -> AsyncIterator[ChatBot]:
    index = TotalsIndex()
    index.load(sorted(bucket_rows()))
    async with chat_bot(tmp_path / "bot.db", index=index, coverage=coverage) as running:
        yield running


def venue_line(name: str, total: float, long_usd: float) -> str:
    return f"{name} {format_usd(total)} · longs {format_pct(long_usd / total)}"


async def test_liq_default_24h_matches_independent_sums(bot: ChatBot, coverage: Coverage) -> None:
    text = await bot.ask(42, "/liq")
    e = expected("24h")
    total, long_usd, short_usd = e["total"], e["long"], e["short"]
    assert isinstance(total, float) and isinstance(long_usd, float)
    assert isinstance(short_usd, float)
    assert total == 188_734_567.0  # the inputs, summed by hand
    lines = text.split("\n")
    assert lines[0] == "<b>💥 Liquidations · last 24h</b>"
    assert lines[1] == f"<b>{format_usd(total)}</b> · {e['count']:,} liquidations"
    assert lines[1] == "<b>$188.7M</b> · 37 liquidations"
    assert lines[2] == (
        f"🔴 Longs {format_usd(long_usd)} ({format_pct(long_usd / total)})"
        f" · 🟢 Shorts {format_usd(short_usd)} ({format_pct(short_usd / total)})"
    )
    assert lines[2] == "🔴 Longs $175M (93%) · 🟢 Shorts $13.7M (7%)"
    one_h, four_h = expected("1h")["total"], expected("4h")["total"]
    assert isinstance(one_h, float) and isinstance(four_h, float)
    assert lines[3] == f"1h {format_usd(one_h)} · 4h {format_usd(four_h)}" == "1h $45M · 4h $87.5M"
    venues = e["venues"]
    assert isinstance(venues, dict)
    by_exchange = lines[lines.index("<b>By exchange</b>") + 1 :][:3]
    assert by_exchange == [
        venue_line("Binance", *venues["binance"]),
        venue_line("Bybit", *venues["bybit"]),
        venue_line("OKX", *venues["okx"]),
    ]
    top = lines[lines.index("<b>Top coins</b>") + 1 :][:4]
    assert top == [
        "1. ETH $105M · longs 100%",
        "2. BTC $80M · longs 88%",
        "3. SOL $2.5M · longs 0%",
        "4. DOGE $1.23M · longs 0%",
    ]
    largest_ts = NOW - 600 * MINUTE_MS + 5000
    assert "<b>Largest</b> $50M ETH long on Binance (ETHUSDT), 02:00 UTC, 9h 59m ago" in text
    assert largest_ts == NOW - 9 * HOUR_MS - 59 * MINUTE_MS - 55_000
    # One coverage wording for alerts and /liq (issue 7): the alert's.
    assert lines[-1] == (
        "<i>Binance and OKX publish samples; Bybit all. OKX was down 12m of this window.</i>"
    )
    assert coverage.asked == [(WINDOWS["24h"], NOW)]


async def test_liq_coin_and_window_in_either_order(bot: ChatBot) -> None:
    text = await bot.ask(42, "/liq btc 4h")
    assert text == await bot.ask(42, "/liq 4H BTCUSDT")
    e = expected("4h", "BTC")
    assert e["total"] == 80_000_000.0 and e["long"] == 70_000_000.0
    lines = text.split("\n")
    assert lines[0] == "<b>💥 BTC liquidations · last 4h</b>"
    assert lines[1] == "<b>$80M</b> · 25 liquidations"
    assert lines[2] == "🔴 Longs $70M (88%) · 🟢 Shorts $10M (13%)"
    assert lines[3] == "1h $40M · 24h $80M"
    assert "<b>Top coins</b>" not in text
    assert "Binance $30M · longs 100%" in lines and "Bybit $50M · longs 80%" in lines
    week = await bot.ask(42, "/liq BTC 7d")
    assert "<b>$580M</b> · 75 liquidations" in week


async def test_liq_quiet_window_says_none(bot: ChatBot) -> None:
    text = await bot.ask(42, "/liq DOGE 5m")
    assert text.split("\n")[:3] == [
        "<b>💥 DOGE liquidations · last 5m</b>",
        "None recorded in the last 5m.",
        "1h $0 · 4h $0 · 24h $1.23M",
    ]


LIQ_BAD = [
    (
        "XYZ",
        "Unknown coin XYZ: no venue lists it and no liquidations of it were seen in the last 7d.",
    ),
    ("3h", 'Unknown window "3h"'),
    ("BTC ETH", "Two coins given (BTC and ETH); give one."),
    ("1h 4h", "Two windows given (1h and 4h); give one."),
    ("BTC 1h x", "Too many arguments (3)"),
    ("B@D", "is not a coin"),
]


async def test_liq_bad_input(bot: ChatBot) -> None:
    for args, what in LIQ_BAD:
        text = await bot.ask(42, f"/liq {args}")
        assert "\n" not in text and text.endswith(f"Usage: {LIQ_USAGE}"), text
        assert what in text.replace("&quot;", '"'), text


async def test_top_ranks_coins(bot: ChatBot, coverage: Coverage) -> None:
    text = await bot.ask(42, "/top")
    lines = text.split("\n")
    assert lines[:7] == [
        "<b>🏆 Top coins · last 24h</b>",
        "$188.7M in all · 4 coins",
        "",
        "1. <b>ETH</b> $105M · longs 100% · 3",
        "2. <b>BTC</b> $80M · longs 88% · 25",
        "3. <b>SOL</b> $2.5M · longs 0% · 3",
        "4. <b>DOGE</b> $1.23M · longs 0% · 6",
    ]
    hour = (await bot.ask(42, "/top 60m")).split("\n")
    assert hour[:5] == [
        "<b>🏆 Top coins · last 1h</b>",
        "$45M in all · 2 coins",
        "",
        "1. <b>BTC</b> $40M · longs 75% · 16",
        "2. <b>ETH</b> $5M · longs 100% · 2",
    ]
    assert coverage.asked == [(WINDOWS["24h"], NOW), (WINDOWS["1h"], NOW)]
    for bad in ("/top BTC", "/top 1h 4h", "/top 2h"):
        text = await bot.ask(42, bad)
        assert "\n" not in text and text.endswith(f"Usage: {TOP_USAGE}"), text


async def test_liq_names_a_venue_down_for_long_and_says_since_when_it_collects(
    tmp_path: Path,
) -> None:
    """A fresh install started 06:53 UTC; Binance has been down 12 minutes and still is."""
    started = NOW - 5 * HOUR_MS - 7 * MINUTE_MS

    def fresh(window_ms: int, end_ms: int) -> dict[str, VenueCoverage]:
        start = end_ms - window_ms
        before = ((start, started),)

        def cov(venue: str, down_ms: int = 0, outage_ms: int | None = None) -> VenueCoverage:
            down = ((end_ms - down_ms, end_ms),) if down_ms else ()
            return VenueCoverage(
                venue,
                live=False,
                complete=venue == "bybit",
                gaps=before + down,
                down_ms=down_ms,
                not_collected_ms=started - start,
                not_collected=before,
                horizon_ms=end_ms,
                start_ms=start,
                outage_ms=outage_ms,
            )

        return {
            "binance": cov("binance", 12 * MINUTE_MS, 12 * MINUTE_MS),
            "bybit": cov("bybit"),
            "okx": cov("okx"),
        }

    index = TotalsIndex()
    index.load(sorted(bucket_rows()))
    async with chat_bot(tmp_path / "bot.db", index=index, coverage=fresh) as running:
        lines = (await running.ask(42, "/liq")).split("\n")
    assert lines[0] == "⚠️ Binance down for 12m: figures below exclude it"
    assert lines[1] == "<b>💥 Liquidations · last 24h</b>"
    assert lines[-1] == (
        "<i>Binance and OKX publish samples; Bybit all. Collecting since 06:53 UTC."
        " Binance was down 12m (still down) of this window.</i>"
    )
