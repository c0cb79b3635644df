from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.fakes.chat_bot import ChatBot, chat_bot
from bot.domain import HOUR_MS, MINUTE_MS
from storage import chats as store

MUTE_USAGE = "/mute DURATION — e.g. /mute 2h"


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[ChatBot]:
    async with chat_bot(tmp_path / "bot.db") as running:
        await running.ask(42, "/start")
        running.sink.take()
        yield running


async def muted_until(bot: ChatBot, chat_id: int = 42) -> int | None:
    chat = await bot.dbt.run(store.get_chat, chat_id)
    assert chat is not None
    return chat.muted_until_ms


async def test_mute_and_unmute(bot: ChatBot) -> None:
    now = bot.clock.now  # 12:00 UTC
    text = await bot.ask(42, "/mute 2h")
    assert text == (
        "🔕 Muted for 2h, until 14:00 UTC. Alerts during the mute are dropped,"
        " not sent afterwards. /unmute ends it."
    )
    assert await muted_until(bot) == now + 2 * HOUR_MS
    assert "Muted until 14:00 UTC (2h left; /unmute ends it)" in await bot.ask(42, "/settings")
    assert "Muted for 1d, until Oct 11 12:00 UTC." in await bot.ask(42, "/mute 1D")
    assert "Muted for 1h 30m" in await bot.ask(42, "/mute 1h30m")
    assert await bot.ask(42, "/unmute") == "🔔 Unmuted: alerts are on again."
    assert await muted_until(bot) is None
    assert await bot.ask(42, "/unmute") == "This chat is not muted."
    await bot.ask(42, "/mute 30m")
    bot.clock.now += 31 * MINUTE_MS  # the mute ran out by itself
    assert await bot.ask(42, "/unmute") == "This chat is not muted."
    assert bot.sink.take() == [
        ("chat_muted", 42, now + 2 * HOUR_MS),
        ("chat_muted", 42, now + 24 * HOUR_MS),
        ("chat_muted", 42, now + 90 * MINUTE_MS),
        ("chat_muted", 42, None),
        ("chat_muted", 42, now + 30 * MINUTE_MS),
        ("chat_muted", 42, None),
    ]


MUTE_BAD = [
    ("/mute", "Missing the duration.", MUTE_USAGE),
    ("/mute forever", '"forever" is not a duration', MUTE_USAGE),
    ("/mute 0m", "is too short", MUTE_USAGE),
    ("/mute 31d", "is too long; the maximum is 30d", MUTE_USAGE),
    ("/mute 2h please", "Too many arguments (2)", MUTE_USAGE),
    ("/mute -1h", "is not a duration", MUTE_USAGE),
    ("/unmute now", "/unmute takes no arguments.", "/unmute"),
]


async def test_bad_mute_input(bot: ChatBot) -> None:
    for command, what, usage in MUTE_BAD:
        text = await bot.ask(42, command)
        assert "\n" not in text and text.endswith(f"Usage: {usage}"), text
        assert what in text.replace("&quot;", '"'), text
    assert await muted_until(bot) is None
    assert bot.sink.calls == []
