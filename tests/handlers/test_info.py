from pathlib import Path

from bot.coverage import VenueCoverage
from bot.events import MINUTE_MS
from bot.health import SourceHealth
from bot.totals_index import TotalsIndex
from handlers import COMMANDS
from tests.fakes.chat_bot import Clock, chat_bot

NOW = Clock().now


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
    okx.connection_down("ws", NOW - 300_000, "HTTP 503 <html> & co")
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
        "Last error: HTTP 503 &lt;html&gt; &amp; co",
        "Last message never · 0 liquidations in the last hour",
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
