"""Normalized records shared by every venue parser, storage and the totals index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

LONG: Final = "long"
SHORT: Final = "short"
SIDES: Final = (LONG, SHORT)

VENUES: Final = ("binance", "bybit", "okx")

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 3_600_000

# Rolling windows, in the order they are shown. Keys are the user-facing names.
WINDOWS: Final[dict[str, int]] = {
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "1h": HOUR_MS,
    "4h": 4 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "24h": 24 * HOUR_MS,
    "7d": 7 * 24 * HOUR_MS,
}


# Not frozen: a frozen dataclass's __init__ costs ~2 µs per event on the ingest hot path.
@dataclass(slots=True)
class Liquidation:
    """One liquidation as a venue published it, converted to USD by that venue's rule.

    ``side`` is the side of the liquidated POSITION (``long`` or ``short``), never the
    side of the liquidation order. ``ts_ms`` is the venue's own event time.
    """

    venue: str
    symbol: str
    coin: str
    side: str
    price: float
    qty: float
    usd: float
    ts_ms: int


@dataclass(slots=True)
class ParseResult:
    """What one websocket message (or REST body) yielded.

    ``control`` marks messages that are understood but carry no data (subscription acks,
    pongs, list replies): they are neither events nor rejects. ``rejects`` counts items
    that were malformed; ``sample`` keeps the first reject's reason for a debug log line.
    A message that is valid JSON but whose items are all rejected is not ``control``.
    """

    events: list[Liquidation] = field(default_factory=list)
    rejects: int = 0
    control: bool = False
    sample: str | None = None
    notice: str | None = None  # venue-reported error (failed subscribe): logged as a warning
    # Texts to send back on the connection the message came from (Bybit: a rejected
    # subscribe batch, again topic by topic). A tuple: no allocation on the hot path.
    replies: tuple[str, ...] = ()

    def reject(self, reason: str) -> None:
        """Count one rejected item, keeping the first reason as the sample."""
        self.rejects += 1
        if self.sample is None:
            self.sample = reason[:300]
