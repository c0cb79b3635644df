"""The hourly prune job on a real SQLite file: the outbox, feed uptime and runs are bounded.

History is written by an earlier "process" (storage functions on the file), then a fresh
``Core`` opens the file and its JobQueue ``prune`` job runs, as ``liqwatch run`` does.
"""

from dataclasses import replace
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.app import build_application, schedule_core_jobs
from bot.clock import now_ms
from bot.config import Settings
from bot.core import BUCKET_KEEP_DAYS, DAY_MS, OUTBOX_KEEP_MS, Core
from storage import outbox
from storage.db import open_db
from storage.outbox import FAILED, PENDING, SENDING, SENT, NewMessage
from storage.runs import close_run, open_run
from storage.uptime import close_interval, open_interval

HOUR_MS = DAY_MS // 24


def write_history(path: Path, now: int) -> dict[str, int]:
    """Outbox rows of every status and age, old and recent uptime and runs; their ids."""
    db = open_db(path)
    try:
        ids: dict[str, int] = {}
        ages = {"old": now - OUTBOX_KEEP_MS - HOUR_MS, "recent": now - OUTBOX_KEEP_MS + HOUR_MS}
        for age, created in ages.items():
            rows = outbox.add(db, [NewMessage(i, f"{age} {i}") for i in range(4)], created)
            statuses = (SENT, FAILED, PENDING, SENDING)
            outbox.update(db, [replace(r, status=s) for r, s in zip(rows, statuses, strict=True)])
            ids.update({f"{age} {s}": r.id for r, s in zip(rows, statuses, strict=True)})
        keep_ms = BUCKET_KEEP_DAYS * DAY_MS
        for label, end in (("old", now - keep_ms - HOUR_MS), ("recent", now - keep_ms + HOUR_MS)):
            run = open_run(db, end - HOUR_MS)
            close_run(db, run, end)
            interval = open_interval(db, "bybit", end - HOUR_MS)
            close_interval(db, interval, end)
            ids[f"{label} run"], ids[f"{label} uptime"] = run, interval
        db.conn.commit()  # close_run/close_interval leave their UPDATE in an open transaction
        return ids
    finally:
        db.close()


def remaining(db: Database) -> tuple[set[int], set[int], set[int]]:
    messages = {r[0] for r in db.execute("SELECT id FROM outbox")}
    runs = {r[0] for r in db.execute("SELECT id FROM runs")}
    uptime = {r[0] for r in db.execute("SELECT id FROM source_uptime")}
    return messages, runs, uptime


async def test_hourly_prune_job_drops_old_finished_messages_and_old_uptime(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.db"
    ids = write_history(path, now_ms())
    settings = Settings(db_path=path)
    core = await Core.open(settings.core_config())
    app = build_application(settings)
    schedule_core_jobs(app, core, console=settings.telegram_token is None)
    try:
        assert app.job_queue is not None
        (job,) = app.job_queue.get_jobs_by_name("prune")
        assert job.job is not None and job.job.trigger.interval.total_seconds() == 3600
        await job.run(app)  # what the scheduler does every hour
        messages, runs, uptime = await core.dbt.run(remaining)
    finally:
        await core.close()
    # Sent and failed messages older than 7 days are gone; pending/sending ones never go.
    assert ids["old sent"] not in messages and ids["old failed"] not in messages
    assert {ids["old pending"], ids["old sending"]} <= messages
    assert {ids[f"recent {s}"] for s in (SENT, FAILED, PENDING, SENDING)} <= messages
    assert len(messages) == 6
    # Uptime and runs go with the buckets whose coverage they tell (90 days).
    assert ids["old uptime"] not in uptime and ids["recent uptime"] in uptime
    assert ids["old run"] not in runs and ids["recent run"] in runs
    assert len(runs) == 2  # the recent one, and the run of this Core


def test_prune_never_reuses_an_id_even_when_every_row_is_old(tmp_path: Path) -> None:
    db = open_db(tmp_path / "ids.db")
    try:
        rows = outbox.add(db, [NewMessage(i, "x") for i in range(3)], 1_000)
        outbox.update(db, [replace(r, status=SENT) for r in rows])
        assert outbox.prune(db, 10_000) == 2  # the newest row is kept: it fixes the next id
        (new,) = outbox.add(db, [NewMessage(9, "y")], 20_000)
        assert new.id == rows[-1].id + 1
    finally:
        db.close()


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_prune_in_chunks_deletes_exactly_the_old_finished_rows(tmp_path: Path, chunk: int) -> None:
    db = open_db(tmp_path / "chunks.db")
    try:
        # Ids follow creation time; one old row still pending sits among the finished ones.
        rows = [outbox.add(db, [NewMessage(i, "m")], 1_000 * i)[0] for i in range(1, 11)]
        statuses = [SENT, FAILED, PENDING, SENT, SENT, FAILED, SENT, SENT, PENDING, SENT]
        outbox.update(db, [replace(r, status=s) for r, s in zip(rows, statuses, strict=True)])
        deleted = 0
        while n := outbox.prune(db, 6_500, limit=chunk):
            assert n <= chunk
            deleted += n
        kept = {r.id for r in outbox.get(db, range(1, 20))}
        assert deleted == 5  # ids 1, 2, 4, 5, 6 (created before 6.5 s and finished)
        assert kept == {3, 7, 8, 9, 10}
    finally:
        db.close()
