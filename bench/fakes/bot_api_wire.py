"""Faults below the Bot API's JSON: what proxies and networks do to a request.

Telegram's front ends answer an overloaded or restarting backend with an nginx HTML page
(``502 Bad Gateway`` as ``text/html``, not the ``{"ok": false}`` JSON), connections get
reset mid-request, and a message can be accepted while its answer arrives after the
client stopped waiting. :class:`Chaos` mixes these with JSON 5xx and 429 answers at a
seeded random rate, so a soak can count exactly what it injected.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

WireKind = Literal["reset", "html", "late"]

# What nginx (Telegram's front end) sends for an unreachable upstream.
NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Time-out"}  # fmt: skip


def nginx_page(status: int) -> str:
    """The HTML body nginx serves with ``status``."""
    return NGINX_PAGE.format(status=status, reason=REASONS.get(status, "Error"))


@dataclass(frozen=True, slots=True)
class WireFault:
    """``reset``: the connection is cut before any answer; ``html``: an nginx error page
    with ``status``; ``late``: the call is carried out (a message is delivered) and its
    answer is sent only after ``delay_s``."""

    kind: WireKind
    status: int = 502
    delay_s: float = 0.0


# Every fault Chaos can pick for a send, each equally likely.
CHAOS_KINDS = ("json500", "html502", "reset", "flood", "late")


@dataclass
class Chaos:
    """Faults ``rate`` of the sends at random (seeded): JSON 500, HTML 502, connection
    reset, 429 with ``retry_after``, or accepted-but-answered-after ``late_s``; with
    ``slow_s``, also accepted-and-answered-after ``slow_s`` (meant to be slow but within
    the client's timeout). ``injected`` counts what was picked, by kind."""

    rate: float
    rng: random.Random
    late_s: float
    retry_after: int = 1
    slow_s: float = 0.0
    kinds: tuple[str, ...] = CHAOS_KINDS
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.slow_s > 0 and "slow" not in self.kinds:
            self.kinds = (*self.kinds, "slow")

    def pick(self) -> str | None:
        """The fault for the next send, or None (answered normally)."""
        if self.rng.random() >= self.rate:
            return None
        kind = self.rng.choice(self.kinds)
        self.injected[kind] += 1
        return kind
