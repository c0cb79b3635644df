"""Unknown commands: one line pointing to /help where the command is surely for us."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.fakes.chat_bot import ChatBot, chat_bot

GROUP = -1007001


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[ChatBot]:
    async with chat_bot(tmp_path / "bot.db") as running:
        yield running


async def test_a_typo_in_a_private_chat_gets_one_line(bot: ChatBot) -> None:
    reply = await bot.ask(42, "/thresold 1h 250M")
    assert reply == "Unknown command /thresold: /help lists every command."
    addressed = await bot.ask(42, "/foo@LIQWATCH_test_bot")
    assert addressed == "Unknown command /foo: /help lists every command."


async def test_names_are_escaped_and_cut(bot: ChatBot) -> None:
    assert (
        await bot.ask(42, "/<b>&") == "Unknown command /&lt;b&gt;&amp;: /help lists every command."
    )
    long = await bot.ask(42, "/" + "x" * 4000)
    assert long == f"Unknown command /{'x' * 32}…: /help lists every command."


async def test_commands_of_other_bots_stay_unanswered(bot: ChatBot) -> None:
    before = len(bot.fake.sent)
    bot.fake.push_command(42, "/foo@OtherBot")
    bot.fake.push_command(42, "/liq@OtherBot")
    bot.fake.push_command(GROUP, "/foo", user_id=7)  # maybe another bot's, in a group
    await bot.settle(42)
    assert [m.text for m in bot.fake.sent[before:]][:-1] == []
    in_group = await bot.ask(GROUP, "/foo@liqwatch_test_bot", user_id=7)
    assert in_group == "Unknown command /foo: /help lists every command."


async def test_known_commands_are_not_taken_by_the_fallback(bot: ChatBot) -> None:
    assert "Usage: /threshold" in await bot.ask(42, "/THRESHOLD 1h")
    assert "Unknown" not in await bot.ask(42, "/help")
