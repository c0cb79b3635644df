"""Console mode's alerts: the default market-wide rules, printed to standard output.

Without a Telegram token there are no chats, so the rules of ``LIQWATCH_DEFAULT_RULES`` are
evaluated for the console alone, with the same fire / escalate / re-arm state machine. The
state lives in memory: at start-up it is primed from the current totals, so a restart does
not print again an alert for a level that was already reached.

Each alert is a notice (``bot.alerts.notice``), market context included when a lookup is
given, handed to ``deliver``: the console channel (``bot.notify.console``) renders it as
the Telegram alert's own lines without markup, so the console and the chats state the
same facts in the same words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from bot.alerts.notice import LiquidationNotice
from bot.alerts.rules import Evaluator, Fire, multiple_reached
from bot.domain import WINDOWS, RuleSpec, RuleState, TotalsKey
from bot.market.context import MarketContext
from bot.totals.result import Totals

log = logging.getLogger(__name__)

Query = Callable[[int], Totals]  # window ms -> market-wide totals ending now
ContextLookup = Callable[[RuleSpec, Totals, int], Awaitable[MarketContext | None]]
"""``(rule, its window's totals, now)`` -> the market context, as the alert engine's."""
Printable = tuple[RuleSpec, Fire, Totals, Totals]


class ConsoleAlerts:
    """Evaluates the default rules against ``query`` and hands notices to ``deliver``."""

    def __init__(
        self,
        rules: Mapping[str, float],
        query: Query,
        deliver: Callable[[LiquidationNotice], None],
        context: ContextLookup | None = None,
    ) -> None:
        self.query = query
        self.deliver = deliver
        self.context = context
        self._printing: asyncio.Task[None] | None = None
        self.evaluator = Evaluator()
        self.rules = {w: RuleSpec(w, t) for w, t in rules.items()}  # window -> threshold
        for window, spec in self.rules.items():
            self.evaluator.set(("console", window), spec)

    def _totals(self) -> dict[str, Totals]:
        return {window: self.query(WINDOWS[window]) for window in self.rules}

    def prime(self, now_ms: int) -> None:
        """Start each rule at the level its total already reached (no alert for it)."""
        totals = self._totals()
        for window, spec in self.rules.items():
            level = multiple_reached(totals[window].total_usd, spec.threshold)
            state = RuleState(level, now_ms if level else None, spec.threshold)
            self.evaluator.set(("console", window), spec, state)
        self.evaluator.take_changed()

    def tick(self, now_ms: int) -> int:
        """Evaluate once; deliver every alert (after its market lookup, in order, when a
        lookup is set); returns how many fired."""
        totals = self._totals()
        values: dict[TotalsKey, float] = {(None, w): t.total_usd for w, t in totals.items()}
        alerts = self.evaluator.tick(values, now_ms)
        batch: list[Printable] = []
        for alert in alerts:
            day = totals.get("24h") or self.query(WINDOWS["24h"])
            batch.append((alert.spec, alert.fire, totals[alert.spec.window], day))
        self.evaluator.take_changed()
        if self.context is None:
            for spec, fire, window_totals, day in batch:
                self.deliver(LiquidationNotice(spec, fire, window_totals, day))
        elif batch:
            # Evaluation stays synchronous (the ingest listener calls it); the lookups are
            # awaited in a task chained to the previous one, so alerts print in order.
            self._printing = asyncio.get_running_loop().create_task(
                self._print(batch, now_ms, self._printing)
            )
        return len(alerts)

    async def drain(self) -> None:
        """Wait until every alert that fired so far is printed."""
        if self._printing is not None:
            await self._printing

    async def _print(
        self, batch: list[Printable], now_ms: int, previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None:
            await previous  # never raises: it is this method
        assert self.context is not None
        for spec, fire, window_totals, day in batch:
            try:
                context = await self.context(spec, window_totals, now_ms)
            except Exception:  # an alert without its market context beats no alert
                log.exception("market context for the console %s alert failed", spec.window)
                context = None
            try:
                self.deliver(LiquidationNotice(spec, fire, window_totals, day, context))
            except Exception:  # a broken stdout must not stop the next alert
                log.exception("printing the console %s alert failed", spec.window)
