from pathlib import Path

from bench.fakes.chat_bot import NOW, chat_bot
from bot.domain import MINUTE_MS
from bot.ingest.health import SourceHealth
from bot.totals.coverage import VenueCoverage, window_coverage
from bot.totals.index import TotalsIndex
from handlers import COMMANDS


def coverage_24h(window_ms: int, end_ms: int) -> dict[str, VenueCoverage]:
    assert window_ms == 24 * 60 * MINUTE_MS and end_ms == NOW
    return {
        "binance": VenueCoverage("binance", True, False, (), 0),
        "okx": VenueCoverage("okx", False, False, ((NOW - 300_000, NOW),), 5 * MINUTE_MS),
    }


def health() -> dict[str, SourceHealth]:
    binance = SourceHealth("binance")
    binance.expect(["ws"], NOW - 3 * 3_600_000)
    binance.connection_up("ws", NOW - 3 * 3_600_000)
    binance.message(NOW - 2_000)
    binance.reject(3)
    binance.reconnects = 2
    okx = SourceHealth("okx")
    okx.expect(["ws"], NOW - 600_000)
    okx.connection_up("ws", NOW - 600_000)
    okx.connection_down(
        "ws",
        NOW - 300_000,
        "connect failed (Cannot connect to host 127.0.0.1:52403 ssl:default [Connect call"
        " failed ('127.0.0.1', 52403)])",
    )
    return {"binance": binance, "okx": okx}


async def test_status_shows_each_venue(tmp_path: Path) -> None:
    index = TotalsIndex()
    minute = NOW - 10 * MINUTE_MS
    index.load(
        [
            (minute, "binance", "BTC", "long", 5e6, 7, 1e6, minute, "BTCUSDT"),
            (minute, "binance", "ETH", "short", 1e6, 4, 1e5, minute, "ETHUSDT"),
            (NOW - 2 * 3_600_000, "binance", "BTC", "long", 9e6, 100, 1e6, minute, "BTCUSDT"),
        ]
    )
    async with chat_bot(
        tmp_path / "bot.db", index=index, health=health(), coverage=coverage_24h
    ) as bot:
        text = await bot.ask(42, "/status")
    assert text.split("\n") == [
        "<b>📡 Feed status</b>",
        "",
        "🟢 <b>Binance</b> connected since 09:00 UTC",
        "Last message 2s ago · 11 liquidations in the last hour",
        "Rejected 3 · reconnects 2",
        "Publishes a sample of liquidations · live for the whole last 24h",
        "",
        "⚪ <b>Bybit</b> not running",
        "",
        "🔴 <b>OKX</b> down since 11:55 UTC",
        # Issue 7: the error in words (the detail is in the log), no "never".
        "Last error: cannot connect",
        "No message yet · 0 liquidations in the last hour",
        "Rejected 0 · reconnects 0",
        "Publishes a sample of liquidations · down 5m in the last 24h",
    ]


async def test_settings_and_help(tmp_path: Path) -> None:
    index = TotalsIndex()
    index.load([(NOW - 60_000, "bybit", "BTC", "long", 1e6, 1, 1e6, NOW - 60_000, "BTCUSDT")])
    async with chat_bot(tmp_path / "bot.db", index=index) as bot:
        text = await bot.ask(42, "/settings")
        assert text == (
            "This chat is not subscribed. /start subscribes it with these alerts:\n"
            "• 1h ≥ $100M\n• 24h ≥ $1B"
        )
        await bot.ask(42, "/start")
        await bot.ask(42, "/watch BTC 25M 15m")
        await bot.ask(42, "/threshold 24h off")
        assert (await bot.ask(42, "/settings")).split("\n") == [
            "<b>⚙️ Settings of this chat</b>",
            "Alerts: on",
            "",
            "<b>Market-wide thresholds</b>",
            "• 1h ≥ $100M",
            "",
            "<b>Watches</b> (1 of 30)",
            "• <b>BTC</b> 15m ≥ $25M",
            "",
            "<b>Funding alert</b>",
            "Off (set one: /fundingalert 0.1%)",
        ]
        await bot.ask(42, "/fundingalert 0.05%")
        assert "At ±0.0500%/8h OI-weighted" in await bot.ask(42, "/settings")
        await bot.ask(42, "/threshold 1h off")
        await bot.ask(42, "/stop")
        text = await bot.ask(42, "/settings")
        assert "Alerts: off (/start turns them on; settings below are kept)" in text
        assert "None (set one: /threshold 1h 250M)" in text
        bad = await bot.ask(42, "/settings all")
        assert bad == "/settings takes no arguments. Usage: /settings"
        help_text = await bot.ask(42, "/help")
        for name, description in COMMANDS:
            assert f"/{name}" in help_text and description in help_text
        assert "/threshold WINDOW AMOUNT — Show or set market-wide alert thresholds" in help_text
        assert "Up to 30 watched coins per chat" in help_text
        assert (await bot.ask(42, "/help me")).endswith("Usage: /help")
        assert (await bot.ask(42, "/status now")).endswith("Usage: /status")


