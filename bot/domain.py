"""Domain types and constants every layer shares; imports nothing from the project.

Liquidations and parse results (venue parsers, ingest, storage, totals), rule specs and
states (rules, chats, storage), market snapshots (market parsers, poller, storage) and
per-minute bucket types (aggregation, storage).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

LONG: Final = "long"
SHORT: Final = "short"
SIDES: Final = (LONG, SHORT)

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


# Rules ------------------------------------------------------------------------------

# The highest escalation level: 2**40 (about 1.1e12) times the threshold. Real totals stay
# far below it (a year of every venue's liquidations is under $1T, a $1 threshold's 2**40),
# and it keeps the level an integer SQLite can store: an uncapped level computed from one
# absurd total once made the rule states unwritable and stopped all alerting.
MAX_MULTIPLE: Final = 2**40

# (coin or None for market-wide, window name): the key of one rolling total.
TotalsKey = tuple[str | None, str]


@dataclass(frozen=True, slots=True)
class RuleState:
    """Where one rule stands.

    ``level`` is the highest multiple of the threshold already alerted (0 = armed, then
    1, 2, 4, 8 ...). ``fired_at`` is the time of the last alert (None while armed).
    ``threshold`` is the threshold the level refers to (None = never evaluated); a
    different threshold resets the state.
    """

    level: int = 0
    fired_at: int | None = None
    threshold: float | None = None

    @property
    def armed(self) -> bool:
        """True when the next crossing of the threshold fires a first alert."""
        return self.level == 0

    def to_row(self) -> dict[str, Any]:
        """Columns for SQLite: ``level``, ``fired_at``, ``threshold``."""
        return {"level": self.level, "fired_at": self.fired_at, "threshold": self.threshold}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RuleState:
        """Rebuild from :meth:`to_row` output; ``ValueError`` on a corrupt row."""
        level = int(row.get("level") or 0)
        if level < 0 or level > MAX_MULTIPLE or (level & (level - 1)) != 0:
            raise ValueError(f"rule level must be 0 or a power of two, got {level}")
        fired_at = row.get("fired_at")
        threshold = row.get("threshold")
        return cls(
            level=level,
            fired_at=None if fired_at is None or level == 0 else int(fired_at),
            threshold=None if threshold is None else float(threshold),
        )


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What a rule watches: ``coin`` None means market-wide (all coins)."""

    window: str
    threshold: float
    coin: str | None = None

    @property
    def scope(self) -> Literal["market", "coin"]:
        """``market`` or ``coin``."""
        return "market" if self.coin is None else "coin"

    @property
    def key(self) -> TotalsKey:
        """The rolling total this rule reads."""
        return (self.coin, self.window)


# Market records -----------------------------------------------------------------------

# A price multiplier in front of the coin (1000PEPEUSDT, 1MBABYDOGEUSDT) or after it
# (Bybit SHIB1000USDT): that symbol's price and quantity are per 1000 (1M) coins.
_MULT_PREFIX: Final = re.compile(r"^(?:1M|10{3,})")
_MULT_SUFFIX: Final = re.compile(r"^10{3,}(?![0-9])")


@dataclass(slots=True)
class MarketSnapshot:
    """One venue symbol at one poll, in the venue's own units.

    ``funding_rate`` is per ``funding_interval_h`` hours; ``mark_price`` and ``oi_base``
    are per unit of the symbol (per 1000 coins for 1000PEPEUSDT); ``oi_usd`` is USD.
    ``predicted`` is True when the rate is a forecast for the next settlement (OKX
    ``fundingRate``) rather than the live accruing rate (Binance, Bybit).
    ``settled_rate`` is the last settled rate when the venue gives it (OKX).
    """

    venue: str
    symbol: str
    coin: str
    ts_ms: int
    funding_rate: float | None
    funding_interval_h: float | None
    next_funding_ms: int | None
    mark_price: float | None
    oi_base: float | None
    oi_usd: float | None
    predicted: bool = False
    settled_rate: float | None = None

    @property
    def rate_8h(self) -> float | None:
        """The rate as its 8 h equivalent, or None without a rate or interval."""
        if self.funding_rate is None or not self.funding_interval_h:
            return None
        return self.funding_rate * 8.0 / self.funding_interval_h

    @property
    def apr(self) -> float | None:
        """The rate annualised (simple, not compounded), or None without rate or interval."""
        if self.funding_rate is None or not self.funding_interval_h:
            return None
        return self.funding_rate * (24.0 / self.funding_interval_h) * 365.0

    @property
    def coin_mark(self) -> float | None:
        """Mark price per ONE coin (the symbol's mark divided by its multiplier)."""
        if self.mark_price is None:
            return None
        return self.mark_price / symbol_multiplier(self.symbol, self.coin)


