"""A liquidation cascade as data, and the independent accounting of what it must cause.

Pure: no sockets, no processes. :func:`plan_cascade` lays out, from a seed, which venue
sends which liquidation when; :func:`expected_alerts` says, from the liquidations that were
actually stored and the chats' rules, which alerts the documented rules require; and
:func:`score_alerts` compares that with what the chats received. The kill -9 soak
(``bench.fakes.kill_soak``) drives the real process with these.

What "lost" means here (the soak's definition, stated once):

* A liquidation the fake venue put on the wire while liqwatch was dead was never
  collected (venues do not resend), so it is not owed anything. The alerts owed are
  computed from what the database holds after the last run, by our own USD arithmetic
  on the wire values, never from liqwatch's figures.
* The totals only grow during a cascade (every event lies inside every rule's window),
  so a rule of threshold ``T`` that saw a final total ``S >= T`` must have sent its first
  crossing and an alert at the final multiple ``multiple_reached(S, T)``. The doublings
  in between may legitimately be skipped: a jump from 1x to 5x is ONE alert at 4x (README).
* A chat got an alert twice when it received the same (rule, multiple) more than once.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# venue -> (symbol, coin, contract value in coin) for the cascade's instruments.
INSTRUMENTS: Mapping[str, tuple[tuple[str, str, float], ...]] = {
    "binance": (("BTCUSDT", "BTC", 1.0), ("ETHUSDT", "ETH", 1.0)),
    "bybit": (("BTCUSDT", "BTC", 1.0), ("ETHUSDT", "ETH", 1.0), ("SOLUSDT", "SOL", 1.0)),
    "okx": (("BTC-USDT-SWAP", "BTC", 0.01), ("ETH-USDT-SWAP", "ETH", 0.1)),
}
PRICES: Mapping[str, float] = {"BTC": 60_000.0, "ETH": 3_000.0, "SOL": 150.0}


@dataclass(frozen=True, slots=True)
class Step:
    """One liquidation to send ``at_s`` seconds into the cascade (``long``: a long was
    liquidated), sized in the venue's unit (``size``: coins, or contracts on OKX)."""

    at_s: float
    venue: str
    symbol: str
    coin: str
    long: bool
    size: str
    price: str
    usd: float


def plan_cascade(seed: int, duration_s: float, total_usd: float, steps: int) -> list[Step]:
    """``steps`` liquidations over ``duration_s`` whose running total grows geometrically
    to about ``total_usd`` (so fires and escalations spread over the whole cascade); a
    long squeeze, the alert traders need most: one step in 40 is a short, at 1 % size."""
    rng = random.Random(seed)
    start_usd = total_usd / 2**7
    growth = (total_usd / start_usd) ** (1 / steps)
    plan: list[Step] = []
    running = 0.0
    for i in range(steps):
        target = start_usd * growth ** (i + 1)
        # A long squeeze: longs are over 99 % of it (the share shown as ">99%").
        short = i % 40 == 7
        usd = max(1_000.0, (target - running) * rng.uniform(0.7, 1.3) * (0.01 if short else 1))
        venue = rng.choice(sorted(INSTRUMENTS))
        symbol, coin, ct_val = rng.choice(INSTRUMENTS[venue])
        price = PRICES[coin] * rng.uniform(0.98, 1.02)
        size = usd / (price * ct_val)
        size_text = f"{size:.0f}" if venue == "okx" else f"{size:.3f}"
        price_text = f"{price:.2f}"
        plan.append(
            Step(
                at_s=duration_s * i / steps,
                venue=venue,
                symbol=symbol,
                coin=coin,
                long=not short,
                size=size_text,
                price=price_text,
                usd=wire_usd(venue, symbol, size_text, price_text),
            )
        )
        running += plan[-1].usd
    return plan


def wire_usd(venue: str, symbol: str, size: str, price: str) -> float:
    """USD by each venue's documented rule, from the wire strings (our own arithmetic):
    Binance ``z x ap``, Bybit ``v x p``, OKX linear ``sz x ctVal x bkPx``."""
    ct_val = next(c for s, _, c in INSTRUMENTS[venue] if s == symbol)
    return float(size) * ct_val * float(price)


@dataclass(frozen=True, slots=True)
class Sent:
    """One liquidation as the fake put it on the wire: when (wall clock, s), with which
    event time, and to how many open, subscribed sockets (0: nobody was listening)."""

    step: Step
    ts_ms: int
    sent_at: float
    receivers: int

    @property
    def key(self) -> tuple[str, str, int]:
        """What identifies it in the ``events`` table: venue, symbol, event time."""
        return (self.step.venue, self.step.symbol, self.ts_ms)


@dataclass(frozen=True, slots=True)
class Rule:
    """One alert rule of one chat, as the soak set it with commands (coin None: market)."""

    chat_id: int
    window: str
    threshold: float
    coin: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """One alert as a chat received it, read back from its text."""

    chat_id: int
    coin: str | None
    window: str
    multiple: int
    escalation: bool


