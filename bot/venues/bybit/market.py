"""Bybit v5 linear funding, mark price and open interest (pure parsers of REST bodies).

``/v5/market/tickers?category=linear`` lists every linear contract in one call:
``fundingRate`` (fraction per interval), ``nextFundingTime`` (ms, a string),
``openInterest`` (base coin), ``openInterestValue`` (USD), ``markPrice`` and, in newer
responses, ``fundingIntervalHour``. When that field is absent the interval comes from
``/v5/market/instruments-info`` where ``fundingInterval`` is in MINUTES (480 = 8 h).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from bot.domain import MarketSnapshot
from bot.venues.symbols import CoinCache, brief, epoch_ms, nonempty_str, positive
from bot.venues.wire import Parsed, collect_snapshots, interval_hours, json_object, signed_rate

VENUE: Final = "bybit"
TICKERS_PATH: Final = "/v5/market/tickers?category=linear"
INSTRUMENTS_PATH: Final = "/v5/market/instruments-info?category=linear&status=Trading&limit=1000"


def _bybit_list(body: str, parsed: Parsed[Any]) -> list[Any] | None:
    """``result.list`` of a Bybit answer with ``retCode`` 0 (else the failure is recorded)."""
    msg = json_object(body, parsed)
    if msg is None:
        return None
    if msg.get("retCode") != 0:
        parsed.fail(f"error {brief(msg.get('retCode'))}: {brief(msg.get('retMsg'))}")
        return None
    result = msg.get("result")
    if isinstance(result, dict):
        cursor = result.get("nextPageCursor")
        parsed.cursor = cursor if isinstance(cursor, str) and cursor else None
    items = result.get("list") if isinstance(result, dict) else None
    if not isinstance(items, list):
        parsed.fail(f"result has no list: {brief(result)}")
        return None
    return items


def parse_instruments(body: str) -> Parsed[float]:
    """One ``instruments-info`` page -> funding interval in hours per symbol (``cursor``
    is set when another page follows). Contracts without funding (dated futures, whose
    ``fundingInterval`` is 0) are skipped."""
    parsed: Parsed[float] = Parsed()
    items = _bybit_list(body, parsed)
    if items is None:
        return parsed
    for item in items:
        if not isinstance(item, dict):
            parsed.reject(f"instrument is not an object: {brief(item)}")
            continue
        symbol = nonempty_str(item.get("symbol"))
        raw = item.get("fundingInterval")
        if symbol is not None and raw in (0, "0", "", None):
            parsed.skipped += 1
            continue
        hours = interval_hours(raw, per_hour=60.0)
        if symbol is None or hours is None:
            parsed.reject(f"bad instrument: {brief(item)}")
            continue
        parsed.items[symbol] = hours
    return parsed


def parse_tickers(
    body: str,
    ts_ms: int,
    intervals: Mapping[str, float] | None = None,
    coins: CoinCache | None = None,
) -> Parsed[MarketSnapshot]:
    """``tickers?category=linear`` -> one snapshot per perpetual.

    The interval is the item's ``fundingIntervalHour`` when present, else ``intervals``
    (from ``parse_instruments``), else unknown (None). Dated futures (an empty
    ``fundingRate``) are skipped.
    """
    parsed: Parsed[MarketSnapshot] = Parsed()
    items = _bybit_list(body, parsed)
    if items is None:
        return parsed
    cache = coins or CoinCache()
    return collect_snapshots(
        parsed, items, "ticker", lambda item: _ticker(item, ts_ms, intervals, cache, parsed)
    )


def _ticker(
    item: dict[str, Any],
    ts_ms: int,
    intervals: Mapping[str, float] | None,
    coins: CoinCache,
    parsed: Parsed[MarketSnapshot],
) -> MarketSnapshot | None:
    symbol = nonempty_str(item.get("symbol"))
    raw_rate = item.get("fundingRate")
    if symbol is not None and raw_rate in ("", None):
        parsed.skipped += 1
        return None
    rate = signed_rate(raw_rate)
    coin = coins.coin(symbol) if symbol is not None else ""
    if symbol is None or not coin or rate is None:
        parsed.reject(f"bad ticker: {brief(item)}")
        return None
    raw_interval = item.get("fundingIntervalHour")
    interval = interval_hours(raw_interval) if raw_interval not in (None, "") else None
    if interval is None and intervals is not None:
        interval = intervals.get(symbol)
    oi_base = positive(item.get("openInterest"))
    oi_usd = positive(item.get("openInterestValue"))
    return MarketSnapshot(
        venue=VENUE,
        symbol=symbol,
        coin=coin,
        ts_ms=ts_ms,
        funding_rate=rate,
        funding_interval_h=interval,
        next_funding_ms=epoch_ms(item.get("nextFundingTime")),
        mark_price=positive(item.get("markPrice")),
        oi_base=oi_base,
        oi_usd=oi_usd,
    )
