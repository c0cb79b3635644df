"""Folding liquidations into per-minute bucket deltas (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain import MINUTE_MS, BucketDelta, BucketKey, Liquidation

__all__ = ["BucketDelta", "BucketKey", "bucket_deltas", "bucket_key"]


def bucket_key(event: Liquidation) -> BucketKey:
    """The bucket ``event`` belongs to: (minute_ms, venue, coin, side)."""
    return (event.ts_ms // MINUTE_MS * MINUTE_MS, event.venue, event.coin, event.side)


def bucket_deltas(events: Iterable[Liquidation]) -> dict[BucketKey, BucketDelta]:
    """Sum ``events`` per bucket: USD, count and the largest liquidation (first on ties)."""
    deltas: dict[BucketKey, BucketDelta] = {}
    get = deltas.get
    minute = MINUTE_MS
    # Inlined rather than calling bucket_key: this loop runs once per ingested event.
    for e in events:
        ts = e.ts_ms
        usd = e.usd
        key = (ts // minute * minute, e.venue, e.coin, e.side)
        delta = get(key)
        if delta is None:
            deltas[key] = BucketDelta(usd, 1, usd, ts, e.symbol)
        else:
            delta.usd += usd
            delta.count += 1
            if usd > delta.max_usd:
                delta.max_usd = usd
                delta.max_ts = ts
                delta.max_symbol = e.symbol
    return deltas
