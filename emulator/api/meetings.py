"""Meeting endpoints: detail (E1/E2), the user's lists (E3/E4), participants (E5), corp lists (E7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from emulator import errors
from emulator.api.common import (
    DAY_S, b64, dumps, need_int, page_params, page_slice, pos_param, principal, q_int, q_str, raw_response,
    respond, window,
)
from emulator.enterprise import Enterprise, Instance, Session
from emulator.enterprise.ids import KIND_SERIES
from emulator.principal import Principal

USER_MEETINGS_PAGE = 20
HISTORY_PAGE_SIZE_MAX = 20
# The doc does not state the corp meeting-list page cap; 20 matches every other meeting list.
CORP_MEETINGS_PAGE_SIZE_MAX = 20
CORP_MEETINGS_ROW_CAP = 100_000
PARTICIPANTS_PAGE_SIZE_MAX = 100
PARTICIPANTS_DEFAULT_SIZE = 20
PARTICIPANTS_ROW_CAP = 50_000
PARTICIPANTS_WINDOW_DAYS = 31
HISTORY_WINDOW_DAYS = 90
HISTORY_ONE_BOUND_DAYS = 31
STATUS_NAMES = {
    "upcoming": "MEETING_STATE_INIT", "waiting": "MEETING_STATE_INIT", "live": "MEETING_STATE_STARTED",
    "ended": "MEETING_STATE_ENDED", "cancelled": "MEETING_STATE_CANCELLED", "null": "MEETING_STATE_NULL",
}
HOST_ROLES = frozenset({1, 2, 3, 5, 6, 7})
# Settings the official SDK models only on the detail view (V1MeetingsMeetingIdGet200Response...Settings);
# the list's model (V1MeetingsGet200ResponseMeetingInfoListInnerSettings) has none of them.
DETAIL_ONLY_SETTINGS = ("only_user_join_type", "allow_multi_device", "auto_asr")
Handler = Callable[[Request], Awaitable[Response]]


def resolve_userid(who: Principal, value: str) -> str:
    """OAuth callers name themselves by open_id where the platform expects a userid."""
    if not who.reads_everyone and who.open_id and value == who.open_id:
        return who.userid
    return value


def oauth_hidden(who: Principal, inst: Instance) -> bool:
    """Whether the API reference's rule hides this meeting from an OAuth caller (1095/42701, 1095/42421)."""
    return who.oauth_created_only and not inst.oauth_created


def require_oauth_created(who: Principal, instances: list[Instance]) -> None:
    if instances and all(oauth_hidden(who, i) for i in instances):
        raise errors.no_permission(
            "An OAuth caller reads only meetings created through an OAuth app; read this one with AK/SK"
        )


def attended(ent: Enterprise, inst: Instance, userid: str) -> bool:
    return any(s.userid == userid for s in ent.visible_sessions(inst))


def _current(ent: Enterprise, instances: list[Instance]) -> Instance:
    """The occurrence a detail view describes: the live one, else the next, else the last."""
    states = [(ent.state(i), i) for i in instances]
    for wanted in ("live", "upcoming", "waiting"):
        for state, inst in states:
            if state == wanted:
                return inst
    return instances[-1]


def meeting_object(ent: Enterprise, instances: list[Instance], *, listing: bool = False) -> dict[str, object]:
    """The E1 meeting object; ``listing`` gives the shape `GET /v1/meetings` uses (fewer settings)."""
    inst = _current(ent, instances)
    state = ent.state(inst)
    live = state == "live"
    recurring = inst.meeting_type == KIND_SERIES
    sub_meetings = [
        {"sub_meeting_id": i.sub_meeting_id, "status": 1 if i.cancelled else 0,
         "start_time": str(i.sched_start), "end_time": str(i.sched_end)}
        for i in instances
    ] if recurring else []
    remain = sum(1 for i in instances if not i.cancelled and i.sched_start > ent.now_s()) if recurring else 0
    obj: dict[str, object] = {
        "meeting_id": inst.meeting_id, "meeting_code": inst.meeting_code, "subject": inst.subject,
        "type": 1 if inst.quick else 0, "meeting_type": inst.meeting_type, "status": STATUS_NAMES[state],
        "start_time": str(inst.sched_start), "end_time": str(inst.sched_end),
        "join_url": f"https://meeting.tencent.com/dm/{inst.meeting_code}",
        "hosts": [{"userid": inst.creator}], "current_hosts": [{"userid": inst.creator}] if live else [],
        "current_co_hosts": [], "participants": [], "need_password": False, "password": "", "location": "",
        "time_zone": str(ent.tz), "media_set_type": 0, "enable_live": inst.meeting_type == 6,
        "enable_enroll": inst.meeting_type == 6, "enable_host_key": False, "has_vote": False,
        "sync_to_wework": False, "enable_doc_upload_permission": False,
        "current_sub_meeting_id": inst.sub_meeting_id, "has_more_sub_meeting": 0, "remain_sub_meetings": remain,
        "sub_meetings": sub_meetings,
        "recurring_rule": {"recurring_type": 1, "until_type": 1, "until_date": instances[-1].sched_start,
                           "until_count": len(instances)} if recurring else None,
        "settings": {"mute_enable_join": True, "allow_unmute_self": True, "allow_in_before_host": True,
                     "auto_in_waiting_room": False, "allow_screen_shared_watermark": False, "water_mark_type": 0,
                     "only_allow_enterprise_user_join": False, "only_user_join_type": 1,
                     "auto_record_type": "cloud" if inst.has_recording else "none",
                     "participant_join_auto_record": False, "enable_host_pause_auto_record": False,
                     "allow_multi_device": True, "auto_asr": False},
    }
    if listing:
        settings = obj["settings"]
        assert isinstance(settings, dict)
        for name in DETAIL_ONLY_SETTINGS:
            del settings[name]
    return obj