def multiple_reached(total: float, threshold: float) -> int:
    """Largest power of two ``m`` with ``total >= threshold * m`` (0 below): README's rule."""
    if total < threshold:
        return 0
    return int(2 ** math.floor(math.log2(total / threshold) + 1e-12))


def near_boundary(total: float, threshold: float) -> bool:
    """True when float rounding could put ``total`` on either side of a multiple."""
    m = max(1, multiple_reached(total, threshold))
    return any(abs(total - threshold * k) <= 1e-9 * total for k in (m, 2 * m))


_TAG = re.compile(r"<[^>]+>")
_HEAD = re.compile(r"🚨 (?:(?P<coin>[^\s:]+): )?.*? liquidated in (?P<window>\w+)")
_TIMES = re.compile(r"(\d+)\s*×")


def parse_alert(chat_id: int, text: str) -> Received | None:
    """The rule and multiple of an alert text (None if ``text`` is not an alert)."""
    plain = _TAG.sub("", text)
    lines = plain.splitlines()
    head = _HEAD.search(lines[0]) if lines else None
    if head is None:
        return None
    second = lines[1] if len(lines) > 1 else ""
    times = _TIMES.search(second)
    return Received(
        chat_id=chat_id,
        coin=head.group("coin"),
        window=head.group("window"),
        multiple=int(times.group(1)) if times else 1,
        escalation="scalat" in second,
    )


@dataclass
class AlertScore:
    """Alerts owed vs received for one trial (or summed over trials)."""

    owed: int = 0
    lost: int = 0
    duplicates: int = 0
    unexpected: int = 0
    received: int = 0
    ambiguous: int = 0
    details: list[str] = field(default_factory=list)

    def add(self, other: AlertScore) -> None:
        """Sum ``other`` into this score."""
        self.owed += other.owed
        self.lost += other.lost
        self.duplicates += other.duplicates
        self.unexpected += other.unexpected
        self.received += other.received
        self.ambiguous += other.ambiguous
        self.details += other.details


def stored_totals(
    sent: Iterable[Sent], stored_keys: set[tuple[str, str, int]]
) -> dict[str | None, float]:
    """USD of the stored liquidations, market-wide (key None) and per coin."""
    totals: dict[str | None, float] = {None: 0.0}
    for s in sent:
        if s.key in stored_keys:
            totals[None] += s.step.usd
            totals[s.step.coin] = totals.get(s.step.coin, 0.0) + s.step.usd
    return totals


def score_alerts(
    rules: Sequence[Rule], totals: Mapping[str | None, float], received: Sequence[Received]
) -> AlertScore:
    """Compare the alerts ``rules`` owe on ``totals`` (rules of muted or stopped chats are
    simply not passed in) with what was ``received``."""
    score = AlertScore(received=len(received))
    by_rule: dict[tuple[int, str | None, str], list[Received]] = {}
    for r in received:
        by_rule.setdefault((r.chat_id, r.coin, r.window), []).append(r)
    for rule in rules:
        got = by_rule.pop((rule.chat_id, rule.coin, rule.window), [])
        total = totals.get(rule.coin, 0.0)
        final = multiple_reached(total, rule.threshold)
        for (multiple, _esc), n in Counter((g.multiple, g.escalation) for g in got).items():
            if n > 1:
                score.duplicates += n - 1
                score.details.append(f"twice: chat {rule.chat_id} {rule} {multiple}x ({n})")
        if near_boundary(total, rule.threshold):
            score.ambiguous += 1
            continue
        wrong = [g for g in got if g.multiple > final or g.multiple & (g.multiple - 1)]
        if wrong:
            score.unexpected += len(wrong)
            score.details.append(f"unexpected: {rule} total {total:,.0f}: {wrong}")
        if final == 0:
            continue
        owed = {("first", 1)} if final == 1 else {("first", 0), ("final", final)}
        score.owed += len(owed)
        firsts = [g for g in got if not g.escalation]
        if not firsts:
            score.lost += 1
            score.details.append(f"lost first: {rule} total {total:,.0f}")
        if final > 1 and not any(g.multiple == final for g in got):
            score.lost += 1
            score.details.append(f"lost {final}x: {rule} total {total:,.0f} got {got}")
    for key, got in by_rule.items():  # alerts no owed rule explains (muted, stopped...)
        score.unexpected += len(got)
        score.details.append(f"unexpected: {key}: {len(got)} alert(s)")
    return score


def lost_span_s(
    sent: Iterable[Sent], stored_keys: set[tuple[str, str, int]], kill_at: float
) -> tuple[int, float]:
    """Liquidations delivered to liqwatch before ``kill_at`` that the database lacks
    afterwards: how many, and how far before the kill the oldest of them was sent (s)."""
    missing = [s for s in sent if s.receivers and s.sent_at < kill_at and s.key not in stored_keys]
    if not missing:
        return 0, 0.0
    return len(missing), kill_at - min(s.sent_at for s in missing)
