"""Fake Binance, Bybit and OKX servers on 127.0.0.1, speaking each venue's wire format.

Each fake is a real aiohttp server (websocket + REST) that a test drives:
``push_*`` sends frames now (only to sockets subscribed to them, like the venue),
``drop()`` cuts every connection mid-stream, ``silence`` makes open sockets go quiet
(``"data"``: answer control only; ``"all"``: answer nothing), ``refusing`` turns the
websocket handshake away with HTTP 503, and ``close_port()``/``start()`` make the port
refuse TCP connections for a while. What clients sent is kept in ``received``.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

Silence = Literal["none", "data", "all"]


@dataclass(eq=False)
class FakeClient:
    """One websocket a fake accepted: its request path and what it subscribed to."""

    ws: web.WebSocketResponse
    request: web.Request
    topics: set[str] = field(default_factory=set)


class FakeVenue:
    """Shared server mechanics; subclasses add routes, control replies and pushes."""

    def __init__(self, ws_heartbeat_s: float | None = None) -> None:
        self.ws_heartbeat_s = ws_heartbeat_s
        self.clients: list[FakeClient] = []
        self.received: list[str] = []
        self.connects: list[str] = []  # path and query of every accepted websocket
        self.rest_requests: list[str] = []
        self.rest_failures = 0  # the next N REST requests answer HTTP 500
        self.rest_fail_if: Callable[[str], bool] | None = None  # by path and query: HTTP 500
        self.rest_delay_s = 0.0  # answer REST this late (request timeouts)
        self.silence: Silence = "none"
        self.refusing = False
        self.port = 0
        self.app = web.Application()
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, port: int | None = None) -> None:
        """Listen on 127.0.0.1 (``port`` None: the previous port, or a free one)."""
        # Handlers still running at shutdown (a slow REST answer) are not waited for.
        runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port if port is None else port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def close_port(self) -> None:
        """Stop listening and drop every socket: connects now fail with "Cannot connect"."""
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def stop(self) -> None:
        """Shut the server down for good."""
        await self.close_port()

    def http_url(self, path: str = "") -> str:
        """``http://127.0.0.1:<port><path>``."""
        return f"http://127.0.0.1:{self.port}{path}"

    def ws_url(self, path: str = "") -> str:
        """``ws://127.0.0.1:<port><path>``."""
        return f"ws://127.0.0.1:{self.port}{path}"

    # -- controls --------------------------------------------------------------------

    @property
    def handshakes(self) -> int:
        """How many websockets were accepted so far."""
        return len(self.connects)

    async def drop(
        self, abrupt: bool = True, where: Callable[[FakeClient], bool] | None = None
    ) -> int:
        """Cut open sockets (all, or those ``where`` selects); ``abrupt``: no close frame.

        Returns how many were cut.
        """
        clients = [c for c in self.clients if where is None or where(c)]
        for client in clients:
            if abrupt and client.request.transport is not None:
                client.request.transport.abort()
            else:
                await client.ws.close(code=1001, message=b"going away")
        return len(clients)

    async def wait_for(self, check: Callable[[], bool], within: float = 5.0) -> None:
        """Poll ``check`` until true; fail the test after ``within`` seconds."""
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {within} s")
            await asyncio.sleep(0.01)

    def subscribed(self, topic: str) -> list[FakeClient]:
        """Open sockets subscribed to ``topic``."""
        return [c for c in self.clients if topic in c.topics and _is_open(c)]

    async def send_to(self, clients: Iterable[FakeClient], text: str) -> int:
        """Send ``text`` to ``clients`` unless silenced; returns how many got it."""
        if self.silence != "none":
            return 0
        sent = 0
        for client in clients:
            if _is_open(client):
                await client.ws.send_str(text)
                sent += 1
        return sent

    # -- handlers --------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if self.refusing:
            return web.Response(status=503, text="service unavailable")
        self.connects.append(request.path_qs)
        ws = web.WebSocketResponse(heartbeat=self.ws_heartbeat_s)
        await ws.prepare(request)
        client = FakeClient(ws, request, set(self.initial_topics(request)))
        self.clients.append(client)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                self.received.append(msg.data)
                replies = self.on_text(client, msg.data)  # state (subscriptions) still kept
                if self.silence != "all":
                    for reply in replies:
                        await ws.send_str(reply)
        finally:
            self.clients.remove(client)
        return ws

    def _rest(self, build: Callable[[web.Request], Any]) -> Callable[..., Any]:
        async def handler(request: web.Request) -> web.Response:
            self.rest_requests.append(request.path_qs)
            if self.rest_delay_s:
                await asyncio.sleep(self.rest_delay_s)
            failing = self.rest_fail_if is not None and self.rest_fail_if(request.path_qs)
            if self.rest_failures > 0 or failing:
                self.rest_failures = max(0, self.rest_failures - 1)
                return web.Response(status=500, text="internal error")
            return web.json_response(build(request))

        return handler

    def initial_topics(self, request: web.Request) -> Iterable[str]:
        """Topics a socket has from its URL alone (Binance combined streams)."""
        return ()

    def on_text(self, client: FakeClient, text: str) -> list[str]:
        """Replies to one client message (acks, pongs)."""
        return []


