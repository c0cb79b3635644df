"""Console mode's alerts: the default market-wide rules, printed to standard output.

Without a Telegram token there are no chats, so the rules of ``LIQWATCH_DEFAULT_RULES`` are
evaluated for the console alone, with the same fire / escalate / re-arm state machine. The
state lives in memory: at start-up it is primed from the current totals, so a restart does
not print again an alert for a level that was already reached.

``ConsoleAlerts`` is an alert kind of the one pipeline (``bot.alerts.pipeline``): the
pipeline evaluates it, composes each notice (market context included when a lookup is
given), commits the rule states to memory (console mode has no outbox) and pushes the
messages to :class:`ConsolePrinter`, which hands each notice to ``deliver``: the console
channel (``bot.notify.console``) renders it as the Telegram alert's own lines without
markup, so the console and the chats state the same facts in the same words.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import cast

from bot import clock
from bot.alerts.notice import LiquidationNotice, from_json
from bot.alerts.pipeline import AlertPipeline, AlertStats
from bot.alerts.rules import Alert, Evaluator, multiple_reached
from bot.domain import WINDOWS, RuleSpec, RuleState, TotalsKey
from bot.market.context import MarketContext
from bot.totals.result import Totals
from storage.outbox import NewMessage, OutboxRow

log = logging.getLogger(__name__)

Query = Callable[[int], Totals]  # window ms -> market-wide totals ending now
ContextLookup = Callable[[RuleSpec, Totals, int], Awaitable[MarketContext | None]]
"""``(rule, its window's totals, now)`` -> the market context, as the alert engine's."""
ConsoleKey = tuple[str, str]  # ("console", window)
CONSOLE = 0  # the one recipient: standard output (console mode has no chats)
KIND = "console"


class ConsolePrinter:
    """The pipeline's outlet in console mode: each pushed row's notice goes to ``deliver``
    (in order; a broken stdout must not stop the next alert)."""

    def __init__(self, deliver: Callable[[LiquidationNotice], None]) -> None:
        self.deliver = deliver

    def push(self, rows: Iterable[OutboxRow]) -> None:
        """Print the rows' notices now."""
        for row in rows:
            assert row.notice is not None  # the pipeline always stores the notice
            notice = from_json(row.notice)
            assert isinstance(notice, LiquidationNotice)
            try:
                self.deliver(notice)
            except Exception:
                log.exception("printing the console %s alert failed", notice.spec.window)


class MemoryStore:
    """The console pipeline's commit step: the rule states in memory, and the messages as
    rows numbered in order (nothing is kept once printed)."""

    def __init__(self) -> None:
        self.states: dict[ConsoleKey, RuleState] = {}
        self._ids = itertools.count(1)

    async def commit(
        self, states: Mapping[ConsoleKey, RuleState], messages: Sequence[NewMessage], now: int
    ) -> list[OutboxRow]:
        """Keep the states; return the messages as rows."""
        self.states.update(states)
        return [
            OutboxRow(next(self._ids), m.chat_id, m.text, m.kind, now, notice=m.notice)
            for m in messages
        ]


class ConsoleAlerts:
    """Evaluates the default rules against ``query`` and hands notices to ``deliver``,
    through the one alert pipeline."""

    def __init__(
        self,
        rules: Mapping[str, float],
        query: Query,
        deliver: Callable[[LiquidationNotice], None],
        context: ContextLookup | None = None,
        *,
        now_ms: Callable[[], int] = clock.now_ms,
    ) -> None:
        self.query = query
        self.now_ms = now_ms
        self.context = context
        self.store = MemoryStore()
        self.pipeline: AlertPipeline[ConsoleKey] = AlertPipeline(
            None,
            kind=KIND,
            what="console alert",
            run_name="tick",
            sender=ConsolePrinter(deliver),
            commit=self.store.commit,
        )
        self.evaluator = Evaluator()
        self.rules = {w: RuleSpec(w, t) for w, t in rules.items()}  # window -> threshold
        for window, spec in self.rules.items():
            self.evaluator.set(("console", window), spec)
        self._lock = asyncio.Lock()
        self._totals: dict[str, Totals] = {}  # this tick's, per window
        self._again = False
        self._poker: asyncio.Task[None] | None = None

    @property
    def stats(self) -> AlertStats:
        """Counters since start, and the cost of the last tick."""
        return self.pipeline.stats

    def _query_all(self) -> dict[str, Totals]:
        return {window: self.query(WINDOWS[window]) for window in self.rules}

    def prime(self, now_ms: int) -> None:
        """Start each rule at the level its total already reached (no alert for it)."""
        totals = self._query_all()
        for window, spec in self.rules.items():
            level = multiple_reached(totals[window].total_usd, spec.threshold)
            state = RuleState(level, now_ms if level else None, spec.threshold)
            self.evaluator.set(("console", window), spec, state)
        self.evaluator.take_changed()

    async def tick(self, now_ms: int) -> int:
        """Evaluate once and print every alert (after its market lookup, in order, when a
        lookup is set); returns how many were printed."""
        async with self._lock:
            try:
                return len(await self.pipeline.run(self, now_ms))
            finally:
                self._totals = {}  # a tick's totals die with it

    def poke(self, *_: object) -> None:
        """Tick soon (an ingest listener); pokes during a tick coalesce into one more."""
        self._again = True
        if self._poker is None or self._poker.done():
            self._poker = asyncio.get_running_loop().create_task(self._ticks())

    async def _ticks(self) -> None:
        while self._again:
            self._again = False
            try:
                await self.tick(self.now_ms())
            except Exception:
                log.exception("console alert tick failed")

    async def drain(self) -> None:
        """Wait until the ticks the pokes asked for are done."""
        if self._poker is not None:
            await self._poker

    # ----- AlertKind: the parts the pipeline runs ---------------------------------------------

    async def evaluate(self, now: int) -> list[Alert]:
        """What fired (one query per window)."""
        self._totals = self._query_all()
        values: dict[TotalsKey, float] = {(None, w): t.total_usd for w, t in self._totals.items()}
        return self.evaluator.tick(values, now)

    def recipients(self, alert: Alert) -> list[int]:
        """Standard output."""
        return [CONSOLE]

    def muted(self, chat_id: int, now: int) -> bool:
        """The console is never muted."""
        return False

    def changed_states(self) -> dict[ConsoleKey, RuleState]:
        """The rule states that changed (kept in memory by the commit step)."""
        return cast(dict[ConsoleKey, RuleState], self.evaluator.take_changed())

    async def notice(self, alert: Alert, now: int) -> LiquidationNotice:
        """The alert with its window's and the day's totals and, when a lookup is set, the
        market context (an alert without it beats no alert)."""
        spec = alert.spec
        totals = self._totals[spec.window]
        day = self._totals.get("24h") or self.query(WINDOWS["24h"])
        context = None
        if self.context is not None:
            try:
                context = await self.context(spec, totals, now)
            except Exception:
                log.exception("market context for the console %s alert failed", spec.window)
        return LiquidationNotice(spec, alert.fire, totals, day, context)
