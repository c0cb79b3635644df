from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from bench.fakes.chat_bot import NOW, ChatBot, chat_bot
from bench.fakes.clock import Clock
from bot.domain import RuleSpec
from bot.totals.index import TotalsIndex
from storage import chats as store

THRESHOLD_USAGE = "/threshold WINDOW AMOUNT — e.g. /threshold 1h 250M"
WATCH_USAGE = "/watch COIN AMOUNT [WINDOW] — e.g. /watch BTC 50M 1h"
UNWATCH_USAGE = "/unwatch COIN — e.g. /unwatch BTC"
COINS = [f"C{i:02d}" for i in range(1, 32)]  # 31 coins the index has seen


def seen_index(now_ms: int, coins: Iterable[str]) -> TotalsIndex:
    """An index where each coin had one $1,000 long liquidation on Bybit an hour ago."""
    minute = (now_ms - 3_600_000) // 60_000 * 60_000
    index = TotalsIndex()
    index.load(
        (minute, "bybit", coin, "long", 1000.0, 1, 1000.0, minute, f"{coin}USDT") for coin in coins
    )
    return index


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[ChatBot]:
    clock = Clock(NOW)
    index = seen_index(clock.now, ["BTC", "ETH", "SOL", *COINS])
    async with chat_bot(tmp_path / "bot.db", index=index, clock=clock) as running:
        await running.ask(42, "/start")
        running.sink.take()
        yield running


def one_line(text: str, usage: str) -> None:
    assert "\n" not in text, text
    assert text.endswith(f"Usage: {usage}"), text


async def rules_of(bot: ChatBot, chat_id: int = 42) -> list[tuple[str | None, str, float]]:
    rows = await bot.dbt.run(store.list_rules, chat_id)
    return [(r.spec.coin, r.spec.window, r.spec.threshold) for r in rows]


async def test_threshold_show_set_change_and_off(bot: ChatBot) -> None:
    shown = await bot.ask(42, "/threshold")
    assert "• 1h ≥ $100M" in shown and "• 24h ≥ $1B" in shown
    assert (
        await bot.ask(42, "/threshold 1h 250M")
    ) == "✅ Alert when market-wide liquidations reach $250M in 1h (was $100M)."
    assert "reach $1.5B in 4h." in await bot.ask(42, "/threshold 4H $1.5b")
    assert "reach $750K in 5m." in await bot.ask(42, "/threshold 750k 5m")  # either order
    assert "$12.5M in 15m" in await bot.ask(42, "/threshold 15m 12,500,000")
    assert await rules_of(bot) == [
        (None, "5m", 750e3),
        (None, "15m", 12.5e6),
        (None, "1h", 250e6),
        (None, "4h", 1.5e9),
        (None, "24h", 1e9),
    ]
    assert "24h market-wide threshold is off" in await bot.ask(42, "/threshold 24h off")
    assert "no 12h market-wide threshold" in await bot.ask(42, "/threshold 12h OFF")
    assert (None, "24h", 1e9) not in await rules_of(bot)
    assert bot.sink.take() == [
        ("rule_set", 42, RuleSpec("1h", 250e6)),
        ("rule_set", 42, RuleSpec("4h", 1.5e9)),
        ("rule_set", 42, RuleSpec("5m", 750e3)),
        ("rule_set", 42, RuleSpec("15m", 12.5e6)),
        ("rule_removed", 42, None, "24h"),
    ]
    shown = await bot.ask(42, "/threshold")
    assert "• 5m ≥ $750K\n• 15m ≥ $12.5M\n• 1h ≥ $250M\n• 4h ≥ $1.5B" in shown


THRESHOLD_BAD = [
    ("3h 250M", 'Unknown window "3h"; use 5m, 15m, 1h, 4h, 12h or 24h.'),
    ("7d 250M", 'Unknown window "7d"'),
    ("1h", "Missing the amount (or off) after 1h."),
    ("250M", 'Unknown window "250M"'),
    ("1h abc", '"abc" is not an amount'),
    ("1h 0", "Amount must be more than zero"),
    ("1h -5M", "Amount must be positive"),
    ("1h 5T", "too large"),
    ("1h 250M extra", "Too many arguments (3)"),
]


async def test_threshold_bad_input_is_one_line_with_usage(bot: ChatBot) -> None:
    for args, what in THRESHOLD_BAD:
        text = await bot.ask(42, f"/threshold {args}")
        one_line(text, THRESHOLD_USAGE)
        assert what in text.replace("&quot;", '"'), text
    assert await rules_of(bot) == [(None, "1h", 100e6), (None, "24h", 1e9)]
    assert bot.sink.calls == []


async def test_never_started_chat_is_told_to_start(bot: ChatBot) -> None:
    for command in ("/threshold 1h 5M", "/threshold", "/watch BTC 5M", "/mute 1h", "/unwatch BTC"):
        text = await bot.ask(7, command)
        assert text.startswith("This chat is not subscribed yet: send /start first."), text
        assert "\n" not in text
    assert await bot.dbt.run(store.get_chat, 7) is None


