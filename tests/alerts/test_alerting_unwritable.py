"""Nothing a venue sends can stop alerting: an absurd print is a reject, an absurd total
gives a capped, storable level, and a row SQLite refuses is left out without holding back
the rows behind it (AlertEngine on a real SQLite file, fed through the real parser and
Ingestor)."""

from __future__ import annotations

import json
import logging

import pytest

from bot.alerts.liquidations import AlertEngine
from bot.chats import ChatService
from bot.domain import HOUR_MS, MAX_MULTIPLE, MINUTE_MS, Liquidation, RuleSpec
from bot.ingest.aggregate import bucket_deltas
from bot.ingest.ingestor import Ingestor
from bot.totals.index import TotalsIndex
from bot.totals.service import TotalsService
from bot.venues.bybit.feed import BybitSource
from bot.venues.registry import VENUES
from storage import chats, outbox
from storage.db import DbThread

M = 1_000_000.0
T0 = 1_795_000_000_000 // HOUR_MS * HOUR_MS
DEFAULTS = {"1h": 100 * M, "24h": 1000 * M}


def bybit_message(*items: tuple[str, str, str]) -> str:
    data = [
        {"T": T0 + i, "s": "BTCUSDT", "S": side, "v": v, "p": p}
        for i, (side, v, p) in enumerate(items)
    ]
    return json.dumps({"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "data": data})


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_absurd_print_cannot_stop_the_alerts_behind_it(
    dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    index = TotalsIndex()
    now = T0 + 10 * MINUTE_MS
    engine = AlertEngine(dbt, TotalsService(index, VENUES), now_ms=lambda: now)
    service = ChatService(dbt, DEFAULTS, engine, now_ms=lambda: now)
    for chat_id in range(1, 211):
        await service.subscribe(chat_id, "private")
    ingestor = Ingestor(dbt, index)
    source = BybitSource("ws://127.0.0.1:1/v5/public/linear")
    # 1e150 x 1e150 = $1e300: finite, and once enough to make the level unstorable.
    absurd = source.parse(bybit_message(("Buy", "1e150", "1e150"), ("Sell", "9e12", "1e4")))
    assert absurd.events == [] and absurd.rejects == 2
    ingestor.add(absurd.events)
    valid = source.parse(bybit_message(("Buy", "1000", "60000"), ("Sell", "700", "60000")))
    assert valid.rejects == 0
    ingestor.add(valid.events)
    assert await ingestor.flush() == 2
    rows = await engine.tick()
    assert sorted(r.chat_id for r in rows) == list(range(1, 211))  # $102M: every chat
    assert len(await dbt.run(outbox.unfinished)) == 210
    assert engine.stats.commit_failures == 0 and not errors(caplog)


async def test_an_absurd_total_gives_a_capped_level_and_alerts_still_commit(
    dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    index = TotalsIndex()
    now = T0 + 10 * MINUTE_MS
    engine = AlertEngine(dbt, TotalsService(index, VENUES), now_ms=lambda: now)
    service = ChatService(dbt, {"1h": 1.0}, engine, now_ms=lambda: now)
    await service.subscribe(1, "private")
    await service.subscribe(2, "private")
    # Whatever reaches the index (not only parsed prints) must not wedge the engine.
    event = Liquidation("bybit", "BTCUSDT", "BTC", "long", 1e150, 1e150, 1e300, T0)
    index.apply(bucket_deltas([event]))
    rows = await engine.tick()
    assert sorted(r.chat_id for r in rows) == [1, 2]
    (rule,) = await dbt.run(chats.list_rules, 1)
    assert rule.state.level == MAX_MULTIPLE
    assert await engine.tick() == []  # at the cap: nothing more to announce, no error
    assert engine.stats.commit_failures == 0 and not errors(caplog)


async def test_a_row_sqlite_refuses_is_left_out_and_the_others_commit(
    dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    index = TotalsIndex()
    now = T0 + 10 * MINUTE_MS
    engine = AlertEngine(dbt, TotalsService(index, VENUES), now_ms=lambda: now)
    service = ChatService(dbt, DEFAULTS, engine, now_ms=lambda: now)
    for chat_id in (1, 2, 3):
        await service.subscribe(chat_id, "private")
    # A chat id beyond 64 bits: its rule state and its message are both unwritable. Set
    # on the engine directly (no command can create it), in the same group as the others.
    bad = 2**63
    engine.rule_set(bad, RuleSpec(window="1h", threshold=100 * M))
    event = Liquidation("okx", "BTC-USDT-SWAP", "BTC", "long", 1.0, 150 * M, 150 * M, T0)
    index.apply(bucket_deltas([event]))
    rows = await engine.tick()
    assert sorted(r.chat_id for r in rows) == [1, 2, 3]
    assert len(await dbt.run(outbox.unfinished)) == 3
    logged = errors(caplog)
    assert len(logged) == 1 and logged[0].exc_info is None
    assert logged[0].getMessage() == (
        "alert commit: left out the unwritable rows, 1 of 7 rule state(s) and 1 of 4"
        " message(s) (OverflowError: Python int too large to convert to SQLite INTEGER)"
    )
    # The next commit is not held back either: the 2x escalation reaches 1, 2 and 3.
    more = Liquidation("okx", "BTC-USDT-SWAP", "BTC", "long", 1.0, 60 * M, 60 * M, T0)
    index.apply(bucket_deltas([more]))
    again = await engine.tick()
    assert sorted(r.chat_id for r in again) == [1, 2, 3]
    assert engine.stats.commit_failures == 0
    assert all(r.exc_info is None for r in errors(caplog))
    for chat_id in (1, 2, 3):
        rules = await dbt.run(chats.list_rules, chat_id)
        assert [(r.spec.window, r.state.level) for r in rules] == [("1h", 2), ("24h", 0)]


async def test_a_failing_database_keeps_the_alerts_until_it_recovers(
    dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.alerts.pipeline")
    index = TotalsIndex()
    now = T0 + 10 * MINUTE_MS
    engine = AlertEngine(dbt, TotalsService(index, VENUES), now_ms=lambda: now)
    service = ChatService(dbt, DEFAULTS, engine, now_ms=lambda: now)
    await service.subscribe(1, "private")
    await service.subscribe(2, "private")
    event = Liquidation("okx", "BTC-USDT-SWAP", "BTC", "long", 1.0, 150 * M, 150 * M, T0)
    index.apply(bucket_deltas([event]))
    await dbt.run(lambda db: db.execute("ALTER TABLE outbox RENAME TO away"))
    assert await engine.tick() == [] and await engine.tick() == []
    await dbt.run(lambda db: db.execute("ALTER TABLE away RENAME TO outbox"))
    rows = await engine.tick()
    assert sorted(r.chat_id for r in rows) == [1, 2] and engine.stats.commit_failures == 2
    # Not a row's fault: nothing was left out. A failing database is not a bug, so no
    # traceback: the cause in one line at WARNING, then quieter until it recovers.
    logged = [r for r in caplog.records if r.name == "bot.alerts.pipeline"]
    assert [(r.levelname, r.exc_info is not None) for r in logged] == [
        ("WARNING", False),
        ("INFO", False),
    ]
    assert all("(OperationalError: no such table: outbox)" in r.getMessage() for r in logged)
