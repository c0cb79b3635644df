"""The reading of a liquidation window: ONE function turns the facts into one line.

The facts are the window's side shares and, when the market figures were looked up, the
leading coin's price move, funding and open-interest change. Every claim in the line is
one of those facts or a label that follows from it, so the line cannot contradict them:

- the side label comes from the shares, and is only a "squeeze" when the price did not
  move the other way (longs forced out while the price rose are "Longs liquidated");
- a price move is stated with its sign, never explained by a move that was not measured;
- a funding label that points at the other side than the one liquidated says what it
  means (``negative: shorts were paying longs``) instead of a bare ``crowded shorts``;
- "missing" is said only of figures that are not there.

Pure and plain text: the renderers (bot/text/rich.py) escape or style it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from bot.text.market import format_change, rate_8h, utc_clock
from bot.totals.result import SideTotals, Totals
from bot.units import format_pct, format_usd

# A side holding more than this share of the window's USD dominated it.
SQUEEZE_SHARE: Final = 0.75
# Funding (8 h equivalent) at or beyond these marks a crowded side; the neutral baseline
# on the big venues is +0.01 %/8h, the interest-rate component.
CROWDED_LONGS: Final = 0.0003
CROWDED_SHORTS: Final = -0.0001
# Open interest moving at least this much over the window is named.
OI_MOVE: Final = 0.01
# A price move at least this large (either way) counts as a move against a squeeze label.
PRICE_MOVE: Final = 0.005
CONTEXT_DECIMALS: Final = 3
MISSING: Final = "funding/OI data missing or stale"
NO_HISTORY: Final = "no earlier poll in the window to compare"

Side = Literal["long", "short", "both", "none"]


@dataclass(frozen=True, slots=True)
class CoinFacts:
    """What the figures say about one coin over the window (None: not known).

    ``since_ms`` is the time of the earlier poll the changes are measured from when that
    poll lies inside the window (None: at the window's start). ``current`` is True when a
    fresh poll of now was there, ``earlier`` when an earlier poll to compare with was.
    """

    coin: str
    price_change: float | None
    funding_before: float | None
    funding_now: float | None
    oi_change: float | None
    oi_usd: float | None
    since_ms: int | None = None
    current: bool = True
    earlier: bool = True

    @property
    def missing(self) -> str | None:
        """``funding data``, ``OI data``, ``funding/OI data`` (missing or stale), or None."""
        funding = self.funding_before is None and self.funding_now is None
        oi = self.oi_change is None and self.oi_usd is None
        if funding and oi:
            return "funding/OI data"
        if funding:
            return "funding data"
        if oi:
            return "OI data"
        return None

    @property
    def uncompared(self) -> bool:
        """True when there are current figures but no earlier poll to measure changes."""
        return self.current and not self.earlier


@dataclass(frozen=True, slots=True)
class Reading:
    """The reading line: its mark (emoji), the side it found, and its plain text."""

    mark: str
    side: Side
    label: str
    text: str


def dominant_side(t: SideTotals | Totals) -> Side:
    """``long`` / ``short`` when that side holds more than ``SQUEEZE_SHARE`` of the USD,
    ``both`` otherwise, ``none`` for an empty window."""
    total = t.total_usd
    if total <= 0:
        return "none"
    if t.long_usd / total > SQUEEZE_SHARE:
        return "long"
    if t.short_usd / total > SQUEEZE_SHARE:
        return "short"
    return "both"


def crowding(funding: float) -> str | None:
    """``crowded longs`` / ``crowded shorts`` for funding at the marks, else None."""
    if funding >= CROWDED_LONGS:
        return "crowded longs"
    if funding <= CROWDED_SHORTS:
        return "crowded shorts"
    return None


def oi_reading(change: float) -> str | None:
    """``deleveraging`` when open interest fell by ``OI_MOVE`` or more, ``positions
    added`` when it rose as much, else None."""
    if change <= -OI_MOVE:
        return "deleveraging"
    if change >= OI_MOVE:
        return "positions added"
    return None


def rate(value: float) -> str:
    """A funding rate as the context writes it: ``+0.031%/8h``."""
    return rate_8h(value, CONTEXT_DECIMALS)


def span_text(window: str, since_ms: int | None, end_ms: int) -> str:
    """``in 1h`` for a change over the whole window, ``since 06:54 UTC`` from inside it."""
    return f"in {window}" if since_ms is None else f"since {utc_clock(since_ms, end_ms)}"


def funding_label(funding: float, side: Side, *, now: bool) -> str | None:
    """The crowding label when it agrees with the side liquidated (or both were), else
    what the sign means, in the tense of the figure (``now``: the current rate)."""
    label = crowding(funding)
    if label is None:
        return None
    if side in ("both", "none") or (side == "long") == (label == "crowded longs"):
        return label
    verb = "are" if now else "were"
    if funding < 0:
        return f"negative: shorts {verb} paying longs"
    return f"positive: longs {verb} paying shorts"


def _label(side: Side, price: float | None) -> tuple[str, str]:
    """(mark, label) from the dominating side and the price move (None: unknown)."""
    rose = price is not None and price >= PRICE_MOVE
    fell = price is not None and price <= -PRICE_MOVE
    if side == "long":
        return ("🔴", "Longs liquidated") if rose else ("📉", "Long squeeze")
    if side == "short":
        return ("🟢", "Shorts liquidated") if fell else ("📈", "Short squeeze")
    return "↔️", "Two-sided"


def _sides(t: Totals, side: Side, label: str, *, brief: bool) -> str:
    """The side phrase: ``Long squeeze: longs 84% of $343M`` (``brief``: the wording of
    an alert without market figures, ``Long squeeze: longs were 84% of it.``)."""
    total = t.total_usd
    longs, shorts = format_pct(t.long_usd / total), format_pct(t.short_usd / total)
    if brief:
        if side == "long":
            return f"{label}: longs were {longs} of it."
        if side == "short":
            return f"{label}: shorts were {shorts} of it."
        return f"{label}: longs {longs}, shorts {shorts}; both sides were flushed."
    usd = format_usd(total)
    if side == "long":
        return f"{label}: longs {longs} of {usd}"
    if side == "short":
        return f"{label}: shorts {shorts} of {usd}"
    return f"{label}: longs {longs}, shorts {shorts} of {usd}"


def read(t: Totals, lead: CoinFacts | None, *, market: bool = True) -> Reading:
    """THE reading of the window of ``t`` from its facts.

    ``lead`` is the leading coin's facts; ``market`` False means the market figures were
    not looked up at all (console mode, no poller), so nothing is said about them.
    """
    side = dominant_side(t)
    if side == "none":
        return Reading("↔️", side, "", "No liquidations in this window.")
    price = lead.price_change if lead is not None else None
    mark, label = _label(side, price)
    if not market:
        return Reading(mark, side, label, _sides(t, side, label, brief=True))
    parts = [_sides(t, side, label, brief=False)]
    if lead is None:
        return Reading(mark, side, label, f"{parts[0]}; {MISSING}")
    end = t.end_ms
    since = span_text(t.window, lead.since_ms, end)
    if lead.price_change is not None:
        parts.append(f"{lead.coin} {format_change(lead.price_change)} {since}")
    if lead.funding_before is not None:
        text = f"funding was {rate(lead.funding_before)}"
        if lead.since_ms is not None:
            text += f" at {utc_clock(lead.since_ms, end)}"
        tag = funding_label(lead.funding_before, side, now=False)
        text += f" ({tag})" if tag else ""
        if lead.funding_now is not None:
            text += f", now {rate(lead.funding_now)}"
        parts.append(text)
    elif lead.funding_now is not None:
        tag = funding_label(lead.funding_now, side, now=True)
        parts.append(f"funding now {rate(lead.funding_now)}" + (f" ({tag})" if tag else ""))
    if lead.oi_change is not None:
        text = f"open interest {format_change(lead.oi_change)}"
        if lead.since_ms is not None:
            text += f" {since}"
        tag = oi_reading(lead.oi_change)
        parts.append(text + (f" ({tag})" if tag else ""))
    elif lead.oi_usd is not None:
        parts.append(f"open interest {format_usd(lead.oi_usd)}")
    if lead.missing:
        parts.append(f"{lead.missing} missing or stale")
    if lead.uncompared:
        parts.append(NO_HISTORY)
    return Reading(mark, side, label, "; ".join(parts))
