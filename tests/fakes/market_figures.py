"""Known funding / open-interest figures for bot tests: venue snapshots, stored polls
(through the real storage.market) and the latest ones in a real MarketState."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from bot.domain import CoinMarket, MarketSnapshot, coin_market
from bot.market.state import MarketState
from storage.db import DbThread
from storage.market import write_market


def snap(
    venue: str,
    coin: str,
    ts_ms: int,
    *,
    rate: float | None = 0.0001,
    interval_h: float | None = 8.0,
    oi_usd: float | None = None,
    mark: float | None = 100.0,
    next_ms: int | None = None,
    symbol: str | None = None,
    predicted: bool = False,
) -> MarketSnapshot:
    """One venue symbol at one poll (symbol named the venue's way by default)."""
    if symbol is None:
        symbol = f"{coin}-USDT-SWAP" if venue == "okx" else f"{coin}USDT"
    oi_base = None if oi_usd is None or not mark else oi_usd / mark
    return MarketSnapshot(
        venue=venue,
        symbol=symbol,
        coin=coin,
        ts_ms=ts_ms,
        funding_rate=rate,
        funding_interval_h=interval_h,
        next_funding_ms=next_ms,
        mark_price=mark,
        oi_base=oi_base,
        oi_usd=oi_usd,
        predicted=predicted,
    )


def by_coin(ts_ms: int, snapshots: Iterable[MarketSnapshot]) -> list[CoinMarket]:
    """The per-coin aggregates of one poll."""
    groups: dict[str, list[MarketSnapshot]] = {}
    for s in snapshots:
        groups.setdefault(s.coin, []).append(s)
    return [coin_market(coin, ts_ms, snaps) for coin, snaps in groups.items()]


async def store_poll(dbt: DbThread, ts_ms: int, snapshots: Sequence[MarketSnapshot]) -> None:
    """Store one poll as the poller would."""
    await dbt.run(write_market, ts_ms, list(snapshots), by_coin(ts_ms, snapshots))


def apply_poll(state: MarketState, snapshots: Iterable[MarketSnapshot]) -> None:
    """Make ``snapshots`` the latest figures, as the poller does after a cycle."""
    state.apply(list(snapshots))


def pct(value: Decimal | str, places: int = 4, sign: bool = True) -> str:
    """A percentage computed in Decimal, written as the bot writes it: ``+0.0200%``,
    ``−6.7%`` (true minus), ``0.0%`` for zero."""
    q = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if q == 0:
        return f"{abs(q)}%"
    if not sign:
        return f"{abs(q)}%"
    return f"{'+' if q > 0 else '−'}{abs(q)}%"
