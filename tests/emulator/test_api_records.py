"""Recording endpoints over loopback HTTP: lists, addresses, metrics, events and view details."""

from __future__ import annotations

from collections import Counter

import httpx

from emulator.enterprise import Enterprise, Recording
from tests.emulator.conftest import PRINCIPAL_HEADER, error_code, walk_pages

DAY = 86_400


def _done(ent: Enterprise) -> list[Recording]:
    return [r for r in ent.recordings_in(0, ent.now_ms()) if r.state_at(ent.now_ms()) == 3]


def test_corp_records_walk_and_window(client: httpx.Client, ent: Enterprise) -> None:
    now = ent.now_s()
    params = {"start_time": now - 7 * DAY, "end_time": now}
    rows, bodies = walk_pages(client, "/v1/corp/records", params, "record_meetings", 2)
    ids = [r["meeting_record_id"] for r in rows]
    assert len(ids) == len(set(ids)) == bodies[0]["total_count"] > 0
    expected = ent.recordings_in((now - 7 * DAY) * 1000, now * 1000 + 999)
    assert ids == [r.meeting_record_id for r in expected]
    for row in rows:
        assert row["media_start_time"] > 10**12 and "userid" in row
        assert ("record_files" in row) == (row["state"] == 3)
        for f in row.get("record_files", []):
            assert {"view_address", "download_address", "record_size"} <= set(f)
    assert error_code(client.get("/v1/corp/records", params={"start_time": now - 32 * DAY, "end_time": now})) == 190004
    assert error_code(client.get("/v1/corp/records", params={"end_time": now})) == 190004
    assert error_code(client.get("/v1/corp/records", params={**params, "page_size": 21})) == 190004


def test_user_records_visibility(client: httpx.Client, ent: Enterprise) -> None:
    rec = _done(ent)[0]
    creator = rec.instance.creator
    now = ent.now_s()
    params = {"start_time": now - 30 * DAY, "end_time": now}
    mine, _ = walk_pages(client, "/v1/records", params, "record_meetings", 20, headers={PRINCIPAL_HEADER: f"user:{creator}"})
    assert rec.meeting_record_id in {r["meeting_record_id"] for r in mine}
    assert all(r["host_user_id"] == creator for r in mine)
    other = next(u.userid for u in ent.users if u.status == 1 and u.userid != creator)
    denied = client.get("/v1/addresses", params={"meeting_record_id": rec.meeting_record_id}, headers={PRINCIPAL_HEADER: f"user:{other}"})
    assert error_code(denied) == 9042
    by_meeting = client.get("/v1/records", params={**params, "meeting_id": rec.instance.meeting_id}).json()
    assert rec.meeting_record_id in {r["meeting_record_id"] for r in by_meeting["record_meetings"]}


def test_addresses_and_single_file(client: httpx.Client, ent: Enterprise) -> None:
    rec = max(_done(ent), key=lambda r: len(r.files))
    body = client.get("/v1/addresses", params={"meeting_record_id": rec.meeting_record_id, "page_size": 1}).json()
    assert body["total_count"] == len(rec.files) and body["current_size"] == 1
    assert body["record_files"][0]["download_address"].startswith("https://")
    one = client.get(f"/v1/addresses/{rec.files[0].record_file_id}").json()
    assert one["record_file_id"] == rec.files[0].record_file_id and one["meeting_id"] == rec.instance.meeting_id
    assert error_code(client.get("/v1/addresses", params={"meeting_record_id": rec.meeting_record_id, "page_size": 51})) == 190004
    missing = client.get("/v1/addresses/2000000000000000001")
    assert error_code(missing) == 4049


def test_metrics_events_and_view_details_agree(client: httpx.Client, ent: Enterprise) -> None:
    rec = max(_done(ent), key=lambda r: len(ent.visible_events(r)))
    rid = rec.meeting_record_id
    start = rec.media_start_ms // 1000
    window = {"start_time": start, "end_time": start + 30 * DAY}
    summaries = client.get("/v1/metrics/records", params={"meeting_record_id": rid, **window}).json()["summaries"]
    views, _ = walk_pages(client, "/v1/records/events", {"meeting_record_id": rid, "event_type": 2, **window}, "events", 2)
    downloads, _ = walk_pages(client, "/v1/records/events", {"meeting_record_id": rid, "event_type": 1, **window}, "events", 2)
    assert len(views) + len(downloads) == len(ent.visible_events(rec)) > 0
    assert sum(s["view_counts"] for s in summaries) == len(views)
    assert sum(s["download_counts"] for s in summaries) == len(downloads)
    assert all(isinstance(s["date"], str) and len(s["date"]) == 10 for s in summaries)
    details = []
    for f in rec.files:
        rows, _ = walk_pages(client, "/v1/records/view-details", {"record_file_id": f.record_file_id}, "view_details", 3)
        details += rows
    assert Counter((d["userid"], d["view_start_time"]) for d in details) == Counter((v["userid"], v["operate_time"]) for v in views)
    assert all(d["view_end_time"] - d["view_start_time"] == d["view_time"] for d in details)
    wide = client.get("/v1/records/events", params={"meeting_record_id": rid, "event_type": 2, "start_time": start, "end_time": start + 32 * DAY})
    assert error_code(wide) == 190004
    assert error_code(client.get("/v1/records/events", params={"meeting_record_id": rid})) == 190004
    assert error_code(client.get("/v1/records/events", params={"meeting_record_id": rid, "event_type": 2, "page_size": 51})) == 190004
    assert error_code(client.get("/v1/metrics/records", params={"meeting_record_id": rid, "start_time": start, "end_time": start + 40 * DAY})) == 190004
