"""The outbox: every message the bot starts, from queued until Telegram took it or refused it.

Status flow: ``pending`` (queued, or waiting for a retry at ``next_try_ms``) -> ``sending``
(a request is or was in flight) -> ``sent`` | ``failed`` (with ``reason``). A row still
``pending`` or ``sending`` after a crash is sent again on start: a message whose request
was in flight when the process died may arrive twice, but none is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

from sqlite_utils import Database

Status = Literal["pending", "sending", "sent", "failed"]
PENDING: Final = "pending"
SENDING: Final = "sending"
SENT: Final = "sent"
FAILED: Final = "failed"
UNFINISHED: Final = (PENDING, SENDING)

_COLUMNS: Final = (
    "id, chat_id, text, kind, created_ms, status, attempts, next_try_ms, sent_ms, reason,"
    " body, channel, address"
)
# A row and its notice (stored once per fan-out; rows from before notices have none).
_FROM: Final = "outbox LEFT JOIN notices USING (notice_id)"
TELEGRAM: Final = "telegram"


@dataclass(slots=True)
class OutboxRow:
    """One outbound message and where its delivery stands.

    Treat as immutable (change with ``dataclasses.replace``); not frozen only because a
    fan-out builds thousands at once and a frozen init costs several times more.
    """

    id: int
    chat_id: int
    text: str
    kind: str
    created_ms: int
    status: Status = PENDING
    attempts: int = 0
    next_try_ms: int = 0
    sent_ms: int | None = None
    reason: str | None = None
    notice: str | None = None  # the alert as JSON, rendered at send time (None: send text)
    channel: str = TELEGRAM
    address: str | None = None  # for channels not addressed by chat id

    @property
    def finished(self) -> bool:
        """True once sent or given up."""
        return self.status in (SENT, FAILED)


class NewMessage(NamedTuple):
    """A message to queue: who gets it, its HTML text (or ``""`` with a ``notice``), what
    kind it is (alert, ...), the notice's JSON, and the channel and address it goes to."""

    chat_id: int
    text: str
    kind: str = "alert"
    notice: str | None = None
    channel: str = TELEGRAM
    address: str | None = None


def _row(r: Sequence[Any]) -> OutboxRow:
    id_, chat_id, text, kind, created, status, attempts, next_try, sent, reason = r[:10]
    notice, channel, address = r[10:]
    return OutboxRow(
        id=int(id_),
        chat_id=int(chat_id),
        text=str(text),
        kind=str(kind),
        created_ms=int(created),
        status=status,
        attempts=int(attempts),
        next_try_ms=int(next_try),
        sent_ms=None if sent is None else int(sent),
        reason=None if reason is None else str(reason),
        notice=None if notice is None else str(notice),
        channel=str(channel),
        address=None if address is None else str(address),
    )


def add(db: Database, messages: Iterable[NewMessage], now_ms: int) -> list[OutboxRow]:
    """Queue ``messages`` as ``pending`` rows; returns them with their ids, in order.

    Joins the caller's transaction when there is one (``db.atomic`` nests), which is how
    the alert engine stores rule states and their messages atomically.
    """
    with db.atomic():
        # One writer (the DB thread) inside one transaction: ids after the current maximum
        # are ours, and executemany stays fast for a 10,000-chat fan-out.
        (top,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()
        rows = [
            OutboxRow(
                id=top + i,
                chat_id=m.chat_id,
                text=m.text,
                kind=m.kind,
                created_ms=now_ms,
                notice=m.notice,
                channel=m.channel,
                address=m.address,
            )
            for i, m in enumerate(messages, start=1)
        ]
        notice_ids = _store_notices(db, [r.notice for r in rows])
        db.conn.executemany(
            "INSERT INTO outbox (id, chat_id, text, kind, created_ms, notice_id, channel,"
            " address) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.id,
                    r.chat_id,
                    r.text,
                    r.kind,
                    r.created_ms,
                    None if r.notice is None else notice_ids[r.notice],
                    r.channel,
                    r.address,
                )
                for r in rows
            ],
        )
    return rows