def _is_open(client: FakeClient) -> bool:
    transport = client.request.transport
    return not client.ws.closed and transport is not None and not transport.is_closing()


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


class FakeBinance(FakeVenue):
    """``/market/stream?streams=...`` (combined wrapper); other paths connect but stay mute."""

    STREAM = "!forceOrder@arr"

    def __init__(self, ws_heartbeat_s: float | None = None) -> None:
        super().__init__(ws_heartbeat_s)
        self.app.router.add_get("/market/stream", self._ws)
        self.app.router.add_get("/stream", self._ws)  # the unrouted legacy URL
        self.app.router.add_get("/ws/{stream}", self._ws)

    def initial_topics(self, request: web.Request) -> Iterable[str]:
        """Streams from the query; only the routed ``/market`` path ever gets data."""
        if not request.path.startswith("/market/"):
            return ()
        return [s for s in request.query.get("streams", "").split("/") if s]

    def on_text(self, client: FakeClient, text: str) -> list[str]:
        """JSON control: SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS, like Binance."""
        try:
            msg = json.loads(text)
            method, ident = msg["method"], msg["id"]
        except (ValueError, KeyError, TypeError):
            return [_json({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})]
        if method == "LIST_SUBSCRIPTIONS":
            shown = sorted(client.topics) if client.topics else [self.STREAM]
            return [_json({"result": shown, "id": ident})]
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if client.request.path.startswith("/market/"):
                change = set(msg.get("params", []))
                client.topics = (
                    client.topics | change if method == "SUBSCRIBE" else client.topics - change
                )
            return [_json({"result": None, "id": ident})]
        return [_json({"error": {"code": 2, "msg": f"Unknown method {method}"}, "id": ident})]

    async def push_force_orders(self, orders: list[dict[str, Any]]) -> int:
        """One combined-stream message per order (``order`` is the ``o`` object)."""
        sent = 0
        for order in orders:
            payload = {"e": "forceOrder", "E": int(order["T"]) + 1010, "o": order}
            frame = _json({"stream": self.STREAM, "data": payload})
            sent += await self.send_to(self.subscribed(self.STREAM), frame)
        return sent


def force_order(symbol: str, side: str, z: str, ap: str, ts_ms: int) -> dict[str, Any]:
    """A filled USD-M liquidation order (``side`` is the ORDER side, BUY or SELL)."""
    return {
        "s": symbol, "S": side, "o": "LIMIT", "f": "IOC", "q": z, "p": ap, "ap": ap,
        "X": "FILLED", "l": z, "z": z, "T": ts_ms,
    }  # fmt: skip


class FakeBybit(FakeVenue):
    """``/v5/public/linear`` with subscribe acks and pongs; instruments-info in 2 pages."""

    def __init__(self, symbols: list[str], ws_heartbeat_s: float | None = None) -> None:
        super().__init__(ws_heartbeat_s)
        self.symbols = symbols
        self.unknown_topics: set[str] = set()  # listed by REST, yet refused by the websocket
        self.subscribe_requests = 0
        self.app.router.add_get("/v5/public/linear", self._ws)
        self.app.router.add_get("/v5/market/instruments-info", self._rest(self._instruments))

    def on_text(self, client: FakeClient, text: str) -> list[str]:
        """``subscribe`` → one reply per request with its ``req_id``; ``ping`` → pong.

        Like Bybit's public WS, one unknown topic rejects the WHOLE request: none of its
        topics is subscribed, and the reply names the first unknown one. Topics in
        ``unknown_topics`` (listed by REST or not) are unknown to the websocket.
        """
        try:
            msg = json.loads(text)
            op = msg["op"]
        except (ValueError, KeyError, TypeError):
            return [_json({"success": False, "ret_msg": "error:invalid op", "op": ""})]
        base = {"conn_id": f"fake-{id(client) % 10_000}", "req_id": msg.get("req_id", "")}
        if op == "ping":
            return [_json({"success": True, "ret_msg": "pong", **base, "op": "ping"})]
        if op == "subscribe":
            self.subscribe_requests += 1
            topics = [t for t in msg.get("args", []) if isinstance(t, str)]
            unknown = [t for t in topics if not self._known(t)]
            if unknown:
                ret = f"error:handler not found,topic:{unknown[0]}"
                return [_json({"success": False, "ret_msg": ret, **base, "op": "subscribe"})]
            client.topics.update(topics)
            return [_json({"success": True, "ret_msg": "", **base, "op": "subscribe"})]
        return [_json({"success": False, "ret_msg": f"error:unknown op {op}", **base, "op": op})]

    def _known(self, topic: str) -> bool:
        prefix, _, symbol = topic.partition(".")
        return (
            prefix == "allLiquidation"
            and symbol in self.symbols
            and topic not in self.unknown_topics
        )

    def _instruments(self, request: web.Request) -> dict[str, Any]:
        half = math.ceil(len(self.symbols) / 2)
        second = request.query.get("cursor") == "next=page2&x=1"
        rows = self.symbols[half:] if second else self.symbols[:half]
        items = [
            {"symbol": s, "contractType": "LinearPerpetual", "status": "Trading",
             "baseCoin": s.removesuffix("USDT"), "quoteCoin": "USDT", "settleCoin": "USDT",
             "fundingInterval": 480}
            for s in rows
        ]  # fmt: skip
        return {
            "retCode": 0,
            "retMsg": "OK",
            "result": {
                "category": "linear",
                "list": items,
                "nextPageCursor": "" if second else "next=page2&x=1",
            },
            "retExtInfo": {},
            "time": int(time.time() * 1000),
        }

    async def push_liquidations(self, symbol: str, items: list[dict[str, Any]]) -> int:
        """One ``allLiquidation.<symbol>`` batch to the sockets subscribed to it."""
        topic = f"allLiquidation.{symbol}"
        ts = max(int(i["T"]) for i in items) + 200
        frame = _json({"topic": topic, "type": "snapshot", "ts": ts, "data": items})
        return await self.send_to(self.subscribed(topic), frame)


