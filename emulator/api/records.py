"""Recording endpoints: lists (E8/E11), addresses (E9/E10), access metrics, events and view details (E12–E14)."""

from __future__ import annotations

from collections import Counter

from starlette.requests import Request
from starlette.responses import Response

from emulator import errors
from emulator.api.common import DAY_S, need_int, page_params, page_slice, principal, q_str, respond, window
from emulator.api.meetings import Handler, oauth_hidden, resolve_userid
from emulator.enterprise import Enterprise, Recording, RecordFile
from emulator.principal import Principal

RECORDS_PAGE_SIZE_MAX = 20
RECORDS_DEFAULT_SIZE = 10
RECORDS_WINDOW_DAYS = 31
ADDRESSES_PAGE_SIZE_MAX = 50
EVENTS_PAGE_SIZE_MAX = 50
EVENTS_DEFAULT_SIZE = 20
ACCESS_WINDOW_DAYS = 31
SHARE_BASE = "https://meeting.tencent.com/v2/cloud-record/share"


def _file(f: RecordFile, *, addresses: bool) -> dict[str, object]:
    item: dict[str, object] = {
        "record_file_id": f.record_file_id, "record_start_time": f.start_ms, "record_end_time": f.end_ms,
        "record_size": f.size, "sharing_state": f.sharing_state,
        "sharing_url": f"{SHARE_BASE}?id={f.record_file_id}" if f.sharing_state == 1 else "",
        "password": "", "sharing_expire": 0, "required_same_corp": f.required_same_corp,
        "required_participant": f.required_participant, "allow_download": f.allow_download,
    }
    if addresses:
        item["view_address"] = f"{SHARE_BASE}?id={f.record_file_id}"
        item["download_address"] = f"https://download.meeting.tencent.com/{f.record_file_id}.mp4?sign=emulated"
    return item


def _recording(ent: Enterprise, rec: Recording, *, corp: bool) -> dict[str, object]:
    inst = rec.instance
    state = rec.state_at(ent.now_ms())
    item: dict[str, object] = {
        "meeting_record_id": rec.meeting_record_id, "meeting_id": inst.meeting_id,
        "meeting_code": inst.meeting_code, ("userid" if corp else "host_user_id"): inst.creator,
        "media_start_time": rec.media_start_ms, "subject": inst.subject, "state": state,
        "record_type": rec.record_type, "media_set_type": 1,
    }
    if state == 3:
        item["record_files"] = [_file(f, addresses=corp) for f in rec.files]
    return item


def _own(who: Principal, rec: Recording) -> None:
    if oauth_hidden(who, rec.instance):
        raise errors.no_permission(
            "An OAuth caller reads only recordings of meetings created through an OAuth app; read this one with AK/SK"
        )
    if not who.reads_everyone and rec.instance.creator != who.userid:
        raise errors.no_permission("Only recordings of meetings you created are visible to this app")


