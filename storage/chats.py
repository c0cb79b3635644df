"""Chats that talk to the bot, and their alert rules with each rule's persisted state.

A chat row exists from its first ``/start`` on and is never deleted: ``/stop`` only clears
``subscribed`` (settings are kept for a later ``/start``) and a chat that blocked or removed
the bot only loses ``active``. Alerts go to chats that are subscribed AND active.

A rule is market-wide (``coin`` stored as ``''``) or per coin; a chat has at most one
market rule per window and at most one watch per coin. Each rule carries its
``rules.RuleState`` (``level``, ``fired_at``, ``state_threshold``) so a restart continues
from the level already alerted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlite_utils import Database

from bot.domain import WINDOWS, RuleSpec, RuleState

# Evaluator entry id: (chat_id, coin or "", window).
RuleKey = tuple[int, str, str]

ChatType = Literal["private", "group", "supergroup", "channel"]
CHAT_TYPES: Final = ("private", "group", "supergroup", "channel")

SubscribeOutcome = Literal["new", "returning", "already"]

_CHAT_COLUMNS = "chat_id, type, title, subscribed, active, muted_until_ms, created_ms, updated_ms"
_RULE_COLUMNS = 'chat_id, coin, "window", threshold, level, fired_at, state_threshold'


@dataclass(frozen=True, slots=True)
class ChatRow:
    """One chat as stored."""

    chat_id: int
    type: str
    title: str
    subscribed: bool
    active: bool
    muted_until_ms: int | None
    created_ms: int
    updated_ms: int

    def muted(self, now_ms: int) -> bool:
        """True while a mute set with /mute has not expired."""
        return self.muted_until_ms is not None and self.muted_until_ms > now_ms


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One rule of one chat and where it stands."""

    chat_id: int
    spec: RuleSpec
    state: RuleState

    @property
    def key(self) -> RuleKey:
        """The evaluator entry id ``(chat_id, coin or "", window)``."""
        return (self.chat_id, self.spec.coin or "", self.spec.window)


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    """What ``subscribe`` did: ``new`` chat (default rules added), ``returning`` (it had
    unsubscribed or been deactivated; its rules are back) or ``already`` subscribed."""

    outcome: SubscribeOutcome
    chat: ChatRow
    rules: tuple[RuleRow, ...]


@dataclass(frozen=True, slots=True)
class WatchResult:
    """``set_watch`` outcome: the rule stored and the windows of the coin's watch it replaced
    (the replaced rule with the same window is not listed: it was updated in place)."""

    rule: RuleRow
    replaced_windows: tuple[str, ...]
    previous: RuleSpec | None


class WatchLimitError(Exception):
    """The chat already watches the maximum number of coins."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} watched coins per chat")
        self.limit = limit


def _chat(row: tuple[Any, ...]) -> ChatRow:
    chat_id, kind, title, subscribed, active, muted, created, updated = row
    return ChatRow(
        chat_id=int(chat_id),
        type=str(kind),
        title=str(title),
        subscribed=bool(subscribed),
        active=bool(active),
        muted_until_ms=None if muted is None else int(muted),
        created_ms=int(created),
        updated_ms=int(updated),
    )


def _rule(row: tuple[Any, ...]) -> RuleRow:
    chat_id, coin, window, threshold, level, fired_at, state_threshold = row
    try:
        state = RuleState.from_row(
            {"level": level, "fired_at": fired_at, "threshold": state_threshold}
        )
    except ValueError:
        state = RuleState()  # a corrupt state re-arms rather than blocking the rule
    spec = RuleSpec(window=str(window), threshold=float(threshold), coin=str(coin) or None)
    return RuleRow(chat_id=int(chat_id), spec=spec, state=state)


def get_chat(db: Database, chat_id: int) -> ChatRow | None:
    """The stored chat, or None if it never subscribed."""
    row = db.execute(f"SELECT {_CHAT_COLUMNS} FROM chats WHERE chat_id = ?", (chat_id,)).fetchone()
    return None if row is None else _chat(row)


def list_rules(db: Database, chat_id: int) -> list[RuleRow]:
    """The chat's rules: market-wide first, then watches by coin; windows by length."""
    rows = db.execute(
        f"SELECT {_RULE_COLUMNS} FROM rules WHERE chat_id = ?", (chat_id,)
    ).fetchall()
    return sorted((_rule(r) for r in rows), key=_rule_order)


def _rule_order(rule: RuleRow) -> tuple[str, int, str]:
    return (rule.spec.coin or "", WINDOWS.get(rule.spec.window, 0), rule.spec.window)


