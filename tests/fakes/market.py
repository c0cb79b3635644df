"""Fake funding / open-interest REST APIs of Binance, Bybit and OKX on 127.0.0.1.

``FakeMarketRest`` is a real aiohttp server answering whatever body a test put at a path
(``bodies``; a callable gets the request's query). ``status``/``raw`` per path make it
answer an HTTP error or a literal (invalid) text; ``delay_s`` makes requests time out.
Every request's path and query is kept in ``requests``.

The ``*_body`` builders produce each venue's documented response shape.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

Body = Any | Callable[[Mapping[str, str]], Any]


class FakeMarketRest:
    """One venue's REST API: JSON ``bodies`` per path, with faults on demand."""

    def __init__(self, bodies: dict[str, Body] | None = None) -> None:
        self.bodies: dict[str, Body] = dict(bodies or {})
        self.status: dict[str, int] = {}  # path -> HTTP status to answer instead
        self.raw: dict[str, str] = {}  # path -> literal body text (e.g. invalid JSON)
        self.headers: dict[str, dict[str, str]] = {}  # path -> extra response headers
        self.delay_s: dict[str, float] = {}  # path -> answer this late
        self.requests: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._app = app

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        runner = web.AppRunner(self._app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Shut the server down."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def count(self, path: str) -> int:
        """How many requests had this path (query ignored)."""
        return sum(1 for r in self.requests if r.split("?", 1)[0] == path)

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        path = request.path
        if self.delay_s.get(path):
            await asyncio.sleep(self.delay_s[path])
        headers = self.headers.get(path, {})
        if path in self.status:
            return web.Response(status=self.status[path], text="error", headers=headers)
        if path in self.raw:
            text = self.raw[path]
        elif path in self.bodies:
            body = self.bodies[path]
            text = json.dumps(body(request.query) if callable(body) else body)
        else:
            return web.Response(status=404, text="not found")
        return web.Response(text=text, content_type="application/json", headers=headers)


# -- Binance ---------------------------------------------------------------------------


def binance_premium(
    symbol: str, mark: str, rate: str, next_ms: int, ts_ms: int = 1_700_000_000_000
) -> dict[str, Any]:
    """One ``/fapi/v1/premiumIndex`` item."""
    return {
        "symbol": symbol, "markPrice": mark, "indexPrice": mark, "estimatedSettlePrice": mark,
        "lastFundingRate": rate, "interestRate": "0.00010000", "nextFundingTime": next_ms,
        "time": ts_ms,
    }  # fmt: skip


def binance_funding_info(symbol: str, hours: int) -> dict[str, Any]:
    """One ``/fapi/v1/fundingInfo`` item (only adjusted symbols are listed)."""
    return {
        "symbol": symbol, "adjustedFundingRateCap": "0.02000000",
        "adjustedFundingRateFloor": "-0.02000000", "fundingIntervalHours": hours,
        "disclaimer": False,
    }  # fmt: skip


def binance_open_interest(
    table: Mapping[str, str], ts_ms: int = 1_700_000_000_000
) -> Callable[[Mapping[str, str]], Any]:
    """A ``/fapi/v1/openInterest`` body builder answering from ``table`` (symbol -> OI)."""

    def body(query: Mapping[str, str]) -> Any:
        symbol = query.get("symbol", "")
        if symbol not in table:
            return {"code": -1121, "msg": "Invalid symbol."}
        return {"openInterest": table[symbol], "symbol": symbol, "time": ts_ms}

    return body


class BinanceSchedule:
    """Funding schedules the way Binance runs them, on a test clock: ``premium_index`` and
    ``funding_info`` are body builders for ``FakeMarketRest``.

    Each symbol settles at UTC multiples of its interval. A settlement whose rate is at the
    symbol's cap or floor moves it to 1 h from then on (Binance's rule since 2025-05); a
    test may also change an interval at the next settlement (``change_at_next``).
    ``fundingInfo`` lists a symbol only once it is adjusted (``listed``) and, after an
    automatic switch, only ``list_lag_ms`` later (``None``: not within the test).
    """

    HOUR_MS = 3_600_000

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.symbols: dict[str, dict[str, Any]] = {}

    def add(
        self,
        symbol: str,
        mark: str,
        rate: str,
        interval_h: int = 8,
        cap: str = "0.02000000",
        listed: bool = False,
        list_lag_ms: int | None = 0,
    ) -> None:
        """A perpetual whose next settlement is the first multiple of its interval ahead."""
        step = interval_h * self.HOUR_MS
        self.symbols[symbol] = {
            "mark": mark, "rate": rate, "interval_h": interval_h, "cap": cap,
            "next_ms": (self.clock() // step + 1) * step, "listed_from": 0 if listed else None,
            "list_lag_ms": list_lag_ms, "change": None, "settlements": 0,
        }  # fmt: skip

    def change_at_next(self, symbol: str, interval_h: int) -> None:
        """From the symbol's next settlement on, settle every ``interval_h`` hours."""
        self.symbols[symbol]["change"] = interval_h

    def _advance(self) -> None:
        now = self.clock()
        for s in self.symbols.values():
            while now >= s["next_ms"]:
                settled_at = s["next_ms"]
                s["settlements"] += 1
                if abs(float(s["rate"])) >= float(s["cap"]) and s["interval_h"] != 1:
                    s["interval_h"] = 1
                    lag = s["list_lag_ms"]
                    if s["listed_from"] is None and lag is not None:
                        s["listed_from"] = settled_at + lag
                if s["change"] is not None:
                    s["interval_h"], s["change"] = s["change"], None
                s["next_ms"] = settled_at + s["interval_h"] * self.HOUR_MS

    def premium_index(self, query: Mapping[str, str]) -> Any:
        """The ``/fapi/v1/premiumIndex`` body (all symbols) at the clock's time."""
        self._advance()
        return [
            binance_premium(sym, s["mark"], s["rate"], s["next_ms"], self.clock())
            for sym, s in self.symbols.items()
        ]

    def funding_info(self, query: Mapping[str, str]) -> Any:
        """The ``/fapi/v1/fundingInfo`` body: the adjusted symbols listed by now."""
        self._advance()
        now = self.clock()
        return [
            {**binance_funding_info(sym, s["interval_h"]), "adjustedFundingRateCap": s["cap"],
             "adjustedFundingRateFloor": "-" + s["cap"]}
            for sym, s in self.symbols.items()
            if s["listed_from"] is not None and now >= s["listed_from"]
        ]  # fmt: skip


# -- Bybit -----------------------------------------------------------------------------


def bybit_ticker(
    symbol: str,
    mark: str,
    rate: str,
    next_ms: int,
    oi: str,
    oi_value: str,
    interval_hour: str | None = None,
) -> dict[str, Any]:
    """One ``/v5/market/tickers?category=linear`` item."""
    item = {
        "symbol": symbol, "lastPrice": mark, "indexPrice": mark, "markPrice": mark,
        "prevPrice24h": mark, "price24hPcnt": "0.01", "highPrice24h": mark,
        "lowPrice24h": mark, "prevPrice1h": mark, "openInterest": oi,
        "openInterestValue": oi_value, "turnover24h": "1000000", "volume24h": "1000",
        "fundingRate": rate, "nextFundingTime": str(next_ms), "predictedDeliveryPrice": "",
        "basisRate": "", "deliveryFeeRate": "", "deliveryTime": "0", "ask1Size": "1",
        "bid1Price": mark, "ask1Price": mark, "bid1Size": "1", "basis": "",
    }  # fmt: skip
    if interval_hour is not None:
        item["fundingIntervalHour"] = interval_hour
    return item


def bybit_body(items: list[Any], cursor: str = "") -> dict[str, Any]:
    """A Bybit v5 success envelope around ``items``."""
    return {
        "retCode": 0, "retMsg": "OK",
        "result": {"category": "linear", "list": items, "nextPageCursor": cursor},
        "retExtInfo": {}, "time": 1_700_000_000_000,
    }  # fmt: skip


def bybit_instrument(symbol: str, funding_minutes: int) -> dict[str, Any]:
    """One ``/v5/market/instruments-info`` item (``fundingInterval`` in minutes)."""
    return {
        "symbol": symbol, "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": symbol.removesuffix("USDT"), "quoteCoin": "USDT", "settleCoin": "USDT",
        "fundingInterval": funding_minutes, "upperFundingRate": "0.02",
        "lowerFundingRate": "-0.02",
    }  # fmt: skip


# -- OKX -------------------------------------------------------------------------------


def okx_body(items: list[Any]) -> dict[str, Any]:
    """An OKX v5 success envelope around ``items``."""
    return {"code": "0", "data": items, "msg": ""}


def okx_funding(
    inst_id: str, rate: str, funding_ms: int, next_ms: int, settled: str = ""
) -> dict[str, Any]:
    """One ``/api/v5/public/funding-rate?instId=ANY`` item (``rate`` is the prediction)."""
    return {
        "formulaType": "noRate", "fundingRate": rate, "fundingTime": str(funding_ms),
        "impactValue": "", "instId": inst_id, "instType": "SWAP", "interestRate": "",
        "maxFundingRate": "0.00375", "method": "current_period", "minFundingRate": "-0.00375",
        "nextFundingRate": "", "nextFundingTime": str(next_ms), "premium": "0.0001",
        "settFundingRate": settled, "settState": "settled", "ts": "1743588686291",
    }  # fmt: skip


def okx_open_interest(inst_id: str, oi: str, oi_ccy: str, oi_usd: str) -> dict[str, Any]:
    """One ``/api/v5/public/open-interest?instType=SWAP`` item."""
    return {
        "instId": inst_id, "instType": "SWAP", "oi": oi, "oiCcy": oi_ccy, "oiUsd": oi_usd,
        "ts": "1709535150000",
    }  # fmt: skip


def okx_mark(inst_id: str, mark: str) -> dict[str, Any]:
    """One ``/api/v5/public/mark-price?instType=SWAP`` item."""
    return {"instId": inst_id, "instType": "SWAP", "markPx": mark, "ts": "1709535150000"}