def bybit_liquidation(symbol: str, side: str, v: str, p: str, ts_ms: int) -> dict[str, Any]:
    """One ``allLiquidation`` item (``side`` is the POSITION side, Buy = long)."""
    return {"T": ts_ms, "s": symbol, "S": side, "v": v, "p": p}


@dataclass(frozen=True)
class OkxInstrument:
    """What the fake lists for one SWAP: linear ctVal in coin, inverse in USD."""

    inst_id: str
    ct_type: str
    ct_val: str
    ct_mult: str = "1"


class FakeOkx(FakeVenue):
    """``/ws/v5/public`` answering ``ping`` with ``pong`` and subscribe acks; instruments."""

    CHANNEL = "liquidation-orders"

    def __init__(
        self, instruments: list[OkxInstrument], ws_heartbeat_s: float | None = None
    ) -> None:
        super().__init__(ws_heartbeat_s)
        self.instruments = instruments
        self.app.router.add_get("/ws/v5/public", self._ws)
        self.app.router.add_get("/api/v5/public/instruments", self._rest(self._instrument_list))

    def on_text(self, client: FakeClient, text: str) -> list[str]:
        """``ping`` → ``pong``; ``subscribe`` → ``{"event":"subscribe",...}``."""
        if text == "ping":
            return ["pong"]
        try:
            msg = json.loads(text)
            op, args = msg["op"], msg["args"]
        except (ValueError, KeyError, TypeError):
            return [_json({"event": "error", "code": "60012", "msg": f"Invalid request: {text}"})]
        if op != "subscribe":
            return [_json({"event": "error", "code": "60011", "msg": f"unsupported op {op}"})]
        replies = []
        for arg in args:
            client.topics.add(f"{arg.get('channel')}:{arg.get('instType')}")
            replies.append(_json({"event": "subscribe", "arg": arg, "connId": "a4d3ae55"}))
        return replies

    def _instrument_list(self, request: web.Request) -> dict[str, Any]:
        kind = request.query.get("instType")
        data = [
            {"instId": i.inst_id, "instType": "SWAP", "ctType": i.ct_type, "ctVal": i.ct_val,
             "ctMult": i.ct_mult, "ctValCcy": i.inst_id.split("-")[0] if i.ct_type == "linear"
             else "USD", "settleCcy": i.inst_id.split("-")[1], "state": "live"}
            for i in self.instruments
            if kind == "SWAP"
        ]  # fmt: skip
        return {"code": "0", "msg": "", "data": data}

    async def push_liquidations(self, inst_id: str, details: list[dict[str, Any]]) -> int:
        """One ``liquidation-orders`` SWAP push for ``inst_id`` with these details."""
        arg = {"channel": self.CHANNEL, "instType": "SWAP"}
        family = inst_id.removesuffix("-SWAP")
        item = {"details": details, "instFamily": family, "instId": inst_id,
                "instType": "SWAP", "uly": family}  # fmt: skip
        frame = _json({"arg": arg, "data": [item]})
        return await self.send_to(self.subscribed(f"{self.CHANNEL}:SWAP"), frame)


def okx_detail(pos_side: str, side: str, sz: str, bk_px: str, ts_ms: int) -> dict[str, Any]:
    """One ``liquidation-orders`` detail (``side`` is the ORDER side)."""
    return {"bkLoss": "0", "bkPx": bk_px, "ccy": "", "posSide": pos_side, "side": side,
            "sz": sz, "ts": str(ts_ms)}  # fmt: skip
