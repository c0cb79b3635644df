"""Bybit v5 linear: one ``allLiquidation.<SYMBOL>`` topic per symbol.

Bybit prints the side of the liquidated POSITION (``Buy`` = a long was liquidated), the
opposite convention to Binance and OKX. Notional is size × bankruptcy price (``v × p``).
The topic has no wildcard, so the symbol list comes from ``instruments-info`` (REST).

Bybit rejects a whole subscribe request when one topic in it is unknown (seen live:
``{"success":false,"ret_msg":"error:handler not found,topic:allLiquidation.X",
"req_id":"...","op":"subscribe"}``), and then none of its topics is subscribed. Every
request carries a ``req_id``; a rejected batch is sent again topic by topic on the same
connection (``ParseResult.replies``), and only the topics refused on their own are
dropped. Dropped topics are tried again after each symbol-list refresh, until Bybit
takes them or they leave the list.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import quote

from bot.domain import LONG, SHORT, ParseResult
from bot.venues.base import ConnectionPlan, Heartbeat, RestResult
from bot.venues.symbols import (
    CoinCache,
    brief,
    linear_event,
    loads,
    nonempty_str,
)

VENUE: Final = "bybit"
INSTRUMENTS_PATH: Final = "/v5/market/instruments-info?category=linear&status=Trading&limit=1000"
TOPIC_PREFIX: Final = "allLiquidation."
TOPICS_PER_CONNECTION: Final = 200
ARGS_PER_SUBSCRIBE: Final = 50
# A refresh cycle longer than this is a cursor loop, not a real listing.
MAX_PAGES: Final = 50

# Bybit cuts a connection after 10 min without ping or data and recommends a ping every
# 20 s; a pong counts as traffic, so three missed pongs means the socket is dead.
HEARTBEAT: Final = Heartbeat(text='{"op":"ping"}', interval_s=20.0, silence_limit_s=60.0)

_CONTROL_OPS: Final = ("subscribe", "unsubscribe", "ping", "pong")
_INF: Final = float("inf")
# req_id of a one-topic request: "<connection key>:<topic>" (batches: "<key>.<n>").
_SINGLE: Final = ":"
# The docs show success replies only ({"success":true,"ret_msg":"","conn_id":...,
# "req_id":...,"op":"subscribe"}, the req_id echoed). Assumed, as the reported failure
# shows: a failure echoes the req_id too; failing that, its ret_msg names a topic after
# "topic:", which finds the batch. A one-topic failure saying "already subscribed" is a
# topic we hold, not an unknown one.
_NAMED_TOPIC: Final = "topic:"


class BybitSource:
    """Symbol list, stable topic-to-connection assignment and ``allLiquidation`` parser."""

    name = VENUE

    def __init__(self, ws_url: str, heartbeat: Heartbeat | None = None) -> None:
        self.heartbeat = heartbeat or HEARTBEAT
        self._url = ws_url
        self._coins = CoinCache()
        # Connection i holds the symbols in _conns[i] for as long as they trade, so a
        # refresh only changes the connections that gained or lost a symbol.
        self._conns: list[list[str]] = []
        self._plans: list[ConnectionPlan] = []
        self._pending: dict[str, None] | None = None  # symbols of a refresh in progress
        self._pages = 0
        self._batches: dict[str, tuple[str, ...]] = {}  # req_id -> topics of that request
        self._batch_of: dict[str, str] = {}  # topic -> req_id of the batch holding it
        self._dropped: set[str] = set()  # topics Bybit refused one by one
        self._retry: dict[str, list[str]] = {}  # connection key -> requests to send now

    def ready(self) -> bool:
        """True once a complete symbol list has been loaded."""
        return bool(self._plans)

    def symbols(self) -> list[str]:
        """Symbols currently subscribed, in connection order."""
        return [s for conn in self._conns for s in conn]

    def coins(self) -> frozenset[str]:
        """Base coins of the subscribed symbols."""
        return frozenset(self._coins.coin(s) for conn in self._conns for s in conn)

    def plans(self) -> list[ConnectionPlan]:
        """One connection per group of at most 200 topics (empty until ``ready``)."""
        return list(self._plans)

    def dropped_topics(self) -> frozenset[str]:
        """Topics Bybit refused even one by one (not collected until it takes them)."""
        return frozenset(self._dropped)

    def outgoing(self, key: str) -> list[str]:
        """Requests to send now on connection ``key``: dropped topics to try again after
        a symbol-list refresh (each returned once)."""
        return self._retry.pop(key, [])

    def rest_paths(self) -> list[str]:
        """The first page of the linear instrument list."""
        return [INSTRUMENTS_PATH]

    def on_rest(self, path: str, body: str) -> RestResult:
        """Feed one ``instruments-info`` page; the symbol set changes only after the last
        page of a refresh, so a refresh that fails half-way never drops symbols."""
        result = RestResult()
        base, cursor = _split_cursor(path)
        page = _instrument_page(body)
        if isinstance(page, str):
            self._pending = None
            return _rest_reject(result, page)
        items, next_cursor = page
        if cursor is None:
            self._pending, self._pages = {}, 0
        elif self._pending is None:
            return _rest_reject(result, "instruments page without the first page")
        pending = self._pending
        self._pages += 1
        for item in items:
            symbol = nonempty_str(item.get("symbol")) if isinstance(item, dict) else None
            if symbol is None:
                result.rejects += 1
                result.sample = result.sample or f"bad instrument {brief(item)}"
            elif item.get("status") == "Trading":
                pending[symbol] = None
                result.accepted += 1
        if next_cursor is not None:
            encoded = quote(next_cursor, safe="%")
            if encoded != cursor and self._pages < MAX_PAGES:
                result.next_path = f"{base}&cursor={encoded}"
                return result
        self._pending = None
        if not pending:
            return _rest_reject(result, "instrument list has no trading symbols")
        self._assign(pending)
        return result

    def _assign(self, symbols: dict[str, None]) -> None:
        conns = [[s for s in conn if s in symbols] for conn in self._conns]
        placed = {s for conn in conns for s in conn}
        added = sorted(s for s in symbols if s not in placed)
        needed = -(-len(symbols) // TOPICS_PER_CONNECTION)
        if sum(1 for conn in conns if conn) > needed + 2:
            # Years of delistings left many half-empty sockets: repack once.
            conns, added = [], sorted(symbols)
        for symbol in added:
            if not conns or len(conns[-1]) >= TOPICS_PER_CONNECTION:
                conns.append([])
            conns[-1].append(symbol)
        self._conns = conns
        self._batches, self._batch_of = {}, {}
        self._plans = [self._plan(f"{VENUE}-{i}", conn) for i, conn in enumerate(conns) if conn]
        # Dropped topics still listed are tried again; delisted ones are no loss.
        self._dropped &= self._batch_of.keys()
        self._retry = {}
        for topic in sorted(self._dropped):
            key = self._batch_of[topic].rpartition(".")[0]
            self._retry.setdefault(key, []).append(_single(key, topic))

    def _plan(self, key: str, symbols: list[str]) -> ConnectionPlan:
        topics = [TOPIC_PREFIX + s for s in symbols]
        messages = []
        for i in range(0, len(topics), ARGS_PER_SUBSCRIBE):
            req_id = f"{key}.{i // ARGS_PER_SUBSCRIBE}"
            batch = tuple(topics[i : i + ARGS_PER_SUBSCRIBE])
            self._batches[req_id] = batch
            self._batch_of.update(dict.fromkeys(batch, req_id))
            messages.append(_subscribe(req_id, batch))
        return ConnectionPlan(key=key, url=self._url, subscribe=tuple(messages))

    def parse(self, text: str) -> ParseResult:
        """Parse one message: ``allLiquidation`` data (an array), acks and pongs."""
        result = ParseResult()
        try:
            msg = loads(text)
        except (ValueError, RecursionError):
            result.reject("invalid json")
            return result
        # type() rather than isinstance(): decoded JSON has exact types, and it is cheaper.
        if type(msg) is not dict:
            result.reject(f"message is not an object: {brief(msg)}")
            return result
        topic = msg.get("topic")
        if topic is not None:
            data = msg.get("data")
            if not (type(topic) is str and topic.startswith(TOPIC_PREFIX)):
                result.reject(f"unexpected topic {brief(topic)}")
            elif type(data) is not list or not data:
                result.reject(f"allLiquidation data is not a non-empty list: {brief(data)}")
            else:
                self._events(data, result, topic[len(TOPIC_PREFIX) :])
            return result
        op = msg.get("op")
        if op in _CONTROL_OPS or (op is None and "success" in msg):
            result.control = True
            if op == "subscribe":
                self._subscribe_reply(msg, result)
            elif msg.get("success") is False:
                result.notice = f"bybit {brief(op)} failed: {brief(msg.get('ret_msg'), 240)}"
        else:
            result.reject(f"unknown message {brief(msg)}")
        return result

    def _subscribe_reply(self, msg: dict[str, Any], result: ParseResult) -> None:
        """Track a subscribe reply: a rejected batch is retried topic by topic, a topic
        refused on its own is dropped, one taken later is no longer dropped."""
        req_id = msg.get("req_id")
        req_id = req_id if type(req_id) is str else ""
        ret_msg = msg.get("ret_msg")
        text = ret_msg if type(ret_msg) is str else ""
        key, single, topic = req_id.partition(_SINGLE)
        if single and topic.startswith(TOPIC_PREFIX):
            if msg.get("success") is True or "already" in text.lower():
                self._dropped.discard(topic)
            elif msg.get("success") is False:
                self._dropped.add(topic)
                result.notice = f"bybit refused {topic}, not collected: {brief(text, 200)}"
            return
        if msg.get("success") is not False:
            return
        batch = self._batches.get(req_id)
        if batch is None:
            named = text.partition(_NAMED_TOPIC)[2].split(",", 1)[0].strip()
            req_id = self._batch_of.get(named, "")
            batch = self._batches.get(req_id)
        if batch is None:
            result.notice = f"bybit subscribe failed: {brief(text, 240)} (req_id {brief(req_id)})"
            return
        key = req_id.rpartition(".")[0]
        # Bybit documents no rate for public subscribe requests (only the 21,000-character
        # args limit per connection): the 50 one-topic requests are assumed fine at once.
        result.replies = tuple(_single(key, t) for t in batch)
        result.notice = (
            f"bybit rejected subscribe {req_id} ({len(batch)} topics: {brief(text, 200)});"
            " retrying them one by one"
        )

    def _events(self, items: list[Any], result: ParseResult, topic_symbol: str) -> None:
        # One loop with the readers inlined for the wire's usual types (the hot path of
        # ingest); any other type goes through the strict readers in symbols.py.
        append = result.events.append
        coins = self._coins
        for item in items:
            if type(item) is not dict:
                result.reject(f"liquidation is not an object: {brief(item)}")
                continue
            symbol = item.get("s")
            if symbol != topic_symbol:  # a topic carries its own symbol's prints only
                result.reject(f"symbol {brief(symbol)} on topic {brief(topic_symbol)}")
                continue
            s = item.get("S")
            if s == "Buy":
                side = LONG
            elif s == "Sell":
                side = SHORT
            else:
                result.reject(f"bad side {brief(s)}")
                continue
            event = linear_event(
                VENUE, symbol, side, item.get("v"), item.get("p"), item.get("T"), coins
            )
            if event is None:
                result.reject(f"bad allLiquidation fields: {brief(item)}")
            else:
                append(event)


def _subscribe(req_id: str, topics: tuple[str, ...]) -> str:
    return json.dumps(
        {"op": "subscribe", "args": list(topics), "req_id": req_id}, separators=(",", ":")
    )


def _single(key: str, topic: str) -> str:
    """A one-topic subscribe on connection ``key``; its req_id names the topic."""
    return _subscribe(f"{key}{_SINGLE}{topic}", (topic,))


def _split_cursor(path: str) -> tuple[str, str | None]:
    """``path`` without its ``cursor`` parameter, and that parameter's raw value."""
    head, sep, query = path.partition("?")
    if not sep:
        return path, None
    cursor = None
    kept = []
    for param in query.split("&"):
        if param.startswith("cursor="):
            cursor = param[len("cursor=") :]
        else:
            kept.append(param)
    return f"{head}?{'&'.join(kept)}", cursor


def _instrument_page(body: str) -> tuple[list[Any], str | None] | str:
    """The items and next cursor of one page, or the reason the page is unusable."""
    try:
        msg = loads(body)
    except (ValueError, RecursionError):
        return "instruments body is not JSON"
    if not isinstance(msg, dict):
        return "instruments body is not an object"
    if msg.get("retCode") != 0:
        return f"instruments error {brief(msg.get('retCode'))}: {brief(msg.get('retMsg'))}"
    res = msg.get("result")
    if not isinstance(res, dict) or not isinstance(res.get("list"), list):
        return "instruments result has no list"
    items: list[Any] = res["list"]
    cursor = res.get("nextPageCursor")
    return items, cursor if isinstance(cursor, str) and cursor else None


def _rest_reject(result: RestResult, reason: str) -> RestResult:
    result.rejects += 1
    result.sample = result.sample or reason[:300]
    return result