def _store_notices(db: Database, bodies: Iterable[str | None]) -> dict[str, int]:
    """Store each distinct notice once; returns body -> its id (in the caller's transaction)."""
    distinct = list(dict.fromkeys(b for b in bodies if b is not None))
    if not distinct:
        return {}
    (top,) = db.execute("SELECT COALESCE(MAX(notice_id), 0) FROM notices").fetchone()
    ids = {body: top + i for i, body in enumerate(distinct, start=1)}
    db.conn.executemany(
        "INSERT INTO notices (notice_id, body) VALUES (?, ?)", [(i, b) for b, i in ids.items()]
    )
    return ids


def update(db: Database, rows: Iterable[OutboxRow]) -> int:
    """Write the delivery fields (chat_id, status, attempts, next_try_ms, sent_ms, reason)
    of each row in one transaction; returns how many rows matched."""
    params = [
        (r.chat_id, r.status, r.attempts, r.next_try_ms, r.sent_ms, r.reason, r.id) for r in rows
    ]
    if not params:
        return 0
    with db.atomic():
        before = db.conn.total_changes
        db.conn.executemany(
            "UPDATE outbox SET chat_id = ?, status = ?, attempts = ?, next_try_ms = ?,"
            " sent_ms = ?, reason = ? WHERE id = ?",
            params,
        )
        return db.conn.total_changes - before


def unfinished(db: Database) -> list[OutboxRow]:
    """Rows still ``pending`` or ``sending``, oldest first (what a start must send)."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE status IN ('pending', 'sending') ORDER BY id"
    ).fetchall()
    return [_row(r) for r in rows]


def get(db: Database, ids: Iterable[int]) -> list[OutboxRow]:
    """The rows with these ids (unknown ids are skipped), by id."""
    wanted = sorted(set(ids))
    out: list[OutboxRow] = []
    for lo in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
        part = wanted[lo : lo + 500]
        marks = ", ".join("?" * len(part))
        out += [
            _row(r)
            for r in db.execute(
                f"SELECT {_COLUMNS} FROM {_FROM} WHERE id IN ({marks}) ORDER BY id", part
            ).fetchall()
        ]
    return out


def rows_for(db: Database, chat_id: int) -> list[OutboxRow]:
    """Every row addressed to ``chat_id``, by id."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE chat_id = ? ORDER BY id", (chat_id,)
    ).fetchall()
    return [_row(r) for r in rows]


def counts(db: Database, since_ms: int = 0) -> dict[str, int]:
    """Rows per status created at or after ``since_ms`` (every status listed, zeros too)."""
    found = dict(
        db.execute(
            "SELECT status, COUNT(*) FROM outbox WHERE created_ms >= ? GROUP BY status",
            (since_ms,),
        ).fetchall()
    )
    return {s: int(found.get(s, 0)) for s in (PENDING, SENDING, SENT, FAILED)}


PRUNE_CHUNK: Final = 20_000


def prune(db: Database, before_ms: int, limit: int = PRUNE_CHUNK) -> int:
    """Delete up to ``limit`` finished (sent or failed) rows created before ``before_ms``,
    oldest first; returns how many went (``limit`` means: call again for more).

    Unfinished rows are kept whatever their age: they still have to be sent. The newest
    row is always kept, because ``add`` numbers new rows after the current maximum id and
    an id must never name two messages (logs and deliveries refer to rows by id). Ids grow
    with ``created_ms``, so the first row young enough bounds an id range: a range delete
    instead of a scan of the whole table (measured 1 ms instead of 100 ms on 500,000 rows),
    in chunks so a first clean-up of a long history does not hold the DB thread for seconds.
    """
    with db.atomic():
        (bound,) = db.execute(
            "SELECT COALESCE((SELECT MIN(id) FROM outbox WHERE created_ms >= ?),"
            " (SELECT MAX(id) FROM outbox), 0)",
            (before_ms,),
        ).fetchone()
        cursor = db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id < ?"
            " AND created_ms < ? AND status IN ('sent', 'failed') ORDER BY id LIMIT ?)",
            (bound, before_ms, limit),
        )
        deleted = int(cursor.rowcount)
        # Notice ids grow with row ids: every notice before the first one a remaining row
        # uses is no one's any more (found walking the rows by id, no index needed).
        db.execute(
            "DELETE FROM notices WHERE notice_id < COALESCE((SELECT notice_id FROM outbox"
            " WHERE notice_id IS NOT NULL ORDER BY id LIMIT 1),"
            " (SELECT MAX(notice_id) + 1 FROM notices))"
        )
        return deleted
