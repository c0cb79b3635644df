"""The one alert pipeline: evaluate, apply mutes, compose notices, commit, push.

Every alert kind (liquidation rules, funding alerts, and the kinds to come) supplies its
own parts through :class:`AlertKind`: how to evaluate, who an alert is for, who is muted,
the notice of an alert, and the rule states that changed. :class:`AlertPipeline` runs them
in one order: the new rule states and the outbox rows are committed in ONE transaction
(a restart neither repeats an alert nor loses one), rows SQLite refuses are left out one
by one (``storage.rowwise``), a failing database keeps the batch for the next run, and
the committed rows are handed to the sender. Muted chats advance their state but get no
message, so nothing piles up for after the mute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sqlite_utils import Database

from bot.alerts import rules
from bot.alerts.notice import Notice, to_json
from bot.domain import RuleState
from storage import outbox
from storage.db import DbThread
from storage.outbox import NewMessage, OutboxRow
from storage.rowwise import unwritable, write_each

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
SaveStates = Callable[[Database, Sequence[tuple[K, RuleState]]], object]
CommitStep = Callable[
    [Mapping[K, RuleState], Sequence[NewMessage], int], Awaitable[list[OutboxRow]]
]
"""``commit(states, messages, now)`` -> the stored rows; raises when nothing was stored."""


class Outlet(Protocol):
    """Where committed outbox rows go (``notify.telegram.Sender``)."""

    def push(self, rows: Iterable[OutboxRow]) -> None:
        """Queue stored rows for sending."""


@dataclass
class AlertStats:
    """Counters since start, and the cost of the last run (every alert kind's)."""

    ticks: int = 0  # runs: alert ticks, funding polls
    alerts: int = 0
    messages: int = 0
    muted_skipped: int = 0
    commit_failures: int = 0
    last_tick_ms: float = 0.0  # the whole run, commit included
    last_eval_ms: float = 0.0  # evaluation only
    last_eval_cpu_ms: float = 0.0  # the same in process CPU time (robust on a busy host)

    @property
    def polls(self) -> int:
        """Runs, under the funding alerts' name for them."""
        return self.ticks


class AlertKind(Protocol[K]):
    """The parts of one alert kind the pipeline runs."""

    async def evaluate(self, now: int) -> Sequence[rules.Alert]:
        """What fired at ``now``."""

    def recipients(self, alert: rules.Alert) -> Iterable[int]:
        """The chats of the alert's entries."""

    def muted(self, chat_id: int, now: int) -> bool:
        """True while the chat's mute lasts."""

    async def notice(self, alert: rules.Alert, now: int) -> Notice | None:
        """The alert as a notice (None: nothing to say)."""

    def changed_states(self) -> Mapping[K, RuleState]:
        """The rule states to store since the last run."""


def commit_states_and_messages(
    db: Database,
    save_states: SaveStates[K],
    states: Mapping[K, RuleState],
    messages: Sequence[NewMessage],
    now: int,
    what: str = "alert",
) -> list[OutboxRow]:
    """Rule states and the messages they produced, atomically; returns the stored rows.

    A state or message whose values SQLite refuses is left out (logged once per commit)
    and the rest are written, so one bad row never blocks the rows behind it. A failure
    of the database itself propagates: the caller keeps the batch and retries.
    """
    try:
        with db.atomic():
            save_states(db, list(states.items()))
            return outbox.add(db, messages, now)
    except Exception as exc:
        if not unwritable(exc):
            raise
    with db.atomic():
        kept = write_each(db, list(states.items()), save_states)
        added = write_each(db, messages, lambda d, part: outbox.add(d, part, now))
    log.error(
        "%s commit: left out the unwritable rows, %d of %d rule state(s) and %d of %d"
        " message(s) (%s)",
        what,
        len(kept.skipped),
        len(states),
        len(added.skipped),
        len(messages),
        kept.describe() if kept.skipped else added.describe(),
    )
    return [row for rows in added.written for row in rows]


class AlertPipeline(Generic[K]):
    """Runs an :class:`AlertKind` and commits and pushes what it produced.

    ``kind`` is the outbox rows' kind (``alert``, ``funding``); ``what`` names the alerts
    in log lines, ``run_name`` a run ("tick", "poll"). Runs must not overlap: the caller
    holds its lock around :meth:`run`.

    States and rows are committed to the database (``dbt`` with ``save_states``) unless
    ``commit`` replaces that step (console mode keeps them in memory: it has no outbox).
    """

    def __init__(
        self,
        dbt: DbThread | None,
        save_states: SaveStates[K] | None = None,
        *,
        kind: str,
        what: str,
        run_name: str,
        sender: Outlet | None = None,
        commit: CommitStep[K] | None = None,
    ) -> None:
        if commit is None:
            if dbt is None or save_states is None:
                raise ValueError("a pipeline without a commit step needs dbt and save_states")
            commit = _database_commit(dbt, save_states, what)
        self._commit_step = commit
        self.kind = kind
        self.what = what
        self.run_name = run_name
        self.sender = sender
        self.stats = AlertStats()
        # Kept when a commit fails, and committed with the next run's.
        self._unsaved_states: dict[K, RuleState] = {}
        self._unsaved_messages: list[NewMessage] = []
        self._failing = False  # the last commit failed (log the next failure quieter)

    async def run(self, parts: AlertKind[K], now: int) -> list[OutboxRow]:
        """Evaluate, address to unmuted chats, compose, commit, push; returns the rows."""
        started, cpu = time.perf_counter(), time.process_time()
        alerts = await parts.evaluate(now)
        self.stats.last_eval_ms = (time.perf_counter() - started) * 1000
        self.stats.last_eval_cpu_ms = (time.process_time() - cpu) * 1000
        for alert in alerts:
            self.stats.alerts += 1
            recipients = sorted(set(parts.recipients(alert)))
            live = [c for c in recipients if not parts.muted(c, now)]
            self.stats.muted_skipped += len(recipients) - len(live)
            if not live:
                continue
            notice = await parts.notice(alert, now)
            if notice is not None:
                payload = to_json(notice)  # once: the fan-out's rows share it
                self._unsaved_messages += [NewMessage(c, "", self.kind, payload) for c in live]
        self._unsaved_states.update(parts.changed_states())
        rows = await self._commit(now)
        self.stats.ticks += 1
        self.stats.last_tick_ms = (time.perf_counter() - started) * 1000
        if rows and self.sender is not None:
            self.sender.push(rows)
        return rows

    async def _commit(self, now: int) -> list[OutboxRow]:
        """Commit the unsaved states and messages; on failure keep them for the next run."""
        if not (self._unsaved_states or self._unsaved_messages):
            return []
        states, messages = dict(self._unsaved_states), list(self._unsaved_messages)
        try:
            rows = await self._commit_step(states, messages, now)
        except Exception as exc:
            self.stats.commit_failures += 1
            # The database itself is failing (unwritable rows never get here): the cause in
            # one line, first at WARNING and then quieter, until a commit goes through.
            log.log(
                logging.INFO if self._failing else logging.WARNING,
                "committing %d %s states and %d messages failed (%s: %s); retrying next %s",
                len(states),
                self.what,
                len(messages),
                type(exc).__name__,
                exc,
                self.run_name,
            )
            self._failing = True
            return []
        self._failing = False
        self._unsaved_states.clear()  # only runs fill them, and runs do not overlap
        self._unsaved_messages.clear()
        self.stats.messages += len(rows)
        return rows


def _database_commit(dbt: DbThread, save_states: SaveStates[K], what: str) -> CommitStep[K]:
    """The commit step of the alert kinds with chats: states and outbox rows in one
    transaction on the database thread."""

    def commit(
        states: Mapping[K, RuleState], messages: Sequence[NewMessage], now: int
    ) -> Awaitable[list[OutboxRow]]:
        return dbt.run(commit_states_and_messages, save_states, states, messages, now, what)

    return commit
