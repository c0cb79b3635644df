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
    # Raw events in receive order (id). Kept for ``retention_days`` to allow rebuilding
    # buckets and debugging; totals never read this table. No index on ts_ms (it cost a
    # quarter of the insert): event_spans keeps pruning a range delete by id, and
    # AUTOINCREMENT guarantees an id is never reused, so a span's claim stays true.
    db.execute(
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
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
    # Events with ids first_id..last_id all have ts_ms >= min_ts (storage.events).
    db.execute(
        """
        CREATE TABLE event_spans (
            first_id INTEGER PRIMARY KEY,
            last_id INTEGER NOT NULL,
            min_ts INTEGER NOT NULL
        )
        """
    )
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


@MIGRATIONS()
def m002_chats(db: Database) -> None:
    """Subscribed chats and their alert rules (with each rule's persisted alert state)."""
    db.execute(
        """
        CREATE TABLE chats (
            chat_id INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            subscribed INTEGER NOT NULL DEFAULT 1,
            active INTEGER NOT NULL DEFAULT 1,
            muted_until_ms INTEGER,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        )
        """
    )
    # coin '' is the market-wide rule; the evaluator's entry id is (chat_id, coin, window).
    # level/fired_at/state_threshold are rules.RuleState, so a restart continues from the
    # level already alerted instead of repeating it.
    db.execute(
        """
        CREATE TABLE rules (
            chat_id INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE,
            coin TEXT NOT NULL,
            window TEXT NOT NULL,
            threshold REAL NOT NULL,
            level INTEGER NOT NULL DEFAULT 0,
            fired_at INTEGER,
            state_threshold REAL,
            PRIMARY KEY (chat_id, coin, window)
        ) WITHOUT ROWID
        """
    )


@MIGRATIONS()
def m003_outbox(db: Database) -> None:
    """Messages the bot starts (alerts, summaries) until Telegram accepted or refused them."""
    # Written in the same transaction as the rule states that produced them, so a restart
    # neither repeats an alert (state saved) nor loses one (row still pending/sending).
    db.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            text TEXT NOT NULL,
            kind TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try_ms INTEGER NOT NULL DEFAULT 0,
            sent_ms INTEGER,
            reason TEXT
        )
        """
    )
    # status is one of pending, sending, sent, failed (storage.outbox writes only those; a
    # CHECK constraint measured 40 % of the insert cost of a 10,000-chat fan-out). Start-up
    # reads only unfinished rows: a partial index stays tiny however long the history is.
    db.execute(
        "CREATE INDEX outbox_unfinished ON outbox (id) WHERE status IN ('pending', 'sending')"
    )


@MIGRATIONS()
def m004_market(db: Database) -> None:
    """Funding / open-interest polls: per venue symbol and per coin, 30 days kept."""
    # Symbols get a small integer id: snapshot rows are the bulk of this data (about 1,400
    # per minute), so they carry the id instead of venue, symbol and coin text.
    db.execute(
        """
        CREATE TABLE market_symbols (
            id INTEGER PRIMARY KEY,
            venue TEXT NOT NULL,
            symbol TEXT NOT NULL,
            coin TEXT NOT NULL,
            UNIQUE (venue, symbol)
        )
        """
    )
    db.execute("CREATE INDEX market_symbols_coin ON market_symbols (coin)")
    # One row per stored poll cycle: the time every row of that cycle carries. Thinning
    # and "the poll nearest before T" read this small table instead of scanning snapshots.
    db.execute(
        """
        CREATE TABLE market_polls (
            ts_ms INTEGER PRIMARY KEY,
            symbols INTEGER NOT NULL,
            coins INTEGER NOT NULL
        )
        """
    )
    # Rates are per interval_h (the venue's own figure); predicted 1 = a forecast (OKX).
    db.execute(
        """
        CREATE TABLE market_snapshots (
            ts_ms INTEGER NOT NULL,
            symbol_id INTEGER NOT NULL,
            funding_rate REAL,
            interval_h REAL,
            next_funding_ms INTEGER,
            mark_price REAL,
            oi_base REAL,
            oi_usd REAL,
            predicted INTEGER NOT NULL,
            settled_rate REAL,
            PRIMARY KEY (ts_ms, symbol_id)
        ) WITHOUT ROWID
        """
    )
    # Keyed by time first, like the snapshots: each poll appends at the end of the b-tree.
    # A (coin, ts_ms) key measured ~750 scattered page writes per poll (MBs of WAL a
    # minute); "coin nearest before T" is the poll before T (market_polls), then a key hit.
    db.execute(
        """
        CREATE TABLE market_coins (
            coin TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            oi_usd REAL,
            funding_8h REAL,
            mark_price REAL,
            PRIMARY KEY (ts_ms, coin)
        ) WITHOUT ROWID
        """
    )


def migrate(db: Database) -> None:
    """Apply every pending migration; a no-op on an up-to-date database."""
    MIGRATIONS.apply(db)


def schema_version(db: Database) -> int:
    """How many of this project's migrations the database has applied."""
    return len(MIGRATIONS.applied(db))


@MIGRATIONS()
def m005_funding_alerts(db: Database) -> None:
    """Each chat's funding alert (one magnitude on the 8 h-equivalent funding) and, per
    chat and coin, where that alert stands (``rules.RuleState``)."""
    # No foreign key to chats: storage.chats.migrate_chat deletes the old chat row, and a
    # cascade would drop the setting before the engine hears of the migration and moves it.
    # threshold is a fraction of the 8 h-equivalent rate (0.001 = 0.1 %), either sign.
    db.execute(
        """
        CREATE TABLE funding_alerts (
            chat_id INTEGER PRIMARY KEY,
            threshold REAL NOT NULL,
            updated_ms INTEGER NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE funding_alert_states (
            chat_id INTEGER NOT NULL,
            coin TEXT NOT NULL,
            level INTEGER NOT NULL DEFAULT 0,
            fired_at INTEGER,
            state_threshold REAL,
            PRIMARY KEY (chat_id, coin)
        ) WITHOUT ROWID
        """
    )


@MIGRATIONS()
def m006_runs(db: Database) -> None:
    """When liqwatch itself was running, and which feed intervals are still open.

    Coverage tells "venue down" (liqwatch ran, the feed did not) from "not collected"
    (liqwatch was not running): a run is written at start-up, its end extended every few
    seconds (a kill -9 leaves the last extension as the end, like the uptime intervals)
    and closed at shutdown. ``closed`` = 0 marks a run or interval still being extended:
    only those may be treated as lasting until now.
    """
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            closed INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX runs_end ON runs (end_ms)")
    # Intervals written before this migration were all closed or abandoned by now.
    db.execute("ALTER TABLE source_uptime ADD COLUMN closed INTEGER NOT NULL DEFAULT 1")


@MIGRATIONS()
def m007_outbox_notices(db: Database) -> None:
    """Outbox rows hold the alert as data and say where it goes; channels render it.

    A notice (``bot.alerts.notice``, JSON) is stored once in ``notices`` and shared by
    every row of its fan-out (10,000 copies of a notice cost the alert tick ten times its
    commit); the channel renders it when it sends. Rows written before this migration
    keep only ``text`` and are sent as that text. ``channel`` names the channel (every
    older row was Telegram's); ``address`` is the destination within it for channels
    whose address is not a chat id (Telegram's is ``chat_id``, which a group's migration
    rewrites).
    """
    db.execute("CREATE TABLE notices (notice_id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    db.execute("ALTER TABLE outbox ADD COLUMN notice_id INTEGER")
    db.execute("ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram'")
    db.execute("ALTER TABLE outbox ADD COLUMN address TEXT")
