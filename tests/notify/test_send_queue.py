"""Per-chat queues and flood-limit pacing (bot/notify/send_queue.py), with the time passed in."""

from __future__ import annotations

from bot.notify.telegram.send_queue import PRUNE_EVERY_S, Pacing, SendQueue
from storage.outbox import OutboxRow

_ids = iter(range(1, 1_000_000))


def row(chat_id: int, text: str = "x") -> OutboxRow:
    return OutboxRow(id=next(_ids), chat_id=chat_id, text=text, kind="alert", created_ms=0)


def drain(q: SendQueue, now: float, answer_after: float = 0.0) -> list[tuple[float, int]]:
    """Take everything allowed from ``now`` on, answering each request ``answer_after``
    later; returns (time taken, chat id) pairs."""
    taken: list[tuple[float, int]] = []
    while True:
        got = q.take(now, 0)
        if got is None:
            return taken
        if isinstance(got, float):
            now += got
            continue
        chat, r = got
        taken.append((now, r.chat_id))
        q.done(chat, now + answer_after)


def test_overall_limit_thirty_per_window_counted_from_answers() -> None:
    q = SendQueue(Pacing(margin_s=0.01))
    for chat_id in range(1, 91):
        q.add(row(chat_id))
    taken = drain(q, 0.0, answer_after=0.05)
    assert [c for _, c in taken] == list(range(1, 91))  # first come, first served
    times = [t for t, _ in taken]
    assert times[:30] == [0.0] * 30
    # The 31st may only go one window (+ margin) after the first answer (at 0.05).
    assert times[30] == 0.05 + 1.01
    assert all(b - a >= 1.01 for a, b in zip(times, times[30:], strict=False))
    assert q.queued == 0


def test_private_chat_one_per_second_group_twenty_per_minute() -> None:
    q = SendQueue(Pacing(margin_s=0.0))
    for i in range(3):
        q.add(row(7, f"p{i}"))
    for i in range(22):
        q.add(row(-100, f"g{i}"))
    taken = drain(q, 0.0)
    private = [t for t, c in taken if c == 7]
    group = [t for t, c in taken if c == -100]
    assert private == [0.0, 1.0, 2.0]
    assert group[:20] == [0.0] * 20 and group[20:] == [60.0, 60.0]


def test_order_within_a_chat_and_one_request_in_flight_per_chat() -> None:
    q = SendQueue()
    first, second = row(5, "first"), row(5, "second")
    q.add(first)
    q.add(second)
    got = q.take(0.0, 0)
    assert isinstance(got, tuple) and got[1] is first
    assert q.take(10.0, 1) is None  # the chat is busy until its answer
    q.put_back(got[0], first)  # e.g. a retry goes back in front
    q.done(got[0], 0.1)
    again = q.take(5.0, 0)
    assert isinstance(again, tuple) and again[1] is first and q.queued == 1


def test_pause_delay_and_in_flight_cap() -> None:
    q = SendQueue(Pacing(max_in_flight=2))
    for chat_id in (1, 2, 3):
        q.add(row(chat_id))
    q.pause(3.0)
    assert q.take(1.0, 0) == 2.0
    q.delay(q.chat(1), 4.5)
    got = q.take(3.0, 0)
    assert isinstance(got, tuple) and got[1].chat_id == 2  # chat 1 is backing off
    assert q.take(3.0, 2) is None  # two requests in flight: wait for an answer
    got = q.take(3.0, 1)
    assert isinstance(got, tuple) and got[1].chat_id == 3
    assert q.take(3.0, 0) == 1.5


def test_clear_and_prune_forget_idle_chats() -> None:
    q = SendQueue()
    q.add(row(1))
    q.add(row(1))
    assert len(q.clear(q.chat(1))) == 2 and q.queued == 0
    got = None
    q.add(row(2))
    got = q.take(0.0, 0)
    assert isinstance(got, tuple)
    q.done(got[0], 0.0)
    q.take(PRUNE_EVERY_S, 0)  # prunes: both chats are idle and past their pacing
    assert q.chat(2).next_ok == 0.0  # a fresh queue: the old one was forgotten
