"""Each symbol's current funding interval, read from the schedule the polls show.

A venue changes a symbol's interval at a settlement (Binance switches to 1 h at the
settlement whose rate hit the cap, and back to 4 h after 16 quiet hourly ones). At every
settlement the next funding time moves on by the interval now in force, so two polls that
straddle a settlement, less than an hour apart (the shortest interval: at most one
settlement between them), show the new interval at once: ``new next − old next``. No
request is needed for it, and it is right from the first poll after the change, where
reference data (Binance ``fundingInfo``, Bybit ``instruments-info``) read hourly can be an
hour late, and ``fundingInfo`` does not list a symbol until Binance counts it as adjusted.

The tracker also says when that reference data looks stale, so the poller re-reads it
early (at most every ``recheck_ms``): a step disagrees with it for a symbol not checked
since, or a symbol whose rate sat at its cap has just settled (the switch is expected).
Without a step (the first hour after start-up, after a gap in the polls) the reference
data decides, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from bot.domain import HOUR_MS, MINUTE_MS, MarketSnapshot
from bot.venues.wire import MAX_INTERVAL_H

MIN_INTERVAL_MS: Final = HOUR_MS  # the shortest interval of Binance, Bybit and OKX
# A settlement is believed only once its time has come by our clock, give or take this.
CLOCK_SLACK_MS: Final = 5 * MINUTE_MS
RECHECK_MS: Final = 5 * MINUTE_MS
Caps = Mapping[str, tuple[float, float]]
"""Symbol -> (cap, floor) of its funding rate per interval (Binance ``fundingInfo``)."""


@dataclass(slots=True)
class _Seen:
    next_ms: int  # the next funding time the last poll showed
    seen_ms: int  # that poll's time
    step_h: float | None  # the interval the last settlement showed, if seen
    at_cap: bool  # the rate sat at its cap or floor at that poll


def at_cap(rate: float | None, caps: tuple[float, float] | None) -> bool:
    """True when ``rate`` is at (or past) its cap or floor; False without both."""
    if rate is None or caps is None:
        return False
    cap, floor = caps
    # Rates and caps are decimal strings on the wire: allow for the last float bit.
    return (cap > 0 and rate >= cap * (1 - 1e-9)) or (floor < 0 and rate <= floor * (1 - 1e-9))


class IntervalTracker:
    """One venue's funding schedules, poll after poll (pure: fed by the poller)."""

    def __init__(self, recheck_ms: int = RECHECK_MS) -> None:
        self.recheck_ms = recheck_ms
        self._seen: dict[str, _Seen] = {}
        self._want_recheck = False
        self._stale: set[str] = set()  # steps disagreeing with the reference data now
        self._checked: set[str] = set()  # ... that a re-read already did not resolve

    def step(self, symbol: str) -> float | None:
        """The interval in hours the symbol's last settlement showed, if still current."""
        seen = self._seen.get(symbol)
        return None if seen is None else seen.step_h

    def follow(
        self, snapshots: Iterable[MarketSnapshot], ts_ms: int, caps: Caps | None = None
    ) -> int:
        """Observe one poll; set each snapshot's interval to what its schedule shows when
        a settlement was seen (otherwise the interval the parser gave stays). Returns how
        many snapshots it corrected."""
        corrected = 0
        stale: set[str] = set()
        for snap in snapshots:
            cap = None if caps is None else caps.get(snap.symbol)
            step = self._observe(snap, ts_ms, at_cap(snap.funding_rate, cap))
            if step is not None and snap.funding_interval_h != step:
                stale.add(snap.symbol)
                snap.funding_interval_h = step
                corrected += 1
        self._checked &= stale
        if stale - self._checked:
            self._want_recheck = True
        self._stale = stale
        # Forget symbols gone from the polls (delisted); their schedule is lost anyway.
        for symbol in [s for s, v in self._seen.items() if ts_ms - v.seen_ms >= HOUR_MS]:
            del self._seen[symbol]
        return corrected

    def recheck_due(self, ts_ms: int, last_read_ms: int) -> bool:
        """True when the reference data looks stale and was not read in ``recheck_ms``."""
        return self._want_recheck and ts_ms - last_read_ms >= self.recheck_ms

    def reference_read(self) -> None:
        """The poller has just read the reference data again."""
        self._want_recheck = False
        self._checked = set(self._stale)

    def _observe(self, snap: MarketSnapshot, ts_ms: int, capped: bool) -> float | None:
        next_ms = snap.next_funding_ms
        prev = self._seen.get(snap.symbol)
        if next_ms is None:
            self._seen.pop(snap.symbol, None)
            return None
        step: float | None = None
        if prev is not None and 0 <= ts_ms - prev.seen_ms < MIN_INTERVAL_MS:
            step = prev.step_h
            if next_ms != prev.next_ms:
                moved = next_ms - prev.next_ms
                settled = moved > 0 and prev.next_ms <= ts_ms + CLOCK_SLACK_MS
                # Whole hours only: anything else is a rescheduling, not an interval.
                whole = moved % HOUR_MS == 0 and moved <= MAX_INTERVAL_H * HOUR_MS
                step = moved / HOUR_MS if settled and whole else None
                if settled and prev.at_cap:
                    self._want_recheck = True
        self._seen[snap.symbol] = _Seen(next_ms, ts_ms, step, capped)
        return step
