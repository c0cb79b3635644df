import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bench.fakes.bot_api_shapes import command_entities
from bench.fakes.chat_bot import ChatBot, chat_bot
from bot.domain import RuleSpec
from storage import chats as store

GROUP = -1001234
ANON_ADMIN_BOT = {"id": 1087968824, "is_bot": True, "first_name": "Group"}


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[ChatBot]:
    async with chat_bot(tmp_path / "bot.db") as running:
        yield running


def one_line(text: str, usage: str) -> None:
    assert "\n" not in text, text
    assert f"Usage: {usage}" in text, text


async def rules_of(bot: ChatBot, chat_id: int) -> list[tuple[str | None, str, float]]:
    rows = await bot.dbt.run(store.list_rules, chat_id)
    return [(r.spec.coin, r.spec.window, r.spec.threshold) for r in rows]


async def test_start_subscribes_with_default_rules_and_greets(bot: ChatBot) -> None:
    text = await bot.ask(42, "/start")
    assert "liquidations" in text and "Binance, Bybit and OKX" in text
    assert "• 1h ≥ $100M" in text and "• 24h ≥ $1B" in text
    for command in ("/liq", "/top", "/threshold", "/watch", "/mute", "/help"):
        assert command in text
    assert await rules_of(bot, 42) == [(None, "1h", 100e6), (None, "24h", 1e9)]
    chat = await bot.dbt.run(store.get_chat, 42)
    assert chat is not None and chat.subscribed and chat.type == "private"
    assert chat.title == "Trader"
    assert bot.sink.take() == [
        ("rule_set", 42, RuleSpec("1h", 100e6)),
        ("rule_set", 42, RuleSpec("24h", 1e9)),
    ]
    again = await bot.ask(42, "/start")
    assert again.startswith("This chat is already subscribed")
    # Deep links (/start PAYLOAD) are not an error.
    assert "already subscribed" in await bot.ask(42, "/start ref_abc")
    assert bot.sink.take() == []


async def test_stop_keeps_settings_for_a_later_start(bot: ChatBot) -> None:
    await bot.ask(42, "/start")
    await bot.ask(42, "/threshold 1h 250M")
    bot.sink.take()
    stopped = await bot.ask(42, "/stop")
    assert "Alerts stopped" in stopped and "kept" in stopped
    assert bot.sink.take() == [("chat_removed", 42)]
    chat = await bot.dbt.run(store.get_chat, 42)
    assert chat is not None and not chat.subscribed
    assert await rules_of(bot, 42) == [(None, "1h", 250e6), (None, "24h", 1e9)]
    assert "not subscribed" in await bot.ask(42, "/stop")
    back = await bot.ask(42, "/start")
    assert back.startswith("👋 Welcome back") and "• 1h ≥ $250M" in back
    assert await rules_of(bot, 42) == [(None, "1h", 250e6), (None, "24h", 1e9)]
    one_line(await bot.ask(42, "/stop now"), "/stop")


async def test_group_only_admins_change_settings(bot: ChatBot) -> None:
    bot.fake.set_member(GROUP, 1, "creator")
    bot.fake.set_member(GROUP, 2, "administrator")
    bot.fake.set_member(GROUP, 3, "member")
    refused = await bot.ask(GROUP, "/start", user_id=3)
    assert refused.startswith("Only this group's administrators") and "\n" not in refused
    assert await bot.dbt.run(store.get_chat, GROUP) is None
    assert "now subscribed" in await bot.ask(GROUP, "/start@liqwatch_test_bot", user_id=1)
    assert "✅" in await bot.ask(GROUP, "/threshold 4h 500M", user_id=2)
    for command in ("/threshold 1h off", "/watch BTC 5M", "/unwatch BTC", "/mute 1h"):
        assert (await bot.ask(GROUP, command, user_id=3)).startswith("Only this group's")
    for command in ("/unmute", "/stop"):
        assert (await bot.ask(GROUP, command, user_id=3)).startswith("Only this group's")
    # Anyone may ask.
    assert "Market-wide thresholds" in await bot.ask(GROUP, "/threshold", user_id=3)
    assert "No coins are watched" in await bot.ask(GROUP, "/watch", user_id=3)
    assert "Settings of this chat" in await bot.ask(GROUP, "/settings", user_id=3)
    assert "Liquidations" in await bot.ask(GROUP, "/liq", user_id=3)
    assert await rules_of(bot, GROUP) == [
        (None, "1h", 100e6),
        (None, "4h", 500e6),
        (None, "24h", 1e9),
    ]
    chat = await bot.dbt.run(store.get_chat, GROUP)
    assert chat is not None and chat.subscribed and chat.type == "supergroup"
    assert chat.title == "Test group"
    checks = [c.params["user_id"] for c in bot.fake.calls_to("getChatMember")]
    assert set(checks) == {1, 2, 3}


def anonymous(chat_id: int, text: str, sender_chat_id: int) -> dict[str, Any]:
    group = {"id": chat_id, "type": "supergroup", "title": "Desk"}
    sender = {
        "id": sender_chat_id,
        "type": "supergroup" if sender_chat_id == chat_id else "channel",
    }
    sender["title"] = "Desk"
    return {
        "message": {
            "message_id": 77,
            "date": int(time.time()),
            "chat": group,
            "from": ANON_ADMIN_BOT,
            "sender_chat": sender,
            "text": text,
            "entities": command_entities(text),
        }
    }