def subscribe(
    db: Database,
    chat_id: int,
    chat_type: str,
    title: str,
    default_rules: Mapping[str, float],
    now_ms: int,
) -> SubscribeResult:
    """Subscribe ``chat_id``: a new chat gets ``default_rules`` ({window: threshold}); a
    known chat keeps its rules and becomes subscribed and active again."""
    kind = chat_type if chat_type in CHAT_TYPES else "private"
    with db.atomic():
        old = get_chat(db, chat_id)
        if old is None:
            db.execute(
                f"INSERT INTO chats ({_CHAT_COLUMNS}) VALUES (?, ?, ?, 1, 1, NULL, ?, ?)",
                (chat_id, kind, title, now_ms, now_ms),
            )
            db.conn.executemany(
                "INSERT INTO rules (chat_id, coin, \"window\", threshold) VALUES (?, '', ?, ?)",
                [(chat_id, window, threshold) for window, threshold in default_rules.items()],
            )
            outcome: SubscribeOutcome = "new"
        else:
            outcome = "already" if old.subscribed and old.active else "returning"
            db.execute(
                "UPDATE chats SET subscribed = 1, active = 1, type = ?, title = ?,"
                " updated_ms = ? WHERE chat_id = ?",
                (kind, title, now_ms, chat_id),
            )
        chat = get_chat(db, chat_id)
        assert chat is not None
        return SubscribeResult(outcome, chat, tuple(list_rules(db, chat_id)))


def unsubscribe(db: Database, chat_id: int, now_ms: int) -> bool:
    """Stop alerts to ``chat_id`` keeping its settings; False if it was not subscribed."""
    cursor = db.execute(
        "UPDATE chats SET subscribed = 0, updated_ms = ? WHERE chat_id = ? AND subscribed = 1",
        (now_ms, chat_id),
    )
    return cursor.rowcount > 0


def set_active(db: Database, chat_id: int, active: bool, now_ms: int) -> bool:
    """Mark the chat reachable or not (blocked, kicked); False if nothing changed."""
    cursor = db.execute(
        "UPDATE chats SET active = ?, updated_ms = ? WHERE chat_id = ? AND active != ?",
        (int(active), now_ms, chat_id, int(active)),
    )
    return cursor.rowcount > 0


def deactivate(db: Database, chat_id: int, now_ms: int) -> bool:
    """The bot can no longer write to the chat (Forbidden); False if nothing changed."""
    return set_active(db, chat_id, False, now_ms)


def set_mute(db: Database, chat_id: int, until_ms: int | None, now_ms: int) -> bool:
    """Mute the chat until ``until_ms`` (None unmutes); False if the chat is unknown."""
    cursor = db.execute(
        "UPDATE chats SET muted_until_ms = ?, updated_ms = ? WHERE chat_id = ?",
        (until_ms, now_ms, chat_id),
    )
    return cursor.rowcount > 0


def set_rule(db: Database, chat_id: int, spec: RuleSpec) -> tuple[RuleRow, RuleSpec | None]:
    """Store one rule (insert or change its threshold); returns it and the previous spec.

    An unchanged threshold keeps the rule's state (no repeated alert); a changed one
    re-arms it. ``spec.coin`` None is the market-wide rule of that window.
    """
    coin = spec.coin or ""
    with db.atomic():
        old = db.execute(
            f'SELECT {_RULE_COLUMNS} FROM rules WHERE chat_id = ? AND coin = ? AND "window" = ?',
            (chat_id, coin, spec.window),
        ).fetchone()
        previous = None if old is None else _rule(old).spec
        db.execute(
            'INSERT INTO rules (chat_id, coin, "window", threshold) VALUES (?, ?, ?, ?)'
            ' ON CONFLICT (chat_id, coin, "window") DO UPDATE SET'
            " threshold = excluded.threshold,"
            " level = CASE WHEN threshold = excluded.threshold THEN level ELSE 0 END,"
            " fired_at = CASE WHEN threshold = excluded.threshold THEN fired_at END,"
            " state_threshold ="
            " CASE WHEN threshold = excluded.threshold THEN state_threshold END",
            (chat_id, coin, spec.window, spec.threshold),
        )
        row = db.execute(
            f'SELECT {_RULE_COLUMNS} FROM rules WHERE chat_id = ? AND coin = ? AND "window" = ?',
            (chat_id, coin, spec.window),
        ).fetchone()
        return _rule(row), previous


def set_watch(db: Database, chat_id: int, spec: RuleSpec, max_watches: int) -> WatchResult:
    """Store the chat's watch of ``spec.coin``, replacing its previous watch of that coin
    (whatever the window). ``WatchLimitError`` if it would watch over ``max_watches`` coins."""
    if spec.coin is None:
        raise ValueError("a watch needs a coin")
    with db.atomic():
        coins = {
            str(c)
            for (c,) in db.execute(
                "SELECT DISTINCT coin FROM rules WHERE chat_id = ? AND coin != ''", (chat_id,)
            ).fetchall()
        }
        if spec.coin not in coins and len(coins) >= max_watches:
            raise WatchLimitError(max_watches)
        others = db.execute(
            f'SELECT {_RULE_COLUMNS} FROM rules WHERE chat_id = ? AND coin = ? AND "window" != ?',
            (chat_id, spec.coin, spec.window),
        ).fetchall()
        db.execute(
            'DELETE FROM rules WHERE chat_id = ? AND coin = ? AND "window" != ?',
            (chat_id, spec.coin, spec.window),
        )
        rule, previous = set_rule(db, chat_id, spec)
        replaced = [_rule(r).spec for r in others]
        return WatchResult(
            rule=rule,
            replaced_windows=tuple(s.window for s in replaced),
            previous=previous or (replaced[0] if replaced else None),
        )


