"""Feed and poll errors in a trader's words for /status; the detail stays in the log.

The feed (``bot.ingest.feed``) and the market poller (``bot.market.poller``) keep one-line
technical reasons (``connect failed (Cannot connect to host 127.0.0.1:52403 ...)``) and log
them. /status says what happened instead: ``cannot connect``, ``handshake refused (HTTP
404)``, ``HTTP 404 from mark prices``, ``timed out``. Pure text to text; callers escape.
"""

from __future__ import annotations

import re
from typing import Final

_HTTP: Final = re.compile(r"HTTP (\d{3})")
_TIMEOUT: Final = re.compile(r"time(d)? ?out|TimeoutError|not done in", re.IGNORECASE)
_CANNOT_CONNECT: Final = re.compile(
    r"cannot connect|connection refused|name or service not known|"
    r"temporary failure in name resolution|no route|network is unreachable|"
    r"nodename nor servname|ssl|certificate",
    re.IGNORECASE,
)
_LOST: Final = re.compile(
    r"server disconnected|connection reset|broken pipe|payload|eof", re.IGNORECASE
)

# What each polled REST path holds, by a distinctive piece of it (venue paths, see
# bot/market/{binance,bybit,okx}.py); the first match wins.
_POLLED: Final = (
    ("mark prices", "mark prices"),
    ("mark-price", "mark prices"),
    ("fundingInfo", "funding intervals"),
    ("premiumIndex", "funding"),
    ("funding-rate", "funding"),
    ("openInterest", "open interest"),
    ("open-interest", "open interest"),
    ("open interest", "open interest"),
    ("instruments", "instruments"),
    ("tickers", "tickers"),
)


def _network_words(detail: str) -> str | None:
    if _TIMEOUT.search(detail):
        return "timed out"
    if _CANNOT_CONNECT.search(detail):
        return "cannot connect"
    if _LOST.search(detail):
        return "connection lost"
    return None


def feed_error_words(reason: str) -> str:
    """A feed's last ``SourceHealth.last_error`` (``bot.ingest.feed`` reasons) in words."""
    if reason.startswith("connect failed"):
        if "handshake refused" in reason:
            status = _HTTP.search(reason)
            return f"handshake refused (HTTP {status.group(1)})" if status else "handshake refused"
        return "timed out" if _TIMEOUT.search(reason) else "cannot connect"
    if reason.startswith("connection lost"):
        return "connection lost (timed out)" if _TIMEOUT.search(reason) else "connection lost"
    if reason.startswith("socket open but silent"):
        return "no data: the venue went silent"
    if reason.startswith("closed by server"):
        return "closed by the venue"
    if reason.startswith("socket error"):
        return "connection error"
    if reason.startswith("planned reconnect"):
        return "planned reconnect"
    return _network_words(reason) or "connection problem"


def _what(part: str) -> str | None:
    for needle, name in _POLLED:
        if needle in part:
            return name
    return None


def _poll_part_words(part: str) -> str:
    if part.startswith("rate limited"):
        return "rate limited, paused"
    if part.startswith("internal error"):
        return "internal error (see the log)"
    what = _what(part)
    status = _HTTP.search(part)
    if status:
        return f"HTTP {status.group(1)} from {what}" if what else f"HTTP {status.group(1)}"
    network = _network_words(part)
    if network:
        return f"{network} ({what})" if what else network
    if "no usable rows" in part:
        return f"no data from {what}" if what else "no data"
    return f"unreadable answer from {what}" if what else "unreadable answer"


def poll_error_words(errors: str) -> str:
    """A market poll's ``last_error`` (``"; "``-joined reasons) in words, each said once."""
    said: list[str] = []
    for part in errors.split("; "):
        words = _poll_part_words(part.strip())
        if words not in said:
            said.append(words)
    return ", ".join(said)
