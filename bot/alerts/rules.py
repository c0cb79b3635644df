"""Alert rules as a pure state machine, and an evaluator that shares work between chats.

One rule watches one window total (market-wide or one coin) against a threshold:

* it fires when the total reaches the threshold (``total >= threshold``);
* while the total stays up it fires again only as an escalation, each time the total
  reaches a further doubling (2x, 4x, 8x ...); a jump from 1x to 5x is ONE escalation
  at 4x, not several messages;
* it re-arms (level back to 0) only once the total falls below 80 % of the threshold,
  so a total hovering around the threshold does not spam;
* a rule set, or whose threshold is changed, while the total is already above it
  fires at the next evaluation (the state remembers the threshold it refers to);
* the state is persisted (:meth:`RuleState.to_row`), so a restart continues from the
  level already alerted and never repeats an alert.

A missing total (no data for the key) leaves the state untouched: no fire, no re-arm.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from bot.domain import MAX_MULTIPLE, RuleSpec, RuleState, TotalsKey

REARM_RATIO: Final = 0.8
FIRST: Final = "first"
ESCALATION: Final = "escalation"


@dataclass(frozen=True, slots=True)
class Fire:
    """An alert to send: the first crossing or an escalation to ``multiple`` x threshold."""

    kind: Literal["first", "escalation"]
    multiple: int
    total: float
    threshold: float

    @property
    def is_escalation(self) -> bool:
        """True for 2x/4x/... follow-ups of a rule that already fired."""
        return self.kind == ESCALATION


def _check_threshold(threshold: float) -> None:
    if not (threshold > 0 and math.isfinite(threshold)):
        raise ValueError(f"threshold must be a positive finite number, got {threshold!r}")


def multiple_reached(total: float, threshold: float) -> int:
    """The largest power of two ``m`` with ``total >= threshold * m`` (0 below threshold),
    at most ``MAX_MULTIPLE`` (so an infinite total ends the loop too)."""
    if not total >= threshold:
        return 0
    m = 1
    # Compare the same products the caller compares, so float rounding cannot disagree.
    while m < MAX_MULTIPLE and total >= threshold * (m * 2):
        m *= 2
    return m


def evaluate(
    state: RuleState, total: float, threshold: float, now_ms: int = 0
) -> tuple[RuleState, Fire | None]:
    """Advance one rule with the current window ``total``; return the new state and alert.

    Returns ``state`` itself (same object) when nothing changed.
    """
    _check_threshold(threshold)
    if state.threshold != threshold:
        state = RuleState(threshold=threshold)
    if math.isnan(total):
        return state, None
    if state.level and total < threshold * REARM_RATIO:
        return RuleState(threshold=threshold), None
    if total < threshold * max(1, 2 * state.level):
        return state, None
    multiple = multiple_reached(total, threshold)
    if multiple <= state.level:  # already at MAX_MULTIPLE: nothing higher to announce
        return state, None
    kind: Literal["first", "escalation"] = "escalation" if state.level else "first"
    new = RuleState(level=multiple, fired_at=now_ms, threshold=threshold)
    return new, Fire(kind=kind, multiple=multiple, total=total, threshold=threshold)


@dataclass(frozen=True, slots=True)
class Alert:
    """One fire of one distinct rule, fanned out to every entry that shares its state."""

    spec: RuleSpec
    fire: Fire
    entries: tuple[Hashable, ...]


class _Group:
    """Entries that watch the same total with the same threshold and are in the same state."""

    __slots__ = ("key", "members", "state")

    def __init__(self, key: TotalsKey, state: RuleState) -> None:
        self.key = key
        self.state = state
        self.members: set[Hashable] = set()


class Evaluator:
    """Evaluates many subscribed rules per tick, once per distinct (rule, state).

    Entries are any hashable id (e.g. ``(chat_id, "coin:BTC")``). Entries whose spec and
    state are equal share one group and one evaluation; each entry still has its own
    state, because groups split and merge as states diverge and converge (a chat that
    subscribes later starts in the armed group; a fired group re-arms back into it). A
    group that changes state moves as a whole (O(1)); merging two groups costs the size
    of the smaller one, so a tick stays cheap even when thousands of chats re-arm.
    """

    def __init__(self) -> None:
        # key -> state -> group; the state carries the threshold, so key + state
        # identify the rule and where it stands.
        self._groups: dict[TotalsKey, dict[RuleState, _Group]] = {}
        self._where: dict[Hashable, _Group] = {}
        # Changed since take_changed(): whole groups (cheap to mark) and single entries.
        self._dirty_groups: set[_Group] = set()
        self._dirty_entries: set[Hashable] = set()

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, entry: object) -> bool:
        return entry in self._where

    @property
    def group_count(self) -> int:
        """How many evaluations a tick performs at most."""
        return sum(len(groups) for groups in self._groups.values())

    def keys(self) -> set[TotalsKey]:
        """The totals a tick needs (pass exactly these to :meth:`tick`)."""
        return set(self._groups)

    def set(self, entry: Hashable, spec: RuleSpec, state: RuleState | None = None) -> None:
        """Add or replace ``entry``'s rule; ``state`` restores a persisted one.

        Without ``state``, re-setting the same rule keeps its state (no repeated alert);
        a new rule or a changed threshold starts armed, so a rule set while the total is
        already above it fires at the next tick.
        """
        _check_threshold(spec.threshold)
        old = self._where.get(entry)
        if state is None and old is not None and old.key == spec.key:
            state = old.state
        if state is None or state.threshold != spec.threshold:
            state = RuleState(threshold=spec.threshold)
        if old is not None and old.key == spec.key and old.state == state:
            return
        self.remove(entry)
        groups = self._groups.setdefault(spec.key, {})
        group = groups.get(state)
        if group is None:
            group = groups[state] = _Group(spec.key, state)
        group.members.add(entry)
        self._where[entry] = group
        self._dirty_entries.add(entry)

    def remove(self, entry: Hashable) -> None:
        """Forget ``entry`` (no error if unknown)."""
        group = self._where.pop(entry, None)
        self._dirty_entries.discard(entry)
        if group is None:
            return
        group.members.discard(entry)
        if not group.members:
            self._drop(group)

    def spec(self, entry: Hashable) -> RuleSpec:
        """The rule ``entry`` watches (``KeyError`` if unknown)."""
        group = self._where[entry]
        assert group.state.threshold is not None  # set() always stores the threshold
        return RuleSpec(window=group.key[1], threshold=group.state.threshold, coin=group.key[0])

    def state(self, entry: Hashable) -> RuleState:
        """``entry``'s current state (``KeyError`` if unknown)."""
        return self._where[entry].state

    def tick(self, totals: Mapping[TotalsKey, float], now_ms: int) -> list[Alert]:
        """Evaluate every group against ``totals``; return the alerts to send.

        Keys absent from ``totals`` are skipped (no data is not "below threshold").
        Groups that reach the same new state in one tick share one alert.
        """
        fired: dict[tuple[RuleSpec, Fire], list[Hashable]] = {}
        moves: list[tuple[_Group, RuleState]] = []
        for key, groups in self._groups.items():
            total = totals.get(key)
            if total is None:
                continue
            for state, group in groups.items():
                # Inline the no-change cases of evaluate(): nearly every group, every tick.
                thr = state.threshold
                assert thr is not None
                level = state.level
                if level == 0:
                    if total < thr:
                        continue
                elif thr * REARM_RATIO <= total < thr * 2 * level:
                    continue
                new, fire = evaluate(state, total, thr, now_ms)
                if new is state:
                    continue
                moves.append((group, new))
                if fire is not None:
                    spec = RuleSpec(window=key[1], threshold=thr, coin=key[0])
                    fired.setdefault((spec, fire), []).extend(group.members)
        # A moving group never lands on another moving group's old state: evaluate() is a
        # function of (state, total), so that group would have moved to the same place.
        for group, new in moves:
            self._move(group, new)
        return [
            Alert(spec=spec, fire=fire, entries=tuple(entries))
            for (spec, fire), entries in fired.items()
        ]

    def take_changed(self) -> dict[Hashable, RuleState]:
        """States changed since the last call (by :meth:`set` or :meth:`tick`), to persist.

        May also list entries whose state did not change (after groups merged); writing
        those again is harmless.
        """
        changed = {m: g.state for g in self._dirty_groups for m in g.members}
        changed.update((e, self._where[e].state) for e in self._dirty_entries)
        self._dirty_groups.clear()
        self._dirty_entries.clear()
        return changed

    def _move(self, group: _Group, new: RuleState) -> None:
        """Give ``group`` state ``new``, merging with a group already in that state."""
        groups = self._groups[group.key]
        del groups[group.state]
        group.state = new
        other = groups.get(new)
        if other is None:
            groups[new] = group
            self._dirty_groups.add(group)
            return
        if len(group.members) >= len(other.members):
            # Absorb the smaller, unchanged group; its members get reported as changed too.
            self._absorb(group, other)
            groups[new] = group
            self._dirty_groups.add(group)
        else:
            self._dirty_entries.update(group.members)
            self._absorb(other, group)

    def _absorb(self, into: _Group, old: _Group) -> None:
        """Move every member of ``old`` into ``into`` (same key and state)."""
        if old in self._dirty_groups:
            self._dirty_groups.discard(old)
            self._dirty_entries.update(old.members)
        for entry in old.members:
            self._where[entry] = into
        into.members |= old.members
        old.members = set()

    def _drop(self, group: _Group) -> None:
        """Unlink an empty group."""
        self._dirty_groups.discard(group)
        groups = self._groups[group.key]
        if groups.get(group.state) is group:
            del groups[group.state]
            if not groups:
                del self._groups[group.key]