async def test_anonymous_admins_may_a_linked_channel_may_not(bot: ChatBot) -> None:
    text = await bot.expect_reply(
        GROUP, lambda: bot.fake.push_update(anonymous(GROUP, "/start", GROUP))
    )
    assert "now subscribed" in text
    channel = -1009999
    text = await bot.expect_reply(
        GROUP, lambda: bot.fake.push_update(anonymous(GROUP, "/stop", channel))
    )
    assert text.startswith("Only this group's administrators")
    chat = await bot.dbt.run(store.get_chat, GROUP)
    assert chat is not None and chat.subscribed
    assert bot.fake.calls_to("getChatMember") == []  # decided from the message alone


async def test_blocked_and_unblocked_bot_pauses_and_resumes_alerts(bot: ChatBot) -> None:
    await bot.ask(42, "/start")
    bot.sink.take()
    bot.fake.push_bot_status(42, "kicked")
    await bot.settle(1)
    chat = await bot.dbt.run(store.get_chat, 42)
    assert chat is not None and not chat.active and chat.subscribed
    assert bot.sink.take() == [("chat_removed", 42)]
    assert "paused" in await bot.ask(42, "/settings")
    bot.fake.push_bot_status(42, "member")
    await bot.settle(1)
    chat = await bot.dbt.run(store.get_chat, 42)
    assert chat is not None and chat.active
    assert bot.sink.take() == [
        ("rule_set", 42, RuleSpec("1h", 100e6)),
        ("rule_set", 42, RuleSpec("24h", 1e9)),
    ]
    bot.fake.push_bot_status(777, "kicked")  # a chat that never subscribed: nothing to do
    await bot.settle(1)
    assert await bot.dbt.run(store.get_chat, 777) is None


async def test_a_reply_refused_with_forbidden_deactivates_the_chat(bot: ChatBot) -> None:
    await bot.ask(42, "/start")
    bot.sink.take()
    bot.fake.faults.block(42)
    bot.fake.push_command(42, "/settings")
    await bot.fake.wait_until(lambda: any(c.status == 403 for c in bot.fake.calls))
    await bot.settle(1)
    chat = await bot.dbt.run(store.get_chat, 42)
    assert chat is not None and not chat.active
    assert bot.sink.take() == [("chat_removed", 42)]


async def test_group_upgraded_to_supergroup_keeps_its_subscription(bot: ChatBot) -> None:
    old, new = -4242, -1004242
    bot.fake.set_member(old, 5, "creator")
    await bot.ask(old, "/start", user_id=5)
    await bot.ask(old, "/watch BTC 5M", user_id=5)  # unknown coin: refused, not stored
    bot.sink.take()
    service = {
        "message_id": 90,
        "date": int(time.time()),
        "chat": {"id": old, "type": "group", "title": "Desk"},
        "from": {"id": 5, "is_bot": False, "first_name": "Owner"},
        "migrate_to_chat_id": new,
    }
    bot.fake.push_update({"message": service})
    await bot.settle(1)
    assert await bot.dbt.run(store.get_chat, old) is None
    assert await rules_of(bot, new) == [(None, "1h", 100e6), (None, "24h", 1e9)]
    assert bot.sink.take() == [("chat_migrated", old, new)]
    assert "Alerts: on" in await bot.ask(new, "/settings")
    # The matching message in the new supergroup finds nothing left to move.
    bot.fake.push_update(
        {
            "message": {
                **service,
                "chat": {"id": new, "type": "supergroup", "title": "Desk"},
                "migrate_to_chat_id": None,
                "migrate_from_chat_id": old,
            }
        }
    )
    await bot.settle(1)
    assert bot.sink.take() == []


async def test_a_reply_to_a_migrated_group_moves_it_and_answers_there(bot: ChatBot) -> None:
    old, new = -5151, -1005151
    bot.fake.set_member(old, 5, "creator")
    await bot.ask(old, "/start", user_id=5)
    bot.fake.faults.migrate(old, new)
    bot.fake.push_command(old, "/settings", user_id=5)
    await bot.fake.wait_until(lambda: bool(bot.fake.texts(new)))
    assert "Settings of this chat" in str(bot.fake.texts(new)[0])
    assert await bot.dbt.run(store.get_chat, old) is None
    moved = await bot.dbt.run(store.get_chat, new)
    assert moved is not None and moved.subscribed
    bot.check_all()


async def test_a_channel_subscribes_through_a_channel_post(bot: ChatBot) -> None:
    channel = -1007777
    post = {
        "message_id": 3,
        "date": int(time.time()),
        "chat": {"id": channel, "type": "channel", "title": "Liq <alerts>"},
        "sender_chat": {"id": channel, "type": "channel", "title": "Liq <alerts>"},
        "text": "/start",
        "entities": command_entities("/start"),
    }
    text = await bot.expect_reply(channel, lambda: bot.fake.push_update({"channel_post": post}))
    assert "now subscribed" in text
    chat = await bot.dbt.run(store.get_chat, channel)
    assert chat is not None and chat.type == "channel" and chat.title == "Liq <alerts>"
    # An edited command is not run again.
    bot.fake.push_update({"edited_channel_post": {**post, "edit_date": int(time.time())}})
    await bot.settle(1)
    assert bot.fake.texts(channel) == [text]