def delete_rule(db: Database, chat_id: int, coin: str | None, window: str) -> bool:
    """Remove one rule; False if there was none."""
    cursor = db.execute(
        'DELETE FROM rules WHERE chat_id = ? AND coin = ? AND "window" = ?',
        (chat_id, coin or "", window),
    )
    return cursor.rowcount > 0


def delete_watch(db: Database, chat_id: int, coin: str) -> list[str]:
    """Remove the chat's watch of ``coin``; returns the windows removed (empty if none)."""
    with db.atomic():
        windows = [
            str(w)
            for (w,) in db.execute(
                'SELECT "window" FROM rules WHERE chat_id = ? AND coin = ?', (chat_id, coin)
            ).fetchall()
        ]
        db.execute("DELETE FROM rules WHERE chat_id = ? AND coin = ?", (chat_id, coin))
        return windows


def migrate_chat(db: Database, old_id: int, new_id: int, now_ms: int) -> bool:
    """Move everything of ``old_id`` to ``new_id`` (a group upgraded to a supergroup).

    If ``new_id`` already exists its own rules win over the old chat's for the same key,
    and it stays subscribed if either was. Returns False when ``old_id`` is unknown.
    """
    if old_id == new_id:
        return False
    with db.atomic():
        old = get_chat(db, old_id)
        if old is None:
            return False
        new = get_chat(db, new_id)
        if new is None:
            db.execute(
                f"INSERT INTO chats ({_CHAT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new_id,
                    "supergroup" if old.type == "group" else old.type,
                    old.title,
                    int(old.subscribed),
                    int(old.active),
                    old.muted_until_ms,
                    old.created_ms,
                    now_ms,
                ),
            )
        else:
            db.execute(
                "UPDATE chats SET subscribed = max(subscribed, ?), updated_ms = ?"
                " WHERE chat_id = ?",
                (int(old.subscribed), now_ms, new_id),
            )
        db.execute(
            f"INSERT OR IGNORE INTO rules ({_RULE_COLUMNS})"
            f' SELECT ?, coin, "window", threshold, level, fired_at, state_threshold'
            f" FROM rules WHERE chat_id = ?",
            (new_id, old_id),
        )
        # Rules go with the chat row (ON DELETE CASCADE).
        db.execute("DELETE FROM rules WHERE chat_id = ?", (old_id,))
        db.execute("DELETE FROM chats WHERE chat_id = ?", (old_id,))
        return True


def load_active_chats(db: Database) -> list[ChatRow]:
    """Chats alerts go to (subscribed and active), by id."""
    rows = db.execute(
        f"SELECT {_CHAT_COLUMNS} FROM chats WHERE subscribed = 1 AND active = 1 ORDER BY chat_id"
    ).fetchall()
    return [_chat(r) for r in rows]


def load_active_rules(db: Database) -> list[RuleRow]:
    """Every rule of every subscribed and active chat, with its persisted state."""
    cols = ", ".join(f"r.{c.strip()}" for c in _RULE_COLUMNS.split(","))
    rows = db.execute(
        f"SELECT {cols} FROM rules r JOIN chats c ON c.chat_id = r.chat_id"
        ' WHERE c.subscribed = 1 AND c.active = 1 ORDER BY r.chat_id, r.coin, r."window"'
    ).fetchall()
    return [_rule(r) for r in rows]


def save_states(
    db: Database, states: Mapping[RuleKey, RuleState] | Iterable[tuple[RuleKey, RuleState]]
) -> int:
    """Persist evaluator states (``(chat_id, coin or "", window) -> RuleState``).

    A state is only written while the rule still has the threshold the state refers to, so
    a tick that raced a threshold change cannot resurrect the old rule's level. Joins the
    caller's transaction when there is one (``db.atomic`` nests). Returns rows written.
    """
    items = states.items() if isinstance(states, Mapping) else states
    params = [
        (s.level, s.fired_at, s.threshold, chat_id, coin, window, s.threshold, s.threshold)
        for (chat_id, coin, window), s in items
    ]
    if not params:
        return 0
    with db.atomic():
        before = db.conn.total_changes
        db.conn.executemany(
            "UPDATE rules SET level = ?, fired_at = ?, state_threshold = ?"
            ' WHERE chat_id = ? AND coin = ? AND "window" = ?'
            " AND (? IS NULL OR threshold = ?)",
            params,
        )
        return db.conn.total_changes - before
