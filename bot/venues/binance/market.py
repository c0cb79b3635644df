"""Binance USD-M funding, mark price and open interest (pure parsers of REST bodies).

- ``/fapi/v1/premiumIndex`` (no symbol: every symbol): ``lastFundingRate`` is the live rate
  to be settled at ``nextFundingTime``, a fraction per the symbol's interval.
- ``/fapi/v1/fundingInfo``: ONLY symbols whose interval or caps were adjusted, with
  ``fundingIntervalHours`` and ``adjustedFundingRateCap``/``Floor``; every other
  perpetual settles every 8 h, until a settlement at its cap moves it to 1 h (which
  ``bot.venues.intervals`` sees in ``nextFundingTime`` before ``fundingInfo`` lists it).
- ``/fapi/v1/openInterest?symbol=``: one symbol, in units of the symbol's quantity (base
  coin; per 1000 coins for 1000PEPEUSDT); USD = open interest × mark price.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from bot.domain import MarketSnapshot
from bot.venues.symbols import CoinCache, brief, epoch_ms, nonempty_str, positive
from bot.venues.wire import (
    Parsed,
    collect_snapshots,
    interval_hours,
    json_list,
    json_object,
    signed_rate,
)

VENUE: Final = "binance"
PREMIUM_INDEX_PATH: Final = "/fapi/v1/premiumIndex"
FUNDING_INFO_PATH: Final = "/fapi/v1/fundingInfo"
OPEN_INTEREST_PATH: Final = "/fapi/v1/openInterest"
DEFAULT_INTERVAL_H: Final = 8.0


def open_interest_path(symbol: str) -> str:
    """The path (with query) of one symbol's open interest."""
    return f"{OPEN_INTEREST_PATH}?symbol={symbol}"


def parse_funding_info(body: str) -> Parsed[float]:
    """``fundingInfo`` -> funding interval in hours per adjusted symbol."""
    parsed: Parsed[float] = Parsed()
    items = json_list(body, parsed)
    if items is None:
        return parsed
    for item in items:
        if not isinstance(item, dict):
            parsed.reject(f"fundingInfo row is not an object: {brief(item)}")
            continue
        symbol = nonempty_str(item.get("symbol"))
        hours = interval_hours(item.get("fundingIntervalHours"))
        if symbol is None or hours is None:
            parsed.reject(f"bad fundingInfo row: {brief(item)}")
            continue
        parsed.items[symbol] = hours
    return parsed


def parse_funding_caps(body: str) -> Parsed[tuple[float, float]]:
    """``fundingInfo`` -> (cap, floor) of the funding rate per adjusted symbol (a fraction
    per interval; Binance moves a symbol to 1 h at a settlement that hits either)."""
    parsed: Parsed[tuple[float, float]] = Parsed()
    items = json_list(body, parsed)
    for item in items or ():
        if not isinstance(item, dict):
            continue  # counted by parse_funding_info
        symbol = nonempty_str(item.get("symbol"))
        cap = signed_rate(item.get("adjustedFundingRateCap"))
        floor = signed_rate(item.get("adjustedFundingRateFloor"))
        if symbol is None or cap is None or floor is None or not floor < 0 < cap:
            parsed.reject(f"bad fundingInfo caps: {brief(item)}")
            continue
        parsed.items[symbol] = (cap, floor)
    return parsed


def parse_premium_index(
    body: str,
    ts_ms: int,
    intervals: Mapping[str, float] | None,
    coins: CoinCache | None = None,
) -> Parsed[MarketSnapshot]:
    """``premiumIndex`` (all symbols) -> one snapshot per perpetual, without open interest.

    ``intervals`` is the last ``fundingInfo`` map; symbols absent from it settle every
    8 h. Without any ``fundingInfo`` yet (``None``) the interval is unknown and left None
    rather than guessed. Dated futures (``BTCUSDT_250926``: empty rate, next time 0) are
    skipped.
    """
    parsed: Parsed[MarketSnapshot] = Parsed()
    items = json_list(body, parsed)
    if items is None:
        return parsed
    cache = coins or CoinCache()
    return collect_snapshots(
        parsed,
        items,
        "premiumIndex row",
        lambda item: _premium_row(item, ts_ms, intervals, cache, parsed),
    )


def _premium_row(
    item: dict[str, Any],
    ts_ms: int,
    intervals: Mapping[str, float] | None,
    coins: CoinCache,
    parsed: Parsed[MarketSnapshot],
) -> MarketSnapshot | None:
    symbol = nonempty_str(item.get("symbol"))
    raw_rate = item.get("lastFundingRate")
    if symbol is not None and ("_" in symbol or raw_rate == ""):
        parsed.skipped += 1
        return None
    rate = signed_rate(raw_rate)
    mark = positive(item.get("markPrice"))
    coin = coins.coin(symbol) if symbol is not None else ""
    if symbol is None or not coin or rate is None or mark is None:
        parsed.reject(f"bad premiumIndex row: {brief(item)}")
        return None
    if intervals is None:
        interval: float | None = None
    else:
        interval = intervals.get(symbol, DEFAULT_INTERVAL_H)
    return MarketSnapshot(
        venue=VENUE,
        symbol=symbol,
        coin=coin,
        ts_ms=ts_ms,
        funding_rate=rate,
        funding_interval_h=interval,
        next_funding_ms=epoch_ms(item.get("nextFundingTime")),
        mark_price=mark,
        oi_base=None,
        oi_usd=None,
    )


def parse_open_interest(body: str) -> Parsed[float]:
    """``openInterest`` of one symbol -> {symbol: open interest in the symbol's units}.

    Zero open interest (a fresh listing) is kept as absent: it carries no weight.
    """
    parsed: Parsed[float] = Parsed()
    msg = json_object(body, parsed)
    if msg is None:
        return parsed
    symbol = nonempty_str(msg.get("symbol"))
    raw = msg.get("openInterest")
    oi = positive(raw)
    if symbol is None or (oi is None and raw not in ("0", 0)):
        parsed.reject(f"bad openInterest: {brief(msg)}")
        return parsed
    if oi is not None:
        parsed.items[symbol] = oi
    return parsed


def with_open_interest(snapshot: MarketSnapshot, oi_base: float) -> None:
    """Set the snapshot's open interest; USD at the snapshot's mark price (Binance's rule:
    no USD figure on the wire)."""
    snapshot.oi_base = oi_base
    if snapshot.mark_price is not None:
        usd = oi_base * snapshot.mark_price
        snapshot.oi_usd = usd if 0.0 < usd < float("inf") else None
