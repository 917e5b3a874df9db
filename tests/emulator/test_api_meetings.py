"""Meeting endpoints over loopback HTTP: shapes, pagination walks, windows, visibility and faults."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest

from emulator.api import ROUTE_SCOPES, meetings
from emulator.enterprise import Enterprise, Instance
from tests.emulator.conftest import PRINCIPAL_HEADER, error_code, make_enterprise, serve, walk_pages

DAY = 86_400


def _ended(ent: Enterprise) -> list[Instance]:
    return ent.ended_instances()


def test_route_scopes_cover_every_route(ent: Enterprise) -> None:
    from emulator.api import build_api_routes

    paths = [r.path for r in build_api_routes(ent)]
    assert sorted(paths) == sorted(ROUTE_SCOPES)
    assert set(ROUTE_SCOPES.values()) == {"meetings", "records", "users"}


def test_meeting_detail_and_code_lookup(client: httpx.Client, ent: Enterprise) -> None:
    inst = next(i for i in _ended(ent) if i.meeting_type == 0 and not i.is_pmi)
    body = client.get(f"/v1/meetings/{inst.meeting_id}", params={"instanceid": 1}).json()
    item = body["meeting_info_list"][0]
    assert body["meeting_number"] == 1
    assert item["meeting_id"] == inst.meeting_id and len(item["meeting_id"]) == 20
    assert item["start_time"] == str(inst.sched_start) and isinstance(item["end_time"], str)
    assert item["status"] == "MEETING_STATE_ENDED"
    by_code = client.get("/v1/meetings", params={"meeting_code": inst.meeting_code, "instanceid": 1}).json()
    assert by_code["meeting_info_list"][0]["meeting_id"] == inst.meeting_id
    missing = client.get("/v1/meetings/19999999999999999999")
    assert missing.status_code == 500 and error_code(missing) == 9003
    series = next(i for d in ent.covered_days() for i in ent.day(d) if i.meeting_type == 1)
    detail = client.get(f"/v1/meetings/{series.meeting_id}").json()["meeting_info_list"][0]
    assert detail["meeting_type"] == 1 and len(detail["sub_meetings"]) >= 2
    cancelled = next(i for i in ent.day(ent.anchor) if i.cancelled and i.meeting_type == 0)
    assert client.get(f"/v1/meetings/{cancelled.meeting_id}").json()["meeting_info_list"][0]["status"] == "MEETING_STATE_CANCELLED"


def test_user_level_meeting_visibility(client: httpx.Client, ent: Enterprise) -> None:
    inst = next(i for i in _ended(ent) if i.meeting_type == 0)
    outsider = next(u.userid for u in ent.users if u.status == 1 and u.userid != inst.creator
                    and all(s.userid != u.userid for s in inst.sessions or ()))
    ok = client.get(f"/v1/meetings/{inst.meeting_id}", headers={PRINCIPAL_HEADER: f"user:{inst.creator}"})
    assert ok.status_code == 200
    denied = client.get(f"/v1/meetings/{inst.meeting_id}", headers={PRINCIPAL_HEADER: f"user:{outsider}"})
    assert denied.status_code == 403 and error_code(denied) == 9042


def test_user_meetings_cursor_walk(client: httpx.Client, ent: Enterprise) -> None:
    # The creator with the most upcoming meetings makes the walk span several pages.
    counts: dict[str, int] = {}
    for i in ent.upcoming_instances():
        counts[i.creator] = counts.get(i.creator, 0) + 1
    userid = max(counts, key=lambda k: counts[k])
    seen: list[tuple[str, str, int]] = []
    roles: dict[tuple[str, str, int], str] = {}
    params: dict[str, object] = {"userid": userid, "instanceid": 1, "is_show_all_sub_meetings": 1}
    pages = 0
    while True:
        body = client.get("/v1/meetings", params=params).json()
        pages += 1
        assert body["meeting_number"] == len(body["meeting_info_list"]) <= 20
        for m in body["meeting_info_list"]:
            key = (m["meeting_id"], m["current_sub_meeting_id"], int(m["start_time"]))
            seen.append(key)
            roles[key] = m["join_meeting_role"]
        if body["remaining"] == 0:
            break
        params.update(pos=body["next_pos"], cursory=body["next_cursory"])
    assert len(seen) == len(set(seen))
    now_s = ent.now_s()
    current = ent.live_instances() + ent.upcoming_instances()
    created = {(i.meeting_id, i.sub_meeting_id, i.sched_start) for i in current if i.creator == userid}
    # A live meeting the user has joined (e.g. the day's all-hands) is listed too, as an invitee.
    invited = {(i.meeting_id, i.sub_meeting_id, i.sched_start) for i in current if i.creator != userid
               and any(s.userid == userid and s.join_s <= now_s for s in ent.prepared(i).sessions or ())}
    assert set(seen) == created | invited and len(created) > 0
    assert {k for k, role in roles.items() if role == "creator"} == created
    assert {k for k, role in roles.items() if role == "invitee"} == invited
    missing = client.get("/v1/meetings", params={"userid": userid})
    assert error_code(missing) == 190004


def test_history_pages_and_windows(client: httpx.Client, ent: Enterprise) -> None:
    userid = ent.super_admin
    attended = [i for i in _ended(ent) if i.creator == userid or any(s.userid == userid for s in i.sessions or ())]
    now = ent.now_s()
    params = {"start_time": now - 10 * DAY, "end_time": now}
    rows, bodies = walk_pages(client, f"/v1/history/meetings/{userid}", params, "meeting_info_list", 2)
    assert all(isinstance(r["start_time"], int) for r in rows)
    keys = [(r["meeting_id"], r["sub_meeting_id"], r["start_time"]) for r in rows]
    assert len(keys) == len(set(keys)) == bodies[0]["total_count"]
    assert set(keys) == {(i.meeting_id, i.sub_meeting_id, i.sched_start) for i in attended if i.sched_start >= now - 10 * DAY}
    too_wide = client.get(f"/v1/history/meetings/{userid}", params={"page": 1, "page_size": 20, "start_time": now - 91 * DAY, "end_time": now})
    assert error_code(too_wide) == 190004
    too_big = client.get(f"/v1/history/meetings/{userid}", params={"page": 1, "page_size": 21})
    assert error_code(too_big) == 190004
    beyond = client.get(f"/v1/history/meetings/{userid}", params={"page": 99, "page_size": 20}).json()
    assert beyond["meeting_info_list"] == [] and beyond["current_size"] == 0


def _walk_participants(client: httpx.Client, inst: Instance, size: int = 3, headers: dict[str, str] | None = None) -> tuple[list[dict[str, object]], int]:
    params: dict[str, object] = {"size": size, "start_time": inst.sched_start - DAY, "end_time": inst.sched_start + DAY}
    if inst.sub_meeting_id:
        params["sub_meeting_id"] = inst.sub_meeting_id
    rows: list[dict[str, object]] = []
    pos = 0
    while True:
        resp = client.get(f"/v1/meetings/{inst.meeting_id}/participants", params={**params, "pos": pos}, headers=headers)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        rows += body["participants"]
        assert body["next_pos"] == pos + len(body["participants"])
        if not body["has_remaining"]:
            return rows, body["total_count"]
        pos = body["next_pos"]


def test_participants_walk_matches_sessions(client: httpx.Client, ent: Enterprise) -> None:
    inst = max((i for i in _ended(ent) if not i.deleted and not i.is_pmi), key=lambda i: len(i.sessions or ()))
    rows, total = _walk_participants(client, inst)
    assert total == len(rows) == len(inst.sessions or ())
    keys = [(r["userid"] or r["uuid"] or r["ms_open_id"], r["join_time"]) for r in rows]
    assert len(set(keys)) == len(keys)
    assert all(isinstance(r["join_time"], str) and isinstance(r["left_time"], str) for r in rows)
    names = {base64.b64decode(str(r["user_name"])).decode() for r in rows}
    assert names == {s.user_name for s in inst.sessions or ()}
    body = client.get(f"/v1/meetings/{inst.meeting_id}/participants", params={"sub_meeting_id": inst.sub_meeting_id, "start_time": inst.sched_start - DAY, "end_time": inst.sched_start}).json()
    assert base64.b64decode(body["subject"]).decode() == inst.subject


def test_participants_limits_and_errors(client: httpx.Client, ent: Enterprise) -> None:
    inst = next(i for i in _ended(ent) if not i.deleted and i.meeting_type == 0 and not i.is_pmi)
    path = f"/v1/meetings/{inst.meeting_id}/participants"
    assert error_code(client.get(path, params={"size": 101})) == 190004
    wide = client.get(path, params={"start_time": inst.sched_start - 40 * DAY, "end_time": inst.sched_start})
    assert error_code(wide) == 190004
    series = next(i for i in _ended(ent) if i.meeting_type == 1)
    assert error_code(client.get(f"/v1/meetings/{series.meeting_id}/participants")) == 190004
    deleted = next(i for i in _ended(ent) if i.deleted)
    gone = client.get(f"/v1/meetings/{deleted.meeting_id}/participants", params={"sub_meeting_id": deleted.sub_meeting_id})
    assert gone.status_code == 500 and error_code(gone) == 9003
    member = next(s.userid for s in inst.sessions or () if s.userid and s.userid != inst.creator and s.user_role == 0)
    denied = client.get(path, headers={PRINCIPAL_HEADER: f"user:{member}"})
    assert error_code(denied) == 9042
    mine, _ = _walk_participants(client, inst, headers={PRINCIPAL_HEADER: f"user:{inst.creator}"})
    assert len(mine) == len(inst.sessions or ())


def test_participants_row_cap(client: httpx.Client, ent: Enterprise, monkeypatch: pytest.MonkeyPatch) -> None:
    inst = max((i for i in _ended(ent) if not i.deleted and not i.is_pmi), key=lambda i: len(i.sessions or ()))
    monkeypatch.setattr(meetings, "PARTICIPANTS_ROW_CAP", 4)
    rows, total = _walk_participants(client, inst, size=3)
    assert total == len(inst.sessions or ()) > 4
    assert len(rows) == 4


def test_corp_meetings_states_and_pages(client: httpx.Client, ent: Enterprise) -> None:
    rows, bodies = walk_pages(client, "/v1/corp/meetings", {"meeting_state": 1}, "meeting_info_list", 7)
    keys = [(r["meeting_id"], r.get("sub_meeting_id", ""), r["start_time"]) for r in rows]
    assert len(keys) == len(set(keys)) == bodies[0]["total_count"] == len(_ended(ent))
    assert all(r["start_time"] > 10**12 and isinstance(r["meeting_duration"], str) for r in rows)
    assert any(r.get("sub_meeting_id") for r in rows) and any("sub_meeting_id" not in r for r in rows)
    first = min(r["start_time"] for r in rows) // 1000
    windowed = client.get("/v1/corp/meetings", params={"meeting_state": 1, "page": 1, "page_size": 20, "start_time": first, "end_time": first + 3600}).json()
    assert 0 < windowed["total_count"] < len(rows)
    upcoming, _ = walk_pages(client, "/v1/corp/meetings", {"meeting_state": 3}, "meeting_info_list", 20)
    assert len({r["meeting_id"] for r in upcoming}) == len(upcoming) > 0
    assert all(r["start_time"] > ent.now_s() and r["meeting_state"] == 3 for r in upcoming)
    live = client.get("/v1/corp/meetings", params={"meeting_state": 2, "page": 1, "page_size": 20}).json()
    assert {r["meeting_id"] for r in live["meeting_info_list"]} == {i.meeting_id for i in ent.live_instances()}
    assert error_code(client.get("/v1/corp/meetings", params={"meeting_state": 1, "page": 1, "page_size": meetings.CORP_MEETINGS_PAGE_SIZE_MAX + 1})) == 190004
    assert error_code(client.get("/v1/corp/meetings", params={"meeting_state": 4, "page": 1, "page_size": 20})) == 190004
    beyond = client.get("/v1/corp/meetings", params={"meeting_state": 1, "page": 999, "page_size": 20}).json()
    assert beyond["meeting_info_list"] == []


def test_clock_advance_adds_ended_meetings() -> None:
    ent = make_enterprise(seed=11, faults="none")
    with serve(ent) as client:
        before = client.get("/v1/corp/meetings", params={"meeting_state": 1, "page": 1, "page_size": 1}).json()["total_count"]
        live = ent.live_instances() or ent.upcoming_instances()[:1]
        ent.clock.advance(timedelta(hours=6).total_seconds())
        after = client.get("/v1/corp/meetings", params={"meeting_state": 1, "page": 1, "page_size": 1}).json()["total_count"]
    assert after > before
    assert all(ent.state(i) == "ended" for i in live if i.held)
