"""Binance USDⓈ-M futures: the all-market ``!forceOrder@arr`` liquidation stream.

Binance prints the side of the liquidation ORDER: ``SELL`` closes a long, ``BUY`` closes a
short. Notional is filled quantity × average price (``z × ap``); ``q``/``p`` are the
order's original quantity and limit price and ``l`` only the last fill.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from bot.events import LONG, SHORT, Liquidation, ParseResult
from bot.sources.base import ConnectionPlan, Heartbeat, RestResult
from bot.sources.symbols import (
    CoinCache,
    brief,
    epoch_ms,
    nonempty_str,
    positive,
)

VENUE: Final = "binance"
STREAM_PATH: Final = "/stream?streams=!forceOrder@arr"

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

    def parse(self, text: str) -> ParseResult:
        """Parse one message: combined wrapper or raw payload, object or list; never raises."""
        result = ParseResult()
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            result.reject("invalid json")
            return result
        if isinstance(msg, dict):
            if "id" in msg and ("result" in msg or "error" in msg):
                result.control = True
                error = msg.get("error")
                if error is not None:
                    result.notice = f"binance error reply: {brief(error, 200)}"
                return result
            if "stream" in msg and "data" in msg:
                msg = msg["data"]
        if isinstance(msg, list):
            if not msg:
                result.reject("empty event list")
            for item in msg:
                self._event(item, result)
        else:
            self._event(msg, result)
        return result

    def _event(self, item: Any, result: ParseResult) -> None:
        if not isinstance(item, dict):
            result.reject("event is not an object")
            return
        order = item.get("o")
        if item.get("e") != "forceOrder" or not isinstance(order, dict):
            result.reject(f"not a forceOrder event: {brief(item)}")
            return
        s = order.get("S")
        if s == "SELL":
            side = LONG
        elif s == "BUY":
            side = SHORT
        else:
            result.reject(f"bad side {brief(s)}")
            return
        symbol = nonempty_str(order.get("s"))
        qty = positive(order.get("z"))
        price = positive(order.get("ap"))
        ts = epoch_ms(order.get("T"))
        if symbol is None or qty is None or price is None or ts is None:
            result.reject(f"bad forceOrder fields: {brief(order)}")
            return
        usd = qty * price
        coin = self._coins.coin(symbol)
        if not 0.0 < usd < math.inf or not coin:  # overflow, or underflow to zero
            result.reject(f"bad notional or symbol: {brief(order)}")
            return
        result.events.append(Liquidation(VENUE, symbol, coin, side, price, qty, usd, ts))
