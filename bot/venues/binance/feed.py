"""Binance USDⓈ-M futures: the all-market ``!forceOrder@arr`` liquidation stream.

Binance prints the side of the liquidation ORDER: ``SELL`` closes a long, ``BUY`` closes a
short. Notional is filled quantity × average price (``z × ap``); ``q``/``p`` are the
order's original quantity and limit price and ``l`` only the last fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from bot.domain import LONG, SHORT, ParseResult
from bot.venues.base import ConnectionPlan, Heartbeat, RestResult
from bot.venues.symbols import (
    CoinCache,
    brief,
    linear_event,
    loads,
)

VENUE: Final = "binance"
STREAM_PATH: Final = "/stream?streams=!forceOrder@arr"
_INF: Final = float("inf")

# No text keepalive (aiohttp answers Binance's ping frames). The routed/unrouted URL trap
# gives a socket that is open but never sends data, so only data resets the watchdog; the
# all-market stream carries ~0.5 msg/s even in quiet markets, so 5 silent minutes means a
# dead feed. Binance cuts every connection at 24 h: reconnect on our terms before that.
HEARTBEAT: Final = Heartbeat(
    text=None, interval_s=60.0, silence_limit_s=300.0, data_only=True, max_age_s=23.5 * 3600
)


class BinanceSource:
    """Parser and connection plan for Binance's combined ``!forceOrder@arr`` stream."""

    name = VENUE

    def __init__(self, ws_url: str, heartbeat: Heartbeat | None = None) -> None:
        self.heartbeat = heartbeat or HEARTBEAT
        self._url = ws_url.rstrip("/") + STREAM_PATH
        self._coins = CoinCache()

    def plans(self) -> list[ConnectionPlan]:
        """One combined-stream connection; the stream is in the URL, nothing to send."""
        return [ConnectionPlan(key=VENUE, url=self._url)]

    def rest_paths(self) -> list[str]:
        """Binance needs no reference data."""
        return []

    def on_rest(self, path: str, body: str) -> RestResult:
        """Nothing is polled; any body fed here is counted as a reject."""
        return RestResult(rejects=1, sample=f"binance polls no REST path ({path[:80]})")

    def ready(self) -> bool:
        """Always ready: the stream needs no symbol list."""
        return True

    def coins(self) -> frozenset[str]:
        """None: no reference data is loaded for Binance (coins come from the index)."""
        return frozenset()

    def outgoing(self, key: str) -> list[str]:
        """Nothing beyond the plan's subscribe."""
        return []

    def dropped_topics(self) -> frozenset[str]:
        """None: the one subscription covers every symbol."""
        return frozenset()

    def parse(self, text: str) -> ParseResult:
        """Parse one message: combined wrapper or raw payload, object or list; never raises."""
        result = ParseResult()
        try:
            msg = loads(text)
        except (ValueError, RecursionError):
            result.reject("invalid json")
            return result
        # type() rather than isinstance(): decoded JSON has exact types, and it is cheaper.
        if type(msg) is dict:
            if "id" in msg and ("result" in msg or "error" in msg):
                result.control = True
                error = msg.get("error")
                if error is not None:
                    result.notice = f"binance error reply: {brief(error, 200)}"
                return result
            if "stream" in msg and "data" in msg:
                msg = msg["data"]
        if type(msg) is list:
            if not msg:
                result.reject("empty event list")
            self._events(msg, result)
        else:
            self._events((msg,), result)
        return result

    def _events(self, items: Sequence[Any], result: ParseResult) -> None:
        # One loop with the readers inlined for the wire's usual types (the hot path of
        # ingest); any other type goes through the strict readers in symbols.py.
        append = result.events.append
        coins = self._coins
        for item in items:
            if type(item) is not dict:
                result.reject("event is not an object")
                continue
            order = item.get("o")
            if item.get("e") != "forceOrder" or type(order) is not dict:
                result.reject(f"not a forceOrder event: {brief(item)}")
                continue
            s = order.get("S")
            if s == "SELL":
                side = LONG
            elif s == "BUY":
                side = SHORT
            else:
                result.reject(f"bad side {brief(s)}")
                continue
            event = linear_event(
                VENUE, order.get("s"), side, order.get("z"), order.get("ap"), order.get("T"), coins
            )
            if event is None:
                result.reject(f"bad forceOrder fields: {brief(order)}")
            else:
                append(event)
