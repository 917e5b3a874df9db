from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from resources.webhooks.inbox import EventNotStorableError, Inbox, InboxClosedError

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def _payload(trace_id: str) -> str:
    return json.dumps({"event": "meeting.started", "trace_id": trace_id, "payload": []})


def test_append_reports_new_and_duplicate(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        assert inbox.append("t1", "meeting.started", T0, _payload("t1")) is True
        assert inbox.append("t1", "meeting.started", T0, _payload("t1")) is False
        assert inbox.count() == 1


def test_read_since_pages_in_arrival_order(tmp_path: Path) -> None:
    ids = [f"trace-{n:03d}" for n in (5, 1, 9, 3, 7)]
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        for offset, trace_id in enumerate(ids):
            inbox.append(trace_id, "meeting.end", T0 + timedelta(milliseconds=offset), _payload(trace_id))
        inbox.append(ids[0], "meeting.end", T0, _payload(ids[0]))  # redelivery changes nothing
        first, cursor = inbox.read_since(0, limit=3)
        rest, cursor2 = inbox.read_since(cursor, limit=3)
        empty, cursor3 = inbox.read_since(cursor2, limit=3)
    assert [r.trace_id for r in first + rest] == ids
    assert empty == [] and cursor3 == cursor2
    assert first[1].received_at == T0 + timedelta(milliseconds=1)
    assert json.loads(rest[0].payload_json)["trace_id"] == ids[3]


def test_rows_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite"
    with Inbox(path) as inbox:
        inbox.append("t1", "meeting.started", T0, _payload("t1"))
    with Inbox(path) as inbox:
        assert inbox.append("t1", "meeting.started", T0, _payload("t1")) is False
        rows, _ = inbox.read_since(0, 10)
    assert [r.trace_id for r in rows] == ["t1"]


def test_concurrent_appends_are_all_stored_once(tmp_path: Path) -> None:
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        results: list[bool] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            for i in range(200):
                # Every trace id is written by two threads; exactly one of them wins.
                trace_id = f"t{(n // 2) * 200 + i}"
                is_new = inbox.append(trace_id, "meeting.participant-joined", T0, _payload(trace_id))
                with lock:
                    results.append(is_new)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert inbox.count() == 800
        assert results.count(True) == 800 and results.count(False) == 800


def test_another_connection_reads_while_the_writer_is_open(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite"
    with Inbox(path) as inbox:
        inbox.append("t1", "meeting.started", T0, _payload("t1"))
        outside = sqlite3.connect(path)
        try:
            assert outside.execute("SELECT trace_id FROM webhook_inbox").fetchall() == [("t1",)]
            inbox.append("t2", "meeting.end", T0, _payload("t2"))
            assert outside.execute("SELECT count(*) FROM webhook_inbox").fetchone() == (2,)
            assert outside.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        finally:
            outside.close()


def test_naive_timestamps_and_closed_inbox_are_refused(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite")
    with pytest.raises(ValueError, match="timezone-aware"):
        inbox.append("t1", "meeting.started", datetime(2026, 3, 1), "{}")
    inbox.close()
    inbox.close()
    with pytest.raises(InboxClosedError):
        inbox.append("t1", "meeting.started", T0, "{}")


def test_a_cancelled_waiter_does_not_stop_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite"
    with Inbox(path) as inbox:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock so the submissions stay pending
        futures = [inbox.submit(f"t{n}", "meeting.end", T0, _payload(f"t{n}")) for n in range(5)]
        assert all(f.cancel() for f in futures)
        blocker.execute("ROLLBACK")
        blocker.close()
        assert inbox.append("after", "meeting.end", T0, _payload("after")) is True
        # Cancelling only stops the caller waiting; the verified events are still stored.
        assert inbox.count() == 6


def test_an_unstorable_event_fails_alone_in_its_batch(tmp_path: Path) -> None:
    inbox = Inbox(tmp_path / "inbox.sqlite")
    try:
        # Hold the write lock so every append below queues up and rides in one transaction.
        blocker = sqlite3.connect(inbox.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        first = inbox.submit("trace-first", "e", T0, "{}")
        time.sleep(0.2)
        good = [inbox.submit(f"trace-{i}", "e", T0, "{}") for i in range(100)]
        bad = inbox.submit("trace-\ud800", "e", T0, "{}")
        more = [inbox.submit(f"trace-after-{i}", "e", T0, "{}") for i in range(100)]
        blocker.execute("ROLLBACK")
        blocker.close()
        assert first.result(timeout=30) is True
        assert [f.result(timeout=30) for f in good + more] == [True] * 200
        with pytest.raises(EventNotStorableError):
            bad.result(timeout=30)
        assert inbox.count() == 201
    finally:
        inbox.close()
