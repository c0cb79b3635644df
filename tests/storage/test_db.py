import sqlite3
import threading
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage.db import DbThread, open_db
from storage.schema import MIGRATIONS, migrate, schema_version


def test_open_db_creates_folder_wal_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "liq.db"
    db = open_db(path)
    try:
        assert path.exists()
        assert db.journal_mode == "wal"
        assert {"events", "minute_buckets", "source_uptime"} <= set(db.table_names())
        assert db["minute_buckets"].pks == ["minute_ms", "venue", "coin", "side"]
        assert schema_version(db) == len(MIGRATIONS.pending(Database(memory=True))) >= 1
    finally:
        db.close()


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "liq.db"
    open_db(path).close()
    db = open_db(path)  # a second open must not re-run (CREATE TABLE would fail)
    try:
        migrate(db)
        version = schema_version(db)
        rows = db.execute("SELECT name FROM _sqlite_migrations").fetchall()
        assert len(rows) == version
        assert MIGRATIONS.pending(db) == []
    finally:
        db.close()


async def test_db_thread_runs_every_call_on_one_other_thread(tmp_path: Path) -> None:
    dbt = DbThread(tmp_path / "liq.db")
    try:

        def where(db: Database, tag: str) -> tuple[int, str, bool]:
            return threading.get_ident(), tag, db.journal_mode == "wal"

        first = await dbt.run(where, "a")
        second = dbt.call(where, "b")  # blocking form, from the loop thread here
        assert first[0] == second[0] == dbt.thread_id != threading.get_ident()
        assert first[1:] == ("a", True) and second[1:] == ("b", True)
    finally:
        await dbt.close()


async def test_db_thread_propagates_errors_and_keeps_working(tmp_path: Path) -> None:
    dbt = DbThread(tmp_path / "liq.db")
    try:
        with pytest.raises(sqlite3.OperationalError):
            await dbt.run(lambda db: db.execute("SELECT * FROM no_such_table"))
        assert await dbt.run(lambda db: db.execute("SELECT 41 + 1").fetchone()[0]) == 42
    finally:
        await dbt.close()


async def test_db_thread_reports_open_failure_and_rejects_after_close(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    broken = DbThread(blocker / "liq.db")  # parent is a file: the folder cannot be created
    with pytest.raises(RuntimeError, match="cannot open database") as info:
        await broken.run(lambda db: None)
    assert isinstance(info.value.__cause__, OSError)
    broken.close_sync()

    dbt = DbThread(tmp_path / "ok.db")
    dbt.close_sync()
    dbt.close_sync()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        dbt.call(lambda db: None)
