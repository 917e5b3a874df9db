"""The synthetic enterprise: content coverage, ids, determinism and the large scale's start-up cost."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import psutil
import pytest

from emulator.clock import Clock
from emulator.enterprise import Enterprise
from emulator.enterprise import ids
from tests.emulator.conftest import NOW, make_enterprise


def test_every_case_exists_at_small_scale() -> None:
    ent = make_enterprise()
    instances = [i for d in ent.covered_days(None, ent.anchor) for i in ent.day(d)]
    assert {0, 1, 6} <= {i.meeting_type for i in instances}
    assert any(i.quick for i in instances) and any(i.cancelled for i in instances)
    assert any(not i.held and not i.cancelled for i in instances)
    pmi_days = {}
    for i in instances:
        if i.is_pmi:
            pmi_days.setdefault(i.meeting_id, set()).add(i.day)
    assert any(len(days) > 1 for days in pmi_days.values())
    sessions = [s for i in instances if i.held for s in ent.prepared(i).sessions or ()]
    assert any(s.instanceid == 0 and s.join_type == 0 and not s.userid and not s.uuid for s in sessions)
    assert any(not s.is_enterprise_user and not s.userid and s.uuid for s in sessions)
    assert any(20 <= s.instanceid <= 22 for s in sessions)
    assert any(ent.local_date(s.join_s) != ent.local_date(s.left_s) for s in sessions)
    assert any(any(ord(c) > 0x1F000 for c in s.user_name) for s in sessions)
    assert {u.status for u in ent.users} == {0, 1, 2}
    assert len({d.full_name.count("/") for d in ent.departments}) == 3
    for i in instances:
        keys = [(s.person_key, s.join_s) for s in i.sessions or ()]
        assert len(keys) == len(set(keys))
    recs = [i.recording for i in instances if i.recording]
    assert recs and all(1 <= len(r.files) <= 3 for r in recs)
    assert {r.state_at(ent.now_ms()) for r in recs} >= {3}


def test_ids_are_twenty_digits_and_resolve() -> None:
    ent = make_enterprise()
    for inst in ent.day(ent.anchor):
        assert len(inst.meeting_id) == 20 and int(inst.meeting_id) >= 10**19 and len(inst.meeting_code) == 9
        assert inst in ent.instances_of(inst.meeting_id)
        assert inst in ent.instances_by_code(inst.meeting_code)
    assert ids.parse_meeting_id("12345") is None and ent.instances_of("10000000000000000000") == []


def test_generation_does_not_depend_on_now_or_query_order() -> None:
    a = make_enterprise(seed=3)
    b = Enterprise(3, "small", 6, Clock(NOW.replace(hour=1)), faults="hostile")
    day = a.first_day
    b.day(a.anchor)  # a different query order must not change anything
    left = [(i.meeting_id, i.sched_start, [(s.person_key, s.join_s) for s in a.prepared(i).sessions or ()]) for i in a.day(day)]
    right = [(i.meeting_id, i.sched_start, [(s.person_key, s.join_s) for s in b.prepared(i).sessions or ()]) for i in b.day(day)]
    assert left == right


def test_webhook_events_follow_sessions() -> None:
    ent = make_enterprise()
    start = ent.now_ms() - 86_400_000
    events = ent.webhook_events(start, ent.now_ms())
    assert [e["payload"][0]["operate_time"] for e in events] == sorted(e["payload"][0]["operate_time"] for e in events)
    assert len({e["trace_id"] for e in events}) == len(events)
    names = {e["event"] for e in events}
    assert {"meeting.started", "meeting.end", "meeting.participant-joined", "meeting.participant-left"} <= names
    joined = [e for e in events if e["event"] == "meeting.participant-joined"]
    sessions = {(s.ms_open_id, s.join_s * 1000) for d in ent.covered_days() for i in ent.day(d) if i.held
                for s in ent.prepared(i).sessions or () if start <= s.join_s * 1000 <= ent.now_ms()}
    assert {(e["payload"][0]["operator"]["ms_open_id"], e["payload"][0]["operate_time"]) for e in joined} == sessions
    assert all(isinstance(e["payload"][0]["operator"]["instance_id"], str) for e in joined)


@pytest.mark.soak
def test_large_startup_cost() -> None:
    started = time.perf_counter()
    ent = Enterprise(1, "large", 90, Clock(datetime(2026, 11, 18, 7, 30, tzinfo=UTC)))
    elapsed = time.perf_counter() - started
    assert len(ent.users) == 20_000
    sessions = sum(len(ent.prepared(i).sessions or ()) for d in ent.covered_days(None, ent.anchor) for i in ent.day(d))
    rss = psutil.Process(os.getpid()).memory_info().rss / 2**20
    print(f"large start-up {elapsed:.2f}s, rss after walking 90 days {rss:.0f} MiB, {sessions} sessions")
    assert sessions >= 1_000_000
    assert rss < 1024
