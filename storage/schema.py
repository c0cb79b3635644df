"""Database schema as an ordered list of migrations (sqlite-utils ``Migrations``).

Adding a table later is one decorated function appended at the end of this module: it is
applied once, inside a transaction, and recorded in ``_sqlite_migrations``. Never edit or
reorder a migration that has shipped; write a new one instead.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("liqwatch")


@MIGRATIONS()
def m001_liquidations(db: Database) -> None:
    """Raw events, per-minute buckets and feed uptime intervals."""
    # Raw events in receive order (the implicit rowid). Kept for ``retention_days`` to allow
    # rebuilding buckets and debugging; totals never read this table.
    db.execute(
        """
        CREATE TABLE events (
            venue TEXT NOT NULL,
            symbol TEXT NOT NULL,
            coin TEXT NOT NULL,
            side TEXT NOT NULL,
            price REAL NOT NULL,
            qty REAL NOT NULL,
            usd REAL NOT NULL,
            ts_ms INTEGER NOT NULL
        )
        """
    )
    # Pruning deletes by event time; the index keeps that a range delete instead of a
    # full scan of millions of rows on the DB thread.
    db.execute("CREATE INDEX events_ts ON events (ts_ms)")
    # WITHOUT ROWID: the primary key is the only access path (range scans by minute), and
    # measured upserts are faster without the extra rowid b-tree.
    db.execute(
        """
        CREATE TABLE minute_buckets (
            minute_ms INTEGER NOT NULL,
            venue TEXT NOT NULL,
            coin TEXT NOT NULL,
            side TEXT NOT NULL,
            usd REAL NOT NULL,
            count INTEGER NOT NULL,
            max_usd REAL NOT NULL,
            max_ts INTEGER NOT NULL,
            max_symbol TEXT NOT NULL,
            PRIMARY KEY (minute_ms, venue, coin, side)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE source_uptime (
            id INTEGER PRIMARY KEY,
            venue TEXT NOT NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX source_uptime_end ON source_uptime (end_ms)")


def migrate(db: Database) -> None:
    """Apply every pending migration; a no-op on an up-to-date database."""
    MIGRATIONS.apply(db)


def schema_version(db: Database) -> int:
    """How many of this project's migrations the database has applied."""
    return len(MIGRATIONS.applied(db))