def build(ent: Enterprise) -> dict[str, Handler]:
    def listing(request: Request, *, corp: bool) -> Response:
        who = principal(request)
        bounds = window(request, max_days=RECORDS_WINDOW_DAYS, default_days=None, now_s=ent.now_s(), required=True)
        assert bounds is not None
        page, size = page_params(request, default_size=RECORDS_DEFAULT_SIZE, cap=RECORDS_PAGE_SIZE_MAX)
        need_int(request, "query_record_type", default=1, lo=0, hi=5)
        recs = ent.recordings_in(bounds[0] * 1000, bounds[1] * 1000 + 999)
        if not corp:
            need_int(request, "media_set_type", default=0, lo=0, hi=2)
            meeting_id, code = q_str(request, "meeting_id"), q_str(request, "meeting_code")
            operator = who.userid
            if who.reads_everyone and request.query_params.get("operator_id_type", "1") == "1":
                operator = q_str(request, "operator_id") or who.userid
            operator = resolve_userid(who, operator)
            if meeting_id is not None:
                recs = [r for r in recs if r.instance.meeting_id == meeting_id]
            elif code is not None:
                recs = [r for r in recs if r.instance.meeting_code == code]
            else:
                recs = [r for r in recs if r.instance.creator == operator]
            if not who.reads_everyone:
                recs = [r for r in recs if r.instance.creator == who.userid]
            recs = [r for r in recs if not oauth_hidden(who, r.instance)]
        chunk, totals = page_slice(recs, page, size)
        return respond({**totals, "record_meetings": [_recording(ent, r, corp=corp) for r in chunk]})

    async def records(request: Request) -> Response:
        return listing(request, corp=False)

    async def corp_records(request: Request) -> Response:
        return listing(request, corp=True)

    def find(request: Request) -> Recording:
        rec = ent.recording(q_str(request, "meeting_record_id", required=True) or "")
        if rec is None:
            raise errors.record_not_exist()
        _own(principal(request), rec)
        return rec

    async def addresses(request: Request) -> Response:
        rec = find(request)
        page, size = page_params(request, default_size=ADDRESSES_PAGE_SIZE_MAX, cap=ADDRESSES_PAGE_SIZE_MAX)
        files = rec.files if rec.state_at(ent.now_ms()) == 3 else []
        chunk, totals = page_slice(files, page, size)
        inst = rec.instance
        return respond({
            **totals, "meeting_record_id": rec.meeting_record_id, "meeting_id": inst.meeting_id,
            "meeting_code": inst.meeting_code, "subject": inst.subject,
            "record_files": [_address(f) for f in chunk],
        })

    async def address(request: Request) -> Response:
        found = ent.record_file(request.path_params["record_file_id"])
        if found is None:
            raise errors.record_not_exist()
        rec, f = found
        _own(principal(request), rec)
        return respond({
            "record_file_id": f.record_file_id, "meeting_id": rec.instance.meeting_id,
            "meeting_code": rec.instance.meeting_code, **{k: v for k, v in _address(f).items() if k != "record_file_id"},
            "ai_meeting_transcripts": [], "ai_minutes": [], "ai_ds_minutes": [], "ai_speaker_minutes": [],
            "ai_topic_minutes": [],
        })

    async def metrics(request: Request) -> Response:
        rec = find(request)
        bounds = window(request, max_days=ACCESS_WINDOW_DAYS, default_days=None, now_s=ent.now_s())
        if bounds is None:
            start_s = rec.media_start_ms // 1000
            bounds = (start_s, start_s + ACCESS_WINDOW_DAYS * DAY_S)
        lo, hi = bounds[0] * 1000, bounds[1] * 1000 + 999
        counts: Counter[tuple[str, int]] = Counter()
        for e in ent.visible_events(rec):
            if lo <= e.operate_ms <= hi:
                counts[(ent.local_date(e.operate_ms / 1000).isoformat(), e.event_type)] += 1
        days = sorted({d for d, _ in counts})
        return respond({"summaries": [
            {"date": d, "view_counts": counts[(d, 2)], "download_counts": counts[(d, 1)]} for d in days
        ]})

    async def events(request: Request) -> Response:
        rec = find(request)
        event_type = need_int(request, "event_type", required=True, lo=1, hi=2)
        page, size = page_params(request, default_size=EVENTS_DEFAULT_SIZE, cap=EVENTS_PAGE_SIZE_MAX)
        bounds = window(request, max_days=ACCESS_WINDOW_DAYS, default_days=ACCESS_WINDOW_DAYS, now_s=ent.now_s())
        assert bounds is not None
        lo, hi = bounds[0] * 1000, bounds[1] * 1000 + 999
        rows = [e for e in ent.visible_events(rec) if e.event_type == event_type and lo <= e.operate_ms <= hi]
        chunk, totals = page_slice(rows, page, size)
        return respond({**totals, "events": [
            {"operate_time": e.operate_ms, "event_type": e.event_type, "userid": e.userid,
             "user_name": e.user_name, "record_name": rec.instance.subject} for e in chunk
        ]})

    async def view_details(request: Request) -> Response:
        found = ent.record_file(q_str(request, "record_file_id", required=True) or "")
        if found is None:
            raise errors.record_not_exist()
        rec, f = found
        _own(principal(request), rec)
        page, size = page_params(request, default_size=EVENTS_DEFAULT_SIZE, cap=EVENTS_PAGE_SIZE_MAX)
        bounds = window(request, max_days=ACCESS_WINDOW_DAYS, default_days=None, now_s=ent.now_s(), unit_ms=True)
        rows = [
            e for e in ent.visible_events(rec)
            if e.record_file_id == f.record_file_id and (bounds is None or bounds[0] <= e.operate_ms <= bounds[1])
        ]
        chunk, totals = page_slice(rows, page, size)
        return respond({**totals, "view_details": [
            {"userid": e.userid, "user_name": e.user_name, "record_file_name": f.file_name,
             "view_start_time": e.operate_ms, "view_end_time": e.operate_ms + e.view_ms, "view_time": e.view_ms,
             "total_view_progress": e.progress} for e in chunk
        ]})

    return {
        "records": records, "corp_records": corp_records, "addresses": addresses, "address": address,
        "metrics": metrics, "events": events, "view_details": view_details,
    }


def _address(f: RecordFile) -> dict[str, object]:
    return {
        "record_file_id": f.record_file_id, "view_address": f"{SHARE_BASE}?id={f.record_file_id}",
        "download_address": f"https://download.meeting.tencent.com/{f.record_file_id}.mp4?sign=emulated",
        "download_address_file_type": "mp4",
        "audio_address": f"https://download.meeting.tencent.com/{f.record_file_id}.m4a?sign=emulated",
        "audio_address_file_type": "m4a",
        "meeting_summary": [{"download_address": f"https://download.meeting.tencent.com/{f.record_file_id}.txt", "file_type": "txt"}],
    }
