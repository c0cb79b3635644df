import pytest

from bench.fakes.clock import Clock
from bench.fakes.rule_sink import RecordingSink
from bot.chats import ChatService, NotSubscribed, NullSink, TooManyWatches
from bot.config import Settings
from bot.domain import RuleSpec
from storage import chats as store
from storage.db import DbThread

T0 = 1_791_590_400_000


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def svc(dbt: DbThread, sink: RecordingSink, clock: Clock) -> ChatService:
    settings = Settings(default_rules={"1h": 100e6, "24h": 1e9})
    return ChatService(dbt, settings.default_rules, sink, now_ms=clock)


def market(window: str, threshold: float) -> RuleSpec:
    return RuleSpec(window=window, threshold=threshold)


async def test_subscribe_announces_default_rules_and_persists_them(
    svc: ChatService, sink: RecordingSink, dbt: DbThread
) -> None:
    result = await svc.subscribe(42, "private", "Ann")
    assert result.outcome == "new"
    assert sink.take() == [
        ("rule_set", 42, market("1h", 100e6)),
        ("rule_set", 42, market("24h", 1e9)),
    ]
    stored = await dbt.run(store.list_rules, 42)
    assert [r.spec for r in stored] == [market("1h", 100e6), market("24h", 1e9)]
    assert (await svc.subscribe(42, "private", "Ann")).outcome == "already"
    assert sink.take() == []  # nothing new for the engine


async def test_stop_and_start_again_keep_settings(
    svc: ChatService, sink: RecordingSink, clock: Clock
) -> None:
    await svc.subscribe(7, "private")
    await svc.set_threshold(7, "1h", 250e6)
    await svc.mute(7, 3_600_000)
    sink.take()
    assert await svc.unsubscribe(7) is True
    assert await svc.unsubscribe(7) is False
    assert sink.take() == [("chat_removed", 7)]
    # Changes while stopped are stored but not given to the engine.
    await svc.set_threshold(7, "4h", 400e6)
    assert sink.take() == []
    clock.now += 60_000
    back = await svc.subscribe(7, "private")
    assert back.outcome == "returning"
    assert sink.take() == [
        ("rule_set", 7, market("1h", 250e6)),
        ("rule_set", 7, market("4h", 400e6)),
        ("rule_set", 7, market("24h", 1e9)),
        ("chat_muted", 7, T0 + 3_600_000),
    ]


async def test_threshold_set_change_and_off(svc: ChatService, sink: RecordingSink) -> None:
    await svc.subscribe(1, "private")
    sink.take()
    assert await svc.set_threshold(1, "15m", 20e6) is None
    assert await svc.set_threshold(1, "15m", 30e6) == market("15m", 20e6)
    assert await svc.remove_threshold(1, "15m") is True
    assert await svc.remove_threshold(1, "15m") is False
    assert sink.take() == [
        ("rule_set", 1, market("15m", 20e6)),
        ("rule_set", 1, market("15m", 30e6)),
        ("rule_removed", 1, None, "15m"),
    ]


async def test_changes_need_a_subscribed_chat(svc: ChatService, sink: RecordingSink) -> None:
    with pytest.raises(NotSubscribed, match="send /start first"):
        await svc.set_threshold(5, "1h", 1e6)
    with pytest.raises(NotSubscribed):
        await svc.set_watch(5, "BTC", 1e6, "1h")
    with pytest.raises(NotSubscribed):
        await svc.mute(5, 60_000)
    with pytest.raises(NotSubscribed):
        await svc.remove_watch(5, "BTC")
    assert await svc.settings(5) is None
    assert sink.calls == []


async def test_watch_replaces_the_coins_previous_window_and_caps(
    svc: ChatService, sink: RecordingSink
) -> None:
    svc.max_watches = 2
    await svc.subscribe(3, "private")
    sink.take()
    await svc.set_watch(3, "BTC", 50e6, "1h")
    result = await svc.set_watch(3, "BTC", 80e6, "4h")
    assert result.replaced_windows == ("1h",)
    assert result.previous == RuleSpec("1h", 50e6, "BTC")
    await svc.set_watch(3, "ETH", 10e6, "1h")
    with pytest.raises(TooManyWatches, match="already watches 2 coins"):
        await svc.set_watch(3, "SOL", 10e6, "1h")
    assert await svc.remove_watch(3, "BTC") == ["4h"]
    assert await svc.remove_watch(3, "BTC") == []
    assert sink.take() == [
        ("rule_set", 3, RuleSpec("1h", 50e6, "BTC")),
        ("rule_removed", 3, "BTC", "1h"),
        ("rule_set", 3, RuleSpec("4h", 80e6, "BTC")),
        ("rule_set", 3, RuleSpec("1h", 10e6, "ETH")),
        ("rule_removed", 3, "BTC", "4h"),
    ]
    settings = await svc.settings(3)
    assert settings is not None
    assert [r.spec for r in settings.watches] == [RuleSpec("1h", 10e6, "ETH")]
    assert [r.spec.window for r in settings.market] == ["1h", "24h"]


async def test_mute_unmute(svc: ChatService, sink: RecordingSink, clock: Clock) -> None:
    await svc.subscribe(9, "private")
    sink.take()
    until = await svc.mute(9, 2 * 3_600_000)
    assert until == T0 + 2 * 3_600_000
    assert await svc.unmute(9) is True
    assert await svc.unmute(9) is False
    await svc.mute(9, 60_000)
    clock.now += 60_000  # expired by itself
    assert await svc.unmute(9) is False
    assert sink.take() == [
        ("chat_muted", 9, until),
        ("chat_muted", 9, None),
        ("chat_muted", 9, T0 + 60_000),
        ("chat_muted", 9, None),
    ]


async def test_deactivate_reactivate_and_migrate(
    svc: ChatService, sink: RecordingSink, dbt: DbThread
) -> None:
    await svc.subscribe(-5, "group", "Desk")
    sink.take()
    assert await svc.deactivate(-5) is True
    assert await svc.deactivate(-5) is False
    assert await svc.reactivate(-5) is True
    assert await svc.reactivate(-5) is False
    assert await svc.reactivate(-404) is False
    assert await svc.migrate(-5, -1005) is True
    assert await svc.migrate(-5, -1005) is False
    assert sink.take() == [
        ("chat_removed", -5),
        ("rule_set", -5, market("1h", 100e6)),
        ("rule_set", -5, market("24h", 1e9)),
        ("chat_migrated", -5, -1005),
    ]
    moved = await dbt.run(store.get_chat, -1005)
    assert moved is not None and moved.type == "supergroup" and moved.title == "Desk"
    assert [r.key for r in await dbt.run(store.load_active_rules)] == [
        (-1005, "", "1h"),
        (-1005, "", "24h"),
    ]


async def test_default_rules_from_settings_and_null_sink(dbt: DbThread) -> None:
    svc = ChatService(dbt, Settings(default_rules={"15m": 5e6}).default_rules)
    assert isinstance(svc.sink, NullSink)
    result = await svc.subscribe(1, "private")
    assert [r.spec for r in result.rules] == [market("15m", 5e6)]
    off = ChatService(dbt, Settings.from_env({"LIQWATCH_DEFAULT_RULES": "off"}).default_rules)
    assert (await off.subscribe(2, "private")).rules == ()
    sink = RecordingSink()
    svc.attach(sink)
    await svc.unsubscribe(1)
    assert sink.calls == [("chat_removed", 1)]
