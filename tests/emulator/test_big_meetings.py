"""All-hands and big webinars: their sizes and schedule, 100-row participant pages, and device-safe sessions."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import httpx

from emulator.clock import Clock
from emulator.enterprise import Enterprise, Instance
from tests.emulator.conftest import NOW, make_enterprise

DAY = 86_400


def _big(ent: Enterprise, days: int) -> list[Instance]:
    first = ent.anchor - timedelta(days=days)
    return [i for d in ent.covered_days(first, ent.anchor) for i in ent.day(d) if i.audience]


def test_small_scale_has_a_meeting_over_100_sessions_in_every_5_day_window() -> None:
    ent = Enterprise(7, "small", 28, Clock(NOW), faults="hostile")
    ended = [i for d in ent.covered_days(None, ent.anchor) for i in ent.day(d)
             if i.held and ent.state(i) == "ended" and not i.deleted and len(ent.prepared(i).sessions or ()) > 100]
    days = {i.day for i in ended}
    # Windows ending before today: today's big meeting may still be running.
    last = ent.anchor - timedelta(days=1)
    day = ent.first_day
    while day + timedelta(days=4) <= last:
        assert any(day <= d <= day + timedelta(days=4) for d in days), f"no big meeting in the 5 days from {day}"
        day += timedelta(days=1)
    assert all(len(i.sessions or ()) < 200 for i in ended)


def test_demo_scale_has_a_few_big_meetings_a_week_of_150_to_600_sessions() -> None:
    ent = Enterprise(7, "demo", 28, Clock(NOW))
    big = _big(ent, 27)
    assert 3 * 3 <= len(big) <= 3 * 5
    sizes = [len(ent.prepared(i).sessions or ()) for i in big]
    assert all(150 <= n <= 600 for n in sizes), sizes
    assert max(sizes) > 400
    assert {i.meeting_type for i in big} == {0, 6}
    webinar = next(i for i in big if i.meeting_type == 6)
    kinds = [s.person_kind for s in webinar.sessions or ()]
    assert kinds.count("external") > len(kinds) / 2
    allhands = next(i for i in big if i.meeting_type == 0)
    assert sum(k == "enterprise" for k in (s.person_kind for s in allhands.sessions or ())) > 150
    assert all(i.held and i.has_recording and not i.cancelled for i in big)


def test_big_meetings_are_deterministic() -> None:
    a = make_enterprise(seed=11)
    b = Enterprise(11, "small", 6, Clock(NOW.replace(hour=1)), faults="hostile")
    b.day(b.anchor)
    left = [(i.meeting_id, [(s.person_key, s.instanceid, s.join_s, s.left_s) for s in a.prepared(i).sessions or ()])
            for i in _big(a, 5)]
    right = [(i.meeting_id, [(s.person_key, s.instanceid, s.join_s, s.left_s) for s in b.prepared(i).sessions or ()])
             for i in _big(b, 5)]
    assert left == right and left


def test_no_person_is_twice_on_one_device_at_once() -> None:
    """What lets a webhook receiver pair each join with its own leave by (person, instance_id)."""
    ent = Enterprise(3, "demo", 14, Clock(NOW), faults="hostile")
    checked = multi = 0
    for day in ent.covered_days(None, ent.anchor):
        for inst in ent.day(day):
            spans: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
            people: dict[str, list[tuple[int, int]]] = defaultdict(list)
            for s in ent.prepared(inst).sessions or ():
                spans[(s.person_key, s.instanceid)].append((s.join_s, s.left_s))
                people[s.person_key].append((s.join_s, s.left_s))
            for own in spans.values():
                own.sort()
                assert all(a[1] < b[0] for a, b in zip(own, own[1:])), inst.meeting_id
                checked += 1
            for own in people.values():
                own.sort()
                multi += any(b[0] < a[1] for a, b in zip(own, own[1:]))
    assert checked > 5_000 and multi > 50


def test_participants_come_in_full_100_row_pages(client: httpx.Client, ent: Enterprise) -> None:
    inst = max((i for i in ent.ended_instances() if not i.deleted), key=lambda i: len(i.sessions or ()))
    sessions = inst.sessions or []
    assert inst.audience and len(sessions) > 100
    params: dict[str, object] = {"size": 100, "start_time": inst.sched_start - DAY, "end_time": inst.sched_start + DAY}
    pages, rows, pos = [], [], 0
    while True:
        body = client.get(f"/v1/meetings/{inst.meeting_id}/participants", params={**params, "pos": pos}).json()
        pages.append(len(body["participants"]))
        rows += body["participants"]
        assert body["total_count"] == len(sessions)
        if not body["has_remaining"]:
            break
        pos = body["next_pos"]
    assert pages[0] == 100 and len(pages) == -(-len(sessions) // 100)
    assert all(n == 100 for n in pages[:-1]) and 0 < pages[-1] <= 100
    got = sorted((r["userid"] or r["uuid"] or r["ms_open_id"], int(r["join_time"]), int(r["instanceid"])) for r in rows)
    assert got == sorted((s.person_key, s.join_s, s.instanceid) for s in sessions)
