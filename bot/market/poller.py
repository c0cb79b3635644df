"""One funding / open-interest poll of every configured venue (a JobQueue job runs it).

Each venue is polled concurrently and independently: a venue that times out, answers an
HTTP error or garbage is counted in its health, logged once per failure streak and tried
again next cycle, while the others are stored. Per venue:
- Binance: ``premiumIndex`` (all symbols) every cycle; ``fundingInfo`` hourly (intervals
  and caps), and again (at most every 5 minutes) when the funding schedules look ahead of
  it; each symbol's interval follows its ``nextFundingTime`` steps (``bot.market.intervals``);
  ``openInterest`` per symbol only for the focus coins (``focus_coins()``, e.g. the top
  liquidated and watched coins, then the coins with the most open interest elsewhere), a
  bounded number per cycle, the oldest readings first, so request weight stays a few
  percent of the 2,400/min limit (and none while Binance reports half of it used).
- Bybit: ``tickers`` every cycle; ``instruments-info`` hourly, only while some ticker has
  no ``fundingIntervalHour`` (those follow their ``nextFundingTime`` steps too).
- OKX: ``funding-rate?instId=ANY`` and ``open-interest`` (both needed), ``mark-price``.
HTTP 429/418 pauses the venue for its ``Retry-After`` (at least a minute).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from bot.clock import now_ms
from bot.config import Settings
from bot.domain import HOUR_MS, MarketSnapshot
from bot.ingest.feed import describe
from bot.market.fetch import EXPECTED, RateLimited, RestGetter, VenueFailure, require
from bot.market.intervals import Caps, IntervalTracker
from bot.market.state import MarketState
from bot.venues.binance import market as binance
from bot.venues.binance.oi_focus import OpenInterestBook
from bot.venues.bybit import market as bybit
from bot.venues.okx import market as okx
from bot.venues.symbols import CoinCache
from bot.venues.wire import Parsed
from storage.db import DbThread
from storage.market import write_market

log = logging.getLogger(__name__)

WEIGHT_LIMIT = 2400  # Binance USD-M REQUEST_WEIGHT per minute and IP
_MAX_PAGES = 5  # Bybit instruments: ~600 linear symbols fit one 1,000-row page


@dataclass(slots=True)
class VenueHealth:
    """Per-venue poll health for /status."""

    last_ok_ms: int | None = None  # last cycle that delivered data
    failures: int = 0  # cycles with any failed request, since start
    streak: int = 0  # consecutive such cycles
    last_error: str | None = None
    symbols: int = 0  # snapshots delivered by the last cycle with data
    rejects: int = 0  # malformed items skipped in the last cycle
    paused_until_ms: int | None = None  # rate limited until then


@dataclass(slots=True)
class PollStats:
    """What one ``poll_once`` did."""

    ts_ms: int
    snapshots: dict[str, int] = field(default_factory=dict)  # per venue that delivered
    failed: list[str] = field(default_factory=list)  # venues with an error this cycle
    rejects: int = 0
    oi_requests: int = 0
    coins: int = 0
    stored: bool = False
    wall_ms: float = 0.0
    skipped: bool = False  # the previous cycle was still running


@dataclass(slots=True)
class _Outcome:
    snapshots: list[MarketSnapshot] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    rejects: int = 0
    oi_requests: int = 0

    def note(self, what: str, parsed: Parsed[Any]) -> None:
        self.rejects += parsed.rejects
        if parsed.rejects:
            log.debug("%s: %d item(s) rejected: %s", what, parsed.rejects, parsed.sample)


class MarketPoller:
    """Polls funding, mark prices and open interest; feeds ``state`` and storage."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        state: MarketState,
        dbt: DbThread | None,
        *,
        focus_coins: Callable[[], Iterable[str]] = tuple,
        clock: Callable[[], int] = now_ms,
        request_timeout_s: float = 10.0,
        oi_per_cycle: int = 40,
        oi_symbols_max: int = 120,
        top_oi_coins: int = 30,
        oi_weight_per_min: float = 240.0,
        refdata_interval_ms: int = HOUR_MS,
    ) -> None:
        self.settings = settings
        self.state = state
        self.health: dict[str, VenueHealth] = {v: VenueHealth() for v in settings.exchanges}
        self._dbt = dbt
        self._focus = focus_coins
        self._clock = clock
        self._http = RestGetter(settings, session, request_timeout_s)
        # Never more OI requests per minute than the weight budget, whatever the interval.
        budget = int(oi_weight_per_min * settings.funding_poll_s / 60.0)
        max_age_ms = int(settings.funding_poll_s * 1000 * 5)
        self.oi = OpenInterestBook(max(1, min(oi_per_cycle, budget)), oi_symbols_max, max_age_ms)
        self.top_oi_coins = top_oi_coins
        self._busy = False
        self._oi_budget_s = max(1.0, min(20.0, settings.funding_poll_s / 2))
        self._refdata_ms = refdata_interval_ms
        self._coins = {v: CoinCache() for v in settings.exchanges}
        self._binance_intervals: dict[str, float] | None = None
        self._binance_caps: Caps = {}
        self._binance_intervals_ms = 0
        self._schedules = {v: IntervalTracker() for v in ("binance", "bybit")}
        self._bybit_intervals: dict[str, float] | None = None
        self._bybit_intervals_ms = 0

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Health per venue as plain values (for /status)."""
        return {venue: asdict(h) for venue, h in self.health.items()}

    async def poll_once(self) -> PollStats:
        """One cycle over every venue; stores what arrived; never raises."""
        started = time.perf_counter()
        ts = self._clock()
        stats = PollStats(ts_ms=ts)
        if self._busy:  # a slow cycle overlapping the next tick: never two at once
            stats.skipped = True
            return stats
        self._busy = True
        try:
            await self._cycle(ts, stats)
        finally:
            self._busy = False
        stats.wall_ms = (time.perf_counter() - started) * 1000
        return stats

    async def _cycle(self, ts: int, stats: PollStats) -> None:
        venues = list(self.health)
        outcomes = await asyncio.gather(*(self._poll_venue(v, ts) for v in venues))
        snapshots: list[MarketSnapshot] = []
        for venue, out in zip(venues, outcomes, strict=True):
            self._account(venue, ts, out)
            stats.rejects += out.rejects
            stats.oi_requests += out.oi_requests
            if out.errors:
                stats.failed.append(venue)
            if out.snapshots:
                stats.snapshots[venue] = len(out.snapshots)
                snapshots.extend(out.snapshots)
        if snapshots:
            self.state.apply(snapshots)
            coins = self.state.coins(ts)
            stats.coins = len(coins)
            if self._dbt is not None:
                try:
                    await self._dbt.run(write_market, ts, snapshots, coins)
                    stats.stored = True
                except Exception as exc:  # storage trouble must not stop the job
                    log.warning("market: storing the poll failed: %s", describe(exc))

    async def _poll_venue(self, venue: str, ts: int) -> _Outcome:
        out = _Outcome()
        h = self.health[venue]
        if h.paused_until_ms is not None and ts < h.paused_until_ms:
            out.errors.append(f"rate limited: paused for {(h.paused_until_ms - ts) // 1000} s")
            return out
        h.paused_until_ms = None
        try:
            if venue == "binance":
                await self._binance(ts, out)
            elif venue == "bybit":
                await self._bybit(ts, out)
            elif venue == "okx":
                await self._okx(ts, out)
        except RateLimited as exc:
            h.paused_until_ms = ts + int(exc.retry_after_s * 1000)
            out.snapshots.clear()
            out.errors.append(str(exc))
        except EXPECTED as exc:
            out.snapshots.clear()
            out.errors.append(describe(exc))
        except Exception as exc:  # a bug must cost one venue one cycle, not the job
            log.exception("market: %s poll crashed", venue)
            out.snapshots.clear()
            out.errors.append(f"internal error: {type(exc).__name__}")
        return out

    def _account(self, venue: str, ts: int, out: _Outcome) -> None:
        h = self.health[venue]
        h.rejects = out.rejects
        if out.snapshots:
            h.last_ok_ms = ts
            h.symbols = len(out.snapshots)
        if out.errors:
            h.failures += 1
            h.streak += 1
            h.last_error = "; ".join(out.errors)[:300]
            if h.streak == 1:
                log.warning(
                    "market: %s poll failed: %s (retrying each cycle)", venue, h.last_error
                )
        elif h.streak:
            log.info("market: %s poll recovered after %d failed cycle(s)", venue, h.streak)
            h.streak = 0

    # -- Binance ------------------------------------------------------------------------

    async def _binance(self, ts: int, out: _Outcome) -> None:
        schedule, read_ms = self._schedules["binance"], self._binance_intervals_ms
        due = ts - read_ms >= self._refdata_ms or schedule.recheck_due(ts, read_ms)
        if self._binance_intervals is None or due:
            await self._binance_funding_info(ts, out)
        path = binance.PREMIUM_INDEX_PATH
        parsed = binance.parse_premium_index(
            await self._http.get("binance", path),
            ts,
            self._binance_intervals,
            self._coins["binance"],
        )
        out.note(path, parsed)
        require(path, parsed)
        schedule.follow(parsed.items.values(), ts, self._binance_caps)
        await self._binance_open_interest(parsed.items, ts, out)
        self.oi.apply(parsed.items, ts)
        out.snapshots.extend(parsed.items.values())

    async def _binance_funding_info(self, ts: int, out: _Outcome) -> None:
        path = binance.FUNDING_INFO_PATH
        try:
            body = await self._http.get("binance", path)
        except RateLimited:
            raise
        except EXPECTED as exc:
            out.errors.append(describe(exc))
            return
        parsed = binance.parse_funding_info(body)
        out.note(path, parsed)
        if parsed.error is not None:
            out.errors.append(f"{path}: {parsed.error}")
            return
        # An empty list is a valid answer: no symbol adjusted, all settle every 8 h.
        self._binance_intervals = parsed.items
        self._binance_caps = binance.parse_funding_caps(body).items
        self._binance_intervals_ms = ts
        self._schedules["binance"].reference_read()

    def _focus_coins(self, ts: int) -> list[str]:
        """The caller's focus coins, then the coins with the most open interest."""
        try:
            focus = [str(c) for c in self._focus()]
        except Exception as exc:
            log.warning("market: focus_coins failed: %s", describe(exc))
            focus = []
        return focus + [m.coin for m in self.state.coins(ts)[: self.top_oi_coins] if m.oi_usd]

    async def _binance_open_interest(
        self, snaps: dict[str, MarketSnapshot], ts: int, out: _Outcome
    ) -> None:
        targets = self.oi.targets(snaps, self._focus_coins(ts), self._coins["binance"])
        if not targets:
            return
        if self._http.binance_weight > WEIGHT_LIMIT // 2:
            used = self._http.binance_weight
            log.debug("market: binance weight %d used: no open interest now", used)
            return
        gate = asyncio.Semaphore(4)
        errors: list[str] = []
        limited: list[RateLimited] = []

        async def one(symbol: str) -> None:
            path = binance.open_interest_path(symbol)
            async with gate:
                if limited:
                    return
                try:
                    parsed = binance.parse_open_interest(await self._http.get("binance", path))
                except RateLimited as exc:
                    limited.append(exc)
                    return
                except EXPECTED as exc:
                    errors.append(describe(exc))
                    return
            out.note(path, parsed)
            value = parsed.items.get(symbol)
            if parsed.error is not None:
                errors.append(f"{path}: {parsed.error}")
            elif value is not None or parsed.rejects == 0:  # None: open interest 0
                self.oi.record(symbol, value, ts)

        out.oi_requests += len(targets)
        try:
            async with asyncio.timeout(self._oi_budget_s):
                await asyncio.gather(*(one(s) for s in targets))
        except TimeoutError:
            errors.append(f"open interest: not done in {self._oi_budget_s:.0f} s")
        if limited:
            raise limited[0]
        if errors:
            out.errors.append(
                f"open interest: {len(errors)} of {len(targets)} failed ({errors[0]})"
            )

    # -- Bybit --------------------------------------------------------------------------

    async def _bybit(self, ts: int, out: _Outcome) -> None:
        path = bybit.TICKERS_PATH
        body = await self._http.get("bybit", path)
        parsed = bybit.parse_tickers(body, ts, None, self._coins["bybit"])
        out.note(path, parsed)
        require(path, parsed)
        # Tickers without fundingIntervalHour: instruments-info, then their schedule's steps.
        bare = [s for s in parsed.items.values() if s.funding_interval_h is None]
        schedule, read_ms = self._schedules["bybit"], self._bybit_intervals_ms
        due = ts - read_ms >= self._refdata_ms or schedule.recheck_due(ts, read_ms)
        if bare and (self._bybit_intervals is None or due):
            await self._bybit_instruments(ts, out)
        intervals = self._bybit_intervals or {}
        for snap in bare:
            snap.funding_interval_h = intervals.get(snap.symbol)
        schedule.follow(bare, ts)
        out.snapshots.extend(parsed.items.values())

    async def _bybit_instruments(self, ts: int, out: _Outcome) -> None:
        intervals: dict[str, float] = {}
        path = bybit.INSTRUMENTS_PATH
        try:
            for _ in range(_MAX_PAGES):
                parsed = bybit.parse_instruments(await self._http.get("bybit", path))
                out.note(bybit.INSTRUMENTS_PATH, parsed)
                if parsed.error is not None:
                    raise VenueFailure(f"instruments-info: {parsed.error}")
                intervals.update(parsed.items)
                if parsed.cursor is None:
                    break
                path = f"{bybit.INSTRUMENTS_PATH}&cursor={parsed.cursor}"
        except RateLimited:
            raise
        except EXPECTED as exc:
            out.errors.append(describe(exc))
            return
        self._bybit_intervals = intervals
        self._bybit_intervals_ms = ts
        self._schedules["bybit"].reference_read()

    # -- OKX ----------------------------------------------------------------------------

    async def _okx(self, ts: int, out: _Outcome) -> None:
        funding_body, oi_body, mark_body = await asyncio.gather(
            self._http.get("okx", okx.FUNDING_PATH),
            self._http.get("okx", okx.OPEN_INTEREST_PATH),
            self._http.get("okx", okx.MARK_PRICE_PATH),
            return_exceptions=True,
        )
        for body in (funding_body, oi_body):
            if isinstance(body, BaseException):
                raise body
        assert isinstance(funding_body, str) and isinstance(oi_body, str)
        funding = okx.parse_funding_rates(funding_body)
        out.note(okx.FUNDING_PATH, funding)
        require(okx.FUNDING_PATH, funding)
        oi = okx.parse_open_interest(oi_body)
        out.note(okx.OPEN_INTEREST_PATH, oi)
        require(okx.OPEN_INTEREST_PATH, oi)
        marks: dict[str, float] = {}
        if isinstance(mark_body, RateLimited):
            raise mark_body
        if isinstance(mark_body, BaseException):
            out.errors.append(f"mark prices: {describe(mark_body)}")
        else:
            parsed_marks = okx.parse_mark_prices(mark_body)
            out.note(okx.MARK_PRICE_PATH, parsed_marks)
            if parsed_marks.error is not None:
                out.errors.append(f"{okx.MARK_PRICE_PATH}: {parsed_marks.error}")
            marks = parsed_marks.items
        out.snapshots.extend(
            okx.okx_snapshots(ts, funding.items, oi.items, marks, self._coins["okx"])
        )
