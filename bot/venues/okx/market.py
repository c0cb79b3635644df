"""OKX v5 perpetual funding, open interest and mark price (pure parsers of REST bodies).

- ``/api/v5/public/funding-rate?instId=ANY``: every perpetual in one call. ``fundingRate``
  is the PREDICTED rate for the settlement at ``fundingTime`` (the next one);
  ``settFundingRate`` is the rate of the settlement in progress or just done. The interval
  is ``nextFundingTime − fundingTime`` (8 h normally; OKX moves volatile alts to 6/4/2/1 h).
- ``/api/v5/public/open-interest?instType=SWAP``: ``oiCcy`` in coin, ``oiUsd`` in USD.
- ``/api/v5/public/mark-price?instType=SWAP``: ``markPx`` per instrument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.domain import HOUR_MS, MarketSnapshot
from bot.venues.symbols import CoinCache, brief, epoch_ms, nonempty_str, positive
from bot.venues.wire import Parsed, interval_hours, json_object, signed_rate

VENUE: Final = "okx"
FUNDING_PATH: Final = "/api/v5/public/funding-rate?instId=ANY"
OPEN_INTEREST_PATH: Final = "/api/v5/public/open-interest?instType=SWAP"
MARK_PRICE_PATH: Final = "/api/v5/public/mark-price?instType=SWAP"


@dataclass(frozen=True, slots=True)
class OkxFunding:
    """One instrument's funding: predicted rate, its interval, settlement time, settled rate."""

    rate: float
    interval_h: float | None
    funding_ms: int | None
    settled: float | None


@dataclass(frozen=True, slots=True)
class OkxOpenInterest:
    """One instrument's open interest in coin and in USD."""

    oi_ccy: float | None
    oi_usd: float | None


def _okx_data(body: str, parsed: Parsed[Any]) -> list[Any] | None:
    """``data`` of an OKX answer with ``code`` "0" (else the failure is recorded)."""
    msg = json_object(body, parsed)
    if msg is None:
        return None
    if msg.get("code") != "0":
        parsed.fail(f"error {brief(msg.get('code'))}: {brief(msg.get('msg'))}")
        return None
    data = msg.get("data")
    if not isinstance(data, list):
        parsed.fail(f"data is not a list: {brief(data)}")
        return None
    return data


def _rows(body: str, parsed: Parsed[Any]) -> list[tuple[str, dict[str, Any]]]:
    """(instId, item) of every object item; other items are counted as rejects."""
    data = _okx_data(body, parsed)
    rows: list[tuple[str, dict[str, Any]]] = []
    for item in data or ():
        inst = nonempty_str(item.get("instId")) if isinstance(item, dict) else None
        if inst is None:
            parsed.reject(f"item without instId: {brief(item)}")
        else:
            rows.append((inst, item))
    return rows


def parse_funding_rates(body: str) -> Parsed[OkxFunding]:
    """``funding-rate?instId=ANY`` -> funding per instrument."""
    parsed: Parsed[OkxFunding] = Parsed()
    for inst, item in _rows(body, parsed):
        rate = signed_rate(item.get("fundingRate"))
        if rate is None:
            parsed.reject(f"bad fundingRate: {brief(item)}")
            continue
        funding_ms = epoch_ms(item.get("fundingTime"))
        next_ms = epoch_ms(item.get("nextFundingTime"))
        interval = None
        if funding_ms is not None and next_ms is not None:
            interval = interval_hours((next_ms - funding_ms) / HOUR_MS)
        parsed.items[inst] = OkxFunding(
            rate=rate,
            interval_h=interval,
            funding_ms=funding_ms,
            settled=signed_rate(item.get("settFundingRate")),
        )
    return parsed


def parse_open_interest(body: str) -> Parsed[OkxOpenInterest]:
    """``open-interest?instType=SWAP`` -> open interest per instrument (zero = absent)."""
    parsed: Parsed[OkxOpenInterest] = Parsed()
    for inst, item in _rows(body, parsed):
        oi = OkxOpenInterest(positive(item.get("oiCcy")), positive(item.get("oiUsd")))
        if oi.oi_ccy is None and oi.oi_usd is None and item.get("oi") not in ("0", 0):
            parsed.reject(f"bad open interest: {brief(item)}")
            continue
        parsed.items[inst] = oi
    return parsed


def parse_mark_prices(body: str) -> Parsed[float]:
    """``mark-price?instType=SWAP`` -> mark price per instrument."""
    parsed: Parsed[float] = Parsed()
    for inst, item in _rows(body, parsed):
        mark = positive(item.get("markPx"))
        if mark is None:
            parsed.reject(f"bad markPx: {brief(item)}")
            continue
        parsed.items[inst] = mark
    return parsed


def okx_snapshots(
    ts_ms: int,
    funding: Mapping[str, OkxFunding],
    open_interest: Mapping[str, OkxOpenInterest],
    marks: Mapping[str, float],
    coins: CoinCache | None = None,
) -> list[MarketSnapshot]:
    """One snapshot per instrument with funding or open interest, the three merged by
    instId. The rate is flagged ``predicted`` (OKX's ``fundingRate``)."""
    cache = coins or CoinCache()
    out: list[MarketSnapshot] = []
    for inst in dict.fromkeys([*funding, *open_interest]):
        coin = cache.coin(inst)
        if not coin:
            continue
        f = funding.get(inst)
        oi = open_interest.get(inst)
        out.append(
            MarketSnapshot(
                venue=VENUE,
                symbol=inst,
                coin=coin,
                ts_ms=ts_ms,
                funding_rate=f.rate if f else None,
                funding_interval_h=f.interval_h if f else None,
                next_funding_ms=f.funding_ms if f else None,
                mark_price=marks.get(inst),
                oi_base=oi.oi_ccy if oi else None,
                oi_usd=oi.oi_usd if oi else None,
                predicted=f is not None,
                settled_rate=f.settled if f else None,
            )
        )
    return out