def test_commands_fit_telegrams_menu_rules() -> None:
    names = [name for name, _ in COMMANDS]
    assert len(names) == len(set(names))
    assert set(names) == {
        "start",
        "stop",
        "liq",
        "top",
        "threshold",
        "watch",
        "unwatch",
        "mute",
        "unmute",
        "settings",
        "status",
        "help",
        "funding",
        "oi",
        "fundingalert",
    }
    for name, description in COMMANDS:
        assert name.islower() and name.isascii() and 1 <= len(name) <= 32
        assert 3 <= len(description) <= 256


async def test_status_after_a_restart_reads_in_words(tmp_path: Path) -> None:
    """07:00 restart of a fresh install collecting since 06:53: messages not seen since the
    restart, raw errors and refused topics as a trader reads them (issue 7)."""
    restart = NOW - 5 * 3_600_000  # 07:00 UTC
    first_start = restart - 7 * MINUTE_MS
    health = {v: SourceHealth(v, started_ms=restart) for v in ("binance", "bybit", "okx")}
    for venue in ("binance", "bybit"):
        health[venue].expect(["ws"], restart)
        health[venue].connection_up("ws", restart + 1_000)
    health["bybit"].dropped_topics.update({"allLiquidation.1000000BOBUSDT", "allLiquidation.X"})
    health["bybit"].message(NOW - 4_000)
    okx = health["okx"]
    okx.expect(["ws"], restart)
    okx.connection_down("ws", restart + 2_000, "connect failed (handshake refused: HTTP 404)")

    def coverage(window_ms: int, end_ms: int) -> dict[str, VenueCoverage]:
        runs = [(first_start, restart - 30_000, False), (restart, end_ms - 10_000, True)]
        rows = [
            (venue, first_start, restart - 30_000, False) for venue in ("binance", "bybit", "okx")
        ] + [(venue, restart + 1_000, end_ms - 10_000, True) for venue in ("binance", "bybit")]
        cov = window_coverage(
            rows, ["binance", "bybit", "okx"], end_ms - window_ms, end_ms, end_ms, 60_000, runs
        )
        return {
            v: c.with_health(health[v].outage_ms(end_ms), len(health[v].dropped_topics))
            for v, c in cov.items()
        }

    polls = {
        "binance": {"last_ok_ms": NOW - 30_000, "streak": 0, "last_error": None},
        "bybit": {
            "last_ok_ms": None,
            "streak": 3,
            "last_error": "Cannot connect to host 127.0.0.1:41213 ssl:default [Connect call"
            " failed ('127.0.0.1', 41213)]",
        },
        "okx": {
            "last_ok_ms": NOW - 60_000,
            "streak": 2,
            "last_error": "mark prices: /api/v5/public/mark-price?instType=SWAP: HTTP 404;"
            " open interest: not done in 10 s",
        },
    }
    index = TotalsIndex()
    index.load([(NOW - 5 * MINUTE_MS, "okx", "BTC", "long", 1e6, 325, 1e5, NOW, "BTC-USDT")])
    async with chat_bot(
        tmp_path / "bot.db",
        index=index,
        health=health,
        coverage=coverage,
        market_health=lambda: polls,
    ) as bot:
        text = await bot.ask(42, "/status")
    assert text.split("\n") == [
        "<b>📡 Feed status</b>",
        "",
        "🟢 <b>Binance</b> connected since 07:00 UTC",
        "No message since the restart at 07:00 UTC · 0 liquidations in the last hour",
        "Rejected 0 · reconnects 0",
        "Publishes a sample of liquidations"
        " · collecting since 06:53 UTC, not collected 30s, down 1s since",
        "Funding/OI: 30s ago",
        "",
        "🟢 <b>Bybit</b> connected since 07:00 UTC",
        "Last message 4s ago · 0 liquidations in the last hour",
        "Rejected 0 · reconnects 0 · 2 topics refused",
        "Publishes all liquidations but those of the refused topics (partial)"
        " · collecting since 06:53 UTC, not collected 30s, down 1s since",
        "Funding/OI: never polled yet · failing 3× (cannot connect)",
        "",
        "🔴 <b>OKX</b> down since 07:00 UTC",
        "Last error: handshake refused (HTTP 404)",
        "No message since the restart at 07:00 UTC · 325 liquidations in the last hour",
        "Rejected 0 · reconnects 0",
        "Publishes a sample of liquidations"
        " · collecting since 06:53 UTC, not collected 30s, down 5h since",
        "Funding/OI: 1m ago · failing 2× (HTTP 404 from mark prices, timed out (open interest))",
    ]