async def test_changes_in_a_stopped_or_muted_chat_say_so(bot: ChatBot) -> None:
    await bot.ask(42, "/mute 2h")
    text = await bot.ask(42, "/threshold 1h 300M")
    assert text.endswith("This chat is muted until 14:00 UTC (/unmute).")
    await bot.ask(42, "/stop")
    bot.sink.take()
    text = await bot.ask(42, "/watch eth 5M")
    assert text.endswith("Alerts are off in this chat: /start turns them on.")
    assert bot.sink.calls == []  # stored for later, not given to the engine
    assert ("ETH", "1h", 5e6) in await rules_of(bot)


async def test_watch_list_replace_and_unwatch(bot: ChatBot) -> None:
    assert "No coins are watched" in await bot.ask(42, "/watch")
    text = await bot.ask(42, "/watch btc 50M")
    assert text == "👁 Watching BTC: alert when its liquidations reach $50M in 1h."
    text = await bot.ask(42, "/watch BTCUSDT 80M 4h")
    assert text == (
        "👁 Watching BTC: alert when its liquidations reach $80M in 4h. Replaces 1h ≥ $50M."
    )
    assert "reach $2M in 15m" in await bot.ask(42, "/watch ETH 15m 2M")  # window first
    listed = await bot.ask(42, "/watch")
    assert "(2 of 30)" in listed
    assert "• <b>BTC</b> 4h ≥ $80M\n• <b>ETH</b> 15m ≥ $2M" in listed
    assert await rules_of(bot) == [
        (None, "1h", 100e6),
        (None, "24h", 1e9),
        ("BTC", "4h", 80e6),
        ("ETH", "15m", 2e6),
    ]
    assert await bot.ask(42, "/unwatch btc") == "✅ Stopped watching BTC."
    one_line(await bot.ask(42, "/unwatch BTC"), UNWATCH_USAGE)
    assert bot.sink.take() == [
        ("rule_set", 42, RuleSpec("1h", 50e6, "BTC")),
        ("rule_removed", 42, "BTC", "1h"),
        ("rule_set", 42, RuleSpec("4h", 80e6, "BTC")),
        ("rule_set", 42, RuleSpec("15m", 2e6, "ETH")),
        ("rule_removed", 42, "BTC", "4h"),
    ]


WATCH_BAD = [
    ("/watch BTC", WATCH_USAGE, "Missing the amount after BTC."),
    (
        "/watch DOGE 5M",
        WATCH_USAGE,
        "Unknown coin DOGE: no venue lists it and no liquidations of it were seen",
    ),
    ("/watch BTC 5M 3h", WATCH_USAGE, "Unknown window"),
    ("/watch BTC 5M 7d", WATCH_USAGE, "Unknown window"),
    ("/watch BTC zero", WATCH_USAGE, "is not an amount"),
    ("/watch BTC 0", WATCH_USAGE, "Amount must be more than zero"),
    ("/watch BTC 5M 1h x", WATCH_USAGE, "Too many arguments (4)"),
    ("/watch B!TC 5M", WATCH_USAGE, "is not a coin"),
    ("/unwatch", UNWATCH_USAGE, "Missing the coin."),
    ("/unwatch BTC ETH", UNWATCH_USAGE, "Too many arguments (2)"),
    ("/unwatch ???", UNWATCH_USAGE, "is not a coin"),
]


async def test_watch_bad_input_is_one_line_with_usage(bot: ChatBot) -> None:
    for command, usage, what in WATCH_BAD:
        text = await bot.ask(42, command)
        one_line(text, usage)
        assert what in text.replace("&quot;", '"'), text
    assert [r for r in await rules_of(bot) if r[0]] == []
    assert bot.sink.calls == []


async def test_at_most_30_watched_coins(bot: ChatBot) -> None:
    for coin in COINS[:30]:
        assert "Watching" in await bot.ask(42, f"/watch {coin} 1M")
    text = await bot.ask(42, f"/watch {COINS[30]} 1M")
    one_line(text, WATCH_USAGE)
    assert text.startswith("This chat already watches 30 coins, the maximum; /unwatch one.")
    # Changing a coin already watched is still fine at the cap.
    assert "Replaces 1h ≥ $1M" in await bot.ask(42, f"/watch {COINS[0]} 2M 4h")
    watched = [r for r in await rules_of(bot) if r[0]]
    assert len(watched) == 30 and ("C01", "4h", 2e6) in watched
    assert "(30 of 30)" in await bot.ask(42, "/watch")


async def test_a_coin_a_venue_lists_can_be_watched_before_its_first_liquidation(
    tmp_path: Path,
) -> None:
    async with chat_bot(tmp_path / "listed.db", known_coins=frozenset({"DOGE"})) as running:
        await running.ask(7, "/start")
        reply = await running.ask(7, "/watch doge 5M")
        assert "Watching DOGE" in reply
        unknown = await running.ask(7, "/watch NOPE 5M")
        assert unknown.startswith("Unknown coin NOPE")
