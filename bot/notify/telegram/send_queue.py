"""Per-chat outbound queues and Telegram's flood limits: which message may go next, and when.

Bots FAQ: about 30 messages a second overall, one a second per private chat (positive
ids), 20 a minute per group or channel (negative ids). Every window counts from when
Telegram *answered* a request: by then it has counted the message, whatever the network
delay, so a burst held up on the way can never look faster than allowed at the far end.
Pure bookkeeping with the time passed in; the ``Sender`` does the I/O.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Final

from storage.outbox import OutboxRow

PRUNE_EVERY_S: Final = 60.0


@dataclass(frozen=True)
class Pacing:
    """Send rates; ``margin_s`` widens each window a little, because Telegram's exact
    accounting is not published. ``max_in_flight`` bounds concurrent requests."""

    per_second: int = 30
    window_s: float = 1.0
    private_interval_s: float = 1.0
    group_per_window: int = 20
    group_window_s: float = 60.0
    margin_s: float = 0.01
    max_in_flight: int = 16


class ChatQueue:
    """One recipient: its messages in order and when it may next receive one."""

    __slots__ = ("busy", "id", "next_ok", "recent", "rows", "token")

    def __init__(self, chat_id: int) -> None:
        self.id = chat_id
        self.rows: deque[OutboxRow] = deque()
        self.busy = False  # a request to this chat is in flight (keeps messages in order)
        self.next_ok = 0.0  # nothing may go to this chat before this time
        self.recent: deque[float] = deque()  # groups: answer times inside the window
        self.token: int | None = None  # sequence number of its live heap entry


class SendQueue:
    """Chats with queued messages, ordered by when each may next receive one."""

    def __init__(self, pacing: Pacing | None = None) -> None:
        self.pacing = pacing or Pacing()
        self._chats: dict[int, ChatQueue] = {}
        self._heap: list[tuple[float, int, int]] = []  # (ready_at, seq, chat_id)
        self._seq = 0
        self._recent: deque[float] = deque()  # answer times inside the global window
        self._paused_until = 0.0
        self._next_prune = 0.0
        self._queued = 0

    @property
    def queued(self) -> int:
        """Messages waiting, retries included (not those in flight)."""
        return self._queued

    def chat(self, chat_id: int) -> ChatQueue:
        """The queue of ``chat_id`` (created empty if new)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = ChatQueue(chat_id)
        return chat

    def add(self, row: OutboxRow) -> None:
        """Queue ``row`` behind its chat's other messages."""
        chat = self.chat(row.chat_id)
        chat.rows.append(row)
        self._queued += 1
        self._schedule(chat)

    def put_back(self, chat: ChatQueue, row: OutboxRow) -> None:
        """Queue ``row`` at the front of ``chat`` (a retry, or a moved message)."""
        chat.rows.appendleft(row)
        self._queued += 1
        self._schedule(chat)

    def clear(self, chat: ChatQueue) -> list[OutboxRow]:
        """Take every message queued for ``chat`` out, in order."""
        rows = list(chat.rows)
        chat.rows.clear()
        self._queued -= len(rows)
        return rows

    def delay(self, chat: ChatQueue, until: float) -> None:
        """Nothing goes to ``chat`` before ``until`` (a backoff)."""
        if until > chat.next_ok:
            chat.next_ok = until
            if chat.token is not None:  # queued under the old time: requeue (old entry stale)
                chat.token = None
                self._schedule(chat)

    def pause(self, until: float) -> None:
        """Nothing goes to anyone before ``until`` (Telegram said RetryAfter)."""
        self._paused_until = max(self._paused_until, until)

    def take(self, now: float, in_flight: int) -> tuple[ChatQueue, OutboxRow] | float | None:
        """The next ``(chat, row)`` allowed at ``now`` (the chat is then busy until
        :meth:`done`); else seconds until one may be, or None: after a push or an answer."""
        if now >= self._next_prune:
            self._prune_idle(now)
        if self._paused_until > now:
            return self._paused_until - now
        heap = self._heap
        while heap:
            if in_flight >= self.pacing.max_in_flight:
                return None
            ready_at, seq, chat_id = heap[0]
            chat = self._chats.get(chat_id)
            if chat is None or chat.token != seq:
                heapq.heappop(heap)  # stale entry
                continue
            if ready_at > now:
                return ready_at - now
            wait = self._global_wait(now, in_flight)
            if wait is None or wait > 0:
                return wait
            heapq.heappop(heap)
            chat.token = None
            chat.busy = True
            self._queued -= 1
            return chat, chat.rows.popleft()
        return None

    def done(self, chat: ChatQueue, now: float) -> None:
        """Telegram answered a request to ``chat`` at ``now`` (accepted or not): count it
        against the limits and let the chat's next message in line."""
        p = self.pacing
        self._recent.append(now)
        if chat.id > 0:  # private chats (users); groups and channels have negative ids
            chat.next_ok = max(chat.next_ok, now + p.private_interval_s + p.margin_s)
        else:
            span = p.group_window_s + p.margin_s
            chat.recent.append(now)
            while chat.recent and chat.recent[0] <= now - span:
                chat.recent.popleft()
            if len(chat.recent) >= p.group_per_window:
                chat.next_ok = max(chat.next_ok, chat.recent[-p.group_per_window] + span)
        chat.busy = False
        self._schedule(chat)

    def _schedule(self, chat: ChatQueue) -> None:
        """Put ``chat`` on the heap if it has something to send and nothing in flight."""
        if chat.busy or not chat.rows or chat.token is not None:
            return
        self._seq += 1
        chat.token = self._seq
        heapq.heappush(self._heap, (chat.next_ok, self._seq, chat.id))

    def _global_wait(self, now: float, in_flight: int) -> float | None:
        p = self.pacing
        span = p.window_s + p.margin_s
        recent = self._recent
        while recent and recent[0] <= now - span:
            recent.popleft()
        if len(recent) + in_flight < p.per_second:
            return 0.0
        return recent[0] + span - now if recent else None

    def _prune_idle(self, now: float) -> None:
        """Forget chats with nothing queued whose pacing no longer matters (bounds memory
        over months of alerts to chats that come and go)."""
        self._next_prune = now + PRUNE_EVERY_S
        span = self.pacing.group_window_s + self.pacing.margin_s
        idle = [
            c.id
            for c in self._chats.values()
            if not (c.busy or c.rows)
            and c.next_ok <= now
            and (not c.recent or c.recent[-1] <= now - span)
        ]
        for chat_id in idle:
            del self._chats[chat_id]