def _check_meeting_visible(ent: Enterprise, who: Principal, instances: list[Instance]) -> None:
    require_oauth_created(who, instances)
    if who.reads_everyone:
        return
    if any(i.creator == who.userid or attended(ent, i, who.userid) for i in instances):
        return
    raise errors.no_permission("Only meetings you created or attended are visible to this app")


def build(ent: Enterprise) -> dict[str, Handler]:
    async def meeting_detail(request: Request) -> Response:
        instances = ent.instances_of(request.path_params["meeting_id"])
        if not instances:
            raise errors.meeting_not_exist()
        _check_meeting_visible(ent, principal(request), instances)
        return respond({"meeting_number": 1, "meeting_info_list": [meeting_object(ent, instances)]})

    async def meetings(request: Request) -> Response:
        code = q_str(request, "meeting_code")
        q_str(request, "instanceid", required=True)
        who = principal(request)
        if code is not None:
            instances = ent.instances_by_code(code)
            if not instances:
                raise errors.meeting_not_exist()
            _check_meeting_visible(ent, who, instances)
            return respond({"meeting_number": 1, "meeting_info_list": [meeting_object(ent, instances, listing=True)]})
        return user_meetings(request, who)

    def user_meetings(request: Request, who: Principal) -> Response:
        userid = who.userid
        if who.reads_everyone:
            userid = q_str(request, "userid") or q_str(request, "operator_id") or who.userid
        userid = resolve_userid(who, userid)
        if userid not in ent.user_by_id:
            raise errors.user_not_exist()
        pos = need_int(request, "pos", default=0, lo=0)
        cursory = need_int(request, "cursory", default=0, lo=0)
        expand = q_str(request, "is_show_all_sub_meetings") == "1"
        rows: list[tuple[Instance, str]] = []
        seen: set[str] = set()
        for inst in ent.live_instances() + ent.upcoming_instances():
            role = "creator" if inst.creator == userid else ("invitee" if attended(ent, inst, userid) else "")
            if not role or (not expand and inst.meeting_id in seen) or oauth_hidden(who, inst):
                continue
            seen.add(inst.meeting_id)
            rows.append((inst, role))
        rows.sort(key=lambda r: (r[0].sched_start, r[0].created_ms))
        rows = [r for r in rows if (r[0].sched_start, r[0].created_ms) > (pos, cursory) or (r[0].sched_start >= pos and cursory == 0)]
        page, rest = rows[:USER_MEETINGS_PAGE], rows[USER_MEETINGS_PAGE:]
        items = []
        for inst, role in page:
            obj = meeting_object(ent, [inst] if expand else ent.instances_of(inst.meeting_id), listing=True)
            obj["join_meeting_role"] = role
            items.append(obj)
        last = page[-1][0] if page else None
        return respond({
            "meeting_number": len(items), "remaining": len(rest),
            "next_pos": last.sched_start if last else pos, "next_cursory": last.created_ms if last else cursory,
            "meeting_info_list": items,
        })

    async def history(request: Request) -> Response:
        who = principal(request)
        userid = resolve_userid(who, request.path_params["userid"])
        if not who.reads_everyone and userid != who.userid:
            raise errors.no_permission(
                "This caller can only list its own user's meetings: name that user by its open_id"
            )
        if userid not in ent.user_by_id:
            raise errors.user_not_exist()
        page, size = page_params(request, default_size=HISTORY_PAGE_SIZE_MAX, cap=HISTORY_PAGE_SIZE_MAX, required=True)
        code = q_str(request, "meeting_code")
        now_s = ent.now_s()
        bounds = window(request, max_days=HISTORY_WINDOW_DAYS, default_days=HISTORY_ONE_BOUND_DAYS, now_s=now_s,
                        one_bound_days=HISTORY_ONE_BOUND_DAYS)
        assert bounds is not None
        start, end = bounds
        rows = []
        for day in ent.covered_days(ent.local_date(start), ent.local_date(end)):
            for inst in ent.day(day):
                if not inst.held or not (start <= inst.sched_start <= end) or inst.sched_end > now_s:
                    continue
                if code is not None and inst.meeting_code != code:
                    continue
                if ent.state(inst) != "ended" or oauth_hidden(who, inst):
                    continue
                if inst.creator == userid or attended(ent, inst, userid):
                    rows.append(inst)
        rows.sort(key=lambda i: (i.sched_start, i.meeting_id, i.sub_meeting_id))
        chunk, totals = page_slice(rows, page, size)
        return respond({**totals, "meeting_info_list": [
            {"meeting_id": i.meeting_id, "meeting_code": i.meeting_code, "subject": i.subject,
             "sub_meeting_id": i.sub_meeting_id, "meeting_type": i.meeting_type,
             "start_time": i.sched_start, "end_time": i.sched_end} for i in chunk
        ]})

    async def participants(request: Request) -> Response:
        who = principal(request)
        meeting_id = request.path_params["meeting_id"]
        instances = ent.instances_of(meeting_id)
        if not instances:
            raise errors.meeting_not_exist()
        pos = pos_param(request)
        size = need_int(request, "size", default=PARTICIPANTS_DEFAULT_SIZE, lo=1, hi=PARTICIPANTS_PAGE_SIZE_MAX)
        sub_id = q_str(request, "sub_meeting_id")
        now_s = ent.now_s()
        if instances[0].meeting_type == KIND_SERIES:
            if sub_id is None:
                raise errors.invalid_param("sub_meeting_id is required for a recurring meeting")
            instances = [i for i in instances if i.sub_meeting_id == sub_id]
            if not instances:
                raise errors.meeting_not_exist()
            bounds: tuple[int, int] | None = None  # the platform ignores the time filter here
            window(request, max_days=PARTICIPANTS_WINDOW_DAYS, default_days=None, now_s=now_s)
        else:
            bounds = window(request, max_days=PARTICIPANTS_WINDOW_DAYS, default_days=PARTICIPANTS_WINDOW_DAYS,
                            now_s=now_s)
        require_oauth_created(who, instances)
        if not who.reads_everyone:
            allowed = any(
                i.creator == who.userid
                or any(s.userid == who.userid and s.user_role in HOST_ROLES for s in ent.visible_sessions(i))
                for i in instances
            )
            if not allowed:
                raise errors.no_permission("Only the creator or a host may list participants")
        held = [i for i in instances if i.held]
        if any(i.deleted and ent.state(i) == "ended" for i in held):
            raise errors.meeting_not_exist()
        rows: list[bytes] = []
        for inst in held:
            for join_s, left_s, closed, open_ in _rows(ent, inst):
                if join_s > now_s:
                    break
                if bounds is not None and not (bounds[0] <= join_s <= bounds[1]):
                    continue
                rows.append(closed if left_s <= now_s else open_)
        total = len(rows)
        reachable = min(total, PARTICIPANTS_ROW_CAP)
        page = rows[pos:min(pos + size, reachable)] if pos < reachable else []
        next_pos = pos + len(page)
        head = _current(ent, instances)
        body = b"".join((
            b'{"meeting_id":', dumps(head.meeting_id), b',"meeting_code":', dumps(head.meeting_code),
            b',"subject":', dumps(b64(head.subject)), b',"schedule_start_time":', dumps(str(head.sched_start)),
            b',"schedule_end_time":', dumps(str(head.sched_end)), b',"total_count":', str(total).encode(),
            b',"has_remaining":', b"true" if next_pos < reachable else b"false",
            b',"next_pos":', str(next_pos).encode(), b',"participants":[', b",".join(page), b"]}",
        ))
        return raw_response(body)

    async def corp_meetings(request: Request) -> Response:
        state = need_int(request, "meeting_state", required=True, lo=1, hi=3)
        page, size = page_params(request, default_size=CORP_MEETINGS_PAGE_SIZE_MAX, cap=CORP_MEETINGS_PAGE_SIZE_MAX,
                                 required=True)
        start = q_int(request, "start_time", lo=0)
        end = q_int(request, "end_time", lo=0)
        if start is not None and end is not None and end < start:
            raise errors.invalid_param("end_time must not be earlier than start_time")
        code = q_str(request, "meeting_code")
        creator = q_str(request, "userid")
        if state == 1:
            rows = ent.ended_instances(None if start is None else start * 1000,
                                       None if end is None else end * 1000 + 999)
        else:
            found = ent.live_instances() if state == 2 else ent.upcoming_instances()
            seen: set[str] = set()
            rows = []
            for inst in found:
                if inst.meeting_id in seen:
                    continue
                seen.add(inst.meeting_id)
                if (start is None or inst.sched_start >= start) and (end is None or inst.sched_start <= end):
                    rows.append(inst)
        rows = [i for i in rows if (code is None or i.meeting_code == code) and (creator is None or i.creator == creator)]
        rows = rows[:CORP_MEETINGS_ROW_CAP]
        chunk, totals = page_slice(rows, page, size)
        items = [_ended_item(ent, i) if state == 1 else _state_item(ent, i, state) for i in chunk]
        return respond({**totals, "meeting_info_list": items})

    return {
        "meeting_detail": meeting_detail, "meetings": meetings, "history": history,
        "participants": participants, "corp_meetings": corp_meetings,
    }


