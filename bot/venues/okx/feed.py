"""OKX v5: the ``liquidation-orders`` channel for all perpetual swaps.

Sizes are in contracts, so USD needs each instrument's contract value from REST
``/api/v5/public/instruments``: linear ``sz × ctVal × ctMult × bkPx`` (ctVal in the base
coin), inverse ``sz × ctVal × ctMult`` (ctVal already in USD). The side is the position's
``posSide`` in hedge mode; in net mode the ORDER side, so ``sell`` closes a long.
"""

from __future__ import annotations

import json
from typing import Any, Final

from bot.domain import LONG, SHORT, Liquidation, ParseResult
from bot.venues.base import ConnectionPlan, Heartbeat, RestResult
from bot.venues.symbols import (
    MAX_PRICE,
    CoinCache,
    bounded,
    brief,
    epoch_ms,
    finite_product,
    loads,
    nonempty_str,
    positive,
    wire_symbol,
)

VENUE: Final = "okx"
INSTRUMENTS_PATH: Final = "/api/v5/public/instruments?instType=SWAP"
CHANNEL: Final = "liquidation-orders"
SUBSCRIBE: Final = json.dumps(
    {"op": "subscribe", "args": [{"channel": CHANNEL, "instType": "SWAP"}]},
    separators=(",", ":"),
)

# OKX drops a connection after 30 s without traffic; the plain-text ping every 20 s keeps
# it open and its "pong" proves liveness, so a minute of silence means a dead socket.
HEARTBEAT: Final = Heartbeat(text="ping", interval_s=20.0, silence_limit_s=60.0)

_CONTROL_EVENTS: Final = ("subscribe", "unsubscribe", "channel-conn-count")
_NOTICE_EVENTS: Final = ("error", "notice", "channel-conn-count-error")
_INF: Final = float("inf")


