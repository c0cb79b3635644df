"""Console mode's alerts: the default market-wide rules, printed to standard output.

Without a Telegram token there are no chats, so the rules of ``LIQWATCH_DEFAULT_RULES`` are
evaluated for the console alone, with the same fire / escalate / re-arm state machine. The
state lives in memory: at start-up it is primed from the current totals, so a restart does
not print again an alert for a level that was already reached.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.events import WINDOWS
from bot.format_alert import alert_text
from bot.rules import Evaluator, RuleSpec, RuleState, TotalsKey, multiple_reached
from bot.totals_result import Totals

Query = Callable[[int], Totals]  # window ms -> market-wide totals ending now


class ConsoleAlerts:
    """Evaluates the default rules against ``query`` and hands alert texts to ``emit``."""

    def __init__(
        self, rules: Mapping[str, float], query: Query, emit: Callable[[str], None]
    ) -> None:
        self.query = query
        self.emit = emit
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
        """Evaluate once; print every alert; returns how many were printed."""
        totals = self._totals()
        values: dict[TotalsKey, float] = {(None, w): t.total_usd for w, t in totals.items()}
        alerts = self.evaluator.tick(values, now_ms)
        for alert in alerts:
            window = alert.spec.window
            day = totals.get("24h") or self.query(WINDOWS["24h"])
            # The Telegram alert's own lines, rendered without markup (bot/format_alert.py).
            self.emit(alert_text(alert.spec, alert.fire, totals[window], day))
        self.evaluator.take_changed()
        return len(alerts)