def _creator(ent: Enterprise, inst: Instance) -> tuple[str, str]:
    user = ent.user_by_id.get(inst.creator)
    return inst.creator, user.user_name if user else inst.creator


def _ended_item(ent: Enterprise, inst: Instance) -> dict[str, object]:
    sessions = ent.prepared(inst).sessions or []
    assert inst.media_start_ms is not None and inst.media_end_ms is not None
    userid, name = _creator(ent, inst)
    item: dict[str, object] = {
        "meeting_id": inst.meeting_id, "meeting_code": inst.meeting_code, "subject": inst.subject,
        "userid": userid, "userid_type": 1, "nick_name": name, "meeting_type": inst.meeting_type,
        "start_time": inst.media_start_ms, "end_time": inst.media_end_ms,
        "participants_num": len({s.person_key for s in sessions}),
        "meeting_duration": str(inst.media_end_ms - inst.media_start_ms),
        "user_meeting_duration": str(sum(s.left_s - s.join_s for s in sessions) * 1000),
    }
    if inst.sub_meeting_id:
        item["sub_meeting_id"] = inst.sub_meeting_id
    return item


def _state_item(ent: Enterprise, inst: Instance, state: int) -> dict[str, object]:
    userid, name = _creator(ent, inst)
    online = 0
    if state == 2:
        now = ent.now_s()
        online = len({s.person_key for s in ent.visible_sessions(inst, now) if s.left_s > now})
    return {
        "meeting_id": inst.meeting_id, "meeting_code": inst.meeting_code, "subject": inst.subject,
        "userid": userid, "userid_type": 1, "nick_name": name, "start_time": inst.sched_start,
        "end_time": inst.sched_end, "online_member_num": online, "meeting_state": state,
        "meeting_type": inst.meeting_type,
    }


def participant_row(s: Session, left: str) -> dict[str, object]:
    return {
        "userid": s.userid, "open_id": "", "uuid": s.uuid, "ms_open_id": s.ms_open_id,
        "user_name": b64(s.user_name), "phone": s.phone_hash, "instanceid": s.instanceid,
        "join_type": s.join_type, "user_role": s.user_role, "webinar_member_role": 0,
        "is_enterprise_user": s.is_enterprise_user, "join_time": str(s.join_s), "left_time": left,
        "audio_state": False, "video_state": False, "screen_shared_state": False, "customer_data": "",
        "app_version": "", "ip": "", "location": "", "link_type": "", "net": "",
    }


def _rows(ent: Enterprise, inst: Instance) -> list[tuple[int, int, bytes, bytes]]:
    """Serialized participant rows of an instance, built once: (join, left, closed row, still-open row)."""
    cached = inst.cache.get("participant_rows")
    if cached is None:
        cached = [
            (s.join_s, s.left_s, dumps(participant_row(s, str(s.left_s))), dumps(participant_row(s, "")))
            for s in ent.prepared(inst).sessions or ()
        ]
        inst.cache["participant_rows"] = cached
    return cached  # type: ignore[return-value]


__all__ = ["DAY_S", "build"]