@dataclass(frozen=True, slots=True)
class CoinMarket:
    """One coin across venues at one time (build it with ``coin_market``).

    ``oi_usd`` sums the venues that reported open interest; ``funding_8h`` is the
    8 h-equivalent funding weighted by each venue symbol's open interest (only symbols
    with both); ``mark_price`` is per one coin, OI-weighted over symbols with both, else
    the plain mean of the marks.
    """

    coin: str
    ts_ms: int
    venues: tuple[MarketSnapshot, ...]
    oi_usd: float | None
    funding_8h: float | None
    mark_price: float | None


def symbol_multiplier(symbol: str, coin: str) -> float:
    """How many coins one unit of ``symbol`` is: 1000 for 1000PEPEUSDT and SHIB1000USDT,
    1e6 for 1MBABYDOGEUSDT, 1 otherwise."""
    s = symbol.upper()
    for sep in ("-", "_"):
        s = s.split(sep, 1)[0]
    if coin and s.startswith(coin):
        m = _MULT_SUFFIX.match(s[len(coin) :])
        return float(m.group()) if m else 1.0
    m = _MULT_PREFIX.match(s)
    if m and s[m.end() :].startswith(coin):
        return 1e6 if m.group() == "1M" else float(m.group())
    return 1.0


def venue_order(snapshot: MarketSnapshot) -> tuple[str, str]:
    """Sort key: venue by name, then symbol.

    By name because this module imports nothing: ``bot.venues.registry`` lists the venues
    in name order, so this is also their display order (a test there checks it)."""
    return (snapshot.venue, snapshot.symbol)


def coin_market(coin: str, ts_ms: int, snapshots: Iterable[MarketSnapshot]) -> CoinMarket:
    """Aggregate one coin's venue snapshots (any order) into a ``CoinMarket``."""
    venues = tuple(sorted(snapshots, key=venue_order))
    oi_total = 0.0
    with_oi = False
    w_sum = 0.0
    w_rate = 0.0
    w_mark_sum = 0.0
    w_mark = 0.0
    marks: list[float] = []
    for s in venues:
        oi = s.oi_usd
        mark = s.coin_mark
        if mark is not None:
            marks.append(mark)
        if oi is None:
            continue
        with_oi = True
        oi_total += oi
        r8 = s.rate_8h
        if r8 is not None and oi > 0:
            w_sum += oi
            w_rate += r8 * oi
        if mark is not None and oi > 0:
            w_mark_sum += oi
            w_mark += mark * oi
    if w_mark_sum > 0:
        mark_price: float | None = w_mark / w_mark_sum
    elif marks:
        mark_price = sum(marks) / len(marks)
    else:
        mark_price = None
    return CoinMarket(
        coin=coin,
        ts_ms=ts_ms,
        venues=venues,
        oi_usd=oi_total if with_oi else None,
        funding_8h=w_rate / w_sum if w_sum > 0 else None,
        mark_price=mark_price,
    )


# Per-minute buckets -------------------------------------------------------------------

BucketKey = tuple[int, str, str, str]
"""(minute_ms, venue, coin, side) with ``minute_ms = ts_ms // 60000 * 60000``."""

BucketRow = tuple[int, str, str, str, float, int, float, int, str]
"""(minute_ms, venue, coin, side, usd, count, max_usd, max_ts, max_symbol)."""


@dataclass(slots=True)
class BucketDelta:
    """What one batch adds to one bucket; ``max_*`` describe its largest liquidation."""

    usd: float
    count: int
    max_usd: float
    max_ts: int
    max_symbol: str