class OkxSource:
    """Contract values (from REST) and the ``liquidation-orders`` SWAP parser."""

    name = VENUE

    def __init__(self, ws_url: str, heartbeat: Heartbeat | None = None) -> None:
        self.heartbeat = heartbeat or HEARTBEAT
        self._url = ws_url
        self._coins = CoinCache()
        # instId -> (is_linear, ctVal × ctMult)
        self._contracts: dict[str, tuple[bool, float]] = {}

    def ready(self) -> bool:
        """True once contract values are loaded (USD cannot be computed before)."""
        return bool(self._contracts)

    def coins(self) -> frozenset[str]:
        """Base coins of the swaps with known contract values."""
        return frozenset(self._coins.coin(inst_id) for inst_id in self._contracts)

    def contract(self, inst_id: str) -> tuple[bool, float] | None:
        """``(is_linear, ctVal × ctMult)`` for ``inst_id``, or None if unknown."""
        return self._contracts.get(inst_id)

    def plans(self) -> list[ConnectionPlan]:
        """One connection subscribed to every SWAP liquidation."""
        return [ConnectionPlan(key=VENUE, url=self._url, subscribe=(SUBSCRIBE,))]

    def rest_paths(self) -> list[str]:
        """The SWAP instrument list (one page holds them all)."""
        return [INSTRUMENTS_PATH]

    def on_rest(self, path: str, body: str) -> RestResult:
        """Merge contract values from an ``instruments`` body; bad items are rejects.

        Merged rather than replaced: an instrument missing from one answer keeps its last
        known value, so late liquidations on it still convert.
        """
        result = RestResult()
        try:
            msg = loads(body)
        except (ValueError, RecursionError):
            return _rest_reject(result, "instruments body is not JSON")
        if not isinstance(msg, dict) or msg.get("code") != "0":
            code, text = (msg.get("code"), msg.get("msg")) if isinstance(msg, dict) else ("", "")
            return _rest_reject(result, f"instruments error {brief(code)}: {brief(text)}")
        data = msg.get("data")
        if not isinstance(data, list):
            return _rest_reject(result, "instruments body has no data list")
        for item in data:
            parsed = _contract(item)
            if isinstance(parsed, str):
                _rest_reject(result, parsed)
            else:
                self._contracts[parsed[0]] = parsed[1]
                result.accepted += 1
        return result

    def outgoing(self, key: str) -> list[str]:
        """Nothing beyond the plan's subscribe."""
        return []

    def dropped_topics(self) -> frozenset[str]:
        """None: the one subscription covers every symbol."""
        return frozenset()

    def parse(self, text: str) -> ParseResult:
        """Parse one message: every detail of every data item, plus acks and pongs."""
        result = ParseResult()
        if text == "pong":
            result.control = True
            return result
        try:
            msg = loads(text)
        except (ValueError, RecursionError):
            result.reject("invalid json")
            return result
        # type() rather than isinstance(): decoded JSON has exact types, and it is cheaper.
        if type(msg) is not dict:
            result.reject(f"message is not an object: {brief(msg)}")
            return result
        event = msg.get("event")
        if event is not None:
            if event in _CONTROL_EVENTS:
                result.control = True
            elif event in _NOTICE_EVENTS:
                result.control = True
                result.notice = (
                    f"okx {brief(event)} {brief(msg.get('code'))}: {brief(msg.get('msg'), 240)}"
                )
            else:
                result.reject(f"unknown event {brief(event)}")
            return result
        arg = msg.get("arg")
        data = msg.get("data")
        if type(arg) is not dict or arg.get("channel") != CHANNEL:
            result.reject(f"unexpected channel {brief(arg)}")
        elif type(data) is not list or not data:
            result.reject(f"liquidation data is not a non-empty list: {brief(data)}")
        else:
            self._items(data, result)
        return result

    def _items(self, items: list[Any], result: ParseResult) -> None:
        # One loop with the readers inlined for the wire's usual types (the hot path of
        # ingest); any other type goes through the strict readers in symbols.py.
        append = result.events.append
        contracts = self._contracts
        cached_coin = self._coins.get
        for item in items:
            details = item.get("details") if type(item) is dict else None
            if type(details) is not list or not details:
                result.reject(f"item without details: {brief(item)}")
                continue
            inst_id: Any = item.get("instId")  # any JSON value until checked here
            coin = cached_coin(inst_id) if type(inst_id) is str else None
            if coin is None and wire_symbol(inst_id) is not None:
                coin = self._coins.coin(inst_id)
            contract = contracts.get(inst_id) if coin is not None else None
            if contract is None:
                # One reject per detail: each would have been an event.
                for _ in details:
                    result.reject(f"unknown instrument {brief(inst_id)}")
                continue
            linear, size = contract
            for d in details:
                if type(d) is not dict:
                    result.reject(f"detail is not an object: {brief(d)}")
                    continue
                pos = d.get("posSide")
                if pos == "long":
                    side = LONG
                elif pos == "short":
                    side = SHORT
                elif pos == "net" or pos == "" or pos is None:
                    order_side = d.get("side")
                    if order_side == "sell":
                        side = LONG
                    elif order_side == "buy":
                        side = SHORT
                    else:
                        result.reject(f"bad side {brief(order_side)} for net position")
                        continue
                else:
                    result.reject(f"bad posSide {brief(pos)}")
                    continue
                raw_sz = d.get("sz")
                raw_px = d.get("bkPx")
                if type(raw_sz) is str and type(raw_px) is str:
                    try:
                        sz = float(raw_sz)
                        price = float(raw_px)
                    except ValueError:
                        sz = price = 0.0
                else:
                    sz = positive(raw_sz) or 0.0
                    price = positive(raw_px) or 0.0
                ts = epoch_ms(d.get("ts"))
                if ts is None or not coin or not (0.0 < sz < _INF and 0.0 < price <= MAX_PRICE):
                    result.reject(f"bad liquidation detail: {brief(d)}")
                    continue
                if linear:
                    qty = sz * size
                    usd = qty * price
                else:
                    usd = sz * size
                    qty = usd / price
                # Inverse USD is sz × ctVal × ctMult: bounded here like every other figure.
                if not bounded(qty, price, usd):
                    result.reject(f"bad notional: {brief(d)}")
                    continue
                append(Liquidation(VENUE, inst_id, coin, side, price, qty, usd, ts))


def _contract(item: Any) -> tuple[str, tuple[bool, float]] | str:
    """``(instId, (is_linear, ctVal × ctMult))`` of one instrument, or why it is unusable."""
    if not isinstance(item, dict):
        return f"instrument is not an object: {brief(item)}"
    inst_id = nonempty_str(item.get("instId"))
    ct_type = item.get("ctType")
    ct_val = positive(item.get("ctVal"))
    raw_mult = item.get("ctMult")
    # ctMult is "1" for every swap seen; absent or empty means no multiplier.
    mult = 1.0 if raw_mult is None or raw_mult == "" else positive(raw_mult)
    if inst_id is None or ct_val is None or mult is None or ct_type not in ("linear", "inverse"):
        return f"bad instrument {brief(item)}"
    size = finite_product(ct_val, mult)
    if size is None:
        return f"bad contract value {brief(item)}"
    return inst_id, (ct_type == "linear", size)


def _rest_reject(result: RestResult, reason: str) -> RestResult:
    result.rejects += 1
    result.sample = result.sample or reason[:300]
    return result
