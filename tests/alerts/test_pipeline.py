"""The one alert pipeline (bot/alerts/pipeline.py) running a new alert kind: a toy kind that
supplies only its parts (evaluate, recipients, mutes, notice, changed states) gets mutes,
the atomic commit of states and outbox rows on a real SQLite file, the keep-and-retry of
a failing database and the push, with no pipeline code of its own."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import pytest
from sqlite_utils import Database

from bot.alerts import rules
from bot.alerts.notice import LiquidationNotice, from_json
from bot.alerts.pipeline import AlertPipeline
from bot.domain import RuleSpec, RuleState
from bot.totals.result import Totals
from storage import outbox
from storage.db import DbThread
from storage.outbox import OutboxRow

M = 1e6


def save_toy_states(db: Database, states: Sequence[tuple[tuple[int, str], RuleState]]) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS toy_states (chat INTEGER, coin TEXT, level INTEGER)")
    db.conn.executemany(
        "INSERT INTO toy_states VALUES (?, ?, ?)", [(k[0], k[1], s.level) for k, s in states]
    )


def totals(total: float) -> Totals:
    return Totals(
        window="1h",
        start_ms=0,
        end_ms=3_600_000,
        long_usd=total,
        short_usd=0.0,
        long_count=1,
        short_count=0,
        by_exchange={},
        by_coin={},
        largest=None,
    )


class ToyKind:
    """A whale-like kind: one figure, chats 1-3 with a 10M rule, chat 2 muted."""

    def __init__(self) -> None:
        self.evaluator = rules.Evaluator()
        for chat in (1, 2, 3):
            self.evaluator.set((chat, "toy"), RuleSpec("1h", 10 * M))
        self.figure = 0.0

    async def evaluate(self, now: int) -> list[rules.Alert]:
        return self.evaluator.tick({(None, "1h"): self.figure}, now)

    def recipients(self, alert: rules.Alert) -> Iterable[int]:
        return [e[0] for e in alert.entries]  # type: ignore[index]

    def muted(self, chat_id: int, now: int) -> bool:
        return chat_id == 2

    async def notice(self, alert: rules.Alert, now: int) -> LiquidationNotice:
        return LiquidationNotice(alert.spec, alert.fire, totals(self.figure))

    def changed_states(self) -> dict[tuple[int, str], RuleState]:
        return self.evaluator.take_changed()  # type: ignore[return-value]


class Outlet:
    def __init__(self) -> None:
        self.pushed: list[OutboxRow] = []

    def push(self, rows: Iterable[OutboxRow]) -> None:
        self.pushed += rows


async def test_a_new_kind_gets_mutes_commit_and_push_from_the_pipeline(dbt: DbThread) -> None:
    kind, outlet = ToyKind(), Outlet()
    pipeline = AlertPipeline(
        dbt, save_toy_states, kind="toy", what="toy", run_name="tick", sender=outlet
    )
    kind.figure = 25 * M  # 2.5x: the first fire, already 2x over
    rows = await pipeline.run(kind, 1_000)
    assert [r.chat_id for r in rows] == [1, 3] and outlet.pushed == rows  # 2 is muted
    assert len({r.notice for r in rows}) == 1 and rows[0].kind == "toy"
    notice = from_json(rows[0].notice or "")
    assert isinstance(notice, LiquidationNotice) and notice.fire.multiple == 2
    assert await dbt.run(outbox.unfinished) == rows
    stored = await dbt.run(lambda db: db.execute("SELECT * FROM toy_states").fetchall())
    assert sorted(stored) == [(1, "toy", 2), (2, "toy", 2), (3, "toy", 2)]  # muted moves too
    stats = pipeline.stats
    assert (stats.ticks, stats.alerts, stats.messages, stats.muted_skipped) == (1, 1, 2, 1)
    assert await pipeline.run(kind, 2_000) == []  # nothing new: nothing committed


async def test_a_failing_database_keeps_the_batch_and_logs_one_line_then_quieter(
    dbt: DbThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.alerts.pipeline")
    kind, outlet = ToyKind(), Outlet()
    pipeline = AlertPipeline(
        dbt, save_toy_states, kind="toy", what="toy", run_name="poll", sender=outlet
    )
    await dbt.run(outbox.unfinished)
    await dbt.run(lambda db: db.execute("ALTER TABLE outbox RENAME TO away"))
    kind.figure = 12 * M
    assert await pipeline.run(kind, 1_000) == [] and await pipeline.run(kind, 2_000) == []
    await dbt.run(lambda db: db.execute("ALTER TABLE away RENAME TO outbox"))
    rows = await pipeline.run(kind, 3_000)
    assert [r.chat_id for r in rows] == [1, 3] and outlet.pushed == rows
    assert pipeline.stats.commit_failures == 2
    logged = [r for r in caplog.records if r.name == "bot.alerts.pipeline"]
    assert [(r.levelname, r.exc_info is None) for r in logged] == [
        ("WARNING", True),
        ("INFO", True),
    ]
    assert "retrying next poll" in logged[0].getMessage()
