"""Each chat's funding alert and, per chat and coin, where that alert stands.

A chat has at most one funding alert: a magnitude on the open-interest-weighted 8 h
equivalent funding rate (a fraction: 0.001 = 0.1 %), for either sign. Its state per coin
is a ``rules.RuleState``, so a restart continues from the level already alerted.
Funding alerts go to the chats alerts go to: subscribed and active (``storage.chats``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from bot.domain import RuleState

# (chat_id, coin): one funding alert state.
StateKey = tuple[int, str]


@dataclass(frozen=True, slots=True)
class FundingTarget:
    """A listening chat with a funding alert: its threshold, mute and watched coins.

    ``updated_ms`` changes with every /fundingalert that stores a threshold, so a reader
    can tell when to reload the chat's states.
    """

    chat_id: int
    threshold: float
    muted_until_ms: int | None
    watched: tuple[str, ...]
    updated_ms: int = 0

    def muted(self, now_ms: int) -> bool:
        """True while the chat's /mute lasts."""
        return self.muted_until_ms is not None and self.muted_until_ms > now_ms


def get_threshold(db: Database, chat_id: int) -> float | None:
    """The chat's funding alert threshold, or None when it has none."""
    row = db.execute(
        "SELECT threshold FROM funding_alerts WHERE chat_id = ?", (chat_id,)
    ).fetchone()
    return None if row is None else float(row[0])


def set_threshold(db: Database, chat_id: int, threshold: float, now_ms: int) -> float | None:
    """Store the chat's threshold; returns the previous one. A changed threshold drops
    the chat's alert states (every coin re-arms against the new one)."""
    with db.atomic():
        previous = get_threshold(db, chat_id)
        db.execute(
            "INSERT INTO funding_alerts (chat_id, threshold, updated_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET threshold = excluded.threshold,"
            " updated_ms = excluded.updated_ms",
            (chat_id, threshold, now_ms),
        )
        if previous != threshold:
            db.execute("DELETE FROM funding_alert_states WHERE chat_id = ?", (chat_id,))
        return previous


def delete_threshold(db: Database, chat_id: int) -> float | None:
    """Turn the chat's funding alert off (states too); returns the threshold it had."""
    with db.atomic():
        previous = get_threshold(db, chat_id)
        db.execute("DELETE FROM funding_alerts WHERE chat_id = ?", (chat_id,))
        db.execute("DELETE FROM funding_alert_states WHERE chat_id = ?", (chat_id,))
        return previous


def load_targets(db: Database) -> list[FundingTarget]:
    """Every subscribed, active chat with a funding alert, with its watched coins; by id."""
    rows = db.execute(
        "SELECT f.chat_id, f.threshold, c.muted_until_ms, f.updated_ms FROM funding_alerts f"
        " JOIN chats c ON c.chat_id = f.chat_id"
        " WHERE c.subscribed = 1 AND c.active = 1 ORDER BY f.chat_id"
    ).fetchall()
    watched: dict[int, list[str]] = {}
    for chat_id, coin in db.execute(
        "SELECT DISTINCT r.chat_id, r.coin FROM rules r"
        " JOIN funding_alerts f ON f.chat_id = r.chat_id"
        " WHERE r.coin != '' ORDER BY r.chat_id, r.coin"
    ).fetchall():
        watched.setdefault(int(chat_id), []).append(str(coin))
    return [
        FundingTarget(
            chat_id=int(chat_id),
            threshold=float(threshold),
            muted_until_ms=None if muted is None else int(muted),
            watched=tuple(watched.get(int(chat_id), ())),
            updated_ms=int(updated),
        )
        for chat_id, threshold, muted, updated in rows
    ]


def _state(level: Any, fired_at: Any, threshold: Any) -> RuleState:
    try:
        return RuleState.from_row({"level": level, "fired_at": fired_at, "threshold": threshold})
    except ValueError:
        return RuleState()  # a corrupt state re-arms rather than blocking the alert


def load_states(db: Database, chat_ids: Iterable[int] | None = None) -> dict[StateKey, RuleState]:
    """Stored states ``(chat_id, coin) -> RuleState``: every chat's, or ``chat_ids``'."""
    sql = "SELECT chat_id, coin, level, fired_at, state_threshold FROM funding_alert_states"
    if chat_ids is None:
        rows = db.execute(sql).fetchall()
    else:
        rows = [
            row
            for chat_id in sorted(set(chat_ids))
            for row in db.execute(sql + " WHERE chat_id = ?", (chat_id,)).fetchall()
        ]
    return {(int(c), str(coin)): _state(lv, f, t) for c, coin, lv, f, t in rows}


def save_states(
    db: Database, states: Mapping[StateKey, RuleState] | Iterable[tuple[StateKey, RuleState]]
) -> int:
    """Persist states; one is written only while the chat's threshold is still the one it
    refers to (a poll racing /fundingalert cannot resurrect the old level). Joins the
    caller's transaction. Returns rows written."""
    items = states.items() if isinstance(states, Mapping) else states
    params = [
        (chat_id, coin, s.level, s.fired_at, s.threshold, chat_id, s.threshold)
        for (chat_id, coin), s in items
    ]
    if not params:
        return 0
    with db.atomic():
        before = db.conn.total_changes
        db.conn.executemany(
            "INSERT INTO funding_alert_states"
            " (chat_id, coin, level, fired_at, state_threshold)"
            " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM funding_alerts"
            " WHERE chat_id = ? AND threshold = ?)"
            " ON CONFLICT (chat_id, coin) DO UPDATE SET level = excluded.level,"
            " fired_at = excluded.fired_at, state_threshold = excluded.state_threshold",
            params,
        )
        return db.conn.total_changes - before


def migrate(db: Database, old_id: int, new_id: int) -> bool:
    """Move the funding alert of ``old_id`` to ``new_id`` (a group became a supergroup);
    a setting ``new_id`` already has wins. False when nothing moved."""
    if old_id == new_id:
        return False
    with db.atomic():
        cursor = db.execute(
            "INSERT OR IGNORE INTO funding_alerts (chat_id, threshold, updated_ms)"
            " SELECT ?, threshold, updated_ms FROM funding_alerts WHERE chat_id = ?",
            (new_id, old_id),
        )
        moved = cursor.rowcount > 0
        if moved:
            db.execute(
                "INSERT OR IGNORE INTO funding_alert_states"
                " (chat_id, coin, level, fired_at, state_threshold)"
                " SELECT ?, coin, level, fired_at, state_threshold"
                " FROM funding_alert_states WHERE chat_id = ?",
                (new_id, old_id),
            )
        db.execute("DELETE FROM funding_alert_states WHERE chat_id = ?", (old_id,))
        db.execute("DELETE FROM funding_alerts WHERE chat_id = ?", (old_id,))
        return moved
